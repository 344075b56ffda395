/* Unit tests of the alert rules' expression language (plugins/transforms/alerts_expr.c): parsing, errors, exact decimals, functions.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"
#include "../../plugins/transforms/alerts_expr.c"

#include <coinpipe/streams.h>

/* the row: column i holds texts[i] (NULL = NULL) */
typedef struct fake {
    const char *texts[CP_TICKER_NCOLS];
    int64_t age;
} fake;

static ax_value fake_column(void *user, int col)
{
    fake *f = user;
    ax_value v = {.kind = AX_NULL};
    if (f->texts[col])
        assert_true(ax_number(f->texts[col], strlen(f->texts[col]), &v));
    return v;
}

static int64_t fake_age(void *user) { return ((fake *)user)->age; }

static ax_expr *parse_ok(const char *text)
{
    char err[256];
    size_t at;
    ax_expr *e = ax_parse(text, ax_catalog_lookup, NULL, err, sizeof err, &at);
    if (!e)
        fail_msg("'%s' did not parse: %s (at %zu)", text, err, at);
    return e;
}

/* evaluates `text` on a ticker row whose last is `last`: 1 true, 0 false, -1 NULL */
static int eval_last(const char *text, const char *last)
{
    ax_expr *e = parse_ok(text);
    fake f = {.age = 0};
    f.texts[CP_TICKER_LAST] = last;
    ax_row row = {.column = fake_column, .age_ms = fake_age, .row_ts = 1000, .prev_open_time = -1,
                  .interval_ms = -1, .user = &f};
    void *hist = NULL;
    ax_value r = ax_eval(e, &row, &hist, true, NULL, NULL);
    ax_history_free(e, hist);
    ax_free(e);
    return r.kind == AX_NULL ? -1 : r.kind == AX_BOOL ? r.b : r.d != 0;
}

static void test_exact_decimals(void **state)
{
    (void)state;
    assert_int_equal(eval_last("ticker.last == 60000", "60000.00000000"), 1);
    assert_int_equal(eval_last("ticker.last >= 60000", "60000.00000000"), 1);
    assert_int_equal(eval_last("ticker.last > 60000", "60000.00000000"), 0);
    assert_int_equal(eval_last("ticker.last > 60000", "60000.00000001"), 1);
    assert_int_equal(eval_last("ticker.last > 59999.99999999", "60000"), 1);
    assert_int_equal(eval_last("ticker.last == 0.3", "0.30"), 1);
    /* the 0.1 + 0.2 trap: doubles say 0.30000000000000004 */
    assert_int_equal(eval_last("0.1 + 0.2 == 0.3 and ticker.last > 0", "1"), 1);
    assert_int_equal(eval_last("ticker.last + 0.2 == 0.3", "0.1"), 1);
    assert_int_equal(eval_last("ticker.last - 0.1 == 0.2", "0.3"), 1);
    assert_int_equal(eval_last("ticker.last * 3 == 0.3", "0.1"), 1);
    /* beyond double precision: 17 significant digits that a double cannot tell apart */
    assert_int_equal(eval_last("ticker.last > 9007199254740992", "9007199254740993"), 1);
    assert_int_equal(eval_last("ticker.last != 0.10000000000000001", "0.1"), 1);
    /* exponent forms the exchanges use */
    assert_int_equal(eval_last("ticker.last == 0.00000015", "1.5e-7"), 1);
    assert_int_equal(eval_last("ticker.last == 150000", "1.5E5"), 1);
    assert_int_equal(eval_last("-ticker.last < -1", "1.5"), 1);
    assert_int_equal(eval_last("abs(ticker.last - 2) == 0.5", "1.5"), 1);
    /* division falls back to doubles */
    assert_int_equal(eval_last("ticker.last / 4 == 0.25", "1"), 1);
    assert_int_equal(eval_last("ticker.last / 0 > 1", "1"), -1);
}

static void test_null_logic(void **state)
{
    (void)state;
    assert_int_equal(eval_last("ticker.last > 1", NULL), -1);
    assert_int_equal(eval_last("ticker.last > 1 or true", NULL), 1);
    assert_int_equal(eval_last("ticker.last > 1 and false", NULL), 0);
    assert_int_equal(eval_last("not ticker.last > 1", NULL), -1);
    assert_int_equal(eval_last("not (ticker.last > 1)", "2"), 0);
    assert_int_equal(eval_last("!(ticker.last > 1) || ticker.last == 2", "2"), 1);
}

