/* trade-summary transform: consumes trade batches, emits one `trade_summary` row per symbol and cycle.
 * SPDX-License-Identifier: MIT
 *
 * Consumes: trade. Emits: trade_summary (docs/streams.md): over the last `last` trades of each
 * exchange and symbol, their count, mean price, VWAP, volume, quote volume and price range.
 * Every input batch passes through unchanged.
 *
 * Why a window of trades and not of time: "the average price of the last five trades" is what
 * people compute from /trades, and a window of N trades means the same on a quiet symbol and
 * a busy one. The window is kept per exchange/symbol across cycles: trades are ordered by time,
 * then trade id (numeric ids compare as numbers), and a trade id already in the window is not
 * counted again, so the overlapping responses of /trades (the newest 100 each poll) and
 * re-delivered batches change nothing. A trade older than the whole window is ignored.
 *
 * When: at the end of each cycle (the tick callback; about once a second on a continuous
 * pipeline), one row for each symbol whose window changed since the last row. Its key is the
 * newest trade's time, so the same window written twice is the same row.
 *
 * Exactness: volume (sum of sizes), quote_volume (sum of price × size), min_price and
 * max_price are exact decimals (128-bit sums of the exchange's text); a sum that does not fit
 * (more than 38 digits) is NULL. mean_price and vwap are quotients, written as doubles.
 */
#include <coinpipe/coinpipe.h>
#include <coinpipe/streams.h>

#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 64 /* longest decimal text or trade id kept */
#define MAX_SCALE 30

typedef struct ts_config {
    int64_t last;
} ts_config;

static const cp_option ts_options[] = {
    {.name = "last", .type = CP_OPT_INT, .def = "5", .min = 1, .max = 10000, .offset = offsetof(ts_config, last),
     .doc = "How many of the newest trades of each symbol the summary covers."},
    CP_OPTION_END,
};

/* ---- exact decimals: value = m × 10^-scale ------------------------------------------------ */

typedef struct dec {
    __int128 m;
    int scale;
    bool ok;
} dec;

/* "-0.00012300", "42", "1.5e-7" (the forms sources keep) */
static dec dec_parse(const char *t)
{
    dec d = {0, 0, false};
    if (!t || !*t)
        return d;
    bool neg = *t == '-', dot = false, digits = false;
    t += (*t == '-' || *t == '+');
    for (; *t && *t != 'e' && *t != 'E'; t++) {
        if (*t == '.' && !dot) {
            dot = true;
            continue;
        }
        if (*t < '0' || *t > '9' || d.m > ((__int128)1 << 120) / 10)
            return d;
        d.m = d.m * 10 + (*t - '0');
        d.scale += dot;
        digits = true;
    }
    if (*t) { /* exponent */
        char *end;
        long e = strtol(t + 1, &end, 10);
        if (*end || e < -MAX_SCALE || e > MAX_SCALE)
            return d;
        for (d.scale -= (int)e; d.scale < 0; d.scale++) {
            if (d.m > ((__int128)1 << 120) / 10)
                return d;
            d.m *= 10;
        }
    }
    d.m = neg ? -d.m : d.m;
    d.ok = digits && d.scale <= MAX_SCALE;
    return d;
}

static bool rescale(dec *d, int scale)
{
    for (; d->scale < scale; d->scale++)
        if (__builtin_mul_overflow(d->m, 10, &d->m))
            return false;
    return true;
}

static dec dec_add(dec a, dec b)
{
    dec r = {0, 0, false};
    if (!a.ok || !b.ok)
        return r;
    int s = a.scale > b.scale ? a.scale : b.scale;
    if (!rescale(&a, s) || !rescale(&b, s) || __builtin_add_overflow(a.m, b.m, &r.m))
        return r;
    r.scale = s;
    r.ok = true;
    return r;
}

static dec dec_mul(dec a, dec b)
{
    dec r = {0, 0, false};
    if (!a.ok || !b.ok || a.scale + b.scale > 2 * MAX_SCALE || __builtin_mul_overflow(a.m, b.m, &r.m))
        return r;
    r.scale = a.scale + b.scale;
    r.ok = true;
    return r;
}

static int dec_cmp(dec a, dec b)
{
    int s = a.scale > b.scale ? a.scale : b.scale;
    if (!rescale(&a, s) || !rescale(&b, s)) /* cannot happen for parsed prices; order by double then */
        return 0;
    return a.m < b.m ? -1 : a.m > b.m;
}

