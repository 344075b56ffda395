/* Parquet file encoder: see parquet.h. Written from the Apache Parquet format specification
 * (parquet.thrift, Encodings.md) and the Thrift compact protocol specification.
 * SPDX-License-Identifier: MIT
 */
#include "parquet.h"

#include <stdio.h>
#include <string.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <zstd.h>

/* Thrift compact protocol type ids */
enum { T_STOP = 0, T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7,
       T_BINARY = 8, T_LIST = 9, T_SET = 10, T_MAP = 11, T_STRUCT = 12 };
/* parquet.thrift enums */
enum { PT_BOOLEAN = 0, PT_INT32 = 1, PT_INT64 = 2, PT_DOUBLE = 5, PT_BYTE_ARRAY = 6, PT_FLBA = 7 };
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1 };
enum { CT_UTF8 = 0, CT_DECIMAL = 5, CT_TIMESTAMP_MILLIS = 9 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_DELTA_BINARY_PACKED = 5, ENC_RLE_DICTIONARY = 8 };
enum { PAGE_DATA = 0, PAGE_DICTIONARY = 2 };

#define DEC_BYTES 16

/* ---- Thrift compact writer ---- */

typedef struct tw {
    cp_buf *b;
    int16_t last[16]; /* last field id per nesting level */
    int depth;
} tw;

static void put_varint(cp_buf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (char)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    tmp[n++] = (char)v;
    cp_buf_put(b, tmp, n);
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void tw_field(tw *w, int16_t id, int type)
{
    int16_t delta = (int16_t)(id - w->last[w->depth]);
    if (delta > 0 && delta <= 15) {
        cp_buf_putc(w->b, (char)((delta << 4) | type));
    } else {
        cp_buf_putc(w->b, (char)type);
        put_varint(w->b, zigzag(id));
    }
    w->last[w->depth] = id;
}

static void tw_i32(tw *w, int16_t id, int32_t v)
{
    tw_field(w, id, T_I32);
    put_varint(w->b, zigzag(v));
}

static void tw_i64(tw *w, int16_t id, int64_t v)
{
    tw_field(w, id, T_I64);
    put_varint(w->b, zigzag(v));
}

static void tw_bool(tw *w, int16_t id, bool v) { tw_field(w, id, v ? T_TRUE : T_FALSE); }

static void tw_bin(tw *w, int16_t id, const void *p, size_t n)
{
    tw_field(w, id, T_BINARY);
    put_varint(w->b, n);
    cp_buf_put(w->b, (const char *)p, n);
}

static void tw_begin(tw *w, int16_t id) /* a struct field; its fields follow */
{
    tw_field(w, id, T_STRUCT);
    w->last[++w->depth] = 0;
}

static void tw_end(tw *w) /* ends a struct (a field's or a list element's) */
{
    cp_buf_putc(w->b, T_STOP);
    w->depth--;
}

static void tw_list(tw *w, int16_t id, int elem, size_t n)
{
    tw_field(w, id, T_LIST);
    if (n < 15) {
        cp_buf_putc(w->b, (char)((n << 4) | (size_t)elem));
    } else {
        cp_buf_putc(w->b, (char)(0xf0 | elem));
        put_varint(w->b, n);
    }
}

static void tw_elem(tw *w) { w->last[++w->depth] = 0; } /* a struct list element begins */

/* ---- values ---- */

typedef unsigned __int128 u128;

/* 10^k for k = 0..38 (10^19 and up as products: no integer literal is 128 bits wide) */
#define P19 ((u128)10000000000000000000ull)
static const u128 pow10_tab[CP_PQ_DEC_PRECISION + 1] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull, 1000000000ull,
    10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull, 100000000000000ull,
    1000000000000000ull, 10000000000000000ull, 100000000000000000ull, 1000000000000000000ull, P19, P19 * 10ull,
    P19 * 100ull, P19 * 1000ull, P19 * 10000ull, P19 * 100000ull, P19 * 1000000ull, P19 * 10000000ull,
    P19 * 100000000ull, P19 * 1000000000ull, P19 * 10000000000ull, P19 * 100000000000ull,
    P19 * 1000000000000ull, P19 * 10000000000000ull, P19 * 100000000000000ull, P19 * 1000000000000000ull,
    P19 * 10000000000000000ull, P19 * 100000000000000000ull, P19 * 1000000000000000000ull,
    P19 * 10000000000000000000ull};
#undef P19

static u128 pow10_u128(int k) { return pow10_tab[k]; }

/* The common case of dec_parse in one pass: [-]digits[.digits] with at most 18 significant digits
 * that fits the column. False for anything else (dec_parse's general path decides, or names the
 * error). */
static bool dec_fast(const char *s, size_t n, int precision, int scale, __int128 *out)
{
    bool neg = n && s[0] == '-', any = false;
    uint64_t v = 0;
    int nd = 0, frac = -1; /* significant digits; digits after the point (-1: no point yet) */
    for (size_t i = neg; i < n; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d < 10) {
            if ((nd || d) && ++nd > 18)
                return false;
            v = v * 10 + d;
            any = true;
            frac += frac >= 0;
        } else if (s[i] == '.' && frac < 0) {
            frac = 0;
        } else {
            return false;
        }
    }
    frac = frac < 0 ? 0 : frac;
    while (frac > scale && v && v % 10 == 0) { /* trailing zeros beyond the scale: "0.01000000" */
        v /= 10;
        nd--;
        frac--;
    }
    if (!any || (frac > scale && v) || (v && nd + scale - frac > precision))
        return false;
    u128 q = v ? (u128)v * pow10_tab[frac > scale ? 0 : scale - frac] : 0;
    *out = neg ? -(__int128)q : (__int128)q;
    return true;
}

