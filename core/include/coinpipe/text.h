/* Small text helpers shared by the core and plugins (header-only): edit distance for "did you mean" hints.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_TEXT_H
#define COINPIPE_TEXT_H

#include <stddef.h>
#include <string.h>

/**
 * Levenshtein distance between `a` and `b` (bytes), for suggesting the closest known name to
 * a misspelt one. Strings longer than 63 bytes count as far apart (99). Needs no memory.
 */
static inline size_t cp_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

#endif /* COINPIPE_TEXT_H */
