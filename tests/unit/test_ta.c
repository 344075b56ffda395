/* Unit tests of the indicator math (plugins/transforms/ta.c) against TA-Lib's own output.
 * SPDX-License-Identifier: MIT
 *
 * The reference vectors (tests/fixtures/talib/vectors.csv) come from TA-Lib itself (see
 * generate.js there); no TA-Lib is needed to run this. Pivots and Fibonacci levels, which
 * TA-Lib does not have, are checked against a direct recomputation over the whole window.
 */
#include "testkit.h"
#include "test_ta_vectors.h"

#include "../../plugins/transforms/ta.c"

#define MAX_REL_ERR 1e-9

static tv_set vectors;

static int setup(void **st)
{
    (void)st;
    return tv_load(tv_default_path("tests/fixtures/talib/vectors.csv"), &vectors);
}

static int teardown(void **st)
{
    (void)st;
    tv_free(&vectors);
    return 0;
}

static double num(const char *s) { return strtod(s, NULL); }

/* Runs `c` over every series of the vectors; checks each column TA-Lib has. With
 * restart_every > 0 the state is saved to text and parsed into a fresh series that often. */
static void check_against_talib(const ta_config *c, size_t restart_every, bool verbose)
{
    ta_engine e;
    char err[256];
    assert_int_equal(ta_engine_init(&e, c, err, sizeof err), 0);
    double maxerr[TA_MAX_COLS] = {0};
    size_t compared[TA_MAX_COLS] = {0};
    int tcol[TA_MAX_COLS];
    for (size_t k = 0; k < e.ncols; k++)
        tcol[k] = tv_col(&vectors, e.names[k]);
    ta_series *s = NULL;
    const char *cur = "";
    size_t in_series = 0;
    double out[TA_MAX_COLS];
    for (size_t r = 0; r < vectors.nrows; r++) {
        const tv_row *row = &vectors.rows[r];
        if (strcmp(cur, row->symbol) != 0) {
            free(s);
            s = ta_series_new(&e);
            assert_non_null(s);
            cur = row->symbol;
            in_series = 0;
        }
        if (restart_every && in_series && in_series % restart_every == 0) {
            size_t len = ta_series_format(&e, s, NULL, 0);
            char *text = malloc(len + 1);
            assert_int_equal(ta_series_format(&e, s, text, len + 1), len);
            free(s);
            s = ta_series_new(&e);
            assert_non_null(ta_series_parse(&e, s, text));
            free(text);
        }
        ta_update(&e, s, num(row->high), num(row->low), num(row->close), out);
        in_series++;
        for (size_t k = 0; k < e.ncols; k++) {
            if (tcol[k] < 0)
                continue;
            double er = tv_relerr(out[k], row->v[tcol[k]], num(row->close));
            if (er > maxerr[k])
                maxerr[k] = er;
            if (er > MAX_REL_ERR)
                fail_msg("%s row %zu (%s): got %.17g, TA-Lib %.17g", e.names[k], r, row->symbol, out[k],
                         row->v[tcol[k]]);
            compared[k]++;
        }
    }
    free(s);
    for (size_t k = 0; k < e.ncols; k++)
        if (tcol[k] >= 0) {
            assert_int_equal(compared[k], vectors.nrows);
            if (verbose)
                print_message("    %-20s max relative error vs TA-Lib %.3g over %zu candles\n", e.names[k],
                              maxerr[k], compared[k]);
        }
}

static void test_defaults_match_talib(void **st)
{
    (void)st;
    ta_config c;
    ta_config_default(&c);
    check_against_talib(&c, 0, true);
}

static void test_other_parameters_match_talib(void **st)
{
    (void)st;
    ta_config c;
    ta_config_default(&c);
    c.sma[0] = 50;
    c.ema[0] = 9;
    c.rsi[0] = 7;
    c.atr[0] = 5;
    c.macd_fast = 5, c.macd_slow = 35, c.macd_signal = 5;
    c.bb_period = 10, c.bb_k = 1.5;
    check_against_talib(&c, 0, true);
}

static void test_several_periods_at_once(void **st)
{
    (void)st;
    ta_config c;
    ta_config_default(&c);
    c.nsma = 2, c.sma[1] = 50;
    c.nema = 2, c.ema[1] = 9;
    c.nrsi = 2, c.rsi[1] = 7;
    c.natr = 2, c.atr[1] = 5;
    check_against_talib(&c, 0, false);
}

static void test_state_text_round_trip_is_exact(void **st)
{
    (void)st;
    ta_config c;
    ta_config_default(&c);
    check_against_talib(&c, 7, false); /* save and restore every 7 candles: still exact */
    check_against_talib(&c, 1000, false);
}