/* Decimal text -> unscaled 128-bit value at `scale`. 0, or -1 with a reason in `why`. */
static int dec_parse(const char *s, size_t n, int precision, int scale, __int128 *out, const char **why)
{
    if (dec_fast(s, n, precision, scale, out))
        return 0;
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    /* the significant digits (leading zeros skipped): the first 19 in lo, all of them in v once
     * there are more; `nd` of them, `frac` digits after the point */
    uint64_t lo = 0;
    u128 v = 0;
    long nd = 0, frac = 0, dropped = 0; /* dropped: digits beyond 38 (must be zero): 39 could pass 2^128 */
    bool any = false, point = false, nonzero_dropped = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = true;
            frac += point;
            if (nd == 0 && c == '0')
                continue;
            if (nd < 19) {
                lo = lo * 10 + (uint64_t)(c - '0');
                nd++;
            } else if (nd < CP_PQ_DEC_PRECISION) {
                if (nd == 19)
                    v = lo;
                v = v * 10 + (u128)(c - '0');
                nd++;
            } else {
                dropped++;
                nonzero_dropped = nonzero_dropped || c != '0';
            }
        } else if (c == '.' && !point) {
            point = true;
        } else {
            break;
        }
    }
    if (nd <= 19)
        v = lo;
    if (!any) {
        *why = "is not a decimal number";
        return -1;
    }
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        if (i >= n) {
            *why = "is not a decimal number";
            return -1;
        }
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
        if (eneg)
            exp = -exp;
    }
    if (i != n) {
        *why = "is not a decimal number";
        return -1;
    }
    /* value = v * 10^(dropped - frac + exp); unscaled = v * 10^shift */
    long shift = dropped - frac + exp + scale;
    if (nonzero_dropped && shift < 0) {
        *why = "has more digits after the point than the column's scale";
        return -1;
    }
    while (shift < 0 && v) {
        if (v % 10) {
            *why = "has more digits after the point than the column's scale";
            return -1;
        }
        v /= 10;
        nd--;
        shift++;
    }
    if (v && (nonzero_dropped || nd + shift > precision)) {
        *why = "has more digits before the point than the column's precision leaves";
        return -1;
    }
    if (v && shift > 0)
        v *= pow10_u128((int)shift);
    *out = neg ? -(__int128)v : (__int128)v;
    return 0;
}

/* big-endian 64-bit halves, whatever the host's byte order */
static void put_be64(unsigned char *o, uint64_t x)
{
    for (int k = 7; k >= 0; k--, x >>= 8)
        o[k] = (unsigned char)x;
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int k = 0; k < 8; k++)
        x = x << 8 | p[k];
    return x;
}

static void dec_bytes(__int128 v, unsigned char out[DEC_BYTES])
{
    u128 u = (u128)v;
    put_be64(out, (uint64_t)(u >> 64));
    put_be64(out + 8, (uint64_t)u);
}

int cp_pq_precision(const cp_pq_column *col)
{
    return col->precision > 0 ? col->precision : CP_PQ_DEC_PRECISION;
}

/* a decimal column stored as INT32 or INT64 (precision 18 or less) */
static bool dec_small(const cp_pq_column *c) { return c->type == CP_PQ_DEC && cp_pq_precision(c) <= 18; }

int cp_pq_decimal(const cp_pq_column *col, const char *s, size_t len, cp_pq_value *v, unsigned char buf[16],
                  const char **why)
{
    __int128 q;
    int precision = cp_pq_precision(col);
    if (col->scale < 0 || col->scale > precision || precision > CP_PQ_DEC_PRECISION) {
        *why = "has a column whose scale is outside 0..precision";
        return -1;
    }
    if (dec_parse(s ? s : "", len, precision, col->scale, &q, why) != 0)
        return -1;
    *v = (cp_pq_value){.unscaled = true};
    if (precision <= 18) {
        v->i = (int64_t)q;
    } else {
        dec_bytes(q, buf);
        v->s = (const char *)buf;
        v->len = DEC_BYTES;
    }
    return 0;
}

static void put_le64(cp_buf *b, uint64_t v)
{
    char t[8];
    for (int k = 0; k < 8; k++)
        t[k] = (char)(v >> (8 * k));
    cp_buf_put(b, t, 8);
}

static void put_le32(cp_buf *b, uint32_t v)
{
    char t[4];
    for (int k = 0; k < 4; k++)
        t[k] = (char)(v >> (8 * k));
    cp_buf_put(b, t, 4);
}

/* ---- statistics ---- */

typedef struct stats {
    bool have;
    int64_t imin, imax;
    double dmin, dmax;
    __int128 qmin, qmax;
    const cp_pq_value *smin, *smax;
    int64_t nulls;
} stats;

static int bytes_cmp(const cp_pq_value *a, const cp_pq_value *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->s, b->s, n) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static void stats_add(stats *st, cp_pq_type t, const cp_pq_value *v, __int128 q)
{
    switch (t) {
    case CP_PQ_INT64:
    case CP_PQ_TS:
    case CP_PQ_BOOL: {
        int64_t x = t == CP_PQ_BOOL ? (int64_t)v->b : v->i;
        if (!st->have || x < st->imin)
            st->imin = x;
        if (!st->have || x > st->imax)
            st->imax = x;
        break;
    }
    case CP_PQ_DOUBLE:
        if (v->d != v->d)
            return; /* NaN is left out of min/max */
        if (!st->have || v->d < st->dmin)
            st->dmin = v->d;
        if (!st->have || v->d > st->dmax)
            st->dmax = v->d;
        break;
    case CP_PQ_STRING:
        if (!st->have || bytes_cmp(v, st->smin) < 0)
            st->smin = v;
        if (!st->have || bytes_cmp(v, st->smax) > 0)
            st->smax = v;
        break;
    case CP_PQ_DEC:
        if (!st->have || q < st->qmin)
            st->qmin = q;
        if (!st->have || q > st->qmax)
            st->qmax = q;
        break;
    }
    st->have = true;
}

/* the chunk's statistics as they go into the footer (owned copies: the cells are gone by then) */
typedef struct chunk_stats {
    int64_t nulls;
    bool have;
    cp_buf min, max;
} chunk_stats;

static void stats_keep(chunk_stats *cs, const cp_pq_column *c, const stats *st)
{
    cs->nulls = st->nulls;
    cs->have = st->have;
    if (!st->have)
        return;
    cp_buf *mx = &cs->max, *mn = &cs->min;
    if (c->type == CP_PQ_DEC && cp_pq_precision(c) <= 9) { /* INT32: plain, 4 bytes */
        put_le32(mx, (uint32_t)st->imax);
        put_le32(mn, (uint32_t)st->imin);
        return;
    }
    if (c->type == CP_PQ_DEC && cp_pq_precision(c) <= 18) {
        put_le64(mx, (uint64_t)st->imax);
        put_le64(mn, (uint64_t)st->imin);
        return;
    }
    switch (c->type) {
    case CP_PQ_INT64:
    case CP_PQ_TS:
        put_le64(mx, (uint64_t)st->imax);
        put_le64(mn, (uint64_t)st->imin);
        break;
    case CP_PQ_BOOL:
        cp_buf_putc(mx, (char)st->imax);
        cp_buf_putc(mn, (char)st->imin);
        break;
    case CP_PQ_DOUBLE: {
        /* the specification: a zero minimum is written as -0.0, a zero maximum as +0.0 */
        double lo = st->dmin == 0 ? -0.0 : st->dmin, hi = st->dmax == 0 ? 0.0 : st->dmax;
        uint64_t u;
        memcpy(&u, &hi, 8);
        put_le64(mx, u);
        memcpy(&u, &lo, 8);
        put_le64(mn, u);
        break;
    }
    case CP_PQ_STRING:
        cp_buf_put(mx, st->smax->s ? st->smax->s : "", st->smax->len);
        cp_buf_put(mn, st->smin->s ? st->smin->s : "", st->smin->len);
        break;
    case CP_PQ_DEC: {
        unsigned char q[DEC_BYTES];
        dec_bytes(st->qmax, q);
        cp_buf_put(mx, (const char *)q, DEC_BYTES);
        dec_bytes(st->qmin, q);
        cp_buf_put(mn, (const char *)q, DEC_BYTES);
        break;
    }
    }
}

