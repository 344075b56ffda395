/* Unit tests of the latest-rows table (core/latest.c): newest row per series, runs of one
 * series in a batch, old rows never replace newer ones, JSON rendering, numeric look-ups.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/batch.h"
#include "core/host.h"
#include "core/latest.h"

#include <coinpipe/streams.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void text(cp_batch *b, size_t r, size_t c, const char *s)
{
    cp_type t = core_batch_schema(b)->fields[c].type;
    assert_int_equal(t == CP_T_DECIMAL ? core_batch_set_decimal(b, r, c, s, strlen(s))
                                       : core_batch_set_string(b, r, c, s, strlen(s)),
                     CP_OK);
}

static void candle(cp_batch *b, const char *sym, const char *iv, int64_t t, const char *close)
{
    size_t r = core_batch_add_row(b);
    text(b, r, CP_OHLCV_EXCHANGE, "binance");
    text(b, r, CP_OHLCV_SYMBOL, sym);
    text(b, r, CP_OHLCV_NATIVE_SYMBOL, "X");
    text(b, r, CP_OHLCV_INTERVAL, iv);
    core_batch_set_int(b, r, CP_OHLCV_OPEN_TIME, t);
    core_batch_set_int(b, r, CP_OHLCV_CLOSE_TIME, t + 59999);
    for (size_t c = CP_OHLCV_OPEN; c <= CP_OHLCV_CLOSE; c++)
        text(b, r, c, close);
    text(b, r, CP_OHLCV_VOLUME, "1.50");
    core_batch_set_int(b, r, CP_OHLCV_RECEIVED_AT, t + 60000);
}

static double num(const char *sym, const char *iv, const char *col, int64_t *ts)
{
    const char *series[] = {"binance", sym, iv};
    double v = -1;
    return core_latest_number("ohlcv", series, 3, col, &v, ts) ? v : -1;
}

static void newest_per_series(void **state)
{
    (void)state;
    core_latest_reset();
    cp_batch *b = core_batch_new(&cp_ohlcv_schema, 8);
    candle(b, "BTC-USDT", "1m", 60000, "100.5");
    candle(b, "BTC-USDT", "1m", 120000, "101.25");
    candle(b, "BTC-USDT", "1h", 0, "99");
    candle(b, "ETH-USDT", "1m", 120000, "7.000");
    uint64_t before = core_latest_seq();
    core_latest_update("p1", b);
    core_batch_unref(b);
    assert_true(core_latest_seq() > before);
    int64_t ts = 0;
    assert_true(num("BTC-USDT", "1m", "close", &ts) == 101.25);
    assert_int_equal(ts, 120000);
    assert_true(num("BTC-USDT", "1h", "close", NULL) == 99);
    assert_true(num("ETH-USDT", "1m", "close", NULL) == 7);
    assert_true(num("ETH-USDT", "1m", "nope", NULL) == -1);
    assert_true(num("SOL-USDT", "1m", "close", NULL) == -1);

    cp_buf out = {0};
    uint64_t seq = 0;
    assert_int_equal(core_latest_json(&out, "ohlcv", NULL, 0, &seq), 3);
    assert_int_equal(seq, core_latest_seq());
    assert_non_null(strstr(out.p, "{\"pipeline\":\"p1\",\"stream\":\"ohlcv\","));
    assert_non_null(strstr(out.p, "\"ts\":120000,\"row\":{\"exchange\":\"binance\",\"symbol\":\"ETH-USDT\","));
    assert_non_null(strstr(out.p, "\"close\":7.000,\"volume\":1.50,")); /* exact decimal text */
    assert_null(strstr(out.p, "\"close\":100.5")); /* the older row of the run is gone */
    out.len = 0;
    assert_int_equal(core_latest_json(&out, NULL, "ETH-USDT", 0, NULL), 1);
    out.len = 0;
    assert_int_equal(core_latest_json(&out, "ticker", NULL, 0, NULL), 0);
    assert_string_equal(out.p, "[]");

    /* an older candle (a backfill) does not replace the newer one; a newer one does, and only
     * it is reported as changed since the sequence seen */
    b = core_batch_new(&cp_ohlcv_schema, 2);
    candle(b, "BTC-USDT", "1m", 0, "50");
    core_latest_update("p1", b);
    core_batch_unref(b);
    assert_true(num("BTC-USDT", "1m", "close", NULL) == 101.25);
    b = core_batch_new(&cp_ohlcv_schema, 2);
    candle(b, "BTC-USDT", "1m", 180000, "102");
    core_latest_update("p2", b);
    core_batch_unref(b);
    assert_true(num("BTC-USDT", "1m", "close", NULL) == 102);
    out.len = 0;
    assert_int_equal(core_latest_json(&out, NULL, NULL, seq, NULL), 1);
    assert_non_null(strstr(out.p, "\"pipeline\":\"p2\""));
    cp_buf_free(&out);
    core_latest_reset();
}

