/* coinbase source against the mock exchange: exact values of every stream, candles, incremental OHLCV, backfill.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"
#include "mockex.h"

#include <stdio.h>
#include <string.h>

static char cfgbuf[2048];

static const char *cb_cfg(const char *extra)
{
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"BTC-USD\", \"eth-usd\"]; %s", mockex_base, extra);
    return cfgbuf;
}

/* 2026-01-01T00:00:30Z: the mock's candle for open time T (ms) has k = (T / 60000) % 89,
 * [T/1000, 6000+k-2.5, 6000+k+3.25, 6000+k, 6000+k+1.5, 1.5+k/100]. */
static const int64_t M = 60000, T0 = 1767225600000LL + 30000;

static void pin(int64_t now)
{
    char ctl[128];
    snprintf(ctl, sizeof ctl, "/_mock/config?now_ms=%lld", (long long)now);
    mockex_ctl(ctl);
    tk_pin_clock(now);
}

static void test_values(void **state)
{
    (void)state;
    tk_instance *t = tk_create("coinbase", cb_cfg("streams = [\"ticker\", \"book_top\", \"book_level\", \"trade\"]; "
                                                  "depth = 1;"));
    assert_int_equal(tk_collect(t), CP_OK);

    const cp_batch *b = tk_find(t, "ticker", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    tk_assert_text(b, 0, "exchange", "coinbase");
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 0, "native_symbol", "BTC-USD");
    assert_int_equal(tk_int(b, 0, "ts"), 1584663777833LL); /* 2020-03-20T00:22:57.833897Z */
    assert_true(tk_int(b, 0, "received_at") > 1700000000000LL);
    tk_assert_text(b, 0, "last", "6268.48");
    tk_assert_text(b, 0, "bid", "6265.15");
    tk_assert_text(b, 0, "bid_size", NULL);
    tk_assert_text(b, 0, "ask", "6267.71");
    tk_assert_text(b, 0, "ask_size", NULL);
    tk_assert_text(b, 0, "open", "5414.18000000");
    tk_assert_text(b, 0, "high", "6441.37000000");
    tk_assert_text(b, 0, "low", "5261.69000000");
    tk_assert_text(b, 0, "prev_close", NULL);
    tk_assert_text(b, 0, "change", NULL);
    tk_assert_text(b, 0, "change_pct", NULL);
    tk_assert_text(b, 0, "vwap", NULL);
    tk_assert_text(b, 0, "base_volume", "53602.03940154"); /* the ticker's own 24h volume */
    tk_assert_text(b, 0, "quote_volume", NULL);
    assert_true(tk_is_null(b, 0, "open_time"));
    assert_true(tk_is_null(b, 0, "close_time"));
    assert_true(tk_is_null(b, 0, "trade_count"));
    tk_assert_text(b, 1, "symbol", "ETH-USD"); /* normalized from eth-usd */
    tk_assert_text(b, 1, "native_symbol", "ETH-USD");

    b = tk_find(t, "book_top", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "book_top"), 2);
    tk_assert_text(b, 0, "exchange", "coinbase");
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 0, "native_symbol", "BTC-USD");
    assert_int_equal(tk_int(b, 0, "ts"), 1584663777833LL);
    assert_true(tk_int(b, 0, "received_at") > 1700000000000LL);
    assert_int_equal(tk_int(b, 0, "sequence"), 13051505638LL);
    tk_assert_text(b, 0, "bid", "6265.15");
    tk_assert_text(b, 0, "bid_size", "0.5");
    tk_assert_text(b, 0, "ask", "6267.71");
    tk_assert_text(b, 0, "ask_size", "0.00700000");
    assert_int_equal(tk_int(b, 0, "levels"), 2);

    b = tk_find(t, "book_level", 0);
    assert_int_equal(tk_rows(t, "book_level"), 4); /* depth 1: one level per side and product */
    tk_assert_text(b, 0, "exchange", "coinbase");
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    assert_int_equal(tk_int(b, 0, "ts"), 1584663777833LL);
    assert_int_equal(tk_int(b, 0, "sequence"), 13051505638LL);
    tk_assert_text(b, 0, "side", "bid");
    assert_int_equal(tk_int(b, 0, "level"), 0);
    tk_assert_text(b, 0, "price", "6265.15");
    tk_assert_text(b, 0, "size", "0.5");
    tk_assert_text(b, 1, "side", "ask");
    assert_int_equal(tk_int(b, 1, "level"), 0);
    tk_assert_text(b, 1, "price", "6267.71");
    tk_assert_text(b, 1, "size", "0.00700000");

    b = tk_find(t, "trade", 0);
    assert_int_equal(tk_rows(t, "trade"), 4);
    tk_assert_text(b, 0, "exchange", "coinbase");
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 0, "native_symbol", "BTC-USD");
    tk_assert_text(b, 0, "trade_id", "86326522");
    assert_int_equal(tk_int(b, 0, "ts"), 1584663777833LL);
    assert_true(tk_int(b, 0, "received_at") > 1700000000000LL);
    tk_assert_text(b, 0, "price", "6268.48000000");
    tk_assert_text(b, 0, "size", "0.00698254");
    tk_assert_text(b, 0, "quote_size", NULL);
    tk_assert_text(b, 0, "side", "sell"); /* maker side buy: the taker sold */
    tk_assert_text(b, 1, "trade_id", "86326521");
    assert_int_equal(tk_int(b, 1, "ts"), 1584663775012LL);
    tk_assert_text(b, 1, "price", "6268.47000000");
    tk_assert_text(b, 1, "size", "0.01000000");
    tk_assert_text(b, 1, "side", "buy");

    assert_int_equal(mockex_count("/products/BTC-USD/ticker"), 1);
    assert_int_equal(mockex_count("/products/BTC-USD/stats"), 1);
    assert_int_equal(mockex_count("/products/ETH-USD/book"), 1);
    char *q = mockex_query("/products/BTC-USD/book", 0);
    assert_string_equal(q, "level=2");
    free(q);
    q = mockex_query("/products/ETH-USD/trades", 0);
    assert_string_equal(q, "limit=100");
    free(q);
    tk_destroy(t);
}

