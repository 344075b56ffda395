/* Small text helpers shared by the core and plugins (header-only): edit distance for "did you mean"
 * hints, runs of decimal digits read eight at a time, a JSON integer read in place.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_TEXT_H
#define COINPIPE_TEXT_H

#include <stddef.h>
#include <stdint.h>
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

/**
 * The run of ASCII digits that starts the 8 bytes at p (all 8 must be readable; the bytes after
 * the run may be anything): returns how many digits there are (0 to 8) and sets *value to
 * their value (0 when there is none). On little-endian machines the 8 bytes are read at once
 * (SWAR: a byte is a digit when its high nibble is 3 and adding 6 keeps it so; a carry out of
 * a non-digit byte only reaches later bytes, so the first non-digit is found exactly), elsewhere
 * byte by byte. Needs no memory.
 */
static inline unsigned cp_digits8(const void *p, uint64_t *value)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    uint64_t nd = ((v & UINT64_C(0xF0F0F0F0F0F0F0F0)) ^ UINT64_C(0x3030303030303030)) |
                  (((v + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) ^ UINT64_C(0x3030303030303030));
    unsigned n = nd ? (unsigned)__builtin_ctzll(nd) >> 3 : 8;
    if (!n) {
        *value = 0;
        return 0;
    }
    /* the n digits' values moved up to the top bytes: the bytes below are leading zeros */
    v = (v - UINT64_C(0x3030303030303030)) << (8 * (8 - n));
    v = v * 10 + (v >> 8); /* pairs of digits */
    *value = (((v & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32))) +
              (((v >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32)))) >> 32;
    return n;
#else
    const unsigned char *s = (const unsigned char *)p;
    unsigned n = 0;
    uint64_t v = 0;
    for (; n < 8 && (unsigned)(s[n] - '0') < 10; n++)
        v = v * 10 + (unsigned)(s[n] - '0');
    *value = v;
    return n;
#endif
}

/**
 * A JSON integer at p (e: the end of what is readable) of 1 to 18 digits, without sign or
 * leading zero, followed by a byte that ends a number (not a digit, '.', 'e' or 'E'): sets *x
 * and returns where that byte is; NULL (*x unchanged) for anything else, a 19th digit included.
 * With 24 bytes readable from p the digits are read eight at a time (cp_digits8). Needs no
 * memory.
 */
static inline const char *cp_json_uint(const char *p, const char *e, int64_t *x)
{
    static const uint64_t p10[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    const char *d0 = p;
    uint64_t v = 0;
    if (e - p >= 24) { /* eight at a time: a 13-digit time in two reads */
        uint64_t w;
        unsigned n = cp_digits8(p, &v);
        if (n == 8) {
            n += cp_digits8(p + 8, &w);
            v = v * p10[n - 8] + w;
            if (n == 16) {
                unsigned k = cp_digits8(p + 16, &w);
                v = v * p10[k] + w;
                n += k;
            }
        }
        p += n;
    } else {
        for (; p < e && (unsigned)(*p - '0') < 10 && p - d0 < 19; p++)
            v = v * 10 + (unsigned)(*p - '0');
    }
    if (p == d0 || p - d0 > 18 || (p - d0 > 1 && *d0 == '0') || p >= e || (unsigned)(*p - '0') < 10 || *p == '.' ||
        (*p | 0x20) == 'e')
        return NULL;
    *x = (int64_t)v;
    return p;
}

#endif /* COINPIPE_TEXT_H */
