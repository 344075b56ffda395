/* Batch model: columnar rows of one stream with a copied schema, strings in one arena.
 * SPDX-License-Identifier: MIT
 */
#include "batch.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <coinpipe/schema.h>
#include <coinpipe/text.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cell {
    union {
        int64_t i;
        double d;
    } v;
    uint32_t off; /* text offset in the arena (STRING, DECIMAL) */
    uint32_t len; /* text length */
};

struct column {
    struct cell *cells;
    uint8_t *null;
};

struct cp_batch {
    atomic_int refs;
    cp_schema schema;     /* names point into `names` */
    cp_field *fields;
    char *names;
    size_t rows, cap;
    /* rows [clear_from, clear_to) are NULLs with zeroed cells: core_batch_add_row hands them out
     * in order. Whatever else writes cells writes below `rows` or reserves first (which forgets
     * the range), so a row added at or above clear_from within the range is still clear. */
    size_t clear_from, clear_to;
    struct column *cols;
    char *arena;
    size_t alen, acap;
};

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static bool valid_type(cp_type t) { return t >= CP_T_INT64 && t <= CP_T_BOOL; }

/* Field i of a schema built by anyone, in the core's layout: the array is walked in steps of
 * the schema's field_size (0 = ABI 2.0's) and no byte beyond it is read. */
static cp_field field_at(const cp_schema *schema, size_t i)
{
    size_t stride = schema->field_size ? schema->field_size : CP_FIELD_SIZE_2_0;
    cp_field f = {0};
    memcpy(&f, (const char *)schema->fields + i * stride, stride < sizeof f ? stride : sizeof f);
    return f;
}

cp_batch *core_batch_new(const cp_schema *schema, size_t rows_hint)
{
    if (!schema || !valid_name(schema->stream) || schema->nfields == 0 || !schema->fields)
        return NULL;
    if ((schema->size && schema->size < CP_SCHEMA_SIZE_2_0) ||
        (schema->field_size && schema->field_size < CP_FIELD_SIZE_2_0))
        return NULL; /* stamped smaller than ABI 2.0's: not a 2.x schema */
    size_t nlen = strlen(schema->stream) + 1;
    for (size_t i = 0; i < schema->nfields; i++) {
        cp_field f = field_at(schema, i);
        if (!valid_name(f.name) || !valid_type(f.type))
            return NULL;
        nlen += strlen(f.name) + 1;
    }
    cp_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->fields = calloc(schema->nfields, sizeof *b->fields);
    b->names = malloc(nlen);
    b->cols = calloc(schema->nfields, sizeof *b->cols);
    if (!b->fields || !b->names || !b->cols) {
        core_batch_unref(b);
        return NULL;
    }
    char *p = b->names;
    size_t l = strlen(schema->stream) + 1;
    memcpy(p, schema->stream, l);
    b->schema.stream = p;
    p += l;
    for (size_t i = 0; i < schema->nfields; i++) {
        b->fields[i] = field_at(schema, i);
        l = strlen(b->fields[i].name) + 1;
        memcpy(p, b->fields[i].name, l);
        b->fields[i].name = p;
        if (b->fields[i].flags & CP_FIELD_KEY)
            b->fields[i].flags &= ~CP_FIELD_NULLABLE;
        p += l;
    }
    b->schema.size = sizeof(cp_schema);
    b->schema.field_size = sizeof(cp_field);
    b->schema.nfields = schema->nfields;
    b->schema.fields = b->fields;
    if (rows_hint && core_batch_reserve(b, rows_hint) != CP_OK) {
        core_batch_unref(b);
        return NULL;
    }
    return b;
}

cp_status core_batch_reserve(cp_batch *b, size_t rows)
{
    b->clear_from = b->clear_to = 0; /* whoever reserves may write any row below the new cap */
    if (rows <= b->cap)
        return CP_OK;
    for (size_t c = 0; c < b->schema.nfields; c++) {
        struct cell *cells = realloc(b->cols[c].cells, rows * sizeof *cells);
        if (!cells)
            return CP_ERR_NOMEM;
        b->cols[c].cells = cells;
        uint8_t *nul = realloc(b->cols[c].null, rows);
        if (!nul)
            return CP_ERR_NOMEM;
        b->cols[c].null = nul;
    }
    b->cap = rows;
    return CP_OK;
}

void core_batch_ref(cp_batch *b)
{
    if (b)
        atomic_fetch_add(&b->refs, 1);
}

void core_batch_unref(cp_batch *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    if (b->cols)
        for (size_t c = 0; c < b->schema.nfields; c++) {
            free(b->cols[c].cells);
            free(b->cols[c].null);
        }
    free(b->cols);
    free(b->fields);
    free(b->names);
    free(b->arena);
    free(b);
}

cp_batch *core_batch_copy(const cp_batch *src)
{
    if (!src)
        return NULL;
    cp_batch *b = core_batch_new(&src->schema, src->rows);
    if (!b)
        return NULL;
    for (size_t c = 0; c < src->schema.nfields; c++) {
        if (src->rows) {
            memcpy(b->cols[c].cells, src->cols[c].cells, src->rows * sizeof(struct cell));
            memcpy(b->cols[c].null, src->cols[c].null, src->rows);
        }
    }
    if (src->alen) {
        b->arena = malloc(src->alen);
        if (!b->arena) {
            core_batch_unref(b);
            return NULL;
        }
        memcpy(b->arena, src->arena, src->alen);
        b->alen = b->acap = src->alen;
    }
    b->rows = src->rows;
    return b;
}

enum { FRESH_ROWS = 64 }; /* rows cleared at once by core_batch_add_row */

size_t core_batch_add_row(cp_batch *b)
{
    if (!b)
        return SIZE_MAX;
    if (b->rows == b->cap && core_batch_reserve(b, b->cap ? b->cap * 2 : 16) != CP_OK)
        return SIZE_MAX;
    size_t r = b->rows++;
    if (r >= b->clear_from && r < b->clear_to) {
        b->clear_from = r + 1;
        return r;
    }
    /* the next rows are cleared in blocks, one call per column, not cell by cell in each row */
    size_t n = b->cap - r < FRESH_ROWS ? b->cap - r : FRESH_ROWS;
    for (size_t c = 0; c < b->schema.nfields; c++) {
        memset(b->cols[c].null + r, 1, n);
        memset(b->cols[c].cells + r, 0, n * sizeof(struct cell));
    }
    b->clear_from = r + 1;
    b->clear_to = r + n;
    return r;
}

cp_status core_batch_fill_down(cp_batch *b, size_t col, size_t from, size_t to)
{
    if (!b || col >= b->schema.nfields || from >= to || to > b->rows)
        return CP_ERR_INVALID;
    struct column *c = &b->cols[col];
    const struct cell v = c->cells[from]; /* a text is shared, as set_string shares a repeated one */
    for (size_t r = from + 1; r < to; r++)
        c->cells[r] = v;
    memset(c->null + from + 1, c->null[from], to - from - 1);
    return CP_OK;
}

void core_batch_drop_last_row(cp_batch *b)
{
    if (b && b->rows)
        b->rows--; /* below clear_from: cleared again when added */
}

