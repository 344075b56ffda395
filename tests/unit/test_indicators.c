/* Unit tests of the indicators transform (plugins/transforms/indicators.c) through the real loader.
 * SPDX-License-Identifier: MIT
 *
 * Candles and expected values come from tests/fixtures/talib/vectors.csv (TA-Lib's output,
 * see generate.js there). Covers: every indicator against TA-Lib over the whole series, a
 * restart midway (same values as an uninterrupted run), re-delivery, late and unordered
 * candles, still-open candles, options and column names.
 */
#include "testkit.h"
#include "test_ta_vectors.h"

#include <coinpipe/streams.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REL_ERR 1e-9
#define FAR_FUTURE 4102444800000LL /* 2100-01-01: every fixture candle is closed */

static const cp_host *H;
static tv_set V;
static size_t btc_end; /* rows [0, btc_end) are BTC-USDT, the rest DOGE-USDT */

static int setup(void **st)
{
    (void)st;
    H = tk_host();
    if (tv_load(tv_default_path("tests/fixtures/talib/vectors.csv"), &V))
        return -1;
    while (btc_end < V.nrows && strcmp(V.rows[btc_end].symbol, "BTC-USDT") == 0)
        btc_end++;
    tk_pin_clock(FAR_FUTURE);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    tv_free(&V);
    tk_pin_clock(0);
    return 0;
}

static void set_text(cp_batch *b, size_t r, size_t col, const char *s)
{
    cp_type t = H->batch_schema(b)->fields[col].type;
    cp_status st = t == CP_T_DECIMAL ? H->batch_set_decimal(b, r, col, s, strlen(s))
                                     : H->batch_set_string(b, r, col, s, strlen(s));
    assert_int_equal(st, CP_OK);
}

static int64_t step_of(const tv_row *row) { return strcmp(row->interval, "1m") == 0 ? 60000 : 300000; }

static void add_candle(cp_batch *b, const tv_row *row)
{
    size_t r = H->batch_add_row(b);
    set_text(b, r, CP_OHLCV_EXCHANGE, "binance");
    set_text(b, r, CP_OHLCV_SYMBOL, row->symbol);
    set_text(b, r, CP_OHLCV_NATIVE_SYMBOL, "NATIVE");
    set_text(b, r, CP_OHLCV_INTERVAL, row->interval);
    H->batch_set_int(b, r, CP_OHLCV_OPEN_TIME, row->open_time);
    H->batch_set_int(b, r, CP_OHLCV_CLOSE_TIME, row->open_time + step_of(row) - 1);
    set_text(b, r, CP_OHLCV_OPEN, row->open);
    set_text(b, r, CP_OHLCV_HIGH, row->high);
    set_text(b, r, CP_OHLCV_LOW, row->low);
    set_text(b, r, CP_OHLCV_CLOSE, row->close);
    set_text(b, r, CP_OHLCV_VOLUME, row->volume);
}

/* Feeds vector rows [from, to) in batches of `per_batch` rows, each batch reversed if asked. */
static void feed(tk_instance *t, size_t from, size_t to, size_t per_batch, bool reverse)
{
    for (size_t i = from; i < to; i += per_batch) {
        size_t end = i + per_batch < to ? i + per_batch : to;
        cp_batch *b = tk_batch_new(&cp_ohlcv_schema);
        for (size_t k = i; k < end; k++)
            add_candle(b, &V.rows[reverse ? end - 1 - (k - i) : k]);
        assert_int_equal(tk_process(t, b), CP_OK);
        assert_false(tk_input_dropped(t));
        tk_batch_free(b);
    }
}

/* Output values per vector row: res[row * ncols + col], NAN for NULL; got[row] counts rows. */
typedef struct results {
    size_t ncols;
    char names[64][TV_TEXT];
    double *v;
    int *got;
} results;

