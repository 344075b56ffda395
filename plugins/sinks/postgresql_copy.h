/* PostgreSQL's binary COPY format: the encoder the postgresql sink sends its batches with.
 * SPDX-License-Identifier: MIT
 *
 * The second file of plugins/sinks/postgresql.c (one plugin, one .so), header-only so the
 * encoder stays inlined in the sink's row loop, and so tests can check its bytes directly.
 * A COPY stream is pgcopy_begin, one pgcopy_row per row, pgcopy_end; every value is a 32-bit
 * length (-1 for NULL) and its bytes, big-endian: int8, float8 (the double's bits), bool,
 * text as it is, timestamptz as microseconds since 2000-01-01 UTC, and NUMERIC built from the
 * decimal's exact text (see pgcopy_numeric). No libpq here: the sink sends the bytes.
 */
#ifndef COINPIPE_SINK_POSTGRESQL_COPY_H
#define COINPIPE_SINK_POSTGRESQL_COPY_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* PostgreSQL's timestamp epoch (2000-01-01) in Unix ms, and the times its text input took from
 * cp_utc_iso8601: years 1 to 9999 (others were refused by the server, and still are) */
#define PG_EPOCH_MS 946684800000LL
#define TS_MIN_MS (-62135596800000LL)
#define TS_MAX_MS 253402300799999LL

/* type OIDs the binary COPY sends (pg_type.h) */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701
#define OID_VARCHAR 1043
#define OID_TIMESTAMPTZ 1184
#define OID_NUMERIC 1700

/* the OID the binary COPY sends for a column of type `t` */
static inline unsigned pgcopy_type_oid(cp_type t)
{
    switch (t) {
    case CP_T_INT64: return OID_INT8;
    case CP_T_DOUBLE: return OID_FLOAT8;
    case CP_T_DECIMAL: return OID_NUMERIC;
    case CP_T_STRING: return OID_TEXT;
    case CP_T_TIMESTAMP: return OID_TIMESTAMPTZ;
    case CP_T_BOOL: return OID_BOOL;
    }
    return 0;
}

/* big-endian integers (the compiler makes each one a byte swap and a store) */
static inline char *pgcopy_put16(char *o, uint16_t v)
{
    o[0] = (char)(v >> 8);
    o[1] = (char)v;
    return o + 2;
}

static inline char *pgcopy_put32(char *o, uint32_t v)
{
    o[0] = (char)(v >> 24);
    o[1] = (char)(v >> 16);
    o[2] = (char)(v >> 8);
    o[3] = (char)v;
    return o + 4;
}

static inline char *pgcopy_put64(char *o, uint64_t v)
{
    return pgcopy_put32(pgcopy_put32(o, (uint32_t)(v >> 32)), (uint32_t)v);
}

/*
 * Writes a decimal's text as NUMERIC's binary form (ndigits, weight, sign, dscale, base-10000
 * digits) exactly as the server's numeric_in reads the text: same digits, same display scale
 * ("1.50" keeps two places, "1e-8" is 0.00000001 with eight). `o` has room for 8 + 2 * 20
 * bytes (the batch keeps decimals up to 64 characters). Returns the end, or NULL when the
 * value is outside NUMERIC's range, which the server refuses as well.
 */
static inline char *pgcopy_numeric(char *o, const char *s, size_t n)
{
    size_t i = 0;
    uint16_t sign = 0x0000;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        sign = s[i++] == '-' ? 0x4000 : 0x0000;
    size_t int0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t nint = i - int0, frac0 = i, nfrac = 0;
    if (i < n && s[i] == '.') {
        frac0 = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        nfrac = i - frac0;
    }
    /* the digits, integer part then fraction, as characters with '0' padding to align them
     * to groups of four (the batch keeps decimals up to 64 characters) */
    char dig[4 + 64 + 3];
    size_t nd = nint + nfrac;
    if (nd > 64)
        return NULL;
    memset(dig, '0', sizeof dig);
    memcpy(dig + 4, s + int0, nint);
    memcpy(dig + 4 + nint, s + frac0, nfrac);
    long dweight = (long)nint - 1, dscale = (long)nfrac;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool neg = ++i < n && s[i] == '-';
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        long e = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < INT_MAX)
                e = e * 10 + (s[i] - '0');
        if (e >= INT_MAX / 2) /* numeric_in's own limit on the exponent */
            return NULL;
        dweight += neg ? -e : e;
        dscale -= neg ? -e : e;
        if (dscale < 0)
            dscale = 0;
    }
    long weight = dweight >= 0 ? (dweight + 4) / 4 - 1 : -((-dweight - 1) / 4 + 1);
    long offset = (weight + 1) * 4 - (dweight + 1);
    long ndigits = ((long)nd + offset + 3) / 4;
    int16_t digits[20];
    for (long k = 0, j = 4 - offset; k < ndigits; k++, j += 4)
        digits[k] = (int16_t)((dig[j] - '0') * 1000 + (dig[j + 1] - '0') * 100 + (dig[j + 2] - '0') * 10 +
                              (dig[j + 3] - '0'));
    long first = 0;
    while (first < ndigits && !digits[first])
        first++, weight--;
    while (ndigits > first && !digits[ndigits - 1])
        ndigits--;
    ndigits -= first;
    if (!ndigits) {
        weight = 0;
        sign = 0x0000;
    }
    if (weight < INT16_MIN || weight > INT16_MAX || dscale > 0x3FFF)
        return NULL;
    o = pgcopy_put32(o, (uint32_t)(8 + 2 * ndigits));
    o = pgcopy_put16(o, (uint16_t)ndigits);
    o = pgcopy_put16(o, (uint16_t)weight);
    o = pgcopy_put16(o, sign);
    o = pgcopy_put16(o, (uint16_t)dscale);
    for (long k = 0; k < ndigits; k++)
        o = pgcopy_put16(o, (uint16_t)digits[first + k]);
    return o;
}

