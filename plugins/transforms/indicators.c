/* indicators transform: consumes ohlcv batches, emits `indicator` rows equal to TA-Lib's values.
 * SPDX-License-Identifier: MIT
 *
 * Consumes: ohlcv. Emits: indicator (docs/streams.md), one row per new candle keyed like the candle
 * (exchange, symbol, interval, open_time) with its close (exact text) and one column per
 * configured indicator: sma_N, ema_N, rsi_N, macd/macd_signal/macd_hist, bb_upper/bb_middle/
 * bb_lower, atr_N, pivot r1 s1 r2 s2 r3 s3, fib_236 … fib_786 (non-default parameters are
 * appended to the name: macd_5_35_5, bb_upper_20_2_5, fib_236_50). A column is NULL until its
 * lookback is filled. Input batches pass through unchanged. The math is in ta.c.
 *
 * Series and ordering. Each (exchange, symbol, interval) is its own series, updated in
 * open_time order at O(1) per candle and indicator; the rows of a batch are sorted by series
 * and open_time first, so a batch may list candles in any order (Coinbase: newest first).
 * A candle whose open_time is not after the series' last one is not fed again:
 * - a re-delivery (same open_time as one of the last 32 candles: overlapping polls) is a
 *   silent no-op;
 * - a late candle (an open_time never seen, older than the last: it fell in a hole) is
 *   skipped with a warning; indicators are never recomputed backwards;
 * - a candle older than the last 32 (the warm-up poll after a restart) is skipped at debug.
 * A still-open candle (close_time >= now) gets a provisional row computed on a copy of the
 * state, which is left untouched: the closed candle later replaces the row by its key.
 * A candle with a NULL high, low or close is skipped with a warning.
 *
 * State. Before process() returns, the state of every series is saved through the core's
 * state store when the batch advanced any: one key for the instance, one write per batch
 * (the store rewrites and fsyncs its file on every write, so one key per series would cost
 * one fsync per series and batch). Doubles are written with %.17g, so a restart continues
 * with exactly the values of an uninterrupted run. The saved state names the indicator
 * settings; after a settings change every series warms up anew.
 */
#include <coinpipe/coinpipe.h>

#include "ta.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NRECENT 32 /* open_times remembered per series to tell re-deliveries from late candles */
#define STATE_MAGIC "coinpipe-indicators 1"
#define STATE_KEY "series"

typedef struct ind_config {
    cp_strlist sma, ema, rsi, macd, bbands, atr;
    bool pivots;
    int64_t fib_lookback;
} ind_config;

static const cp_option ind_options[] = {
    {.name = "sma", .type = CP_OPT_STRLIST, .def = "[20]", .max = TA_MAX_LIST, .offset = offsetof(ind_config, sma),
     .doc = "Simple moving average periods of the close, one column sma_N each; [] for none."},
    {.name = "ema", .type = CP_OPT_STRLIST, .def = "[20]", .max = TA_MAX_LIST, .offset = offsetof(ind_config, ema),
     .doc = "Exponential moving average periods (seeded with the SMA of the first N closes), one column ema_N each."},
    {.name = "rsi", .type = CP_OPT_STRLIST, .def = "[14]", .max = TA_MAX_LIST, .offset = offsetof(ind_config, rsi),
     .doc = "Relative strength index periods (Wilder smoothing), one column rsi_N each."},
    {.name = "macd", .type = CP_OPT_STRLIST, .def = "[12, 26, 9]", .max = 3, .offset = offsetof(ind_config, macd),
     .doc = "MACD [fast, slow, signal] periods: columns macd, macd_signal, macd_hist; [] for none."},
    {.name = "bbands", .type = CP_OPT_STRLIST, .def = "[20.0, 2.0]", .max = 2,
     .offset = offsetof(ind_config, bbands),
     .doc = "Bollinger bands [period, k] (SMA +- k population standard deviations): bb_upper, bb_middle, bb_lower; "
            "libconfig arrays take one type, so write [20.0, 2.5] or the list (20, 2.5)."},
    {.name = "atr", .type = CP_OPT_STRLIST, .def = "[14]", .max = TA_MAX_LIST, .offset = offsetof(ind_config, atr),
     .doc = "Average true range periods (Wilder smoothing), one column atr_N each."},
    {.name = "pivots", .type = CP_OPT_BOOL, .def = "true", .offset = offsetof(ind_config, pivots),
     .doc = "Classic floor pivots from the previous candle: pivot, r1, s1, r2, s2, r3, s3."},
    {.name = "fib_lookback", .type = CP_OPT_INT, .def = "20", .min = 0, .max = TA_MAX_PERIOD,
     .offset = offsetof(ind_config, fib_lookback),
     .doc = "Candles whose high-low range the Fibonacci levels fib_236 ... fib_786 retrace; 0 for none."},
    CP_OPTION_END,
};

