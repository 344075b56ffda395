/* Unit tests of the trade-summary transform (plugins/transforms/trade_summary.c) through the real loader.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include <coinpipe/streams.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cp_host *H;

static void set_text(cp_batch *b, size_t r, size_t col, const char *s)
{
    cp_type t = H->batch_schema(b)->fields[col].type;
    cp_status st = t == CP_T_DECIMAL ? H->batch_set_decimal(b, r, col, s, strlen(s))
                                     : H->batch_set_string(b, r, col, s, strlen(s));
    assert_int_equal(st, CP_OK);
}

static void add_trade(cp_batch *b, const char *sym, const char *id, int64_t ts, const char *price, const char *size)
{
    size_t r = H->batch_add_row(b);
    set_text(b, r, CP_TRADE_EXCHANGE, "binance");
    set_text(b, r, CP_TRADE_SYMBOL, sym);
    set_text(b, r, CP_TRADE_NATIVE_SYMBOL, "X");
    set_text(b, r, CP_TRADE_TRADE_ID, id);
    H->batch_set_int(b, r, CP_TRADE_TS, ts);
    H->batch_set_int(b, r, CP_TRADE_RECEIVED_AT, ts + 100);
    set_text(b, r, CP_TRADE_PRICE, price);
    set_text(b, r, CP_TRADE_SIZE, size);
}

static void close_to(double got, double want)
{
    if (!(fabs(got - want) <= 1e-12 * fmax(1, fabs(want))))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Six trades of one symbol in one cycle, newest first as Binance does not send them (order must
 * not matter): the summary covers the newest five, with exact volume and quote volume. */
static void test_last_five(void **st)
{
    (void)st;
    tk_instance *t = tk_create("trade-summary", "");
    cp_batch *b = tk_batch_new(&cp_trade_schema);
    add_trade(b, "BTC-USDT", "106", 6000, "100.50", "0.10000000");
    add_trade(b, "BTC-USDT", "105", 5000, "100.40", "0.20000000");
    add_trade(b, "BTC-USDT", "101", 1000, "999.99", "7.00000000"); /* the oldest: outside the window */
    add_trade(b, "BTC-USDT", "104", 4000, "100.30", "0.30000000");
    add_trade(b, "BTC-USDT", "103", 3000, "100.20", "0.40000000");
    add_trade(b, "BTC-USDT", "102", 2000, "100.10", "1.00000000");
    assert_int_equal(tk_process(t, b), CP_OK);
    assert_false(tk_input_dropped(t)); /* trades pass through */
    assert_int_equal(tk_rows(t, "trade_summary"), 0); /* at the end of the cycle */
    assert_int_equal(tk_tick(t, 7000), CP_OK);
    const cp_batch *o = tk_find(t, "trade_summary", 0);
    assert_non_null(o);
    assert_int_equal(tk_rows(t, "trade_summary"), 1);
    tk_assert_text(o, 0, "exchange", "binance");
    tk_assert_text(o, 0, "symbol", "BTC-USDT");
    assert_int_equal(tk_int(o, 0, "ts"), 6000);
    assert_int_equal(tk_int(o, 0, "received_at"), 6100);
    assert_int_equal(tk_int(o, 0, "window_size"), 5);
    assert_int_equal(tk_int(o, 0, "trades"), 5);
    tk_assert_text(o, 0, "first_trade_id", "102");
    tk_assert_text(o, 0, "last_trade_id", "106");
    assert_int_equal(tk_int(o, 0, "first_ts"), 2000);
    close_to(tk_double(o, 0, "mean_price"), (100.10 + 100.20 + 100.30 + 100.40 + 100.50) / 5);
    tk_assert_text(o, 0, "volume", "2.00000000");
    /* 100.10 + 40.08 + 30.09 + 20.08 + 10.05 */
    tk_assert_text(o, 0, "quote_volume", "200.4000000000");
    close_to(tk_double(o, 0, "vwap"), 200.40 / 2.0);
    tk_assert_text(o, 0, "min_price", "100.10");
    tk_assert_text(o, 0, "max_price", "100.50");
    tk_batch_free(b);
    tk_destroy(t);
}

/* The next cycle's overlapping response (the same trades again plus one new) moves the window by
 * one; a cycle with nothing new writes no row; symbols are kept apart. */
static void test_overlap_and_symbols(void **st)
{
    (void)st;
    tk_instance *t = tk_create("trade-summary", "last = 3;");
    cp_batch *b1 = tk_batch_new(&cp_trade_schema);
    add_trade(b1, "ETH-USDT", "9", 900, "3000", "1");
    add_trade(b1, "ETH-USDT", "10", 1000, "3001", "1");
    add_trade(b1, "BTC-USDT", "1", 100, "60000.1", "0.5");
    tk_process(t, b1);
    tk_tick(t, 2000);
    assert_int_equal(tk_rows(t, "trade_summary"), 2);
    const cp_batch *o = tk_find(t, "trade_summary", 0);
    size_t r = tk_row_where(o, "symbol", "ETH-USDT");
    assert_int_equal(tk_int(o, r, "trades"), 2); /* fewer than the window so far */
    tk_assert_text(o, r, "volume", "2");
    tk_assert_text(o, r, "quote_volume", "6001");
    r = tk_row_where(o, "symbol", "BTC-USDT");
    tk_assert_text(o, r, "quote_volume", "30000.05");
    tk_clear_emitted(t);

    cp_batch *b2 = tk_batch_new(&cp_trade_schema);
    add_trade(b2, "ETH-USDT", "9", 900, "3000", "1");
    add_trade(b2, "ETH-USDT", "10", 1000, "3001", "1");
    add_trade(b2, "ETH-USDT", "11", 1100, "3002", "2.5");
    add_trade(b2, "ETH-USDT", "12", 1100, "3003", "0.5"); /* same ms: the id orders them */
    tk_process(t, b2);
    tk_tick(t, 3000);
    assert_int_equal(tk_rows(t, "trade_summary"), 1); /* BTC did not change */
    o = tk_find(t, "trade_summary", 0);
    tk_assert_text(o, 0, "symbol", "ETH-USDT");
    assert_int_equal(tk_int(o, 0, "trades"), 3);
    tk_assert_text(o, 0, "first_trade_id", "10");
    tk_assert_text(o, 0, "last_trade_id", "12");
    tk_assert_text(o, 0, "volume", "4.0");
    tk_assert_text(o, 0, "quote_volume", "12007.5"); /* 3001 + 7505 + 1501.5 */
    tk_clear_emitted(t);

    tk_process(t, b2); /* re-delivered */
    tk_tick(t, 4000);
    assert_int_equal(tk_rows(t, "trade_summary"), 0);
    tk_batch_free(b1);
    tk_batch_free(b2);
    tk_destroy(t);
}

static void test_option_range(void **st)
{
    (void)st;
    tk_instance *bad = NULL;
    char *err = NULL;
    assert_int_not_equal(tk_try_create("trade-summary", "last = 0;", NULL, &bad, &err), CP_OK);
    assert_null(bad);
    free(err);
}

int main(void)
{
    H = tk_host();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_five),
        cmocka_unit_test(test_overlap_and_symbols),
        cmocka_unit_test(test_option_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
