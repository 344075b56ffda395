/* The alert rules' expression language: a recursive-descent parser, exact decimal arithmetic
 * and the evaluator with its per-series histories (grammar and semantics in alerts_expr.h).
 * SPDX-License-Identifier: MIT
 */
#include "alerts_expr.h"

#include <coinpipe/streams.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64     /* nesting limit: a hostile expression cannot exhaust the stack */
#define MAX_HISTORY 4096 /* values a window function keeps per series */
#define MAX_SCALE 36

typedef enum {
    N_NUM, N_BOOL, N_COL, N_NEG, N_NOT, N_AND, N_OR, N_ADD, N_SUB, N_MUL, N_DIV,
    N_GT, N_GE, N_LT, N_LE, N_EQ, N_NE, N_CHANGE, N_ZSCORE, N_STALE, N_GAP, N_ABS, N_LATEST
} node_kind;

typedef struct node {
    node_kind kind;
    struct node *a, *b;
    ax_value v;        /* N_NUM, N_BOOL */
    int col;           /* N_COL */
    int64_t window_ms; /* N_CHANGE, N_ZSCORE (0 = by count), N_STALE */
    size_t window_n;   /* N_CHANGE, N_ZSCORE by count */
    size_t slot;       /* history slot of a window function */
    char *latest[6];   /* N_LATEST: stream, column, then up to 4 series values (NULL-terminated) */
} node;

struct ax_expr {
    node *root;
    char *stream;
    bool stale;
    size_t nslots;
};

/* ---- numbers ---------------------------------------------------------------------------- */

static const ax_i128 I128_MAX = (ax_i128)(((unsigned __int128)1 << 127) - 1);

static ax_value num_double(double d)
{
    ax_value v = {.kind = isnan(d) ? AX_NULL : AX_NUM, .d = d};
    return v;
}

bool ax_number(const char *s, size_t len, ax_value *v)
{
    size_t i = 0;
    bool neg = false, digits = false;
    ax_i128 m = 0;
    int scale = 0;
    bool overflow = false;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    bool frac = false;
    for (; i < len; i++) {
        if (s[i] == '.' && !frac) {
            frac = true;
            continue;
        }
        if (!isdigit((unsigned char)s[i]))
            break;
        digits = true;
        if (overflow || m > (I128_MAX - 9) / 10 || (frac && scale >= MAX_SCALE)) {
            overflow = true;
            continue;
        }
        m = m * 10 + (s[i] - '0');
        if (frac)
            scale++;
    }
    if (!digits)
        return false;
    long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        char buf[16];
        size_t n = len - i - 1;
        if (n == 0 || n >= sizeof buf)
            return false;
        memcpy(buf, s + i + 1, n);
        buf[n] = 0;
        char *end;
        exp = strtol(buf, &end, 10);
        if (*end || exp > 300 || exp < -300)
            return false;
        i = len;
    }
    if (i != len)
        return false;
    char text[128];
    if (len >= sizeof text)
        return false;
    memcpy(text, s, len);
    text[len] = 0;
    *v = (ax_value){.kind = AX_NUM, .d = strtod(text, NULL)};
    if (overflow)
        return true; /* double only */
    long sc = scale - exp;
    while (sc < 0 && m <= I128_MAX / 10) {
        m *= 10;
        sc++;
    }
    if (sc < 0 || sc > MAX_SCALE)
        return true;
    v->exact = true;
    v->m = neg ? -m : m;
    v->scale = (int)sc;
    return true;
}

/* Brings a and b to one scale; false on overflow. */
static bool align(ax_i128 *am, int as, ax_i128 *bm, int bs, int *scale)
{
    while (as < bs) {
        if (*am > I128_MAX / 10 || *am < -I128_MAX / 10)
            return false;
        *am *= 10;
        as++;
    }
    while (bs < as) {
        if (*bm > I128_MAX / 10 || *bm < -I128_MAX / 10)
            return false;
        *bm *= 10;
        bs++;
    }
    *scale = as;
    return true;
}