/* A trade with a NaN price or a 1e400 size is dropped and named; the other trades are stored. */
static void test_bad_values(void **state)
{
    (void)state;
    mockex_ctl("/_mock/fault?path=/products/BTC-USD/trades&kind=fixture&file=bad_values/coinbase_trades.json");
    tk_instance *t = tk_create("coinbase", cb_cfg("streams = [\"trade\"];"));
    assert_int_equal(tk_collect(t), CP_OK);
    const cp_batch *b = tk_find(t, "trade", 0);
    assert_non_null(b);
    size_t r = tk_row_where(b, "trade_id", "86326522");
    tk_assert_text(b, r, "symbol", "BTC-USD");
    tk_assert_text(b, r, "price", "6268.48000000");
    tk_row_where(b, "trade_id", "86326521");
    for (size_t i = 0; i < cp_batch_rows(tk_ctx(t), b); i++) /* neither bad trade was stored */
        assert_true(strcmp(tk_text(b, i, "trade_id"), "86326520") != 0 && strcmp(tk_text(b, i, "trade_id"), "86326519") != 0);
    tk_assert_log_contains("trades BTC-USD: field 'price': not a finite decimal number; row dropped");
    tk_assert_log_contains("trades BTC-USD: field 'size': not a finite decimal number; row dropped");
    tk_destroy(t);
}