static size_t find_row(const char *symbol, int64_t open_time)
{
    size_t lo = strcmp(symbol, "BTC-USDT") == 0 ? 0 : btc_end, hi = lo ? V.nrows : btc_end;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (V.rows[mid].open_time < open_time)
            lo = mid + 1;
        else
            hi = mid;
    }
    assert_true(lo < V.nrows && V.rows[lo].open_time == open_time);
    return lo;
}

/* Collects every indicator row emitted so far (then clears the captured batches). */
static void collect(tk_instance *t, results *res)
{
    for (size_t i = 0; i < tk_emitted_count(t); i++) {
        const cp_batch *b = tk_emitted(t, i);
        const cp_schema *sc = H->batch_schema(b);
        assert_string_equal(sc->stream, "indicator");
        if (!res->v) {
            res->ncols = sc->nfields - 5;
            for (size_t k = 0; k < res->ncols; k++)
                snprintf(res->names[k], TV_TEXT, "%s", sc->fields[5 + k].name);
            res->v = calloc(V.nrows * res->ncols, sizeof(double));
            res->got = calloc(V.nrows, sizeof(int));
        }
        for (size_t r = 0; r < H->batch_rows(b); r++) {
            size_t row = find_row(tk_text(b, r, "symbol"), tk_int(b, r, "open_time"));
            tk_assert_text(b, r, "exchange", "binance");
            tk_assert_text(b, r, "interval", V.rows[row].interval);
            tk_assert_text(b, r, "close", V.rows[row].close);
            res->got[row]++;
            for (size_t k = 0; k < res->ncols; k++)
                res->v[row * res->ncols + k] = H->batch_get_double(b, r, 5 + k);
        }
    }
    tk_clear_emitted(t);
}

static void results_free(results *r)
{
    free(r->v);
    free(r->got);
    memset(r, 0, sizeof *r);
}

/* Compares every column TA-Lib has over rows [from, to); returns how many columns it compared. */
static size_t compare_talib(const results *res, size_t from, size_t to, bool verbose)
{
    size_t ncompared = 0;
    for (size_t k = 0; k < res->ncols; k++) {
        int tc = tv_col(&V, res->names[k]);
        if (tc < 0)
            continue;
        double maxerr = 0;
        for (size_t row = from; row < to; row++) {
            assert_int_equal(res->got[row], 1);
            double er = tv_relerr(res->v[row * res->ncols + k], V.rows[row].v[tc], strtod(V.rows[row].close, NULL));
            if (er > MAX_REL_ERR)
                fail_msg("%s at row %zu: got %.17g, TA-Lib %.17g", res->names[k], row, res->v[row * res->ncols + k],
                         V.rows[row].v[tc]);
            if (er > maxerr)
                maxerr = er;
        }
        if (verbose)
            print_message("    %-20s max relative error vs TA-Lib %.3g\n", res->names[k], maxerr);
        ncompared++;
    }
    return ncompared;
}

static void test_default_columns_and_values(void **st)
{
    (void)st;
    tk_instance *t = tk_create("indicators", "");
    feed(t, 0, V.nrows, 250, false);
    results res = {0};
    collect(t, &res);
    const char *want[] = {"sma_20", "ema_20", "rsi_14", "macd", "macd_signal", "macd_hist", "bb_upper",
                          "bb_middle", "bb_lower", "atr_14", "pivot", "r1", "s1", "r2", "s2", "r3", "s3",
                          "fib_236", "fib_382", "fib_500", "fib_618", "fib_786"};
    assert_int_equal(res.ncols, sizeof want / sizeof *want);
    for (size_t k = 0; k < res.ncols; k++)
        assert_string_equal(res.names[k], want[k]);
    assert_int_equal(compare_talib(&res, 0, V.nrows, true), 10);
    /* the first MACD value is at index 33, as in TA-Lib */
    assert_true(isnan(res.v[32 * res.ncols + 3]) && !isnan(res.v[33 * res.ncols + 3]));
    results_free(&res);
    tk_destroy(t);
}

