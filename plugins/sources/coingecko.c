/* coingecko source: market-wide coin data from the CoinGecko API v3.
 * SPDX-License-Identifier: MIT
 *
 * Collects (streams option):
 *   market      GET /coins/markets?vs_currency=&order=market_cap_desc&per_page=250&page=
 *               (the top `top` coins, or the `coins` list, for each of `vs_currencies`)
 *   spot_price  GET /simple/price?ids=&vs_currencies=&include_market_cap=true
 *               &include_24hr_vol=true&include_24hr_change=true&include_last_updated_at=true
 *   global      GET /global
 * CoinGecko sends JSON numbers; their exact token text is kept. `api_key` with `api_plan`
 * demo sends x-cg-demo-api-key; pro sends x-cg-pro-api-key and defaults the base URL to
 * the pro host. The host budget defaults to 30 calls per minute (the free tier).
 */
#include "common/srcutil.h"

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
    cp_strlist vs_currencies;
    double calls_per_minute;
    int64_t max_concurrent;
} cg_cfg;

#define CG_PUBLIC "https://api.coingecko.com"
#define CG_PRO "https://pro-api.coingecko.com"
#define CG_API "/api/v3"

static const char *const plans[] = {"demo", "pro", NULL};
static const char *const cg_streams[] = {"market", "spot_price", "global", NULL};

static const cp_option cg_options[] = {
    {.name = "base_url", .type = CP_OPT_STRING, .def = "\"" CG_PUBLIC "\"", .offset = offsetof(cg_cfg, base_url),
     .doc = "Host root of the API; the source appends /api/v3 (a value that already ends in it works too). With "
            "api_plan = pro the default is " CG_PRO "."},
    {.name = "api_key", .type = CP_OPT_STRING, .flags = CP_OPT_SECRET, .offset = offsetof(cg_cfg, api_key),
     .doc = "CoinGecko API key (optional on the public API)."},
    {.name = "api_plan", .type = CP_OPT_ENUM, .def = "\"demo\"", .offset = offsetof(cg_cfg, api_plan),
     .choices = plans,
     .doc = "Which plan the key belongs to: demo (x-cg-demo-api-key) or pro (x-cg-pro-api-key, pro host)."},
    {.name = "streams", .type = CP_OPT_STRLIST, .def = "[\"market\"]", .min = 1, .max = 3,
     .offset = offsetof(cg_cfg, streams),
     .doc = "Streams to collect: market, spot_price, global."},
    {.name = "top", .type = CP_OPT_INT, .def = "100", .min = 1, .max = 10000, .offset = offsetof(cg_cfg, top),
     .doc = "market: how many coins by market cap when no coins list is given (250 per request)."},
    {.name = "coins", .type = CP_OPT_STRLIST, .offset = offsetof(cg_cfg, coins),
     .doc = "CoinGecko coin ids (bitcoin, ethereum); market uses them instead of top, spot_price needs them."},
    {.name = "vs_currencies", .type = CP_OPT_STRLIST, .def = "[\"usd\"]", .min = 1, .max = 64,
     .offset = offsetof(cg_cfg, vs_currencies),
     .doc = "Quote currencies (usd, eur, btc ...)."},
    {.name = "calls_per_minute", .type = CP_OPT_DOUBLE, .def = "30", .min = 1, .max = 100000,
     .offset = offsetof(cg_cfg, calls_per_minute),
     .doc = "Request budget per minute for the API host (free tier about 30)."},
    {.name = "max_concurrent", .type = CP_OPT_INT, .def = "2", .min = 1, .max = 16,
     .offset = offsetof(cg_cfg, max_concurrent),
     .doc = "Requests in flight at once to the API host."},
    CP_OPTION_END,
};

typedef struct cg {
    const cg_cfg *cfg;
    char base[1024]; /* base_url's host root + /api/v3 */
    char header[300];
    const char *headers[2];
    bool want_market, want_price, want_global;
} cg;

/* ---- parsers ------------------------------------------------------------------------------ */

static cp_status bad(cp_ctx *ctx, const char *endpoint, const su_row *r, cp_batch *b, size_t keep)
{
    cp_log_error(ctx, "%s: unexpected payload (field %s%s%s); no rows kept from this response", endpoint,
                 r->bad ? r->bad : "?", r->why ? ": " : "", r->why ? r->why : "");
    su_truncate(ctx, b, keep);
    return CP_ERR_PARSE;
}