size_t core_batch_keep_rows(cp_batch *b, bool (*keep)(void *user, const cp_batch *b, size_t row), void *user)
{
    size_t out = 0;
    for (size_t r = 0; r < b->rows; r++) {
        if (!keep(user, b, r))
            continue;
        if (out != r)
            for (size_t c = 0; c < b->schema.nfields; c++) {
                b->cols[c].cells[out] = b->cols[c].cells[r];
                b->cols[c].null[out] = b->cols[c].null[r];
            }
        out++;
    }
    b->rows = out;
    return out;
}

static struct cell *cell_for(cp_batch *b, size_t row, size_t col, int t1, int t2)
{
    if (!b || row >= b->rows || col >= b->schema.nfields)
        return NULL;
    int t = (int)b->fields[col].type;
    if (t != t1 && t != t2)
        return NULL;
    return &b->cols[col].cells[row];
}

cp_status core_batch_set_int(cp_batch *b, size_t row, size_t col, int64_t v)
{
    struct cell *c = cell_for(b, row, col, CP_T_INT64, CP_T_TIMESTAMP);
    if (!c)
        return CP_ERR_INVALID;
    c->v.i = v;
    b->cols[col].null[row] = 0;
    return CP_OK;
}

cp_status core_batch_set_double(cp_batch *b, size_t row, size_t col, double v)
{
    struct cell *c = cell_for(b, row, col, CP_T_DOUBLE, CP_T_DOUBLE);
    if (!c)
        return CP_ERR_INVALID;
    c->v.d = v;
    b->cols[col].null[row] = isfinite(v) ? 0 : 1;
    return CP_OK;
}

cp_status core_batch_set_bool(cp_batch *b, size_t row, size_t col, bool v)
{
    struct cell *c = cell_for(b, row, col, CP_T_BOOL, CP_T_BOOL);
    if (!c)
        return CP_ERR_INVALID;
    c->v.i = v ? 1 : 0;
    b->cols[col].null[row] = 0;
    return CP_OK;
}

cp_status core_batch_set_null(cp_batch *b, size_t row, size_t col)
{
    if (!b || row >= b->rows || col >= b->schema.nfields)
        return CP_ERR_INVALID;
    b->cols[col].null[row] = 1;
    return CP_OK;
}

/* memcpy of a short text (most are: symbols, decimals) without a call: two overlapping moves */
static inline void copy_text(char *dst, const char *src, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, z;
        memcpy(&a, src, 8);
        memcpy(&z, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &z, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, z;
        memcpy(&a, src, 4);
        memcpy(&z, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &z, 4);
    } else {
        memcpy(dst, src, n);
    }
}

/* memcmp(a, b, n) == 0 for a short text without a call, the way copy_text moves it */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8), memcpy(&a1, a + n - 8, 8);
        memcpy(&b0, b, 8), memcpy(&b1, b + n - 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4), memcpy(&a1, a + n - 4, 4);
        memcpy(&b0, b, 4), memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n < 4) /* bytes 0, n / 2 and n - 1 are all of them */
        return n == 0 || ((a[0] ^ b[0]) | (a[n / 2] ^ b[n / 2]) | (a[n - 1] ^ b[n - 1])) == 0;
    return memcmp(a, b, n) == 0;
}

/* Room for `len` more bytes in the arena (its offsets stay below UINT32_MAX); false when there
 * is no memory or the arena would grow past that. */
static bool arena_room(cp_batch *b, size_t len)
{
    if (len >= UINT32_MAX / 2 || b->alen + len >= UINT32_MAX)
        return false;
    if (b->alen + len > b->acap) {
        size_t cap = b->acap ? b->acap * 2 : 256;
        while (cap < b->alen + len)
            cap *= 2;
        char *a = realloc(b->arena, cap);
        if (!a)
            return false;
        b->arena = a;
        b->acap = cap;
    }
    return true;
}

/* Appends text + NUL to the arena; returns the offset or UINT32_MAX. */
static uint32_t arena_put(cp_batch *b, const char *text, size_t len)
{
    if (!arena_room(b, len + 1))
        return UINT32_MAX;
    uint32_t off = (uint32_t)b->alen;
    if (len)
        memcpy(b->arena + off, text, len);
    b->arena[off + len] = '\0';
    b->alen += len + 1;
    return off;
}

/* Exact powers of ten as doubles: 10^22 is the largest one a double holds exactly. */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t pow10_u64[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

/* The run of digits that starts at p, at most 8 of them, read at once (8 bytes at p must be
 * readable): m becomes m * 10^n + their value; returns their number n. */
static inline unsigned digit_run8(const unsigned char *p, uint64_t *m)
{
    uint64_t v;
    unsigned n = cp_digits8(p, &v);
    *m = *m * pow10_u64[n] + v;
    return n;
}

/* The usual form of a decimal at p, 16 bytes readable: up to 7 digits, a point, up to 8 digits
 * ("43250.12000000"), no sign. At most 15 digits are below 2^53 whatever their zeros: one exact
 * division gives *d. Returns the byte after the last digit (whoever calls decides whether it
 * ends the decimal), NULL for any other form. */
static inline __attribute__((always_inline)) const unsigned char *usual_form(const unsigned char *p, double *d)
{
    uint64_t ip = 0, fp = 0;
    unsigned ni = digit_run8(p, &ip);
    if (ni >= 8 || p[ni] != '.')
        return NULL;
    unsigned nf = digit_run8(p + ni + 1, &fp);
    if (ni + nf == 0)
        return NULL;
    *d = (double)(ip * pow10_u64[nf] + fp) / pow10_exact[nf];
    return p + ni + 1 + nf;
}

/* The digits from p on, into m (m * 10^count + their value, wrapping past 19 of them); returns
 * where they end. */
static inline const unsigned char *digits(const unsigned char *p, const unsigned char *e, uint64_t *m)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (e - p >= 8) {
        unsigned n = digit_run8(p, m);
        p += n;
        if (n < 8)
            return p;
    }
#endif
    for (; p < e && (unsigned)(*p - '0') < 10; p++)
        *m = *m * 10 + (unsigned)(*p - '0');
    return p;
}

/* Reads a decimal at p, before e, as far as its grammar goes: [+-] digits [. digits] [eE [+-] digits],
 * at least one digit before the exponent. Returns where it stopped (the caller says whether
 * that is the end it wanted), NULL when what it read is not a decimal (no digit, an exponent
 * without one). With out, *out gets the double strtod gives for [p, stop), bit for bit; NULL
 * also when that needs memory that is not there (a text of 72 bytes or more). The bytes up to
 * r (r >= e) may be read; those from e to r, if any, are zeros. */
