/* Binance REST client shared by the binance-spot and binance-futures sources.
 * SPDX-License-Identifier: MIT
 *
 * Spot (/api/v3) and USD-M futures (/fapi/v1) speak the same dialect: the same ticker,
 * depth, trade and kline payloads, the same exchangeInfo and X-MBX-USED-WEIGHT-1m header.
 * The two plugins differ only in their bn_api description and option defaults.
 */
#ifndef COINPIPE_SRC_BINANCE_H
#define COINPIPE_SRC_BINANCE_H

#include "srcutil.h"
#include "universe.h"

/** The config struct both Binance plugins fill from their option tables. */
typedef struct bn_cfg {
    char *base_url;
    cp_strlist symbols;
    cp_strlist streams;
    int64_t depth;
    char *kline_interval;
    int64_t ohlcv_limit;
    bool include_open_candle;
    int64_t warmup;
    int64_t trade_limit;
    double weight_per_minute;
    int64_t max_concurrent;
    int64_t max_pages;
    /* stream mode (BN_STREAM_OPTIONS) */
    char *mode;
    char *ws_url;
    int64_t stall_timeout;
    int64_t max_message;
    int64_t book_interval;
    int64_t ws_max_age;
    int64_t ws_max_streams;
    su_universe_cfg u; /* symbols = ["top:N"] (SU_UNIVERSE_OPTIONS) */
} bn_cfg;

/* Options of the WebSocket stream mode. */
#define BN_STREAM_OPTIONS(DEF_WS)                                                                                   \
    {.name = "mode", .type = CP_OPT_ENUM, .def = "\"poll\"", .offset = offsetof(bn_cfg, mode), \
     .choices = bn_modes, \
     .doc = "poll: REST each interval; stream: the WebSocket streams, continuously (the pipeline has no interval)."}, \
    {.name = "ws_url", .type = CP_OPT_STRING, .def = DEF_WS, .offset = offsetof(bn_cfg, ws_url), \
     .doc = "Base URL of the WebSocket streams (mode = stream); base_url stays the REST API used for repairs."}, \
    {.name = "stall_timeout", .type = CP_OPT_DURATION, .def = "\"30s\"", .min = 1000, .max = 3600000, \
     .offset = offsetof(bn_cfg, stall_timeout), \
     .doc = "A stream connection that brings nothing for this long is closed and opened again."}, \
    {.name = "max_message", .type = CP_OPT_SIZE, .def = "\"1M\"", .min = 1024, .max = 67108864, \
     .offset = offsetof(bn_cfg, max_message), \
     .doc = "Largest WebSocket message accepted; a larger one drops the connection (it is reopened)."}, \
    {.name = "book_interval", .type = CP_OPT_DURATION, .def = "\"1s\"", .min = 10, .max = 3600000, \
     .offset = offsetof(bn_cfg, book_interval), \
     .doc = "mode = stream: how often the local order book's top `depth` levels are written as book_level " \
            "rows (when it changed)."}, \
    {.name = "ws_max_age", .type = CP_OPT_DURATION, .def = "\"1430m\"", .min = 1000, .max = 86400000, \
     .offset = offsetof(bn_cfg, ws_max_age), \
     .doc = "A stream connection this old is replaced: the new one is opened before the old one is " \
            "closed (Binance cuts connections at 24 h)."}, \
    {.name = "ws_max_streams", .type = CP_OPT_INT, .def = "1024", .min = 1, .max = 1024, \
     .offset = offsetof(bn_cfg, ws_max_streams), \
     .doc = "Streams per WebSocket connection (Binance allows 1024); more open more connections."}
extern const char *const bn_modes[]; /* poll, stream */