static void test_ohlcv_values_and_incremental(void **state)
{
    (void)state;
    pin(T0);
    tk_instance *t = tk_create("coinbase", cb_cfg("streams = [\"ohlcv\"]; warmup = 5;"));
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 10); /* 5 closed candles per product; the open one held back */
    const cp_batch *b = tk_find(t, "ohlcv", 0);
    /* oldest first although Coinbase sends newest first */
    assert_int_equal(tk_int(b, 0, "open_time"), T0 - 30000 - 5 * M);
    tk_assert_text(b, 0, "open", "6006");
    /* the newest closed candle, 2025-12-31T23:59:00Z, k = 10: every column */
    tk_assert_text(b, 4, "exchange", "coinbase");
    tk_assert_text(b, 4, "symbol", "BTC-USD");
    tk_assert_text(b, 4, "native_symbol", "BTC-USD");
    tk_assert_text(b, 4, "interval", "1m");
    assert_int_equal(tk_int(b, 4, "open_time"), 1767225540000LL);
    assert_int_equal(tk_int(b, 4, "close_time"), 1767225599999LL);
    tk_assert_text(b, 4, "open", "6010");
    tk_assert_text(b, 4, "high", "6013.25");
    tk_assert_text(b, 4, "low", "6007.5");
    tk_assert_text(b, 4, "close", "6011.5");
    tk_assert_text(b, 4, "volume", "1.6");
    tk_assert_text(b, 4, "quote_volume", NULL);
    assert_true(tk_is_null(b, 4, "trade_count"));
    tk_assert_text(b, 4, "taker_buy_base_volume", NULL);
    tk_assert_text(b, 4, "taker_buy_quote_volume", NULL);
    assert_true(tk_int(b, 4, "received_at") > 0);
    tk_assert_text(b, 5, "symbol", "ETH-USD");
    char *q = mockex_query("/products/BTC-USD/candles", 0);
    assert_string_equal(q, "granularity=60&start=2025-12-31T23:55:00Z&end=2026-01-01T00:00:59Z");
    free(q);
    int64_t last = 1767225540000LL;

    /* a missed hour: exactly the 60 missing candles, asked from the checkpoint */
    mockex_ctl("/_mock/reset");
    tk_clear_emitted(t);
    pin(T0 + 60 * M);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 120);
    b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 0, "open_time"), last + M);
    assert_int_equal(tk_int(b, 59, "open_time"), last + 60 * M);
    assert_int_equal(mockex_count("/products/BTC-USD/candles"), 1);
    last += 60 * M;

    /* a gap longer than one page (300 candles): two requests, no hole */
    mockex_ctl("/_mock/reset");
    tk_clear_emitted(t);
    pin(T0 + 460 * M);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 800);
    assert_int_equal(mockex_count("/products/BTC-USD/candles"), 2);
    int64_t want = last + M;
    for (size_t i = 0; i < tk_emitted_count(t); i++) {
        b = tk_emitted(t, i);
        for (size_t r = 0; r < cp_batch_rows(tk_ctx(t), b); r++) {
            if (strcmp(tk_text(b, r, "symbol"), "BTC-USD") != 0)
                continue;
            assert_int_equal(tk_int(b, r, "open_time"), want);
            want += M;
        }
    }
    assert_int_equal(want, last + 401 * M);

    /* nothing new: nothing emitted */
    tk_clear_emitted(t);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 0);
    tk_destroy(t);
}

/* Whether a candle is closed follows from its open time, the interval and the clock, not from its
 * place in the response: when the candle still moving has no trade yet, Coinbase's newest candle
 * is a closed one, and it is written (and the checkpoint moves to it). */
static void test_ohlcv_newest_closed(void **state)
{
    (void)state;
    pin(T0);
    char ctl[128];
    snprintf(ctl, sizeof ctl, "/_mock/config?outage=%lld-%lld", (long long)(T0 - 30000), (long long)(T0 + M));
    mockex_ctl(ctl); /* no candle yet for the minute that is still moving */
    tk_instance *t = tk_create("coinbase", cb_cfg("streams = [\"ohlcv\"]; warmup = 3;"));
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 6);
    const cp_batch *b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 2, "open_time"), T0 - 30000 - M); /* the response's first element */
    tk_assert_text(b, 2, "symbol", "BTC-USD");
    /* the next cycle asks from the candle after it */
    mockex_ctl("/_mock/reset");
    pin(T0 + M);
    tk_clear_emitted(t);
    assert_int_equal(tk_collect(t), CP_OK);
    char *q = mockex_query("/products/BTC-USD/candles", 0);
    assert_string_equal(q, "granularity=60&start=2026-01-01T00:00:00Z&end=2026-01-01T00:01:59Z");
    free(q);
    tk_destroy(t);
}