typedef struct series {
    unsigned id;                         /* creation order: sort key */
    char *exchange, *symbol, *interval; /* one allocation */
    bool has_last, dirty;
    int64_t last_open_time;
    int64_t recent[NRECENT];            /* ring of the last open_times */
    unsigned nrecent;                   /* candles in the ring (<= NRECENT) */
    unsigned recent_pos;                /* next slot */
    ta_series *ta;
    char *text;                         /* saved form, kept while the series is not dirty */
    size_t text_len;
} series;

typedef struct indicators {
    ta_engine eng;
    cp_field fields[5 + TA_MAX_COLS]; /* the schema's columns (names in eng) */
    cp_schema schema;
    void *tree;         /* tsearch tree of series *, for lookups */
    series **all;       /* every series, in creation order (owns them) */
    size_t nall, capall;
    series *cached;
    ta_series *scratch; /* provisional updates of open candles */
    double out[TA_MAX_COLS];
} indicators;

/* ---- configuration -------------------------------------------------------------------- */

static bool parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < -1000000 || v > 1000000)
        return false;
    *out = (int)v;
    return true;
}

static int parse_periods(cp_ctx *ctx, const char *name, const cp_strlist *l, int *v, int *n)
{
    *n = 0;
    for (size_t i = 0; i < l->n && i < TA_MAX_LIST; i++) {
        if (!parse_int(l->v[i], &v[i])) {
            cp_log_error(ctx, "option %s: '%s' is not a whole number of candles", name, l->v[i]);
            return -1;
        }
        (*n)++;
    }
    return 0;
}

static int build_config(cp_ctx *ctx, const ind_config *c, ta_config *t)
{
    memset(t, 0, sizeof *t);
    if (parse_periods(ctx, "sma", &c->sma, t->sma, &t->nsma) || parse_periods(ctx, "ema", &c->ema, t->ema, &t->nema) ||
        parse_periods(ctx, "rsi", &c->rsi, t->rsi, &t->nrsi) || parse_periods(ctx, "atr", &c->atr, t->atr, &t->natr))
        return -1;
    if (c->macd.n) {
        int v[3];
        if (c->macd.n != 3 || !parse_int(c->macd.v[0], &v[0]) || !parse_int(c->macd.v[1], &v[1]) ||
            !parse_int(c->macd.v[2], &v[2])) {
            cp_log_error(ctx, "option macd: want [fast, slow, signal], three whole numbers, or [] for none");
            return -1;
        }
        t->macd_fast = v[0], t->macd_slow = v[1], t->macd_signal = v[2];
    }
    if (c->bbands.n) {
        char *end = NULL;
        t->bb_k = 2.0;
        if (!parse_int(c->bbands.v[0], &t->bb_period) ||
            (c->bbands.n == 2 && ((t->bb_k = strtod(c->bbands.v[1], &end)), end == c->bbands.v[1] || *end))) {
            cp_log_error(ctx, "option bbands: want [period, k] (k defaults to 2.0), or [] for none");
            return -1;
        }
    }
    t->pivots = c->pivots;
    t->fib_lookback = (int)c->fib_lookback;
    return 0;
}