static void stats_write(tw *w, int16_t id, const chunk_stats *cs)
{
    tw_begin(w, id);
    tw_i64(w, 3, cs->nulls);
    if (cs->have) {
        tw_bin(w, 5, cs->max.p ? cs->max.p : "", cs->max.len);
        tw_bin(w, 6, cs->min.p ? cs->min.p : "", cs->min.len);
        if (cs->max.oom || cs->min.oom)
            w->b->oom = true;
    }
    tw_end(w);
}

/* ---- pages ---- */

static int phys_type(const cp_pq_column *c)
{
    if (c->type == CP_PQ_DEC && cp_pq_precision(c) <= 18)
        return cp_pq_precision(c) <= 9 ? PT_INT32 : PT_INT64;
    switch (c->type) {
    case CP_PQ_INT64:
    case CP_PQ_TS:
        return PT_INT64;
    case CP_PQ_DOUBLE:
        return PT_DOUBLE;
    case CP_PQ_BOOL:
        return PT_BOOLEAN;
    case CP_PQ_STRING:
        return PT_BYTE_ARRAY;
    case CP_PQ_DEC:
        return PT_FLBA;
    }
    return PT_BYTE_ARRAY;
}

/* Definition levels (bit width 1) as RLE runs of the RLE/bit-packed hybrid, 4-byte length first. */
static void put_def_levels(cp_buf *b, const cp_pq_value *v0, size_t stride, size_t n)
{
    size_t at = b->len;
    put_le32(b, 0);
    size_t i = 0;
    while (i < n) {
        bool def = !v0[i * stride].null;
        size_t run = 1;
        while (i + run < n && !v0[(i + run) * stride].null == def)
            run++;
        put_varint(b, (uint64_t)run << 1);
        cp_buf_putc(b, (char)def);
        i += run;
    }
    if (!b->oom) {
        uint32_t len = (uint32_t)(b->len - at - 4);
        for (int k = 0; k < 4; k++)
            b->p[at + (size_t)k] = (char)(len >> (8 * k));
    }
}

/* Bit-packs v[0..n) (n padded with zeros to a multiple of 8) as one run of the hybrid. */
static void put_bitpacked(cp_buf *b, const uint32_t *v, size_t n, int bw)
{
    size_t groups = (n + 7) / 8;
    put_varint(b, (uint64_t)groups << 1 | 1);
    uint64_t acc = 0;
    int bits = 0;
    for (size_t k = 0; k < groups * 8; k++) {
        acc |= (uint64_t)(k < n ? v[k] : 0) << bits;
        bits += bw;
        while (bits >= 8) {
            cp_buf_putc(b, (char)(acc & 0xff));
            acc >>= 8;
            bits -= 8;
        }
    }
}

/* The RLE/bit-packed hybrid (Encodings.md) of n values of bit width bw (1..32), no length prefix:
 * a value repeated 8 or more times is an RLE run, the rest bit-packed runs of whole groups of 8. */
static void put_hybrid(cp_buf *b, const uint32_t *v, size_t n, int bw)
{
    size_t start = 0, i = 0;
    while (i < n) {
        size_t r = 1;
        while (i + r < n && v[i + r] == v[i])
            r++;
        if (r < 8) {
            i += r;
            continue;
        }
        size_t pad = (8 - (i - start) % 8) % 8; /* fill the literals up to whole groups first */
        i += pad;
        r -= pad;
        if (r < 8) {
            i += r;
            continue;
        }
        if (i > start)
            put_bitpacked(b, v + start, i - start, bw);
        put_varint(b, (uint64_t)r << 1);
        for (int k = 0; k < (bw + 7) / 8; k++)
            cp_buf_putc(b, (char)(v[i] >> (8 * k)));
        i += r;
        start = i;
    }
    if (n > start)
        put_bitpacked(b, v + start, n - start, bw);
}

/* DELTA_BINARY_PACKED (Encodings.md): blocks of DELTA_BLOCK deltas in DELTA_MINI miniblocks */
#define DELTA_BLOCK 128
#define DELTA_MINI 4
#define DELTA_PER_MINI (DELTA_BLOCK / DELTA_MINI)

/* Bit-packs 32 values of width w (1..64), least significant bit first, into 4 * w bytes at o. */
static void pack32(unsigned char *o, const uint64_t *r, int w)
{
    u128 acc = 0;
    int bits = 0;
    for (int k = 0; k < DELTA_PER_MINI; k++) {
        acc |= (u128)r[k] << bits;
        bits += w;
        if (bits >= 64) {
            uint64_t lo = (uint64_t)acc;
            for (int j = 0; j < 8; j++)
                *o++ = (unsigned char)(lo >> (8 * j));
            acc >>= 64;
            bits -= 64;
        }
    }
    for (uint64_t lo = (uint64_t)acc; bits > 0; bits -= 8, lo >>= 8) /* 32 * w bits: whole bytes */
        *o++ = (unsigned char)lo;
}

/* The DELTA_BINARY_PACKED encoding of x[0..n) (n >= 1): a header (block size, miniblocks per block,
 * value count, first value as a zigzag varint), then per block the minimum delta (zigzag varint),
 * one bit width byte per miniblock and the miniblocks of (delta - minimum) bit-packed. Deltas wrap
 * in two's complement at 32 bits for INT32, 64 for INT64; the bodies of miniblocks past the last
 * value are left out, the last one used is padded to 32 values. */
static void put_delta(cp_buf *b, const int64_t *x, size_t n, bool int32)
{
    put_varint(b, DELTA_BLOCK);
    put_varint(b, DELTA_MINI);
    put_varint(b, n);
    put_varint(b, zigzag(x[0]));
    uint64_t r[DELTA_BLOCK];
    for (size_t i = 1; i < n; i += DELTA_BLOCK) {
        size_t m = n - i < DELTA_BLOCK ? n - i : DELTA_BLOCK;
        int64_t d[DELTA_BLOCK], min = INT64_MAX;
        for (size_t k = 0; k < m; k++) {
            uint64_t cur = (uint64_t)x[i + k], prev = (uint64_t)x[i + k - 1];
            d[k] = int32 ? (int64_t)(int32_t)(uint32_t)(cur - prev) : (int64_t)(cur - prev);
            min = d[k] < min ? d[k] : min;
        }
        for (size_t k = 0; k < DELTA_BLOCK; k++)
            r[k] = k >= m ? 0 : int32 ? (uint32_t)((uint32_t)d[k] - (uint32_t)min) : (uint64_t)d[k] - (uint64_t)min;
        put_varint(b, zigzag(min));
        int w[DELTA_MINI];
        size_t body = 0;
        for (int j = 0; j < DELTA_MINI; j++) {
            uint64_t all = 0;
            for (int k = 0; k < DELTA_PER_MINI; k++)
                all |= r[j * DELTA_PER_MINI + k];
            w[j] = all ? 64 - __builtin_clzll(all) : 0;
            if ((size_t)j * DELTA_PER_MINI < m)
                body += (size_t)(4 * w[j]);
            cp_buf_putc(b, (char)w[j]);
        }
        if (!cp_buf_reserve(b, body))
            return;
        for (int j = 0; j < DELTA_MINI && (size_t)j * DELTA_PER_MINI < m; j++) {
            if (w[j])
                pack32((unsigned char *)b->p + b->len, r + j * DELTA_PER_MINI, w[j]);
            b->len += (size_t)(4 * w[j]);
        }
        b->p[b->len] = '\0';
    }
}

