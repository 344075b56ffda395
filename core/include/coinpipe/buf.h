/* coinpipe SDK: a growable byte buffer, header-only.
 * SPDX-License-Identifier: MIT
 *
 * The one buffer of the core, the sinks and the sources, and free for third-party plugins to
 * use: every function is static inline, so a plugin needs no core symbol for it. Zero-initialise
 * (`cp_buf b = {0};`), append, read `b.p` / `b.len`, then cp_buf_free(). The contents are always
 * NUL-terminated once anything was appended. After an allocation failure `oom` is set, the
 * contents are incomplete and every further append is a no-op: check `oom` once at the end.
 */
#ifndef COINPIPE_BUF_H
#define COINPIPE_BUF_H

#include <coinpipe/coinpipe.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** A growable byte buffer. */
typedef struct cp_buf {
    char *p;    /**< contents, NUL-terminated; NULL while nothing was appended */
    size_t len; /**< bytes in p, without the NUL */
    size_t cap; /**< bytes allocated */
    bool oom;   /**< an allocation failed: contents are incomplete */
} cp_buf;

/** Makes room for `n` more bytes (plus a NUL). False (and oom set) when out of memory. */
static inline bool cp_buf_reserve(cp_buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = (char *)realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

/** Appends `n` bytes of `s` (any bytes, NULs included). */
static inline void cp_buf_put(cp_buf *b, const char *s, size_t n)
{
    if (!cp_buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/** Appends the NUL-terminated string `s`. */
static inline void cp_buf_puts(cp_buf *b, const char *s) { cp_buf_put(b, s, strlen(s)); }

/** Appends one byte. */
static inline void cp_buf_putc(cp_buf *b, char c)
{
    if (!cp_buf_reserve(b, 1))
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

/** Appends printf-formatted text. */
static inline CP_PRINTF(2, 3) void cp_buf_printf(cp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256]; /* most pieces are short: format once, copy */
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        cp_buf_put(b, tmp, (size_t)n);
        return;
    }
    if (!cp_buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/** Writes u in decimal at p (1 to 20 bytes, no NUL), two digits per division; returns the end. */
static inline char *cp_u64_digits(char *p, uint64_t u)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    static const uint64_t pow10[20] = {1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u,
                                       1000000000u, 10000000000u, 100000000000u, 1000000000000u,
                                       10000000000000u, 100000000000000u, 1000000000000000u,
                                       10000000000000000u, 100000000000000000u, 1000000000000000000u,
                                       10000000000000000000u};
    unsigned n; /* digits: written from the end straight to p */
#if defined(__GNUC__)
    unsigned t = ((64u - (unsigned)__builtin_clzll(u | 1)) * 1233u) >> 12; /* about log10 */
    n = t + 1 - (u < pow10[t]);
    n += !n;
#else
    for (n = 1; n < 20 && u >= pow10[n]; n++)
        ;
#endif
    char *end = p + n, *q = end;
    while (u >= 100) {
        q -= 2;
        memcpy(q, pairs + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        q -= 2;
        memcpy(q, pairs + 2 * u, 2);
    } else {
        *--q = (char)('0' + u);
    }
    return end;
}

/** Empties the buffer (keeps its memory) and clears `oom`. */
static inline void cp_buf_reset(cp_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->p)
        b->p[0] = '\0';
}

/** Frees the memory and zeroes the buffer (ready for reuse). */
static inline void cp_buf_free(cp_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

#endif