/* Plain decimal text with exactly `scale` fractional digits; false when it does not fit. */
static bool dec_text(dec d, char *out, size_t len)
{
    char digits[64];
    size_t n = 0;
    unsigned __int128 u = d.m < 0 ? -(unsigned __int128)d.m : (unsigned __int128)d.m;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u && n < sizeof digits);
    while (n <= (size_t)d.scale && n < sizeof digits) /* at least one digit before the point */
        digits[n++] = '0';
    size_t o = 0;
    if (d.m < 0 && o + 1 < len)
        out[o++] = '-';
    for (size_t i = n; i-- > 0;) {
        if (o + 2 >= len)
            return false;
        out[o++] = digits[i];
        if (i == (size_t)d.scale && d.scale > 0)
            out[o++] = '.';
    }
    out[o] = '\0';
    return true;
}

static double dec_double(dec d)
{
    double v = (double)d.m;
    for (int i = 0; i < d.scale; i++)
        v /= 10;
    return v;
}

/* ---- the windows -------------------------------------------------------------------------- */

typedef struct trade {
    int64_t ts, received_at;
    bool has_received_at;
    char id[TEXT_MAX + 1], price[TEXT_MAX + 1], size[TEXT_MAX + 1];
} trade;

typedef struct window {
    char *exchange, *symbol; /* one allocation: "exchange\0symbol\0" */
    size_t n;                /* trades held, oldest first */
    trade *t;                /* `last` slots */
    bool changed;            /* since the last row */
    struct window *next;     /* every window, in the order they first came */
} window;

typedef struct summary {
    size_t last;
    void *tree; /* tsearch tree of window * */
    window *all, **tail;
} summary;

static int window_cmp(const void *a, const void *b)
{
    const window *x = a, *y = b;
    int c = strcmp(x->exchange, y->exchange);
    return c ? c : strcmp(x->symbol, y->symbol);
}

static void window_free(void *p)
{
    window *w = p;
    free(w->t);
    free(w->exchange);
    free(w);
}

static window *window_get(summary *s, const char *exchange, const char *symbol)
{
    window key = {.exchange = (char *)exchange, .symbol = (char *)symbol};
    void *found = tfind(&key, &s->tree, window_cmp);
    if (found)
        return *(window **)found;
    size_t le = strlen(exchange) + 1, ls = strlen(symbol) + 1;
    window *w = calloc(1, sizeof *w);
    char *names = malloc(le + ls);
    trade *t = calloc(s->last, sizeof *t);
    if (!w || !names || !t) {
        free(w), free(names), free(t);
        return NULL;
    }
    memcpy(names, exchange, le);
    memcpy(names + le, symbol, ls);
    w->exchange = names;
    w->symbol = names + le;
    w->t = t;
    if (!tsearch(w, &s->tree, window_cmp)) {
        window_free(w);
        return NULL;
    }
    *(s->tail ? s->tail : &s->all) = w;
    s->tail = &w->next;
    return w;
}

/* trade ids: numbers compare as numbers (shorter is smaller), others as text */
static int id_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    bool num = la && lb && strspn(a, "0123456789") == la && strspn(b, "0123456789") == lb;
    if (num && la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static int trade_cmp(const trade *a, const trade *b)
{
    return a->ts != b->ts ? (a->ts < b->ts ? -1 : 1) : id_cmp(a->id, b->id);
}

/* Puts `t` into the window in order, dropping the oldest when full; a known id changes nothing. */
static void window_add(window *w, size_t cap, const trade *t)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].id, t->id) == 0)
            return;
    size_t at = w->n; /* first trade newer than t */
    while (at > 0 && trade_cmp(&w->t[at - 1], t) > 0)
        at--;
    if (w->n == cap) {
        if (at == 0)
            return; /* older than the whole window */
        memmove(&w->t[0], &w->t[1], (at - 1) * sizeof *w->t);
        w->t[at - 1] = *t;
    } else {
        memmove(&w->t[at + 1], &w->t[at], (w->n - at) * sizeof *w->t);
        w->t[at] = *t;
        w->n++;
    }
    w->changed = true;
}