static void test_backfill(void **state)
{
    (void)state;
    pin(T0);
    tk_instance *t = tk_create("coinbase", cb_cfg("streams = [\"ohlcv\"]; kline_interval = \"5m\";"));
    /* 2025-12-28T00:00:00Z .. 2025-12-31T00:00:00Z: 3 days of 5m candles = 864 per product, 3 pages */
    int64_t from = 1766880000000LL, to = from + 3 * 86400000LL;
    mockex_ctl("/_mock/fault?path=/products/ETH-USD/candles&kind=status&status=500&count=-1&skip=1");
    assert_int_not_equal(tk_backfill(t, from, to), CP_OK); /* ETH-USD's second page fails for good */
    size_t first = tk_rows(t, "ohlcv");
    assert_int_equal(first, 600 + 300); /* BTC-USD pages 1-2, ETH-USD page 1 */
    tk_assert_log_contains("backfill progress");

    /* resume: each product goes on from its checkpoint without asking page 1 again */
    mockex_ctl("/_mock/reset");
    pin(T0);
    tk_clear_emitted(t);
    assert_int_equal(tk_backfill(t, from, to), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 2 * 864 - first); /* the rest, nothing twice */
    assert_int_equal(mockex_count("/products/BTC-USD/candles"), 1);
    assert_int_equal(mockex_count("/products/ETH-USD/candles"), 2);
    char *q = mockex_query("/products/ETH-USD/candles", 0);
    assert_string_equal(q, "granularity=300&start=2025-12-29T01:00:00Z&end=2025-12-30T01:59:59Z");
    free(q);
    const cp_batch *b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 0, "open_time"), from + 600 * 300000LL); /* BTC-USD page 3 */
    tk_assert_text(b, 264, "symbol", "ETH-USD");
    assert_int_equal(tk_int(b, 264, "open_time"), from + 300 * 300000LL); /* ETH-USD page 2 */
    tk_assert_text(b, 0, "interval", "5m");
    tk_destroy(t);
}

static void test_errors(void **state)
{
    (void)state;
    /* an unknown product: named in the log and skipped (never requested), the other product is
     * unaffected; the list is asked again next cycle; a delisted one is collected with a warning */
    snprintf(cfgbuf, sizeof cfgbuf,
             "base_url = \"%s\"; symbols = [\"BTC-USD\", \"FOO-USD\", \"ETH-BTC\"]; streams = [\"trade\"];",
             mockex_base);
    tk_instance *t = tk_create("coinbase", cfgbuf);
    assert_int_equal(tk_collect(t), CP_ERR_CONFIG);
    tk_assert_log_contains("unknown product \\\"FOO-USD\\\" (not listed by");
    tk_assert_log_contains("product ETH-BTC is \\\"delisted\\\": Trading pair delisted; collecting it anyway");
    assert_int_equal(tk_rows(t, "trade"), 4);
    assert_int_equal(mockex_count("/products/FOO-USD/trades"), 0);
    assert_int_equal(mockex_count("/products"), 1);
    assert_int_equal(tk_collect(t), CP_ERR_CONFIG);
    assert_int_equal(mockex_count("/products"), 2);
    assert_int_equal(mockex_count("/products/FOO-USD/trades"), 0);
    tk_destroy(t);

    /* every product known: /products is asked once, not every cycle */
    t = tk_create("coinbase", cb_cfg("streams = [\"trade\"];"));
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(mockex_count("/products"), 3);
    tk_destroy(t);

    /* /products fails (HTTP 500 after the retries): nothing collected, retried next cycle */
    t = tk_create("coinbase", cb_cfg("streams = [\"trade\"];"));
    mockex_ctl("/_mock/fault?path=/products&kind=status&status=500&count=10");
    assert_int_not_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("cannot check the products");
    assert_int_equal(tk_rows(t, "trade"), 0);
    mockex_ctl("/_mock/reset");
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "trade"), 4);
    tk_destroy(t);

    /* a truncated body: no partial rows */
    t = tk_create("coinbase", cb_cfg("streams = [\"book_level\"];"));
    mockex_ctl("/_mock/fault?path=/products/BTC-USD/book&kind=truncate&count=1");
    assert_int_equal(tk_collect(t), CP_ERR_PARSE);
    assert_int_equal(tk_rows(t, "book_level"), 4);
    tk_destroy(t);

    /* granularities Coinbase does not have, and bad product ids, are refused at start-up: create() runs the
     * plugin's check (the core has run it too when the instance comes from a config file) */
    char *err = NULL;
    tk_instance *bad = NULL;
    assert_int_not_equal(tk_try_create("coinbase", cb_cfg("kline_interval = \"2m\";"), NULL, &bad, &err), CP_OK);
    assert_non_null(strstr(err, "is not a Coinbase candle interval (allowed: 1m 5m 15m 1h 6h 1d"));
    free(err);
    err = NULL;
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"BTCUSD\"];", mockex_base);
    assert_int_not_equal(tk_try_create("coinbase", cfgbuf, NULL, &bad, &err), CP_OK);
    assert_non_null(strstr(err, "not a Coinbase product id"));
    free(err);
}