static void test_pivots_and_fibonacci(void **st)
{
    (void)st;
    ta_config c;
    ta_config_default(&c);
    c.fib_lookback = 5;
    ta_engine e;
    char err[256];
    assert_int_equal(ta_engine_init(&e, &c, err, sizeof err), 0);
    int piv = -1, fib = -1;
    for (size_t k = 0; k < e.ncols; k++) {
        if (strcmp(e.names[k], "pivot") == 0)
            piv = (int)k;
        if (strcmp(e.names[k], "fib_236_5") == 0)
            fib = (int)k;
    }
    assert_true(piv >= 0 && fib == piv + 7);
    ta_series *s = ta_series_new(&e);
    double out[TA_MAX_COLS];
    size_t n = 600; /* BTC-USDT rows */
    for (size_t i = 0; i < n; i++) {
        const tv_row *row = &vectors.rows[i];
        ta_update(&e, s, num(row->high), num(row->low), num(row->close), out);
        if (i == 0) {
            for (int k = 0; k < 7; k++)
                assert_true(isnan(out[piv + k]));
        } else {
            const tv_row *p = &vectors.rows[i - 1];
            double H = num(p->high), L = num(p->low), C = num(p->close), P = (H + L + C) / 3.0;
            double want[7] = {P, 2 * P - L, 2 * P - H, P + (H - L), P - (H - L), H + 2 * (P - L), L - 2 * (H - P)};
            for (int k = 0; k < 7; k++)
                assert_true(fabs(out[piv + k] - want[k]) <= 1e-12 * fabs(want[k]));
        }
        if (i < 4) {
            for (int k = 0; k < 5; k++)
                assert_true(isnan(out[fib + k]));
            continue;
        }
        double hi = -INFINITY, lo = INFINITY;
        for (size_t j = i - 4; j <= i; j++) {
            hi = fmax(hi, num(vectors.rows[j].high));
            lo = fmin(lo, num(vectors.rows[j].low));
        }
        const double ratio[5] = {0.236, 0.382, 0.5, 0.618, 0.786};
        for (int k = 0; k < 5; k++)
            assert_true(out[fib + k] == hi - ratio[k] * (hi - lo));
    }
    free(s);
}

static void test_column_names(void **st)
{
    (void)st;
    ta_config c;
    ta_config_default(&c);
    ta_engine e;
    char err[256];
    assert_int_equal(ta_engine_init(&e, &c, err, sizeof err), 0);
    const char *want[] = {"sma_20", "ema_20", "rsi_14", "macd", "macd_signal", "macd_hist", "bb_upper",
                          "bb_middle", "bb_lower", "atr_14", "pivot", "r1", "s1", "r2", "s2", "r3", "s3",
                          "fib_236", "fib_382", "fib_500", "fib_618", "fib_786"};
    assert_int_equal(e.ncols, sizeof want / sizeof *want);
    for (size_t k = 0; k < e.ncols; k++)
        assert_string_equal(e.names[k], want[k]);

    c.macd_fast = 5, c.macd_slow = 35, c.macd_signal = 5;
    c.bb_k = 2.5;
    c.fib_lookback = 50;
    assert_int_equal(ta_engine_init(&e, &c, err, sizeof err), 0);
    assert_string_equal(e.names[3], "macd_5_35_5");
    assert_string_equal(e.names[5], "macd_hist_5_35_5");
    assert_string_equal(e.names[6], "bb_upper_20_2_5");
    assert_string_equal(e.names[17], "fib_236_50");
}

static void test_bad_configs(void **st)
{
    (void)st;
    ta_config c;
    ta_engine e;
    char err[256];
    ta_config_default(&c);
    c.rsi[0] = 1;
    assert_int_equal(ta_engine_init(&e, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "rsi"));
    ta_config_default(&c);
    c.macd_fast = 30; /* fast > slow */
    assert_int_equal(ta_engine_init(&e, &c, err, sizeof err), -1);
    ta_config_default(&c);
    c.nsma = 2, c.sma[1] = 20; /* twice */
    assert_int_equal(ta_engine_init(&e, &c, err, sizeof err), -1);
    ta_config_default(&c);
    c.bb_k = 0;
    assert_int_equal(ta_engine_init(&e, &c, err, sizeof err), -1);
    ta_config_default(&c);
    c.fib_lookback = TA_MAX_PERIOD + 1;
    assert_int_equal(ta_engine_init(&e, &c, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_talib),
        cmocka_unit_test(test_other_parameters_match_talib),
        cmocka_unit_test(test_several_periods_at_once),
        cmocka_unit_test(test_state_text_round_trip_is_exact),
        cmocka_unit_test(test_pivots_and_fibonacci),
        cmocka_unit_test(test_column_names),
        cmocka_unit_test(test_bad_configs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