static void copy_text(char *dst, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > TEXT_MAX)
        n = TEXT_MAX;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static cp_status take_trades(summary *s, cp_ctx *ctx, const cp_batch *b)
{
    int cex = cp_batch_col(ctx, b, "exchange"), csym = cp_batch_col(ctx, b, "symbol"), cid = cp_batch_col(ctx, b, "trade_id");
    int cts = cp_batch_col(ctx, b, "ts"), crx = cp_batch_col(ctx, b, "received_at");
    int cpx = cp_batch_col(ctx, b, "price"), csz = cp_batch_col(ctx, b, "size");
    if (cex < 0 || csym < 0 || cid < 0 || cts < 0 || cpx < 0 || csz < 0) {
        cp_log_warn(ctx, "trade batch without the columns of docs/streams.md; ignored");
        return CP_OK;
    }
    size_t n = cp_batch_rows(ctx, b);
    window *w = NULL;
    for (size_t r = 0; r < n; r++) {
        const char *ex = cp_batch_get_text(ctx, b, r, (size_t)cex, NULL);
        const char *sym = cp_batch_get_text(ctx, b, r, (size_t)csym, NULL);
        const char *id = cp_batch_get_text(ctx, b, r, (size_t)cid, NULL);
        const char *px = cp_batch_get_text(ctx, b, r, (size_t)cpx, NULL);
        const char *sz = cp_batch_get_text(ctx, b, r, (size_t)csz, NULL);
        if (!ex || !sym || !id || !px || !sz || cp_batch_is_null(ctx, b, r, (size_t)cts) || strlen(id) > TEXT_MAX ||
            strlen(px) > TEXT_MAX || strlen(sz) > TEXT_MAX || !dec_parse(px).ok || !dec_parse(sz).ok)
            continue; /* not a usable trade (the source logged it if it was bad) */
        if (!w || strcmp(w->exchange, ex) != 0 || strcmp(w->symbol, sym) != 0)
            w = window_get(s, ex, sym);
        if (!w)
            return CP_ERR_NOMEM;
        trade t = {.ts = cp_batch_get_int(ctx, b, r, (size_t)cts)};
        if (crx >= 0 && !cp_batch_is_null(ctx, b, r, (size_t)crx)) {
            t.has_received_at = true;
            t.received_at = cp_batch_get_int(ctx, b, r, (size_t)crx);
        }
        copy_text(t.id, id);
        copy_text(t.price, px);
        copy_text(t.size, sz);
        window_add(w, s->last, &t);
    }
    return CP_OK;
}