static void test_sides_and_format(void **state)
{
    (void)state;
    ax_expr *e = parse_ok("ticker.last > 60000.5");
    fake f = {0};
    f.texts[CP_TICKER_LAST] = "61000.50000000";
    ax_row row = {.column = fake_column, .age_ms = fake_age, .row_ts = 1, .prev_open_time = -1, .user = &f};
    ax_value l, r;
    ax_value res = ax_eval(e, &row, NULL, true, &l, &r);
    assert_true(res.kind == AX_BOOL && res.b);
    char a[64], b[64];
    ax_format(&l, a, sizeof a);
    ax_format(&r, b, sizeof b);
    assert_string_equal(a, "61000.50000000");
    assert_string_equal(b, "60000.5");
    ax_value v;
    assert_true(ax_number("-0.00012300", 11, &v));
    ax_format(&v, a, sizeof a);
    assert_string_equal(a, "-0.00012300");
    assert_false(ax_number("1.2.3", 5, &v));
    assert_false(ax_number("abc", 3, &v));
    assert_false(ax_number("", 0, &v));
    ax_free(e);
}

static void expect_error(const char *text, const char *msg, size_t want_at)
{
    char err[256];
    size_t at = 999;
    ax_expr *e = ax_parse(text, ax_catalog_lookup, NULL, err, sizeof err, &at);
    if (e)
        fail_msg("'%s' parsed but should not", text);
    if (!strstr(err, msg))
        fail_msg("'%s': error '%s' lacks '%s'", text, err, msg);
    if (want_at != SIZE_MAX && at != want_at)
        fail_msg("'%s': error at %zu, expected %zu", text, at, want_at);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("ticker.lst > 1", "unknown column 'lst' of stream 'ticker'", 7);
    expect_error("tickr.last > 1", "unknown stream 'tickr'", 0);
    expect_error("ticker.last >", "unexpected end", SIZE_MAX);
    expect_error("ticker.last > 1 1", "unexpected '1'", 16);
    expect_error("1 < ticker.last < 2", "unexpected '< 2'", SIZE_MAX);
    expect_error("ticker.last > 1 and book_top.bid > 1", "reads one stream", SIZE_MAX);
    expect_error("foo(ticker.last)", "unknown function 'foo'", 0);
    expect_error("change_pct(ticker.last) > 1", "takes a column and a window", SIZE_MAX);
    expect_error("change_pct(ticker.last, 1x) > 1", "expected a window", 24);
    expect_error("stale(ticker)", "stale() takes a stream and a duration", SIZE_MAX);
    expect_error("candle_gap(ticker)", "reads the ohlcv stream", SIZE_MAX);
    expect_error("1 > 0", "reads no column", SIZE_MAX);
    expect_error("(ticker.last > 1", "expected ')'", SIZE_MAX);
    expect_error("ticker.last > 1.2.3", "'1.2.3' is not a number", 14);
    expect_error("ticker.last > $", "unexpected '$'", 14);
    char deep[400];
    memset(deep, '(', 200);
    strcpy(deep + 200, "ticker.last");
    expect_error(deep, "nested too deeply", SIZE_MAX);
}

static void test_windows(void **state)
{
    (void)state;
    ax_expr *e = parse_ok("change_pct(ticker.last, 1h) < -5");
    ax_expr *z = parse_ok("zscore(ticker.last, 5) > 3");
    fake f = {0};
    ax_row row = {.column = fake_column, .age_ms = fake_age, .prev_open_time = -1, .user = &f};
    void *he = NULL, *hz = NULL;
    const char *prices[] = {"100", "101", "99", "100", "100.5", "94"};
    ax_value res, l;
    for (size_t i = 0; i < 6; i++) {
        f.texts[CP_TICKER_LAST] = prices[i];
        row.row_ts = (int64_t)i * 60000;
        res = ax_eval(e, &row, &he, true, &l, NULL);
        if (i == 0)
            assert_int_equal(res.kind, AX_NULL); /* one value: no change yet */
    }
    assert_true(res.kind == AX_BOOL && res.b); /* 100 -> 94: -6 % */
    assert_true(l.d < -5.99 && l.d > -6.01);
    /* an hour later the window has moved past the 100s: only 94 and the new value */
    f.texts[CP_TICKER_LAST] = "94";
    row.row_ts = 3600000 + 5 * 60000;
    res = ax_eval(e, &row, &he, true, &l, NULL);
    assert_true(res.kind == AX_BOOL && !res.b);
    for (size_t i = 0; i < 5; i++) {
        f.texts[CP_TICKER_LAST] = i % 2 ? "100" : "101";
        row.row_ts = (int64_t)i;
        ax_eval(z, &row, &hz, true, NULL, NULL);
    }
    f.texts[CP_TICKER_LAST] = "110";
    res = ax_eval(z, &row, &hz, true, &l, NULL);
    assert_true(res.kind == AX_BOOL && res.b); /* far outside 100..101 */
    ax_history_free(e, he);
    ax_history_free(z, hz);
    ax_free(e);
    ax_free(z);
}