/* A string column chunk's dictionary: distinct values in first-seen order and each value's index. */
typedef struct dict {
    uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
    size_t cap;
    const cp_pq_value **ent;
    size_t n, bytes;
    uint32_t *idx;
    size_t nidx;
} dict;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t k = 0; k < n; k++)
        h = (h ^ (unsigned char)s[k]) * 1099511628211ull;
    return h;
}

static void dict_free(dict *d)
{
    free(d->slots);
    free(d->ent);
    free(d->idx);
    memset(d, 0, sizeof *d);
}

/* Builds the dictionary of the chunk's non-null values; false when it is not worth it (or no memory). */
static bool dict_build(dict *d, const cp_pq_value *v0, size_t stride, size_t n,
                       size_t nonnull, size_t max_bytes)
{
    memset(d, 0, sizeof *d);
    d->cap = 64;
    while (d->cap < nonnull * 2 && d->cap < (1u << 20))
        d->cap <<= 1;
    d->slots = calloc(d->cap, sizeof *d->slots);
    d->ent = malloc((nonnull ? nonnull : 1) * sizeof *d->ent);
    d->idx = malloc((nonnull ? nonnull : 1) * sizeof *d->idx);
    if (!d->slots || !d->ent || !d->idx)
        goto no;
    for (size_t i = 0; i < n; i++) {
        const cp_pq_value *v = &v0[i * stride];
        if (v->null)
            continue;
        const char *s = v->s ? v->s : "";
        size_t h = (size_t)hash_bytes(s, v->len) & (d->cap - 1);
        for (;;) {
            uint32_t e = d->slots[h];
            if (!e) {
                if (d->n * 2 >= d->cap) { /* the table is full enough: grow and rehash */
                    size_t ncap = d->cap * 2;
                    uint32_t *ns = calloc(ncap, sizeof *ns);
                    if (!ns)
                        goto no;
                    for (size_t k = 0; k < d->n; k++) {
                        const cp_pq_value *x = d->ent[k];
                        size_t g = (size_t)hash_bytes(x->s ? x->s : "", x->len) & (ncap - 1);
                        while (ns[g])
                            g = (g + 1) & (ncap - 1);
                        ns[g] = (uint32_t)k + 1;
                    }
                    free(d->slots);
                    d->slots = ns;
                    d->cap = ncap;
                    h = (size_t)hash_bytes(s, v->len) & (d->cap - 1);
                    continue;
                }
                d->ent[d->n] = v;
                d->bytes += 4 + v->len;
                d->slots[h] = (uint32_t)++d->n;
                if (d->bytes > max_bytes)
                    goto no;
                e = (uint32_t)d->n;
            } else if (d->ent[e - 1]->len != v->len || (v->len && memcmp(d->ent[e - 1]->s, s, v->len))) {
                h = (h + 1) & (d->cap - 1);
                continue;
            }
            d->idx[d->nidx++] = e - 1;
            break;
        }
    }
    if (nonnull >= 16 && d->n * 2 > nonnull)
        goto no;
    return true;
no:
    dict_free(d);
    return false;
}

typedef struct chunk_meta {
    int64_t offset, dict_offset, data_offset, uncompressed, compressed, nvalues;
    bool dict, delta;
    chunk_stats st;
} chunk_meta;

/* what the pages of one writer share: its options and a zstd context */
typedef struct pq_enc {
    cp_pq_options opt;
    ZSTD_CCtx *zc;
} pq_enc;

/* Writes one page (header, then the body compressed by the codec) to `out`; adds its sizes to m. */
static int put_page(cp_buf *out, bool dict_page, const cp_buf *body, int32_t nvalues, int encoding,
                    pq_enc *e, chunk_meta *m, const char *name, char *err, size_t errlen)
{
    const char *data = body->p ? body->p : "";
    size_t dlen = body->len;
    char *z = NULL;
    if (e->opt.codec == CP_PQ_ZSTD) {
        size_t cap = ZSTD_compressBound(dlen);
        z = malloc(cap ? cap : 1);
        if (!e->zc)
            e->zc = ZSTD_createCCtx(); /* one context for all the writer's pages */
        size_t zn = z && e->zc ? ZSTD_compressCCtx(e->zc, z, cap, data, dlen, e->opt.zstd_level) : 0;
        if (!z || !e->zc || ZSTD_isError(zn)) {
            snprintf(err, errlen, "column %s: zstd: %s", name, z ? ZSTD_getErrorName(zn) : "out of memory");
            free(z);
            return -1;
        }
        dlen = zn;
    } else if (e->opt.codec == CP_PQ_SNAPPY) {
        size_t zn = snappy_max_compressed_length(dlen);
        z = malloc(zn ? zn : 1);
        if (!z || snappy_compress(data, body->len, z, &zn) != SNAPPY_OK) {
            snprintf(err, errlen, "column %s: snappy: %s", name, z ? "compression failed" : "out of memory");
            free(z);
            return -1;
        }
        dlen = zn;
    }
    if (z)
        data = z;
    if (body->len > INT32_MAX || dlen > INT32_MAX) {
        snprintf(err, errlen, "column %s: page larger than 2 GiB (use smaller row groups)", name);
        free(z);
        return -1;
    }
    size_t at = out->len;
    tw w = {.b = out};
    tw_i32(&w, 1, dict_page ? PAGE_DICTIONARY : PAGE_DATA);
    tw_i32(&w, 2, (int32_t)body->len);
    tw_i32(&w, 3, (int32_t)dlen);
    if (dict_page) {
        tw_begin(&w, 7); /* DictionaryPageHeader */
        tw_i32(&w, 1, nvalues);
        tw_i32(&w, 2, ENC_PLAIN);
    } else {
        tw_begin(&w, 5); /* DataPageHeader */
        tw_i32(&w, 1, nvalues);
        tw_i32(&w, 2, encoding);
        tw_i32(&w, 3, ENC_RLE);
        tw_i32(&w, 4, ENC_RLE);
    }
    tw_end(&w);
    cp_buf_putc(out, T_STOP);
    size_t hdr = out->len - at;
    cp_buf_put(out, data, dlen);
    m->uncompressed += (int64_t)(hdr + body->len);
    m->compressed += (int64_t)(hdr + dlen);
    free(z);
    return 0;
}

