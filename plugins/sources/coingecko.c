/* coingecko source: market-wide coin data from the CoinGecko API v3.
 * SPDX-License-Identifier: MIT
 *
 * Collects (streams option):
 *   market      GET /coins/markets?vs_currency=&order=market_cap_desc&per_page=250&page=
 *               (the top `top` coins and the `coins` list, their union: a coin of the list that
 *               is also in the top N gives one row; for each of `vs_currencies`)
 *   spot_price  GET /simple/price?ids=&vs_currencies=&include_market_cap=true
 *               &include_24hr_vol=true&include_24hr_change=true&include_last_updated_at=true
 *   global      GET /global
 *   coin        GET /coins/{id}?localization=false&tickers=false&market_data=true
 *               &community_data=false&developer_data=false&sparkline=false   (coin details, per coin)
 * Backfill (`coinpipe backfill`): GET /coins/{id}/market_chart/range?vs_currency=&from=&to= per
 * coin (the `coins` list and the current top `top`) and vs currency, into spot_price (when
 * collected, else market: price, market cap and 24 h volume, the other columns NULL), in windows
 * of `backfill_window` (default 90 days), checkpointed per coin, currency and range. CoinGecko
 * picks the granularity from the window: a window of at most a day that reaches the current
 * time gets 5-minutely points, up to 90 days hourly points, longer windows daily points (00:00
 * UTC); the demo and public plans serve the past 365 days only.
 * With archive_raw every response body is also emitted, before the rows read from it, as a row of
 * the raw stream.
 * CoinGecko sends JSON numbers; their exact token text is kept. `api_key` with `api_plan`
 * demo sends x-cg-demo-api-key; pro sends x-cg-pro-api-key and defaults the base URL to
 * the pro host. The host budget defaults to 30 calls per minute (the free tier).
 */
#include "common/srcutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cg_cfg {
    char *base_url;
    char *api_key;
    char *api_plan;
    cp_strlist streams;
    int64_t top;
    cp_strlist coins;
    int64_t backfill_window;
    cp_strlist vs_currencies;
    double calls_per_minute;
    int64_t max_concurrent;
    bool archive_raw;
} cg_cfg;

#define CG_PUBLIC "https://api.coingecko.com"
#define CG_PRO "https://pro-api.coingecko.com"
#define CG_API "/api/v3"

static const char *const plans[] = {"demo", "pro", NULL};
static const char *const cg_streams[] = {"market", "spot_price", "global", "coin", NULL};

static const cp_option cg_options[] = {
    {.name = "base_url", .type = CP_OPT_STRING, .def = "\"" CG_PUBLIC "\"", .offset = offsetof(cg_cfg, base_url),
     .doc = "Host root of the API; the source appends /api/v3 (a value that already ends in it works too). With "
            "api_plan = pro the default is " CG_PRO "."},
    {.name = "api_key", .type = CP_OPT_STRING, .flags = CP_OPT_SECRET, .offset = offsetof(cg_cfg, api_key),
     .doc = "CoinGecko API key (optional on the public API)."},
    {.name = "api_plan", .type = CP_OPT_ENUM, .def = "\"demo\"", .offset = offsetof(cg_cfg, api_plan),
     .choices = plans,
     .doc = "Which plan the key belongs to: demo (x-cg-demo-api-key) or pro (x-cg-pro-api-key, pro host)."},
    {.name = "streams", .type = CP_OPT_STRLIST, .def = "[\"market\"]", .min = 1, .max = 4,
     .offset = offsetof(cg_cfg, streams),
     .doc = "Streams to collect: market, spot_price, global, coin (coin details)."},
    {.name = "top", .type = CP_OPT_INT, .min = 1, .max = 10000, .offset = offsetof(cg_cfg, top),
     .doc = "market: the top N coins by market cap (250 per request), together with coins; when neither is "
            "given, the top 100."},
    {.name = "coins", .type = CP_OPT_STRLIST, .offset = offsetof(cg_cfg, coins),
     .doc = "CoinGecko coin ids (bitcoin, ethereum): market adds them to the top N, spot_price and coin need them."},
    {.name = "backfill_window", .type = CP_OPT_DURATION, .def = "\"90d\"", .min = 3600000, .max = 3650 * 86400000.0,
     .offset = offsetof(cg_cfg, backfill_window),
     .doc = "Range asked per market_chart/range request in a backfill: up to 90 days CoinGecko answers hourly, "
            "longer daily."},
    {.name = "vs_currencies", .type = CP_OPT_STRLIST, .def = "[\"usd\"]", .min = 1, .max = 64,
     .offset = offsetof(cg_cfg, vs_currencies),
     .doc = "Quote currencies (usd, eur, btc ...)."},
    {.name = "calls_per_minute", .type = CP_OPT_DOUBLE, .def = "30", .min = 1, .max = 100000,
     .offset = offsetof(cg_cfg, calls_per_minute),
     .doc = "Request budget per minute for the API host (free tier about 30)."},
    {.name = "max_concurrent", .type = CP_OPT_INT, .def = "2", .min = 1, .max = 16,
     .offset = offsetof(cg_cfg, max_concurrent),
     .doc = "Requests in flight at once to the API host."},
    {.name = "archive_raw", .type = CP_OPT_BOOL, .def = "false", .offset = offsetof(cg_cfg, archive_raw),
     .doc = "Also emit every response body byte for byte as the raw stream (s3-csv: gzipped under <prefix>/raw/)."},
    CP_OPTION_END,
};

typedef struct cg {
    const cg_cfg *cfg;
    char base[1024]; /* base_url's host root + /api/v3 */
    char header[300];
    const char *headers[2];
    bool want_market, want_price, want_global, want_coin;
    size_t top; /* market: the top N (0: only the coins list) */
} cg;

