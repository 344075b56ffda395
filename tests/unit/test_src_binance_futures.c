/* binance-futures source against the mock exchange: exact funding, open_interest and ticker rows, -PERP symbols, funding backfill.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"
#include "mockex.h"

#include <stdio.h>
#include <string.h>

static char cfgbuf[2048];

static const char *fut_cfg(const char *extra)
{
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"BTCUSDT\", \"ETH-USDT-PERP\"]; %s", mockex_base,
             extra);
    return cfgbuf;
}

static void test_values(void **state)
{
    (void)state;
    tk_instance *t = tk_create("binance-futures", fut_cfg("streams = [\"ticker\", \"funding\", \"open_interest\"];"));
    assert_int_equal(tk_collect(t), CP_OK);

    const cp_batch *b = tk_find(t, "funding", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "funding"), 2);
    size_t r = tk_row_where(b, "symbol", "BTC-USDT-PERP");
    tk_assert_text(b, r, "exchange", "binance-futures");
    tk_assert_text(b, r, "native_symbol", "BTCUSDT");
    assert_int_equal(tk_int(b, r, "ts"), 1597370495002LL);
    assert_true(tk_int(b, r, "received_at") > 1700000000000LL);
    tk_assert_text(b, r, "mark_price", "11793.63104562");
    tk_assert_text(b, r, "index_price", "11781.80495970");
    tk_assert_text(b, r, "estimated_settle_price", "11781.16138815");
    tk_assert_text(b, r, "funding_rate", "0.00038246");
    tk_assert_text(b, r, "interest_rate", "0.00010000");
    assert_int_equal(tk_int(b, r, "next_funding_time"), 1597392000000LL);
    r = tk_row_where(b, "symbol", "ETH-USDT-PERP"); /* normalized input accepted */
    tk_assert_text(b, r, "native_symbol", "ETHUSDT");

    b = tk_find(t, "open_interest", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "open_interest"), 2);
    r = tk_row_where(b, "symbol", "BTC-USDT-PERP");
    tk_assert_text(b, r, "exchange", "binance-futures");
    tk_assert_text(b, r, "native_symbol", "BTCUSDT");
    assert_int_equal(tk_int(b, r, "ts"), 1589437530011LL);
    assert_true(tk_int(b, r, "received_at") > 1700000000000LL);
    tk_assert_text(b, r, "open_interest", "10659.509");
    tk_row_where(b, "symbol", "ETH-USDT-PERP");

    b = tk_find(t, "ticker", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    r = tk_row_where(b, "symbol", "BTC-USDT-PERP");
    tk_assert_text(b, r, "exchange", "binance-futures");
    tk_assert_text(b, r, "native_symbol", "BTCUSDT");
    mockex_assert_binance_ticker(b, r, false); /* the futures 24hr ticker has no book fields */
    tk_row_where(b, "symbol", "ETH-USDT-PERP");

    /* two symbols: one request per symbol and endpoint */
    assert_int_equal(mockex_count("/fapi/v1/premiumIndex"), 2);
    assert_int_equal(mockex_count("/fapi/v1/openInterest"), 2);
    assert_int_equal(mockex_count("/fapi/v1/ticker/24hr"), 2);
    char *q = mockex_query("/fapi/v1/openInterest", 0);
    assert_true(strcmp(q, "symbol=BTCUSDT") == 0 || strcmp(q, "symbol=ETHUSDT") == 0);
    free(q);
    tk_destroy(t);
}

static void test_delivery_symbol(void **state)
{
    (void)state;
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"BTCUSDT_240628\"]; streams = [\"open_interest\"];",
             mockex_base);
    tk_instance *t = tk_create("binance-futures", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    const cp_batch *b = tk_find(t, "open_interest", 0);
    assert_non_null(b);
    tk_assert_text(b, 0, "symbol", "BTC-USDT-240628");
    tk_assert_text(b, 0, "native_symbol", "BTCUSDT_240628");
    tk_destroy(t);
}

static void test_funding_backfill(void **state)
{
    (void)state;
    /* 2024-01-01 .. 2024-01-11: funding every 8 h = 30 rows per symbol, from /fapi/v1/fundingRate */
    tk_instance *t = tk_create("binance-futures", fut_cfg("streams = [\"funding\"];"));
    int64_t from = 1704067200000LL, to = from + 10 * 86400000LL;
    assert_int_equal(tk_backfill(t, from, to), CP_OK);
    assert_int_equal(tk_rows(t, "funding"), 60);
    const cp_batch *b = tk_find(t, "funding", 0);
    size_t r = tk_row_where(b, "symbol", "BTC-USDT-PERP"); /* its first, in time order */
    assert_int_equal(tk_int(b, r, "ts"), from);
    /* the mock's history: k = (t / 8h) % 13, rate 0.000(k+1)0000, mark 34287.<k, 8 digits> */
    int64_t k = (from / 28800000LL) % 13;
    char want[32];
    snprintf(want, sizeof want, "0.000%lld0000", (long long)(k + 1));
    tk_assert_text(b, r, "funding_rate", want);
    snprintf(want, sizeof want, "34287.%08lld", (long long)k);
    tk_assert_text(b, r, "mark_price", want);
    tk_assert_text(b, r, "index_price", NULL); /* history has no index price */
    assert_int_equal(mockex_count("/fapi/v1/fundingRate"), 2);
    tk_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_values, mockex_test_setup),
        cmocka_unit_test_setup(test_delivery_symbol, mockex_test_setup),
        cmocka_unit_test_setup(test_funding_backfill, mockex_test_setup),
    };
    return cmocka_run_group_tests(tests, mockex_group_setup, mockex_group_teardown);
}