static inline __attribute__((always_inline)) const unsigned char *
decimal_scan(const unsigned char *p, const unsigned char *e, const unsigned char *r, double *out)
{
    const unsigned char *s = p;
    uint64_t m = 0; /* the significant digits (wraps when there are more than 19: strtod decides then) */
    int64_t exp = 0; /* value = m * 10^exp */
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(FLT_EVAL_METHOD) &&             \
    FLT_EVAL_METHOD == 0
    if (r - p >= 16) { /* the usual form first, ended by no digit and no exponent */
        double d;
        const unsigned char *q = usual_form(p, &d);
        if (q && (q == e || ((unsigned)(*q - '0') >= 10 && (*q | 0x20) != 'e'))) {
            if (out)
                *out = neg ? -d : d;
            return q;
        }
    }
#endif
    const unsigned char *start = p;
    while (p < e && *p == '0') /* leading zeros are not significant */
        p++;
    const unsigned char *sig0 = p;
    p = digits(p, e, &m);
    size_t sig = (size_t)(p - sig0), ndig = (size_t)(p - start);
    if (p < e && *p == '.') {
        const unsigned char *f0 = ++p;
        if (sig == 0) /* 0.000123: zeros after the point are not significant either */
            while (p < e && *p == '0')
                p++;
        const unsigned char *f1 = p;
        p = digits(p, e, &m); /* 0.50051097: the usual eight at once */
        sig += (size_t)(p - f1);
        ndig += (size_t)(p - f0);
        exp = -(int64_t)(p - f0);
    }
    if (!ndig)
        return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        bool eneg = false;
        if (++p < e && (*p == '-' || *p == '+'))
            eneg = *p++ == '-';
        const unsigned char *e0 = p;
        int64_t x = 0;
        for (; p < e && (unsigned)(*p - '0') < 10; p++)
            if (x < 100000) /* far beyond any double: strtod decides, the value only has to stay large */
                x = x * 10 + (*p - '0');
        if (p == e0)
            return NULL;
        exp += eneg ? -x : x;
    }
    if (!out)
        return p;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    /* Clinger's fast path: m and 10^|exp| are exact doubles, so one IEEE multiplication or
     * division rounds the exact value once, correctly, as strtod does. */
    if (sig <= 19 && m <= (UINT64_C(1) << 53) && exp >= -22 && exp <= 22) {
        double d = (double)m;
        d = exp < 0 ? d / pow10_exact[-exp] : d * pow10_exact[exp];
        *out = neg ? -d : d;
        return p;
    }
#endif
    size_t len = (size_t)(p - s);
    char buf[72], *tmp = len < sizeof buf ? buf : malloc(len + 1);
    if (!tmp)
        return NULL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *out = strtod(tmp, NULL);
    if (tmp != buf)
        free(tmp);
    return p;
}

bool core_decimal_parse(const char *s, size_t len, double *out)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len >= 16 || len < 4)
        return decimal_scan(p, p + len, p + len, out) == p + len;
    /* a short text is read from a copy followed by zeros: the usual form's 8-byte runs apply */
    unsigned char pad[72] = {0}; /* 72: what decimal_scan may copy for strtod, to the compiler */
    copy_text((char *)pad, s, len);
    return decimal_scan(pad, pad + len, pad + sizeof pad, out) == pad + len;
}

bool core_decimal_valid(const char *s, size_t len) { return core_decimal_parse(s, len, NULL); }

/* Stores a DECIMAL cell whose text (at most 64 bytes) and double are known good. */
static inline __attribute__((always_inline)) cp_status put_decimal(cp_batch *b, size_t row, size_t col,
                                                                   const char *text, size_t len, double d)
{
    uint32_t off;
    if (b->alen + len < b->acap && b->alen + len + 1 < UINT32_MAX) { /* room: the text copied inline */
        off = (uint32_t)b->alen;
        copy_text(b->arena + off, text, len);
        b->arena[off + len] = '\0';
        b->alen += len + 1;
    } else if ((off = arena_put(b, text, len)) == UINT32_MAX) {
        return CP_ERR_NOMEM;
    }
    struct cell *c = &b->cols[col].cells[row];
    c->v.d = d;
    c->off = off;
    c->len = (uint32_t)len;
    b->cols[col].null[row] = 0;
    return CP_OK;
}

cp_status core_batch_set_decimal(cp_batch *b, size_t row, size_t col, const char *text, size_t len)
{
    struct cell *c = cell_for(b, row, col, CP_T_DECIMAL, CP_T_DECIMAL);
    if (!c || !text)
        return CP_ERR_INVALID;
    double d;
    if (len > 64 || !core_decimal_parse(text, len, &d))
        return CP_ERR_PARSE;
    return put_decimal(b, row, col, text, len, d);
}