/* ---- parsers ------------------------------------------------------------------------------ */

static cp_status bad(cp_ctx *ctx, const char *endpoint, const su_row *r, cp_batch *b, size_t keep)
{
    cp_log_error(ctx, "%s: unexpected payload (field %s%s%s); no rows kept from this response", endpoint,
                 r->bad ? r->bad : "?", r->why ? ": " : "", r->why ? r->why : "");
    su_truncate(ctx, b, keep);
    return CP_ERR_PARSE;
}

/* Whether `out` already holds a market row for coin `id` in currency `vs` (a coin of the list
 * that the top N brought already). */
static bool market_seen(cp_ctx *ctx, const cp_batch *out, const char *id, const char *vs)
{
    for (size_t i = 0, n = cp_batch_rows(ctx, out); id && i < n; i++) {
        const char *c = cp_batch_get_text(ctx, out, i, CP_MARKET_COIN_ID, NULL);
        const char *v = cp_batch_get_text(ctx, out, i, CP_MARKET_VS_CURRENCY, NULL);
        if (c && v && strcmp(c, id) == 0 && strcmp(v, vs) == 0)
            return true;
    }
    return false;
}

/* Appends up to `max` market rows (with skip_seen, none for a coin `out` holds already for `vs`);
 * *count gets the array length. */
static cp_status cg_parse_markets(cp_ctx *ctx, json_object *root, const char *vs, int64_t received_at, size_t max,
                                  bool skip_seen, cp_batch *out, size_t *count)
{
    if (!json_object_is_type(root, json_type_array)) {
        cp_log_error(ctx, "coins/markets: expected an array; response ignored");
        return CP_ERR_PARSE;
    }
    size_t len = json_object_array_length(root);
    *count = len;
    for (size_t i = 0; i < len && i < max; i++) {
        json_object *c = json_object_array_get_idx(root, i), *id = su_get(c, "id");
        if (skip_seen && json_object_is_type(id, json_type_string) && market_seen(ctx, out, json_object_get_string(id), vs))
            continue;
        su_row r = su_row_add(ctx, out);
        su_require(&r, id, "id");
        su_cstr(&r, CP_MARKET_SOURCE, "coingecko");
        su_str(&r, CP_MARKET_COIN_ID, id, "id");
        su_cstr(&r, CP_MARKET_VS_CURRENCY, vs);
        json_object *lu = su_get(c, "last_updated");
        if (lu)
            su_iso_ts(&r, CP_MARKET_TS, lu, "last_updated");
        else
            su_i64(&r, CP_MARKET_TS, received_at);
        su_i64(&r, CP_MARKET_RECEIVED_AT, received_at);
        su_str(&r, CP_MARKET_SYMBOL, su_get(c, "symbol"), "symbol");
        su_str(&r, CP_MARKET_NAME, su_get(c, "name"), "name");
        su_dec(&r, CP_MARKET_PRICE, su_get(c, "current_price"), "current_price");
        su_dec(&r, CP_MARKET_MARKET_CAP, su_get(c, "market_cap"), "market_cap");
        su_int(&r, CP_MARKET_MARKET_CAP_RANK, su_get(c, "market_cap_rank"), "market_cap_rank");
        su_dec(&r, CP_MARKET_FULLY_DILUTED_VALUATION, su_get(c, "fully_diluted_valuation"), "fully_diluted_valuation");
        su_dec(&r, CP_MARKET_TOTAL_VOLUME, su_get(c, "total_volume"), "total_volume");
        su_dec(&r, CP_MARKET_HIGH_24H, su_get(c, "high_24h"), "high_24h");
        su_dec(&r, CP_MARKET_LOW_24H, su_get(c, "low_24h"), "low_24h");
        su_dec(&r, CP_MARKET_PRICE_CHANGE_24H, su_get(c, "price_change_24h"), "price_change_24h");
        su_dec(&r, CP_MARKET_PRICE_CHANGE_PCT_24H, su_get(c, "price_change_percentage_24h"),
               "price_change_percentage_24h");
        su_dec(&r, CP_MARKET_MARKET_CAP_CHANGE_24H, su_get(c, "market_cap_change_24h"), "market_cap_change_24h");
        su_dec(&r, CP_MARKET_MARKET_CAP_CHANGE_PCT_24H, su_get(c, "market_cap_change_percentage_24h"),
               "market_cap_change_percentage_24h");
        su_dec(&r, CP_MARKET_CIRCULATING_SUPPLY, su_get(c, "circulating_supply"), "circulating_supply");
        su_dec(&r, CP_MARKET_TOTAL_SUPPLY, su_get(c, "total_supply"), "total_supply");
        su_dec(&r, CP_MARKET_MAX_SUPPLY, su_get(c, "max_supply"), "max_supply");
        su_dec(&r, CP_MARKET_ATH, su_get(c, "ath"), "ath");
        su_dec(&r, CP_MARKET_ATH_CHANGE_PCT, su_get(c, "ath_change_percentage"), "ath_change_percentage");
        su_iso_ts(&r, CP_MARKET_ATH_DATE, su_get(c, "ath_date"), "ath_date");
        su_dec(&r, CP_MARKET_ATL, su_get(c, "atl"), "atl");
        su_dec(&r, CP_MARKET_ATL_CHANGE_PCT, su_get(c, "atl_change_percentage"), "atl_change_percentage");
        su_iso_ts(&r, CP_MARKET_ATL_DATE, su_get(c, "atl_date"), "atl_date");
        if (!r.ok) /* only this coin's row goes */
            su_row_drop(&r, "coins/markets", json_object_is_type(id, json_type_string) ? json_object_get_string(id) : NULL);
    }
    return CP_OK;
}