static void trades_keyed_by_symbol(void **state)
{
    (void)state;
    core_latest_reset();
    cp_batch *b = core_batch_new(&cp_trade_schema, 4);
    const char *ids[] = {"7", "8", "9"};
    for (int i = 0; i < 3; i++) {
        size_t r = core_batch_add_row(b);
        text(b, r, CP_TRADE_EXCHANGE, "binance");
        text(b, r, CP_TRADE_SYMBOL, "BTC-USDT");
        text(b, r, CP_TRADE_TRADE_ID, ids[i]);
        core_batch_set_int(b, r, CP_TRADE_TS, 1000 + i);
        text(b, r, CP_TRADE_PRICE, i == 2 ? "3" : "1");
        text(b, r, CP_TRADE_SIZE, "0.1");
        text(b, r, CP_TRADE_SIDE, "buy\"\n"); /* escaped in JSON */
    }
    core_latest_update("t", b);
    core_batch_unref(b);
    const char *series[] = {"binance", "BTC-USDT"};
    double v = 0;
    assert_true(core_latest_number("trade", series, 2, "price", &v, NULL));
    assert_true(v == 3);
    /* what plugins call (cp_latest_value through the host table, since ABI 2.0) */
    cp_ctx ctx = {.host = &core_host};
    int64_t ts = 0;
    v = 0;
    assert_true(cp_latest_value(&ctx, "trade", series, 2, "price", &v, &ts));
    assert_true(v == 3);
    assert_int_equal(ts, 1002);
    assert_false(cp_latest_value(&ctx, "trade", series, 2, "side", &v, NULL)); /* not a number */
    assert_false(cp_latest_value(&ctx, "trade", series, 1, "price", &v, NULL)); /* not a series */
    cp_host old = core_host;
    old.size = offsetof(cp_host, latest_value); /* a core older than 2.0 */
    ctx.host = &old;
    assert_false(cp_latest_value(&ctx, "trade", series, 2, "price", &v, NULL));
    cp_buf out = {0};
    assert_int_equal(core_latest_json(&out, "trade", NULL, 0, NULL), 1);
    assert_non_null(strstr(out.p, "\"side\":\"buy\\\"\\u000a\""));
    assert_non_null(strstr(out.p, "\"native_symbol\":null"));
    cp_buf_free(&out);
    core_latest_reset();
}

/* A series is its texts, however they are stored: a text shared with the row above, an equal
 * copy further down (the rows of another series between) and NULL in two rows all match. */
