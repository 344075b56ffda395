/* libFuzzer target for the Kraken response parsers: the first input byte picks Ticker, Depth, Trades, OHLC or AssetPairs.
 * SPDX-License-Identifier: MIT
 *
 * The rest of the input is the whole response body, envelope included ({"error": [...],
 * "result": {...}}): it goes through kr_result as a response would, then the selected parser
 * gets the result's first pair (AssetPairs: the symbol resolution). Seeds are "0" + ticker.json,
 * "1" + depth.json, "2" + trades.json, "3" + ohlc.json, "4" + assetpairs.json.
 */
#include "fuzz.h"

#include "../../plugins/sources/kraken.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    cp_ctx *ctx = fuzz_ctx();
    unsigned sel = (unsigned)(data[0] - '0') % 5;
    cp_http_response resp = fuzz_response(data + 1, size - 1);
    cp_status st;
    json_object *result, *root = kr_result(ctx, "fuzz", "XXBTZUSD", &resp, &result, &st);
    fuzz_response_free(&resp);
    if (!root)
        return 0;
    json_object *pair = kr_member(result, "XXBTZUSD");
    int64_t at = 1700000000000LL, last = INT64_MIN;
    size_t count;
    cp_batch *b = NULL, *lvl = NULL;
    switch (sel) {
    case 0:
        b = fuzz_batch(ctx, &cp_ticker_schema);
        kr_parse_ticker(ctx, pair, "BTC-USD", "XXBTZUSD", at, b);
        break;
    case 1:
        b = fuzz_batch(ctx, &cp_book_top_schema);
        lvl = fuzz_batch(ctx, &cp_book_level_schema);
        kr_parse_book(ctx, pair, "BTC-USD", "XXBTZUSD", 5, at, b, lvl);
        break;
    case 2:
        b = fuzz_batch(ctx, &cp_trade_schema);
        kr_parse_trades(ctx, pair, "BTC-USD", "XXBTZUSD", at, b, &count);
        trade_cursor(su_get(result, "last"), &last);
        break;
    case 3:
        b = fuzz_batch(ctx, &cp_ohlcv_schema);
        kr_parse_ohlc(ctx, pair, "BTC-USD", "XXBTZUSD", "1m", 60000, at, false, INT64_MIN, INT64_MAX, at, b, &last);
        break;
    default: {
        kr_pair p[3] = {{.in = "BTC-USD"}, {.in = "XETHZUSD"}, {.in = "xdg/usd"}};
        kr k = {.base = "http://127.0.0.1/0/public", .n = 3, .p = p};
        kr_resolve(&k, ctx, result);
        for (size_t i = 0; i < 3; i++) {
            free(p[i].key);
            free(p[i].sym);
        }
        break;
    }
    }
    fuzz_drain(ctx, b);
    fuzz_drain(ctx, lvl);
    json_object_put(root);
    return 0;
}