/* ---- series ---------------------------------------------------------------------------- */

static int series_cmp(const void *a, const void *b)
{
    const series *x = a, *y = b;
    int c = strcmp(x->exchange, y->exchange);
    if (!c)
        c = strcmp(x->symbol, y->symbol);
    return c ? c : strcmp(x->interval, y->interval);
}

static void series_free(series *s)
{
    if (!s)
        return;
    free(s->exchange);
    free(s->ta);
    free(s->text);
    free(s);
}

static void series_remember(series *s, int64_t open_time)
{
    s->recent[s->recent_pos] = open_time;
    s->recent_pos = (s->recent_pos + 1) % NRECENT;
    if (s->nrecent < NRECENT)
        s->nrecent++;
    s->last_open_time = open_time;
    s->has_last = true;
}

/* Creates a series without candles; NULL when out of memory. */
static series *series_new(indicators *in, const char *ex, size_t le, const char *sym, size_t ls, const char *iv,
                          size_t li)
{
    if (in->nall == in->capall) {
        size_t cap = in->capall ? in->capall * 2 : 16;
        series **all = realloc(in->all, cap * sizeof *all);
        if (!all)
            return NULL;
        in->all = all;
        in->capall = cap;
    }
    series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->exchange = malloc(le + ls + li + 3);
    s->ta = ta_series_new(&in->eng);
    if (!s->exchange || !s->ta) {
        series_free(s);
        return NULL;
    }
    memcpy(s->exchange, ex, le);
    s->exchange[le] = '\0';
    s->symbol = s->exchange + le + 1;
    memcpy(s->symbol, sym, ls);
    s->symbol[ls] = '\0';
    s->interval = s->symbol + ls + 1;
    memcpy(s->interval, iv, li);
    s->interval[li] = '\0';
    if (!tsearch(s, &in->tree, series_cmp)) {
        series_free(s);
        return NULL;
    }
    s->id = (unsigned)in->nall;
    in->all[in->nall++] = s;
    return s;
}

/* Finds or creates the series; NULL when out of memory. */
static series *series_get(indicators *in, const char *ex, const char *sym, const char *iv)
{
    series *c = in->cached;
    if (c && strcmp(c->symbol, sym) == 0 && strcmp(c->interval, iv) == 0 && strcmp(c->exchange, ex) == 0)
        return c;
    series key = {.exchange = (char *)ex, .symbol = (char *)sym, .interval = (char *)iv};
    void *found = tfind(&key, &in->tree, series_cmp);
    if (found)
        return in->cached = *(series **)found;
    return in->cached = series_new(in, ex, strlen(ex), sym, strlen(sym), iv, strlen(iv));
}

/* ---- state: one key holding every series, written once per batch -----------------------
 * STATE_MAGIC "\n" signature "\n", then per series three lines:
 *   exchange TAB symbol TAB interval
 *   last_open_time nrecent distance... (the remembered open_times, oldest first, as
 *                                       distances back from last_open_time)
 *   ta_series_format() text
 */

/* Renders the saved form of `s` into s->text; false when out of memory. */
static bool series_render(indicators *in, series *s)
{
    size_t tlen = ta_series_format(&in->eng, s->ta, NULL, 0);
    size_t cap = strlen(s->exchange) + strlen(s->symbol) + strlen(s->interval) + tlen + 64 + NRECENT * 24;
    char *buf = malloc(cap);
    if (!buf)
        return false;
    int n = snprintf(buf, cap, "%s\t%s\t%s\n%" PRId64 " %u", s->exchange, s->symbol, s->interval, s->last_open_time,
                     s->nrecent);
    size_t len = (size_t)n;
    for (unsigned k = 0; k < s->nrecent; k++) {
        unsigned slot = (s->recent_pos + NRECENT - s->nrecent + k) % NRECENT;
        len += (size_t)snprintf(buf + len, cap - len, " %" PRId64, s->last_open_time - s->recent[slot]);
    }
    buf[len++] = '\n';
    len += ta_series_format(&in->eng, s->ta, buf + len, cap - len);
    buf[len++] = '\n';
    buf[len] = '\0';
    free(s->text);
    s->text = buf;
    s->text_len = len;
    return true;
}