/* Appends the summary row of window `w`; false when a setter failed. */
static bool summary_row(summary *s, cp_ctx *ctx, cp_batch *out, const window *w)
{
    size_t r = cp_batch_add_row(ctx, out);
    if (r == SIZE_MAX)
        return false;
    const trade *first = &w->t[0], *newest = &w->t[w->n - 1];
    dec vol = {0, 0, true}, quote = {0, 0, true}, sum_px = {0, 0, true};
    size_t lo = 0, hi = 0;
    for (size_t i = 0; i < w->n; i++) {
        dec px = dec_parse(w->t[i].price), sz = dec_parse(w->t[i].size);
        vol = dec_add(vol, sz);
        quote = dec_add(quote, dec_mul(px, sz));
        sum_px = dec_add(sum_px, px);
        if (dec_cmp(px, dec_parse(w->t[lo].price)) < 0)
            lo = i;
        if (dec_cmp(px, dec_parse(w->t[hi].price)) > 0)
            hi = i;
    }
    bool bad = false;
    bad |= cp_batch_set_string(ctx, out, r, CP_TRADE_SUMMARY_EXCHANGE, w->exchange, strlen(w->exchange)) != CP_OK;
    bad |= cp_batch_set_string(ctx, out, r, CP_TRADE_SUMMARY_SYMBOL, w->symbol, strlen(w->symbol)) != CP_OK;
    bad |= cp_batch_set_int(ctx, out, r, CP_TRADE_SUMMARY_TS, newest->ts) != CP_OK;
    if (newest->has_received_at)
        bad |= cp_batch_set_int(ctx, out, r, CP_TRADE_SUMMARY_RECEIVED_AT, newest->received_at) != CP_OK;
    bad |= cp_batch_set_int(ctx, out, r, CP_TRADE_SUMMARY_WINDOW_SIZE, (int64_t)s->last) != CP_OK;
    bad |= cp_batch_set_int(ctx, out, r, CP_TRADE_SUMMARY_TRADES, (int64_t)w->n) != CP_OK;
    bad |= cp_batch_set_string(ctx, out, r, CP_TRADE_SUMMARY_FIRST_TRADE_ID, first->id, strlen(first->id)) != CP_OK;
    bad |= cp_batch_set_string(ctx, out, r, CP_TRADE_SUMMARY_LAST_TRADE_ID, newest->id, strlen(newest->id)) != CP_OK;
    bad |= cp_batch_set_int(ctx, out, r, CP_TRADE_SUMMARY_FIRST_TS, first->ts) != CP_OK;
    if (sum_px.ok)
        bad |= cp_batch_set_double(ctx, out, r, CP_TRADE_SUMMARY_MEAN_PRICE, dec_double(sum_px) / (double)w->n) != CP_OK;
    char text[80];
    if (vol.ok && quote.ok && vol.m != 0)
        bad |= cp_batch_set_double(ctx, out, r, CP_TRADE_SUMMARY_VWAP, dec_double(quote) / dec_double(vol)) != CP_OK;
    if (vol.ok && dec_text(vol, text, sizeof text))
        bad |= cp_batch_set_decimal(ctx, out, r, CP_TRADE_SUMMARY_VOLUME, text, strlen(text)) != CP_OK;
    if (quote.ok && dec_text(quote, text, sizeof text))
        bad |= cp_batch_set_decimal(ctx, out, r, CP_TRADE_SUMMARY_QUOTE_VOLUME, text, strlen(text)) != CP_OK;
    bad |= cp_batch_set_decimal(ctx, out, r, CP_TRADE_SUMMARY_MIN_PRICE, w->t[lo].price, strlen(w->t[lo].price)) != CP_OK;
    bad |= cp_batch_set_decimal(ctx, out, r, CP_TRADE_SUMMARY_MAX_PRICE, w->t[hi].price, strlen(w->t[hi].price)) != CP_OK;
    if (bad) {
        cp_batch_drop_last_row(ctx, out);
        cp_log_error(ctx, "cannot build the trade_summary row of exchange=%s symbol=%s", w->exchange, w->symbol);
    }
    return true;
}

static cp_status ts_create(cp_ctx *ctx, const void *config, void **instance)
{
    (void)ctx;
    const ts_config *cfg = config;
    summary *s = calloc(1, sizeof *s);
    if (!s)
        return CP_ERR_NOMEM;
    s->last = (size_t)cfg->last;
    *instance = s;
    return CP_OK;
}

static void ts_destroy(void *instance)
{
    summary *s = instance;
    tdestroy(s->tree, window_free);
    free(s);
}

static cp_status ts_process(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    if (strcmp(cp_batch_schema(ctx, batch)->stream, "trade") != 0)
        return CP_OK;
    cp_status st = take_trades(instance, ctx, batch);
    if (st == CP_ERR_NOMEM)
        cp_log_error(ctx, "out of memory");
    return st;
}

/* The end of a cycle: one row for each window that changed. */
static cp_status ts_tick(void *instance, cp_ctx *ctx, int64_t now_ms)
{
    (void)now_ms;
    summary *s = instance;
    cp_batch *out = NULL;
    for (window *w = s->all; w; w = w->next) {
        if (!w->changed || !w->n)
            continue;
        if (!out && !(out = cp_batch_new(ctx, &cp_trade_summary_schema, 16)))
            return CP_ERR_NOMEM;
        if (!summary_row(s, ctx, out, w)) {
            cp_batch_free(ctx, out);
            return CP_ERR_NOMEM;
        }
        w->changed = false;
    }
    return out ? cp_emit(ctx, out) : CP_OK;
}

/* declares `trade_summary` when trade reaches the transform */
static cp_status ts_schemas(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                            cp_schema_fn fn, void *user)
{
    (void)ctx, (void)config;
    for (size_t i = 0; i < ninputs; i++)
        if (strcmp(inputs[i]->stream, "trade") == 0) {
            fn(user, &cp_trade_summary_schema);
            break;
        }
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "trade-summary", .kind = CP_TRANSFORM, .version = "1.0.0",
                 .description = "Count, mean price, VWAP, volume and price range of the last N trades per symbol",
                 .options = ts_options, .config_size = sizeof(ts_config), .create = ts_create,
                 .destroy = ts_destroy, .process = ts_process, .tick = ts_tick, .schemas = ts_schemas);