static cp_status cg_parse_simple(cp_ctx *ctx, json_object *root, const cp_strlist *vs, int64_t received_at,
                                 cp_batch *out)
{
    size_t keep = cp_batch_rows(ctx, out);
    if (!json_object_is_type(root, json_type_object)) {
        cp_log_error(ctx, "simple/price: expected an object; response ignored");
        return CP_ERR_PARSE;
    }
    json_object_object_foreach(root, coin, o)
    {
        if (!o || !json_object_is_type(o, json_type_object)) {
            su_row r = {.bad = coin};
            return bad(ctx, "simple/price", &r, out, keep);
        }
        json_object *lu = su_get(o, "last_updated_at");
        for (size_t i = 0; i < vs->n; i++) {
            char k[96];
            const char *v = vs->v[i];
            json_object *price = su_get(o, v);
            if (!price)
                continue; /* this coin has no quote in that currency */
            su_row r = su_row_add(ctx, out);
            su_cstr(&r, CP_SPOT_PRICE_SOURCE, "coingecko");
            su_cstr(&r, CP_SPOT_PRICE_COIN_ID, coin);
            su_cstr(&r, CP_SPOT_PRICE_VS_CURRENCY, v);
            if (lu)
                su_unix_s(&r, CP_SPOT_PRICE_TS, lu, "last_updated_at");
            else
                su_i64(&r, CP_SPOT_PRICE_TS, received_at);
            su_i64(&r, CP_SPOT_PRICE_RECEIVED_AT, received_at);
            su_dec(&r, CP_SPOT_PRICE_PRICE, price, v);
            snprintf(k, sizeof k, "%s_market_cap", v);
            su_dec(&r, CP_SPOT_PRICE_MARKET_CAP, su_get(o, k), "market_cap");
            snprintf(k, sizeof k, "%s_24h_vol", v);
            su_dec(&r, CP_SPOT_PRICE_VOLUME_24H, su_get(o, k), "24h_vol");
            snprintf(k, sizeof k, "%s_24h_change", v);
            su_dec(&r, CP_SPOT_PRICE_CHANGE_24H_PCT, su_get(o, k), "24h_change");
            if (!r.ok)
                su_row_drop(&r, "simple/price", coin);
        }
    }
    return CP_OK;
}

static cp_status cg_parse_global(cp_ctx *ctx, json_object *root, int64_t received_at, cp_batch *out)
{
    size_t keep = cp_batch_rows(ctx, out);
    json_object *d = su_get(root, "data");
    if (!d || !json_object_is_type(d, json_type_object)) {
        cp_log_error(ctx, "global: expected {\"data\": {...}}; response ignored");
        return CP_ERR_PARSE;
    }
    su_row r = su_row_add(ctx, out);
    su_cstr(&r, CP_GLOBAL_SOURCE, "coingecko");
    json_object *up = su_get(d, "updated_at");
    if (up)
        su_unix_s(&r, CP_GLOBAL_TS, up, "updated_at");
    else
        su_i64(&r, CP_GLOBAL_TS, received_at);
    su_i64(&r, CP_GLOBAL_RECEIVED_AT, received_at);
    su_int(&r, CP_GLOBAL_ACTIVE_CRYPTOCURRENCIES, su_get(d, "active_cryptocurrencies"), "active_cryptocurrencies");
    su_int(&r, CP_GLOBAL_MARKETS, su_get(d, "markets"), "markets");
    su_dec(&r, CP_GLOBAL_TOTAL_MARKET_CAP_USD, su_get(su_get(d, "total_market_cap"), "usd"), "total_market_cap.usd");
    su_dec(&r, CP_GLOBAL_TOTAL_VOLUME_USD, su_get(su_get(d, "total_volume"), "usd"), "total_volume.usd");
    su_dec(&r, CP_GLOBAL_BTC_DOMINANCE_PCT, su_get(su_get(d, "market_cap_percentage"), "btc"),
           "market_cap_percentage.btc");
    su_dec(&r, CP_GLOBAL_ETH_DOMINANCE_PCT, su_get(su_get(d, "market_cap_percentage"), "eth"),
           "market_cap_percentage.eth");
    su_dec(&r, CP_GLOBAL_MARKET_CAP_CHANGE_PCT_24H_USD, su_get(d, "market_cap_change_percentage_24h_usd"),
           "market_cap_change_percentage_24h_usd");
    if (!r.ok)
        return bad(ctx, "global", &r, out, keep);
    return CP_OK;
}

