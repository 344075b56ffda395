/* Reference for decimal text, shared by test_batch and the fuzz_decimal target: the grammar the batch model accepts, and strtod.
 * SPDX-License-Identifier: MIT
 *
 * core_decimal_parse validates and converts in one pass with a fast path; this is the slow,
 * obvious version it must agree with bit for bit.
 */
#ifndef COINPIPE_DECIMAL_REF_H
#define COINPIPE_DECIMAL_REF_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* [+-]? digits* (. digits*)? with at least one digit, then (e|E [+-]? digits+)?, nothing else */
static inline bool decimal_ref_valid(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t ed = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (!ed)
            return false;
    }
    return i == len;
}

/* strtod of the text (len < 128) */
static inline double decimal_ref_value(const char *s, size_t len)
{
    char tmp[128];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return strtod(tmp, NULL);
}

#endif
