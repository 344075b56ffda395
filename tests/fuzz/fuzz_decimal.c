/* libFuzzer target for decimal text: core_decimal_parse (one pass, fast path) against the grammar and strtod, bit for bit.
 * SPDX-License-Identifier: MIT
 */
#include "core/batch.h"
#include "../unit/decimal_ref.h"

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
    if (ok) {
        double want = decimal_ref_value(s, size);
        if (memcmp(&got, &want, sizeof got) != 0)
            abort();
    }
    return 0;
}