/* core_batch_set_decimal_until's every case (called when the usual form does not apply) */
static __attribute__((noinline)) cp_status set_decimal_until(cp_batch *b, size_t row, size_t col, const char *text,
                                                             size_t avail, char term, size_t *len, double *value)
{
    struct cell *c = cell_for(b, row, col, CP_T_DECIMAL, CP_T_DECIMAL);
    /* a term that can be part of a decimal (a digit, + - . e E) cannot end one: one mask test */
    const uint64_t in_decimal = (UINT64_C(0x3FF) << ('0' - 0x20)) | (UINT64_C(1) << ('.' - 0x20)) |
                                (UINT64_C(1) << ('+' - 0x20)) | (UINT64_C(1) << ('-' - 0x20));
    unsigned t = (unsigned char)term - 0x20u;
    if (!c || !text || !len || (t < 64 && ((in_decimal >> t) & 1)) || (term | 0x20) == 'e')
        return CP_ERR_INVALID;
    /* a decimal is at most 64 bytes: its end is among the first 65 */
    const unsigned char *p = (const unsigned char *)text, *e = p + (avail < 65 ? avail : 65);
    double d;
    const unsigned char *stop = decimal_scan(p, e, e, &d);
    if (!stop || stop == e || *stop != (unsigned char)term)
        return CP_ERR_PARSE;
    cp_status st = put_decimal(b, row, col, text, (size_t)(stop - p), d);
    if (st == CP_OK) {
        *len = (size_t)(stop - p);
        if (value)
            *value = d;
    }
    return st;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(FLT_EVAL_METHOD) &&             \
    FLT_EVAL_METHOD == 0
#define USUAL_DECIMAL 1
/* The usual form ("0.50051097", what decimal_scan reads first: no sign, up to 7 digits, a point,
 * up to 8 digits) at p, 17 bytes readable, ended by `term`: its length in *n and the value
 * decimal_scan gives in *d. False for anything else, which the general reading decides. */
static inline __attribute__((always_inline)) bool usual_decimal(const unsigned char *p, unsigned char term, size_t *n,
                                                                double *d)
{
    const unsigned char *q = usual_form(p, d);
    if (!q)
        return false;
    unsigned char t = *q;
    /* `t` ends the decimal (no digit, exponent, sign or point) and is `term` */
    if (t != term || (unsigned)(t - '0') < 10 || (t | 0x20) == 'e' || t == '.' || t == '+' || t == '-')
        return false;
    *n = (size_t)(q - p);
    return true;
}
#endif

cp_status core_batch_set_decimal_until(cp_batch *b, size_t row, size_t col, const char *text, size_t avail, char term,
                                       size_t *len, double *value)
{
#ifdef USUAL_DECIMAL
    /* the usual form into a good cell first, without the general checks and frame */
    size_t n;
    double d;
    if (avail >= 17 && text && b && row < b->rows && col < b->schema.nfields && b->fields[col].type == CP_T_DECIMAL &&
        len && usual_decimal((const unsigned char *)text, (unsigned char)term, &n, &d)) {
        cp_status st = put_decimal(b, row, col, text, n, d);
        if (st == CP_OK) {
            *len = n;
            if (value)
                *value = d;
        }
        return st;
    }
#endif
    return set_decimal_until(b, row, col, text, avail, term, len, value);
}

cp_status core_batch_set_json_elements(cp_batch *b, size_t row, const char *kinds, const size_t *cols, const char *text,
                                       size_t avail, size_t *len)
{
    if (!b || row >= b->rows || !kinds || !cols || !text || !len)
        return CP_ERR_INVALID;
    size_t n = strlen(kinds);
    if (n > 64)
        return CP_ERR_INVALID;
    if (!arena_room(b, n * 65)) /* every decimal's text and NUL, at once */
        return CP_ERR_NOMEM;
    const unsigned char *p = (const unsigned char *)text, *e = p + avail;
    for (size_t i = 0; i < n; i++) {
        size_t col = cols[i];
        int t = col < b->schema.nfields ? (int)b->fields[col].type : 0; /* 0: out of range */
        if (kinds[i] == 'i') {
            if (t != CP_T_INT64 && t != CP_T_TIMESTAMP)
                return CP_ERR_INVALID;
            int64_t v;
            if ((i && (p >= e || *p++ != ',')) ||
                !(p = (const unsigned char *)cp_json_uint((const char *)p, (const char *)e, &v)))
                return CP_ERR_PARSE;
            b->cols[col].cells[row].v.i = v;
            b->cols[col].null[row] = 0;
            continue;
        }
        if (kinds[i] != 'd' || t != CP_T_DECIMAL)
            return CP_ERR_INVALID;
        struct column *cl = &b->cols[col];
        if ((i && (p >= e || *p++ != ',')) || p >= e || *p++ != '"')
            return CP_ERR_PARSE;
        size_t dn = 0;
        double d;
#ifdef USUAL_DECIMAL
        if (e - p < 17 || !usual_decimal(p, '"', &dn, &d))
#endif
        {
            const unsigned char *lim = p + (e - p < 65 ? e - p : 65), *stop = decimal_scan(p, lim, lim, &d);
            if (!stop || stop == lim || *stop != '"' || !isfinite(d))
                return CP_ERR_PARSE;
            dn = (size_t)(stop - p);
        }
        uint32_t off = (uint32_t)b->alen; /* room made above */
        copy_text(b->arena + off, (const char *)p, dn);
        b->arena[off + dn] = '\0';
        b->alen += dn + 1;
        struct cell *c = &cl->cells[row];
        c->v.d = d;
        c->off = off;
        c->len = (uint32_t)dn;
        cl->null[row] = 0;
        p += dn + 1;
    }
    *len = (size_t)(p - (const unsigned char *)text);
    return CP_OK;
}

cp_status core_batch_set_string(cp_batch *b, size_t row, size_t col, const char *text, size_t len)
{
    struct cell *c = cell_for(b, row, col, CP_T_STRING, CP_T_STRING);
    if (!c || !text)
        return CP_ERR_INVALID;
    /* the same text as the row above (exchange, symbol, interval...): share it */
    const struct cell *up = row ? c - 1 : NULL;
    uint32_t off = up && !b->cols[col].null[row - 1] && up->len == len && same_bytes(b->arena + up->off, text, len)
                       ? up->off
                       : arena_put(b, text, len);
    if (off == UINT32_MAX)
        return CP_ERR_NOMEM;
    c = &b->cols[col].cells[row];
    c->off = off;
    c->len = (uint32_t)len;
    b->cols[col].null[row] = 0;
    return CP_OK;
}

cp_status core_batch_append(cp_batch *dst, const cp_batch *src)
{
    if (!dst || !src || dst->schema.nfields != src->schema.nfields)
        return CP_ERR_INVALID;
    for (size_t c = 0; c < dst->schema.nfields; c++)
        if (dst->fields[c].type != src->fields[c].type)
            return CP_ERR_INVALID;
    size_t n = src->rows, at = dst->rows;
    if (!n)
        return CP_OK;
    if (src->alen >= UINT32_MAX - dst->alen - 1)
        return CP_ERR_INVALID;
    size_t want = at + n; /* appended again and again: grow geometrically */
    if (want > dst->cap && want < dst->cap * 2)
        want = dst->cap * 2;
    if (core_batch_reserve(dst, want) != CP_OK)
        return CP_ERR_NOMEM;
    uint32_t base = (uint32_t)dst->alen;
    if (src->alen) { /* the text of every cell at once: offsets move by `base` */
        if (dst->alen + src->alen > dst->acap) {
            size_t cap = dst->acap ? dst->acap : 256;
            while (cap < dst->alen + src->alen)
                cap *= 2;
            char *a = realloc(dst->arena, cap);
            if (!a)
                return CP_ERR_NOMEM;
            dst->arena = a;
            dst->acap = cap;
        }
        memcpy(dst->arena + dst->alen, src->arena, src->alen);
        dst->alen += src->alen;
    }
    for (size_t c = 0; c < dst->schema.nfields; c++) {
        struct cell *cells = dst->cols[c].cells + at;
        memcpy(cells, src->cols[c].cells, n * sizeof *cells);
        memcpy(dst->cols[c].null + at, src->cols[c].null, n);
        if (dst->fields[c].type == CP_T_STRING || dst->fields[c].type == CP_T_DECIMAL)
            for (size_t r = 0; r < n; r++)
                cells[r].off += base;
    }
    dst->rows = at + n;
    return CP_OK;
}

void core_batch_compact(cp_batch *b)
{
    if (!b || b->acap <= b->alen + b->alen / 8 + 64)
        return;
    char *a = realloc(b->arena, b->alen ? b->alen : 1); /* shrinking: gives the slack of doubling back */
    if (a) {
        b->arena = a;
        b->acap = b->alen ? b->alen : 1;
    }
}

size_t core_batch_mem_bytes(const cp_batch *b)
{
    return b ? sizeof *b + b->cap * b->schema.nfields * (sizeof(struct cell) + 1) + b->acap : 0;
}

const cp_schema *core_batch_schema(const cp_batch *b) { return b ? &b->schema : NULL; }
size_t core_batch_rows(const cp_batch *b) { return b ? b->rows : 0; }

int core_batch_col(const cp_batch *b, const char *name)
{
    if (!b || !name)
        return -1;
    for (size_t i = 0; i < b->schema.nfields; i++)
        if (strcmp(b->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

bool core_batch_is_null(const cp_batch *b, size_t row, size_t col)
{
    if (!b || row >= b->rows || col >= b->schema.nfields)
        return true;
    return b->cols[col].null[row] != 0;
}

int64_t core_batch_get_int(const cp_batch *b, size_t row, size_t col)
{
    if (core_batch_is_null(b, row, col))
        return 0;
    const struct cell *c = &b->cols[col].cells[row];
    switch (b->fields[col].type) {
    case CP_T_INT64:
    case CP_T_TIMESTAMP:
    case CP_T_BOOL:
        return c->v.i;
    case CP_T_DOUBLE:
    case CP_T_DECIMAL: /* saturate: converting an out-of-range double is undefined behaviour */
        if (!(c->v.d == c->v.d))
            return 0;
        if (c->v.d >= 9223372036854775807.0)
            return INT64_MAX;
        if (c->v.d <= -9223372036854775808.0)
            return INT64_MIN;
        return (int64_t)c->v.d;
    default:
        return 0;
    }
}

double core_batch_get_double(const cp_batch *b, size_t row, size_t col)
{
    if (core_batch_is_null(b, row, col))
        return NAN;
    const struct cell *c = &b->cols[col].cells[row];
    switch (b->fields[col].type) {
    case CP_T_DOUBLE:
    case CP_T_DECIMAL:
        return c->v.d;
    case CP_T_INT64:
    case CP_T_TIMESTAMP:
    case CP_T_BOOL:
        return (double)c->v.i;
    default:
        return NAN;
    }
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return false;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

/* an integer in decimal at p, without printf (10^5 candles carry 4 each); returns the end */
static char *int_digits(char *p, int64_t v)
{
    if (v < 0)
        *p++ = '-';
    return cp_u64_digits(p, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

static void put_int(cp_buf *out, int64_t v)
{
    if (!cp_buf_reserve(out, 21))
        return;
    out->len = (size_t)(int_digits(out->p + out->len, v) - out->p);
    out->p[out->len] = '\0';
}

void core_batch_json_value(cp_buf *out, const cp_batch *b, size_t r, size_t c)
{
    if (core_batch_is_null(b, r, c)) {
        cp_buf_put(out, "null", 4);
        return;
    }
    const struct cell *x = &b->cols[c].cells[r];
    switch (b->fields[c].type) {
    case CP_T_INT64:
    case CP_T_TIMESTAMP: put_int(out, x->v.i); break;
    case CP_T_BOOL: cp_buf_puts(out, x->v.i ? "true" : "false"); break;
    case CP_T_STRING: core_util_json_string(out, b->arena + x->off, x->len); break;
    case CP_T_DECIMAL:
        if (json_number(b->arena + x->off, x->len)) {
            cp_buf_put(out, b->arena + x->off, x->len);
            break;
        }
        /* a text JSON cannot carry as a number: as its double */
        __attribute__((fallthrough));
    case CP_T_DOUBLE:
        if (isfinite(x->v.d))
            cp_buf_printf(out, "%.17g", x->v.d);
        else
            cp_buf_put(out, "null", 4);
        break;
    default: cp_buf_put(out, "null", 4);
    }
}

enum { KEY_COPY = 32 }; /* a key is copied this many bytes at a time (the surplus is overwritten) */

bool core_batch_json_rows(cp_buf *out, const cp_batch *b, size_t *count)
{
    size_t nf = b->schema.nfields, nrows = b->rows;
    if (!nrows)
        return !out->oom;
    /* per column: its key ("name": after a comma but in the first) and the JSON of the row above
     * when the column is a string shared with it (exchange, symbol, interval: copied, not escaped) */
    struct jcol {
        uint32_t key_at, key_len;
        const char *prev; /* the text the row above had, or NULL */
        size_t prev_at, prev_len;
    } *jc = calloc(nf, sizeof *jc);
    cp_buf keys = {0};
    size_t fixed = 4 + KEY_COPY; /* ",\n{" and "}" and the keys' surplus */
    for (size_t c = 0; jc && c < nf; c++) {
        jc[c].key_at = (uint32_t)keys.len;
        if (c)
            cp_buf_putc(&keys, ',');
        cp_buf_putc(&keys, '"');
        cp_buf_puts(&keys, b->fields[c].name); /* names are [a-z0-9_] (valid_name) */
        cp_buf_put(&keys, "\":", 2);
        jc[c].key_len = (uint32_t)(keys.len - jc[c].key_at);
        cp_type t = b->fields[c].type;
        fixed += jc[c].key_len + (t == CP_T_STRING ? 4 : 24); /* null; an int64 or a %.17g double fits 24 */
    }
    bool ok = jc && cp_buf_reserve(&keys, KEY_COPY) && !keys.oom;
    if (ok)
        memset(keys.p + keys.len, 0, KEY_COPY);
    for (size_t r = 0; ok && r < nrows; r++) {
        size_t need = fixed;
        for (size_t c = 0; c < nf; c++) { /* the texts' room: escaped strings up to 6 bytes a byte */
            cp_type t = b->fields[c].type;
            if ((t == CP_T_STRING || t == CP_T_DECIMAL) && !b->cols[c].null[r])
                need += t == CP_T_STRING ? 2 + 6 * (size_t)b->cols[c].cells[r].len : b->cols[c].cells[r].len;
        }
        if (!(ok = cp_buf_reserve(out, need)))
            break;
        char *p = out->p + out->len;
        if ((*count)++) {
            memcpy(p, ",\n{", 3);
            p += 3;
        } else {
            memcpy(p, "\n{", 2);
            p += 2;
        }
        for (size_t c = 0; c < nf; c++) {
            memcpy(p, keys.p + jc[c].key_at, KEY_COPY);
            if (jc[c].key_len > KEY_COPY)
                memcpy(p + KEY_COPY, keys.p + jc[c].key_at + KEY_COPY, jc[c].key_len - KEY_COPY);
            p += jc[c].key_len;
            const struct cell *x = &b->cols[c].cells[r];
            if (b->cols[c].null[r]) {
                memcpy(p, "null", 4);
                p += 4;
                jc[c].prev = NULL;
                continue;
            }
            switch (b->fields[c].type) {
            case CP_T_INT64:
            case CP_T_TIMESTAMP: p = int_digits(p, x->v.i); break;
            case CP_T_BOOL:
                memcpy(p, x->v.i ? "true" : "false", x->v.i ? 4 : 5);
                p += x->v.i ? 4 : 5;
                break;
            case CP_T_STRING: {
                const char *text = b->arena + x->off;
                if (text == jc[c].prev) { /* the row above's text (one arena text): its JSON again */
                    memcpy(p, out->p + jc[c].prev_at, jc[c].prev_len);
                    p += jc[c].prev_len;
                    break;
                }
                size_t mark = out->len = (size_t)(p - out->p); /* the escaper appends: room is reserved */
                core_util_json_string(out, text, x->len);
                jc[c].prev = text, jc[c].prev_at = mark, jc[c].prev_len = out->len - mark;
                p = out->p + out->len;
                break;
            }
            case CP_T_DECIMAL:
                if (json_number(b->arena + x->off, x->len)) {
                    memcpy(p, b->arena + x->off, x->len);
                    p += x->len;
                    break;
                }
                __attribute__((fallthrough)); /* a text JSON cannot carry as a number: its double */
            case CP_T_DOUBLE:
                if (isfinite(x->v.d))
                    p += snprintf(p, 25, "%.17g", x->v.d);
                else
                    memcpy(p, "null", 4), p += 4;
                break;
            default: memcpy(p, "null", 4), p += 4;
            }
        }
        *p++ = '}';
        out->len = (size_t)(p - out->p);
        out->p[out->len] = '\0';
    }
    cp_buf_free(&keys);
    free(jc);
    return ok && !out->oom;
}

const char *core_batch_get_text(const cp_batch *b, size_t row, size_t col, size_t *len)
{
    if (core_batch_is_null(b, row, col))
        return NULL;
    cp_type t = b->fields[col].type;
    if (t != CP_T_STRING && t != CP_T_DECIMAL)
        return NULL;
    const struct cell *c = &b->cols[col].cells[row];
    if (len)
        *len = c->len;
    return b->arena + c->off;
}

bool core_batch_get_bool(const cp_batch *b, size_t row, size_t col)
{
    return core_batch_get_int(b, row, col) != 0;
}

cp_status core_batch_column(const cp_batch *b, size_t col, cp_column *out)
{
    if (!b || !out || col >= b->schema.nfields || out->size < CP_COLUMN_SIZE_2_1)
        return CP_ERR_INVALID;
    const struct column *c = &b->cols[col];
    cp_type t = b->fields[col].type;
    bool text = t == CP_T_STRING || t == CP_T_DECIMAL, cells = c->cells != NULL; /* no cells before a first row */
    cp_column v = {
        .size = out->size < sizeof v ? out->size : sizeof v,
        .type = t,
        .rows = b->rows,
        .null = c->null,
        .values = cells && t != CP_T_STRING ? (const void *)&c->cells[0].v : NULL,
        .stride = sizeof(struct cell),
        .text = text ? (b->arena ? b->arena : "") : NULL,
        .text_off = cells && text ? &c->cells[0].off : NULL,
        .text_len = cells && text ? &c->cells[0].len : NULL,
    };
    memcpy(out, &v, v.size); /* no byte beyond the caller's size */
    return CP_OK;
}

/* ---- serialisation (spool records) -------------------------------------------------- */
/* Two layouts, told apart by their first bytes; integers little-endian.
 *
 * The compact one, written since the spool went smaller (a third of v1's bytes for candles):
 *   "CPB2", u16 stream_len, stream, u16 nfields, per field (u16 name_len, name, u8 type,
 *   u8 flags), u32 rows, then per column: u8 0 (no NULL) or 1 (rows null bytes follow, 0 or 1),
 *   then its non-null values:
 *     INT64, TIMESTAMP: u8 width (1, 2, 4 or 8), the first value (8 bytes), then per value
 *       `width` bytes of the zigzag coded difference to the one before: candle times a
 *       minute apart take 4 bytes, a received_at shared by the batch 1;
 *     BOOL: 1 byte (0 or 1); DOUBLE: 8 bytes;
 *     DECIMAL: varint length + text (the double is computed again from the text when read);
 *     STRING: varint 0 for the text of the row above (that row not NULL), else varint
 *       length + 1 + text: exchange, symbol, interval cost a byte a row.
 *   A varint is 7 bits a byte, least significant first, the high bit set on all but the last.
 *   Every column takes at least a byte a row (no width 0), so rows is bounded by the length.
 * v1, of earlier releases' spools (still read): u16 stream_len (below 256, never "CP"),
 *   stream, u16 nfields, the same fields, u32 rows, per column: rows null bytes, then the
 *   non-null values (INT64/TIMESTAMP/BOOL/DOUBLE: 8 bytes; DECIMAL: 8-byte double + u32 len +
 *   text; STRING: u32 len + text).
 * Every length is checked on the way back in (fuzz_batch_deserialize). */

#define FORMAT "CPB2"

#define PUT(w, v)                                                                                              \
    do {                                                                                                       \
        memcpy((w), &(v), sizeof(v));                                                                          \
        (w) += sizeof(v);                                                                                      \
    } while (0)

static inline char *put_varint(char *w, uint64_t v)
{
    while (v >= 0x80) {
        *w++ = (char)(v | 0x80);
        v >>= 7;
    }
    *w++ = (char)v;
    return w;
}

/* a signed difference as an unsigned number small when the difference is: 0, -1, 1, -2 ... */
static inline uint64_t zigzag(uint64_t d) { return (d << 1) ^ (0 - (d >> 63)); }
static inline uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

/* the `width` low bytes of v at w, little-endian; 8 bytes at w must be writable */
static inline char *put_le(char *w, uint64_t v, unsigned width)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w, &v, 8);
#else
    for (unsigned i = 0; i < 8; i++)
        w[i] = (char)(v >> (8 * i));
#endif
    return w + width;
}

/* The writer of a record: w in o's buffer, end its last byte (kept for the NUL). */
typedef struct wr {
    cp_buf *o;
    char *w, *end;
} wr;

/* makes room for n bytes at x->w (at least doubling the buffer); false when out of memory */
static bool grow(wr *x, size_t n)
{
    cp_buf *o = x->o;
    o->len = (size_t)(x->w - o->p);
    if (!cp_buf_reserve(o, n > o->cap ? n : o->cap))
        return false;
    x->w = o->p + o->len;
    x->end = o->p + o->cap - 1;
    return true;
}

static inline bool room(wr *x, size_t n) { return (size_t)(x->end - x->w) >= n || grow(x, n); }

/* An INT64/TIMESTAMP column's values: the width, the first value, then each difference to the
 * one before. */
static void put_ints(wr *x, const struct cell *cells, const uint8_t *nul, size_t rows)
{
    size_t r = 0;
    while (r < rows && nul[r])
        r++;
    uint64_t first = r < rows ? (uint64_t)cells[r].v.i : 0, prev = first, all = 0;
    for (size_t i = r + 1; i < rows; i++)
        if (!nul[i]) {
            all |= zigzag((uint64_t)cells[i].v.i - prev);
            prev = (uint64_t)cells[i].v.i;
        }
    unsigned width = all <= 0xFF ? 1 : all <= 0xFFFF ? 2 : all <= 0xFFFFFFFF ? 4 : 8;
    char *w = x->w;
    *w++ = (char)width;
    if (r == rows) {
        x->w = w;
        return;
    }
    w = put_le(w, first, 8);
    prev = first;
    for (size_t i = r + 1; i < rows; i++)
        if (!nul[i]) {
            w = put_le(w, zigzag((uint64_t)cells[i].v.i - prev), width);
            prev = (uint64_t)cells[i].v.i;
        }
    x->w = w;
}

/* a text's length as a varint at w: the usual one byte without a loop */
static inline char *put_len(char *w, uint64_t v)
{
    if (v < 0x80) {
        *w = (char)v;
        return w + 1;
    }
    return put_varint(w, v);
}

/* A DECIMAL or STRING column's values (a string the same as the row above's: one byte 0), the
 * room for all of them made once. */
static bool put_texts(wr *x, const cp_batch *b, size_t c)
{
    const struct cell *cells = b->cols[c].cells;
    const uint8_t *nul = b->cols[c].null;
    const char *arena = b->arena;
    size_t rows = b->rows, need = 0;
    for (size_t r = 0; r < rows; r++) /* each text and its length (a varint of 5 bytes at most); a
                                        * NULL cell's length counts too, the bound is all it is */
        need += (size_t)cells[r].len + 5;
    if (!room(x, need))
        return false;
    char *w = x->w;
    if (b->fields[c].type == CP_T_STRING) {
        for (size_t r = 0; r < rows; r++) {
            if (nul[r])
                continue;
            uint32_t len = cells[r].len, off = cells[r].off;
            if (r && !nul[r - 1] && cells[r - 1].len == len &&
                (cells[r - 1].off == off || same_bytes(arena + cells[r - 1].off, arena + off, len))) {
                *w++ = 0;
                continue;
            }
            w = put_len(w, (uint64_t)len + 1);
            copy_text(w, arena + off, len);
            w += len;
        }
    } else {
        for (size_t r = 0; r < rows; r++) {
            if (nul[r])
                continue;
            uint32_t len = cells[r].len;
            w = put_len(w, len);
            copy_text(w, arena + cells[r].off, len);
            w += len;
        }
    }
    x->w = w;
    return true;
}

/* Written column by column into the buffer (the spool's record), its type decided once; the
 * room is checked per column, and per text for the texts. */
cp_status core_batch_serialize(const cp_batch *b, cp_buf *o)
{
    size_t nf = b->schema.nfields, rows = b->rows;
    size_t head = 4 + 2 + strlen(b->schema.stream) + 2 + 4;
    for (size_t i = 0; i < nf; i++)
        head += 2 + strlen(b->fields[i].name) + 2;
    /* a guess that usually holds it all: a tenth of v1's candle bytes beyond */
    if (!cp_buf_reserve(o, head + rows * nf * 12))
        return CP_ERR_NOMEM;
    wr x = {o, o->p + o->len, o->p + o->cap - 1};
    char *w = x.w;
    uint16_t sl = (uint16_t)strlen(b->schema.stream), n16 = (uint16_t)nf;
    uint32_t rows32 = (uint32_t)rows;
    memcpy(w, FORMAT, 4);
    w += 4;
    PUT(w, sl);
    memcpy(w, b->schema.stream, sl);
    w += sl;
    PUT(w, n16);
    for (size_t i = 0; i < nf; i++) {
        uint16_t nl = (uint16_t)strlen(b->fields[i].name);
        PUT(w, nl);
        memcpy(w, b->fields[i].name, nl);
        w += nl;
        *w++ = (char)b->fields[i].type;
        *w++ = (char)b->fields[i].flags;
    }
    PUT(w, rows32);
    x.w = w;
    for (size_t c = 0; c < nf; c++) {
        const struct cell *cells = b->cols[c].cells;
        const uint8_t *nul = b->cols[c].null;
        cp_type t = b->fields[c].type;
        /* the mode, the null bytes, the width and up to 8 bytes a row (+ 8: put_le's store) */
        if (!room(&x, 2 + rows + rows * 8 + 8))
            return CP_ERR_NOMEM;
        bool any = rows && memchr(nul, 1, rows) != NULL;
        *x.w++ = (char)any;
        if (any) {
            memcpy(x.w, nul, rows);
            x.w += rows;
        }
        switch (t) {
        case CP_T_INT64:
        case CP_T_TIMESTAMP: put_ints(&x, cells, nul, rows); break;
        case CP_T_BOOL:
            for (size_t r = 0; r < rows; r++)
                if (!nul[r])
                    *x.w++ = (char)(cells[r].v.i != 0);
            break;
        case CP_T_DOUBLE:
            for (size_t r = 0; r < rows; r++)
                if (!nul[r])
                    PUT(x.w, cells[r].v.d);
            break;
        default:
            if (!put_texts(&x, b, c))
                return CP_ERR_NOMEM;
        }
    }
    o->len = (size_t)(x.w - o->p);
    o->p[o->len] = '\0';
    return CP_OK;
}
#undef PUT

typedef struct rd {
    const unsigned char *p;
    size_t left;
} rd;

static bool take(rd *r, void *out, size_t n)
{
    if (r->left < n)
        return false;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}

static bool get_varint(const unsigned char **pp, const unsigned char *end, uint64_t *out)
{
    const unsigned char *p = *pp;
    uint64_t v = 0;
    for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
        unsigned char c = *p++;
        v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return true;
        }
    }
    return false;
}

/* a column's null bytes (each 0 or 1) */
static bool take_nulls(rd *r, uint8_t *nul, size_t rows)
{
    if (rows && !take(r, nul, rows))
        return false;
    for (size_t i = 0; i < rows; i++)
        if (nul[i] > 1)
            return false;
    return true;
}

/* A text of the record at p (len bytes, checked to be there) into the arena, as cell cl's (a
 * short one copied without a call). */
static inline bool arena_take(cp_batch *b, struct cell *cl, const unsigned char *p, uint64_t len)
{
    if (b->alen + len + 1 > b->acap || b->alen + len + 1 >= UINT32_MAX)
        return false;
    copy_text(b->arena + b->alen, (const char *)p, (size_t)len);
    b->arena[b->alen + len] = '\0';
    cl->off = (uint32_t)b->alen;
    cl->len = (uint32_t)len;
    b->alen += len + 1;
    return true;
}

/* Column c of a v1 record: its null bytes, then its values (see the layout above). */
static bool read_column_v1(cp_batch *b, size_t c, rd *r, bool check_decimals)
{
    size_t rows = b->rows;
    uint8_t *nul = b->cols[c].null;
    struct cell *cells = b->cols[c].cells;
    cp_type t = b->fields[c].type;
    bool fixed = t != CP_T_STRING, text = t == CP_T_STRING || t == CP_T_DECIMAL;
    if (!take_nulls(r, nul, rows))
        return false;
    const unsigned char *p = r->p, *end = r->p + r->left;
    for (size_t i = 0; i < rows; i++) {
        struct cell *cl = &cells[i];
        *cl = (struct cell){0};
        if (nul[i])
            continue;
        if (fixed) {
            if (end - p < 8)
                return false;
            memcpy(&cl->v.i, p, 8);
            p += 8;
            if (t == CP_T_BOOL && cl->v.i != 0 && cl->v.i != 1)
                return false;
        }
        if (text) {
            uint32_t tl;
            if (end - p < 4)
                return false;
            memcpy(&tl, p, 4);
            p += 4;
            if (tl > (size_t)(end - p))
                return false;
            if (t == CP_T_DECIMAL && check_decimals && !core_decimal_valid((const char *)p, tl))
                return false;
            const struct cell *up = i ? cl - 1 : NULL; /* the row above's text, when the same */
            if (t == CP_T_STRING && up && !nul[i - 1] && up->len == tl && memcmp(b->arena + up->off, p, tl) == 0) {
                cl->off = up->off;
                cl->len = tl;
            } else if (!arena_take(b, cl, p, tl)) {
                return false;
            }
            p += tl;
        }
    }
    r->left -= (size_t)(p - r->p);
    r->p = p;
    return true;
}

/* The double of a record's DECIMAL text [p, p + len), as core_decimal_parse gives it (which
 * also checks the text), read in place: decimal_scan's 8-byte runs may read past the text into
 * the record's next bytes (up to end), and an answer that does not end exactly at the text's end
 * (digits of the next bytes taken in, or a stop inside it) is asked again of core_decimal_parse,
 * which reads a zero-padded copy. Saves that copy for the spool's usual decimals, two thirds of
 * the time the sink thread spends decoding a record read back. */
static inline bool record_decimal(const unsigned char *p, uint64_t len, const unsigned char *end, double *d)
{
    if (end - p > 16 && decimal_scan(p, p + len, end - 1, d) == p + len)
        return true;
    return core_decimal_parse((const char *)p, (size_t)len, d);
}

/* A varint at *pp (before end), the usual one-byte length without a call. */
static inline bool take_varint(const unsigned char **pp, const unsigned char *end, uint64_t *out)
{
    if (*pp < end && **pp < 0x80) {
        *out = *(*pp)++;
        return true;
    }
    return get_varint(pp, end, out);
}

/* the n (1, 2, 4 or 8) bytes at p, little-endian */
static inline uint64_t get_le(const unsigned char *p, unsigned n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint8_t v1;
    uint16_t v2;
    uint32_t v4;
    uint64_t v8;
    switch (n) {
    case 1: memcpy(&v1, p, 1); return v1;
    case 2: memcpy(&v2, p, 2); return v2;
    case 4: memcpy(&v4, p, 4); return v4;
    default: memcpy(&v8, p, 8); return v8;
    }
#else
    uint64_t k = 0;
    for (unsigned j = 0; j < n; j++)
        k |= (uint64_t)p[j] << (8 * j);
    return k;
#endif
}

/* Column c of a compact record (see the layout above), one loop per type; every DECIMAL's text
 * is parsed for its double, which also checks it. */
static bool read_column(cp_batch *b, size_t c, rd *r)
{
    size_t rows = b->rows;
    uint8_t *nul = b->cols[c].null;
    struct cell *cells = b->cols[c].cells;
    cp_type t = b->fields[c].type;
    uint8_t mode, width = 0;
    if (!take(r, &mode, 1) || mode > 1)
        return false;
    if (mode && !take_nulls(r, nul, rows))
        return false;
    if (!mode && rows)
        memset(nul, 0, rows);
    if ((t == CP_T_INT64 || t == CP_T_TIMESTAMP) &&
        (!take(r, &width, 1) || (width != 1 && width != 2 && width != 4 && width != 8)))
        return false;
    const unsigned char *p = r->p, *end = r->p + r->left;
    uint64_t k;
    if (rows) /* a NULL cell stays zeroed, the others are read below */
        memset(cells, 0, rows * sizeof *cells);
    switch (t) {
    case CP_T_INT64:
    case CP_T_TIMESTAMP: {
        uint64_t prev = 0;
        bool first = true; /* the first value is whole (8 bytes), the others differences */
        for (size_t i = 0; i < rows; i++) {
            if (nul[i])
                continue;
            unsigned n = first ? 8 : width;
            if ((size_t)(end - p) < n)
                return false;
            k = get_le(p, n);
            p += n;
            prev = first ? k : prev + unzigzag(k);
            first = false;
            cells[i].v.i = (int64_t)prev;
        }
        break;
    }
    case CP_T_BOOL:
        for (size_t i = 0; i < rows; i++) {
            if (nul[i])
                continue;
            if (p == end || *p > 1)
                return false;
            cells[i].v.i = *p++;
        }
        break;
    case CP_T_DOUBLE:
        for (size_t i = 0; i < rows; i++) {
            if (nul[i])
                continue;
            if (end - p < 8)
                return false;
            memcpy(&cells[i].v.d, p, 8);
            p += 8;
        }
        break;
    case CP_T_STRING:
        for (size_t i = 0; i < rows; i++) {
            struct cell *cl = &cells[i];
            if (nul[i])
                continue;
            if (!take_varint(&p, end, &k))
                return false;
            if (k == 0) { /* the row above's text */
                if (i == 0 || nul[i - 1])
                    return false;
                cl->off = cl[-1].off;
                cl->len = cl[-1].len;
                continue;
            }
            if (k - 1 > (size_t)(end - p) || !arena_take(b, cl, p, k - 1))
                return false;
            p += k - 1;
        }
        break;
    default: /* DECIMAL */
        for (size_t i = 0; i < rows; i++) {
            struct cell *cl = &cells[i];
            if (nul[i])
                continue;
            if (!take_varint(&p, end, &k) || k > (size_t)(end - p) || !record_decimal(p, k, end, &cl->v.d) ||
                !arena_take(b, cl, p, k))
                return false;
            p += k;
        }
    }
    r->left -= (size_t)(p - r->p);
    r->p = p;
    return true;
}

cp_status core_batch_deserialize(const void *data, size_t len, cp_batch **out)
{
    return core_batch_deserialize_checked(data, len, true, out);
}

cp_status core_batch_deserialize_checked(const void *data, size_t len, bool check_decimals, cp_batch **out)
{
    return core_batch_deserialize_into(data, len, check_decimals, NULL, out);
}

cp_status core_batch_deserialize_into(const void *data, size_t len, bool check_decimals, cp_batch *reuse,
                                      cp_batch **out)
{
    *out = NULL;
    rd r = {data, len};
    bool compact = len >= 4 && memcmp(data, FORMAT, 4) == 0;
    if (compact) {
        r.p += 4;
        r.left -= 4;
    }
    uint16_t sl, nf = 0;
    char stream[256];
    cp_field *fields = NULL;
    char (*names)[128] = NULL;
    cp_status st = CP_ERR_PARSE;
    cp_batch *b = NULL;
    if (!take(&r, &sl, 2) || sl == 0 || sl >= sizeof stream || !take(&r, stream, sl))
        goto out;
    stream[sl] = '\0';
    if (!take(&r, &nf, 2) || nf == 0 || nf > 1024)
        goto out;
    fields = calloc(nf, sizeof *fields);
    names = calloc(nf, sizeof *names);
    if (!fields || !names) {
        st = CP_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nf; i++) {
        uint16_t nl;
        uint8_t t, f;
        if (!take(&r, &nl, 2) || nl == 0 || nl >= sizeof names[i] || !take(&r, names[i], nl) || !take(&r, &t, 1) ||
            !take(&r, &f, 1))
            goto out;
        names[i][nl] = '\0';
        fields[i] = (cp_field){names[i], (cp_type)t, f};
    }
    cp_schema sc = {.stream = stream, .nfields = nf, .fields = fields, .field_size = sizeof(cp_field)};
    uint32_t rows;
    if (!take(&r, &rows, 4) || rows > r.left) /* every row takes at least a byte of every column */
        goto out;
    /* a batch read back before, of the same stream, is refilled: its pages are mapped already
     * (a new one of a megabyte or two is a page fault per 4 KiB on the sink's thread) */
    if (reuse && atomic_load(&reuse->refs) == 1 && cp_schema_equal(&reuse->schema, &sc) &&
        core_batch_reserve(reuse, rows) == CP_OK) {
        b = reuse;
        reuse = NULL;
    } else if (!(b = core_batch_new(&sc, rows))) {
        goto out; /* invalid names or types, or out of memory */
    }
    b->rows = rows; /* every cell is set below: a null one zeroed, the others read */
    /* the texts are what is left of the record at most: one allocation for all of them. A
     * text takes len + 1 bytes of the arena and at least 1 + len of the record: the arena
     * cannot overflow, its offsets stay below the record's length. One pass per column, the
     * cells read in place (a batch read back from the spool is a megabyte of them). */
    b->alen = 0;
    if (r.left + 1 > b->acap && r.left) {
        free(b->arena); /* what it held is not wanted: no realloc's copy */
        b->acap = (b->arena = malloc(r.left + 1)) ? r.left + 1 : 0;
        if (!b->arena) {
            st = CP_ERR_NOMEM;
            goto out;
        }
    }
    for (size_t c = 0; c < nf; c++)
        if (!(compact ? read_column(b, c, &r) : read_column_v1(b, c, &r, check_decimals)))
            goto out;
    if (r.left != 0)
        goto out;
    *out = b;
    b = NULL;
    st = CP_OK;
out:
    core_batch_unref(b);
    core_batch_unref(reuse);
    free(fields);
    free(names);
    return st;
}
