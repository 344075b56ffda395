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
 * mode = "stream" (no pipeline interval): the Exchange WebSocket feed at ws_url (see "stream mode"
 * below): trade from `matches`, ticker and book_top from `ticker`, book_level from a local book
 * kept from `level2_batch`, `heartbeat` for stalls and lost trades; holes repaired from
 * GET /products/{id}/trades?after=, the book by subscribing again.
 * Public endpoints allow about 10 requests per second per IP: the host budget defaults to 600/min.
 * With archive_raw every response body of a cycle (products included) is also a row of the raw stream.
 * symbols = ["top:N"] collects the N online products quoted in universe_quote with the largest
 * 24-hour volume in it (GET /products/{id}/stats of each: volume times last), or those whose base
 * assets CoinGecko ranks highest (universe_source = coingecko), resolved again every
 * universe_refresh, each change logged (common/universe.h).
 */
#include "common/book.h"
#include "common/srcutil.h"
#include "common/universe.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    /* stream mode */
    char *mode;
    char *ws_url;
    int64_t stall_timeout;
    int64_t max_message;
    int64_t book_interval;
    bool archive_raw;
    su_universe_cfg u;
} cb_cfg;

static const char *const cb_modes[] = {"poll", "stream", NULL};

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
     .doc = "Products to collect, e.g. BTC-USD (case-insensitive; BTC/USD is accepted too), or the rule "
            "[\"top:N\"] (see the universe_ options)."},
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
    {.name = "mode", .type = CP_OPT_ENUM, .def = "\"poll\"", .offset = offsetof(cb_cfg, mode), .choices = cb_modes,
     .doc = "poll: REST each interval; stream: the WebSocket feed, continuously (the pipeline has no interval)."},
    {.name = "ws_url", .type = CP_OPT_STRING, .def = "\"wss://ws-feed.exchange.coinbase.com\"",
     .offset = offsetof(cb_cfg, ws_url),
     .doc = "URL of the Exchange WebSocket feed (mode = stream); base_url stays the REST API used for repairs."},
    {.name = "stall_timeout", .type = CP_OPT_DURATION, .def = "\"30s\"", .min = 1000, .max = 3600000,
     .offset = offsetof(cb_cfg, stall_timeout),
     .doc = "A feed connection that brings nothing for this long (heartbeats come every second) is reopened."},
    {.name = "max_message", .type = CP_OPT_SIZE, .def = "\"16M\"", .min = 1024, .max = 268435456,
     .offset = offsetof(cb_cfg, max_message),
     .doc = "Largest WebSocket message accepted (a level2 snapshot is the largest); a larger one drops the "
            "connection."},
    {.name = "book_interval", .type = CP_OPT_DURATION, .def = "\"1s\"", .min = 10, .max = 3600000,
     .offset = offsetof(cb_cfg, book_interval),
     .doc = "How often the top `depth` levels of each local order book are written as book_level rows "
            "(mode = stream)."},
    {.name = "archive_raw", .type = CP_OPT_BOOL, .def = "false", .offset = offsetof(cb_cfg, archive_raw),
     .doc = "Also emit every response body byte for byte as the raw stream (s3-csv: gzipped under <prefix>/raw/)."},
    SU_UNIVERSE_OPTIONS(cb_cfg, u, "\"USD\""),
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
    size_t top;      /* symbols = ["top:N"]: N, else 0 */
    su_universe uni;
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

/* Appends the trades of a /trades page whose trade_id is in [lo, hi]; *min_id (may be NULL) gets
 * the smallest integer trade_id of the page (INT64_MAX when none), the cursor of the next older
 * page. */
