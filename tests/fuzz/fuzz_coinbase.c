/* libFuzzer target for the Coinbase response parsers: the first input byte picks ticker+stats, book, trades or candles.
 * SPDX-License-Identifier: MIT
 *
 * Seeds are "0" + ticker.json (its "stats" member, if any, is the stats body), "1" + book,
 * "2" + trades, "3" + candles.
 */
#include "fuzz.h"

#include "../../plugins/sources/coinbase.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    cp_ctx *ctx = fuzz_ctx();
    unsigned sel = (unsigned)(data[0] - '0') % 4;
    json_object *root = fuzz_json(ctx, data + 1, size - 1);
    if (!root)
        return 0;
    int64_t at = 1700000000000LL, last = INT64_MIN;
    cp_batch *b = NULL, *lvl = NULL;
    switch (sel) {
    case 0: {
        json_object *stats = su_get(root, "stats");
        b = fuzz_batch(ctx, &cp_ticker_schema);
        cb_parse_ticker(ctx, root, stats ? stats : root, "BTC-USD", at, b);
        break;
    }
    case 1:
        b = fuzz_batch(ctx, &cp_book_top_schema);
        lvl = fuzz_batch(ctx, &cp_book_level_schema);
        cb_parse_book(ctx, root, "BTC-USD", 5, at, b, lvl);
        break;
    case 2:
        b = fuzz_batch(ctx, &cp_trade_schema);
        cb_parse_trades(ctx, root, "BTC-USD", at, b, INT64_MIN, INT64_MAX, NULL);
        break;
    default:
        b = fuzz_batch(ctx, &cp_ohlcv_schema);
        cb_parse_candles(ctx, root, "BTC-USD", "1m", 60000, at, false, INT64_MIN, INT64_MAX, at, b, &last);
        break;
    }
    fuzz_drain(ctx, b);
    fuzz_drain(ctx, lvl);
    json_object_put(root);
    return 0;
}
