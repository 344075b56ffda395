/* What every SQL sink's candle callbacks (stored_series, candle_gaps; ABI 1.1) must report,
 * checked against a sink instance through the real loader. Shared by test_gaps (sqlite) and
 * test_gaps_postgresql.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_GAPS_FIXTURES_H
#define COINPIPE_GAPS_FIXTURES_H

#include "testkit.h"

#include <coinpipe/streams.h>

#include <stdio.h>
#include <string.h>

#define GX_T0 1704067200000LL /* 2024-01-01T00:00:00Z */
#define GX_M 60000LL

static inline void gx_candle(cp_batch *b, const char *ex, const char *sym, const char *native, const char *iv,
                             int64_t open_time)
{
    const cp_host *h = tk_host();
    size_t r = h->batch_add_row(b);
    h->batch_set_string(b, r, CP_OHLCV_EXCHANGE, ex, strlen(ex));
    h->batch_set_string(b, r, CP_OHLCV_SYMBOL, sym, strlen(sym));
    h->batch_set_string(b, r, CP_OHLCV_NATIVE_SYMBOL, native, strlen(native));
    h->batch_set_string(b, r, CP_OHLCV_INTERVAL, iv, strlen(iv));
    h->batch_set_int(b, r, CP_OHLCV_OPEN_TIME, open_time);
    h->batch_set_int(b, r, CP_OHLCV_CLOSE_TIME, open_time + 59999);
    assert_int_equal(h->batch_set_decimal(b, r, CP_OHLCV_CLOSE, "1.5", 3), CP_OK);
    h->batch_set_int(b, r, CP_OHLCV_RECEIVED_AT, open_time + 60000);
}

/* binance BTC-USDT 1m at minutes 0 1 2 5 6 9 (holes 3-4 and 7-8), in two batches out of order;
 * binance BTC-USDT 5m, binance ETH-USDT 1m and coinbase BTC-USD 1m without holes */
static inline void gx_write_series(tk_instance *t)
{
    cp_batch *b = tk_batch_new(&cp_ohlcv_schema);
    static const int late[] = {9, 5, 6};
    for (size_t i = 0; i < 3; i++)
        gx_candle(b, "binance", "BTC-USDT", "BTCUSDT", "1m", GX_T0 + late[i] * GX_M);
    for (int i = 0; i < 3; i++) {
        gx_candle(b, "coinbase", "BTC-USD", "BTC-USD", "1m", GX_T0 + i * GX_M);
        gx_candle(b, "binance", "ETH-USDT", "ETHUSDT", "1m", GX_T0 + i * GX_M);
        gx_candle(b, "binance", "BTC-USDT", "BTCUSDT", "5m", GX_T0 + i * 5 * GX_M);
    }
    assert_int_equal(tk_write(t, b), CP_OK);
    tk_batch_free(b);
    b = tk_batch_new(&cp_ohlcv_schema);
    for (int i = 0; i < 3; i++)
        gx_candle(b, "binance", "BTC-USDT", "BTCUSDT", "1m", GX_T0 + i * GX_M);
    assert_int_equal(tk_write(t, b), CP_OK);
    tk_batch_free(b);
}

/* what the callbacks reported, one line per call */
typedef struct gx_log {
    char text[4096];
    int calls, stop_after; /* the callback returns false after `stop_after` calls (0 = never) */
} gx_log;

static inline bool gx_series_cb(void *user, const cp_series *s)
{
    gx_log *l = user;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s %s %s %s\n", s->exchange, s->symbol, s->interval,
             s->native_symbol ? s->native_symbol : "(null)");
    return ++l->calls != l->stop_after;
}

/* a time as minutes after GX_T0, or MIN / MAX for the open edges */
static inline void gx_minutes(int64_t t, char *buf, size_t len)
{
    if (t == INT64_MIN || t == INT64_MAX)
        snprintf(buf, len, "%s", t == INT64_MIN ? "MIN" : "MAX");
    else
        snprintf(buf, len, "%lld", (long long)((t - GX_T0) / GX_M));
}

static inline bool gx_gap_cb(void *user, int64_t before, int64_t after)
{
    gx_log *l = user;
    size_t n = strlen(l->text);
    char a[32], b[32];
    gx_minutes(before, a, sizeof a);
    gx_minutes(after, b, sizeof b);
    snprintf(l->text + n, sizeof l->text - n, "%s-%s ", a, b);
    return ++l->calls != l->stop_after;
}