/* Saves every series if any changed. */
static void state_save(indicators *in, cp_ctx *ctx)
{
    bool any = false;
    size_t total = strlen(STATE_MAGIC) + strlen(in->eng.signature) + 3;
    for (size_t i = 0; i < in->nall; i++) {
        series *s = in->all[i];
        if (s->dirty) {
            any = true;
            if (!series_render(in, s)) {
                cp_log_error(ctx, "out of memory saving the indicator state");
                return;
            }
            s->dirty = false;
        }
        total += s->text_len;
    }
    if (!any)
        return;
    char *buf = malloc(total), *p = buf;
    if (!buf) {
        cp_log_error(ctx, "out of memory saving the indicator state");
        return;
    }
    p += sprintf(p, STATE_MAGIC "\n%s\n", in->eng.signature);
    for (size_t i = 0; i < in->nall; i++)
        if (in->all[i]->text) {
            memcpy(p, in->all[i]->text, in->all[i]->text_len);
            p += in->all[i]->text_len;
        }
    *p = '\0';
    cp_status st = cp_state_set(ctx, STATE_KEY, buf);
    free(buf);
    if (st != CP_OK)
        cp_log_warn(ctx, "cannot save the indicator state: %s; a restart will warm up anew", cp_strerror(st));
}

/* Parses one series (three lines) at *pp; false when malformed. */
static bool parse_series(indicators *in, const char **pp)
{
    const char *p = *pp, *t1 = strchr(p, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    const char *nl = t2 ? strchr(t2 + 1, '\n') : NULL;
    if (!nl || memchr(p, '\n', (size_t)(t2 - p)))
        return false;
    series *s = series_new(in, p, (size_t)(t1 - p), t1 + 1, (size_t)(t2 - t1 - 1), t2 + 1, (size_t)(nl - t2 - 1));
    if (!s)
        return false;
    char *end;
    long long last = strtoll(nl + 1, &end, 10);
    const char *q0 = end;
    unsigned long nrec = strtoul(q0, &end, 10);
    if (end == q0 || nrec > NRECENT)
        return false;
    int64_t recent[NRECENT];
    for (unsigned long k = 0; k < nrec; k++) {
        const char *q = end;
        recent[k] = last - strtoll(q, &end, 10);
        if (end == q)
            return false;
    }
    for (unsigned long k = 0; k < nrec; k++)
        series_remember(s, recent[k]);
    s->last_open_time = last;
    s->has_last = true;
    const char *rest = ta_series_parse(&in->eng, s->ta, end);
    if (!rest || *rest != '\n')
        return false;
    if (!series_render(in, s))
        return false;
    *pp = rest + 1;
    return true;
}

/* Restores every saved series (at create). */
static void state_load(indicators *in, cp_ctx *ctx)
{
    char *text = NULL;
    cp_status st = cp_state_get(ctx, STATE_KEY, &text);
    if (st == CP_ERR_NOT_FOUND)
        return;
    if (st != CP_OK) {
        cp_log_warn(ctx, "cannot read the indicator state: %s; warming up anew", cp_strerror(st));
        return;
    }
    size_t ml = strlen(STATE_MAGIC), sl = strlen(in->eng.signature);
    const char *p = text;
    if (strncmp(p, STATE_MAGIC "\n", ml + 1) != 0) {
        cp_log_warn(ctx, "the saved indicator state is not ours or malformed; warming up anew");
    } else if (p += ml + 1, strncmp(p, in->eng.signature, sl) != 0 || p[sl] != '\n') {
        cp_log_info(ctx, "indicator settings changed since the state was saved; every series warms up anew");
    } else {
        p += sl + 1;
        while (*p && parse_series(in, &p))
            ;
        if (*p) {
            cp_log_warn(ctx, "the saved indicator state is malformed after %zu series; the others warm up anew",
                        in->nall ? in->nall - 1 : 0);
            if (in->nall) { /* the half-parsed one */
                series *s = in->all[--in->nall];
                tdelete(s, &in->tree, series_cmp);
                series_free(s);
            }
        } else {
            cp_log_debug(ctx, "restored %zu indicator series", in->nall);
        }
    }
    cp_free(ctx, text);
}

/* ---- processing ------------------------------------------------------------------------ */

typedef struct item {
    series *s;
    int64_t open_time;
    size_t row;
} item;

static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->s->id != y->s->id)
        return x->s->id < y->s->id ? -1 : 1;
    if (x->open_time != y->open_time)
        return x->open_time < y->open_time ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

