/* Unit tests of the spread transform (plugins/transforms/spread.c) through the real loader.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include <coinpipe/streams.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cp_host *H;

static void set_text(cp_batch *b, size_t r, size_t col, const char *s)
{
    if (!s)
        return;
    cp_type t = H->batch_schema(b)->fields[col].type;
    cp_status st = t == CP_T_DECIMAL ? H->batch_set_decimal(b, r, col, s, strlen(s))
                                     : H->batch_set_string(b, r, col, s, strlen(s));
    assert_int_equal(st, CP_OK);
}

static void add_top(cp_batch *b, const char *sym, int64_t ts, const char *bid, const char *bid_size, const char *ask,
                    const char *ask_size)
{
    size_t r = H->batch_add_row(b);
    set_text(b, r, CP_BOOK_TOP_EXCHANGE, "binance");
    set_text(b, r, CP_BOOK_TOP_SYMBOL, sym);
    set_text(b, r, CP_BOOK_TOP_NATIVE_SYMBOL, "XXX");
    H->batch_set_int(b, r, CP_BOOK_TOP_TS, ts);
    H->batch_set_int(b, r, CP_BOOK_TOP_RECEIVED_AT, ts + 7);
    set_text(b, r, CP_BOOK_TOP_BID, bid);
    set_text(b, r, CP_BOOK_TOP_BID_SIZE, bid_size);
    set_text(b, r, CP_BOOK_TOP_ASK, ask);
    set_text(b, r, CP_BOOK_TOP_ASK_SIZE, ask_size);
}

static void add_level(cp_batch *b, const char *sym, int64_t ts, const char *side, int level, const char *price,
                      const char *size)
{
    size_t r = H->batch_add_row(b);
    set_text(b, r, CP_BOOK_LEVEL_EXCHANGE, "binance");
    set_text(b, r, CP_BOOK_LEVEL_SYMBOL, sym);
    H->batch_set_int(b, r, CP_BOOK_LEVEL_TS, ts);
    set_text(b, r, CP_BOOK_LEVEL_SIDE, side);
    H->batch_set_int(b, r, CP_BOOK_LEVEL_LEVEL, level);
    set_text(b, r, CP_BOOK_LEVEL_PRICE, price);
    set_text(b, r, CP_BOOK_LEVEL_SIZE, size);
}

/* A book around 100.00/100.02: mid 100.01, 10 bps = 0.10001 -> band [99.90999, 100.11001]. */
static cp_batch *levels_for(const char *sym, int64_t ts)
{
    cp_batch *b = tk_batch_new(&cp_book_level_schema);
    add_level(b, sym, ts, "bid", 0, "100.00", "1.5");
    add_level(b, sym, ts, "bid", 1, "99.95", "2");
    add_level(b, sym, ts, "bid", 2, "99.90", "40"); /* outside 10 bps */
    add_level(b, sym, ts, "ask", 0, "100.02", "0.5");
    add_level(b, sym, ts, "ask", 1, "100.11", "3");
    add_level(b, sym, ts, "ask", 2, "100.12", "50"); /* outside */
    return b;
}

static cp_batch *top_for(const char *sym, int64_t ts)
{
    cp_batch *b = tk_batch_new(&cp_book_top_schema);
    add_top(b, sym, ts, "100.00", "1.5", "100.02", "0.5");
    return b;
}