/* Option entries common to both plugins (defaults differ: base URL and weight budget). */
#define BN_COMMON_OPTIONS(DEF_BASE, DEF_WEIGHT, DEF_STREAMS)                                                        \
    {.name = "base_url", .type = CP_OPT_STRING, .def = DEF_BASE, .offset = offsetof(bn_cfg, base_url), \
     .doc = "Host root of the REST API (a testnet, Binance.US or a mock); the source appends /api/v3 or /fapi/v1, " \
            "and a value that already ends in it works too."}, \
    {.name = "symbols", .type = CP_OPT_STRLIST, .flags = CP_OPT_REQUIRED, .min = 1, .max = 10000, \
     .offset = offsetof(bn_cfg, symbols), \
     .doc = "Symbols to collect, native (BTCUSDT) or normalized (BTC-USDT), validated against exchangeInfo; or " \
            "the rule [\"top:N\"] (see the universe_ options)."}, \
    {.name = "streams", .type = CP_OPT_STRLIST, .def = DEF_STREAMS, .min = 1, .max = 16, \
     .offset = offsetof(bn_cfg, streams), \
     .doc = "Streams to collect each cycle (see the plugin description for the list)."}, \
    {.name = "depth", .type = CP_OPT_INT, .def = "5", .min = 1, .max = 1000, .offset = offsetof(bn_cfg, depth), \
     .doc = "Order book levels per side requested for book_top and written as book_level rows."}, \
    {.name = "kline_interval", .type = CP_OPT_STRING, .def = "\"1m\"", .offset = offsetof(bn_cfg, kline_interval), \
     .doc = "Candle interval for ohlcv: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w."}, \
    {.name = "ohlcv_limit", .type = CP_OPT_INT, .def = "1000", .min = 1, .max = 1000, \
     .offset = offsetof(bn_cfg, ohlcv_limit), \
     .doc = "Candles per klines request when catching up or backfilling (Binance allows up to 1000)."}, \
    {.name = "include_open_candle", .type = CP_OPT_BOOL, .def = "false", \
     .offset = offsetof(bn_cfg, include_open_candle), \
     .doc = "Also write the still-moving current candle (updated on each poll by its key)."}, \
    {.name = "warmup", .type = CP_OPT_INT, .def = "60", .min = 1, .max = 1000, .offset = offsetof(bn_cfg, warmup), \
     .doc = "Closed candles fetched on the first poll of a series that has no checkpoint yet."}, \
    {.name = "trade_limit", .type = CP_OPT_INT, .def = "100", .min = 1, .max = 1000, \
     .offset = offsetof(bn_cfg, trade_limit), \
     .doc = "Recent trades fetched per symbol and cycle for the trade stream."}, \
    {.name = "weight_per_minute", .type = CP_OPT_DOUBLE, .def = DEF_WEIGHT, .min = 1, .max = 1000000, \
     .offset = offsetof(bn_cfg, weight_per_minute), \
     .doc = "Request-weight budget per minute for the API host (Binance's documented IP limit)."}, \
    {.name = "max_concurrent", .type = CP_OPT_INT, .def = "8", .min = 1, .max = 64, \
     .offset = offsetof(bn_cfg, max_concurrent), \
     .doc = "Requests in flight at once to the API host."}, \
    {.name = "max_pages", .type = CP_OPT_INT, .def = "10", .min = 1, .max = 1000, \
     .offset = offsetof(bn_cfg, max_pages), \
     .doc = "Kline pages fetched per series and cycle when catching up after a gap."}, \
    SU_UNIVERSE_OPTIONS(bn_cfg, u, "\"USDT\"")

/** What distinguishes spot from USD-M futures. */
typedef struct bn_api {
    const char *exchange; /* "binance" or "binance-futures" */
    const char *prefix;   /* "/api/v3" or "/fapi/v1" */
    bool futures;
} bn_api;

/* The streams both plugins know (each plugin lists those it offers). */
enum { BN_ST_TICKER, BN_ST_BOOK_TOP, BN_ST_BOOK_LEVEL, BN_ST_TRADE, BN_ST_OHLCV, BN_ST_FUNDING, BN_ST_OI,
       BN_ST_LIQ, BN_ST_COUNT };
extern const char *const bn_stream_names[BN_ST_COUNT];

typedef struct bn_sym {
    char *native; /* BTCUSDT */
    char *norm;   /* BTC-USDT, BTC-USDT-PERP */
} bn_sym;

/* A client: its config, what it collects and, once exchangeInfo was read, its symbols. */
typedef struct bn {
    const bn_cfg *cfg;
    const bn_api *api;
    bool want[BN_ST_COUNT];
    int64_t interval_ms;
    size_t n;
    bn_sym *sym;
    bool resolved;
    char host[256];
    char *base; /* base_url's host root: the API prefix is appended to it */
    size_t top; /* symbols = ["top:N"]: N, else 0 */
    su_universe uni;
} bn;

/* cp_plugin.check of both plugins: stream names out of `streams` (NULL-terminated), the kline
 * interval as Binance spells it, an absolute base URL. Offline. */