typedef struct in_cols {
    int exchange, symbol, interval, open_time, close_time, high, low, close;
} in_cols;

static bool resolve_cols(cp_ctx *ctx, const cp_batch *b, in_cols *c)
{
    c->exchange = cp_batch_col(ctx, b, "exchange");
    c->symbol = cp_batch_col(ctx, b, "symbol");
    c->interval = cp_batch_col(ctx, b, "interval");
    c->open_time = cp_batch_col(ctx, b, "open_time");
    c->close_time = cp_batch_col(ctx, b, "close_time");
    c->high = cp_batch_col(ctx, b, "high");
    c->low = cp_batch_col(ctx, b, "low");
    c->close = cp_batch_col(ctx, b, "close");
    return c->exchange >= 0 && c->symbol >= 0 && c->interval >= 0 && c->open_time >= 0 && c->high >= 0 &&
           c->low >= 0 && c->close >= 0;
}

static bool seen_recently(const series *s, int64_t open_time, int64_t *oldest)
{
    *oldest = INT64_MAX;
    for (unsigned k = 0; k < s->nrecent; k++) {
        int64_t t = s->recent[(s->recent_pos + NRECENT - 1 - k) % NRECENT];
        if (t == open_time)
            return true;
        if (t < *oldest)
            *oldest = t;
    }
    return false;
}

/* Appends one indicator row; false when out of memory. */
static bool add_row(indicators *in, cp_ctx *ctx, cp_batch *out, const series *s, int64_t open_time,
                    const char *close_text, size_t close_len)
{
    size_t r = cp_batch_add_row(ctx, out);
    if (r == SIZE_MAX)
        return false;
    unsigned bad = 0;
    bad |= cp_batch_set_string(ctx, out, r, 0, s->exchange, strlen(s->exchange)) != CP_OK;
    bad |= cp_batch_set_string(ctx, out, r, 1, s->symbol, strlen(s->symbol)) != CP_OK;
    bad |= cp_batch_set_string(ctx, out, r, 2, s->interval, strlen(s->interval)) != CP_OK;
    bad |= cp_batch_set_int(ctx, out, r, 3, open_time) != CP_OK;
    bad |= cp_batch_set_decimal(ctx, out, r, 4, close_text, close_len) != CP_OK;
    for (size_t k = 0; k < in->eng.ncols; k++)
        cp_batch_set_double(ctx, out, r, 5 + k, in->out[k]); /* NAN stores NULL */
    if (bad)
        cp_batch_drop_last_row(ctx, out);
    return true;
}