/* Writes one column chunk (a dictionary page for strings when it pays, then one data page) of rows
 * [r0, r0 + n) to `out`. */
static int write_chunk(const cp_pq_column *c, const cp_pq_value *v0, size_t stride, size_t r0, size_t n,
                       pq_enc *e, cp_buf *out, chunk_meta *m, char *err, size_t errlen)
{
    cp_buf body = {0};
    stats st = {0};
    memset(m, 0, sizeof *m);
    m->offset = (int64_t)out->len;
    m->dict_offset = -1;
    m->nvalues = (int64_t)n;
    size_t nonnull = 0;
    for (size_t i = 0; i < n; i++) {
        const cp_pq_value *v = &v0[i * stride];
        if (!v->null) {
            nonnull++;
            continue;
        }
        if (!c->nullable) {
            snprintf(err, errlen, "row %zu, column %s: NULL in a column that is not nullable", r0 + i, c->name);
            return -1;
        }
        st.nulls++;
    }
    dict d = {0};
    if (c->type == CP_PQ_STRING && !e->opt.plain_strings && nonnull &&
        dict_build(&d, v0, stride, n, nonnull,
                   e->opt.dict_max_bytes ? e->opt.dict_max_bytes : CP_PQ_DICT_MAX_BYTES)) {
        for (size_t k = 0; k < d.n; k++) {
            put_le32(&body, (uint32_t)d.ent[k]->len);
            cp_buf_put(&body, d.ent[k]->s ? d.ent[k]->s : "", d.ent[k]->len);
            stats_add(&st, c->type, d.ent[k], 0);
        }
        m->dict = true;
        m->dict_offset = (int64_t)out->len;
        int rc = body.oom ? -1 : put_page(out, true, &body, (int32_t)d.n, ENC_PLAIN, e, m, c->name, err, errlen);
        cp_buf_reset(&body);
        if (rc == 0 && c->nullable)
            put_def_levels(&body, v0, stride, n);
        int bw = 1;
        while (bw < 32 && (d.n - 1) >> bw)
            bw++;
        cp_buf_putc(&body, (char)bw);
        put_hybrid(&body, d.idx, d.nidx, bw);
        dict_free(&d);
        if (rc != 0 || body.oom) {
            if (rc == 0)
                snprintf(err, errlen, "column %s: out of memory", c->name);
            cp_buf_free(&body);
            return -1;
        }
    } else if (c->type == CP_PQ_INT64 || c->type == CP_PQ_TS || dec_small(c)) {
        /* INT64 or INT32 values: DELTA_BINARY_PACKED unless PLAIN is smaller */
        bool int32 = c->type == CP_PQ_DEC && cp_pq_precision(c) <= 9;
        int64_t *x = malloc((nonnull ? nonnull : 1) * sizeof *x);
        if (!x) {
            snprintf(err, errlen, "column %s: out of memory", c->name);
            return -1;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const cp_pq_value *v = &v0[i * stride];
            if (v->null)
                continue;
            int64_t y = v->i;
            if (c->type == CP_PQ_DEC && !v->unscaled) {
                const char *why = NULL;
                __int128 q;
                if (dec_parse(v->s ? v->s : "", v->len, cp_pq_precision(c), c->scale, &q, &why) != 0) {
                    snprintf(err, errlen, "row %zu, column %s: decimal %.*s %s (DECIMAL(%d, %d))", r0 + i, c->name,
                             v->len > 60 ? 60 : (int)v->len, v->s ? v->s : "", why, cp_pq_precision(c), c->scale);
                    free(x);
                    return -1;
                }
                y = (int64_t)q;
            }
            if (!st.have || y < st.imin)
                st.imin = y;
            if (!st.have || y > st.imax)
                st.imax = y;
            st.have = true;
            x[k++] = y;
        }
        if (c->nullable)
            put_def_levels(&body, v0, stride, n);
        size_t levels = body.len, plain = k * (int32 ? 4 : 8);
        if (k && !e->opt.plain_ints) {
            put_delta(&body, x, k, int32);
            m->delta = body.len - levels < plain;
            if (!m->delta)
                body.len = levels;
        }
        if (!m->delta) {
            if (!cp_buf_reserve(&body, plain)) {
                free(x);
                snprintf(err, errlen, "column %s: out of memory", c->name);
                cp_buf_free(&body);
                return -1;
            }
            unsigned char *o = (unsigned char *)body.p + body.len;
            for (size_t j = 0; j < k; j++)
                for (int q = 0; q < (int32 ? 4 : 8); q++)
                    *o++ = (unsigned char)((uint64_t)x[j] >> (8 * q));
            body.len += plain;
            body.p[body.len] = '\0';
        }
        free(x);
    } else {
        if (c->nullable)
            put_def_levels(&body, v0, stride, n);
        unsigned char bits = 0;
        int nbits = 0;
        for (size_t i = 0; i < n; i++) {
            const cp_pq_value *v = &v0[i * stride];
            if (v->null)
                continue;
            __int128 q = 0;
            switch (c->type) {
            case CP_PQ_INT64:
            case CP_PQ_TS:
                put_le64(&body, (uint64_t)v->i);
                break;
            case CP_PQ_DOUBLE: {
                uint64_t u;
                memcpy(&u, &v->d, 8);
                put_le64(&body, u);
                break;
            }
            case CP_PQ_BOOL:
                bits |= (unsigned char)((v->b ? 1 : 0) << nbits);
                if (++nbits == 8) {
                    cp_buf_putc(&body, (char)bits);
                    bits = 0;
                    nbits = 0;
                }
                break;
            case CP_PQ_STRING:
                if (v->len > UINT32_MAX) {
                    snprintf(err, errlen, "row %zu, column %s: string longer than 4 GiB", r0 + i, c->name);
                    cp_buf_free(&body);
                    return -1;
                }
                put_le32(&body, (uint32_t)v->len);
                cp_buf_put(&body, v->s ? v->s : "", v->len);
                break;
            case CP_PQ_DEC: {
                const char *why = NULL;
                if (v->unscaled && v->len == DEC_BYTES) { /* converted by cp_pq_decimal already */
                    const unsigned char *b = (const unsigned char *)v->s;
                    q = (__int128)((u128)get_be64(b) << 64 | get_be64(b + 8));
                    cp_buf_put(&body, v->s, DEC_BYTES);
                    break;
                }
                if (dec_parse(v->s ? v->s : "", v->len, cp_pq_precision(c), c->scale, &q, &why) != 0) {
                    snprintf(err, errlen, "row %zu, column %s: decimal %.*s %s (DECIMAL(%d, %d))", r0 + i, c->name,
                             v->len > 60 ? 60 : (int)v->len, v->s ? v->s : "", why, cp_pq_precision(c), c->scale);
                    cp_buf_free(&body);
                    return -1;
                }
                unsigned char be[DEC_BYTES];
                dec_bytes(q, be);
                cp_buf_put(&body, (const char *)be, DEC_BYTES);
                break;
            }
            }
            stats_add(&st, c->type, v, q);
        }
        if (nbits)
            cp_buf_putc(&body, (char)bits);
    }
    if (body.oom) {
        snprintf(err, errlen, "column %s: out of memory", c->name);
        cp_buf_free(&body);
        return -1;
    }
    m->data_offset = (int64_t)out->len;
    int rc = put_page(out, false, &body, (int32_t)n,
                      m->dict ? ENC_RLE_DICTIONARY : m->delta ? ENC_DELTA_BINARY_PACKED : ENC_PLAIN, e, m, c->name,
                      err, errlen);
    cp_buf_free(&body);
    if (rc == 0)
        stats_keep(&m->st, c, &st);
    return rc;
}