static inline const char *gx_series(tk_instance *t, int stop_after, cp_status want)
{
    static gx_log l;
    memset(&l, 0, sizeof l);
    l.stop_after = stop_after;
    const cp_plugin *d = tk_plugin(t);
    assert_non_null(d->stored_series);
    assert_int_equal(d->stored_series(tk_instance_data(t), tk_ctx(t), gx_series_cb, &l), want);
    return l.text;
}

/* gap events of one series in minutes from GX_T0: "MIN-0 2-5 6-9 9-MAX " */
static inline const char *gx_gaps(tk_instance *t, const char *ex, const char *sym, const char *iv,
                                  int64_t step, int64_t from, int64_t to, int stop_after)
{
    static gx_log l;
    memset(&l, 0, sizeof l);
    l.stop_after = stop_after;
    const cp_plugin *d = tk_plugin(t);
    assert_non_null(d->candle_gaps);
    cp_series s = CP_SERIES(.exchange = ex, .symbol = sym, .interval = iv);
    assert_int_equal(d->candle_gaps(tk_instance_data(t), tk_ctx(t), &s, step, from, to, gx_gap_cb, &l),
                     CP_OK);
    return l.text;
}

/* the whole contract, on a sink whose ohlcv table does not exist yet */
static inline void gx_check_sink(tk_instance *t)
{
    /* no table: no series, no candles, no error */
    assert_string_equal(gx_series(t, 0, CP_OK), "");
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "1m", GX_M, INT64_MIN, INT64_MAX, 0), "");

    gx_write_series(t);
    /* every series once, in key order, with its native symbol */
    assert_string_equal(gx_series(t, 0, CP_OK), "binance BTC-USDT 1m BTCUSDT\n"
                                                "binance BTC-USDT 5m BTCUSDT\n"
                                                "binance ETH-USDT 1m ETHUSDT\n"
                                                "coinbase BTC-USD 1m BTC-USD\n");
    assert_string_equal(gx_series(t, 2, CP_OK), "binance BTC-USDT 1m BTCUSDT\nbinance BTC-USDT 5m BTCUSDT\n");

    /* first, each hole, last */
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "1m", GX_M, INT64_MIN, INT64_MAX, 0),
                        "MIN-0 2-5 6-9 9-MAX ");
    /* a range: its own first and last, only the holes inside it */
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "1m", GX_M, GX_T0 + GX_M, GX_T0 + 6 * GX_M, 0),
                        "MIN-1 2-5 5-MAX ");
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "1m", GX_M, GX_T0 + 3 * GX_M, GX_T0 + 5 * GX_M, 0),
                        "");
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "1m", GX_M, GX_T0 + 9 * GX_M, INT64_MAX, 0),
                        "MIN-9 9-MAX ");
    /* only steps larger than step_ms are holes */
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "1m", 3 * GX_M, INT64_MIN, INT64_MAX, 0),
                        "MIN-0 9-MAX ");
    /* the series is the whole key: the 5m candles and the other symbols are not mixed in */
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "5m", 5 * GX_M, INT64_MIN, INT64_MAX, 0),
                        "MIN-0 10-MAX ");
    assert_string_equal(gx_gaps(t, "binance", "ETH-USDT", "1m", GX_M, INT64_MIN, INT64_MAX, 0),
                        "MIN-0 2-MAX ");
    assert_string_equal(gx_gaps(t, "binance", "XRP-USDT", "1m", GX_M, INT64_MIN, INT64_MAX, 0), "");
    /* the callback ends the report */
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "1m", GX_M, INT64_MIN, INT64_MAX, 2), "MIN-0 2-5 ");
    /* the reading instance can still write */
    cp_batch *b = tk_batch_new(&cp_ohlcv_schema);
    gx_candle(b, "binance", "BTC-USDT", "BTCUSDT", "1m", GX_T0 + 3 * GX_M);
    gx_candle(b, "binance", "BTC-USDT", "BTCUSDT", "1m", GX_T0 + 4 * GX_M);
    assert_int_equal(tk_write(t, b), CP_OK);
    tk_batch_free(b);
    assert_string_equal(gx_gaps(t, "binance", "BTC-USDT", "1m", GX_M, INT64_MIN, INT64_MAX, 0),
                        "MIN-0 6-9 9-MAX ");
}

#endif