/* One coin row from /coins/{id} (the coin-detail endpoint). */
static cp_status cg_parse_coin(cp_ctx *ctx, json_object *root, const char *want_id, int64_t received_at, cp_batch *out)
{
    size_t keep = cp_batch_rows(ctx, out);
    if (!json_object_is_type(root, json_type_object)) {
        cp_log_error(ctx, "coins/%s: expected an object; response ignored", want_id);
        return CP_ERR_PARSE;
    }
    json_object *id = su_get(root, "id"), *md = su_get(root, "market_data"), *lu = su_get(root, "last_updated");
    su_row r = su_row_add(ctx, out);
    su_cstr(&r, CP_COIN_SOURCE, "coingecko");
    su_require(&r, id, "id");
    su_str(&r, CP_COIN_COIN_ID, id, "id");
    if (lu)
        su_iso_ts(&r, CP_COIN_TS, lu, "last_updated");
    else
        su_i64(&r, CP_COIN_TS, received_at);
    su_i64(&r, CP_COIN_RECEIVED_AT, received_at);
    su_str(&r, CP_COIN_SYMBOL, su_get(root, "symbol"), "symbol");
    su_str(&r, CP_COIN_NAME, su_get(root, "name"), "name");
    json_object *platform = su_get(root, "asset_platform_id");
    if (json_object_is_type(platform, json_type_string) && json_object_get_string_len(platform) > 0)
        su_str(&r, CP_COIN_ASSET_PLATFORM_ID, platform, "asset_platform_id");
    su_str(&r, CP_COIN_HASHING_ALGORITHM, su_get(root, "hashing_algorithm"), "hashing_algorithm");
    su_str(&r, CP_COIN_GENESIS_DATE, su_get(root, "genesis_date"), "genesis_date");
    json_object *cats = su_get(root, "categories");
    if (json_object_is_type(cats, json_type_array) && json_object_array_length(cats) > 0) {
        cp_buf b = {0};
        for (size_t i = 0; i < json_object_array_length(cats); i++) {
            json_object *c = json_object_array_get_idx(cats, i);
            if (json_object_is_type(c, json_type_string))
                cp_buf_printf(&b, "%s%s", b.len ? "; " : "", json_object_get_string(c));
        }
        if (b.oom)
            r.ok = false, r.bad = "categories", r.why = "out of memory";
        else if (b.p)
            su_cstr(&r, CP_COIN_CATEGORIES, b.p);
        cp_buf_free(&b);
    }
    json_object *home = su_get(su_get(root, "links"), "homepage");
    json_object *h0 = json_object_is_type(home, json_type_array) && json_object_array_length(home) > 0
                          ? json_object_array_get_idx(home, 0)
                          : NULL;
    if (json_object_is_type(h0, json_type_string) && json_object_get_string_len(h0) > 0)
        su_str(&r, CP_COIN_HOMEPAGE, h0, "links.homepage");
    json_object *en = su_get(su_get(root, "description"), "en");
    if (json_object_is_type(en, json_type_string) && json_object_get_string_len(en) > 0)
        su_str(&r, CP_COIN_DESCRIPTION, en, "description.en");
    su_int(&r, CP_COIN_MARKET_CAP_RANK, su_get(root, "market_cap_rank"), "market_cap_rank");
    su_dec(&r, CP_COIN_SENTIMENT_VOTES_UP_PCT, su_get(root, "sentiment_votes_up_percentage"),
           "sentiment_votes_up_percentage");
    su_int(&r, CP_COIN_WATCHLIST_USERS, su_get(root, "watchlist_portfolio_users"), "watchlist_portfolio_users");
    su_dec(&r, CP_COIN_PRICE_USD, su_get(su_get(md, "current_price"), "usd"), "market_data.current_price.usd");
    su_dec(&r, CP_COIN_MARKET_CAP_USD, su_get(su_get(md, "market_cap"), "usd"), "market_data.market_cap.usd");
    su_dec(&r, CP_COIN_TOTAL_VOLUME_USD, su_get(su_get(md, "total_volume"), "usd"), "market_data.total_volume.usd");
    su_dec(&r, CP_COIN_CIRCULATING_SUPPLY, su_get(md, "circulating_supply"), "market_data.circulating_supply");
    su_dec(&r, CP_COIN_TOTAL_SUPPLY, su_get(md, "total_supply"), "market_data.total_supply");
    su_dec(&r, CP_COIN_MAX_SUPPLY, su_get(md, "max_supply"), "market_data.max_supply");
    if (!r.ok) {
        char ep[160];
        snprintf(ep, sizeof ep, "coins/%s", want_id);
        return bad(ctx, ep, &r, out, keep);
    }
    return CP_OK;
}

/* Appends a row per point of a /coins/{id}/market_chart/range answer with ts in [from, to) to
 * `out`, a spot_price or a market batch (price, market cap and 24 h volume from the three arrays
 * [[ms, value], ...], matched by time). */
static cp_status cg_parse_chart(cp_ctx *ctx, json_object *root, const char *coin, const char *vs, int64_t from,
                                int64_t to, int64_t received_at, cp_batch *out)
{
    json_object *prices = su_get(root, "prices"), *caps = su_get(root, "market_caps"),
                *vols = su_get(root, "total_volumes");
    if (!json_object_is_type(prices, json_type_array)) {
        cp_log_error(ctx, "coins/%s/market_chart/range: expected {\"prices\": [[ms, price], ...]}; response ignored",
                     coin);
        return CP_ERR_PARSE;
    }
    bool spot = strcmp(cp_batch_schema(ctx, out)->stream, "spot_price") == 0;
    size_t c_ts = spot ? CP_SPOT_PRICE_TS : CP_MARKET_TS, c_price = spot ? CP_SPOT_PRICE_PRICE : CP_MARKET_PRICE;
    size_t c_cap = spot ? CP_SPOT_PRICE_MARKET_CAP : CP_MARKET_MARKET_CAP;
    size_t c_vol = spot ? CP_SPOT_PRICE_VOLUME_24H : CP_MARKET_TOTAL_VOLUME;
    char ep[160];
    snprintf(ep, sizeof ep, "coins/%s/market_chart/range", coin);
    for (size_t i = 0; i < json_object_array_length(prices); i++) {
        json_object *p = json_object_array_get_idx(prices, i);
        json_object *jt = json_object_is_type(p, json_type_array) && json_object_array_length(p) == 2
                              ? json_object_array_get_idx(p, 0)
                              : NULL;
        if (!json_object_is_type(jt, json_type_int) || json_object_get_int64(jt) < 0) {
            su_bad_element(ctx, ep, vs, "prices", "not [ms, price]");
            continue;
        }
        int64_t ts = json_object_get_int64(jt);
        if (ts < from || ts >= to)
            continue;
        json_object *vals[2] = {NULL, NULL}, *arrs[2] = {caps, vols};
        for (int k = 0; k < 2; k++) { /* the same index first, else a search by time */
            size_t n = json_object_is_type(arrs[k], json_type_array) ? json_object_array_length(arrs[k]) : 0;
            for (size_t j = 0; j < n && !vals[k]; j++) {
                json_object *e = json_object_array_get_idx(arrs[k], (i + j) % n);
                json_object *et = json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2
                                      ? json_object_array_get_idx(e, 0)
                                      : NULL;
                if (json_object_is_type(et, json_type_int) && json_object_get_int64(et) == ts)
                    vals[k] = json_object_array_get_idx(e, 1);
            }
        }
        su_row r = su_row_add(ctx, out);
        su_cstr(&r, spot ? CP_SPOT_PRICE_SOURCE : CP_MARKET_SOURCE, "coingecko");
        su_cstr(&r, spot ? CP_SPOT_PRICE_COIN_ID : CP_MARKET_COIN_ID, coin);
        su_cstr(&r, spot ? CP_SPOT_PRICE_VS_CURRENCY : CP_MARKET_VS_CURRENCY, vs);
        su_i64(&r, c_ts, ts);
        su_i64(&r, spot ? CP_SPOT_PRICE_RECEIVED_AT : CP_MARKET_RECEIVED_AT, received_at);
        su_dec(&r, c_price, json_object_array_get_idx(p, 1), "price");
        su_dec(&r, c_cap, vals[0], "market_cap");
        su_dec(&r, c_vol, vals[1], "total_volume");
        if (!r.ok)
            su_row_drop(&r, ep, vs);
    }
    return CP_OK;
}

