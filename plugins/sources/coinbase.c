/* coinbase source: Coinbase Exchange market data over the public REST API.
 * SPDX-License-Identifier: MIT
 *
 * Collects (streams option), per product (BTC-USD is both the native and the normalized symbol):
 *   ticker      GET /products/{id}/ticker + GET /products/{id}/stats   (merged into one row:
 *               last, bid, ask and volume from the ticker, open/high/low from the 24h stats;
 *               the exchange gives no sizes, prev_close, change, vwap, quote volume or
 *               trade count there, so those columns are NULL)
 *   book_top    GET /products/{id}/book?level=2                    (best bid/ask, sequence)
 *   book_level  GET /products/{id}/book?level=2                    (top `depth` levels per side)
 *   trade       GET /products/{id}/trades?limit=                   (Coinbase's `side` is the
 *               maker's: the taker side written to `side` is the opposite)
 *   ohlcv       GET /products/{id}/candles?granularity=&start=&end= (closed candles,
 *               incremental from a checkpoint per series; arrays are [time(s), low, high,
 *               open, close, volume], newest first)
 * Products are checked against GET /products before the first cycle or backfill: an id the
 * exchange does not list is logged as an error naming it and skipped (the cycle reports
 * CP_ERR_CONFIG, the other products are collected; the list is fetched again each cycle until
 * every id is known), a product that is not "online" or has trading disabled gets a warning.
 * Backfill: ohlcv, 300 candles per request, checkpointed per product and range.
 * Coinbase sends prices as JSON strings (candles as numbers); both keep their exact text.
 * Public endpoints allow about 10 requests per second per IP: the host budget defaults to 600/min.
 */
#include "common/srcutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CB_PAGE 300 /* candles per request: Coinbase rejects a range of more */

typedef struct cb_cfg {
    char *base_url;
    cp_strlist symbols;
    cp_strlist streams;
    int64_t depth;
    char *kline_interval;
    bool include_open_candle;
    int64_t warmup;
    int64_t trade_limit;
    int64_t max_pages;
    double requests_per_minute;
    int64_t max_concurrent;
} cb_cfg;

enum { ST_TICKER, ST_BOOK_TOP, ST_BOOK_LEVEL, ST_TRADE, ST_OHLCV, ST_COUNT };
static const char *const cb_streams[] = {"ticker", "book_top", "book_level", "trade", "ohlcv", NULL};
static const cp_schema *const cb_schemas[ST_COUNT] = {&cp_ticker_schema, &cp_book_top_schema, &cp_book_level_schema,
                                                      &cp_trade_schema, &cp_ohlcv_schema};

static const cp_option cb_options[] = {
    {.name = "base_url", .type = CP_OPT_STRING, .def = "\"https://api.exchange.coinbase.com\"",
     .offset = offsetof(cb_cfg, base_url),
     .doc = "Base URL of the Exchange REST API (point it at the sandbox or a mock)."},
    {.name = "symbols", .type = CP_OPT_STRLIST, .flags = CP_OPT_REQUIRED, .min = 1, .max = 1000,
     .offset = offsetof(cb_cfg, symbols),
     .doc = "Products to collect, e.g. BTC-USD (case-insensitive; BTC/USD is accepted too)."},
    {.name = "streams", .type = CP_OPT_STRLIST, .def = "[\"ticker\"]", .min = 1, .max = 5,
     .offset = offsetof(cb_cfg, streams),
     .doc = "Streams to collect each cycle: ticker, book_top, book_level, trade, ohlcv."},
    {.name = "depth", .type = CP_OPT_INT, .def = "5", .min = 1, .max = 1000, .offset = offsetof(cb_cfg, depth),
     .doc = "Order book levels per side written as book_level rows."},
    {.name = "kline_interval", .type = CP_OPT_STRING, .def = "\"1m\"", .offset = offsetof(cb_cfg, kline_interval),
     .doc = "Candle interval for ohlcv: 1m 5m 15m 1h 6h 1d (Coinbase granularities 60 300 900 3600 21600 86400)."},
    {.name = "include_open_candle", .type = CP_OPT_BOOL, .def = "false",
     .offset = offsetof(cb_cfg, include_open_candle),
     .doc = "Also write the still-moving current candle (updated on each poll by its key)."},
    {.name = "warmup", .type = CP_OPT_INT, .def = "60", .min = 1, .max = 299, .offset = offsetof(cb_cfg, warmup),
     .doc = "Closed candles fetched on the first poll of a series that has no checkpoint yet."},
    {.name = "trade_limit", .type = CP_OPT_INT, .def = "100", .min = 1, .max = 1000,
     .offset = offsetof(cb_cfg, trade_limit),
     .doc = "Recent trades fetched per product and cycle for the trade stream."},
    {.name = "max_pages", .type = CP_OPT_INT, .def = "10", .min = 1, .max = 1000,
     .offset = offsetof(cb_cfg, max_pages),
     .doc = "Candle pages (300 each) fetched per series and cycle when catching up after a gap."},
    {.name = "requests_per_minute", .type = CP_OPT_DOUBLE, .def = "600", .min = 1, .max = 100000,
     .offset = offsetof(cb_cfg, requests_per_minute),
     .doc = "Request budget per minute for the API host (public endpoints: about 10 per second)."},
    {.name = "max_concurrent", .type = CP_OPT_INT, .def = "4", .min = 1, .max = 64,
     .offset = offsetof(cb_cfg, max_concurrent),
     .doc = "Requests in flight at once to the API host."},
    CP_OPTION_END,
};

