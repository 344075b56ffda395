/* kraken source: Kraken spot market data over the public REST API.
 * SPDX-License-Identifier: MIT
 *
 * Collects (streams option), per pair:
 *   ticker      GET /0/public/Ticker?pair=P1,P2,...      (one request for every pair: ask/bid with
 *               their lot volumes, last trade, and the rolling 24-hour low, high, volume, VWAP and
 *               trade count; `open` is today's opening price (since 00:00 UTC), the only open
 *               Kraken gives. The ticker carries no time: `ts` is when the response arrived)
 *   book_top    GET /0/public/Depth?pair=&count=          (best bid/ask; Kraken gives no snapshot
 *   book_level  GET /0/public/Depth?pair=&count=           sequence and no snapshot time: ts is
 *               when the response arrived, sequence NULL)
 *   trade       GET /0/public/Trades?pair=&count=&since=  (paged by `since`: the response's `last`,
 *               a nanosecond cursor kept in the state store per pair; Kraken's buy/sell is the
 *               taker's side)
 *   ohlcv       GET /0/public/OHLC?pair=&interval=&since= (closed candles, incremental from a
 *               checkpoint per series. Kraken answers with at most the latest 720 candles whatever
 *               `since` asks, the newest of them still open: a candle is closed when its open time
 *               plus the interval has passed on the clock, never by its position)
 * Pairs are resolved against GET /0/public/AssetPairs before the first cycle: a configured
 * symbol may be the pair key (XXBTZUSD), its altname (XBTUSD), its wsname (XBT/USD) or the
 * normalized form (BTC-USD, btc/usd). Rows carry the normalized BASE-QUOTE symbol from the
 * pair's wsname (or base and quote assets without their X/Z prefixes), with Kraken's XBT
 * written BTC and XDG written DOGE; native_symbol is the pair key. A symbol Kraken does not list
 * is logged as an error naming it and skipped (the others are collected; the cycle reports
 * CP_ERR_CONFIG and AssetPairs is asked again next cycle). symbols = ["top:N"] instead collects the N
 * pairs quoted in universe_quote with the largest 24-hour volume in it (the Ticker of every pair,
 * GET /0/public/Ticker without pair: v[1] times p[1], the volume times its VWAP), or those whose
 * base assets CoinGecko ranks highest (universe_source = coingecko), resolved again every
 * universe_refresh, each change logged (common/universe.h).
 * Every answer is the envelope {"error": [...], "result": ...}: a non-empty error list is an
 * error even with HTTP 200 (its messages are logged with the endpoint and pair, no row is kept
 * from that response); entries with Kraken's W severity prefix are warnings and logged as such.
 * Backfill: ohlcv only, one request per pair; Kraken serves only the latest 720 candles of an
 * interval, so what lies before them is reported as out of reach and not collected.
 * Rate limits (Kraken's documentation): public endpoints are limited per IP address (Trades and
 * OHLC per IP and pair); one call per second stays within them. The host budget defaults to 60
 * requests a minute with one in flight at a time.
 * Prices and volumes arrive as JSON strings and are kept verbatim. With archive_raw every response
 * body (AssetPairs included) is also emitted as a row of the raw stream.
 */
#include "common/srcutil.h"
#include "common/universe.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KR_MAX_CANDLES 720 /* OHLC answers with the latest 720 candles at most */
#define KR_API "/0/public"

typedef struct kr_cfg {
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
    bool archive_raw;
    su_universe_cfg u;
} kr_cfg;

enum { ST_TICKER, ST_BOOK_TOP, ST_BOOK_LEVEL, ST_TRADE, ST_OHLCV, ST_COUNT };
static const char *const kr_streams[] = {"ticker", "book_top", "book_level", "trade", "ohlcv", NULL};
static const cp_schema *const kr_schemas[ST_COUNT] = {&cp_ticker_schema, &cp_book_top_schema, &cp_book_level_schema,
                                                      &cp_trade_schema, &cp_ohlcv_schema};

static const cp_option kr_options[] = {
    {.name = "base_url", .type = CP_OPT_STRING, .def = "\"https://api.kraken.com\"", .offset = offsetof(kr_cfg, base_url),
     .doc = "Host root of the REST API (the plugin appends /0/public; a value ending in /0/public works too)."},
    {.name = "symbols", .type = CP_OPT_STRLIST, .flags = CP_OPT_REQUIRED, .min = 1, .max = 1000,
     .offset = offsetof(kr_cfg, symbols),
     .doc = "Pairs to collect: BTC-USD, XBTUSD, XBT/USD or XXBTZUSD (resolved through AssetPairs), or the rule "
            "[\"top:N\"] (see the universe_ options)."},
    {.name = "streams", .type = CP_OPT_STRLIST, .def = "[\"ticker\"]", .min = 1, .max = 5,
     .offset = offsetof(kr_cfg, streams),
     .doc = "Streams to collect each cycle: ticker, book_top, book_level, trade, ohlcv."},
    {.name = "depth", .type = CP_OPT_INT, .def = "5", .min = 1, .max = 500, .offset = offsetof(kr_cfg, depth),
     .doc = "Order book levels per side asked from Depth and written as book_level rows."},
    {.name = "kline_interval", .type = CP_OPT_STRING, .def = "\"1m\"", .offset = offsetof(kr_cfg, kline_interval),
     .doc = "Candle interval for ohlcv: 1m 5m 15m 30m 1h 4h 1d 1w 15d (Kraken's 1 5 15 30 60 240 1440 10080 "
            "21600 minutes)."},
    {.name = "include_open_candle", .type = CP_OPT_BOOL, .def = "false",
     .offset = offsetof(kr_cfg, include_open_candle),
     .doc = "Also write the still-moving current candle (updated on each poll by its key)."},
    {.name = "warmup", .type = CP_OPT_INT, .def = "60", .min = 1, .max = 719, .offset = offsetof(kr_cfg, warmup),
     .doc = "Closed candles fetched on the first poll of a series that has no checkpoint yet."},
    {.name = "trade_limit", .type = CP_OPT_INT, .def = "1000", .min = 1, .max = 1000,
     .offset = offsetof(kr_cfg, trade_limit),
     .doc = "Trades asked per Trades request (Kraken's count, at most 1000)."},
    {.name = "max_pages", .type = CP_OPT_INT, .def = "10", .min = 1, .max = 1000,
     .offset = offsetof(kr_cfg, max_pages),
     .doc = "Trades pages fetched per pair and cycle when catching up from the cursor."},
    {.name = "requests_per_minute", .type = CP_OPT_DOUBLE, .def = "60", .min = 1, .max = 100000,
     .offset = offsetof(kr_cfg, requests_per_minute),
     .doc = "Request budget per minute for the API host (Kraken: about one public call per second)."},
    {.name = "max_concurrent", .type = CP_OPT_INT, .def = "1", .min = 1, .max = 64,
     .offset = offsetof(kr_cfg, max_concurrent),
     .doc = "Requests in flight at once to the API host."},
    {.name = "archive_raw", .type = CP_OPT_BOOL, .def = "false", .offset = offsetof(kr_cfg, archive_raw),
     .doc = "Also emit every response body byte for byte as the raw stream (s3-csv: gzipped under <prefix>/raw/)."},
    SU_UNIVERSE_OPTIONS(kr_cfg, u, "\"USD\""),
    CP_OPTION_END,
};