/* ---- plugin ------------------------------------------------------------------------------- */

/* CoinGecko's error bodies: {"error": "..."} or {"status": {"error_code": 429, "error_message": "..."}} */
static void cg_error_message(const char *body, size_t len, char *out, size_t outlen)
{
    static const char *const paths[] = {"error", "error_message", "status.error_message", NULL};
    su_error_json(body, len, out, outlen, paths);
}

static const char *const cg_stream_hints[] = {
    "markets", "coin markets (/coins/markets) are the market stream",
    "price", "prices (/simple/price) are the spot_price stream",
    "simple_price", "prices (/simple/price) are the spot_price stream",
    NULL};

static cp_status cg_check(const void *config, cp_check *chk)
{
    const cg_cfg *cfg = config;
    bool ok = su_check_streams(chk, &cfg->streams, cg_streams, cg_stream_hints);
    static const char *const need_coins[] = {"spot_price", "coin", NULL};
    for (size_t i = 0; need_coins[i]; i++) {
        if (su_list_has(&cfg->streams, need_coins[i]) && cfg->coins.n == 0) {
            cp_check_error(chk, "streams", "stream \"%s\" needs the option coins, a list of CoinGecko coin ids "
                                           "such as [\"bitcoin\", \"ethereum\"] (market and global need none)",
                           need_coins[i]);
            ok = false;
        }
    }
    ok &= su_check_url(chk, "base_url", cfg->base_url);
    return ok ? CP_OK : CP_ERR_CONFIG;
}

static cp_status cg_create(cp_ctx *ctx, const void *config, void **instance)
{
    const cg_cfg *cfg = config;
    if (cp_check_run_logged(ctx, config, cg_check) != CP_OK)
        return CP_ERR_CONFIG;
    cg *g = calloc(1, sizeof *g);
    if (!g)
        return CP_ERR_NOMEM;
    g->cfg = cfg;
    bool pro = cfg->api_plan && strcmp(cfg->api_plan, "pro") == 0;
    char *root = su_base_root(pro && strcmp(cfg->base_url, CG_PUBLIC) == 0 ? CG_PRO : cfg->base_url, CG_API);
    if (root)
        snprintf(g->base, sizeof g->base, "%s" CG_API, root);
    free(root);
    if (!root || strlen(g->base) + 1 >= sizeof g->base) {
        if (root)
            cp_log_error(ctx, "base_url: longer than %zu characters", sizeof g->base - sizeof CG_API);
        free(g);
        return root ? CP_ERR_CONFIG : CP_ERR_NOMEM;
    }
    if (cfg->api_key && *cfg->api_key) {
        snprintf(g->header, sizeof g->header, "%s: %s", pro ? "x-cg-pro-api-key" : "x-cg-demo-api-key", cfg->api_key);
        g->headers[0] = g->header;
    }
    g->want_market = su_list_has(&cfg->streams, "market");
    g->want_price = su_list_has(&cfg->streams, "spot_price");
    g->want_global = su_list_has(&cfg->streams, "global");
    g->want_coin = su_list_has(&cfg->streams, "coin");
    g->top = cfg->top > 0 ? (size_t)cfg->top : cfg->coins.n ? 0 : 100; /* neither given: the top 100 */
    char host[256];
    su_url_host(g->base, host, sizeof host);
    cp_http_limits lim = {.size = sizeof lim,
                          .max_concurrent = (int)cfg->max_concurrent,
                          .weight_per_minute = cfg->calls_per_minute};
    cp_http_limits_set(ctx, host, &lim);
    *instance = g;
    return CP_OK;
}

static void cg_destroy(void *instance) { free(instance); }

enum { R_MARKET, R_PRICE, R_GLOBAL, R_COIN };
struct cg_req {
    int kind;
    size_t vs;
    size_t max;     /* market: rows to keep from this page */
    bool ids;       /* market: a page of the coins list (skip coins the top N gave) */
    size_t coin;    /* coin: index in the coins list */
};

static void join(cp_buf *u, const cp_strlist *l, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        char *e = su_urlencode(l->v[i]);
        if (!e) {
            u->oom = true;
            return;
        }
        cp_buf_printf(u, "%s%s", i > from ? "," : "", e);
        free(e);
    }
}

/* The requests of one cycle, their meaning and their responses. */
typedef struct cg_round {
    size_t n, cap;
    cp_buf *urls;
    struct cg_req *meta;
    cp_http_request *rq;
    cp_http_response *rs;
} cg_round;

