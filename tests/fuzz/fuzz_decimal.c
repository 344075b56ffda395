/* libFuzzer target for decimal text: core_decimal_parse and core_batch_set_decimal_until (one pass, fast paths) against the grammar and strtod, bit for bit.
 * SPDX-License-Identifier: MIT
 */
#include "core/batch.h"
#include "../unit/decimal_ref.h"

#include <coinpipe/streams.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 128)
        return 0;
    const char *s = (const char *)data;
    double got = 0;
    bool ok = core_decimal_parse(s, size, &got);
    if (ok != decimal_ref_valid(s, size))
        abort();
    double want = ok ? decimal_ref_value(s, size) : 0;
    if (ok && memcmp(&got, &want, sizeof got) != 0)
        abort();
    /* read in place as a JSON string's text (core_batch_set_decimal_until): the input, a closing
     * quote, and what the rest of a body may be (exactly sized: reading past it is caught) */
    static cp_batch *b;
    if (!b || core_batch_rows(b) >= 4096) {
        core_batch_unref(b);
        b = core_batch_new(&cp_ticker_schema, 0);
    }
    size_t more = size % 20, row = core_batch_add_row(b), n = 0;
    char *t = malloc(size + 1 + more);
    if (!b || !t || row == SIZE_MAX)
        abort();
    memcpy(t, s, size);
    t[size] = '"';
    memset(t + size + 1, '7', more);
    double d = 0;
    cp_status st = core_batch_set_decimal_until(b, row, CP_TICKER_LAST, t, size + 1 + more, '"', &n, &d);
    bool until_ok = ok && size <= 64 && !memchr(s, '"', size);
    if (!memchr(s, '"', size) && (st == CP_OK) != until_ok)
        abort();
    if (st == CP_OK) {
        size_t tl = 0;
        const char *x = core_batch_get_text(b, row, CP_TICKER_LAST, &tl);
        double want_n = 0;
        if (!core_decimal_parse(t, n, &want_n) || tl != n || memcmp(x, t, n) != 0 || memcmp(&d, &want_n, sizeof d) != 0)
            abort();
    }
    free(t);
    return 0;
}
