/* A batch row as text (each cell's NULL, integer, double bits and text), for tests that compare
 * two readings of the same input cell for cell. Header-only: shared by unit tests and fuzz targets.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_TEST_ROW_TEXT_H
#define COINPIPE_TEST_ROW_TEXT_H

#include "core/batch.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline void row_text(const cp_batch *b, size_t row, char *out, size_t cap)
{
    size_t at = 0, ncols = core_batch_schema(b)->nfields;
    out[0] = '\0';
    for (size_t c = 0; c < ncols && at < cap; c++) {
        size_t tl = 0;
        const char *t = core_batch_get_text(b, row, c, &tl);
        double d = core_batch_get_double(b, row, c);
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        at += (size_t)snprintf(out + at, cap - at, "%d/%lld/%llx/%.*s;", core_batch_is_null(b, row, c),
                               (long long)core_batch_get_int(b, row, c), (unsigned long long)bits, t ? (int)tl : 0,
                               t ? t : "");
    }
}

#endif