/* archive_raw: every response body of the cycle byte for byte as a raw row */
static void test_archive_raw(void **state)
{
    (void)state;
    tk_instance *t = tk_create("coinbase", cb_cfg("streams = [\"ticker\"]; archive_raw = true;"));
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    assert_int_equal(tk_rows(t, "raw"), 5); /* products, then ticker and stats of both products */
    const cp_batch *b = tk_find(t, "raw", 1);
    char *body = mockex_get("/products/BTC-USD/stats");
    tk_assert_text(b, 1, "source", "coinbase");
    tk_assert_text(b, 1, "endpoint", "stats");
    tk_assert_text(b, 1, "body", body);
    free(body);
    tk_destroy(t);
}

/* symbols = ["top:N"]: the online products quoted in USD by 24 h volume x last from their stats */
static void test_universe(void **state)
{
    (void)state;
    pin(T0);
    mockex_ctl("/_mock/config?coinbase_volume=ETH-USD:100");
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"top:1\"]; streams = [\"ticker\"]; "
                                    "universe_refresh = \"10m\";", mockex_base);
    tk_instance *t = tk_create("coinbase", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("universe: 1 of top 1 by 24 h volume in USD: added BTC-USD; removed none");
    assert_int_equal(tk_rows(t, "ticker"), 1);
    tk_assert_text(tk_find(t, "ticker", 0), 0, "symbol", "BTC-USD");
    assert_int_equal(mockex_count("/products/ETH-USD/stats"), 1); /* the candidates: USD and online */
    assert_int_equal(mockex_count("/products/ETH-BTC/stats"), 0);

    mockex_ctl("/_mock/config?coinbase_volume=ETH-USD:999999");
    pin(T0 + 11 * 60000);
    tk_clear_emitted(t);
    assert_int_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("universe: 1 of top 1 by 24 h volume in USD: added ETH-USD; removed BTC-USD");
    assert_int_equal(tk_rows(t, "ticker"), 1);
    tk_assert_text(tk_find(t, "ticker", 0), 0, "symbol", "ETH-USD");
    tk_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_values, mockex_test_setup),
        cmocka_unit_test_setup(test_bad_values, mockex_test_setup),
        cmocka_unit_test_setup(test_ohlcv_values_and_incremental, mockex_test_setup),
        cmocka_unit_test_setup(test_ohlcv_newest_closed, mockex_test_setup),
        cmocka_unit_test_setup(test_backfill, mockex_test_setup),
        cmocka_unit_test_setup(test_errors, mockex_test_setup),
        cmocka_unit_test_setup(test_archive_raw, mockex_test_setup),
        cmocka_unit_test_setup(test_universe, mockex_test_setup),
    };
    return cmocka_run_group_tests(tests, mockex_group_setup, mockex_group_teardown);
}