/* Appends up to `max` market rows; *count gets the array length. */
static cp_status cg_parse_markets(cp_ctx *ctx, json_object *root, const char *vs, int64_t received_at, size_t max,
                                  cp_batch *out, size_t *count)
{
    if (!json_object_is_type(root, json_type_array)) {
        cp_log_error(ctx, "coins/markets: expected an array; response ignored");
        return CP_ERR_PARSE;
    }
    size_t len = json_object_array_length(root);
    *count = len;
    for (size_t i = 0; i < len && i < max; i++) {
        json_object *c = json_object_array_get_idx(root, i), *id = su_get(c, "id");
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
    if (su_list_has(&cfg->streams, "spot_price") && cfg->coins.n == 0) {
        cp_check_error(chk, "streams", "stream \"spot_price\" needs the option coins, a list of CoinGecko coin ids "
                                       "such as [\"bitcoin\", \"ethereum\"] (market and global need none)");
        ok = false;
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

enum { R_MARKET, R_PRICE, R_GLOBAL };
struct cg_req {
    int kind;
    size_t vs;
    size_t max; /* market: rows to keep from this page */
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

static cp_status cg_collect(void *instance, cp_ctx *ctx)
{
    cg *g = instance;
    const cg_cfg *cfg = g->cfg;
    size_t per = 250, nvs = cfg->vs_currencies.n;
    size_t ncoins = cfg->coins.n ? cfg->coins.n : (size_t)cfg->top;
    size_t pages = (ncoins + per - 1) / per;
    size_t cap = (g->want_market ? pages * nvs : 0) + 2;
    cp_buf *urls = calloc(cap, sizeof *urls);
    struct cg_req *meta = calloc(cap, sizeof *meta);
    cp_http_request *rq = calloc(cap, sizeof *rq);
    cp_http_response *rs = calloc(cap, sizeof *rs);
    size_t n = 0;
    cp_status ret = CP_OK;
    if (!urls || !meta || !rq || !rs) {
        ret = CP_ERR_NOMEM;
        goto out;
    }
    for (size_t v = 0; g->want_market && v < nvs; v++) {
        for (size_t p = 0; p < pages; p++) {
            size_t from = p * per, cnt = ncoins - from < per ? ncoins - from : per;
            char *vs = su_urlencode(cfg->vs_currencies.v[v]);
            cp_buf_printf(&urls[n], "%s/coins/markets?vs_currency=%s&order=market_cap_desc", g->base, vs ? vs : "");
            free(vs);
            if (cfg->coins.n) {
                cp_buf_printf(&urls[n], "&ids=");
                join(&urls[n], &cfg->coins, from, from + cnt);
                cp_buf_printf(&urls[n], "&per_page=%zu&page=1", per);
                meta[n] = (struct cg_req){R_MARKET, v, per};
            } else {
                cp_buf_printf(&urls[n], "&per_page=%zu&page=%zu", per, p + 1);
                meta[n] = (struct cg_req){R_MARKET, v, cnt};
            }
            n++;
        }
    }
    if (g->want_price) {
        cp_buf_printf(&urls[n], "%s/simple/price?ids=", g->base);
        join(&urls[n], &cfg->coins, 0, cfg->coins.n);
        cp_buf_printf(&urls[n], "&vs_currencies=");
        join(&urls[n], &cfg->vs_currencies, 0, nvs);
        cp_buf_printf(&urls[n], "&include_market_cap=true&include_24hr_vol=true&include_24hr_change=true"
                                "&include_last_updated_at=true");
        meta[n++] = (struct cg_req){R_PRICE, 0, 0};
    }
    if (g->want_global) {
        cp_buf_printf(&urls[n], "%s/global", g->base);
        meta[n++] = (struct cg_req){R_GLOBAL, 0, 0};
    }
    for (size_t i = 0; i < n; i++) {
        if (urls[i].oom || !urls[i].p) {
            ret = CP_ERR_NOMEM;
            goto out;
        }
        rq[i] = CP_HTTP_REQUEST(.url = urls[i].p, .headers = g->headers[0] ? g->headers : NULL,
                                .error_message = cg_error_message);
    }
    cp_http_perform(ctx, rq, rs, n);
    cp_batch *bm = g->want_market ? cp_batch_new(ctx, &cp_market_schema, ncoins * nvs) : NULL;
    cp_batch *bp = g->want_price ? cp_batch_new(ctx, &cp_spot_price_schema, cfg->coins.n * nvs) : NULL;
    cp_batch *bg = g->want_global ? cp_batch_new(ctx, &cp_global_schema, 1) : NULL;
    if ((g->want_market && !bm) || (g->want_price && !bp) || (g->want_global && !bg)) {
        cp_batch_free(ctx, bm);
        cp_batch_free(ctx, bp);
        cp_batch_free(ctx, bg);
        ret = CP_ERR_NOMEM;
        goto out;
    }
    static const char *const names[] = {"coins/markets", "simple/price", "global"};
    for (size_t i = 0; i < n; i++) {
        const char *ep = names[meta[i].kind];
        cp_status st = su_check(ctx, ep, &rs[i]);
        json_object *root = st == CP_OK ? su_parse(ctx, ep, &rs[i]) : NULL;
        if (st == CP_OK && !root)
            st = CP_ERR_PARSE;
        if (st == CP_OK) {
            size_t count;
            int64_t at = rs[i].received_at;
            if (meta[i].kind == R_MARKET)
                st = cg_parse_markets(ctx, root, cfg->vs_currencies.v[meta[i].vs], at, meta[i].max, bm, &count);
            else if (meta[i].kind == R_PRICE)
                st = cg_parse_simple(ctx, root, &cfg->vs_currencies, at, bp);
            else
                st = cg_parse_global(ctx, root, at, bg);
        }
        json_object_put(root);
        if (st != CP_OK && ret == CP_OK)
            ret = st;
    }
    cp_batch *all[] = {bm, bp, bg};
    for (size_t i = 0; i < 3; i++) {
        cp_status st = su_emit(ctx, all[i]);
        if (st != CP_OK && ret == CP_OK)
            ret = st;
    }
out:
    for (size_t i = 0; urls && i < cap; i++) {
        cp_buf_free(&urls[i]);
        if (rs)
            cp_http_response_clear(ctx, &rs[i]);
    }
    free(urls);
    free(meta);
    free(rq);
    free(rs);
    return ret;
}

static cp_status cg_schemas(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                              cp_schema_fn fn, void *user)
{
    return su_schemas(ctx, &((const cg_cfg *)config)->streams, cg_streams, fn, user);
}

CP_PLUGIN_DEFINE(.name = "coingecko", .kind = CP_SOURCE, .version = "0.1.0",
                 .description = "CoinGecko: market (coins/markets), spot_price (simple/price), global",
                 .options = cg_options, .config_size = sizeof(cg_cfg), .check = cg_check, .create = cg_create,
                 .destroy = cg_destroy, .collect = cg_collect, .schemas = cg_schemas);
