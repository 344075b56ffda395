/* binance-futures source: Binance USD-M perpetual and delivery futures over the REST API.
 * SPDX-License-Identifier: MIT
 *
 * Collects (streams option):
 *   ticker         GET /fapi/v1/ticker/24hr   (per symbol, or all in one request above 20 symbols)
 *   book_top       GET /fapi/v1/depth          (best bid/ask at transaction time T)
 *   book_level     GET /fapi/v1/depth          (top `depth` levels per side)
 *   trade          GET /fapi/v1/trades
 *   ohlcv          GET /fapi/v1/klines         (closed candles, incremental from a checkpoint)
 *   funding        GET /fapi/v1/premiumIndex   (mark, index, settle price, funding rate, next funding)
 *   open_interest  GET /fapi/v1/openInterest
 * mode = "stream" (no pipeline interval): the combined WebSocket streams at ws_url (common/binance_ws.c)
 *   trade          <s>@aggTrade       (aggregate trades, trade_id = the aggregate id; ids checked,
 *                  gaps and reconnects repaired from GET /fapi/v1/aggTrades?symbol=&fromId=)
 *   book_top       <s>@bookTicker     ticker <s>@ticker     ohlcv <s>@kline_<i> (closed candles)
 *   book_level     local order book from <s>@depth@100ms + GET /fapi/v1/depth (pu chained)
 *   funding        <s>@markPrice@1s   (mark, index, settle price, funding rate, next funding)
 *   liquidation    <s>@forceOrder     (forced orders; streamed only)
 * Backfill: ohlcv from /fapi/v1/klines (1000 per request) and funding history from
 * /fapi/v1/fundingRate. Symbols are validated against /fapi/v1/exchangeInfo and normalized
 * BTCUSDT → BTC-USDT-PERP (delivery contracts: BTC-USDT-240628). Budget 2400 weight/min.
 */
#include "common/binance.h"

#include <stdlib.h>

static const char *const fut_streams[] = {"ticker", "book_top", "book_level", "trade", "ohlcv", "funding",
                                          "open_interest", "liquidation", NULL};

static const cp_option fut_options[] = {
    BN_COMMON_OPTIONS("\"https://fapi.binance.com\"", "2400", "[\"ticker\", \"funding\", \"open_interest\"]"),
    BN_STREAM_OPTIONS("\"wss://fstream.binance.com\""),
    CP_OPTION_END,
};

static const bn_api fut_api = {"binance-futures", "/fapi/v1", true};

static cp_status fut_check(const void *config, cp_check *chk) { return bn_check(config, fut_streams, chk); }

static cp_status fut_create(cp_ctx *ctx, const void *config, void **instance)
{
    if (cp_check_run_logged(ctx, config, fut_check) != CP_OK)
        return CP_ERR_CONFIG;
    return bn_create(ctx, config, &fut_api, fut_streams, (bn **)instance);
}

static void fut_destroy(void *instance) { bn_destroy(instance); }
static cp_status fut_collect(void *instance, cp_ctx *ctx) { return bn_collect(instance, ctx); }
static cp_status fut_run(void *instance, cp_ctx *ctx) { return bn_run(instance, ctx); }
static cp_status fut_backfill(void *instance, cp_ctx *ctx, int64_t from_ms, int64_t to_ms)
{
    return bn_backfill(instance, ctx, from_ms, to_ms);
}
static cp_status fut_candle_series(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user)
{
    return bn_candle_series(instance, ctx, fn, user);
}

static cp_status fut_schemas(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                              cp_schema_fn fn, void *user)
{
    return su_schemas(ctx, &((const bn_cfg *)config)->streams, fut_streams, fn, user);
}

CP_PLUGIN_DEFINE(.name = "binance-futures", .kind = CP_SOURCE, .version = "0.1.0",
                 .description = "Binance USD-M futures: ticker, book, trade, ohlcv, funding, open_interest (/fapi/v1); "
                                "streamed: also liquidation",
                 .options = fut_options, .config_size = sizeof(bn_cfg), .check = fut_check, .create = fut_create,
                 .destroy = fut_destroy, .collect = fut_collect, .backfill = fut_backfill,
                 .candle_series = fut_candle_series, .schemas = fut_schemas, .run = fut_run);
