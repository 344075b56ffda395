/* Tests of the Binance stream mode's message path (common/binance_ws.c) with a pinned clock, its
 * rows written by the real sqlite sink.
 * SPDX-License-Identifier: MIT
 *
 * book_top's key is (exchange, symbol, ts) with ts in milliseconds: spot's bookTicker carries no
 * time, so ts is the receive clock, and futures' event time E repeats as well. Several updates of
 * one symbol within a millisecond, interleaved with other symbols', must leave one row per
 * (symbol, ms) in a micro-batch, with the last update's values, and the next micro-batch's update
 * of the same millisecond must win in the table.
 */
#include "sqlite_read.h"
#include "testkit.h"

#include "common/binance.h"

#include <stdio.h>
#include <string.h>

#define T0 1767225600123LL

static const bn_api spot = {"binance", "/api/v3", false};
static const bn_api fut = {"binance-futures", "/fapi/v1", true};
static bn_sym syms[] = {{"BTCUSDT", "BTC-USDT"}, {"ETHUSDT", "ETH-USDT"}};
static bn_cfg cfg = {.depth = 5, .kline_interval = "1m"};
static char g_path[512];

static bn make_bn(const bn_api *api)
{
    bn b = {.cfg = &cfg,
            .api = api,
            .interval_ms = 60000,
            .n = 2,
            .sym = syms,
            .resolved = true,
            .base = "http://127.0.0.1:9"};
    b.want[BN_ST_BOOK_TOP] = true;
    return b;
}

/* a bookTicker as the combined stream brings it; E < 0: none (spot) */
static void send_top(bn_live *lv, const char *sym, int64_t u, const char *bid, int64_t e)
{
    char m[512], lower[16];
    size_t i = 0;
    for (; sym[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)(sym[i] >= 'A' && sym[i] <= 'Z' ? sym[i] + 32 : sym[i]);
    lower[i] = 0;
    char ev[128] = "";
    if (e >= 0)
        snprintf(ev, sizeof ev, "\"e\":\"bookTicker\",\"E\":%lld,\"T\":%lld,", (long long)e,
                 (long long)e - 1);
    int n = snprintf(
        m, sizeof m,
        "{\"stream\":\"%s@bookTicker\",\"data\":{%s\"u\":%lld,\"s\":\"%s\",\"b\":\"%s\",\"B\":\"1.5\","
        "\"a\":\"99999.9\",\"A\":\"2.5\"}}",
        lower, ev, (long long)u, sym, bid);
    bn_live_message(lv, m, (size_t)n);
}

/* the batch's (symbol, ts) pairs are all distinct */
static void assert_unique_keys(cp_ctx *ctx, const cp_batch *b)
{
    size_t n = cp_batch_rows(ctx, b);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_false(!strcmp(tk_text(b, i, "symbol"), tk_text(b, j, "symbol")) &&
                         tk_int(b, i, "ts") == tk_int(b, j, "ts"));
}

/* Interleaved symbols, several updates each within one millisecond, in two micro-batches. */
static void interleaved(const bn_api *api, const char *sub)
{
    snprintf(g_path, sizeof g_path, "%s/%s.db", tk_tmpdir(), sub);
    char conf[600];
    snprintf(conf, sizeof conf, "path = \"%s\";", g_path);
    tk_instance *sink = tk_create("sqlite", conf);
    cp_ctx *ctx = tk_ctx(sink);
    bn b = make_bn(api);
    int64_t e = api->futures ? T0 - 40 : -1; /* futures: one event time for all; spot: the clock */
    tk_pin_clock(T0);

    bn_live *lv = bn_live_new(&b, ctx);
    assert_non_null(lv);
    send_top(lv, "BTCUSDT", 1, "100.1", e);
    send_top(lv, "ETHUSDT", 2, "200.2", e);
    send_top(lv, "BTCUSDT", 3, "100.3", e);
    send_top(lv, "ETHUSDT", 4, "200.4", e);
    send_top(lv, "BTCUSDT", 5, "100.5", e);
    send_top(lv, "BTCUSDT", 6, "bad", e); /* refused: it must not replace update 5 */
    tk_pin_clock(T0 + 1);                 /* the next millisecond: a row of its own (spot) */
    send_top(lv, "ETHUSDT", 7, "200.7", api->futures ? e + 1 : -1);
    cp_batch *out = bn_live_rows(lv, BN_ST_BOOK_TOP);
    assert_int_equal(cp_batch_rows(ctx, out), 3);
    assert_unique_keys(ctx, out);
    assert_int_equal(tk_write(sink, out), CP_OK);
    bn_live_free(lv);

    /* the next micro-batch brings one more update of BTCUSDT's millisecond: it wins */
    tk_pin_clock(T0);
    lv = bn_live_new(&b, ctx);
    assert_non_null(lv);
    send_top(lv, "BTCUSDT", 8, "100.8", e);
    assert_int_equal(tk_write(sink, bn_live_rows(lv, BN_ST_BOOK_TOP)), CP_OK);
    bn_live_free(lv);
    tk_pin_clock(0);
    tk_destroy(sink);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int64_t ts = api->futures ? T0 - 40 : T0;
    char sql[300];
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM book_top"), 3);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM (SELECT DISTINCT symbol, ts FROM book_top)"), 3);
    snprintf(sql, sizeof sql, "SELECT sequence FROM book_top WHERE symbol = 'BTC-USDT' AND ts = %lld",
             (long long)ts);
    assert_int_equal(scalar_int(db, sql), 8);
    snprintf(sql, sizeof sql, "SELECT bid = 100.8 FROM book_top WHERE symbol = 'BTC-USDT' AND ts = %lld",
             (long long)ts);
    assert_int_equal(scalar_int(db, sql), 1);
    snprintf(sql, sizeof sql, "SELECT sequence FROM book_top WHERE symbol = 'ETH-USDT' AND ts = %lld",
             (long long)ts);
    assert_int_equal(scalar_int(db, sql), 4);
    snprintf(sql, sizeof sql, "SELECT bid = 200.4 FROM book_top WHERE symbol = 'ETH-USDT' AND ts = %lld",
             (long long)ts);
    assert_int_equal(scalar_int(db, sql), 1);
    snprintf(sql, sizeof sql, "SELECT sequence FROM book_top WHERE symbol = 'ETH-USDT' AND ts = %lld",
             (long long)ts + 1);
    assert_int_equal(scalar_int(db, sql), 7);
    sqlite3_close(db);
}