static bool round_new(cg_round *r, size_t cap)
{
    r->n = 0, r->cap = cap ? cap : 1;
    r->urls = calloc(r->cap, sizeof *r->urls);
    r->meta = calloc(r->cap, sizeof *r->meta);
    r->rq = calloc(r->cap, sizeof *r->rq);
    r->rs = calloc(r->cap, sizeof *r->rs);
    return r->urls && r->meta && r->rq && r->rs;
}

static void round_free(cp_ctx *ctx, cg_round *r)
{
    for (size_t i = 0; r->urls && i < r->cap; i++) {
        cp_buf_free(&r->urls[i]);
        if (r->rs)
            cp_http_response_clear(ctx, &r->rs[i]);
    }
    free(r->urls);
    free(r->meta);
    free(r->rq);
    free(r->rs);
    memset(r, 0, sizeof *r);
}

/* Performs the round's requests (with the key header, if any), emitting their bodies as the raw
 * stream with archive_raw (endpoint: what each request asks); false when a URL ran out of memory. */
static bool round_perform(cg *g, cp_ctx *ctx, cg_round *r, const char *endpoint)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->urls[i].oom || !r->urls[i].p)
            return false;
        r->rq[i] = CP_HTTP_REQUEST(.url = r->urls[i].p, .headers = g->headers[0] ? g->headers : NULL,
                                   .error_message = cg_error_message);
    }
    cp_http_perform(ctx, r->rq, r->rs, r->n);
    if (g->cfg->archive_raw) {
        static const char *const names[] = {"coins/markets", "simple/price", "global", "coins/{id}"};
        cp_batch *raw = NULL;
        for (size_t i = 0; i < r->n; i++)
            su_raw_add(ctx, &raw, "coingecko", endpoint ? endpoint : names[r->meta[i].kind], r->urls[i].p, &r->rs[i]);
        su_emit(ctx, raw);
    }
    return true;
}

/* /coins/markets pages for currency v: the top N by rank, then (with_ids) the coins list by ids. */
static void market_requests(cg *g, cg_round *r, size_t v, size_t per, bool with_ids)
{
    const cg_cfg *cfg = g->cfg;
    size_t top_pages = (g->top + per - 1) / per, id_pages = with_ids ? (cfg->coins.n + per - 1) / per : 0;
    char *vs = su_urlencode(cfg->vs_currencies.v[v]);
    for (size_t p = 0; p < top_pages + id_pages; p++) {
        cp_buf *u = &r->urls[r->n];
        cp_buf_printf(u, "%s/coins/markets?vs_currency=%s&order=market_cap_desc", g->base, vs ? vs : "");
        if (!vs)
            u->oom = true;
        if (p < top_pages) {
            size_t from = p * per, cnt = g->top - from < per ? g->top - from : per;
            cp_buf_printf(u, "&per_page=%zu&page=%zu", per, p + 1);
            r->meta[r->n++] = (struct cg_req){.kind = R_MARKET, .vs = v, .max = cnt};
        } else {
            size_t from = (p - top_pages) * per, to = from + per < cfg->coins.n ? from + per : cfg->coins.n;
            cp_buf_printf(u, "&ids=");
            join(u, &cfg->coins, from, to);
            cp_buf_printf(u, "&per_page=%zu&page=1", per);
            r->meta[r->n++] = (struct cg_req){.kind = R_MARKET, .vs = v, .max = per, .ids = g->top > 0};
        }
    }
    free(vs);
}

