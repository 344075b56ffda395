/* binance-spot source: Binance spot market data over the public REST API.
 * SPDX-License-Identifier: MIT
 *
 * Collects (streams option):
 *   ticker      GET /api/v3/ticker/24hr?symbols=[...]   (up to 100 symbols per request)
 *   book_top    GET /api/v3/depth?symbol=&limit=         (best bid/ask, lastUpdateId as sequence)
 *   book_level  GET /api/v3/depth                        (top `depth` levels per side)
 *   trade       GET /api/v3/trades?symbol=&limit=        (isBuyerMaker → taker side sell)
 *   ohlcv       GET /api/v3/klines?symbol=&interval=&startTime=  (closed candles, incremental
 *               from a checkpoint per series; backfill pages 1000 candles per request)
 * mode = "stream" (no pipeline interval): the combined WebSocket streams at ws_url (common/binance_ws.c)
 *   trade       <s>@trade        (ids checked; gaps and reconnects repaired from
 *               GET /api/v3/historicalTrades?symbol=&fromId=)
 *   book_top    <s>@bookTicker   (u as sequence; spot gives no event time: ts = received)
 *   ohlcv       <s>@kline_<i>    (closed candles; those missed while disconnected from /klines)
 *   ticker      <s>@ticker
 *   book_level  local order book from <s>@depth@100ms + GET /api/v3/depth, top `depth` levels
 *               every book_interval
 * Symbols are validated once against GET /api/v3/exchangeInfo, which also gives base and
 * quote assets for the normalized symbol (BTCUSDT → BTC-USDT). Request weights follow
 * Binance's documentation; the host budget defaults to 6000 per minute.
 */
#include "common/binance.h"

#include <stdlib.h>

static const char *const spot_streams[] = {"ticker", "book_top", "book_level", "trade", "ohlcv", NULL};

static const cp_option spot_options[] = {
    BN_COMMON_OPTIONS("\"https://api.binance.com\"", "6000", "[\"ticker\", \"book_top\", \"ohlcv\"]"),
    BN_STREAM_OPTIONS("\"wss://stream.binance.com:9443\""),
    CP_OPTION_END,
};

static const bn_api spot_api = {"binance", "/api/v3", false};

static cp_status spot_check(const void *config, cp_check *chk) { return bn_check(config, spot_streams, chk); }

static cp_status spot_create(cp_ctx *ctx, const void *config, void **instance)
{
    if (cp_check_run_logged(ctx, config, spot_check) != CP_OK)
        return CP_ERR_CONFIG;
    return bn_create(ctx, config, &spot_api, spot_streams, (bn **)instance);
}

static void spot_destroy(void *instance) { bn_destroy(instance); }
static cp_status spot_collect(void *instance, cp_ctx *ctx) { return bn_collect(instance, ctx); }
static cp_status spot_run(void *instance, cp_ctx *ctx) { return bn_run(instance, ctx); }
static cp_status spot_backfill(void *instance, cp_ctx *ctx, int64_t from_ms, int64_t to_ms)
{
    return bn_backfill(instance, ctx, from_ms, to_ms);
}
static cp_status spot_candle_series(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user)
{
    return bn_candle_series(instance, ctx, fn, user);
}

static cp_status spot_schemas(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                              cp_schema_fn fn, void *user)
{
    return su_schemas(ctx, &((const bn_cfg *)config)->streams, spot_streams, fn, user);
}

CP_PLUGIN_DEFINE(.name = "binance-spot", .kind = CP_SOURCE, .version = "0.1.0",
                 .description = "Binance spot: ticker, book_top, book_level, trade, ohlcv (REST /api/v3)",
                 .options = spot_options, .config_size = sizeof(bn_cfg), .check = spot_check, .create = spot_create,
                 .destroy = spot_destroy, .collect = spot_collect, .backfill = spot_backfill,
                 .candle_series = spot_candle_series, .schemas = spot_schemas, .run = spot_run);