static void test_spot_book_top_last_of_ms(void **state)
{
    (void)state;
    interleaved(&spot, "spot");
}

static void test_futures_book_top_last_of_event_time(void **state)
{
    (void)state;
    interleaved(&fut, "futures");
}

/* Many milliseconds of interleaved updates: the batch's text storage grows while rows are copied
 * over earlier ones (a copy must not read text the growth moved; ASan tree) */
static void test_many_milliseconds(void **state)
{
    (void)state;
    tk_instance *sink = tk_create("sqlite", "path = \":memory:\";");
    bn b = make_bn(&spot);
    bn_live *lv = bn_live_new(&b, tk_ctx(sink));
    assert_non_null(lv);
    char bid[32];
    for (int k = 0; k < 2000; k++) {
        tk_pin_clock(T0 + k);
        snprintf(bid, sizeof bid, "%d.25", 1000 + k);
        send_top(lv, "BTCUSDT", 3 * k, "1.5", -1);
        send_top(lv, "ETHUSDT", 3 * k + 1, "2.5", -1);
        send_top(lv, "BTCUSDT", 3 * k + 2, bid, -1);
    }
    tk_pin_clock(0);
    const cp_batch *out = bn_live_rows(lv, BN_ST_BOOK_TOP);
    assert_int_equal(cp_batch_rows(tk_ctx(sink), out), 4000);
    for (int k = 0; k < 2000; k++) {
        snprintf(bid, sizeof bid, "%d.25", 1000 + k);
        tk_assert_text(out, 2 * (size_t)k, "bid", bid);
        assert_int_equal(tk_int(out, 2 * (size_t)k, "sequence"), 3 * k + 2);
        assert_int_equal(tk_int(out, 2 * (size_t)k + 1, "sequence"), 3 * k + 1);
    }
    bn_live_free(lv);
    tk_destroy(sink);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spot_book_top_last_of_ms),
        cmocka_unit_test(test_futures_book_top_last_of_event_time),
        cmocka_unit_test(test_many_milliseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