/* One configured symbol and what AssetPairs said about it. */
typedef struct kr_pair {
    const char *in; /* as configured */
    char *key;      /* XXBTZUSD: native_symbol, the key of every result */
    char *sym;      /* BTC-USD */
    bool unknown;   /* AssetPairs answered and does not list it: skipped */
} kr_pair;

typedef struct kr {
    const kr_cfg *cfg;
    char *base;     /* base_url + /0/public */
    bool want[ST_COUNT];
    int64_t interval_ms;
    size_t n;
    kr_pair *p;
    bool resolved;  /* AssetPairs answered and listed every symbol */
    size_t top;     /* symbols = ["top:N"]: N, else 0 */
    su_universe uni;
} kr;

/* ---- the envelope ------------------------------------------------------------------------- */

/* Kraken's error list as one line: its entries joined by "; ". Nothing written when the body is
 * not an envelope with a non-empty list. */
static void kr_error_list(json_object *err, char *out, size_t outlen, bool warnings)
{
    out[0] = 0;
    size_t used = 0;
    for (size_t i = 0; json_object_is_type(err, json_type_array) && i < json_object_array_length(err); i++) {
        json_object *e = json_object_array_get_idx(err, i);
        const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e)
                                                                 : json_object_to_json_string(e);
        if (!s || (s[0] == 'W') != warnings)
            continue;
        int w = snprintf(out + used, outlen - used, "%s%s", used ? "; " : "", s);
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
}

/* cp_http_request.error_message for Kraken's bodies: {"error": ["EQuery:Unknown asset pair"]} */
static void kr_error_message(const char *body, size_t len, char *out, size_t outlen)
{
    out[0] = 0;
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, body, (int)(len > 1 << 20 ? 1 << 20 : len)) : NULL;
    if (tok)
        json_tokener_free(tok);
    kr_error_list(su_get(o, "error"), out, outlen, false);
    json_object_put(o);
}

/* The `result` of a response (in *result, borrowed from the returned root, which the caller
 * puts), or NULL with *st saying why: no response or HTTP error (the core logged it), a body that
 * is not the envelope, or a non-empty error list (logged with endpoint and pair). */