typedef struct cb {
    const cb_cfg *cfg;
    bool want[ST_COUNT];
    int64_t interval_ms;
    size_t n;
    char **sym;      /* BTC-USD */
    bool *unknown;   /* not listed by /products: skipped */
    bool validated;  /* /products answered and every id was listed */
} cb;

/* ---- parsers ------------------------------------------------------------------------------ */

static cp_status bad(cp_ctx *ctx, const char *endpoint, const char *sym, const su_row *r, cp_batch *b, size_t keep)
{
    cp_log_error(ctx, "%s %s: unexpected payload (field %s%s%s); no rows kept from this response", endpoint, sym,
                 r->bad ? r->bad : "?", r->why ? ": " : "", r->why ? r->why : "");
    su_truncate(ctx, b, keep);
    return CP_ERR_PARSE;
}

static void row_common(su_row *r, const char *sym, size_t c_exchange, size_t c_symbol, size_t c_native)
{
    su_cstr(r, c_exchange, "coinbase");
    su_cstr(r, c_symbol, sym);
    if (c_native != SIZE_MAX)
        su_cstr(r, c_native, sym);
}

/* One ticker row from /ticker (tick) and /stats (stats). */
static cp_status cb_parse_ticker(cp_ctx *ctx, json_object *tick, json_object *stats, const char *sym,
                                 int64_t received_at, cp_batch *out)
{
    size_t keep = cp_batch_rows(ctx, out);
    if (!json_object_is_type(tick, json_type_object) || !json_object_is_type(stats, json_type_object)) {
        cp_log_error(ctx, "ticker %s: expected objects from ticker and stats; response ignored", sym);
        return CP_ERR_PARSE;
    }
    su_row r = su_row_add(ctx, out);
    row_common(&r, sym, CP_TICKER_EXCHANGE, CP_TICKER_SYMBOL, CP_TICKER_NATIVE_SYMBOL);
    json_object *ts = su_get(tick, "time"), *vol = su_get(tick, "volume");
    su_require(&r, ts, "time");
    su_iso_ts(&r, CP_TICKER_TS, ts, "time");
    su_i64(&r, CP_TICKER_RECEIVED_AT, received_at);
    su_dec(&r, CP_TICKER_LAST, su_get(tick, "price"), "price");
    su_dec(&r, CP_TICKER_BID, su_get(tick, "bid"), "bid");
    su_dec(&r, CP_TICKER_ASK, su_get(tick, "ask"), "ask");
    su_dec(&r, CP_TICKER_OPEN, su_get(stats, "open"), "stats.open");
    su_dec(&r, CP_TICKER_HIGH, su_get(stats, "high"), "stats.high");
    su_dec(&r, CP_TICKER_LOW, su_get(stats, "low"), "stats.low");
    su_dec(&r, CP_TICKER_BASE_VOLUME, vol ? vol : su_get(stats, "volume"), "volume");
    if (!r.ok)
        return bad(ctx, "ticker", sym, &r, out, keep);
    return CP_OK;
}

