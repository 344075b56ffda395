/* Tests of `coinpipe gaps` pieces: candle intervals, merging holes into backfill ranges, and the
 * sqlite sink's candle callbacks (stored_series, candle_gaps) on a real database file.
 * SPDX-License-Identifier: MIT
 */
#include "gaps_fixtures.h"

#include "core/gaps.h"
#include "core/runtime.h"
#include "core/util.h"

#include <stdio.h>

static void test_interval_ms(void **state)
{
    assert_int_equal(core_util_interval_ms("1m"), 60000);
    assert_int_equal(core_util_interval_ms("15m"), 900000);
    assert_int_equal(core_util_interval_ms("4h"), 14400000);
    assert_int_equal(core_util_interval_ms("1d"), 86400000);
    assert_int_equal(core_util_interval_ms("3d"), 3 * 86400000LL);
    assert_int_equal(core_util_interval_ms("1w"), 604800000);
    assert_int_equal(core_util_interval_ms("1s"), 1000);
    /* months vary, bare numbers and durations that are no interval are refused */
    assert_int_equal(core_util_interval_ms("1M"), -1);
    assert_int_equal(core_util_interval_ms("60"), -1);
    assert_int_equal(core_util_interval_ms("0m"), -1);
    assert_int_equal(core_util_interval_ms(""), -1);
    assert_int_equal(core_util_interval_ms(NULL), -1);
    assert_int_equal(core_util_interval_ms("1x"), -1);
}

#define M 60000LL

static void test_merge(void **state)
{
    /* unsorted; overlapping and touching holes of different series join; holes within 300
     * candles of each other join (one page anyway); farther ones stay apart */
    core_range v[] = {
        {1000 * M, 1001 * M},                   /* far from the rest */
        {10 * M, 14 * M},     {12 * M, 20 * M}, /* overlaps */
        {20 * M, 21 * M},                       /* touches */
        {200 * M, 205 * M},                     /* 179 candles after 21: joins, the range spans 195 */
        {3000 * M, 3001 * M},                   /* 1999 after 1001 */
        {1290 * M, 1300 * M},                   /* 1001..1300 spans exactly 300 candles: joins */
    };
    int64_t step[] = {M, M, M, M, M, M, M};
    size_t n = core_gaps_merge(v, step, 7);
    assert_int_equal(n, 3);
    assert_int_equal(v[0].from_ms, 10 * M);
    assert_int_equal(v[0].to_ms, 205 * M);
    assert_int_equal(v[1].from_ms, 1000 * M);
    assert_int_equal(v[1].to_ms, 1300 * M);
    assert_int_equal(v[2].from_ms, 3000 * M);
    assert_int_equal(v[2].to_ms, 3001 * M);

    /* 301 candles apart do not join; a hole inside another does not extend it */
    core_range w[] = {{0, M}, {300 * M, 301 * M}, {0, 10 * M}, {2 * M, 3 * M}};
    n = core_gaps_merge(w, step, 4);
    assert_int_equal(n, 2);
    assert_int_equal(w[0].from_ms, 0);
    assert_int_equal(w[0].to_ms, 10 * M);
    assert_int_equal(w[1].from_ms, 300 * M);
    assert_int_equal(w[1].to_ms, 301 * M);
    assert_int_equal(core_gaps_merge(w, step, 0), 0);
}

static void test_sqlite_callbacks(void **state)
{
    char cfg[512];
    snprintf(cfg, sizeof cfg, "path = \"%s/gaps.db\";", tk_tmpdir());
    tk_instance *t = tk_create("sqlite", cfg);
    gx_check_sink(t);
    tk_destroy(t);
}

/* what the sources say they write to ohlcv, offline: exchange, symbol as far as it is known
 * without a request (Binance: only the native one), interval */
static void test_sources_list_their_series(void **state)
{
    static const struct {
        const char *plugin, *config, *want;
    } cases[] = {
        {"binance-spot", "symbols = [\"BTC-USDT\", \"ethbtc\"]; streams = [\"ohlcv\"]; kline_interval = \"5m\";",
         "binance (null) 5m BTCUSDT\nbinance (null) 5m ETHBTC\n"},
        {"binance-futures", "symbols = [\"BTC-USDT-PERP\"]; streams = [\"ohlcv\", \"funding\"];",
         "binance-futures (null) 1m BTCUSDT\n"},
        {"coinbase", "symbols = [\"btc-usd\", \"ETH/USD\"]; streams = [\"ohlcv\"]; kline_interval = \"1h\";",
         "coinbase BTC-USD 1h BTC-USD\ncoinbase ETH-USD 1h ETH-USD\n"},
        {"binance-spot", "symbols = [\"BTCUSDT\"]; streams = [\"ticker\"];", ""}, /* no ohlcv: no series */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tk_instance *t = tk_create(cases[i].plugin, cases[i].config);
        gx_log l = {0};
        assert_int_equal(tk_plugin(t)->candle_series(tk_instance_data(t), tk_ctx(t), gx_series_cb, &l), CP_OK);
        assert_string_equal(l.text, cases[i].want);
        tk_destroy(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_ms),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_sqlite_callbacks),
        cmocka_unit_test(test_sources_list_their_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