static cp_status cg_collect(void *instance, cp_ctx *ctx)
{
    cg *g = instance;
    const cg_cfg *cfg = g->cfg;
    size_t per = 250, nvs = cfg->vs_currencies.n;
    size_t pages = (g->top + per - 1) / per + (cfg->coins.n + per - 1) / per;
    cg_round r = {0};
    cp_batch *bm = NULL, *bp = NULL, *bg = NULL, *bc = NULL;
    cp_status ret = CP_OK;
    if (!round_new(&r, (g->want_market ? pages * nvs : 0) + 2 + (g->want_coin ? cfg->coins.n : 0))) {
        ret = CP_ERR_NOMEM;
        goto out;
    }
    for (size_t v = 0; g->want_market && v < nvs; v++)
        market_requests(g, &r, v, per, true);
    if (g->want_price) {
        cp_buf_printf(&r.urls[r.n], "%s/simple/price?ids=", g->base);
        join(&r.urls[r.n], &cfg->coins, 0, cfg->coins.n);
        cp_buf_printf(&r.urls[r.n], "&vs_currencies=");
        join(&r.urls[r.n], &cfg->vs_currencies, 0, nvs);
        cp_buf_printf(&r.urls[r.n], "&include_market_cap=true&include_24hr_vol=true&include_24hr_change=true"
                                    "&include_last_updated_at=true");
        r.meta[r.n++] = (struct cg_req){.kind = R_PRICE};
    }
    if (g->want_global) {
        cp_buf_printf(&r.urls[r.n], "%s/global", g->base);
        r.meta[r.n++] = (struct cg_req){.kind = R_GLOBAL};
    }
    for (size_t c = 0; g->want_coin && c < cfg->coins.n; c++) {
        char *id = su_urlencode(cfg->coins.v[c]);
        cp_buf_printf(&r.urls[r.n], "%s/coins/%s?localization=false&tickers=false&market_data=true"
                                    "&community_data=false&developer_data=false&sparkline=false", g->base, id ? id : "");
        if (!id)
            r.urls[r.n].oom = true;
        free(id);
        r.meta[r.n++] = (struct cg_req){.kind = R_COIN, .coin = c};
    }
    if (!round_perform(g, ctx, &r, NULL)) {
        ret = CP_ERR_NOMEM;
        goto out;
    }
    bm = g->want_market ? cp_batch_new(ctx, &cp_market_schema, (g->top + cfg->coins.n) * nvs) : NULL;
    bp = g->want_price ? cp_batch_new(ctx, &cp_spot_price_schema, cfg->coins.n * nvs) : NULL;
    bg = g->want_global ? cp_batch_new(ctx, &cp_global_schema, 1) : NULL;
    bc = g->want_coin ? cp_batch_new(ctx, &cp_coin_schema, cfg->coins.n) : NULL;
    if ((g->want_market && !bm) || (g->want_price && !bp) || (g->want_global && !bg) || (g->want_coin && !bc)) {
        ret = CP_ERR_NOMEM;
        goto out;
    }
    static const char *const names[] = {"coins/markets", "simple/price", "global", "coins/{id}"};
    for (size_t i = 0; i < r.n; i++) { /* top pages come before the coins list's: its coins dedup against them */
        const struct cg_req *m = &r.meta[i];
        const char *ep = names[m->kind];
        cp_status st = su_check(ctx, ep, &r.rs[i]);
        json_object *root = st == CP_OK ? su_parse(ctx, ep, &r.rs[i]) : NULL;
        if (st == CP_OK && !root)
            st = CP_ERR_PARSE;
        if (st == CP_OK) {
            size_t count;
            int64_t at = r.rs[i].received_at;
            if (m->kind == R_MARKET)
                st = cg_parse_markets(ctx, root, cfg->vs_currencies.v[m->vs], at, m->max, m->ids, bm, &count);
            else if (m->kind == R_PRICE)
                st = cg_parse_simple(ctx, root, &cfg->vs_currencies, at, bp);
            else if (m->kind == R_GLOBAL)
                st = cg_parse_global(ctx, root, at, bg);
            else
                st = cg_parse_coin(ctx, root, cfg->coins.v[m->coin], at, bc);
        }
        json_object_put(root);
        if (st != CP_OK && ret == CP_OK)
            ret = st;
    }
    cp_batch *all[] = {bm, bp, bg, bc};
    for (size_t i = 0; i < 4; i++) {
        cp_status st = su_emit(ctx, all[i]);
        all[i] = NULL;
        if (st != CP_OK && ret == CP_OK)
            ret = st;
    }
    bm = bp = bg = bc = NULL;
out:
    cp_batch_free(ctx, bm);
    cp_batch_free(ctx, bp);
    cp_batch_free(ctx, bg);
    cp_batch_free(ctx, bc);
    round_free(ctx, &r);
    return ret;
}

/* ---- backfill: /coins/{id}/market_chart/range -------------------------------------------- */

/* The coins a backfill covers: the coins list, then the current top N not in it (asked from
 * /coins/markets in the first vs currency). *out is a malloc'd array of borrowed or owned ids:
 * owned[i] says which to free. */
static cp_status backfill_coins(cg *g, cp_ctx *ctx, char ***out, bool **owned, size_t *n)
{
    const cg_cfg *cfg = g->cfg;
    size_t per = 250, cap = cfg->coins.n + g->top;
    *out = calloc(cap ? cap : 1, sizeof **out);
    *owned = calloc(cap ? cap : 1, sizeof **owned);
    *n = 0;
    if (!*out || !*owned)
        return CP_ERR_NOMEM;
    for (size_t i = 0; i < cfg->coins.n; i++)
        (*out)[(*n)++] = cfg->coins.v[i];
    if (g->top == 0)
        return CP_OK;
    cg_round r = {0};
    cp_status ret = CP_OK;
    if (!round_new(&r, (g->top + per - 1) / per)) {
        round_free(ctx, &r);
        return CP_ERR_NOMEM;
    }
    market_requests(g, &r, 0, per, false);
    if (!round_perform(g, ctx, &r, "coins/markets"))
        ret = CP_ERR_NOMEM;
    for (size_t i = 0; ret == CP_OK && i < r.n; i++) {
        ret = su_check(ctx, "coins/markets", &r.rs[i]);
        json_object *root = ret == CP_OK ? su_parse(ctx, "coins/markets", &r.rs[i]) : NULL;
        if (ret == CP_OK && !json_object_is_type(root, json_type_array))
            ret = CP_ERR_PARSE;
        for (size_t k = 0; ret == CP_OK && k < json_object_array_length(root) && k < r.meta[i].max; k++) {
            json_object *id = su_get(json_object_array_get_idx(root, k), "id");
            if (!json_object_is_type(id, json_type_string) || su_list_has(&cfg->coins, json_object_get_string(id)))
                continue;
            if (!((*out)[*n] = strdup(json_object_get_string(id))))
                ret = CP_ERR_NOMEM;
            else
                (*owned)[(*n)++] = true;
        }
        json_object_put(root);
    }
    if (ret != CP_OK)
        cp_log_error(ctx, "backfill: cannot list the top %zu coins from %s/coins/markets (%s)", g->top, g->base,
                     cp_strerror(ret));
    round_free(ctx, &r);
    return ret;
}

static void chart_key(const char *coin, const char *vs, int64_t from, int64_t to, char *key, size_t len)
{
    snprintf(key, len, "backfill/chart/%s/%s/%" PRId64 "-%" PRId64, coin, vs, from, to);
}