static cp_status ind_process(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    indicators *in = instance;
    if (strcmp(cp_batch_schema(ctx, batch)->stream, "ohlcv") != 0)
        return CP_OK;
    in_cols c;
    if (!resolve_cols(ctx, batch, &c)) {
        cp_log_warn(ctx, "ohlcv batch without the columns of docs/streams.md; ignored");
        return CP_OK;
    }
    size_t n = cp_batch_rows(ctx, batch);
    if (!n)
        return CP_OK;
    item *items = malloc(n * sizeof *items);
    if (!items)
        return CP_ERR_NOMEM;
    size_t ni = 0;
    cp_status st = CP_OK;
    for (size_t r = 0; r < n; r++) {
        const char *ex = cp_batch_get_text(ctx, batch, r, (size_t)c.exchange, NULL);
        const char *sym = cp_batch_get_text(ctx, batch, r, (size_t)c.symbol, NULL);
        const char *iv = cp_batch_get_text(ctx, batch, r, (size_t)c.interval, NULL);
        if (!ex || !sym || !iv || cp_batch_is_null(ctx, batch, r, (size_t)c.open_time)) {
            cp_log_warn(ctx, "ohlcv row %zu has no exchange, symbol, interval or open_time; skipped", r);
            continue;
        }
        series *s = series_get(in, ex, sym, iv);
        if (!s) {
            st = CP_ERR_NOMEM;
            break;
        }
        items[ni++] = (item){s, cp_batch_get_int(ctx, batch, r, (size_t)c.open_time), r};
    }
    cp_batch *out = st == CP_OK ? cp_batch_new(ctx, &in->schema, ni) : NULL;
    if (st == CP_OK && !out)
        st = CP_ERR_NOMEM;
    if (st != CP_OK) {
        free(items);
        cp_log_error(ctx, "out of memory");
        return st;
    }
    qsort(items, ni, sizeof *items, item_cmp);

    int64_t now = cp_now_ms(ctx);
    size_t redelivered = 0, old = 0;
    for (size_t i = 0; i < ni && st == CP_OK; i++) {
        series *s = items[i].s;
        int64_t ot = items[i].open_time;
        size_t r = items[i].row;
        if (s->has_last && ot <= s->last_open_time) {
            int64_t oldest;
            if (seen_recently(s, ot, &oldest))
                redelivered++;
            else if (s->nrecent < NRECENT || ot > oldest)
                cp_log_warn(ctx, "late candle %s/%s/%s open_time=%" PRId64 " is older than the last one (%" PRId64
                            "); skipped, indicators are computed in open_time order",
                            s->exchange, s->symbol, s->interval, ot, s->last_open_time);
            else
                old++;
            continue;
        }
        double h = cp_batch_get_double(ctx, batch, r, (size_t)c.high);
        double l = cp_batch_get_double(ctx, batch, r, (size_t)c.low);
        double cl = cp_batch_get_double(ctx, batch, r, (size_t)c.close);
        size_t close_len = 0;
        const char *close_text = cp_batch_get_text(ctx, batch, r, (size_t)c.close, &close_len);
        if (!isfinite(h) || !isfinite(l) || !isfinite(cl) || !close_text) {
            cp_log_warn(ctx, "candle %s/%s/%s open_time=%" PRId64 " lacks high, low or close; skipped", s->exchange,
                        s->symbol, s->interval, ot);
            continue;
        }
        bool open = c.close_time >= 0 && !cp_batch_is_null(ctx, batch, r, (size_t)c.close_time) &&
                    cp_batch_get_int(ctx, batch, r, (size_t)c.close_time) >= now;
        if (open) { /* provisional: the state stays as it was */
            memcpy(in->scratch, s->ta, ta_series_size(&in->eng));
            ta_update(&in->eng, in->scratch, h, l, cl, in->out);
        } else {
            ta_update(&in->eng, s->ta, h, l, cl, in->out);
            series_remember(s, ot);
            s->dirty = true;
        }
        if (!add_row(in, ctx, out, s, ot, close_text, close_len))
            st = CP_ERR_NOMEM;
    }
    if (redelivered || old)
        cp_log_debug(ctx, "skipped %zu re-delivered and %zu old candles", redelivered, old);

    state_save(in, ctx); /* one state write per batch, before it goes on */
    free(items);
    if (st != CP_OK) {
        cp_batch_free(ctx, out);
        cp_log_error(ctx, "out of memory");
        return st;
    }
    return cp_emit(ctx, out);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void free_nothing(void *p) { (void)p; }

static void ind_destroy(void *instance)
{
    indicators *in = instance;
    if (!in)
        return;
    tdestroy(in->tree, free_nothing);
    for (size_t i = 0; i < in->nall; i++)
        series_free(in->all[i]);
    free(in->all);
    free(in->scratch);
    free(in);
}

/* the engine of a config and the `indicator` schema it emits: `fields` (5 + TA_MAX_COLS of them)
 * take the columns, whose names live in *eng; CP_ERR_CONFIG (logged) for a bad config */
static cp_status indicator_schema(cp_ctx *ctx, const ind_config *config, ta_engine *eng, cp_field *fields,
                                  cp_schema *schema)
{
    ta_config tc;
    if (build_config(ctx, config, &tc) != 0)
        return CP_ERR_CONFIG;
    char err[256];
    if (ta_engine_init(eng, &tc, err, sizeof err) != 0) {
        cp_log_error(ctx, "%s", err);
        return CP_ERR_CONFIG;
    }
    fields[0] = (cp_field){.name = "exchange", .type = CP_T_STRING, .flags = CP_FIELD_KEY};
    fields[1] = (cp_field){.name = "symbol", .type = CP_T_STRING, .flags = CP_FIELD_KEY};
    fields[2] = (cp_field){.name = "interval", .type = CP_T_STRING, .flags = CP_FIELD_KEY};
    fields[3] = (cp_field){.name = "open_time", .type = CP_T_TIMESTAMP, .flags = CP_FIELD_KEY};
    fields[4] = (cp_field){.name = "close", .type = CP_T_DECIMAL, .flags = CP_FIELD_NULLABLE};
    for (size_t k = 0; k < eng->ncols; k++)
        fields[5 + k] = (cp_field){.name = eng->names[k], .type = CP_T_DOUBLE, .flags = CP_FIELD_NULLABLE};
    *schema = (cp_schema){.stream = "indicator", .nfields = 5 + eng->ncols, .fields = fields,
                          .size = sizeof(cp_schema), .field_size = sizeof(cp_field)};
    return CP_OK;
}

static cp_status ind_create(cp_ctx *ctx, const void *config, void **instance)
{
    indicators *in = calloc(1, sizeof *in);
    if (!in)
        return CP_ERR_NOMEM;
    cp_status st = indicator_schema(ctx, config, &in->eng, in->fields, &in->schema);
    if (st != CP_OK) {
        free(in);
        return st;
    }
    if (!(in->scratch = ta_series_new(&in->eng))) {
        ind_destroy(in);
        return CP_ERR_NOMEM;
    }
    state_load(in, ctx);
    *instance = in;
    return CP_OK;
}

/* declares `indicator` (the columns of this config) when ohlcv reaches the transform */
static cp_status ind_schemas(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                             cp_schema_fn fn, void *user)
{
    bool candles = false;
    for (size_t i = 0; i < ninputs && !candles; i++)
        candles = strcmp(inputs[i]->stream, "ohlcv") == 0;
    if (!candles)
        return CP_OK;
    indicators *in = calloc(1, sizeof *in); /* its engine and fields: a few kB, not for the stack */
    if (!in)
        return CP_ERR_NOMEM;
    cp_status st = indicator_schema(ctx, config, &in->eng, in->fields, &in->schema);
    if (st == CP_OK)
        fn(user, &in->schema);
    free(in);
    return st;
}

CP_PLUGIN_DEFINE(.name = "indicators", .kind = CP_TRANSFORM, .version = "1.0.0",
                 .description = "SMA, EMA, RSI, MACD, Bollinger, ATR (TA-Lib exact), pivots and Fibonacci per candle",
                 .options = ind_options, .config_size = sizeof(ind_config), .create = ind_create,
                 .destroy = ind_destroy, .process = ind_process, .schemas = ind_schemas);
