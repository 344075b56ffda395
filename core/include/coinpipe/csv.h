/* coinpipe SDK: CSV cells and number text as the sinks write them, header-only.
 * SPDX-License-Identifier: MIT
 *
 * One writer for the text form of a cell, shared by the CSV and console sinks and free for a
 * third-party sink: RFC 4180 quoting, decimals verbatim (the exchange's exact text), times as
 * ISO-8601 UTC with milliseconds (coinpipe/utc.h), doubles in the shortest form that reads back
 * exactly, NULL as an empty cell. Every function is static inline (no core symbol needed);
 * nothing allocates except the cp_buf (coinpipe/buf.h) appended to.
 */
#ifndef COINPIPE_CSV_H
#define COINPIPE_CSV_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>
#include <coinpipe/utc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Writes the decimal digits of `v` into out (at least 21 bytes) with a NUL; returns the length. */
static inline size_t cp_csv_int(int64_t v, char out[21])
{
    char tmp[21];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = '\0';
    return o;
}

/** Writes `v` as the shorter of %.15g and %.17g that reads back as `v` into out (at least 32
 *  bytes) with a NUL; returns the length. */
static inline size_t cp_csv_double(double v, char out[32])
{
    int n = snprintf(out, 32, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = snprintf(out, 32, "%.17g", v);
    return n < 0 ? 0 : (size_t)n;
}

/** Appends `n` bytes of text as one cell, double-quoted (quotes doubled) per RFC 4180 when it
 *  holds a comma, a quote, CR or LF, else as it is. */
static inline void cp_csv_text(cp_buf *b, const char *s, size_t n)
{
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
        cp_buf_put(b, s, n);
        return;
    }
    cp_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            cp_buf_putc(b, '"');
        cp_buf_putc(b, s[i]);
    }
    cp_buf_putc(b, '"');
}

/**
 * Appends cell (row, col) of a batch, of column type `type`, as CSV: decimals verbatim, times
 * ISO-8601 UTC with milliseconds, doubles by cp_csv_double, bools true/false, NULL as nothing.
 * The batch is borrowed; a bad index appends nothing.
 */
static inline void cp_csv_cell(cp_buf *b, cp_ctx *ctx, const cp_batch *batch, size_t row, size_t col, cp_type type)
{
    if (cp_batch_is_null(ctx, batch, row, col))
        return;
    char tmp[32];
    size_t n;
    switch (type) {
    case CP_T_INT64:
        n = cp_csv_int(cp_batch_get_int(ctx, batch, row, col), tmp);
        cp_buf_put(b, tmp, n);
        break;
    case CP_T_TIMESTAMP:
        n = cp_utc_iso8601(cp_batch_get_int(ctx, batch, row, col), tmp);
        cp_buf_put(b, tmp, n);
        break;
    case CP_T_DOUBLE:
        n = cp_csv_double(cp_batch_get_double(ctx, batch, row, col), tmp);
        cp_buf_put(b, tmp, n);
        break;
    case CP_T_BOOL:
        cp_buf_puts(b, cp_batch_get_bool(ctx, batch, row, col) ? "true" : "false");
        break;
    case CP_T_DECIMAL:
    case CP_T_STRING: {
        const char *s = cp_batch_get_text(ctx, batch, row, col, &n);
        if (s)
            cp_csv_text(b, s, n);
        break;
    }
    }
}

#endif /* COINPIPE_CSV_H */