cp_status bn_check(const bn_cfg *cfg, const char *const *streams, cp_check *chk);
/* Declares the host's limits and creates the client, for a config bn_check accepted. */
cp_status bn_create(cp_ctx *ctx, const bn_cfg *cfg, const bn_api *api, const char *const *streams, bn **out);
void bn_destroy(bn *b);
/* mode = "stream": runs the WebSocket streams until cp_stopping (the plugin's run callback;
 * binance_ws.c). */
cp_status bn_run(bn *b, cp_ctx *ctx);
/* Reads exchangeInfo: validates the configured symbols, fills b->sym (b->resolved). */
cp_status bn_resolve(bn *b, cp_ctx *ctx);
/* Closed candles of every symbol i with last[i] != INT64_MAX from last[i] + interval on (INT64_MIN:
 * the latest `warmup`), through the incremental klines path: rows emitted, then the ohlcv
 * checkpoints; last[i] gets the newest closed open_time, *rows the candles emitted. */
cp_status bn_catch_up_candles(bn *b, cp_ctx *ctx, int64_t *last, uint64_t *rows);
/* The ohlcv checkpoint key of symbol i ("ohlcv/BTCUSDT/1m"). */
void bn_ohlcv_key(const bn *b, size_t i, char *key, size_t len);
/* Fills the exchange, symbol and (c_native != SIZE_MAX) native symbol columns of a row. */
void bn_row_common(su_row *r, const bn_api *api, const bn_sym *s, size_t c_exchange, size_t c_symbol,
                   size_t c_native);
/* One collection cycle of every configured stream. */
cp_status bn_collect(bn *b, cp_ctx *ctx);
/* History of ohlcv (klines) and, on futures, funding (fundingRate) for [from, to). */
cp_status bn_backfill(bn *b, cp_ctx *ctx, int64_t from_ms, int64_t to_ms);
/* The candle series of the ohlcv stream (exchange, native symbol, interval), without requests. */
cp_status bn_candle_series(bn *b, cp_ctx *ctx, cp_series_fn fn, void *user);

/* Response parsers (also driven by the fuzz targets). Each reads the body of one response
 * (rs->body, with rs->code and rs->received_at) with the strict scanner, appends its rows to the
 * batch(es) and returns CP_OK, or CP_ERR_PARSE (logged) leaving the batches as they were. */
cp_status bn_parse_ticker(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *syms, size_t n,
                          cp_batch *out);
cp_status bn_parse_depth(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s, size_t levels,
                         cp_batch *top, cp_batch *lvl);
cp_status bn_parse_trades(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s, cp_batch *out);
/* Appends candles with open_time in [min_open, max_open) and, unless include_open, only closed
 * ones (close_time < now). *last_closed gets the newest closed open_time appended (or stays),
 * *count the number of array elements in the response. */
/* Tests only: false reads every kline and book level the general way (kline_quick and
 * level_quick off), so that a test can compare what the two readings make of the same body. */
extern bool bn_quick;
cp_status bn_parse_klines(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s,
                          const char *interval, int64_t now, bool include_open, int64_t min_open, int64_t max_open,
                          cp_batch *out, int64_t *last_closed, size_t *count);
cp_status bn_parse_premium(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *syms, size_t n,
                           cp_batch *out);
cp_status bn_parse_open_interest(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s,
                                 cp_batch *out);
cp_status bn_parse_funding_history(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s,
                                   int64_t min_ts, int64_t max_ts, cp_batch *out, int64_t *last_ts, size_t *count);

/* The stream mode's message path without a connection (for the fuzz target): a live state for
 * b (its symbols and streams filled in), messages as one connection brings them (rows kept in
 * the state's batches, bn_live_rows(state, BN_ST_*); book_level rows after each message whose
 * update changed a book), and a one-level book for symbol si at an update id. A gap tries a
 * REST repair or snapshot through ctx. */
typedef struct bn_live bn_live;
bn_live *bn_live_new(bn *b, cp_ctx *ctx);
void bn_live_message(bn_live *lv, const char *data, size_t len);
bool bn_live_book(bn_live *lv, size_t si, int64_t update_id, const char *bid, const char *bid_qty, const char *ask,
                  const char *ask_qty);
cp_batch *bn_live_rows(bn_live *lv, size_t stream);
void bn_live_free(bn_live *lv);

#endif