static void write_schema_element(tw *w, const cp_pq_column *c)
{
    tw_elem(w);
    tw_i32(w, 1, phys_type(c));
    if (c->type == CP_PQ_DEC && !dec_small(c))
        tw_i32(w, 2, DEC_BYTES);
    tw_i32(w, 3, c->nullable ? REP_OPTIONAL : REP_REQUIRED);
    tw_bin(w, 4, c->name, strlen(c->name));
    if (c->type == CP_PQ_STRING)
        tw_i32(w, 6, CT_UTF8);
    else if (c->type == CP_PQ_TS)
        tw_i32(w, 6, CT_TIMESTAMP_MILLIS);
    else if (c->type == CP_PQ_DEC) {
        tw_i32(w, 6, CT_DECIMAL);
        tw_i32(w, 7, c->scale);
        tw_i32(w, 8, cp_pq_precision(c));
    }
    if (c->type == CP_PQ_STRING || c->type == CP_PQ_TS || c->type == CP_PQ_DEC) {
        tw_begin(w, 10); /* LogicalType (a union) */
        if (c->type == CP_PQ_STRING) {
            tw_begin(w, 1); /* STRING */
            tw_end(w);
        } else if (c->type == CP_PQ_DEC) {
            tw_begin(w, 5); /* DECIMAL */
            tw_i32(w, 1, c->scale);
            tw_i32(w, 2, cp_pq_precision(c));
            tw_end(w);
        } else {
            tw_begin(w, 8); /* TIMESTAMP */
            tw_bool(w, 1, true);
            tw_begin(w, 2); /* unit: TimeUnit union */
            tw_begin(w, 1); /* MILLIS */
            tw_end(w);
            tw_end(w);
            tw_end(w);
        }
        tw_end(w);
    }
    tw_end(w);
}

/* ---- the writer ---- */

struct cp_pq_writer {
    cp_pq_column *cols;
    size_t ncols;
    pq_enc enc;
    cp_buf file;       /* "PAR1" and the pages so far */
    chunk_meta *meta;  /* ngroups * ncols */
    int64_t *grows;    /* rows per group */
    size_t ngroups, capgroups;
    int64_t rows;
};

const char *cp_pq_codec_name(cp_pq_codec codec)
{
    switch (codec) {
    case CP_PQ_UNCOMPRESSED:
        return "UNCOMPRESSED";
    case CP_PQ_SNAPPY:
        return "SNAPPY";
    case CP_PQ_ZSTD:
        return "ZSTD";
    }
    return NULL;
}

static void meta_free(chunk_meta *m)
{
    cp_buf_free(&m->st.min);
    cp_buf_free(&m->st.max);
}

void cp_pq_writer_free(cp_pq_writer *w)
{
    if (!w)
        return;
    for (size_t c = 0; c < w->ncols; c++)
        free((char *)w->cols[c].name);
    for (size_t k = 0; k < w->ngroups * w->ncols; k++)
        meta_free(&w->meta[k]);
    free(w->cols);
    free(w->meta);
    free(w->grows);
    cp_buf_free(&w->file);
    ZSTD_freeCCtx(w->enc.zc);
    free(w);
}

cp_pq_writer *cp_pq_writer_new(const cp_pq_column *cols, size_t ncols, const cp_pq_options *opt, char *err,
                               size_t errlen)
{
    if (ncols == 0) {
        snprintf(err, errlen, "parquet: a file needs at least one column");
        return NULL;
    }
    for (size_t c = 0; c < ncols; c++) {
        if (!cols[c].name || !cols[c].name[0]) {
            snprintf(err, errlen, "parquet: column %zu has no name", c);
            return NULL;
        }
        if (cols[c].type == CP_PQ_DEC && (cols[c].precision < 0 || cols[c].precision > CP_PQ_DEC_PRECISION)) {
            snprintf(err, errlen, "parquet: column %s: precision %d is outside 1..38", cols[c].name,
                     cols[c].precision);
            return NULL;
        }
        if (cols[c].type == CP_PQ_DEC && (cols[c].scale < 0 || cols[c].scale > cp_pq_precision(&cols[c]))) {
            snprintf(err, errlen, "parquet: column %s: scale %d is outside 0..%d", cols[c].name, cols[c].scale,
                     cp_pq_precision(&cols[c]));
            return NULL;
        }
    }
    if (opt && !cp_pq_codec_name(opt->codec)) {
        snprintf(err, errlen, "parquet: unknown codec %d", (int)opt->codec);
        return NULL;
    }
    cp_pq_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->cols = calloc(ncols, sizeof *w->cols))) {
        free(w);
        snprintf(err, errlen, "parquet: out of memory");
        return NULL;
    }
    w->ncols = ncols;
    for (size_t c = 0; c < ncols; c++) {
        w->cols[c] = cols[c];
        if (!(w->cols[c].name = strdup(cols[c].name))) {
            cp_pq_writer_free(w);
            snprintf(err, errlen, "parquet: out of memory");
            return NULL;
        }
    }
    if (opt)
        w->enc.opt = *opt;
    cp_buf_put(&w->file, "PAR1", 4);
    return w;
}

int64_t cp_pq_writer_rows(const cp_pq_writer *w) { return w->rows; }

size_t cp_pq_writer_bytes(const cp_pq_writer *w) { return w->file.len; }