static void close_to(double got, double want)
{
    if (!(fabs(got - want) <= 1e-12 * fmax(1, fabs(want))))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void assert_depths(const cp_batch *o, size_t r)
{
    close_to(tk_double(o, r, "bid_depth"), 3.5);
    close_to(tk_double(o, r, "ask_depth"), 3.5);
}

static void test_top_only(void **st)
{
    (void)st;
    tk_instance *t = tk_create("spread", "");
    cp_batch *b = tk_batch_new(&cp_book_top_schema);
    add_top(b, "BTC-USDT", 1000, "43000.10", "2.0", "43000.30", "6.0");
    add_top(b, "ETH-USDT", 1000, "2300.5", "1", "2300.5", "1"); /* locked: spread 0 */
    assert_int_equal(tk_process(t, b), CP_OK);
    assert_false(tk_input_dropped(t));
    assert_int_equal(tk_rows(t, "spread"), 0); /* levels may follow in this cycle */
    assert_int_equal(tk_tick(t, 2000), CP_OK); /* the cycle ends: no depths */
    const cp_batch *o = tk_find(t, "spread", 0);
    assert_non_null(o);
    assert_int_equal(tk_rows(t, "spread"), 2);
    tk_assert_text(o, 0, "exchange", "binance");
    tk_assert_text(o, 0, "symbol", "BTC-USDT");
    assert_int_equal(tk_int(o, 0, "ts"), 1000);
    assert_int_equal(tk_int(o, 0, "received_at"), 1007);
    tk_assert_text(o, 0, "bid", "43000.10");
    tk_assert_text(o, 0, "ask", "43000.30");
    double bid = 43000.10, ask = 43000.30, mid = (bid + ask) / 2;
    close_to(tk_double(o, 0, "mid"), mid);
    close_to(tk_double(o, 0, "spread"), ask - bid);
    close_to(tk_double(o, 0, "spread_bps"), (ask - bid) / mid * 10000);
    close_to(tk_double(o, 0, "microprice"), (bid * 6 + ask * 2) / 8);
    close_to(tk_double(o, 0, "imbalance"), 0.25);
    assert_true(tk_is_null(o, 0, "bid_depth"));
    assert_true(tk_is_null(o, 0, "ask_depth"));
    close_to(tk_double(o, 1, "spread"), 0);
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_crossed_and_empty_books_are_logged(void **st)
{
    (void)st;
    tk_instance *t = tk_create("spread", "");
    tk_log_clear();
    cp_batch *b = tk_batch_new(&cp_book_top_schema);
    add_top(b, "BTC-USDT", 1000, "101", "1", "100", "1");  /* crossed */
    add_top(b, "ETH-USDT", 1000, NULL, NULL, "2300", "1"); /* no bid */
    add_top(b, "SOL-USDT", 1000, "0", "0", "0", "0");      /* empty */
    add_top(b, "XRP-USDT", 1000, "0.5", NULL, "0.6", NULL); /* fine, sizes unknown */
    assert_int_equal(tk_process(t, b), CP_OK);
    assert_int_equal(tk_tick(t, 2000), CP_OK);
    assert_int_equal(tk_rows(t, "spread"), 1);
    const cp_batch *o = tk_find(t, "spread", 0);
    tk_assert_text(o, 0, "symbol", "XRP-USDT");
    assert_true(tk_is_null(o, 0, "microprice"));
    assert_true(tk_is_null(o, 0, "imbalance"));
    tk_assert_log_contains("crossed book: exchange=binance symbol=BTC-USDT");
    tk_assert_log_contains("empty book: exchange=binance symbol=ETH-USDT");
    tk_assert_log_contains("empty book: exchange=binance symbol=SOL-USDT");
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_levels_before_top(void **st)
{
    (void)st;
    tk_instance *t = tk_create("spread", "");
    cp_batch *l = levels_for("BTC-USDT", 5000), *b = top_for("BTC-USDT", 5000);
    assert_int_equal(tk_process(t, l), CP_OK);
    assert_false(tk_input_dropped(t));
    assert_int_equal(tk_rows(t, "spread"), 0);
    assert_int_equal(tk_process(t, b), CP_OK);
    assert_int_equal(tk_rows(t, "spread"), 1);
    assert_depths(tk_find(t, "spread", 0), 0);
    tk_batch_free(l);
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_top_before_levels(void **st)
{
    (void)st;
    tk_instance *t = tk_create("spread", "");
    /* first cycle: the top waits for levels that may follow in the same cycle; it goes out once,
     * complete, when they come (never first without depths: sinks keep the first row of a key) */
    cp_batch *b1 = top_for("BTC-USDT", 1000), *l1 = levels_for("BTC-USDT", 1000);
    tk_process(t, b1);
    assert_int_equal(tk_rows(t, "spread"), 0);
    tk_process(t, l1);
    assert_int_equal(tk_rows(t, "spread"), 1);
    const cp_batch *o = tk_find(t, "spread", 0);
    assert_int_equal(tk_int(o, 0, "ts"), 1000);
    assert_depths(o, 0);
    assert_int_equal(tk_tick(t, 1500), CP_OK);
    assert_int_equal(tk_rows(t, "spread"), 1); /* nothing left to flush */
    tk_clear_emitted(t);

    /* a top whose levels never come goes out without depth when the next top arrives */
    cp_batch *b3 = top_for("BTC-USDT", 3000), *b4 = top_for("BTC-USDT", 4000), *l4 = levels_for("BTC-USDT", 4000);
    tk_process(t, b3);
    assert_int_equal(tk_rows(t, "spread"), 0);
    tk_process(t, b4);
    assert_int_equal(tk_rows(t, "spread"), 1);
    o = tk_find(t, "spread", 0);
    assert_int_equal(tk_int(o, 0, "ts"), 3000);
    assert_true(tk_is_null(o, 0, "bid_depth"));
    tk_process(t, l4);
    assert_int_equal(tk_rows(t, "spread"), 2);
    o = tk_find(t, "spread", 1);
    assert_int_equal(tk_int(o, 0, "ts"), 4000);
    assert_depths(o, 0);
    tk_clear_emitted(t);

    /* ... or at the end of the cycle, once */
    cp_batch *b5 = top_for("BTC-USDT", 5000);
    tk_process(t, b5);
    assert_int_equal(tk_tick(t, 6000), CP_OK);
    assert_int_equal(tk_rows(t, "spread"), 1);
    assert_true(tk_is_null(tk_find(t, "spread", 0), 0, "ask_depth"));
    assert_int_equal(tk_tick(t, 7000), CP_OK);
    assert_int_equal(tk_rows(t, "spread"), 1);

    cp_batch *all[] = {b1, l1, b3, b4, l4, b5};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        tk_batch_free(all[i]);
    tk_destroy(t);
}

static void test_depth_bps_option(void **st)
{
    (void)st;
    tk_instance *t = tk_create("spread", "depth_bps = 20.0;");
    cp_batch *l = levels_for("BTC-USDT", 5000), *b = top_for("BTC-USDT", 5000);
    tk_process(t, l);
    tk_process(t, b);
    const cp_batch *o = tk_find(t, "spread", 0);
    close_to(tk_double(o, 0, "bid_depth"), 43.5);
    close_to(tk_double(o, 0, "ask_depth"), 53.5);
    tk_batch_free(l);
    tk_batch_free(b);
    tk_destroy(t);

    tk_instance *bad = NULL;
    char *err = NULL;
    assert_int_not_equal(tk_try_create("spread", "depth_bps = -1.0;", NULL, &bad, &err), CP_OK);
    assert_null(bad);
    free(err);
}

static void test_other_streams_pass(void **st)
{
    (void)st;
    tk_instance *t = tk_create("spread", "");
    cp_batch *b = tk_batch_new(&cp_ticker_schema);
    size_t r = H->batch_add_row(b);
    set_text(b, r, CP_TICKER_EXCHANGE, "binance");
    assert_int_equal(tk_process(t, b), CP_OK);
    assert_false(tk_input_dropped(t));
    assert_int_equal(tk_emitted_count(t), 0);
    tk_batch_free(b);
    tk_destroy(t);
}

int main(void)
{
    H = tk_host();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_only),
        cmocka_unit_test(test_crossed_and_empty_books_are_logged),
        cmocka_unit_test(test_levels_before_top),
        cmocka_unit_test(test_top_before_levels),
        cmocka_unit_test(test_depth_bps_option),
        cmocka_unit_test(test_other_streams_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