static json_object *kr_result(cp_ctx *ctx, const char *ep, const char *pair, const cp_http_response *r,
                              json_object **result, cp_status *st)
{
    *result = NULL;
    if ((*st = su_check(ctx, ep, r)) != CP_OK)
        return NULL;
    json_object *root = su_parse(ctx, ep, r);
    if (!root) {
        *st = CP_ERR_PARSE;
        return NULL;
    }
    json_object *err = su_get(root, "error");
    const char *sp = *pair ? " " : ""; /* Ticker and AssetPairs name no single pair */
    char msg[512];
    if (!json_object_is_type(root, json_type_object) || (err && !json_object_is_type(err, json_type_array))) {
        cp_log_error(ctx, "%s%s%s: expected Kraken's {\"error\": [...], \"result\": ...}; response ignored", ep, sp,
                     pair);
        *st = CP_ERR_PARSE;
    } else if (kr_error_list(err, msg, sizeof msg, false), msg[0]) {
        cp_log_error(ctx, "%s%s%s: Kraken error: %s (HTTP %ld); no rows kept from this response", ep, sp, pair, msg,
                     r->code);
        *st = CP_ERR_HTTP;
    } else if (!json_object_is_type(*result = su_get(root, "result"), json_type_object)) {
        cp_log_error(ctx, "%s%s%s: the response has no result object; response ignored", ep, sp, pair);
        *st = CP_ERR_PARSE;
    }
    if (*st == CP_OK && (kr_error_list(err, msg, sizeof msg, true), msg[0]))
        cp_log_warn(ctx, "%s%s%s: Kraken warning: %s", ep, sp, pair, msg);
    if (*st != CP_OK) {
        *result = NULL;
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* The member of `result` for pair key `key`; when absent, the only member other than "last"
 * (Kraken keys a result by the pair key even when asked by altname). */
static json_object *kr_member(json_object *result, const char *key)
{
    json_object *v = su_get(result, key), *only = NULL;
    if (v)
        return v;
    size_t n = 0;
    json_object_object_foreach(result, k, m)
    {
        if (strcmp(k, "last") != 0)
            only = m, n++;
    }
    return n == 1 ? only : NULL;
}

/* ---- parsers ------------------------------------------------------------------------------ */

/* Element i of a JSON array, NULL when `a` is not an array or too short. */
static json_object *el(json_object *a, size_t i)
{
    return json_object_is_type(a, json_type_array) && i < json_object_array_length(a) ? json_object_array_get_idx(a, i)
                                                                                      : NULL;
}

static cp_status bad(cp_ctx *ctx, const char *endpoint, const char *sym, const su_row *r, cp_batch *b, size_t keep)
{
    cp_log_error(ctx, "%s %s: unexpected payload (field %s%s%s); no rows kept from this response", endpoint, sym,
                 r->bad ? r->bad : "?", r->why ? ": " : "", r->why ? r->why : "");
    su_truncate(ctx, b, keep);
    return CP_ERR_PARSE;
}

/* One ticker row from a pair's Ticker object `t` (ts = received_at: the ticker has no time). */
static cp_status kr_parse_ticker(cp_ctx *ctx, json_object *t, const char *sym, const char *native,
                                 int64_t received_at, cp_batch *out)
{
    size_t keep = cp_batch_rows(ctx, out);
    if (!json_object_is_type(t, json_type_object)) {
        cp_log_error(ctx, "Ticker %s: expected an object; response ignored", native);
        return CP_ERR_PARSE;
    }
    su_row r = su_row_add(ctx, out);
    su_cstr(&r, CP_TICKER_EXCHANGE, "kraken");
    su_cstr(&r, CP_TICKER_SYMBOL, sym);
    su_cstr(&r, CP_TICKER_NATIVE_SYMBOL, native);
    su_i64(&r, CP_TICKER_TS, received_at);
    su_i64(&r, CP_TICKER_RECEIVED_AT, received_at);
    json_object *a = su_get(t, "a"), *b = su_get(t, "b"), *c = su_get(t, "c");
    /* a, b: [price, whole lot volume, lot volume]; c: [price, lot volume]; v p t l h: [today, 24 h] */
    su_dec(&r, CP_TICKER_LAST, el(c, 0), "c[0]");
    su_dec(&r, CP_TICKER_BID, el(b, 0), "b[0]");
    su_dec(&r, CP_TICKER_BID_SIZE, el(b, 2), "b[2]");
    su_dec(&r, CP_TICKER_ASK, el(a, 0), "a[0]");
    su_dec(&r, CP_TICKER_ASK_SIZE, el(a, 2), "a[2]");
    su_dec(&r, CP_TICKER_OPEN, su_get(t, "o"), "o");
    su_dec(&r, CP_TICKER_HIGH, el(su_get(t, "h"), 1), "h[1]");
    su_dec(&r, CP_TICKER_LOW, el(su_get(t, "l"), 1), "l[1]");
    su_dec(&r, CP_TICKER_VWAP, el(su_get(t, "p"), 1), "p[1]");
    su_dec(&r, CP_TICKER_BASE_VOLUME, el(su_get(t, "v"), 1), "v[1]");
    su_int(&r, CP_TICKER_TRADE_COUNT, el(su_get(t, "t"), 1), "t[1]");
    if (!r.ok)
        return bad(ctx, "Ticker", native, &r, out, keep);
    return CP_OK;
}

/* A pair's Depth object {"asks": [[price, volume, timestamp]...], "bids": [...]} → a book_top row
 * (top) and up to `levels` book_level rows per side (lvl); either may be NULL. */
static cp_status kr_parse_book(cp_ctx *ctx, json_object *book, const char *sym, const char *native, size_t levels,
                               int64_t received_at, cp_batch *top, cp_batch *lvl)
{
    size_t keep_top = top ? cp_batch_rows(ctx, top) : 0, keep_lvl = lvl ? cp_batch_rows(ctx, lvl) : 0;
    json_object *bids = su_get(book, "bids"), *asks = su_get(book, "asks");
    if (!json_object_is_type(bids, json_type_array) || !json_object_is_type(asks, json_type_array)) {
        cp_log_error(ctx, "Depth %s: expected bids and asks; response ignored", native);
        return CP_ERR_PARSE;
    }
    size_t want = levels ? levels : 1, nb, na;
    su_level *lb = su_levels_json(bids, want, &nb), *la = su_levels_json(asks, want, &na);
    su_book bk = {"kraken", sym, native, lb, la, nb, na, {.type = SJ_NONE}, received_at, received_at};
    su_row r = {.ok = true};
    bool ok = lb && la && su_book_rows(ctx, &bk, levels, top, lvl, &r.bad);
    free(lb);
    free(la);
    if (!ok) {
        if (!r.bad)
            r.bad = "(out of memory)";
        su_truncate(ctx, lvl, keep_lvl);
        return bad(ctx, "Depth", native, &r, top, keep_top);
    }
    return CP_OK;
}

/* Kraken's time in seconds with a fraction (1688669597.8277369, a number or a string) → UTC ms,
 * the fraction truncated to milliseconds. False for anything else. */
static bool kr_seconds_ms(json_object *o, int64_t *ms)
{
    sj_val v = su_jval(o);
    if ((v.type != SJ_NUMBER && v.type != SJ_STRING) || v.dup || v.len == 0 || v.len > 40)
        return false;
    int64_t s = 0, frac = 0;
    size_t i = 0, digits = 0;
    for (; i < v.len && isdigit((unsigned char)v.p[i]); i++) {
        if (s > (INT64_MAX / 1000 - 9) / 10)
            return false;
        s = s * 10 + (v.p[i] - '0');
    }
    if (i == 0)
        return false;
    if (i < v.len && v.p[i] == '.') {
        for (i++; i < v.len && isdigit((unsigned char)v.p[i]); i++, digits++)
            if (digits < 3)
                frac = frac * 10 + (v.p[i] - '0');
        if (digits == 0)
            return false;
    }
    if (i != v.len)
        return false;
    for (; digits < 3; digits++)
        frac *= 10;
    *ms = s * 1000 + frac;
    return true;
}

/* A pair's Trades array [[price, volume, time, buy/sell, market/limit, misc, trade_id]...] →
 * trade rows (a bad trade is dropped alone). *count gets the array's length. */
static cp_status kr_parse_trades(cp_ctx *ctx, json_object *arr, const char *sym, const char *native,
                                 int64_t received_at, cp_batch *out, size_t *count)
{
    *count = 0;
    if (!json_object_is_type(arr, json_type_array)) {
        cp_log_error(ctx, "Trades %s: expected an array of trades; response ignored", native);
        return CP_ERR_PARSE;
    }
    *count = json_object_array_length(arr);
    for (size_t i = 0; i < *count; i++) {
        json_object *t = json_object_array_get_idx(arr, i), *id = el(t, 6), *side = el(t, 3);
        su_row r = su_row_add(ctx, out);
        su_cstr(&r, CP_TRADE_EXCHANGE, "kraken");
        su_cstr(&r, CP_TRADE_SYMBOL, sym);
        su_cstr(&r, CP_TRADE_NATIVE_SYMBOL, native);
        su_require(&r, id, "trade_id");
        if (r.ok && !json_object_is_type(id, json_type_int))
            r.ok = false, r.bad = "trade_id", r.why = "not an integer";
        su_str(&r, CP_TRADE_TRADE_ID, id, "trade_id");
        int64_t ms = 0;
        if (r.ok && !kr_seconds_ms(el(t, 2), &ms))
            r.ok = false, r.bad = "time", r.why = "not seconds since the epoch";
        su_i64(&r, CP_TRADE_TS, ms);
        su_i64(&r, CP_TRADE_RECEIVED_AT, received_at);
        su_dec(&r, CP_TRADE_PRICE, el(t, 0), "price");
        su_dec(&r, CP_TRADE_SIZE, el(t, 1), "volume");
        const char *s = json_object_is_type(side, json_type_string) ? json_object_get_string(side) : "";
        if (strcmp(s, "b") == 0) /* the taker's side, as the data contract wants */
            su_cstr(&r, CP_TRADE_SIDE, "buy");
        else if (strcmp(s, "s") == 0)
            su_cstr(&r, CP_TRADE_SIDE, "sell");
        else if (r.ok)
            r.ok = false, r.bad = "side", r.why = "not b or s";
        if (!r.ok)
            su_row_drop(&r, "Trades", native); /* only this trade goes */
    }
    return CP_OK;
}

/* A pair's OHLC array [[time(s), open, high, low, close, vwap, volume, count]...], oldest first →
 * ohlcv rows with open_time in [min_open, max_open); unless include_open only closed candles
 * (open_time + interval <= now). *last_closed gets the newest closed open_time appended (or stays). */
static cp_status kr_parse_ohlc(cp_ctx *ctx, json_object *arr, const char *sym, const char *native,
                               const char *interval, int64_t interval_ms, int64_t now, bool include_open,
                               int64_t min_open, int64_t max_open, int64_t received_at, cp_batch *out,
                               int64_t *last_closed)
{
    if (!json_object_is_type(arr, json_type_array)) {
        cp_log_error(ctx, "OHLC %s: expected an array of candles; response ignored", native);
        return CP_ERR_PARSE;
    }
    int64_t newest = *last_closed;
    for (size_t j = 0; j < json_object_array_length(arr); j++) {
        json_object *k = json_object_array_get_idx(arr, j), *jt = el(k, 0);
        if (!json_object_is_type(k, json_type_array) || json_object_array_length(k) < 8 ||
            !json_object_is_type(jt, json_type_int) || json_object_get_int64(jt) < 0 ||
            json_object_get_int64(jt) > INT64_MAX / 1000 - interval_ms) {
            su_bad_element(ctx, "OHLC", native, "candle array",
                           "not [time, open, high, low, close, vwap, volume, count]");
            continue;
        }
        int64_t open_time = json_object_get_int64(jt) * 1000, close_time = open_time + interval_ms - 1;
        bool closed = close_time < now;
        if (open_time < min_open || open_time >= max_open || (!closed && !include_open))
            continue;
        su_row r = su_ohlcv_row(ctx, out, "kraken", sym, native, interval, open_time, close_time, received_at);
        su_dec(&r, CP_OHLCV_OPEN, el(k, 1), "open");
        su_dec(&r, CP_OHLCV_HIGH, el(k, 2), "high");
        su_dec(&r, CP_OHLCV_LOW, el(k, 3), "low");
        su_dec(&r, CP_OHLCV_CLOSE, el(k, 4), "close");
        su_dec(&r, CP_OHLCV_VOLUME, el(k, 6), "volume");
        su_int(&r, CP_OHLCV_TRADE_COUNT, el(k, 7), "count");
        if (!r.ok) {
            su_row_drop(&r, "OHLC", native);
            continue;
        }
        if (closed && open_time > newest)
            newest = open_time;
    }
    *last_closed = newest;
    return CP_OK;
}

/* ---- symbols ------------------------------------------------------------------------------ */

/* Kraken's asset code as the data contract writes it: X/Z prefixes of the old four-letter codes
 * dropped (XXBT, ZUSD), XBT → BTC, XDG → DOGE. `prefixed`: the code comes from base/quote. */
static void asset_name(const char *a, size_t len, bool prefixed, char *out, size_t outlen)
{
    if (prefixed && len == 4 && (a[0] == 'X' || a[0] == 'Z'))
        a++, len--;
    if (len == 3 && strncmp(a, "XBT", 3) == 0)
        a = "BTC";
    else if (len == 3 && strncmp(a, "XDG", 3) == 0)
        a = "DOGE", len = 4;
    snprintf(out, outlen, "%.*s", (int)len, a);
}

/* BASE-QUOTE of an AssetPairs entry: from its wsname (XBT/USD), else its base and quote assets. */
static bool pair_symbol(json_object *e, char *out, size_t outlen)
{
    const char *ws = json_object_get_string(su_get(e, "wsname"));
    char b[32], q[32];
    const char *slash = ws && json_object_is_type(su_get(e, "wsname"), json_type_string) ? strchr(ws, '/') : NULL;
    if (slash && slash > ws && slash[1] && slash - ws < 24 && strlen(slash + 1) < 24) {
        asset_name(ws, (size_t)(slash - ws), false, b, sizeof b);
        asset_name(slash + 1, strlen(slash + 1), false, q, sizeof q);
    } else {
        json_object *jb = su_get(e, "base"), *jq = su_get(e, "quote");
        if (!json_object_is_type(jb, json_type_string) || !json_object_is_type(jq, json_type_string) ||
            json_object_get_string_len(jb) >= 24 || json_object_get_string_len(jq) >= 24)
            return false;
        asset_name(json_object_get_string(jb), (size_t)json_object_get_string_len(jb), true, b, sizeof b);
        asset_name(json_object_get_string(jq), (size_t)json_object_get_string_len(jq), true, q, sizeof q);
    }
    for (char *s = b; *s; s++)
        *s = (char)toupper((unsigned char)*s);
    for (char *s = q; *s; s++)
        *s = (char)toupper((unsigned char)*s);
    return snprintf(out, outlen, "%s-%s", b, q) < (int)outlen;
}

/* Upper-case letters and digits of `s` (BTC-USD, btc/usd → BTCUSD) into out. */
static void squash(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *s && n + 1 < outlen; s++)
        if (isalnum((unsigned char)*s))
            out[n++] = (char)toupper((unsigned char)*s);
    out[n] = 0;
}

/* Whether configured symbol `in` names AssetPairs entry `key` → e (its normalized form in sym). */
static int pair_match(const char *in, const char *key, json_object *e, const char *sym)
{
    char a[64], b[64];
    if (strcmp(in, key) == 0)
        return 3;
    const char *alt = json_object_get_string(su_get(e, "altname"));
    const char *ws = json_object_get_string(su_get(e, "wsname"));
    squash(in, a, sizeof a);
    if ((alt && strcasecmp(in, alt) == 0) || (ws && strcasecmp(in, ws) == 0))
        return 2;
    squash(sym, b, sizeof b);
    return strcmp(a, b) == 0 ? 1 : 0;
}

/* Resolves every configured symbol against an AssetPairs result (see the top of this file):
 * the best match wins (the key, then altname or wsname, then the normalized form). Returns
 * whether every symbol was found; unknown ones are flagged and logged. */
static bool kr_resolve(kr *k, cp_ctx *ctx, json_object *result)
{
    bool all = true;
    for (size_t i = 0; i < k->n; i++) {
        kr_pair *p = &k->p[i];
        int best = 0;
        char bsym[64] = "";
        const char *bkey = NULL;
        json_object_object_foreach(result, key, e)
        {
            char sym[64];
            if (strchr(key, '.') || !json_object_is_type(e, json_type_object) || !pair_symbol(e, sym, sizeof sym))
                continue; /* ".d" dark-pool pairs have no market data */
            int m = pair_match(p->in, key, e, sym);
            if (m > best)
                best = m, bkey = key, snprintf(bsym, sizeof bsym, "%s", sym);
        }
        p->unknown = !bkey;
        if (!bkey) {
            cp_log_error(ctx, "symbols: unknown pair \"%s\" (not listed by %s/AssetPairs); skipped", p->in, k->base);
            all = false;
            continue;
        }
        char *nk = strdup(bkey), *ns = strdup(bsym);
        if (!nk || !ns) {
            free(nk);
            free(ns);
            p->unknown = true;
            all = false;
            continue;
        }
        free(p->key);
        free(p->sym);
        p->key = nk, p->sym = ns;
    }
    return all;
}

/* The candidates of the universe: every pair quoted in universe_quote, with its 24 h volume in the
 * quote asset (v[1] * p[1] of its Ticker), from an AssetPairs and a Ticker result. *syms gets the
 * normalized symbols the candidates point to (the caller frees them and the array). */
static su_cand *kr_candidates(kr *k, json_object *pairs, json_object *tick, size_t *n, char ***syms)
{
    size_t cap = (size_t)json_object_object_length(pairs);
    su_cand *c = calloc(cap ? cap : 1, sizeof *c);
    *syms = calloc(cap ? cap : 1, sizeof **syms);
    *n = 0;
    if (!c || !*syms) {
        free(c);
        free(*syms);
        *syms = NULL;
        return NULL;
    }
    json_object_object_foreach(pairs, key, e)
    {
        char sym[64];
        if (strchr(key, '.') || !json_object_is_type(e, json_type_object) || !pair_symbol(e, sym, sizeof sym))
            continue;
        const char *dash = strchr(sym, '-');
        if (!dash || strcasecmp(dash + 1, k->cfg->u.quote) != 0)
            continue;
        json_object *t = su_get(tick, key);
        const char *vol = json_object_get_string(el(su_get(t, "v"), 1));
        const char *vwap = json_object_get_string(el(su_get(t, "p"), 1));
        char *copy = strdup(sym);
        if (!copy)
            break;
        (*syms)[*n] = copy;
        c[*n] = (su_cand){key, copy, vol && vwap ? strtod(vol, NULL) * strtod(vwap, NULL) : NAN};
        (*n)++;
    }
    return c;
}

/* Rebuilds the pairs from the universe's set. */
static bool kr_take_universe(kr *k)
{
    kr_pair *p = calloc(k->uni.n ? k->uni.n : 1, sizeof *p);
    for (size_t i = 0; p && i < k->uni.n; i++) {
        p[i].in = k->uni.symbol[i];
        if (!(p[i].key = strdup(k->uni.native[i])) || !(p[i].sym = strdup(k->uni.symbol[i]))) {
            for (size_t j = 0; j <= i; j++)
                free(p[j].key), free(p[j].sym);
            free(p);
            p = NULL;
        }
    }
    if (!p)
        return false;
    for (size_t i = 0; i < k->n; i++)
        free(k->p[i].key), free(k->p[i].sym);
    free(k->p);
    k->p = p;
    k->n = k->uni.n;
    return true;
}

/* symbols = ["top:N"]: resolves the set when it is due (AssetPairs and every pair's Ticker, and
 * CoinGecko's ranking with universe_source = coingecko). CP_OK when the set is usable (also when a
 * refresh failed and the old set stays), else why not. */
static cp_status kr_universe(kr *k, cp_ctx *ctx)
{
    int64_t now = cp_now_ms(ctx);
    if (!su_universe_due(&k->uni, now))
        return CP_OK;
    char u0[1024], u1[1024];
    snprintf(u0, sizeof u0, "%s/AssetPairs", k->base);
    snprintf(u1, sizeof u1, "%s/Ticker", k->base);
    cp_http_request rq[2] = {CP_HTTP_REQUEST(.url = u0, .error_message = kr_error_message),
                             CP_HTTP_REQUEST(.url = u1, .error_message = kr_error_message)};
    cp_http_response rs[2];
    cp_http_perform(ctx, rq, rs, 2);
    if (k->cfg->archive_raw) {
        cp_batch *raw = NULL;
        su_raw_add(ctx, &raw, "kraken", "AssetPairs", u0, &rs[0]);
        su_raw_add(ctx, &raw, "kraken", "Ticker", u1, &rs[1]);
        su_emit(ctx, raw);
    }
    cp_status st0, st1;
    json_object *pairs, *tick, *r0 = kr_result(ctx, "AssetPairs", "", &rs[0], &pairs, &st0);
    json_object *r1 = kr_result(ctx, "Ticker", "", &rs[1], &tick, &st1);
    cp_http_response_clear(ctx, &rs[0]);
    cp_http_response_clear(ctx, &rs[1]);
    char **syms = NULL;
    size_t nc = 0;
    bool changed;
    cp_status st = !r0 ? st0 : !r1 ? st1 : CP_OK;
    su_cand *c = st == CP_OK ? kr_candidates(k, pairs, tick, &nc, &syms) : NULL;
    if (st == CP_OK && !c)
        st = CP_ERR_NOMEM;
    st = su_universe_resolve(ctx, &k->uni, &k->cfg->u, k->top, st, c, nc, now, &changed);
    if (changed && !kr_take_universe(k)) {
        cp_log_error(ctx, "universe: out of memory taking the new set");
        st = CP_ERR_NOMEM;
    }
    for (size_t i = 0; syms && i < nc; i++)
        free(syms[i]);
    free(syms);
    free(c);
    json_object_put(r0);
    json_object_put(r1);
    return st;
}

/* Asks AssetPairs until every symbol is known. CP_OK when all are, CP_ERR_CONFIG when some are
 * skipped, or why the list could not be read (then nothing is collected). A rule resolves its set
 * instead (kr_universe). */
static cp_status kr_validate(kr *k, cp_ctx *ctx)
{
    if (k->top)
        return kr_universe(k, ctx);
    if (k->resolved)
        return CP_OK;
    char url[1024];
    snprintf(url, sizeof url, "%s/AssetPairs", k->base);
    cp_http_request rq = CP_HTTP_REQUEST(.url = url, .error_message = kr_error_message);
    cp_http_response rs;
    cp_http_perform(ctx, &rq, &rs, 1);
    if (k->cfg->archive_raw) {
        cp_batch *raw = NULL;
        su_raw_add(ctx, &raw, "kraken", "AssetPairs", url, &rs);
        su_emit(ctx, raw);
    }
    cp_status st;
    json_object *result, *root = kr_result(ctx, "AssetPairs", "", &rs, &result, &st);
    cp_http_response_clear(ctx, &rs);
    if (!root) {
        cp_log_error(ctx, "cannot resolve the symbols: %s/AssetPairs failed; will retry next cycle", k->base);
        return CP_ERR_HTTP;
    }
    k->resolved = kr_resolve(k, ctx, result);
    json_object_put(root);
    return k->resolved ? CP_OK : CP_ERR_CONFIG;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void kr_destroy(void *instance)
{
    kr *k = instance;
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++) {
        free(k->p[i].key);
        free(k->p[i].sym);
    }
    free(k->p);
    free(k->base);
    su_universe_free(&k->uni);
    free(k);
}

/* Kraken's OHLC intervals, as kline_interval spells them */
static const char *const kr_intervals[] = {"1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "15d", NULL};
static const char *const kr_stream_hints[] = {
    "depth", "the order book (/0/public/Depth) is collected as book_top (best bid and ask) and book_level (levels)",
    "book", "the order book (/0/public/Depth) is collected as book_top (best bid and ask) and book_level (levels)",
    "trades", "recent trades (/0/public/Trades) are the trade stream",
    "ohlc", "candles (/0/public/OHLC) are the ohlcv stream",
    "candles", "candles (/0/public/OHLC) are the ohlcv stream",
    "spread", "the spread stream comes from the spread transform over book_top",
    NULL};

static cp_status kr_check(const void *config, cp_check *chk)
{
    const kr_cfg *cfg = config;
    bool ok = su_check_streams(chk, &cfg->streams, kr_streams, kr_stream_hints);
    ok &= su_check_interval(chk, cfg->kline_interval, kr_intervals, "Kraken",
                            "i.e. 1 5 15 30 60 240 1440 10080 21600 minutes");
    ok &= su_check_url(chk, "base_url", cfg->base_url);
    ok &= su_universe_check(chk, &cfg->symbols, &cfg->u, "Kraken");
    for (size_t i = 0; !su_universe_rule(&cfg->symbols) && i < cfg->symbols.n; i++) {
        const char *s = cfg->symbols.v[i];
        size_t n = strlen(s);
        if (strncmp(s, "top:", 4) == 0)
            continue; /* a rule: su_universe_check said what is wrong with it */
        if (n == 0 || n > 40 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/") != n) {
            cp_check_error(chk, "symbols", "\"%s\" is not a Kraken pair such as BTC-USD, XBTUSD or XXBTZUSD", s);
            ok = false;
        }
    }
    return ok ? CP_OK : CP_ERR_CONFIG;
}

static cp_status kr_create(cp_ctx *ctx, const void *config, void **instance)
{
    su_reqs_error_format(kr_error_message);
    const kr_cfg *cfg = config;
    if (cp_check_run_logged(ctx, config, kr_check) != CP_OK)
        return CP_ERR_CONFIG;
    kr *k = calloc(1, sizeof *k);
    char *root = su_base_root(cfg->base_url, KR_API); /* a base_url that already ends in the API path works too */
    if (!k || !root || !(k->p = calloc(cfg->symbols.n, sizeof *k->p)) ||
        !(k->base = malloc(strlen(root) + sizeof KR_API))) {
        free(root);
        kr_destroy(k);
        return CP_ERR_NOMEM;
    }
    snprintf(k->base, strlen(root) + sizeof KR_API, "%s%s", root, KR_API);
    free(root);
    k->cfg = cfg;
    k->top = su_universe_rule(&cfg->symbols);
    k->n = k->top ? 0 : cfg->symbols.n; /* a rule's pairs come with its first resolution */
    k->interval_ms = su_interval_ms(cfg->kline_interval);
    for (size_t i = 0; i < k->n; i++)
        k->p[i].in = cfg->symbols.v[i];
    for (size_t i = 0; i < ST_COUNT; i++)
        k->want[i] = su_list_has(&cfg->streams, kr_streams[i]);
    char host[256];
    su_url_host(k->base, host, sizeof host);
    cp_http_limits lim = {.size = sizeof lim,
                          .max_concurrent = (int)cfg->max_concurrent,
                          .weight_per_minute = cfg->requests_per_minute};
    cp_http_limits_set(ctx, host, &lim);
    *instance = k;
    return CP_OK;
}

/* ---- requests ----------------------------------------------------------------------------- */

enum { K_TICKER, K_DEPTH, K_TRADES, K_OHLC };
static const char *const kind_names[] = {"Ticker", "Depth", "Trades", "OHLC"};

/* Adds request r: Ticker for every known pair (r.sym SIZE_MAX), else for pair r.sym; OHLC with
 * since = r.min_ts (ms) when set; Trades with since = `since` (a cursor, may be NULL). */
static bool add(kr *k, su_reqs *q, su_req r, const char *since)
{
    cp_buf u = {0};
    cp_buf_printf(&u, "%s/%s?pair=", k->base, kind_names[r.kind]);
    if (r.kind == K_TICKER) {
        bool first = true;
        for (size_t i = 0; i < k->n; i++)
            if (!k->p[i].unknown && k->p[i].key)
                cp_buf_printf(&u, "%s%s", first ? "" : ",", k->p[i].key), first = false;
    } else {
        cp_buf_printf(&u, "%s", k->p[r.sym].key);
    }
    if (r.kind == K_DEPTH)
        cp_buf_printf(&u, "&count=%" PRId64, k->cfg->depth);
    if (r.kind == K_TRADES) {
        cp_buf_printf(&u, "&count=%" PRId64, k->cfg->trade_limit);
        if (since)
            cp_buf_printf(&u, "&since=%s", since);
    }
    if (r.kind == K_OHLC) {
        cp_buf_printf(&u, "&interval=%" PRId64, k->interval_ms / 60000);
        if (r.min_ts != INT64_MIN)
            cp_buf_printf(&u, "&since=%" PRId64, r.min_ts / 1000 - 1); /* candles opened after since */
    }
    bool ok = su_reqs_add(q, r, 1, &u);
    cp_buf_free(&u);
    return ok;
}

static void ohlcv_key(const kr *k, size_t i, char *key, size_t len)
{
    snprintf(key, len, "ohlcv/%s/%s", k->p[i].key, k->cfg->kline_interval);
}

static void trade_key(const kr *k, size_t i, char *key, size_t len) { snprintf(key, len, "trade/%s", k->p[i].key); }

/* Kraken's trades cursor `last` (nanoseconds, a string) as int64; false when it is not one. */
static bool trade_cursor(json_object *last, int64_t *v)
{
    sj_val s = su_jval(last);
    if ((s.type != SJ_STRING && s.type != SJ_NUMBER) || s.len == 0 || s.len > 19 || s.dup)
        return false;
    int64_t x = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (!isdigit((unsigned char)s.p[i]) || x > (INT64_MAX - (s.p[i] - '0')) / 10)
            return false;
        x = x * 10 + (s.p[i] - '0');
    }
    *v = x;
    return true;
}

/* Warns once per call about candles of [from, reach) that Kraken no longer serves. */
static void out_of_reach(cp_ctx *ctx, const kr_pair *p, const char *what, int64_t from, int64_t reach)
{
    char a[32], b[32];
    cp_utc_iso8601_seconds(from, a);
    cp_utc_iso8601_seconds(reach, b);
    cp_log_warn(ctx, "%s %s: Kraken's OHLC serves only the latest %d candles; %s to %s is out of reach and not "
                     "collected",
                what, p->key, KR_MAX_CANDLES, a, b);
}

/* ---- collect ------------------------------------------------------------------------------ */

static cp_status kr_collect(void *instance, cp_ctx *ctx)
{
    kr *k = instance;
    cp_status vst = kr_validate(k, ctx);
    if (vst != CP_OK && vst != CP_ERR_CONFIG)
        return vst;
    int64_t now = cp_now_ms(ctx), iv = k->interval_ms;
    int64_t current = now - now % iv; /* open time of the candle still moving */
    int64_t reach = current - (KR_MAX_CANDLES - 1) * iv;
    size_t nn = k->n ? k->n : 1;
    int64_t *last = calloc(nn, sizeof *last), *before = calloc(nn, sizeof *before);
    int64_t *cursor = calloc(nn, sizeof *cursor), *cursor0 = calloc(nn, sizeof *cursor0);
    su_reqs q = {0};
    su_outs o = {0};
    cp_batch *raw = NULL;
    cp_status ret = CP_OK;
    bool any = false, ok = last && before && cursor && cursor0 &&
                           su_outs_new(ctx, &o, kr_schemas, k->want, ST_COUNT, k->n);
    for (size_t i = 0; ok && i < k->n; i++)
        any |= !k->p[i].unknown && k->p[i].key;
    if (ok && any && k->want[ST_TICKER])
        ok = add(k, &q, (su_req){K_TICKER, SIZE_MAX, 0, 0, 0}, NULL);
    for (size_t i = 0; ok && i < k->n; i++) {
        if (k->p[i].unknown || !k->p[i].key)
            continue;
        char key[160];
        if (k->want[ST_BOOK_TOP] || k->want[ST_BOOK_LEVEL])
            ok = add(k, &q, (su_req){K_DEPTH, i, 0, 0, 0}, NULL);
        if (ok && k->want[ST_TRADE]) {
            trade_key(k, i, key, sizeof key);
            char since[32];
            bool have = su_state_get_i64(ctx, key, &cursor[i]);
            cursor0[i] = have ? cursor[i] : -1;
            snprintf(since, sizeof since, "%" PRId64, cursor[i]);
            ok = add(k, &q, (su_req){K_TRADES, i, 0, 0, 0}, have ? since : NULL);
        }
        if (ok && k->want[ST_OHLCV]) {
            ohlcv_key(k, i, key, sizeof key);
            if (!su_state_get_i64(ctx, key, &last[i]))
                last[i] = current - (k->cfg->warmup + 1) * iv; /* first poll: the latest `warmup` closed candles */
            before[i] = last[i];
            if (last[i] + iv < reach)
                out_of_reach(ctx, &k->p[i], "ohlcv", last[i] + iv, reach);
            ok = add(k, &q, (su_req){K_OHLC, i, last[i] + iv, current + iv, KR_MAX_CANDLES}, NULL);
        }
    }
    for (int64_t page = 0; ok && q.n > 0; page++) {
        if (!(ok = su_reqs_perform(ctx, &q)))
            break;
        su_reqs next = {0};
        for (size_t j = 0; j < q.n; j++) {
            const su_req *r = &q.r[j];
            const kr_pair *p = r->sym == SIZE_MAX ? NULL : &k->p[r->sym];
            if (k->cfg->archive_raw)
                su_raw_add(ctx, &raw, "kraken", kind_names[r->kind], q.urls[j], &q.s[j]);
            cp_status st;
            json_object *result, *root = kr_result(ctx, kind_names[r->kind], p ? p->key : "", &q.s[j], &result, &st);
            if (!root) {
                /* st says why (logged) */
            } else if (r->kind == K_TICKER) {
                for (size_t i = 0; i < k->n && st == CP_OK; i++) {
                    if (k->p[i].unknown || !k->p[i].key)
                        continue;
                    json_object *t = su_get(result, k->p[i].key);
                    if (!t) {
                        cp_log_error(ctx, "Ticker %s: missing from the response", k->p[i].key);
                        st = CP_ERR_PARSE;
                    } else {
                        st = kr_parse_ticker(ctx, t, k->p[i].sym, k->p[i].key, q.s[j].received_at, o.b[ST_TICKER]);
                    }
                }
            } else if (r->kind == K_DEPTH) {
                st = kr_parse_book(ctx, kr_member(result, p->key), p->sym, p->key, (size_t)k->cfg->depth,
                                   q.s[j].received_at, o.b[ST_BOOK_TOP], o.b[ST_BOOK_LEVEL]);
            } else if (r->kind == K_TRADES) {
                size_t count = 0;
                int64_t cur;
                st = kr_parse_trades(ctx, kr_member(result, p->key), p->sym, p->key, q.s[j].received_at,
                                     o.b[ST_TRADE], &count);
                if (st == CP_OK && !trade_cursor(su_get(result, "last"), &cur)) {
                    cp_log_error(ctx, "Trades %s: no usable \"last\" cursor in the response", p->key);
                    st = CP_ERR_PARSE;
                } else if (st == CP_OK && cur > cursor[r->sym]) {
                    cursor[r->sym] = cur;
                    char since[32];
                    snprintf(since, sizeof since, "%" PRId64, cur);
                    if (count >= (size_t)k->cfg->trade_limit && cursor0[r->sym] >= 0 && page + 1 < k->cfg->max_pages)
                        ok = ok && add(k, &next, *r, since); /* more trades since the cursor: next page */
                }
            } else {
                int64_t lc = last[r->sym];
                st = kr_parse_ohlc(ctx, kr_member(result, p->key), p->sym, p->key, k->cfg->kline_interval, iv, now,
                                   k->cfg->include_open_candle, r->min_ts, r->max_ts, q.s[j].received_at,
                                   o.b[ST_OHLCV], &lc);
                if (st == CP_OK && lc > last[r->sym]) /* all that is newer came in this one answer */
                    last[r->sym] = lc;
            }
            json_object_put(root);
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
    for (size_t i = 0; est == CP_OK && ok && i < k->n; i++) { /* checkpoints describe emitted rows only */
        char key[160];
        if (k->p[i].unknown || !k->p[i].key)
            continue;
        if (k->want[ST_OHLCV] && last[i] != before[i]) {
            ohlcv_key(k, i, key, sizeof key);
            su_state_set_i64(ctx, key, last[i]);
        }
        if (k->want[ST_TRADE] && cursor[i] > 0 && cursor[i] != cursor0[i]) {
            trade_key(k, i, key, sizeof key);
            su_state_set_i64(ctx, key, cursor[i]);
        }
    }
    su_outs_free(ctx, &o);
    free(last);
    free(before);
    free(cursor);
    free(cursor0);
    return ret != CP_OK ? ret : vst;
}

/* ---- backfill ----------------------------------------------------------------------------- */

static void backfill_key(const kr *k, size_t i, int64_t from, int64_t to, char *key, size_t len)
{
    snprintf(key, len, "backfill/ohlcv/%s/%s/%" PRId64 "-%" PRId64, k->p[i].key, k->cfg->kline_interval, from, to);
}

static cp_status kr_backfill(void *instance, cp_ctx *ctx, int64_t from_ms, int64_t to_ms)
{
    kr *k = instance;
    if (!k->want[ST_OHLCV]) {
        cp_log_error(ctx, "backfill: nothing to do (streams need ohlcv)");
        return CP_ERR_UNSUPPORTED;
    }
    cp_status vst = kr_validate(k, ctx);
    if (vst != CP_OK)
        return vst; /* a backfill names its pairs: all of them must exist */
    int64_t iv = k->interval_ms, now = cp_now_ms(ctx), current = now - now % iv;
    int64_t start = from_ms + (iv - from_ms % iv) % iv; /* first whole candle */
    int64_t stop = to_ms < current ? to_ms : current;   /* closed candles only */
    int64_t reach = current - (KR_MAX_CANDLES - 1) * iv;
    if (stop <= start)
        return CP_OK;
    uint64_t rows = 0;
    cp_status ret = CP_OK;
    for (size_t i = 0; i < k->n && ret == CP_OK; i++) {
        if (cp_stopping(ctx)) {
            ret = CP_ERR_STOPPED;
            break;
        }
        char key[256];
        int64_t done;
        backfill_key(k, i, from_ms, to_ms, key, sizeof key);
        if (su_state_get_i64(ctx, key, &done) && done == stop) {
            cp_log_info(ctx, "backfill: ohlcv %s already done (checkpoint)", k->p[i].key);
            continue;
        }
        int64_t first = start;
        if (first < reach) {
            out_of_reach(ctx, &k->p[i], "backfill: ohlcv", first, stop < reach ? stop : reach);
            first = reach;
        }
        if (first < stop) {
            su_reqs q = {0};
            su_outs o = {0};
            bool want[ST_COUNT] = {[ST_OHLCV] = true};
            if (!add(k, &q, (su_req){K_OHLC, i, first, stop, KR_MAX_CANDLES}, NULL) || !su_reqs_perform(ctx, &q) ||
                !su_outs_new(ctx, &o, kr_schemas, want, ST_COUNT, KR_MAX_CANDLES)) {
                su_outs_free(ctx, &o);
                su_reqs_free(ctx, &q);
                ret = CP_ERR_NOMEM;
                break;
            }
            cp_batch *raw = NULL;
            if (k->cfg->archive_raw)
                su_raw_add(ctx, &raw, "kraken", "OHLC", q.urls[0], &q.s[0]);
            json_object *result, *root = kr_result(ctx, "OHLC", k->p[i].key, &q.s[0], &result, &ret);
            int64_t lc = INT64_MIN;
            if (root)
                ret = kr_parse_ohlc(ctx, kr_member(result, k->p[i].key), k->p[i].sym, k->p[i].key,
                                    k->cfg->kline_interval, iv, now, false, first, stop, q.s[0].received_at,
                                    o.b[ST_OHLCV], &lc);
            json_object_put(root);
            rows += cp_batch_rows(ctx, o.b[ST_OHLCV]);
            cp_status est = ret == CP_OK ? su_outs_emit(ctx, &o) : CP_OK;
            cp_status rst = su_emit(ctx, raw);
            est = est == CP_OK ? rst : est;
            su_outs_free(ctx, &o);
            su_reqs_free(ctx, &q);
            if (ret == CP_OK)
                ret = est;
        }
        if (ret == CP_OK)
            su_state_set_i64(ctx, key, stop);
        cp_progress(ctx, (double)(i + 1) / (double)k->n, rows);
    }
    for (size_t i = 0; ret == CP_OK && i < k->n; i++) { /* finished: the range's checkpoints go */
        char key[256];
        backfill_key(k, i, from_ms, to_ms, key, sizeof key);
        cp_state_set(ctx, key, NULL);
    }
    return ret;
}

/* ---- candle series (for `coinpipe gaps`) --------------------------------------------------- */

/* Offline, so only what the configuration spells as BASE-QUOTE or BASE/QUOTE can be named: the
 * normalized symbol (XBT → BTC, XDG → DOGE). Pairs written as XBTUSD or XXBTZUSD need AssetPairs
 * to be split and are not listed. */
static cp_status kr_candle_series(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user)
{
    kr *k = instance;
    for (size_t i = 0; k->want[ST_OHLCV] && i < k->n; i++) {
        char in[64], b[32], q[32], sym[64];
        snprintf(in, sizeof in, "%s", k->p[i].in);
        for (char *c = in; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        const char *sep = strpbrk(in, "-/");
        if (!sep || sep == in || !sep[1] || sep - in > 20 || strlen(sep + 1) > 20)
            continue;
        asset_name(in, (size_t)(sep - in), false, b, sizeof b);
        asset_name(sep + 1, strlen(sep + 1), false, q, sizeof q);
        snprintf(sym, sizeof sym, "%s-%s", b, q);
        cp_series s = CP_SERIES(.exchange = "kraken", .symbol = sym, .interval = k->cfg->kline_interval);
        if (!fn(user, &s))
            break;
    }
    return CP_OK;
}

static cp_status kr_declare(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                            cp_schema_fn fn, void *user)
{
    const kr_cfg *cfg = config;
    return su_schemas_raw(ctx, &cfg->streams, kr_streams, cfg->archive_raw, fn, user);
}

CP_PLUGIN_DEFINE(.name = "kraken", .kind = CP_SOURCE, .version = "0.1.0",
                 .description = "Kraken spot: ticker, book_top, book_level, trade, ohlcv (/0/public)",
                 .options = kr_options, .config_size = sizeof(kr_cfg), .check = kr_check, .create = kr_create,
                 .destroy = kr_destroy, .collect = kr_collect, .backfill = kr_backfill,
                 .candle_series = kr_candle_series, .schemas = kr_declare);