/* Adds rows given row-major (cells) or column-major (columns[c][row]) as row groups. */
static int writer_add(cp_pq_writer *w, const cp_pq_value *cells, const cp_pq_value *const *columns, size_t nrows,
                      char *err, size_t errlen)
{
    size_t per = w->enc.opt.row_group_rows ? w->enc.opt.row_group_rows : (nrows ? nrows : 1);
    size_t add = (nrows + per - 1) / per, start = w->file.len, g0 = w->ngroups;
    if (w->ngroups + add > w->capgroups) {
        size_t cap = (w->ngroups + add) * 2;
        chunk_meta *m = realloc(w->meta, cap * w->ncols * sizeof *m);
        if (m)
            w->meta = m;
        int64_t *gr = m ? realloc(w->grows, cap * sizeof *gr) : NULL;
        if (!gr) {
            snprintf(err, errlen, "parquet: out of memory");
            return -1;
        }
        w->grows = gr;
        w->capgroups = cap;
    }
    for (size_t g = 0; g < add; g++) {
        size_t r0 = g * per, n = nrows - r0 < per ? nrows - r0 : per;
        for (size_t c = 0; c < w->ncols; c++) {
            chunk_meta *m = &w->meta[w->ngroups * w->ncols + c];
            const cp_pq_value *v0 = columns ? columns[c] + r0 : cells + r0 * w->ncols + c;
            if (write_chunk(&w->cols[c], v0, columns ? 1 : w->ncols, r0, n, &w->enc, &w->file, m, err, errlen) != 0) {
                for (size_t k = 0; k < c; k++)
                    meta_free(&w->meta[w->ngroups * w->ncols + k]);
                goto fail;
            }
        }
        w->grows[w->ngroups++] = (int64_t)n;
    }
    if (w->file.oom) {
        snprintf(err, errlen, "parquet: out of memory");
        goto fail;
    }
    w->rows += (int64_t)nrows;
    return 0;
fail:
    while (w->ngroups > g0) {
        w->ngroups--;
        for (size_t c = 0; c < w->ncols; c++)
            meta_free(&w->meta[w->ngroups * w->ncols + c]);
    }
    w->file.len = start;
    w->file.oom = false;
    if (w->file.p)
        w->file.p[start] = '\0';
    return -1;
}

int cp_pq_writer_add(cp_pq_writer *w, const cp_pq_value *cells, size_t nrows, char *err, size_t errlen)
{
    return writer_add(w, cells, NULL, nrows, err, errlen);
}

int cp_pq_writer_add_columns(cp_pq_writer *w, const cp_pq_value *const *columns, size_t nrows, char *err,
                             size_t errlen)
{
    return writer_add(w, NULL, columns, nrows, err, errlen);
}

int cp_pq_writer_finish(cp_pq_writer *w, cp_buf *out, char *err, size_t errlen)
{
    size_t entry = out->len;
    cp_buf_put(out, w->file.p ? w->file.p : "", w->file.len);
    size_t footer = out->len;
    tw t = {.b = out};
    tw_i32(&t, 1, 1);
    tw_list(&t, 2, T_STRUCT, w->ncols + 1);
    tw_elem(&t);
    tw_bin(&t, 4, "schema", 6);
    tw_i32(&t, 5, (int32_t)w->ncols);
    tw_end(&t);
    for (size_t c = 0; c < w->ncols; c++)
        write_schema_element(&t, &w->cols[c]);
    tw_i64(&t, 3, w->rows);
    tw_list(&t, 4, T_STRUCT, w->ngroups);
    for (size_t g = 0; g < w->ngroups; g++) {
        int64_t total = 0, ztotal = 0;
        tw_elem(&t);
        tw_list(&t, 1, T_STRUCT, w->ncols);
        for (size_t c = 0; c < w->ncols; c++) {
            const chunk_meta *m = &w->meta[g * w->ncols + c];
            const cp_pq_column *col = &w->cols[c];
            total += m->uncompressed;
            ztotal += m->compressed;
            tw_elem(&t); /* ColumnChunk */
            tw_i64(&t, 2, m->offset);
            tw_begin(&t, 3); /* ColumnMetaData */
            tw_i32(&t, 1, phys_type(col));
            tw_list(&t, 2, T_I32, m->dict || m->delta ? 3 : 2);
            put_varint(out, zigzag(ENC_PLAIN));
            put_varint(out, zigzag(ENC_RLE));
            if (m->dict)
                put_varint(out, zigzag(ENC_RLE_DICTIONARY));
            else if (m->delta)
                put_varint(out, zigzag(ENC_DELTA_BINARY_PACKED));
            tw_list(&t, 3, T_BINARY, 1);
            put_varint(out, strlen(col->name));
            cp_buf_puts(out, col->name);
            tw_i32(&t, 4, (int32_t)w->enc.opt.codec);
            tw_i64(&t, 5, m->nvalues);
            tw_i64(&t, 6, m->uncompressed);
            tw_i64(&t, 7, m->compressed);
            tw_i64(&t, 9, m->data_offset);
            if (m->dict)
                tw_i64(&t, 11, m->dict_offset);
            stats_write(&t, 12, &m->st);
            tw_end(&t);
            tw_end(&t);
        }
        tw_i64(&t, 2, total);
        tw_i64(&t, 3, w->grows[g]);
        tw_i64(&t, 5, w->meta[g * w->ncols].offset);
        tw_i64(&t, 6, ztotal);
        tw_end(&t);
    }
    tw_bin(&t, 6, "coinpipe", 8);
    cp_buf_putc(out, T_STOP);
    put_le32(out, (uint32_t)(out->len - footer));
    cp_buf_put(out, "PAR1", 4);
    if (out->oom) {
        snprintf(err, errlen, "parquet: out of memory");
        out->len = entry;
        out->oom = false;
        if (out->p)
            out->p[entry] = '\0';
        return -1;
    }
    return 0;
}

int cp_parquet_encode(const cp_pq_column *cols, size_t ncols, const cp_pq_value *cells, size_t nrows,
                      const cp_pq_options *opt, cp_buf *out, char *err, size_t errlen)
{
    cp_pq_writer *w = cp_pq_writer_new(cols, ncols, opt, err, errlen);
    if (!w)
        return -1;
    int rc = nrows ? cp_pq_writer_add(w, cells, nrows, err, errlen) : 0;
    if (rc == 0)
        rc = cp_pq_writer_finish(w, out, err, errlen);
    cp_pq_writer_free(w);
    return rc;
}

/* ---- footer check: a Thrift compact reader ---- */

typedef struct tr {
    const unsigned char *p, *end;
    int depth;
    bool bad;
} tr;

