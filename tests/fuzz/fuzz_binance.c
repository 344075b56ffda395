/* libFuzzer target for the Binance response parsers: one binary per parser, chosen by FUZZ_BINANCE_PARSER.
 * SPDX-License-Identifier: MIT
 *
 * Built four times (ticker, depth, klines, trades) plus once for the futures-only payloads
 * (premiumIndex, openInterest, fundingRate; the first input byte picks one). The input is the
 * raw body: the parsers read it with the strict scanner (common/jscan.c) as they build rows.
 */
#include "fuzz.h"

#include "common/binance.h"

__attribute__((unused)) static const bn_api spot = {"binance", "/api/v3", false};
__attribute__((unused)) static const bn_api fut = {"binance-futures", "/fapi/v1", true};
static bn_sym syms[] = {{"BNBBTC", "BNB-BTC"}, {"BTCUSDT", "BTC-USDT"}, {"ETHBTC", "ETH-BTC"}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_ctx *ctx = fuzz_ctx();
#if FUZZ_BINANCE_PARSER == 4
    unsigned sel;
    if (size == 0)
        return 0;
    sel = data[0] % 3;
    data++, size--;
#endif
    cp_http_response rs = fuzz_response(data, size);
#if FUZZ_BINANCE_PARSER == 0
    cp_batch *b = fuzz_batch(ctx, &cp_ticker_schema);
    bn_parse_ticker(ctx, &spot, &rs, syms, 3, b);
    fuzz_drain(ctx, b);
#elif FUZZ_BINANCE_PARSER == 1
    /* levels read in place (level_quick) and the general way: the same status, rows, cells and log */
    cp_batch *top[2], *lvl[2];
    cp_status st[2];
    unsigned long logged[2];
    for (int k = 0; k < 2; k++) {
        bn_quick = k == 0;
        fuzz_log_hash = 0;
        top[k] = fuzz_batch(ctx, &cp_book_top_schema);
        lvl[k] = fuzz_batch(ctx, &cp_book_level_schema);
        st[k] = bn_parse_depth(ctx, &fut, &rs, &syms[1], 5, top[k], lvl[k]);
        logged[k] = fuzz_log_hash;
    }
    bn_quick = true;
    if (st[0] != st[1] || logged[0] != logged[1] || !fuzz_same_rows(ctx, top[0], top[1]) ||
        !fuzz_same_rows(ctx, lvl[0], lvl[1]))
        abort();
    for (int k = 0; k < 2; k++) {
        fuzz_drain(ctx, top[k]);
        fuzz_drain(ctx, lvl[k]);
    }
#elif FUZZ_BINANCE_PARSER == 2
    /* read in place (kline_quick) and the general way: the same status, rows, cells and log */
    cp_batch *b[2];
    int64_t last[2] = {INT64_MIN, INT64_MIN};
    size_t count[2] = {0, 0};
    cp_status st[2];
    unsigned long logged[2];
    for (int k = 0; k < 2; k++) {
        bn_quick = k == 0;
        fuzz_log_hash = 0;
        b[k] = fuzz_batch(ctx, &cp_ohlcv_schema);
        st[k] = bn_parse_klines(ctx, &spot, &rs, &syms[0], "1m", 1499040000000LL, false, INT64_MIN, INT64_MAX, b[k],
                                &last[k], &count[k]);
        logged[k] = fuzz_log_hash;
    }
    bn_quick = true;
    if (st[0] != st[1] || last[0] != last[1] || count[0] != count[1] || logged[0] != logged[1] ||
        !fuzz_same_rows(ctx, b[0], b[1]))
        abort();
    fuzz_drain(ctx, b[0]);
    fuzz_drain(ctx, b[1]);
#elif FUZZ_BINANCE_PARSER == 3
    cp_batch *b = fuzz_batch(ctx, &cp_trade_schema);
    bn_parse_trades(ctx, &spot, &rs, &syms[0], b);
    fuzz_drain(ctx, b);
#else
    int64_t last = INT64_MIN;
    size_t count = 0;
    cp_batch *b = fuzz_batch(ctx, sel == 1 ? &cp_open_interest_schema : &cp_funding_schema);
    if (sel == 0)
        bn_parse_premium(ctx, &fut, &rs, syms, 3, b);
    else if (sel == 1)
        bn_parse_open_interest(ctx, &fut, &rs, &syms[1], b);
    else
        bn_parse_funding_history(ctx, &fut, &rs, &syms[1], INT64_MIN, INT64_MAX, b, &last, &count);
    fuzz_drain(ctx, b);
#endif
    fuzz_response_free(&rs);
    return 0;
}