static cp_status cb_parse_trades(cp_ctx *ctx, json_object *root, const char *sym, int64_t received_at, cp_batch *out,
                                 int64_t lo, int64_t hi, int64_t *min_id)
{
    if (min_id)
        *min_id = INT64_MAX;
    if (!json_object_is_type(root, json_type_array)) {
        cp_log_error(ctx, "trades %s: expected an array; response ignored", sym);
        return CP_ERR_PARSE;
    }
    for (size_t i = 0; i < json_object_array_length(root); i++) {
        json_object *t = json_object_array_get_idx(root, i);
        json_object *id = su_get(t, "trade_id"), *side = su_get(t, "side");
        if (json_object_is_type(id, json_type_int)) {
            int64_t v = json_object_get_int64(id);
            if (min_id && v < *min_id)
                *min_id = v;
            if (v < lo || v > hi)
                continue;
        }
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
    su_universe_free(&c->uni);
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
    if (cfg->mode && strcmp(cfg->mode, "stream") == 0) {
        if (su_list_has(&cfg->streams, "ohlcv")) {
            cp_check_error(chk, "streams", "mode = \"stream\" collects trade, ticker, book_top and book_level: the "
                                           "Exchange feed has no candles (collect ohlcv in a polling pipeline)");
            ok = false;
        }
        if (!cfg->ws_url || (strncmp(cfg->ws_url, "ws://", 5) != 0 && strncmp(cfg->ws_url, "wss://", 6) != 0)) {
            cp_check_error(chk, "ws_url", "\"%s\" is not a WebSocket URL (wss://host[:port]/path)",
                           cfg->ws_url ? cfg->ws_url : "");
            ok = false;
        }
    }
    ok &= su_universe_check(chk, &cfg->symbols, &cfg->u, "Coinbase");
    if (su_universe_rule(&cfg->symbols) && cfg->mode && strcmp(cfg->mode, "stream") == 0) {
        cp_check_error(chk, "symbols", "a rule such as \"top:50\" is resolved on the REST cycles of mode = \"poll\"; "
                                       "mode = \"stream\" needs a list of products");
        ok = false;
    }
    for (size_t i = 0; i < cfg->symbols.n; i++) {
        char id[64];
        if (strncmp(cfg->symbols.v[i], "top:", 4) == 0)
            continue; /* a rule: su_universe_check said what is wrong with it */
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
    size_t top = su_universe_rule(&cfg->symbols), n = top ? 1 : cfg->symbols.n; /* a rule's come later */
    if (!c || !(c->sym = calloc(n, sizeof *c->sym)) || !(c->unknown = calloc(n, sizeof *c->unknown))) {
        if (c)
            free(c->sym);
        free(c);
        return CP_ERR_NOMEM;
    }
    c->cfg = cfg;
    c->interval_ms = iv;
    c->top = top;
    for (size_t i = 0; i < ST_COUNT; i++)
        c->want[i] = su_list_has(&cfg->streams, cb_streams[i]);
    for (size_t i = 0; !top && i < cfg->symbols.n; i++, c->n++) {
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

enum { K_TICKER, K_STATS, K_BOOK, K_TRADES, K_CANDLES };
static const char *const kind_names[] = {"ticker", "stats", "book", "trades", "candles"};

/* The products of the universe's set as the instance's symbols. */
static bool cb_take_universe(cb *c)
{
    size_t n = c->uni.n;
    char **sym = calloc(n ? n : 1, sizeof *sym);
    bool *unknown = calloc(n ? n : 1, sizeof *unknown);
    for (size_t i = 0; sym && unknown && i < n; i++)
        if (!(sym[i] = strdup(c->uni.native[i]))) {
            for (size_t j = 0; j < i; j++)
                free(sym[j]);
            free(sym);
            sym = NULL;
        }
    if (!sym || !unknown) {
        free(sym);
        free(unknown);
        return false;
    }
    for (size_t i = 0; i < c->n; i++)
        free(c->sym[i]);
    free(c->sym);
    free(c->unknown);
    c->sym = sym, c->unknown = unknown, c->n = n;
    return true;
}

/* symbols = ["top:N"]: resolves the set when it is due (GET /products, then each candidate's
 * /stats, or CoinGecko's ranking). CP_OK when the set is usable (also when a refresh failed and the
 * old set stays), else why not. */
static cp_status cb_universe(cb *c, cp_ctx *ctx)
{
    int64_t now = cp_now_ms(ctx);
    if (!su_universe_due(&c->uni, now))
        return CP_OK;
    bool gecko = c->cfg->u.source && strcmp(c->cfg->u.source, "coingecko") == 0;
    char url[1024];
    snprintf(url, sizeof url, "%s/products", c->cfg->base_url);
    cp_http_request rq = CP_HTTP_REQUEST(.url = url, .error_message = cb_error_message);
    cp_http_response rs;
    cp_http_perform(ctx, &rq, &rs, 1);
    cp_batch *raw = NULL;
    if (c->cfg->archive_raw)
        su_raw_add(ctx, &raw, "coinbase", "products", url, &rs);
    cp_status st = su_check(ctx, "products", &rs);
    json_object *root = st == CP_OK ? su_parse(ctx, "products", &rs) : NULL;
    cp_http_response_clear(ctx, &rs);
    if (st == CP_OK && !json_object_is_type(root, json_type_array))
        st = CP_ERR_PARSE;
    size_t np = st == CP_OK ? json_object_array_length(root) : 0, nc = 0;
    su_cand *cand = calloc(np ? np : 1, sizeof *cand);
    su_reqs q = {0};
    if (st == CP_OK && !cand)
        st = CP_ERR_NOMEM;
    for (size_t i = 0; st == CP_OK && i < np; i++) { /* online products in the quote asset */
        json_object *e = json_object_array_get_idx(root, i);
        const char *id = json_object_get_string(su_get(e, "id")), *quote = json_object_get_string(su_get(e, "quote_currency"));
        const char *status = json_object_get_string(su_get(e, "status"));
        if (!id || !quote || strcasecmp(quote, c->cfg->u.quote) != 0 || (status && strcmp(status, "online") != 0) ||
            json_object_get_boolean(su_get(e, "trading_disabled")))
            continue;
        cand[nc++] = (su_cand){id, id, NAN};
        if (!gecko) {
            cp_buf u = {0};
            cp_buf_printf(&u, "%s/products/%s/stats", c->cfg->base_url, id);
            if (!su_reqs_add(&q, (su_req){K_STATS, nc - 1, 0, 0, 0}, 1, &u))
                st = CP_ERR_NOMEM;
            cp_buf_free(&u);
        }
    }
    if (st == CP_OK && q.n && !su_reqs_perform(ctx, &q))
        st = CP_ERR_NOMEM;
    for (size_t j = 0; st == CP_OK && j < q.n; j++) { /* 24 h volume (base) times last (quote) */
        if (c->cfg->archive_raw)
            su_raw_add(ctx, &raw, "coinbase", "stats", q.urls[j], &q.s[j]);
        json_object *o = su_check(ctx, "stats", &q.s[j]) == CP_OK ? su_parse(ctx, "stats", &q.s[j]) : NULL;
        const char *vol = json_object_get_string(su_get(o, "volume")), *last = json_object_get_string(su_get(o, "last"));
        if (vol && last)
            cand[q.r[j].sym].volume = strtod(vol, NULL) * strtod(last, NULL);
        json_object_put(o);
    }
    su_emit(ctx, raw);
    for (size_t i = 0; gecko && i < nc; i++)
        cand[i].volume = 0; /* unknown: CoinGecko's rank decides */
    bool changed;
    st = su_universe_resolve(ctx, &c->uni, &c->cfg->u, c->top, st, cand, nc, now, &changed);
    if (changed && !cb_take_universe(c)) {
        cp_log_error(ctx, "universe: out of memory taking the new set");
        st = CP_ERR_NOMEM;
    }
    su_reqs_free(ctx, &q);
    free(cand);
    json_object_put(root);
    return st;
}

/* Checks the configured ids against GET /products (see the top of this file). Returns CP_OK when
 * every id is listed, CP_ERR_CONFIG when some are skipped, or why the list could not be read. A
 * rule resolves its set instead (cb_universe). */
static cp_status cb_validate(cb *c, cp_ctx *ctx)
{
    if (c->top)
        return cb_universe(c, ctx);
    if (c->validated)
        return CP_OK;
    char url[1024];
    snprintf(url, sizeof url, "%s/products", c->cfg->base_url);
    cp_http_request rq = CP_HTTP_REQUEST(.url = url, .error_message = cb_error_message);
    cp_http_response rs;
    cp_http_perform(ctx, &rq, &rs, 1);
    if (c->cfg->archive_raw) {
        cp_batch *raw = NULL;
        su_raw_add(ctx, &raw, "coinbase", "products", url, &rs);
        su_emit(ctx, raw);
    }
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
    if (c->cfg->mode && strcmp(c->cfg->mode, "stream") == 0) {
        cp_log_error(ctx, "mode = \"stream\" runs continuously: remove the pipeline's interval and schedule");
        return CP_ERR_CONFIG;
    }
    cp_status vst = cb_validate(c, ctx);
    if (vst != CP_OK && vst != CP_ERR_CONFIG)
        return vst;
    int64_t now = cp_now_ms(ctx), iv = c->interval_ms;
    int64_t current = now - now % iv; /* open time of the candle still moving */
    int64_t *last = calloc(c->n ? c->n : 1, sizeof *last), *before = calloc(c->n ? c->n : 1, sizeof *before);
    su_reqs q = {0};
    su_outs o = {0};
    cp_batch *raw = NULL;
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
        for (size_t j = 0; c->cfg->archive_raw && j < q.n; j++)
            su_raw_add(ctx, &raw, "coinbase", kind_names[q.r[j].kind], q.urls[j], &q.s[j]);
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
                    st = cb_parse_trades(ctx, root, sym, at, o.b[ST_TRADE], INT64_MIN, INT64_MAX, NULL);
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
    cp_status est = su_outs_emit(ctx, &o), rst = su_emit(ctx, raw);
    if (est != CP_OK && ret == CP_OK)
        ret = est;
    if (rst != CP_OK && ret == CP_OK)
        ret = rst;
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

/* ---- stream mode: the Exchange WebSocket feed ----------------------------------------------- */
/* One connection subscribes every product to `matches` (trade), `ticker` (ticker, book_top),
 * `level2_batch` (book_level) and `heartbeat`. Coinbase's `sequence` is per product across the
 * whole feed, so on these channels it grows with gaps: a message whose sequence is lower than one
 * already seen is out of order and dropped. Holes are found by trade_id, consecutive per product:
 * in `match`, in the `last_match` each subscription starts with (what happened while we were
 * away) and in every heartbeat's `last_trade_id` (a lost trade in a quiet market). A hole is
 * fetched over REST (GET /products/{id}/trades?after=, newest first, paged by the smallest id),
 * and as the connection dropped messages the local book is suspect too: level2_batch of that
 * product is subscribed again, which brings a fresh snapshot. The book (snapshot + l2update
 * changes, sizes absolute, "0" removes a level) is written as its top `depth` levels every
 * book_interval when it changed. A connection silent for stall_timeout is dropped (heartbeats
 * come every second); reconnects back off exponentially with jitter. */

#define CB_PX_TEXT 32 /* a price or size longer than this is refused (Coinbase's are ~20) */


typedef struct cb_prod {
    int64_t last_trade, saved_trade; /* -1 before the first */
    int64_t last_seq;
    su_side bids, asks;
    bool have_book, book_dirty, resyncing;
    int64_t book_ts, emitted_ts;
    size_t ticker_row, top_row; /* its last ticker and book_top rows (su_keep_last) */
} cb_prod;

typedef struct cb_live {
    cb *c;
    cp_ctx *ctx;
    cp_ws *ws;
    bool open, closed, restarted;
    int64_t last_msg;
    cb_prod *p;
    cp_batch *trades, *tickers, *tops;
    uint64_t messages, bad, stale, repairs, repaired_rows, reconnects, resyncs;
    uint64_t counted, counted_bad;
    int64_t next_book;
} cb_live;

/* one change: size 0 removes the level; false on a value that is not a price and size */
static bool side_set(su_side *s, const sj_val *price, const sj_val *size)
{
    if (price->type != SJ_STRING || size->type != SJ_STRING || price->esc || size->esc || !price->len ||
        !size->len || price->len >= CB_PX_TEXT || size->len >= CB_PX_TEXT)
        return false;
    char pt[CB_PX_TEXT], st[CB_PX_TEXT], *end;
    memcpy(pt, price->p, price->len);
    pt[price->len] = 0;
    memcpy(st, size->p, size->len);
    st[size->len] = 0;
    double px = strtod(pt, &end);
    if (*end || !(px > 0) || px > 1e300)
        return false;
    double sz = strtod(st, &end);
    if (*end || !(sz >= 0) || sz > 1e300)
        return false;
    return su_side_set(s, px, sz, pt, st);
}

/* UTC ms of an ISO-8601 string value ("2014-11-07T08:19:27.028459Z"); -1 when it is not one */
static int64_t iso_ms(const sj_val *v)
{
    char t[64];
    if (v->type != SJ_STRING || v->esc || v->len >= sizeof t)
        return -1;
    memcpy(t, v->p, v->len);
    t[v->len] = 0;
    return cp_utc_parse_iso8601(t);
}

static size_t product_of(const cb *c, const sj_val *v)
{
    for (size_t i = 0; v->type == SJ_STRING && i < c->n; i++)
        if (!c->unknown[i] && sj_eq(v, c->sym[i], strlen(c->sym[i])))
            return i;
    return SIZE_MAX;
}

static void ws_send_text(cb_live *lv, cp_buf *b)
{
    if (!b->oom && lv->ws && cp_ws_send(lv->ctx, lv->ws, b->p, b->len) != CP_OK)
        cp_log_warn(lv->ctx, "cannot send on the feed connection: %.60s", b->p);
    cp_buf_free(b);
}

/* the book of product i is suspect: subscribe its level2_batch again for a fresh snapshot */
static void book_resync(cb_live *lv, size_t i, const char *why)
{
    cb_prod *p = &lv->p[i];
    if (!lv->c->want[ST_BOOK_LEVEL] || !p->have_book)
        return;
    p->have_book = false;
    p->resyncing = true;
    p->bids.n = p->asks.n = 0;
    lv->resyncs++;
    cp_stream_count(lv->ctx, CP_STREAM_GAPS, 1);
    cp_log_warn(lv->ctx, "repair: %s order book resubscribed for a fresh snapshot (%s; resync %" PRIu64 ")",
                lv->c->sym[i], why, lv->resyncs);
    for (int sub = 0; sub < 2; sub++) {
        cp_buf b = {0};
        cp_buf_printf(&b, "{\"type\":\"%s\",\"product_ids\":[\"%s\"],\"channels\":[\"level2_batch\"]}",
                      sub ? "subscribe" : "unsubscribe", lv->c->sym[i]);
        ws_send_text(lv, &b);
    }
}

/* Fetches trade ids [from, to] of product i over REST (newest first, `after` = the smallest id
 * seen so far) and emits them; the stream then moves on past `to` whatever came back. */
static void repair_trades(cb_live *lv, size_t i, int64_t from, int64_t to)
{
    cb *c = lv->c;
    cp_ctx *ctx = lv->ctx;
    const char *sym = c->sym[i];
    cp_batch *out = cp_batch_new(ctx, &cp_trade_schema, (size_t)(to - from + 1 < 1000 ? to - from + 1 : 1000));
    int64_t after = to + 1;
    cp_status st = out ? CP_OK : CP_ERR_NOMEM;
    for (int page = 0; st == CP_OK && page < 1000 && !cp_stopping(ctx) && after > from; page++) {
        char url[1024];
        snprintf(url, sizeof url, "%s/products/%s/trades?after=%" PRId64 "&limit=1000", c->cfg->base_url, sym, after);
        cp_http_request rq = CP_HTTP_REQUEST(.url = url, .error_message = cb_error_message);
        cp_http_response rs;
        cp_http_perform(ctx, &rq, &rs, 1);
        st = su_check(ctx, "trades", &rs);
        json_object *root = st == CP_OK ? su_parse(ctx, "trades", &rs) : NULL;
        int64_t min_id = INT64_MAX;
        if (st == CP_OK)
            st = root ? cb_parse_trades(ctx, root, sym, rs.received_at, out, from, to, &min_id) : CP_ERR_PARSE;
        cp_http_response_clear(ctx, &rs);
        json_object_put(root);
        if (st != CP_OK || min_id >= after) /* nothing older: done */
            break;
        after = min_id;
    }
    int64_t got = out ? (int64_t)cp_batch_rows(ctx, out) : 0;
    if (out)
        cp_emit(ctx, out);
    if (to > lv->p[i].last_trade)
        lv->p[i].last_trade = to;
    lv->repairs++;
    lv->repaired_rows += (uint64_t)got;
    if (st != CP_OK)
        cp_log_error(ctx, "repair of %s trade ids %" PRId64 "..%" PRId64 " failed (%s): %" PRId64 " of %" PRId64
                          " fetched, the others are missing", sym, from, to, cp_strerror(st), got, to - from + 1);
    else {
        cp_stream_count(ctx, CP_STREAM_GAPS_FILLED, 1);
        cp_log_warn(ctx, "repair: %s trade ids %" PRId64 "..%" PRId64 " fetched over REST (%" PRId64
                         " rows; repair %" PRIu64 ")", sym, from, to, got, lv->repairs);
        if (got < to - from + 1)
            cp_log_error(ctx, "repair of %s trade ids %" PRId64 "..%" PRId64 ": the exchange returned %" PRId64
                              " of them; the others are missing", sym, from, to, got);
    }
    cp_stream_count(ctx, CP_STREAM_REPAIRED_ROWS, (uint64_t)got);
}

/* trade id `id` of product i exists (`what` says how we know: a match in hand, or a heartbeat's
 * last_trade_id, in_hand false, which is fetched too): repairs the ids never seen up to it (and,
 * with `resync`, the book), then counts it as seen; false when it was already. */
static bool trade_seen(cb_live *lv, size_t i, int64_t id, bool in_hand, bool resync, const char *what)
{
    cb_prod *p = &lv->p[i];
    int64_t last = p->last_trade, to = in_hand ? id - 1 : id;
    if (last >= 0 && id <= last)
        return false;
    if (last >= 0 && to > last) {
        cp_log_warn(lv->ctx, "gap: %s trade ids %" PRId64 "..%" PRId64 " missed (%s%s)", lv->c->sym[i], last + 1, to,
                    what, lv->restarted ? ", since the last run" : "");
        cp_stream_count(lv->ctx, CP_STREAM_GAPS, 1);
        if (lv->c->want[ST_TRADE])
            repair_trades(lv, i, last + 1, to);
        if (resync) /* not after a (re)subscription: its snapshot is fresh */
            book_resync(lv, i, "messages were lost");
    }
    p->last_trade = id;
    return true;
}

enum { F_TYPE, F_PRODUCT, F_SEQ, F_TRADE_ID, F_TIME, F_PRICE, F_SIZE, F_SIDE, F_BID, F_BID_SIZE, F_ASK, F_ASK_SIZE,
       F_OPEN, F_HIGH, F_LOW, F_VOLUME, F_LAST_TRADE, F_MESSAGE, F_REASON, F_BIDS, F_ASKS, F_CHANGES, F_N };
static const char *const cb_fields[F_N] = {"type", "product_id", "sequence", "trade_id", "time", "price",
                                           "size", "side", "best_bid", "best_bid_size", "best_ask", "best_ask_size",
                                           "open_24h", "high_24h", "low_24h", "volume_24h", "last_trade_id",
                                           "message", "reason", "bids", "asks", "changes"};

/* snapshot bids/asks ([[price, size], ...]) or l2update changes ([[side, price, size], ...]) */
static bool book_apply(cb_prod *p, sj *j, int which)
{
    sj_val e[3];
    size_t n;
    while (sj_next(j)) {
        sj_val el;
        if (!sj_value(j, &el) || el.type != SJ_ARRAY || !sj_elements(j, e, 3, &n))
            return false;
        if (which == F_CHANGES) {
            bool bid = n == 3 && sj_eq(&e[0], "buy", 3);
            if (n != 3 || (!bid && !sj_eq(&e[0], "sell", 4)) || !side_set(bid ? &p->bids : &p->asks, &e[1], &e[2]))
                return false;
        } else if (n < 2 || !side_set(which == F_BIDS ? &p->bids : &p->asks, &e[0], &e[1])) {
            return false;
        }
    }
    return !j->err;
}

static void bad_message(cb_live *lv, const char *why, const char *data, size_t len)
{
    if (lv->bad++ < 10 || lv->bad % 1000 == 0)
        cp_log_warn(lv->ctx, "feed message ignored (%s): %.80s%s (%" PRIu64 " so far)", why, data,
                    len > 80 ? "..." : "", lv->bad);
}

static void trade_row(cb_live *lv, size_t i, const sj_val *f, int64_t now)
{
    su_row r = su_row_add(lv->ctx, lv->trades);
    row_common(&r, lv->c->sym[i], CP_TRADE_EXCHANGE, CP_TRADE_SYMBOL, CP_TRADE_NATIVE_SYMBOL);
    su_vstr(&r, CP_TRADE_TRADE_ID, &f[F_TRADE_ID], "trade_id");
    int64_t ts = iso_ms(&f[F_TIME]);
    if (ts < 0)
        r.ok = false, r.bad = r.bad ? r.bad : "time";
    su_i64(&r, CP_TRADE_TS, ts);
    su_i64(&r, CP_TRADE_RECEIVED_AT, now);
    su_vdec(&r, CP_TRADE_PRICE, &f[F_PRICE], "price");
    su_vdec(&r, CP_TRADE_SIZE, &f[F_SIZE], "size");
    if (sj_eq(&f[F_SIDE], "buy", 3)) /* the maker's side: the taker sold */
        su_cstr(&r, CP_TRADE_SIDE, "sell");
    else if (sj_eq(&f[F_SIDE], "sell", 4))
        su_cstr(&r, CP_TRADE_SIDE, "buy");
    else
        r.ok = false, r.bad = r.bad ? r.bad : "side";
    if (!r.ok) {
        su_row_drop(&r, "matches", lv->c->sym[i]);
        lv->bad++;
    }
}

/* A ticker message gives ticker and book_top rows keyed on its time in milliseconds: a product's
 * later message of the same millisecond (one taker order filling several makers sends one each)
 * replaces its earlier row in the micro-batch (su_keep_last); the sinks keep the latest across batches */
static void ticker_rows(cb_live *lv, size_t i, const sj_val *f, int64_t now)
{
    cb *c = lv->c;
    int64_t ts = iso_ms(&f[F_TIME]);
    if (ts < 0) {
        bad_message(lv, "ticker without a time", "", 0);
        return;
    }
    if (c->want[ST_TICKER]) {
        su_row r = su_row_add(lv->ctx, lv->tickers);
        row_common(&r, c->sym[i], CP_TICKER_EXCHANGE, CP_TICKER_SYMBOL, CP_TICKER_NATIVE_SYMBOL);
        su_i64(&r, CP_TICKER_TS, ts);
        su_i64(&r, CP_TICKER_RECEIVED_AT, now);
        su_vdec(&r, CP_TICKER_LAST, &f[F_PRICE], "price");
        su_vdec(&r, CP_TICKER_BID, &f[F_BID], "best_bid");
        su_vdec(&r, CP_TICKER_BID_SIZE, &f[F_BID_SIZE], "best_bid_size");
        su_vdec(&r, CP_TICKER_ASK, &f[F_ASK], "best_ask");
        su_vdec(&r, CP_TICKER_ASK_SIZE, &f[F_ASK_SIZE], "best_ask_size");
        su_vdec(&r, CP_TICKER_OPEN, &f[F_OPEN], "open_24h");
        su_vdec(&r, CP_TICKER_HIGH, &f[F_HIGH], "high_24h");
        su_vdec(&r, CP_TICKER_LOW, &f[F_LOW], "low_24h");
        su_vdec(&r, CP_TICKER_BASE_VOLUME, &f[F_VOLUME], "volume_24h");
        if (!r.ok) {
            su_row_drop(&r, "ticker", c->sym[i]);
            lv->bad++;
        } else if (!su_keep_last(lv->ctx, lv->tickers, CP_TICKER_SYMBOL, CP_TICKER_TS, &lv->p[i].ticker_row))
            cp_log_error(lv->ctx, "ticker %s: out of memory; update dropped", c->sym[i]);
    }
    if (c->want[ST_BOOK_TOP]) {
        su_row r = su_row_add(lv->ctx, lv->tops);
        row_common(&r, c->sym[i], CP_BOOK_TOP_EXCHANGE, CP_BOOK_TOP_SYMBOL, CP_BOOK_TOP_NATIVE_SYMBOL);
        su_i64(&r, CP_BOOK_TOP_TS, ts);
        su_i64(&r, CP_BOOK_TOP_RECEIVED_AT, now);
        su_vint(&r, CP_BOOK_TOP_SEQUENCE, &f[F_SEQ], "sequence");
        su_vdec(&r, CP_BOOK_TOP_BID, &f[F_BID], "best_bid");
        su_vdec(&r, CP_BOOK_TOP_BID_SIZE, &f[F_BID_SIZE], "best_bid_size");
        su_vdec(&r, CP_BOOK_TOP_ASK, &f[F_ASK], "best_ask");
        su_vdec(&r, CP_BOOK_TOP_ASK_SIZE, &f[F_ASK_SIZE], "best_ask_size");
        su_i64(&r, CP_BOOK_TOP_LEVELS, 1);
        if (!r.ok) {
            su_row_drop(&r, "ticker", c->sym[i]);
            lv->bad++;
        } else if (!su_keep_last(lv->ctx, lv->tops, CP_BOOK_TOP_SYMBOL, CP_BOOK_TOP_TS, &lv->p[i].top_row))
            cp_log_error(lv->ctx, "ticker %s: out of memory; update dropped", c->sym[i]);
    }
}

static void live_message(cb_live *lv, const char *data, size_t len)
{
    cb *c = lv->c;
    cp_ctx *ctx = lv->ctx;
    int64_t now = cp_now_ms(ctx);
    sj j, arr[3];
    bool has_arr[3] = {false, false, false};
    sj_val top, key, v, f[F_N];
    memset(f, 0, sizeof f);
    sj_init(&j, data, len);
    bool ok = sj_value(&j, &top) && top.type == SJ_OBJECT;
    while (ok && sj_member(&j, &key)) {
        if (!(ok = sj_value(&j, &v)))
            break;
        size_t k = sj_key_find(&key, cb_fields, F_N);
        if (k < F_N) {
            bool dup = f[k].type != SJ_NONE;
            f[k] = v;
            f[k].dup = dup;
            if (k >= F_BIDS && v.type == SJ_ARRAY) { /* read once the product is known */
                arr[k - F_BIDS] = j;
                has_arr[k - F_BIDS] = true;
            }
        }
        ok = sj_skip(&j, &v);
    }
    ok = ok && !j.err && sj_end(&j);
    if (!ok) {
        bad_message(lv, j.err ? j.err : "not a JSON object", data, len);
        return;
    }
    if (sj_eq(&f[F_TYPE], "subscriptions", 13))
        return;
    if (sj_eq(&f[F_TYPE], "error", 5)) {
        char m[200] = "", r[300] = "";
        if (f[F_MESSAGE].type == SJ_STRING && f[F_MESSAGE].len < sizeof m)
            m[sj_decode(&f[F_MESSAGE], m)] = 0;
        if (f[F_REASON].type == SJ_STRING && f[F_REASON].len < sizeof r)
            r[sj_decode(&f[F_REASON], r)] = 0;
        cp_log_error(ctx, "the feed refused the subscription: %s%s%s; reconnecting", m[0] ? m : "error",
                     r[0] ? ": " : "", r);
        lv->closed = true;
        return;
    }
    size_t i = product_of(c, &f[F_PRODUCT]);
    if (i == SIZE_MAX) {
        bad_message(lv, f[F_PRODUCT].type == SJ_NONE ? "no product_id" : "unknown product", data, len);
        return;
    }
    cb_prod *p = &lv->p[i];
    bool last_match = sj_eq(&f[F_TYPE], "last_match", 10);
    int64_t seq = -1;
    if (f[F_SEQ].type != SJ_NONE && !sj_int(&f[F_SEQ], &seq)) {
        bad_message(lv, "sequence is not an integer", data, len);
        return;
    }
    if (seq >= 0 && !last_match) { /* last_match repeats an older match: its trade id says more */
        if (seq < p->last_seq) {
            lv->stale++;
            if (lv->stale <= 10 || lv->stale % 1000 == 0)
                cp_log_warn(ctx, "out of order: %s sequence %" PRId64 " after %" PRId64 "; message dropped (%" PRIu64
                                 " so far)", c->sym[i], seq, p->last_seq, lv->stale);
            lv->bad++;
            return;
        }
        p->last_seq = seq;
    }
    int64_t tid;
    if (last_match || sj_eq(&f[F_TYPE], "match", 5)) {
        if (!sj_int(&f[F_TRADE_ID], &tid) || tid < 0) {
            bad_message(lv, "match without an integer trade_id", data, len);
            return;
        }
        const char *how = last_match ? "before the subscription's last_match" : "skipped by the feed";
        if (trade_seen(lv, i, tid, true, !last_match, how) && c->want[ST_TRADE])
            trade_row(lv, i, f, now);
    } else if (sj_eq(&f[F_TYPE], "heartbeat", 9)) {
        if (sj_int(&f[F_LAST_TRADE], &tid) && tid >= 0 && p->last_trade >= 0)
            trade_seen(lv, i, tid, false, true, "heartbeat last_trade_id");
    } else if (sj_eq(&f[F_TYPE], "ticker", 6)) {
        if (c->want[ST_TICKER] || c->want[ST_BOOK_TOP])
            ticker_rows(lv, i, f, now);
    } else if (sj_eq(&f[F_TYPE], "snapshot", 8) || sj_eq(&f[F_TYPE], "l2update", 8)) {
        bool snap = f[F_TYPE].len == 8 && f[F_TYPE].p[0] == 's';
        if (!c->want[ST_BOOK_LEVEL])
            return;
        if (!snap && !p->have_book)
            return; /* before the (new) snapshot: it holds this change */
        if (snap) {
            p->bids.n = p->asks.n = 0;
            p->have_book = true;
        }
        bool good = true;
        for (int k = snap ? 0 : 2; good && k < (snap ? 2 : 3); k++)
            good = has_arr[k] && book_apply(p, &arr[k], F_BIDS + k);
        if (!good) {
            p->have_book = false;
            p->bids.n = p->asks.n = 0;
            bad_message(lv, snap ? "bad snapshot" : "bad l2update", data, len);
            cp_log_warn(ctx, "%s order book dropped until a new snapshot", c->sym[i]);
            p->have_book = true; /* so that book_resync resubscribes */
            book_resync(lv, i, "a malformed book message");
            return;
        }
        if (snap && p->resyncing) {
            p->resyncing = false;
            cp_stream_count(ctx, CP_STREAM_GAPS_FILLED, 1);
            cp_log_warn(ctx, "repair: %s order book rebuilt from a fresh snapshot (%zu bids, %zu asks)", c->sym[i],
                        p->bids.n, p->asks.n);
        }
        int64_t ts = snap ? now : iso_ms(&f[F_TIME]);
        p->book_ts = ts > p->book_ts ? ts : p->book_ts + 1;
        p->book_dirty = true;
        if (p->bids.n && p->asks.n && p->bids.v[0].px >= p->asks.v[0].px)
            book_resync(lv, i, "the book crossed");
    }
}

static void live_event(void *user, cp_ws *ws, cp_ws_event ev, const char *data, size_t len)
{
    cb_live *lv = user;
    cb *c = lv->c;
    (void)ws;
    lv->last_msg = cp_now_ms(lv->ctx);
    if (ev == CP_WS_OPEN) {
        lv->open = true;
        cp_buf b = {0};
        cp_buf_puts(&b, "{\"type\":\"subscribe\",\"product_ids\":[");
        for (size_t i = 0, k = 0; i < c->n; i++)
            if (!c->unknown[i])
                cp_buf_printf(&b, "%s\"%s\"", k++ ? "," : "", c->sym[i]);
        cp_buf_puts(&b, "],\"channels\":[\"heartbeat\"");
        if (c->want[ST_TRADE])
            cp_buf_puts(&b, ",\"matches\"");
        if (c->want[ST_TICKER] || c->want[ST_BOOK_TOP])
            cp_buf_puts(&b, ",\"ticker\"");
        if (c->want[ST_BOOK_LEVEL])
            cp_buf_puts(&b, ",\"level2_batch\"");
        cp_buf_puts(&b, "]}");
        for (size_t i = 0; i < c->n; i++) /* each subscription starts with a snapshot */
            lv->p[i].have_book = false;
        cp_log_info(lv->ctx, "feed connected; subscribing");
        ws_send_text(lv, &b);
    } else if (ev == CP_WS_CLOSED) {
        lv->closed = true;
        cp_log_warn(lv->ctx, "feed connection closed: %.*s", (int)len, data);
    } else {
        lv->messages++;
        live_message(lv, data, len);
    }
}

static void live_book_rows(cb_live *lv, int64_t now)
{
    cb *c = lv->c;
    cp_ctx *ctx = lv->ctx;
    if (!c->want[ST_BOOK_LEVEL] || now < lv->next_book)
        return;
    lv->next_book = now + c->cfg->book_interval;
    size_t depth = (size_t)c->cfg->depth;
    cp_batch *out = NULL;
    for (size_t i = 0; i < c->n; i++) {
        cb_prod *p = &lv->p[i];
        if (!p->have_book || !p->book_dirty || p->book_ts <= p->emitted_ts)
            continue;
        if (!out && !(out = cp_batch_new(ctx, &cp_book_level_schema, 2 * depth * c->n)))
            return;
        for (int s = 0; s < 2; s++) {
            const su_side *sd = s ? &p->asks : &p->bids;
            for (size_t k = 0; k < sd->n && k < depth; k++) {
                su_row r = su_row_add(ctx, out);
                su_cstr(&r, CP_BOOK_LEVEL_EXCHANGE, "coinbase");
                su_cstr(&r, CP_BOOK_LEVEL_SYMBOL, c->sym[i]);
                su_i64(&r, CP_BOOK_LEVEL_TS, p->book_ts);
                su_cstr(&r, CP_BOOK_LEVEL_SIDE, s ? "ask" : "bid");
                su_i64(&r, CP_BOOK_LEVEL_LEVEL, (int64_t)k);
                if (r.ok && (cp_batch_set_decimal(ctx, out, r.row, CP_BOOK_LEVEL_PRICE, sd->v[k].price,
                                                  strlen(sd->v[k].price)) != CP_OK ||
                             cp_batch_set_decimal(ctx, out, r.row, CP_BOOK_LEVEL_SIZE, sd->v[k].size,
                                                  strlen(sd->v[k].size)) != CP_OK))
                    r.ok = false;
                if (!r.ok)
                    su_truncate(ctx, out, r.row);
            }
        }
        p->book_dirty = false;
        p->emitted_ts = p->book_ts;
    }
    su_emit(ctx, out);
}

static void live_emit(cb_live *lv, bool final)
{
    cp_ctx *ctx = lv->ctx;
    if (lv->messages > lv->counted) { /* one call per poll round, not per message */
        cp_stream_count(ctx, CP_STREAM_MESSAGES, lv->messages - lv->counted);
        lv->counted = lv->messages;
    }
    if (lv->bad > lv->counted_bad) {
        cp_stream_count(ctx, CP_STREAM_BAD_MESSAGES, lv->bad - lv->counted_bad);
        lv->counted_bad = lv->bad;
    }
    cp_batch **bs[] = {&lv->trades, &lv->tickers, &lv->tops};
    const cp_schema *sc[] = {&cp_trade_schema, &cp_ticker_schema, &cp_book_top_schema};
    for (size_t k = 0; k < 3; k++)
        if (*bs[k] && cp_batch_rows(ctx, *bs[k])) {
            cp_emit(ctx, *bs[k]);
            *bs[k] = cp_batch_new(ctx, sc[k], 64);
        }
    int64_t now = cp_now_ms(ctx);
    if (final)
        lv->next_book = now;
    live_book_rows(lv, now);
    /* after the rows: the last trade id of each product, so that a restart repairs from there */
    for (size_t i = 0; lv->c->want[ST_TRADE] && i < lv->c->n; i++)
        if (lv->p[i].last_trade > lv->p[i].saved_trade) {
            char key[96];
            snprintf(key, sizeof key, "stream_trade_id:%s", lv->c->sym[i]);
            if (su_state_set_i64(ctx, key, lv->p[i].last_trade) == CP_OK)
                lv->p[i].saved_trade = lv->p[i].last_trade;
        }
}

static void live_free(cb_live *lv)
{
    for (size_t i = 0; lv->p && i < lv->c->n; i++) {
        su_side_free(&lv->p[i].bids);
        su_side_free(&lv->p[i].asks);
    }
    free(lv->p);
    cp_batch_free(lv->ctx, lv->trades);
    cp_batch_free(lv->ctx, lv->tickers);
    cp_batch_free(lv->ctx, lv->tops);
}

static cp_status cb_run(void *instance, cp_ctx *ctx)
{
    cb *c = instance;
    if (!c->cfg->mode || strcmp(c->cfg->mode, "stream") != 0) {
        cp_log_error(ctx, "mode = \"poll\" needs the pipeline's interval or schedule (or set mode = \"stream\")");
        return CP_ERR_CONFIG;
    }
    if (c->want[ST_OHLCV]) {
        cp_log_error(ctx, "mode = \"stream\" collects trade, ticker, book_top and book_level; remove ohlcv");
        return CP_ERR_CONFIG;
    }
    cp_status st = cb_validate(c, ctx);
    if (st != CP_OK && st != CP_ERR_CONFIG)
        return st; /* the product list could not be read: tried again after a pause */
    size_t known = 0;
    for (size_t i = 0; i < c->n; i++)
        known += !c->unknown[i];
    if (!known) {
        cp_log_error(ctx, "no product to stream (none of symbols is listed by %s/products)", c->cfg->base_url);
        return CP_ERR_CONFIG;
    }
    cb_live lv = {.c = c, .ctx = ctx};
    lv.p = calloc(c->n, sizeof *lv.p);
    lv.trades = cp_batch_new(ctx, &cp_trade_schema, 64);
    lv.tickers = cp_batch_new(ctx, &cp_ticker_schema, 64);
    lv.tops = cp_batch_new(ctx, &cp_book_top_schema, 64);
    st = lv.p && lv.trades && lv.tickers && lv.tops ? CP_OK : CP_ERR_NOMEM;
    for (size_t i = 0; st == CP_OK && i < c->n; i++) {
        cb_prod *p = &lv.p[i];
        p->last_trade = p->saved_trade = p->last_seq = -1;
        p->emitted_ts = INT64_MIN;
        p->ticker_row = p->top_row = SIZE_MAX;
        p->bids.desc = true;
        char key[96];
        snprintf(key, sizeof key, "stream_trade_id:%s", c->sym[i]);
        if (c->want[ST_TRADE] && su_state_get_i64(ctx, key, &p->last_trade)) {
            p->saved_trade = p->last_trade;
            lv.restarted = true;
        }
    }
    int64_t backoff = 0;
    while (st == CP_OK && !cp_stopping(ctx)) {
        cp_ws_options o = {.size = sizeof o, .url = c->cfg->ws_url, .max_message = (size_t)c->cfg->max_message};
        lv.open = lv.closed = false;
        lv.last_msg = cp_now_ms(ctx);
        st = cp_ws_open(ctx, &o, live_event, &lv, &lv.ws);
        if (st != CP_OK)
            break;
        int64_t opened = cp_now_ms(ctx);
        while (!cp_stopping(ctx) && !lv.closed) {
            cp_status ps = cp_ws_poll(ctx, 100);
            live_emit(&lv, false);
            if (ps == CP_ERR_STOPPED)
                break;
            if (cp_now_ms(ctx) - lv.last_msg > c->cfg->stall_timeout) {
                cp_log_warn(ctx, "feed stalled: nothing for %lld ms (stall_timeout); reconnecting",
                            (long long)(cp_now_ms(ctx) - lv.last_msg));
                break;
            }
        }
        cp_ws_close(ctx, lv.ws);
        lv.ws = NULL;
        live_emit(&lv, true);
        lv.restarted = false;
        if (cp_stopping(ctx))
            break;
        lv.reconnects++;
        cp_stream_count(ctx, CP_STREAM_RECONNECTS, 1);
        int64_t wait = su_reconnect_wait(&backoff, lv.open && cp_now_ms(ctx) - opened > 60000);
        cp_log_info(ctx, "reconnecting in %lld ms (reconnect %" PRIu64 ")", (long long)wait, lv.reconnects);
        cp_sleep_ms(ctx, wait);
    }
    cp_log_info(ctx, "feed stats: messages=%" PRIu64 " reconnects=%" PRIu64 " repairs=%" PRIu64
                     " repaired_trades=%" PRIu64 " book_resyncs=%" PRIu64 " out_of_order=%" PRIu64
                     " bad_messages=%" PRIu64, lv.messages, lv.reconnects, lv.repairs, lv.repaired_rows, lv.resyncs,
                lv.stale, lv.bad);
    live_free(&lv);
    return cp_stopping(ctx) ? CP_OK : st;
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
    const cb_cfg *cfg = config;
    return su_schemas_raw(ctx, &cfg->streams, cb_streams, cfg->archive_raw, fn, user);
}

CP_PLUGIN_DEFINE(.name = "coinbase", .kind = CP_SOURCE, .version = "0.1.0",
                 .description = "Coinbase Exchange: ticker, book_top, book_level, trade, ohlcv (REST /products, or the feed)",
                 .options = cb_options, .config_size = sizeof(cb_cfg), .check = cb_check, .create = cb_create,
                 .destroy = cb_destroy, .collect = cb_collect, .backfill = cb_backfill, .candle_series = cb_candle_series,
                 .schemas = cb_declare, .run = cb_run);