static void test_stale_and_gap(void **state)
{
    (void)state;
    ax_expr *s = parse_ok("stale(ticker, 3m)");
    assert_true(ax_uses_stale(s));
    assert_string_equal(ax_stream(s), "ticker");
    fake f = {.age = 200000};
    ax_row row = {.column = fake_column, .age_ms = fake_age, .prev_open_time = -1, .user = &f};
    ax_value r = ax_eval(s, &row, NULL, false, NULL, NULL);
    assert_true(r.kind == AX_BOOL && r.b);
    f.age = 1000;
    r = ax_eval(s, &row, NULL, false, NULL, NULL);
    assert_true(r.kind == AX_BOOL && !r.b);
    f.age = -1;
    r = ax_eval(s, &row, NULL, false, NULL, NULL);
    assert_int_equal(r.kind, AX_NULL);
    ax_free(s);
    ax_expr *g = parse_ok("candle_gap(ohlcv)");
    row.interval_ms = 60000;
    row.prev_open_time = 0;
    row.row_ts = 60000;
    r = ax_eval(g, &row, NULL, true, NULL, NULL);
    assert_true(r.kind == AX_BOOL && !r.b);
    row.row_ts = 180000;
    r = ax_eval(g, &row, NULL, true, NULL, NULL);
    assert_true(r.kind == AX_BOOL && r.b);
    ax_free(g);
}

static bool fake_latest(void *user, const char *stream, const char *const *series, size_t n, const char *column,
                        double *value)
{
    (void)user;
    if (strcmp(stream, "ticker") || strcmp(column, "last") || n != 2 || strcmp(series[0], "coinbase") ||
        strcmp(series[1], "BTC-USD"))
        return false;
    *value = 6268.48;
    return true;
}

static void test_latest(void **state)
{
    (void)state;
    ax_expr *e = parse_ok("latest(ticker.last, \"coinbase\", \"BTC-USD\") - ohlcv.close > 100");
    assert_string_equal(ax_stream(e), "ohlcv"); /* latest() does not count as the rule's stream */
    fake f = {0};
    f.texts[CP_OHLCV_CLOSE] = "6000";
    ax_row row = {.column = fake_column, .age_ms = fake_age, .latest = fake_latest, .prev_open_time = -1, .user = &f};
    ax_value r = ax_eval(e, &row, NULL, true, NULL, NULL);
    assert_true(r.kind == AX_BOOL && r.b);
    f.texts[CP_OHLCV_CLOSE] = "6200";
    r = ax_eval(e, &row, NULL, true, NULL, NULL);
    assert_true(r.kind == AX_BOOL && !r.b);
    ax_free(e);
    e = parse_ok("latest(ticker.last, \"binance\", \"BTC-USDT\") > ohlcv.close");
    r = ax_eval(e, &row, NULL, true, NULL, NULL);
    assert_int_equal(r.kind, AX_NULL); /* no such row: NULL, nothing fires */
    ax_free(e);
    expect_error("latest(ticker.lst, \"x\") > 1", "unknown column 'ticker.lst'", 7);
    expect_error("latest(ticker.last) > 1", "needs the series", SIZE_MAX);
    expect_error("latest(ticker.last, \"a) > 1", "unterminated string", 20);
    expect_error("latest(ticker.last, x) > 1", "quoted", 20);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(ax_duration("250ms", 5, &ms) && ms == 250);
    assert_true(ax_duration("3m", 2, &ms) && ms == 180000);
    assert_true(ax_duration("1d", 2, &ms) && ms == 86400000);
    assert_false(ax_duration("3", 1, &ms));
    assert_false(ax_duration("m", 1, &ms));
    assert_false(ax_duration("99999999999999h", 15, &ms));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_decimals), cmocka_unit_test(test_null_logic),
        cmocka_unit_test(test_sides_and_format), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_windows), cmocka_unit_test(test_stale_and_gap),
        cmocka_unit_test(test_durations), cmocka_unit_test(test_latest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