static void series_by_text(void **state)
{
    (void)state;
    core_latest_reset();
    cp_batch *b = core_batch_new(&cp_ohlcv_schema, 8);
    candle(b, "BTC-USDT", "1m", 60000, "1");
    candle(b, "BTC-USDT", "1m", 120000, "2"); /* shares the row above's texts */
    candle(b, "ETH-USDT", "1m", 60000, "3");
    candle(b, "BTC-USDT", "1m", 180000, "4"); /* a copy of the texts: newest of BTC */
    candle(b, "BTC-USDT", "1m", 90000, "5");  /* older: not taken */
    candle(b, "BTC-USDT", "1h", 0, "6");      /* another interval, another series */
    candle(b, "BTC-USDTX", "1m", 240000, "7"); /* a longer symbol with the same start */
    candle(b, "SOL-USDT", "1m", 60000, "8");
    candle(b, "SOL-USDT", "1m", 120000, "9");
    size_t r = core_batch_add_row(b); /* no symbol, twice: one series */
    text(b, r, CP_OHLCV_EXCHANGE, "binance");
    text(b, r, CP_OHLCV_INTERVAL, "1m");
    core_batch_set_int(b, r, CP_OHLCV_OPEN_TIME, 60000);
    text(b, r, CP_OHLCV_CLOSE, "10");
    r = core_batch_add_row(b);
    text(b, r, CP_OHLCV_EXCHANGE, "binance");
    text(b, r, CP_OHLCV_INTERVAL, "1m");
    core_batch_set_int(b, r, CP_OHLCV_OPEN_TIME, 120000);
    text(b, r, CP_OHLCV_CLOSE, "11");
    uint64_t before = core_latest_seq();
    core_latest_update("p", b);
    core_batch_unref(b);
    assert_int_equal(core_latest_seq() - before, 6); /* one row taken per series, none twice */
    int64_t ts = 0;
    assert_true(num("BTC-USDT", "1m", "close", &ts) == 4);
    assert_int_equal(ts, 180000);
    assert_true(num("ETH-USDT", "1m", "close", NULL) == 3);
    assert_true(num("BTC-USDT", "1h", "close", NULL) == 6);
    assert_true(num("BTC-USDTX", "1m", "close", NULL) == 7);
    assert_true(num("SOL-USDT", "1m", "close", NULL) == 9);
    cp_buf out = {0};
    assert_int_equal(core_latest_series(&out), 6);
    assert_non_null(strstr(out.p, "\"symbol\":null"));
    out.len = 0;
    assert_int_equal(core_latest_json(&out, "ohlcv", NULL, 0, NULL), 6);
    assert_non_null(strstr(out.p, "\"close\":11,")); /* the newer of the two rows without a symbol */
    assert_null(strstr(out.p, "\"close\":10,"));
    assert_null(strstr(out.p, "\"close\":5,"));
    cp_buf_free(&out);
    core_latest_reset();
}

/* Past 64 series in a batch the others' rows are taken one by one; runs of one series go with
 * the series of the row above whichever way it was taken. A time before 1970 renders as a
 * negative number, a series keeps its one description over updates. */
static void many_series_runs(void **state)
{
    (void)state;
    core_latest_reset();
    cp_batch *b = core_batch_new(&cp_ohlcv_schema, 256);
    char sym[16];
    for (int s = 0; s < 70; s++) {
        snprintf(sym, sizeof sym, "S%02d-USDT", s);
        static const int64_t t[3] = {60000, 180000, 120000}; /* a run: its middle row is the newest */
        for (int i = 0; i < 3; i++)
            candle(b, sym, "1m", t[i], i == 1 ? "2" : "1");
    }
    candle(b, "S00-USDT", "1m", 240000, "3"); /* the first series again, newest */
    candle(b, "S69-USDT", "1m", 30000, "4");  /* the last one again, older: not taken */
    core_latest_update("p", b);
    core_batch_unref(b);
    int64_t ts = 0;
    assert_true(num("S00-USDT", "1m", "close", &ts) == 3);
    assert_int_equal(ts, 240000);
    for (int s = 1; s < 70; s++) {
        snprintf(sym, sizeof sym, "S%02d-USDT", s);
        assert_true(num(sym, "1m", "close", &ts) == 2);
        assert_int_equal(ts, 180000);
    }
    b = core_batch_new(&cp_ohlcv_schema, 2);
    candle(b, "OLD-USDT", "1m", -60000, "5");
    candle(b, "S01-USDT", "1m", 300000, "6");
    core_latest_update("p", b);
    core_batch_unref(b);
    cp_buf out = {0};
    assert_int_equal(core_latest_json(&out, "ohlcv", "OLD-USDT", 0, NULL), 1);
    assert_non_null(strstr(out.p, "\"ts\":-60000,\"row\":{"));
    out.len = 0;
    assert_int_equal(core_latest_series(&out), 71);
    const char *one = "{\"stream\":\"ohlcv\",\"exchange\":\"binance\",\"symbol\":\"S01-USDT\",\"interval\":\"1m\"}";
    const char *at = strstr(out.p, one);
    assert_non_null(at);
    assert_null(strstr(at + 1, one));
    cp_buf_free(&out);
    core_latest_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(newest_per_series),
        cmocka_unit_test(trades_keyed_by_symbol),
        cmocka_unit_test(series_by_text),
        cmocka_unit_test(many_series_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