static void test_restart_midway_gives_the_same_values(void **st)
{
    (void)st;
    tk_instance *whole = tk_create("indicators", "");
    feed(whole, 0, V.nrows, 100, false);
    results ref = {0};
    collect(whole, &ref);
    tk_destroy(whole);

    const char *dir = tk_tmpdir();
    size_t half_btc = btc_end / 2 + 3, half_doge = btc_end + (V.nrows - btc_end) / 2;
    tk_instance *first = tk_create_in("indicators", "", dir);
    feed(first, 0, half_btc, 100, false);
    feed(first, btc_end, half_doge, 100, false);
    results res = {0};
    collect(first, &res);
    tk_destroy(first); /* "systemctl restart" */

    tk_instance *second = tk_create_in("indicators", "", dir);
    feed(second, half_btc, btc_end, 100, false);
    feed(second, half_doge, V.nrows, 100, false);
    collect(second, &res);
    tk_destroy(second);

    for (size_t row = 0; row < V.nrows; row++) {
        assert_int_equal(res.got[row], 1);
        for (size_t k = 0; k < res.ncols; k++) {
            double a = res.v[row * res.ncols + k], b = ref.v[row * ref.ncols + k];
            if (!(a == b || (isnan(a) && isnan(b))))
                fail_msg("%s at row %zu: %.17g after restart, %.17g uninterrupted", res.names[k], row, a, b);
        }
    }
    compare_talib(&res, 0, V.nrows, false);
    results_free(&res);
    results_free(&ref);
}

static void test_redelivery_is_a_noop(void **st)
{
    (void)st;
    tk_instance *t = tk_create("indicators", "");
    tk_log_clear();
    feed(t, 0, 100, 100, false);
    feed(t, 0, 100, 100, false); /* the same batch again */
    feed(t, 90, 110, 20, false); /* an overlapping poll */
    results res = {0};
    collect(t, &res);
    for (size_t row = 0; row < 110; row++)
        assert_int_equal(res.got[row], 1);
    compare_talib(&res, 0, 110, false);
    assert_null(strstr(tk_log(), "late candle"));
    results_free(&res);
    tk_destroy(t);
}

static void test_unordered_batch(void **st)
{
    (void)st;
    tk_instance *t = tk_create("indicators", "");
    feed(t, 0, btc_end, 333, true); /* each batch newest first, like Coinbase's candles */
    results res = {0};
    collect(t, &res);
    compare_talib(&res, 0, btc_end, false);
    results_free(&res);
    tk_destroy(t);
}

static void test_late_candle_is_skipped_and_logged(void **st)
{
    (void)st;
    tk_instance *t = tk_create("indicators", "");
    feed(t, 0, 40, 40, false);
    feed(t, 41, 50, 10, false); /* row 40 is missing */
    tk_clear_emitted(t);
    tk_log_clear();
    feed(t, 40, 41, 1, false); /* ... and arrives late */
    assert_int_equal(tk_rows(t, "indicator"), 0);
    char want[128];
    snprintf(want, sizeof want, "late candle binance/BTC-USDT/1m open_time=%lld", (long long)V.rows[40].open_time);
    tk_assert_log_contains(want);
    feed(t, 50, 51, 1, false); /* the series goes on */
    assert_int_equal(tk_rows(t, "indicator"), 1);
    tk_destroy(t);
}

static void test_open_candle_is_provisional(void **st)
{
    (void)st;
    tk_instance *t = tk_create("indicators", "");
    feed(t, 0, 100, 100, false);
    tk_clear_emitted(t);
    tk_pin_clock(V.rows[100].open_time + 1000); /* candle 100 is still moving */
    feed(t, 100, 101, 1, false);
    feed(t, 100, 101, 1, false); /* polled again: a new provisional row, state untouched */
    assert_int_equal(tk_rows(t, "indicator"), 2);
    tk_pin_clock(FAR_FUTURE);
    feed(t, 100, 110, 10, false); /* closed now: 100 counts, once */
    results res = {0};
    collect(t, &res);
    assert_int_equal(res.got[100], 3);
    res.got[100] = 1;
    compare_talib(&res, 100, 110, false);
    results_free(&res);
    tk_destroy(t);
}