/* book?level=2 → a book_top row (top) and up to `levels` book_level rows per side (lvl); either may be NULL. */
static cp_status cb_parse_book(cp_ctx *ctx, json_object *root, const char *sym, size_t levels, int64_t received_at,
                               cp_batch *top, cp_batch *lvl)
{
    size_t keep_top = top ? cp_batch_rows(ctx, top) : 0, keep_lvl = lvl ? cp_batch_rows(ctx, lvl) : 0;
    json_object *bids = su_get(root, "bids"), *asks = su_get(root, "asks"), *seq = su_get(root, "sequence");
    if (!json_object_is_type(bids, json_type_array) || !json_object_is_type(asks, json_type_array) || !seq) {
        cp_log_error(ctx, "book %s: expected sequence, bids and asks; response ignored", sym);
        return CP_ERR_PARSE;
    }
    /* the snapshot's own time when the API gives it, else when we got it */
    json_object *jt = su_get(root, "time");
    int64_t ts = jt ? (json_object_is_type(jt, json_type_string) ? cp_utc_parse_iso8601(json_object_get_string(jt)) : -1)
                    : received_at;
    if (ts < 0) {
        cp_log_error(ctx, "book %s: bad time; response ignored", sym);
        return CP_ERR_PARSE;
    }
    size_t want = levels ? levels : 1, nb, na;
    su_level *lb = su_levels_json(bids, want, &nb), *la = su_levels_json(asks, want, &na);
    su_book bk = {"coinbase", sym, sym, lb, la, nb, na, su_jval(seq), ts, received_at};
    su_row r = {.ok = true};
    bool ok = lb && la && su_book_rows(ctx, &bk, levels, top, lvl, &r.bad);
    free(lb);
    free(la);
    if (!ok) {
        if (!r.bad)
            r.bad = "(out of memory)";
        su_truncate(ctx, lvl, keep_lvl);
        return bad(ctx, "book", sym, &r, top, keep_top);
    }
    return CP_OK;
}

static cp_status cb_parse_trades(cp_ctx *ctx, json_object *root, const char *sym, int64_t received_at, cp_batch *out)
{
    if (!json_object_is_type(root, json_type_array)) {
        cp_log_error(ctx, "trades %s: expected an array; response ignored", sym);
        return CP_ERR_PARSE;
    }
    for (size_t i = 0; i < json_object_array_length(root); i++) {
        json_object *t = json_object_array_get_idx(root, i);
        json_object *id = su_get(t, "trade_id"), *side = su_get(t, "side");
        su_row r = su_row_add(ctx, out);
        row_common(&r, sym, CP_TRADE_EXCHANGE, CP_TRADE_SYMBOL, CP_TRADE_NATIVE_SYMBOL);
        su_require(&r, id, "trade_id");
        su_str(&r, CP_TRADE_TRADE_ID, id, "trade_id");
        su_iso_ts(&r, CP_TRADE_TS, su_get(t, "time"), "time");
        su_i64(&r, CP_TRADE_RECEIVED_AT, received_at);
        su_dec(&r, CP_TRADE_PRICE, su_get(t, "price"), "price");
        su_dec(&r, CP_TRADE_SIZE, su_get(t, "size"), "size");
        if (side) { /* the maker's side: a resting sell order was hit by a taker buying */
            const char *s = json_object_is_type(side, json_type_string) ? json_object_get_string(side) : "";
            if (strcmp(s, "buy") == 0)
                su_cstr(&r, CP_TRADE_SIDE, "sell");
            else if (strcmp(s, "sell") == 0)
                su_cstr(&r, CP_TRADE_SIDE, "buy");
            else
                r.ok = false, r.bad = r.bad ? r.bad : "side";
        }
        if (!r.ok)
            su_row_drop(&r, "trades", sym); /* only this trade goes */
    }
    return CP_OK;
}

/* Appends candles with open_time in [min_open, max_open), oldest first, and unless include_open
 * only closed ones (close_time < now). *last_closed gets the newest closed open_time appended
 * (or stays as it was). */