static cp_status cg_backfill(void *instance, cp_ctx *ctx, int64_t from_ms, int64_t to_ms)
{
    cg *g = instance;
    const cg_cfg *cfg = g->cfg;
    if (!g->want_price && !g->want_market) {
        cp_log_error(ctx, "backfill: nothing to do (streams need spot_price or market)");
        return CP_ERR_UNSUPPORTED;
    }
    int64_t now = cp_now_ms(ctx), stop = to_ms < now ? to_ms : now, win = cfg->backfill_window;
    if (stop <= from_ms)
        return CP_OK;
    char **coins;
    bool *owned;
    size_t nc, nvs = cfg->vs_currencies.n;
    cp_status ret = backfill_coins(g, ctx, &coins, &owned, &nc);
    size_t ns = nc * nvs;
    int64_t *next = ret == CP_OK ? calloc(ns ? ns : 1, sizeof *next) : NULL;
    if (ret == CP_OK && !next)
        ret = CP_ERR_NOMEM;
    char key[512];
    for (size_t i = 0; ret == CP_OK && i < ns; i++) {
        int64_t v;
        next[i] = from_ms;
        chart_key(coins[i / nvs], cfg->vs_currencies.v[i % nvs], from_ms, to_ms, key, sizeof key);
        if (su_state_get_i64(ctx, key, &v) && v > from_ms && v <= stop) {
            next[i] = v;
            cp_log_info(ctx, "backfill: %s/%s resumes at checkpoint %" PRId64, coins[i / nvs],
                        cfg->vs_currencies.v[i % nvs], v);
        }
    }
    uint64_t rows = 0;
    while (ret == CP_OK) {
        if (cp_stopping(ctx)) {
            ret = CP_ERR_STOPPED;
            break;
        }
        cg_round r = {0};
        size_t *series = calloc(ns ? ns : 1, sizeof *series);
        if (!series || !round_new(&r, ns)) {
            free(series);
            round_free(ctx, &r);
            ret = CP_ERR_NOMEM;
            break;
        }
        for (size_t i = 0; i < ns; i++) { /* one window of every series not done yet */
            if (next[i] >= stop)
                continue;
            int64_t end = next[i] + win < stop ? next[i] + win : stop;
            char *id = su_urlencode(coins[i / nvs]), *vs = su_urlencode(cfg->vs_currencies.v[i % nvs]);
            /* from and to are whole seconds: to is rounded up, points past `end` are dropped */
            cp_buf_printf(&r.urls[r.n], "%s/coins/%s/market_chart/range?vs_currency=%s&from=%" PRId64 "&to=%" PRId64,
                          g->base, id ? id : "", vs ? vs : "", next[i] / 1000, (end + 999) / 1000);
            if (!id || !vs)
                r.urls[r.n].oom = true;
            free(id);
            free(vs);
            series[r.n++] = i;
        }
        if (r.n == 0) {
            free(series);
            round_free(ctx, &r);
            break;
        }
        cp_batch *b = round_perform(g, ctx, &r, "coins/{id}/market_chart/range")
                          ? cp_batch_new(ctx, g->want_price ? &cp_spot_price_schema : &cp_market_schema, 256)
                          : NULL;
        bool *done = calloc(r.n, sizeof *done);
        for (size_t j = 0; b && done && j < r.n; j++) {
            size_t i = series[j];
            int64_t end = next[i] + win < stop ? next[i] + win : stop;
            cp_status st = su_check(ctx, "coins/{id}/market_chart/range", &r.rs[j]);
            json_object *root = st == CP_OK ? su_parse(ctx, "coins/{id}/market_chart/range", &r.rs[j]) : NULL;
            if (st == CP_OK)
                st = root ? cg_parse_chart(ctx, root, coins[i / nvs], cfg->vs_currencies.v[i % nvs], next[i], end,
                                           r.rs[j].received_at, b)
                          : CP_ERR_PARSE;
            json_object_put(root);
            done[j] = st == CP_OK;
            if (st != CP_OK && ret == CP_OK)
                ret = st;
        }
        rows += b ? cp_batch_rows(ctx, b) : 0;
        cp_status est = b && done ? su_emit(ctx, b) : (cp_batch_free(ctx, b), CP_ERR_NOMEM);
        if (est != CP_OK && ret == CP_OK)
            ret = est;
        for (size_t j = 0; est == CP_OK && j < r.n; j++) { /* checkpoint what was emitted */
            size_t i = series[j];
            if (!done[j])
                continue;
            next[i] = next[i] + win < stop ? next[i] + win : stop;
            chart_key(coins[i / nvs], cfg->vs_currencies.v[i % nvs], from_ms, to_ms, key, sizeof key);
            su_state_set_i64(ctx, key, next[i]);
        }
        free(done);
        free(series);
        round_free(ctx, &r);
        double frac = 0;
        for (size_t i = 0; i < ns; i++)
            frac += (double)(next[i] - from_ms) / (double)(stop - from_ms);
        cp_progress(ctx, ns ? frac / (double)ns : 1.0, rows);
    }
    for (size_t i = 0; ret == CP_OK && i < ns; i++) { /* finished: the range's checkpoints go */
        chart_key(coins[i / nvs], cfg->vs_currencies.v[i % nvs], from_ms, to_ms, key, sizeof key);
        cp_state_set(ctx, key, NULL);
    }
    for (size_t i = 0; coins && owned && i < nc; i++)
        if (owned[i])
            free(coins[i]);
    free(coins);
    free(owned);
    free(next);
    return ret;
}

static cp_status cg_schemas(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                              cp_schema_fn fn, void *user)
{
    const cg_cfg *cfg = config;
    return su_schemas_raw(ctx, &cfg->streams, cg_streams, cfg->archive_raw, fn, user);
}

CP_PLUGIN_DEFINE(.name = "coingecko", .kind = CP_SOURCE, .version = "0.1.0",
                 .description = "CoinGecko: market (coins/markets), spot_price (simple/price), global, coin (coins/{id}); "
                                "backfill from coins/{id}/market_chart/range",
                 .options = cg_options, .config_size = sizeof(cg_cfg), .check = cg_check, .create = cg_create,
                 .destroy = cg_destroy, .collect = cg_collect, .backfill = cg_backfill, .schemas = cg_schemas);