static void test_other_parameters(void **st)
{
    (void)st;
    tk_instance *t = tk_create("indicators", "sma = [20, 50]; ema = [9]; rsi = [7, 14]; macd = [5, 35, 5];"
                                             "bbands = (10, 1.5); atr = [5]; pivots = false; fib_lookback = 0;");
    feed(t, 0, V.nrows, 500, false);
    results res = {0};
    collect(t, &res);
    const char *want[] = {"sma_20", "sma_50", "ema_9", "rsi_7", "rsi_14", "macd_5_35_5", "macd_signal_5_35_5",
                          "macd_hist_5_35_5", "bb_upper_10_1_5", "bb_middle_10_1_5", "bb_lower_10_1_5", "atr_5"};
    assert_int_equal(res.ncols, sizeof want / sizeof *want);
    for (size_t k = 0; k < res.ncols; k++)
        assert_string_equal(res.names[k], want[k]);
    assert_int_equal(compare_talib(&res, 0, V.nrows, true), res.ncols);
    results_free(&res);
    tk_destroy(t);
}

static void test_bad_options_are_refused(void **st)
{
    (void)st;
    const char *bad[] = {"macd = [12, 26];", "rsi = [\"x\"];", "sma = [0];", "rsi = [1];", "macd = [26, 12, 9];",
                         "bbands = [20.0, 0.0];", "bbands = [20.5, 2.0];", "fib_lookback = -1;", "sma = [20, 20];"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tk_instance *t = NULL;
        char *err = NULL;
        if (tk_try_create("indicators", bad[i], NULL, &t, &err) == CP_OK)
            fail_msg("'%s' was accepted", bad[i]);
        assert_null(t);
        free(err);
    }
}

static void test_settings_change_restarts_warmup(void **st)
{
    (void)st;
    const char *dir = tk_tmpdir();
    tk_instance *a = tk_create_in("indicators", "", dir);
    feed(a, 0, 60, 60, false);
    tk_destroy(a);
    tk_log_clear();
    tk_instance *b = tk_create_in("indicators", "sma = [50];", dir);
    feed(b, 60, 61, 1, false);
    tk_assert_log_contains("indicator settings changed");
    const cp_batch *o = tk_find(b, "indicator", 0);
    assert_non_null(o);
    assert_true(tk_is_null(o, 0, "sma_50")); /* warming up anew */
    tk_destroy(b);
}

static void test_malformed_state_is_ignored(void **st)
{
    (void)st;
    const char *dir = tk_tmpdir();
    tk_instance *a = tk_create_in("indicators", "", dir);
    assert_int_equal(cp_state_set(tk_ctx(a), "series", "coinpipe-indicators 1\nnot a signature\n"), CP_OK);
    tk_destroy(a);
    tk_log_clear();
    tk_instance *b = tk_create_in("indicators", "", dir);
    tk_assert_log_contains("indicator settings changed");
    tk_destroy(b);
    a = tk_create_in("indicators", "", dir);
    assert_int_equal(cp_state_set(tk_ctx(a), "series", "garbage"), CP_OK);
    tk_destroy(a);
    tk_log_clear();
    b = tk_create_in("indicators", "", dir);
    tk_assert_log_contains("not ours or malformed");
    feed(b, 0, 100, 100, false); /* warms up from scratch */
    results res = {0};
    collect(b, &res);
    compare_talib(&res, 0, 100, false);
    results_free(&res);
    tk_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_columns_and_values),
        cmocka_unit_test(test_restart_midway_gives_the_same_values),
        cmocka_unit_test(test_redelivery_is_a_noop),
        cmocka_unit_test(test_unordered_batch),
        cmocka_unit_test(test_late_candle_is_skipped_and_logged),
        cmocka_unit_test(test_open_candle_is_provisional),
        cmocka_unit_test(test_other_parameters),
        cmocka_unit_test(test_bad_options_are_refused),
        cmocka_unit_test(test_settings_change_restarts_warmup),
        cmocka_unit_test(test_malformed_state_is_ignored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