static cp_status cb_parse_candles(cp_ctx *ctx, json_object *root, const char *sym, const char *interval,
                                  int64_t interval_ms, int64_t now, bool include_open, int64_t min_open,
                                  int64_t max_open, int64_t received_at, cp_batch *out, int64_t *last_closed)
{
    if (!json_object_is_type(root, json_type_array)) {
        cp_log_error(ctx, "candles %s: expected an array; response ignored", sym);
        return CP_ERR_PARSE;
    }
    int64_t newest = *last_closed;
    for (size_t j = json_object_array_length(root); j-- > 0;) { /* newest first: walk backwards */
        json_object *k = json_object_array_get_idx(root, j);
        /* json-c asserts on get_idx of a non-array */
        json_object *jt = json_object_is_type(k, json_type_array) ? json_object_array_get_idx(k, 0) : NULL;
        if (!json_object_is_type(k, json_type_array) || json_object_array_length(k) < 6 ||
            !json_object_is_type(jt, json_type_int) || json_object_get_int64(jt) < 0 ||
            json_object_get_int64(jt) > INT64_MAX / 1000 - interval_ms) {
            su_bad_element(ctx, "candles", sym, "candle array", "not [time, low, high, open, close, volume]");
            continue;
        }
        int64_t open_time = json_object_get_int64(jt) * 1000, close_time = open_time + interval_ms - 1;
        bool closed = close_time < now;
        if (open_time < min_open || open_time >= max_open || (!closed && !include_open))
            continue;
        su_row r = su_ohlcv_row(ctx, out, "coinbase", sym, sym, interval, open_time, close_time, received_at);
        /* [time, low, high, open, close, volume] */
        su_dec(&r, CP_OHLCV_LOW, json_object_array_get_idx(k, 1), "low");
        su_dec(&r, CP_OHLCV_HIGH, json_object_array_get_idx(k, 2), "high");
        su_dec(&r, CP_OHLCV_OPEN, json_object_array_get_idx(k, 3), "open");
        su_dec(&r, CP_OHLCV_CLOSE, json_object_array_get_idx(k, 4), "close");
        su_dec(&r, CP_OHLCV_VOLUME, json_object_array_get_idx(k, 5), "volume");
        if (!r.ok) {
            su_row_drop(&r, "candles", sym);
            continue;
        }
        if (closed && open_time > newest)
            newest = open_time;
    }
    *last_closed = newest;
    return CP_OK;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void cb_destroy(void *instance)
{
    cb *c = instance;
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->sym[i]);
    free(c->sym);
    free(c->unknown);
    free(c);
}

/* Coinbase Exchange's error body: {"message": "NotFound"} */
static void cb_error_message(const char *body, size_t len, char *out, size_t outlen)
{
    static const char *const paths[] = {"message", NULL};
    su_error_json(body, len, out, outlen, paths);
}

/* Coinbase's candle granularities, as kline_interval spells them */
static const char *const cb_intervals[] = {"1m", "5m", "15m", "1h", "6h", "1d", NULL};
static const char *const cb_stream_hints[] = {
    "stats", "Coinbase's 24-hour stats (/products/{id}/stats) are not a stream of their own: the ticker stream "
             "carries them (open, high, low and volume of each ticker row)",
    "candles", "candles (/products/{id}/candles) are the ohlcv stream",
    "trades", "recent trades (/products/{id}/trades) are the trade stream",
    "book", "the order book (/products/{id}/book) is collected as book_top (best bid and ask) and book_level "
            "(depth levels)",
    NULL};