static ax_value arith(node_kind k, ax_value a, ax_value b)
{
    if (a.kind != AX_NUM || b.kind != AX_NUM)
        return (ax_value){.kind = AX_NULL};
    double d = k == N_ADD ? a.d + b.d : k == N_SUB ? a.d - b.d : k == N_MUL ? a.d * b.d : (b.d == 0 ? NAN : a.d / b.d);
    ax_value r = num_double(d);
    if (!a.exact || !b.exact || k == N_DIV || r.kind == AX_NULL)
        return r;
    ax_i128 am = a.m, bm = b.m;
    if (k == N_MUL) {
        if (a.scale + b.scale > MAX_SCALE)
            return r;
        if (am != 0 && (bm > I128_MAX / (am < 0 ? -am : am) || bm < -I128_MAX / (am < 0 ? -am : am)))
            return r;
        r.exact = true;
        r.m = am * bm;
        r.scale = a.scale + b.scale;
        return r;
    }
    int sc;
    if (!align(&am, a.scale, &bm, b.scale, &sc))
        return r;
    if ((am > 0 && bm > 0 && am > I128_MAX / 2) || (am < 0 && bm < 0 && am < -I128_MAX / 2) ||
        (bm > I128_MAX / 2 || bm < -I128_MAX / 2))
        return r;
    r.exact = true;
    r.m = k == N_ADD ? am + bm : am - bm;
    r.scale = sc;
    return r;
}

/* -1, 0, 1, or 2 when either side is NULL */
static int compare(ax_value a, ax_value b)
{
    if (a.kind == AX_NULL || b.kind == AX_NULL)
        return 2;
    if (a.kind == AX_BOOL || b.kind == AX_BOOL) {
        bool x = a.kind == AX_BOOL ? a.b : a.d != 0, y = b.kind == AX_BOOL ? b.b : b.d != 0;
        return x == y ? 0 : x ? 1 : -1;
    }
    if (a.exact && b.exact) {
        ax_i128 am = a.m, bm = b.m;
        int sc;
        if (align(&am, a.scale, &bm, b.scale, &sc))
            return am < bm ? -1 : am > bm ? 1 : 0;
    }
    return a.d < b.d ? -1 : a.d > b.d ? 1 : 0;
}

void ax_format(const ax_value *v, char *out, size_t len)
{
    if (!len)
        return;
    if (v->kind == AX_NULL) {
        out[0] = 0;
        return;
    }
    if (v->kind == AX_BOOL) {
        snprintf(out, len, "%s", v->b ? "true" : "false");
        return;
    }
    if (!v->exact) {
        snprintf(out, len, "%.17g", v->d);
        return;
    }
    char digits[64];
    size_t n = 0;
    unsigned __int128 u = v->m < 0 ? (unsigned __int128)(-(v->m + 1)) + 1 : (unsigned __int128)v->m;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u && n < sizeof digits);
    while (n <= (size_t)v->scale && n < sizeof digits)
        digits[n++] = '0';
    char buf[80];
    size_t k = 0;
    if (v->m < 0)
        buf[k++] = '-';
    for (size_t i = n; i > 0; i--) {
        buf[k++] = digits[i - 1];
        if (i - 1 == (size_t)v->scale && v->scale > 0)
            buf[k++] = '.';
    }
    buf[k] = 0;
    snprintf(out, len, "%s", buf);
}

bool ax_duration(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    double v = 0;
    bool any = false;
    while (i < len && isdigit((unsigned char)s[i])) {
        v = v * 10 + (s[i++] - '0');
        any = true;
        if (v > 1e12)
            return false;
    }
    if (!any)
        return false;
    const char *u = s + i;
    size_t ul = len - i;
    double mult;
    if (ul == 2 && memcmp(u, "ms", 2) == 0)
        mult = 1;
    else if (ul == 1 && *u == 's')
        mult = 1000;
    else if (ul == 1 && *u == 'm')
        mult = 60000;
    else if (ul == 1 && *u == 'h')
        mult = 3600000;
    else if (ul == 1 && *u == 'd')
        mult = 86400000;
    else
        return false;
    *ms = (int64_t)(v * mult);
    return true;
}