/* Appends one row in COPY's binary format. False when a value cannot be sent (a time outside
 * years 1-9999, a decimal outside NUMERIC's range: what the server refused in text); the
 * column in *bad. */
static inline bool pgcopy_row(cp_buf *b, cp_ctx *ctx, const cp_batch *batch, size_t row, const cp_schema *s, size_t *bad)
{
    if (!cp_buf_reserve(b, 2 + s->nfields * 48))
        return true; /* b->oom tells */
    char *o = pgcopy_put16(b->p + b->len, (uint16_t)s->nfields);
    for (size_t c = 0; c < s->nfields; c++) {
        cp_type type = s->fields[c].type;
        if (type == CP_T_STRING || type == CP_T_DECIMAL) {
            size_t n = 0;
            const char *text = cp_batch_get_text(ctx, batch, row, c, &n); /* NULL for NULL */
            if (!text) {
                o = pgcopy_put32(o, UINT32_MAX);
                continue;
            }
            if (type == CP_T_DECIMAL) {
                if (!(o = pgcopy_numeric(o, text, n))) {
                    *bad = c;
                    return false;
                }
                continue;
            }
            b->len = (size_t)(o - b->p);
            if (!cp_buf_reserve(b, 4 + n + (s->nfields - c) * 48))
                return true;
            o = pgcopy_put32(b->p + b->len, (uint32_t)n);
            memcpy(o, text, n);
            o += n;
            continue;
        }
        if (cp_batch_is_null(ctx, batch, row, c)) {
            o = pgcopy_put32(o, UINT32_MAX);
            continue;
        }
        switch (type) {
        case CP_T_INT64:
            o = pgcopy_put64(pgcopy_put32(o, 8), (uint64_t)cp_batch_get_int(ctx, batch, row, c));
            break;
        case CP_T_TIMESTAMP: {
            int64_t ms = cp_batch_get_int(ctx, batch, row, c);
            if (ms < TS_MIN_MS || ms > TS_MAX_MS) {
                *bad = c;
                return false;
            }
            o = pgcopy_put64(pgcopy_put32(o, 8), (uint64_t)((ms - PG_EPOCH_MS) * 1000));
            break;
        }
        case CP_T_DOUBLE: {
            double d = cp_batch_get_double(ctx, batch, row, c);
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            o = pgcopy_put64(pgcopy_put32(o, 8), bits);
            break;
        }
        case CP_T_BOOL:
            o = pgcopy_put32(o, 1);
            *o++ = (char)cp_batch_get_bool(ctx, batch, row, c);
            break;
        default:
            break;
        }
    }
    b->len = (size_t)(o - b->p);
    return true;
}

/* Appends COPY's binary header: signature, flags, no header extension. */
static inline void pgcopy_begin(cp_buf *b) { cp_buf_put(b, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19); }

/* Appends the trailer that ends the rows. */
static inline void pgcopy_end(cp_buf *b) { cp_buf_put(b, "\377\377", 2); }

/* Says why pgcopy_row refused column `col` (of schema `s`, as given to pgcopy_row) of `row`
 * (0-based; the message counts from 1). */
static inline void pgcopy_bad_value(char *msg, size_t len, cp_ctx *ctx, const cp_batch *batch, const cp_schema *s,
                                    size_t row, size_t col)
{
    if (s->fields[col].type == CP_T_TIMESTAMP) {
        snprintf(msg, len, "row %zu column \"%s\": time %lld ms is outside the years 1-9999", row + 1,
                 s->fields[col].name, (long long)cp_batch_get_int(ctx, batch, row, col));
    } else {
        size_t n = 0;
        const char *text = cp_batch_get_text(ctx, batch, row, col, &n);
        snprintf(msg, len, "row %zu column \"%s\": %.*s is outside NUMERIC's range", row + 1, s->fields[col].name,
                 (int)n, text ? text : "");
    }
}

#endif /* COINPIPE_SINK_POSTGRESQL_COPY_H */