/* product ids as Coinbase writes them: btc-usd and BTC/USD become BTC-USD; false when not one */
static bool product_id(const char *in, char *out, size_t len)
{
    size_t n = strlen(in);
    if (n + 1 > len)
        return false;
    for (size_t k = 0; k <= n; k++)
        out[k] = in[k] == '/' ? '-' : (in[k] >= 'a' && in[k] <= 'z') ? (char)(in[k] - 32) : in[k];
    return strchr(out, '-') && strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static cp_status cb_check(const void *config, cp_check *chk)
{
    const cb_cfg *cfg = config;
    bool ok = su_check_streams(chk, &cfg->streams, cb_streams, cb_stream_hints);
    ok &= su_check_interval(chk, cfg->kline_interval, cb_intervals, "Coinbase",
                            "granularities 60 300 900 3600 21600 86400 seconds");
    ok &= su_check_url(chk, "base_url", cfg->base_url);
    for (size_t i = 0; i < cfg->symbols.n; i++) {
        char id[64];
        if (!product_id(cfg->symbols.v[i], id, sizeof id)) {
            cp_check_error(chk, "symbols", "\"%s\" is not a Coinbase product id such as BTC-USD", cfg->symbols.v[i]);
            ok = false;
        }
    }
    return ok ? CP_OK : CP_ERR_CONFIG;
}

static cp_status cb_create(cp_ctx *ctx, const void *config, void **instance)
{
    su_reqs_error_format(cb_error_message);
    const cb_cfg *cfg = config;
    if (cp_check_run_logged(ctx, config, cb_check) != CP_OK)
        return CP_ERR_CONFIG;
    int64_t iv = su_interval_ms(cfg->kline_interval);
    char host[256];
    su_url_host(cfg->base_url, host, sizeof host);
    cb *c = calloc(1, sizeof *c);
    if (!c || !(c->sym = calloc(cfg->symbols.n, sizeof *c->sym)) ||
        !(c->unknown = calloc(cfg->symbols.n, sizeof *c->unknown))) {
        if (c)
            free(c->sym);
        free(c);
        return CP_ERR_NOMEM;
    }
    c->cfg = cfg;
    c->interval_ms = iv;
    for (size_t i = 0; i < ST_COUNT; i++)
        c->want[i] = su_list_has(&cfg->streams, cb_streams[i]);
    for (size_t i = 0; i < cfg->symbols.n; i++, c->n++) {
        const char *in = cfg->symbols.v[i];
        size_t len = strlen(in);
        if (!(c->sym[i] = malloc(len + 1))) {
            cb_destroy(c);
            return CP_ERR_NOMEM;
        }
        product_id(in, c->sym[i], len + 1); /* btc-usd, BTC/USD → BTC-USD (cb_check accepted it) */
    }
    cp_http_limits lim = {.size = sizeof lim,
                          .max_concurrent = (int)cfg->max_concurrent,
                          .weight_per_minute = cfg->requests_per_minute};
    cp_http_limits_set(ctx, host, &lim);
    *instance = c;
    return CP_OK;
}

/* ---- products ----------------------------------------------------------------------------- */

/* Checks the configured ids against GET /products (see the top of this file). Returns CP_OK when
 * every id is listed, CP_ERR_CONFIG when some are skipped, or why the list could not be read. */
static cp_status cb_validate(cb *c, cp_ctx *ctx)
{
    if (c->validated)
        return CP_OK;
    char url[1024];
    snprintf(url, sizeof url, "%s/products", c->cfg->base_url);
    cp_http_request rq = CP_HTTP_REQUEST(.url = url, .error_message = cb_error_message);
    cp_http_response rs;
    cp_http_perform(ctx, &rq, &rs, 1);
    cp_status st = su_check(ctx, "products", &rs);
    json_object *root = st == CP_OK ? su_parse(ctx, "products", &rs) : NULL;
    cp_http_response_clear(ctx, &rs);
    if (st == CP_OK && !json_object_is_type(root, json_type_array)) {
        if (root)
            cp_log_error(ctx, "products: expected an array of products");
        st = CP_ERR_PARSE;
    }
    if (st != CP_OK) {
        json_object_put(root);
        cp_log_error(ctx, "cannot check the products: %s/products failed (%s); will retry next cycle",
                     c->cfg->base_url, cp_strerror(st));
        return st;
    }
    cp_status ret = CP_OK;
    size_t np = json_object_array_length(root);
    for (size_t i = 0; i < c->n; i++) {
        json_object *e = NULL;
        for (size_t k = 0; k < np && !e; k++) {
            json_object *id = su_get(json_object_array_get_idx(root, k), "id");
            if (json_object_is_type(id, json_type_string) && strcmp(json_object_get_string(id), c->sym[i]) == 0)
                e = json_object_array_get_idx(root, k);
        }
        c->unknown[i] = !e;
        if (!e) {
            cp_log_error(ctx, "symbols: unknown product \"%s\" (not listed by %s/products); skipped",
                         c->sym[i], c->cfg->base_url);
            ret = CP_ERR_CONFIG;
            continue;
        }
        json_object *status = su_get(e, "status"), *disabled = su_get(e, "trading_disabled");
        const char *why = json_object_get_string(su_get(e, "status_message"));
        if (json_object_is_type(status, json_type_string) && strcmp(json_object_get_string(status), "online") != 0)
            cp_log_warn(ctx, "product %s is \"%s\"%s%s; collecting it anyway", c->sym[i],
                        json_object_get_string(status), why && *why ? ": " : "", why && *why ? why : "");
        else if (json_object_get_boolean(disabled))
            cp_log_warn(ctx, "product %s has trading disabled; collecting it anyway", c->sym[i]);
    }
    json_object_put(root);
    c->validated = ret == CP_OK;
    return ret;
}

/* ---- requests ----------------------------------------------------------------------------- */

enum { K_TICKER, K_STATS, K_BOOK, K_TRADES, K_CANDLES };
static const char *const kind_names[] = {"ticker", "stats", "book", "trades", "candles"};

/* Adds request `r` for product r.sym; candles ask for open times [r.min_ts, r.max_ts). */
static bool add(cb *c, su_reqs *q, su_req r)
{
    cp_buf u = {0};
    cp_buf_printf(&u, "%s/products/%s/%s", c->cfg->base_url, c->sym[r.sym],
                  r.kind == K_BOOK ? "book?level=2" : kind_names[r.kind]);
    if (r.kind == K_TRADES)
        cp_buf_printf(&u, "?limit=%" PRId64, c->cfg->trade_limit);
    if (r.kind == K_CANDLES) {
        char a[32], b[32];
        cp_utc_iso8601_seconds(r.min_ts, a);
        cp_utc_iso8601_seconds(r.max_ts - 1000, b); /* end is inclusive at Coinbase */
        cp_buf_printf(&u, "?granularity=%" PRId64 "&start=%s&end=%s", c->interval_ms / 1000, a, b);
    }
    bool ok = su_reqs_add(q, r, 1, &u);
    cp_buf_free(&u);
    return ok;
}

/* The JSON of response i, or NULL (logged) when it failed; *st gets why. */
static json_object *response(cp_ctx *ctx, su_reqs *q, size_t i, cp_status *st)
{
    const char *ep = kind_names[q->r[i].kind];
    *st = su_check(ctx, ep, &q->s[i]);
    if (*st != CP_OK)
        return NULL;
    json_object *root = su_parse(ctx, ep, &q->s[i]);
    if (!root)
        *st = CP_ERR_PARSE;
    return root;
}

/* A candle window starting at `start`: up to CB_PAGE candles, ending before `limit`. */
static bool add_candles(cb *c, su_reqs *q, size_t i, int64_t start, int64_t limit)
{
    int64_t end = start + CB_PAGE * c->interval_ms;
    return add(c, q, (su_req){K_CANDLES, i, start, end < limit ? end : limit, CB_PAGE});
}

static void ohlcv_key(const cb *c, size_t i, char *key, size_t len)
{
    snprintf(key, len, "ohlcv/%s/%s", c->sym[i], c->cfg->kline_interval);
}

static bool outs_new(cb *c, cp_ctx *ctx, su_outs *o, bool ohlcv_only)
{
    bool want[ST_COUNT];
    for (size_t i = 0; i < ST_COUNT; i++)
        want[i] = c->want[i] && (!ohlcv_only || i == ST_OHLCV);
    return su_outs_new(ctx, o, cb_schemas, want, ST_COUNT, c->n);
}

/* Parses a candles response into o; advances *last (newest closed open_time). */
static cp_status candles(cb *c, cp_ctx *ctx, su_reqs *q, size_t j, su_outs *o, int64_t now, bool include_open,
                         int64_t *last)
{
    cp_status st;
    json_object *root = response(ctx, q, j, &st);
    if (root)
        st = cb_parse_candles(ctx, root, c->sym[q->r[j].sym], c->cfg->kline_interval, c->interval_ms, now,
                              include_open, q->r[j].min_ts, q->r[j].max_ts, q->s[j].received_at, o->b[ST_OHLCV], last);
    json_object_put(root);
    return st;
}

/* ---- collect ------------------------------------------------------------------------------ */

static cp_status cb_collect(void *instance, cp_ctx *ctx)
{
    cb *c = instance;
    cp_status vst = cb_validate(c, ctx);
    if (vst != CP_OK && vst != CP_ERR_CONFIG)
        return vst;
    int64_t now = cp_now_ms(ctx), iv = c->interval_ms;
    int64_t current = now - now % iv; /* open time of the candle still moving */
    int64_t *last = calloc(c->n ? c->n : 1, sizeof *last), *before = calloc(c->n ? c->n : 1, sizeof *before);
    su_reqs q = {0};
    su_outs o = {0};
    cp_status ret = CP_OK;
    bool ok = last && before && outs_new(c, ctx, &o, false);
    for (size_t i = 0; ok && i < c->n; i++) {
        if (c->unknown[i])
            continue;
        if (c->want[ST_TICKER])
            ok = add(c, &q, (su_req){K_TICKER, i, 0, 0, 0}) && add(c, &q, (su_req){K_STATS, i, 0, 0, 0});
        if (ok && (c->want[ST_BOOK_TOP] || c->want[ST_BOOK_LEVEL]))
            ok = add(c, &q, (su_req){K_BOOK, i, 0, 0, 0});
        if (ok && c->want[ST_TRADE])
            ok = add(c, &q, (su_req){K_TRADES, i, 0, 0, 0});
        if (ok && c->want[ST_OHLCV]) {
            char key[160];
            ohlcv_key(c, i, key, sizeof key);
            if (!su_state_get_i64(ctx, key, &last[i]))
                last[i] = current - (c->cfg->warmup + 1) * iv; /* first poll: the latest `warmup` closed candles */
            before[i] = last[i];
            ok = add_candles(c, &q, i, last[i] + iv, current + iv);
        }
    }
    for (int64_t page = 0; ok && q.n > 0; page++) {
        if (!(ok = su_reqs_perform(ctx, &q)))
            break;
        su_reqs next = {0};
        for (size_t j = 0; j < q.n; j++) {
            const su_req *r = &q.r[j];
            const char *sym = c->sym[r->sym];
            cp_status st = CP_OK;
            int64_t at = q.s[j].received_at;
            if (r->kind == K_CANDLES) {
                int64_t lc = last[r->sym];
                st = candles(c, ctx, &q, j, &o, now, c->cfg->include_open_candle, &lc);
                if (st == CP_OK) {
                    /* a window wholly in the past with no trades has no candles: skip past it */
                    last[r->sym] = lc > last[r->sym] ? lc : r->max_ts <= current ? r->max_ts - iv : last[r->sym];
                    if (r->max_ts <= current && page + 1 < c->cfg->max_pages)
                        ok = ok && add_candles(c, &next, r->sym, r->max_ts, current + iv);
                }
            } else if (r->kind == K_TICKER) {
                cp_status st2;
                json_object *tick = response(ctx, &q, j, &st), *stats = response(ctx, &q, j + 1, &st2);
                if (st == CP_OK && st2 == CP_OK)
                    st = cb_parse_ticker(ctx, tick, stats, sym, at, o.b[ST_TICKER]);
                else if (st == CP_OK)
                    st = st2;
                json_object_put(tick);
                json_object_put(stats);
                j++; /* stats always follows its ticker */
            } else {
                json_object *root = response(ctx, &q, j, &st);
                if (root && r->kind == K_BOOK)
                    st = cb_parse_book(ctx, root, sym, (size_t)c->cfg->depth, at, o.b[ST_BOOK_TOP], o.b[ST_BOOK_LEVEL]);
                else if (root)
                    st = cb_parse_trades(ctx, root, sym, at, o.b[ST_TRADE]);
                json_object_put(root);
            }
            if (st != CP_OK && ret == CP_OK)
                ret = st;
        }
        su_reqs_free(ctx, &q);
        q = next;
    }
    su_reqs_free(ctx, &q);
    if (!ok && ret == CP_OK)
        ret = CP_ERR_NOMEM;
    cp_status est = su_outs_emit(ctx, &o);
    if (est != CP_OK && ret == CP_OK)
        ret = est;
    for (size_t i = 0; est == CP_OK && last && before && i < c->n && c->want[ST_OHLCV]; i++) {
        if (last[i] == before[i])
            continue;
        char key[160];
        ohlcv_key(c, i, key, sizeof key);
        su_state_set_i64(ctx, key, last[i]);
    }
    su_outs_free(ctx, &o);
    free(last);
    free(before);
    return ret != CP_OK ? ret : vst;
}

/* ---- backfill ----------------------------------------------------------------------------- */

static void backfill_key(const cb *c, size_t i, int64_t from, int64_t to, char *key, size_t len)
{
    snprintf(key, len, "backfill/ohlcv/%s/%s/%" PRId64 "-%" PRId64, c->sym[i], c->cfg->kline_interval, from, to);
}

static cp_status cb_backfill(void *instance, cp_ctx *ctx, int64_t from_ms, int64_t to_ms)
{
    cb *c = instance;
    if (!c->want[ST_OHLCV]) {
        cp_log_error(ctx, "backfill: nothing to do (streams need ohlcv)");
        return CP_ERR_UNSUPPORTED;
    }
    cp_status vst = cb_validate(c, ctx);
    if (vst != CP_OK)
        return vst; /* a backfill names its products: all of them must exist */
    int64_t iv = c->interval_ms, now = cp_now_ms(ctx);
    int64_t start = from_ms + (iv - from_ms % iv) % iv; /* first whole candle */
    int64_t stop = to_ms < now - now % iv ? to_ms : now - now % iv; /* closed candles only */
    if (stop <= start)
        return CP_OK;
    int64_t *next = calloc(c->n ? c->n : 1, sizeof *next);
    if (!next)
        return CP_ERR_NOMEM;
    char key[256];
    for (size_t i = 0; i < c->n; i++) {
        int64_t v;
        next[i] = start;
        backfill_key(c, i, from_ms, to_ms, key, sizeof key);
        if (su_state_get_i64(ctx, key, &v) && v > start && v <= stop) {
            next[i] = v;
            cp_log_info(ctx, "backfill: ohlcv %s resumes at checkpoint %" PRId64, c->sym[i], v);
        }
    }
    uint64_t rows = 0;
    cp_status ret = CP_OK;
    while (ret == CP_OK) {
        if (cp_stopping(ctx)) {
            ret = CP_ERR_STOPPED;
            break;
        }
        su_reqs q = {0};
        su_outs o = {0};
        bool ok = true;
        for (size_t i = 0; ok && i < c->n; i++)
            if (next[i] < stop)
                ok = add_candles(c, &q, i, next[i], stop);
        if (ok && q.n == 0) {
            su_reqs_free(ctx, &q);
            break;
        }
        if (!ok || !su_reqs_perform(ctx, &q) || !outs_new(c, ctx, &o, true)) {
            su_outs_free(ctx, &o);
            su_reqs_free(ctx, &q);
            ret = CP_ERR_NOMEM;
            break;
        }
        bool *done = calloc(q.n, sizeof *done);
        for (size_t j = 0; done && j < q.n; j++) {
            int64_t lc = INT64_MIN;
            cp_status st = candles(c, ctx, &q, j, &o, now, false, &lc);
            done[j] = st == CP_OK;
            if (st != CP_OK && ret == CP_OK)
                ret = st;
        }
        rows += cp_batch_rows(ctx, o.b[ST_OHLCV]);
        cp_status est = done ? su_outs_emit(ctx, &o) : CP_ERR_NOMEM;
        su_outs_free(ctx, &o);
        if (est != CP_OK) {
            ret = est;
        } else { /* checkpoint what was emitted; a failed window is asked again on resume */
            for (size_t j = 0; j < q.n; j++) {
                if (!done[j])
                    continue;
                size_t i = q.r[j].sym;
                next[i] = q.r[j].max_ts;
                backfill_key(c, i, from_ms, to_ms, key, sizeof key);
                su_state_set_i64(ctx, key, next[i]);
            }
        }
        free(done);
        su_reqs_free(ctx, &q);
        double frac = 0;
        for (size_t i = 0; i < c->n; i++)
            frac += (double)(next[i] - start) / (double)(stop - start);
        cp_progress(ctx, c->n ? frac / (double)c->n : 1.0, rows);
    }
    for (size_t i = 0; ret == CP_OK && i < c->n; i++) { /* finished: the range's checkpoints go */
        backfill_key(c, i, from_ms, to_ms, key, sizeof key);
        cp_state_set(ctx, key, NULL);
    }
    free(next);
    return ret;
}

/* ---- candle series (for `coinpipe gaps`) ------------------------------------------------------ */

static cp_status cb_candle_series(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user)
{
    cb *c = instance;
    for (size_t i = 0; c->want[ST_OHLCV] && i < c->n; i++) {
        if (c->unknown[i]) /* /products did not list it (known only after a request) */
            continue;
        cp_series s = CP_SERIES(.exchange = "coinbase", .symbol = c->sym[i], .native_symbol = c->sym[i], /* both */
                                .interval = c->cfg->kline_interval);
        if (!fn(user, &s))
            break;
    }
    return CP_OK;
}

static cp_status cb_declare(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                              cp_schema_fn fn, void *user)
{
    return su_schemas(ctx, &((const cb_cfg *)config)->streams, cb_streams, fn, user);
}

CP_PLUGIN_DEFINE(.name = "coinbase", .kind = CP_SOURCE, .version = "0.1.0",
                 .description = "Coinbase Exchange: ticker (+stats), book_top, book_level, trade, ohlcv (/products)",
                 .options = cb_options, .config_size = sizeof(cb_cfg), .check = cb_check, .create = cb_create,
                 .destroy = cb_destroy, .collect = cb_collect, .backfill = cb_backfill, .candle_series = cb_candle_series,
                 .schemas = cb_declare);