static uint64_t tr_varint(tr *r)
{
    uint64_t v = 0;
    for (int s = 0; s < 70; s += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t tr_zz(tr *r)
{
    uint64_t u = tr_varint(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static void tr_skip(tr *r, int type);

/* Reads a field header: its type (T_STOP at the end) and id. */
static int tr_field(tr *r, int16_t *last, int16_t *id)
{
    if (r->p >= r->end) {
        r->bad = true;
        return T_STOP;
    }
    unsigned char h = *r->p++;
    int type = h & 0x0f;
    if (type == T_STOP)
        return T_STOP;
    if (h >> 4)
        *id = (int16_t)(*last + (h >> 4));
    else
        *id = (int16_t)tr_zz(r);
    *last = *id;
    return type;
}

static void tr_list_header(tr *r, int *elem, uint64_t *n)
{
    if (r->p >= r->end) {
        r->bad = true;
        return;
    }
    unsigned char h = *r->p++;
    *elem = h & 0x0f;
    *n = h >> 4;
    if (*n == 15)
        *n = tr_varint(r);
    if (*n > (uint64_t)(r->end - r->p))
        r->bad = true; /* every element takes at least one byte (booleans: one each too) */
}

static void tr_skip(tr *r, int type)
{
    if (r->bad)
        return;
    if (++r->depth > 64) {
        r->bad = true;
        return;
    }
    switch (type) {
    case T_TRUE:
    case T_FALSE:
        break;
    case T_BYTE:
        if (r->p >= r->end)
            r->bad = true;
        else
            r->p++;
        break;
    case T_I16:
    case T_I32:
    case T_I64:
        tr_varint(r);
        break;
    case T_DOUBLE:
        if (r->end - r->p < 8)
            r->bad = true;
        else
            r->p += 8;
        break;
    case T_BINARY: {
        uint64_t n = tr_varint(r);
        if (n > (uint64_t)(r->end - r->p))
            r->bad = true;
        else
            r->p += n;
        break;
    }
    case T_LIST:
    case T_SET: {
        int elem = 0;
        uint64_t n = 0;
        tr_list_header(r, &elem, &n);
        for (uint64_t k = 0; k < n && !r->bad; k++) {
            if (elem == T_TRUE || elem == T_FALSE) {
                tr_skip(r, T_BYTE); /* list booleans are one byte each */
            } else {
                tr_skip(r, elem);
            }
        }
        break;
    }
    case T_MAP: {
        uint64_t n = tr_varint(r);
        if (n && !r->bad) {
            if (r->p >= r->end) {
                r->bad = true;
                break;
            }
            unsigned char kv = *r->p++;
            if (n > (uint64_t)(r->end - r->p))
                r->bad = true;
            for (uint64_t k = 0; k < n && !r->bad; k++) {
                tr_skip(r, kv >> 4);
                tr_skip(r, kv & 0x0f);
            }
        }
        break;
    }
    case T_STRUCT: {
        int16_t last = 0, id = 0;
        for (int t; !r->bad && (t = tr_field(r, &last, &id)) != T_STOP;)
            tr_skip(r, t);
        break;
    }
    default:
        r->bad = true;
    }
    r->depth--;
}

/* ColumnChunk: checks that the chunk (from dictionary_page_offset, else data_page_offset, for
 * total_compressed_size bytes) lies in [4, limit]. */
static void check_chunk(tr *r, int64_t limit, bool *bad_range)
{
    int16_t last = 0, id = 0;
    for (int t; !r->bad && (t = tr_field(r, &last, &id)) != T_STOP;) {
        if (id == 3 && t == T_STRUCT) {
            int16_t l2 = 0, i2 = 0;
            int64_t off = -1, size = -1, dpo = -1;
            for (int t2; !r->bad && (t2 = tr_field(r, &l2, &i2)) != T_STOP;) {
                if ((i2 == 9 || i2 == 7 || i2 == 11) && t2 == T_I64) {
                    int64_t v = tr_zz(r);
                    if (i2 == 9)
                        off = v;
                    else if (i2 == 11)
                        dpo = v;
                    else
                        size = v;
                } else {
                    tr_skip(r, t2);
                }
            }
            if (dpo >= 0 && (dpo > off || dpo < 4)) /* a dictionary page precedes the data pages */
                *bad_range = true;
            else if (dpo >= 0)
                off = dpo;
            if (off < 4 || size < 0 || off > limit || size > limit - off)
                *bad_range = true;
        } else {
            tr_skip(r, t);
        }
    }
}

int cp_parquet_check(const unsigned char *p, size_t len, int64_t *nrows, int64_t *ngroups, char *err,
                     size_t errlen)
{
    if (len < 12 || memcmp(p, "PAR1", 4) != 0 || memcmp(p + len - 4, "PAR1", 4) != 0) {
        snprintf(err, errlen, "parquet: no PAR1 magic at both ends");
        return -1;
    }
    uint32_t flen = (uint32_t)p[len - 8] | (uint32_t)p[len - 7] << 8 | (uint32_t)p[len - 6] << 16 |
                    (uint32_t)p[len - 5] << 24;
    if (flen > len - 12) {
        snprintf(err, errlen, "parquet: footer length %u exceeds the file", flen);
        return -1;
    }
    int64_t limit = (int64_t)(len - 8 - flen);
    tr r = {.p = p + limit, .end = p + len - 8};
    int16_t last = 0, id = 0;
    int64_t rows = -1, sum = 0, groups = 0;
    bool bad_range = false;
    for (int t; !r.bad && (t = tr_field(&r, &last, &id)) != T_STOP;) {
        if (id == 3 && t == T_I64) {
            rows = tr_zz(&r);
        } else if (id == 4 && t == T_LIST) {
            int elem = 0;
            uint64_t n = 0;
            tr_list_header(&r, &elem, &n);
            if (elem != T_STRUCT && n)
                r.bad = true;
            for (uint64_t g = 0; g < n && !r.bad; g++, groups++) {
                int16_t l2 = 0, i2 = 0;
                for (int t2; !r.bad && (t2 = tr_field(&r, &l2, &i2)) != T_STOP;) {
                    if (i2 == 3 && t2 == T_I64) {
                        sum += tr_zz(&r);
                    } else if (i2 == 1 && t2 == T_LIST) {
                        int e3 = 0;
                        uint64_t n3 = 0;
                        tr_list_header(&r, &e3, &n3);
                        if (e3 != T_STRUCT && n3)
                            r.bad = true;
                        for (uint64_t k = 0; k < n3 && !r.bad; k++)
                            check_chunk(&r, limit, &bad_range);
                    } else {
                        tr_skip(&r, t2);
                    }
                }
            }
        } else {
            tr_skip(&r, t);
        }
    }
    if (r.bad || r.p != r.end) {
        snprintf(err, errlen, "parquet: malformed FileMetaData at footer byte %td", r.p - (p + limit));
        return -1;
    }
    if (rows < 0 || rows != sum) {
        snprintf(err, errlen, "parquet: num_rows %lld but the row groups hold %lld", (long long)rows, (long long)sum);
        return -1;
    }
    if (bad_range) {
        snprintf(err, errlen, "parquet: a column chunk lies outside the file's data");
        return -1;
    }
    if (nrows)
        *nrows = rows;
    if (ngroups)
        *ngroups = groups;
    return 0;
}