/* ---- parser ----------------------------------------------------------------------------- */

typedef struct parser {
    const char *s;
    size_t pos, len;
    int depth;
    int (*lookup)(void *user, const char *stream, const char *column, bool *decimal);
    void *user;
    ax_expr *e;
    char *err;
    size_t errlen;
    size_t at;
    bool failed;
} parser;

static void parse_error(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void parse_error(parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    p->at = at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
}

static bool accept(parser *p, const char *tok)
{
    skip_ws(p);
    size_t n = strlen(tok);
    if (p->pos + n > p->len || memcmp(p->s + p->pos, tok, n) != 0)
        return false;
    if (isalpha((unsigned char)tok[0]) && p->pos + n < p->len &&
        (isalnum((unsigned char)p->s[p->pos + n]) || p->s[p->pos + n] == '_'))
        return false;
    p->pos += n;
    return true;
}

static size_t ident(parser *p, char *out, size_t outlen)
{
    skip_ws(p);
    size_t start = p->pos;
    while (p->pos < p->len && (isalnum((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_'))
        p->pos++;
    size_t n = p->pos - start;
    if (n == 0 || n >= outlen || isdigit((unsigned char)p->s[start])) {
        p->pos = start;
        return 0;
    }
    memcpy(out, p->s + start, n);
    out[n] = 0;
    return n;
}

static node *mk(parser *p, node_kind k, node *a, node *b)
{
    node *n = calloc(1, sizeof *n);
    if (!n) {
        parse_error(p, p->pos, "out of memory");
        return NULL;
    }
    n->kind = k;
    n->a = a;
    n->b = b;
    return n;
}

static void node_free(node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    for (size_t i = 0; i < 6; i++)
        free(n->latest[i]);
    free(n);
}

static node *parse_or(parser *p);

/* Records the stream a rule reads; a second stream is an error. */
static bool use_stream(parser *p, const char *stream, size_t at)
{
    if (!p->e->stream) {
        p->e->stream = strdup(stream);
        if (!p->e->stream) {
            parse_error(p, at, "out of memory");
            return false;
        }
        return true;
    }
    if (strcmp(p->e->stream, stream) != 0) {
        parse_error(p, at, "a rule reads one stream, but this one reads '%s' and '%s'", p->e->stream, stream);
        return false;
    }
    return true;
}

static node *parse_column(parser *p, size_t at)
{
    char stream[64], col[64];
    if (!ident(p, stream, sizeof stream)) {
        parse_error(p, at, "expected a column such as ticker.last");
        return NULL;
    }
    if (!accept(p, ".")) {
        parse_error(p, at, "expected STREAM.COLUMN (e.g. ticker.last), got '%s'", stream);
        return NULL;
    }
    size_t cat = p->pos;
    skip_ws(p);
    cat = p->pos;
    if (!ident(p, col, sizeof col)) {
        parse_error(p, cat, "expected a column name after '%s.'", stream);
        return NULL;
    }
    bool dec = false;
    int idx = p->lookup(p->user, stream, col, &dec);
    if (idx == -2) {
        parse_error(p, at, "unknown stream '%s'", stream);
        return NULL;
    }
    if (idx < 0) {
        parse_error(p, cat, "unknown column '%s' of stream '%s'", col, stream);
        return NULL;
    }
    if (!use_stream(p, stream, at))
        return NULL;
    node *n = mk(p, N_COL, NULL, NULL);
    if (n)
        n->col = idx;
    return n;
}

/* a window argument: a duration or a row count */
static bool parse_window(parser *p, node *n, bool count_ok)
{
    skip_ws(p);
    size_t start = p->pos;
    while (p->pos < p->len && isalnum((unsigned char)p->s[p->pos]))
        p->pos++;
    const char *t = p->s + start;
    size_t tl = p->pos - start;
    int64_t ms;
    if (tl && ax_duration(t, tl, &ms) && ms > 0) {
        n->window_ms = ms;
        return true;
    }
    if (count_ok && tl && tl < 7) {
        size_t v = 0, i = 0;
        for (; i < tl && isdigit((unsigned char)t[i]); i++)
            v = v * 10 + (size_t)(t[i] - '0');
        if (i == tl && v >= 2 && v <= MAX_HISTORY) {
            n->window_n = v;
            return true;
        }
    }
    if (count_ok)
        parse_error(p, start, "expected a window: a duration such as 1h or 30m, or a row count from 2 to %d", MAX_HISTORY);
    else
        parse_error(p, start, "expected a duration such as 3m");
    return false;
}

/* latest(STREAM.COLUMN, "v1", ...): another pipeline's newest value */
static node *parse_latest(parser *p, size_t at)
{
    node *n = mk(p, N_LATEST, NULL, NULL);
    if (!n)
        return NULL;
    char stream[64], col[64];
    skip_ws(p);
    size_t cat = p->pos;
    bool dec;
    if (!ident(p, stream, sizeof stream) || !accept(p, ".") || (skip_ws(p), !ident(p, col, sizeof col))) {
        parse_error(p, cat, "latest() takes STREAM.COLUMN first: latest(ticker.last, \"coinbase\", \"BTC-USD\")");
        goto bad;
    }
    int idx = p->lookup(p->user, stream, col, &dec);
    if (idx < 0) {
        parse_error(p, cat, idx == -2 ? "unknown stream '%s'" : "unknown column '%s.%s'", stream, col);
        goto bad;
    }
    n->latest[0] = strdup(stream);
    n->latest[1] = strdup(col);
    size_t nv = 0;
    while (accept(p, ",")) {
        skip_ws(p);
        size_t sat = p->pos;
        if (nv == 4 || p->pos >= p->len || p->s[p->pos] != '"') {
            parse_error(p, sat, nv == 4 ? "latest() takes at most 4 series values" : "expected a \"quoted\" series value");
            goto bad;
        }
        const char *end = memchr(p->s + p->pos + 1, '"', p->len - p->pos - 1);
        if (!end) {
            parse_error(p, sat, "unterminated string");
            goto bad;
        }
        n->latest[2 + nv++] = strndup(p->s + p->pos + 1, (size_t)(end - p->s - p->pos - 1));
        p->pos = (size_t)(end - p->s) + 1;
    }
    if (!nv) {
        parse_error(p, p->pos, "latest() needs the series, e.g. latest(ticker.last, \"coinbase\", \"BTC-USD\")");
        goto bad;
    }
    for (size_t i = 0; i < 2 + nv; i++)
        if (!n->latest[i]) {
            parse_error(p, at, "out of memory");
            goto bad;
        }
    if (!accept(p, ")")) {
        parse_error(p, p->pos, "expected ')' to close latest(");
        goto bad;
    }
    return n;
bad:
    node_free(n);
    return NULL;
}

static node *parse_call(parser *p, const char *fn, size_t at)
{
    node_kind k;
    if (strcmp(fn, "change_pct") == 0)
        k = N_CHANGE;
    else if (strcmp(fn, "zscore") == 0)
        k = N_ZSCORE;
    else if (strcmp(fn, "stale") == 0)
        k = N_STALE;
    else if (strcmp(fn, "candle_gap") == 0)
        k = N_GAP;
    else if (strcmp(fn, "abs") == 0)
        k = N_ABS;
    else if (strcmp(fn, "latest") == 0)
        return parse_latest(p, at);
    else {
        parse_error(p, at, "unknown function '%s' (known: change_pct, zscore, stale, candle_gap, abs, latest)", fn);
        return NULL;
    }
    node *n = mk(p, k, NULL, NULL);
    if (!n)
        return NULL;
    if (k == N_STALE || k == N_GAP) {
        skip_ws(p);
        size_t sat = p->pos;
        char stream[64];
        if (!ident(p, stream, sizeof stream)) {
            parse_error(p, sat, "%s() takes a stream name first", fn);
            goto bad;
        }
        bool dec;
        if (p->lookup(p->user, stream, "", &dec) == -2) {
            parse_error(p, sat, "unknown stream '%s'", stream);
            goto bad;
        }
        if (k == N_GAP && strcmp(stream, "ohlcv") != 0) {
            parse_error(p, sat, "candle_gap() reads the ohlcv stream, not '%s'", stream);
            goto bad;
        }
        if (!use_stream(p, stream, sat))
            goto bad;
        if (k == N_STALE) {
            if (!accept(p, ",")) {
                parse_error(p, p->pos, "stale() takes a stream and a duration: stale(ticker, 3m)");
                goto bad;
            }
            if (!parse_window(p, n, false))
                goto bad;
            p->e->stale = true;
        }
    } else {
        n->a = parse_or(p);
        if (!n->a)
            goto bad;
        if (k != N_ABS) {
            if (!accept(p, ",")) {
                parse_error(p, p->pos, "%s() takes a column and a window: %s(ticker.last, 1h)", fn, fn);
                goto bad;
            }
            if (!parse_window(p, n, true))
                goto bad;
            n->slot = p->e->nslots++;
        }
    }
    if (!accept(p, ")")) {
        parse_error(p, p->pos, "expected ')' to close %s(", fn);
        goto bad;
    }
    return n;
bad:
    node_free(n);
    return NULL;
}

static node *parse_atom(parser *p)
{
    skip_ws(p);
    size_t at = p->pos;
    if (p->pos >= p->len) {
        parse_error(p, at, "unexpected end of expression");
        return NULL;
    }
    if (accept(p, "(")) {
        node *n = parse_or(p);
        if (n && !accept(p, ")")) {
            parse_error(p, p->pos, "expected ')'");
            node_free(n);
            return NULL;
        }
        return n;
    }
    char c = p->s[p->pos];
    if (isdigit((unsigned char)c) || c == '.') {
        size_t start = p->pos;
        while (p->pos < p->len && (isdigit((unsigned char)p->s[p->pos]) || p->s[p->pos] == '.'))
            p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
            size_t save = p->pos++;
            if (p->pos < p->len && (p->s[p->pos] == '-' || p->s[p->pos] == '+'))
                p->pos++;
            if (p->pos < p->len && isdigit((unsigned char)p->s[p->pos])) {
                while (p->pos < p->len && isdigit((unsigned char)p->s[p->pos]))
                    p->pos++;
            } else {
                p->pos = save;
            }
        }
        ax_value v;
        if (!ax_number(p->s + start, p->pos - start, &v)) {
            parse_error(p, start, "'%.*s' is not a number", (int)(p->pos - start), p->s + start);
            return NULL;
        }
        node *n = mk(p, N_NUM, NULL, NULL);
        if (n)
            n->v = v;
        return n;
    }
    if (accept(p, "true") || accept(p, "false")) {
        node *n = mk(p, N_BOOL, NULL, NULL);
        if (n)
            n->v = (ax_value){.kind = AX_BOOL, .b = p->s[at] == 't'};
        return n;
    }
    char name[64];
    if (!ident(p, name, sizeof name)) {
        parse_error(p, at, "unexpected '%c'", c);
        return NULL;
    }
    if (accept(p, "("))
        return parse_call(p, name, at);
    p->pos = at;
    return parse_column(p, at);
}

static node *parse_unary(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        parse_error(p, p->pos, "expression nested too deeply");
        return NULL;
    }
    node *n;
    if (accept(p, "-")) {
        node *a = parse_unary(p);
        n = a ? mk(p, N_NEG, a, NULL) : NULL;
        if (a && !n)
            node_free(a);
    } else {
        n = parse_atom(p);
    }
    p->depth--;
    return n;
}

static node *binary(parser *p, node *a, node_kind k, node *(*next)(parser *))
{
    node *b = next(p);
    if (!b) {
        node_free(a);
        return NULL;
    }
    node *n = mk(p, k, a, b);
    if (!n) {
        node_free(a);
        node_free(b);
    }
    return n;
}

static node *parse_prod(parser *p)
{
    node *n = parse_unary(p);
    while (n) {
        if (accept(p, "*"))
            n = binary(p, n, N_MUL, parse_unary);
        else if (accept(p, "/"))
            n = binary(p, n, N_DIV, parse_unary);
        else
            break;
    }
    return n;
}

static node *parse_sum(parser *p)
{
    node *n = parse_prod(p);
    while (n) {
        if (accept(p, "+"))
            n = binary(p, n, N_ADD, parse_prod);
        else if (accept(p, "-"))
            n = binary(p, n, N_SUB, parse_prod);
        else
            break;
    }
    return n;
}

static node *parse_cmp(parser *p)
{
    node *n = parse_sum(p);
    if (!n)
        return NULL;
    static const struct {
        const char *tok;
        node_kind k;
    } ops[] = {{">=", N_GE}, {"<=", N_LE}, {"==", N_EQ}, {"!=", N_NE}, {">", N_GT}, {"<", N_LT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (accept(p, ops[i].tok))
            return binary(p, n, ops[i].k, parse_sum);
    return n;
}

static node *parse_not(parser *p)
{
    if (accept(p, "not") || accept(p, "!")) {
        if (++p->depth > MAX_DEPTH) {
            parse_error(p, p->pos, "expression nested too deeply");
            return NULL;
        }
        node *a = parse_not(p);
        p->depth--;
        node *n = a ? mk(p, N_NOT, a, NULL) : NULL;
        if (a && !n)
            node_free(a);
        return n;
    }
    return parse_cmp(p);
}

static node *parse_and(parser *p)
{
    node *n = parse_not(p);
    while (n && (accept(p, "and") || accept(p, "&&")))
        n = binary(p, n, N_AND, parse_not);
    return n;
}

static node *parse_or(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        parse_error(p, p->pos, "expression nested too deeply");
        return NULL;
    }
    node *n = parse_and(p);
    while (n && (accept(p, "or") || accept(p, "||")))
        n = binary(p, n, N_OR, parse_and);
    p->depth--;
    return n;
}

ax_expr *ax_parse(const char *text, int (*lookup)(void *user, const char *stream, const char *column, bool *decimal),
                  void *user, char *err, size_t errlen, size_t *at)
{
    ax_expr *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        *at = 0;
        return NULL;
    }
    parser p = {.s = text, .len = strlen(text), .lookup = lookup, .user = user, .e = e, .err = err,
                .errlen = errlen};
    e->root = parse_or(&p);
    skip_ws(&p);
    if (e->root && p.pos < p.len)
        parse_error(&p, p.pos, "unexpected '%.*s' after the expression", (int)(p.len - p.pos > 16 ? 16 : p.len - p.pos),
             p.s + p.pos);
    if (!p.failed && !e->stream)
        parse_error(&p, 0, "the rule reads no column (name one such as ticker.last, or stale(ticker, 3m))");
    if (p.failed || !e->root) {
        if (!p.failed)
            parse_error(&p, p.pos, "invalid expression");
        *at = p.at;
        ax_free(e);
        return NULL;
    }
    return e;
}

int ax_catalog_lookup(void *user, const char *stream, const char *column, bool *decimal)
{
    (void)user;
    const cp_schema *s = cp_stream_find(stream);
    if (!s)
        return -2;
    for (size_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, column) == 0) {
            *decimal = s->fields[i].type == CP_T_DECIMAL;
            return (int)i;
        }
    return -1;
}

void ax_free(ax_expr *e)
{
    if (!e)
        return;
    node_free(e->root);
    free(e->stream);
    free(e);
}

const char *ax_stream(const ax_expr *e) { return e->stream; }
bool ax_uses_stale(const ax_expr *e) { return e->stale; }

/* ---- evaluation ------------------------------------------------------------------------- */

typedef struct sample {
    int64_t ts;
    double v;
} sample;

typedef struct ring {
    sample *s;
    size_t cap, head, n; /* oldest at head */
} ring;

static sample *ring_at(ring *r, size_t i) { return &r->s[(r->head + i) % r->cap]; }

static void ring_push(ring *r, int64_t ts, double v)
{
    if (!r->cap) {
        r->s = malloc(64 * sizeof *r->s);
        if (!r->s)
            return;
        r->cap = 64;
    }
    if (r->n == r->cap) {
        if (r->cap < MAX_HISTORY) {
            sample *ns = malloc(r->cap * 2 * sizeof *ns);
            if (!ns)
                return;
            for (size_t i = 0; i < r->n; i++)
                ns[i] = *ring_at(r, i);
            free(r->s);
            r->s = ns;
            r->head = 0;
            r->cap *= 2;
        } else {
            r->head = (r->head + 1) % r->cap;
            r->n--;
        }
    }
    r->s[(r->head + r->n) % r->cap] = (sample){ts, v};
    r->n++;
}

static void ring_trim(ring *r, const node *n, int64_t now)
{
    while (r->n && ((n->window_n && r->n > n->window_n) || (n->window_ms && ring_at(r, 0)->ts < now - n->window_ms))) {
        r->head = (r->head + 1) % r->cap;
        r->n--;
    }
}

typedef struct evalctx {
    const ax_row *row;
    ring *rings;
    bool advance;
} evalctx;

static ax_value truth(bool b) { return (ax_value){.kind = AX_BOOL, .b = b}; }

static int as_bool(ax_value v) /* 1, 0, -1 for NULL */
{
    if (v.kind == AX_NULL)
        return -1;
    return v.kind == AX_BOOL ? v.b : v.d != 0;
}

static ax_value eval(const node *n, evalctx *c)
{
    switch (n->kind) {
    case N_NUM:
    case N_BOOL: return n->v;
    case N_COL: return c->row->column(c->row->user, n->col);
    case N_NEG: {
        ax_value a = eval(n->a, c);
        if (a.kind != AX_NUM)
            return (ax_value){.kind = AX_NULL};
        a.d = -a.d;
        a.m = -a.m;
        return a;
    }
    case N_ABS: {
        ax_value a = eval(n->a, c);
        if (a.kind != AX_NUM)
            return (ax_value){.kind = AX_NULL};
        a.d = fabs(a.d);
        if (a.m < 0)
            a.m = -a.m;
        return a;
    }
    case N_NOT: {
        int a = as_bool(eval(n->a, c));
        return a < 0 ? (ax_value){.kind = AX_NULL} : truth(!a);
    }
    case N_AND: {
        int a = as_bool(eval(n->a, c)), b = as_bool(eval(n->b, c));
        if (a == 0 || b == 0)
            return truth(false);
        return a < 0 || b < 0 ? (ax_value){.kind = AX_NULL} : truth(true);
    }
    case N_OR: {
        int a = as_bool(eval(n->a, c)), b = as_bool(eval(n->b, c));
        if (a == 1 || b == 1)
            return truth(true);
        return a < 0 || b < 0 ? (ax_value){.kind = AX_NULL} : truth(false);
    }
    case N_ADD:
    case N_SUB:
    case N_MUL:
    case N_DIV: return arith(n->kind, eval(n->a, c), eval(n->b, c));
    case N_GT:
    case N_GE:
    case N_LT:
    case N_LE:
    case N_EQ:
    case N_NE: {
        int r = compare(eval(n->a, c), eval(n->b, c));
        if (r == 2)
            return (ax_value){.kind = AX_NULL};
        bool b = n->kind == N_GT ? r > 0 : n->kind == N_GE ? r >= 0 : n->kind == N_LT ? r < 0
               : n->kind == N_LE ? r <= 0 : n->kind == N_EQ ? r == 0 : r != 0;
        return truth(b);
    }
    case N_CHANGE:
    case N_ZSCORE: {
        ax_value a = eval(n->a, c);
        ring *r = c->rings ? &c->rings[n->slot] : NULL;
        if (!r)
            return (ax_value){.kind = AX_NULL};
        int64_t now = c->row->row_ts;
        ax_value out = {.kind = AX_NULL};
        if (n->kind == N_CHANGE) {
            if (a.kind == AX_NUM) {
                if (c->advance)
                    ring_push(r, now, a.d);
                ring_trim(r, n, now);
                if (r->n >= 2 && ring_at(r, 0)->v != 0)
                    out = num_double((a.d - ring_at(r, 0)->v) / ring_at(r, 0)->v * 100.0);
            }
            return out;
        }
        /* zscore against the window before this value */
        if (a.kind == AX_NUM) {
            ring_trim(r, n, now);
            if (r->n >= 2) {
                double sum = 0, sq = 0;
                for (size_t i = 0; i < r->n; i++)
                    sum += ring_at(r, i)->v;
                double mean = sum / (double)r->n;
                for (size_t i = 0; i < r->n; i++)
                    sq += (ring_at(r, i)->v - mean) * (ring_at(r, i)->v - mean);
                double sd = sqrt(sq / (double)r->n);
                if (sd > 0)
                    out = num_double((a.d - mean) / sd);
            }
            if (c->advance) {
                ring_push(r, now, a.d);
                ring_trim(r, n, now);
            }
        }
        return out;
    }
    case N_STALE: {
        int64_t age = c->row->age_ms(c->row->user);
        return age < 0 ? (ax_value){.kind = AX_NULL} : truth(age > n->window_ms);
    }
    case N_LATEST: {
        size_t nv = 0;
        while (nv < 4 && n->latest[2 + nv])
            nv++;
        double v;
        if (!c->row->latest || !c->row->latest(c->row->user, n->latest[0], (const char *const *)&n->latest[2], nv,
                                                n->latest[1], &v))
            return (ax_value){.kind = AX_NULL};
        return num_double(v);
    }
    case N_GAP:
        if (c->row->prev_open_time < 0 || c->row->interval_ms <= 0)
            return (ax_value){.kind = AX_NULL};
        return truth(c->row->row_ts - c->row->prev_open_time > c->row->interval_ms);
    }
    return (ax_value){.kind = AX_NULL};
}

static bool is_cmp(node_kind k) { return k >= N_GT && k <= N_NE; }

ax_value ax_eval(const ax_expr *e, const ax_row *row, void **hist, bool advance, ax_value *lhs, ax_value *rhs)
{
    if (e->nslots && hist && !*hist)
        *hist = calloc(e->nslots, sizeof(ring));
    evalctx c = {.row = row, .rings = hist ? *hist : NULL, .advance = advance};
    ax_value null = {.kind = AX_NULL};
    if (lhs)
        *lhs = null;
    if (rhs)
        *rhs = null;
    if (is_cmp(e->root->kind)) {
        /* the two sides once each, so that window functions see the row once */
        ax_value a = eval(e->root->a, &c), b = eval(e->root->b, &c);
        if (lhs)
            *lhs = a;
        if (rhs)
            *rhs = b;
        node tmp = *e->root;
        node na = {.kind = N_NUM, .v = a}, nb = {.kind = N_NUM, .v = b};
        tmp.a = &na;
        tmp.b = &nb;
        return eval(&tmp, &c);
    }
    return eval(e->root, &c);
}

void ax_history_free(const ax_expr *e, void *hist)
{
    ring *r = hist;
    for (size_t i = 0; r && i < e->nslots; i++)
        free(r[i].s);
    free(hist);
}
