/* binance-spot source and the HTTP service against the mock exchange: values, retries, bans, bad bodies, OHLCV, backfill.
 * SPDX-License-Identifier: MIT
 */
#include "core/util.h"
#include "testkit.h"
#include "mockex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char cfgbuf[2048];

static const char *spot_cfg(const char *extra)
{
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"BNBBTC\", \"ETH-BTC\"]; %s", mockex_base, extra);
    return cfgbuf;
}

static void test_values(void **state)
{
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ticker\", \"book_top\", \"book_level\", "
                                                        "\"trade\"]; depth = 2;"));
    assert_int_equal(tk_collect(t), CP_OK);
    const cp_batch *b = tk_find(t, "ticker", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    tk_assert_text(b, 0, "exchange", "binance");
    tk_assert_text(b, 0, "symbol", "BNB-BTC");
    tk_assert_text(b, 0, "native_symbol", "BNBBTC");
    mockex_assert_binance_ticker(b, 0, true);
    tk_assert_text(b, 1, "symbol", "ETH-BTC");
    tk_assert_text(b, 1, "native_symbol", "ETHBTC");

    b = tk_find(t, "book_top", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "book_top"), 2);
    size_t r = tk_row_where(b, "native_symbol", "BNBBTC"); /* rows in the order responses arrive */
    tk_assert_text(b, r, "exchange", "binance");
    assert_int_equal(tk_int(b, r, "ts"), tk_int(b, r, "received_at")); /* spot depth has no time */
    assert_int_equal(tk_int(b, r, "sequence"), 1027024);
    tk_assert_text(b, r, "bid", "4.00000000");
    tk_assert_text(b, r, "bid_size", "431.00000000");
    tk_assert_text(b, r, "ask", "4.00000200");
    tk_assert_text(b, r, "ask_size", "12.00000000");
    assert_int_equal(tk_int(b, r, "levels"), 2);

    b = tk_find(t, "book_level", 0);
    assert_int_equal(tk_rows(t, "book_level"), 8);
    tk_assert_text(b, 1, "side", "bid");
    assert_int_equal(tk_int(b, 1, "level"), 1);
    tk_assert_text(b, 1, "price", "3.99000000");
    tk_assert_text(b, 1, "size", "9.00000000");
    tk_assert_text(b, 3, "side", "ask");
    tk_assert_text(b, 3, "price", "4.00000300");
    tk_assert_text(b, 3, "size", "0.50000000");
    assert_int_equal(tk_int(b, 3, "sequence"), 1027024);

    b = tk_find(t, "trade", 0);
    assert_int_equal(tk_rows(t, "trade"), 4);
    tk_assert_text(b, 0, "trade_id", "28457");
    assert_int_equal(tk_int(b, 0, "ts"), 1499865549590LL);
    tk_assert_text(b, 0, "price", "4.00000100");
    tk_assert_text(b, 0, "size", "12.00000000");
    tk_assert_text(b, 0, "quote_size", "48.000012");
    tk_assert_text(b, 0, "side", "sell"); /* isBuyerMaker true: the taker sold */
    tk_assert_text(b, 1, "side", "buy");
    tk_assert_text(b, 0, "symbol", tk_text(b, 1, "symbol")); /* one response's rows stay together */
    tk_row_where(b, "symbol", "BNB-BTC");

    /* one ticker request for both symbols, with the URL-encoded symbols array */
    assert_int_equal(mockex_count("/api/v3/ticker/24hr"), 1);
    char *q = mockex_query("/api/v3/ticker/24hr", 0);
    assert_string_equal(q, "symbols=%5B%22BNBBTC%22%2C%22ETHBTC%22%5D");
    free(q);
    tk_destroy(t);
}

/* A bad value drops its row only: NaN, a number beyond a double (1e400), integers beyond int64
 * either way and a repeated key are errors naming the field; the good rows are stored. */
static void test_bad_values(void **state)
{
    (void)state;
    mockex_ctl("/_mock/fault?path=/api/v3/ticker/24hr&kind=fixture&file=bad_values/binance_ticker_24hr.json");
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ticker\"];"));
    assert_int_equal(tk_collect(t), CP_OK); /* the cycle does not fail for a bad row */
    const cp_batch *b = tk_find(t, "ticker", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    tk_assert_text(b, 0, "native_symbol", "BNBBTC");
    mockex_assert_binance_ticker(b, 0, true);
    tk_assert_text(b, 1, "native_symbol", "ETHBTC"); /* the good row after the bad ones */
    assert_int_equal(tk_int(b, 1, "ts"), 1499869899041LL);
    tk_assert_log_contains("ticker/24hr ETHBTC: field 'lastPrice': not a finite decimal number; row dropped");
    tk_assert_log_contains("ticker/24hr ETHBTC: field 'volume': not a finite decimal number; row dropped");
    tk_assert_log_contains("ticker/24hr ETHBTC: field 'count': integer out of range; row dropped");
    tk_assert_log_contains("ticker/24hr ETHBTC: field 'highPrice': duplicate key; row dropped");
    tk_assert_log_contains("ticker/24hr ETHBTC: field 'openTime': integer out of range; row dropped");
    tk_destroy(t);
}

/* A repeated key whose value is structure is named, with where it is, and the response refused:
 * "symbols" twice in exchangeInfo (which listing is the exchange's?), "bids" twice in a book. */
static void test_duplicate_outer_key(void **state)
{
    (void)state;
    mockex_ctl("/_mock/fault?path=/api/v3/exchangeInfo&kind=fixture&file=bad_values/binance_exchangeInfo_dup.json");
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ticker\"];"));
    assert_int_equal(tk_collect(t), CP_ERR_PARSE);
    tk_assert_log_contains("exchangeInfo: duplicate key 'symbols' in the object at $; response ignored");
    assert_int_equal(tk_emitted_count(t), 0);
    assert_int_equal(tk_collect(t), CP_OK); /* the next cycle validates again */
    tk_destroy(t);

    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=fixture&file=bad_values/binance_depth_dup.json");
    t = tk_create("binance-spot", spot_cfg("streams = [\"book_top\"];"));
    tk_log_clear();
    tk_collect(t);
    /* the two books are asked for at once: the fault answers whichever request arrives first */
    const char *bad = strstr(tk_log(), "depth BNBBTC: duplicate key") ? "BNBBTC" : "ETHBTC";
    const char *good = strcmp(bad, "BNBBTC") == 0 ? "ETHBTC" : "BNBBTC";
    char want[128];
    snprintf(want, sizeof want, "depth %s: duplicate key 'bids' in the object at $; response ignored", bad);
    tk_assert_log_contains(want);
    assert_int_equal(tk_rows(t, "book_top"), 1); /* the other symbol's book only */
    tk_assert_text(tk_find(t, "book_top", 0), 0, "native_symbol", good);
    tk_destroy(t);
}

/* exchangeInfo is read in place: an entry is taken by its "symbol", "baseAsset" and "quoteAsset"
 * strings (escapes resolved; the first entry naming a symbol wins; entries of other shapes are
 * passed over), the rest of the body only validated (members it does not read may repeat); a
 * repeated key it reads refuses the answer naming where; a body that is not JSON, or has no
 * "symbols" array, fails the cycle, and the next one reads exchangeInfo again */
static void test_exchange_info_forms(void **state)
{
    (void)state;
    mockex_ctl("/_mock/fault?path=/api/v3/exchangeInfo&kind=fixture&file=bad_values/binance_exchangeInfo_forms.json");
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ticker\"];"));
    assert_int_equal(tk_collect(t), CP_OK);
    const cp_batch *b = tk_find(t, "ticker", 0);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    tk_assert_text(b, tk_row_where(b, "native_symbol", "BNBBTC"), "symbol", "BNB-BTC");
    tk_assert_text(b, tk_row_where(b, "native_symbol", "ETHBTC"), "symbol", "ETH-BTC");
    tk_destroy(t);

    static const struct {
        const char *fault, *log;
    } bad[] = {
        {"kind=fixture&file=bad_values/binance_exchangeInfo_entry_dup.json",
         "exchangeInfo: duplicate key 'baseAsset' in the object at $.symbols[1]; response ignored"},
        {"kind=fixture&file=bad_values/binance_exchangeInfo_trailing.json",
         "exchangeInfo: trailing data after the JSON value at byte 71; response ignored"},
        {"kind=malformed", "exchangeInfo: malformed or truncated JSON"},
        {"kind=truncate", "exchangeInfo: malformed or truncated JSON"},
        {"kind=empty", "exchangeInfo: no symbols array; will retry next cycle"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char path[200];
        snprintf(path, sizeof path, "/_mock/fault?path=/api/v3/exchangeInfo&%s", bad[k].fault);
        mockex_ctl(path);
        t = tk_create("binance-spot", spot_cfg("streams = [\"ticker\"];"));
        tk_log_clear();
        assert_int_equal(tk_collect(t), CP_ERR_PARSE);
        tk_assert_log_contains(bad[k].log);
        assert_int_equal(tk_emitted_count(t), 0);
        assert_int_equal(tk_collect(t), CP_OK); /* the next cycle validates again */
        assert_int_equal(tk_rows(t, "ticker"), 2);
        tk_destroy(t);
    }
}

/* exchangeInfo lists only the configured symbols (Binance's full listing is thousands), 100 a
 * request; a symbol Binance does not list makes the list answer 400: the full listing then */
static void test_exchange_info_of_the_configured_symbols(void **state)
{
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ticker\"];"));
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(mockex_count("/api/v3/exchangeInfo"), 1);
    char *q = mockex_query("/api/v3/exchangeInfo", 0);
    assert_string_equal(q, "symbols=%5B%22BNBBTC%22%2C%22ETHBTC%22%5D");
    free(q);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    tk_destroy(t);

    /* 150 symbols: two lists, 100 and 50 */
    mockex_ctl("/_mock/reset");
    cp_buf c = {0};
    cp_buf_printf(&c, "base_url = \"%s\"; streams = [\"ticker\"]; symbols = [", mockex_base);
    for (int i = 0; i < 150; i++)
        cp_buf_printf(&c, "%s\"SYM%03dUSDT\"", i ? ", " : "", i);
    cp_buf_puts(&c, "];");
    t = tk_create("binance-spot", c.p);
    cp_buf_free(&c);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(mockex_count("/api/v3/exchangeInfo"), 2);
    bool first = false, second = false; /* the two lists go out at once: either may arrive first */
    for (size_t k = 0; k < 2; k++) {
        q = mockex_query("/api/v3/exchangeInfo", k);
        assert_non_null(q);
        if (strstr(q, "SYM000USDT") && strstr(q, "SYM099USDT") && !strstr(q, "SYM100USDT"))
            first = true;
        if (strstr(q, "SYM100USDT") && strstr(q, "SYM149USDT") && !strstr(q, "SYM099USDT"))
            second = true;
        free(q);
    }
    assert_true(first && second);
    assert_int_equal(tk_rows(t, "ticker"), 150);
    tk_destroy(t);
}

static void test_unknown_symbol(void **state)
{
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"BNBBTC\", \"FOOBAR\"];", mockex_base);
    tk_instance *t = tk_create("binance-spot", cfgbuf);
    /* the unknown symbol is skipped with a warning; the others are collected */
    assert_int_equal(tk_collect(t), CP_OK);
    /* the list naming FOOBAR was refused (400), then the full listing read */
    assert_int_equal(mockex_count("/api/v3/exchangeInfo"), 2);
    char *q = mockex_query("/api/v3/exchangeInfo", 1);
    assert_string_equal(q, "");
    free(q);
    tk_assert_log_contains("unknown symbol \\\"FOOBAR\\\"");
    tk_assert_log_contains("skipped");
    assert_int_equal(tk_rows(t, "ticker"), 1);
    tk_assert_text(tk_find(t, "ticker", 0), 0, "native_symbol", "BNBBTC");
    assert_true(tk_rows(t, "book_top") == 1);
    tk_destroy(t);

    /* no symbol known at all: the cycle fails */
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"FOOBAR\"];", mockex_base);
    t = tk_create("binance-spot", cfgbuf);
    assert_int_equal(tk_collect(t), CP_ERR_CONFIG);
    tk_assert_log_contains("no configured symbol is listed");
    assert_int_equal(tk_emitted_count(t), 0);
    tk_destroy(t);
}

/* base_url is the host root; a value that already ends in /api/v3 (with or without a slash) works too */
static void test_base_url_with_api_path(void **state)
{
    (void)state;
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s/api/v3/\"; symbols = [\"BNBBTC\"]; streams = [\"ticker\"];",
             mockex_base);
    tk_instance *t = tk_create("binance-spot", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ticker"), 1);
    assert_int_equal(mockex_count("/api/v3/ticker/24hr"), 1);
    tk_destroy(t);
}

static void test_retry_5xx_and_429(void **state)
{
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"book_top\"];"));
    assert_int_equal(tk_collect(t), CP_OK); /* resolves symbols */
    mockex_ctl("/_mock/reset");
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=status&status=500&count=2&symbol=BNBBTC");
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=status&status=429&retry_after=1&count=1&symbol=ETHBTC");
    int64_t t0 = core_util_mono_ms();
    assert_int_equal(tk_collect(t), CP_OK);
    int64_t took = core_util_mono_ms() - t0;
    assert_int_equal(tk_rows(t, "book_top"), 4);
    assert_int_equal(mockex_count("/api/v3/depth"), 5); /* 3 for BNBBTC, 2 for ETHBTC */
    assert_true(took >= 1000);                          /* Retry-After: 1 honoured */
    tk_assert_log_contains("HTTP 500");
    tk_assert_log_contains("retry 2/4");

    /* bounded attempts; the final failure names host, path, status and the exchange's message */
    mockex_ctl("/_mock/reset");
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=unknown_symbol&count=1&symbol=BNBBTC");
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=status&status=503&count=-1&symbol=ETHBTC");
    tk_log_clear();
    tk_clear_emitted(t);
    assert_int_not_equal(tk_collect(t), CP_OK);
    assert_int_equal(mockex_count("/api/v3/depth"), 1 + 4);
    tk_assert_log_contains("127.0.0.1/api/v3/depth failed: HTTP 400 after 1 attempt: Invalid symbol. (code -1121)");
    tk_assert_log_contains("HTTP 503 after 4 attempts");
    assert_int_equal(tk_rows(t, "book_top"), 0);
    tk_destroy(t);
}

static void test_bad_bodies(void **state)
{
    const char *kinds[] = {"truncate", "malformed", "html", "empty"};
    for (size_t k = 0; k < 4; k++) {
        tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ticker\", \"book_top\"];"));
        char path[200];
        /* an HTML 502 is a 5xx: retried, so it must persist to reach the parser's caller */
        snprintf(path, sizeof path, "/_mock/fault?path=/api/v3/ticker/24hr&kind=%s&count=%d", kinds[k],
                 k == 2 ? -1 : 1);
        mockex_ctl(path);
        tk_log_clear();
        cp_status st = tk_collect(t);
        assert_int_equal(tk_rows(t, "ticker"), 0);   /* no partial rows */
        assert_int_equal(tk_rows(t, "book_top"), 2); /* the other stream is unaffected */
        if (k < 2) {
            assert_int_equal(st, CP_ERR_PARSE);
            tk_assert_log_contains("ticker/24hr: malformed or truncated JSON");
        } else if (k == 2) {
            assert_int_not_equal(st, CP_OK);
            tk_assert_log_contains("502 Bad Gateway");
        } else {
            assert_int_equal(st, CP_OK); /* an empty array is a valid answer with no rows */
        }
        tk_destroy(t);
        mockex_ctl("/_mock/reset");
    }
}

static void test_ban_418(void **state)
{
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ticker\"];"));
    assert_int_equal(tk_collect(t), CP_OK);
    mockex_ctl("/_mock/reset");
    mockex_ctl("/_mock/fault?path=/api/v3/ticker/24hr&kind=status&status=418&retry_after=2&count=1");
    tk_log_clear();
    assert_int_equal(tk_collect(t), CP_ERR_BANNED);
    assert_int_equal(tk_collect(t), CP_ERR_BANNED); /* fails fast: nothing sent */
    assert_int_equal(tk_collect(t), CP_ERR_BANNED);
    assert_int_equal(mockex_count("/api/v3/ticker/24hr"), 1);
    const char *log = tk_log();
    const char *first = strstr(log, "has banned this IP (HTTP 418)");
    assert_non_null(first);
    assert_null(strstr(first + 1, "has banned this IP")); /* said once */
    usleep(2100 * 1000); /* the 2 s ban, and a margin as in test_http: a ban is never cut short */
    assert_int_equal(tk_collect(t), CP_OK); /* the ban has passed */
    assert_int_equal(mockex_count("/api/v3/ticker/24hr"), 2);
    tk_destroy(t);
}

static int64_t kline_start(const char *q)
{
    const char *s = q ? strstr(q, "startTime=") : NULL;
    return s ? atoll(s + 10) : -1;
}

static void test_incremental_ohlcv(void **state)
{
    const int64_t m = 60000, t0 = 1767225600000LL + 30000; /* 2026-01-01T00:00:30Z */
    char ctl[128];
    snprintf(ctl, sizeof ctl, "/_mock/config?now_ms=%lld", (long long)t0);
    mockex_ctl(ctl);
    tk_pin_clock(t0);
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ohlcv\"]; warmup = 5;"));
    assert_int_equal(tk_collect(t), CP_OK);
    const cp_batch *b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_rows(t, "ohlcv"), 10); /* 5 closed candles per symbol, the open one held back */
    assert_int_equal(tk_int(b, 4, "open_time"), t0 - 30000 - m);
    assert_int_equal(tk_int(b, 4, "close_time"), t0 - 30000 - 1);
    tk_assert_text(b, 0, "interval", "1m");
    /* each series' candles together and in order, the series in the order they were asked for */
    tk_assert_text(b, 4, "symbol", "BNB-BTC");
    tk_assert_text(b, 5, "symbol", "ETH-BTC");
    tk_assert_text(b, 9, "symbol", "ETH-BTC");
    /* the mock's kline for open time T: k = (T / 60000) % 97, open 100+k, close +0.5 */
    int64_t ot = tk_int(b, 0, "open_time"), k = (ot / m) % 97;
    char want[32];
    snprintf(want, sizeof want, "%lld.00000000", (long long)(100 + k));
    tk_assert_text(b, 0, "open", want);
    snprintf(want, sizeof want, "%lld.50000000", (long long)(100 + k));
    tk_assert_text(b, 0, "close", want);
    snprintf(want, sizeof want, "%lld.50000000", (long long)(101 + k));
    tk_assert_text(b, 0, "high", want);
    snprintf(want, sizeof want, "%lld.00000000", (long long)(99 + k));
    tk_assert_text(b, 0, "low", want);
    snprintf(want, sizeof want, "%lld.00000000", (long long)(10 + k));
    tk_assert_text(b, 0, "volume", want);
    assert_int_equal(tk_int(b, 0, "trade_count"), 10 + k);
    int64_t last = t0 - 30000 - m;

    /* a missed hour: the next poll asks from the checkpoint and gets exactly the 60 missing candles */
    mockex_ctl("/_mock/reset");
    tk_clear_emitted(t);
    int64_t t1 = t0 + 60 * m;
    snprintf(ctl, sizeof ctl, "/_mock/config?now_ms=%lld", (long long)t1);
    mockex_ctl(ctl);
    tk_pin_clock(t1);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 120);
    b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 0, "open_time"), last + m);
    assert_int_equal(tk_int(b, 59, "open_time"), last + 60 * m);
    char *q = mockex_query("/api/v3/klines", 0);
    assert_int_equal(kline_start(q), last + m);
    free(q);

    /* nothing new: nothing emitted */
    tk_clear_emitted(t);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 0);
    tk_destroy(t);
    mockex_ctl("/_mock/config?now_ms=0");
    tk_pin_clock(0);
}

/* A long catch-up (pages of 1000) leaves in chunks while it runs; each series' candles arrive once,
 * in order, and its checkpoint is the newest closed candle. */
static void test_catch_up_in_chunks(void **state)
{
    const int64_t m = 60000, t0 = 1767225600000LL + 30000, behind = 3500;
    char ctl[128];
    snprintf(ctl, sizeof ctl, "/_mock/config?now_ms=%lld", (long long)t0);
    mockex_ctl(ctl);
    tk_pin_clock(t0);
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ohlcv\"];"));
    cp_ctx *ctx = tk_ctx(t);
    int64_t newest = t0 - 30000 - m; /* the last closed candle */
    char start[32];
    snprintf(start, sizeof start, "%lld", (long long)(newest - behind * m));
    assert_int_equal(cp_state_set(ctx, "ohlcv/BNBBTC/1m", start), CP_OK);
    assert_int_equal(cp_state_set(ctx, "ohlcv/ETHBTC/1m", start), CP_OK);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 2 * behind);
    assert_int_equal(mockex_count("/api/v3/klines"), 2 * 4); /* 1000, 1000, 1000, 500 */
    size_t batches = 0;
    int64_t prev[2] = {newest - behind * m, newest - behind * m};
    for (size_t i = 0; tk_find(t, "ohlcv", i); i++, batches++) {
        const cp_batch *b = tk_find(t, "ohlcv", i);
        assert_true(cp_batch_rows(ctx, b) <= 4096 + 1000); /* a chunk, not the cycle */
        for (size_t r = 0; r < cp_batch_rows(ctx, b); r++) {
            int s = strcmp(tk_text(b, r, "symbol"), "BNB-BTC") == 0 ? 0 : 1;
            assert_int_equal(tk_int(b, r, "open_time"), prev[s] + m);
            prev[s] += m;
        }
    }
    assert_true(batches >= 2);
    assert_int_equal(prev[0], newest);
    assert_int_equal(prev[1], newest);
    char *v = NULL;
    assert_int_equal(cp_state_get(ctx, "ohlcv/BNBBTC/1m", &v), CP_OK);
    assert_int_equal(atoll(v), newest);
    cp_free(ctx, v);
    tk_destroy(t);
    mockex_ctl("/_mock/config?now_ms=0");
    tk_pin_clock(0);
}

/* Responses are parsed in the order asked for, even when an earlier one comes last. */
static void test_rows_in_request_order(void **state)
{
    tk_instance *t = tk_create("binance-spot", spot_cfg("streams = [\"ohlcv\", \"book_top\"]; warmup = 3;"));
    mockex_ctl("/_mock/fault?path=/api/v3/klines&kind=slow&delay_ms=400&count=1&symbol=BNBBTC");
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=slow&delay_ms=200&count=1&symbol=BNBBTC");
    assert_int_equal(tk_collect(t), CP_OK);
    const cp_batch *b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_rows(t, "ohlcv"), 6);
    tk_assert_text(b, 0, "symbol", "BNB-BTC");
    tk_assert_text(b, 3, "symbol", "ETH-BTC");
    b = tk_find(t, "book_top", 0);
    tk_assert_text(b, 0, "symbol", "BNB-BTC");
    tk_assert_text(b, 1, "symbol", "ETH-BTC");
    tk_destroy(t);
}

/* symbols = ["top:N"]: TRADING symbols quoted in USDT by the quoteVolume of every symbol's 24 h ticker */
static void test_universe(void **state)
{
    (void)state;
    mockex_ctl("/_mock/config?binance_volume=SYM005USDT:900000000,SYM007USDT:800000000");
    tk_pin_clock(1767225600000LL);
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"top:2\"]; streams = [\"ticker\"]; "
                                    "universe_refresh = \"10m\";", mockex_base);
    tk_instance *t = tk_create("binance-spot", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("universe: 2 of top 2 by 24 h volume in USDT: added SYM005-USDT, SYM007-USDT; removed none");
    const cp_batch *b = tk_find(t, "ticker", 0);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    tk_assert_text(b, 0, "native_symbol", "SYM005USDT");
    tk_assert_text(b, 1, "native_symbol", "SYM007USDT");

    mockex_ctl("/_mock/config?binance_volume=SYM009USDT:2000000000");
    tk_pin_clock(1767225600000LL + 11 * 60000);
    tk_clear_emitted(t);
    tk_log_clear();
    assert_int_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("universe: 2 of top 2 by 24 h volume in USDT: added SYM009-USDT; removed SYM007-USDT");
    b = tk_find(t, "ticker", 0);
    tk_assert_text(b, 0, "native_symbol", "SYM009USDT");
    tk_assert_text(b, 1, "native_symbol", "SYM005USDT");
    tk_destroy(t);

    /* stream mode takes a list only */
    char *err = NULL;
    tk_instance *bad = NULL;
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; symbols = [\"top:2\"]; mode = \"stream\"; "
                                    "streams = [\"trade\"];", mockex_base);
    assert_int_not_equal(tk_try_create("binance-spot", cfgbuf, NULL, &bad, &err), CP_OK);
    assert_non_null(strstr(err, "mode = \\\"stream\\\" needs a list of symbols"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_values, mockex_test_setup),
        cmocka_unit_test_setup(test_exchange_info_of_the_configured_symbols, mockex_test_setup),
        cmocka_unit_test_setup(test_unknown_symbol, mockex_test_setup),
        cmocka_unit_test_setup(test_base_url_with_api_path, mockex_test_setup),
        cmocka_unit_test_setup(test_bad_values, mockex_test_setup),
        cmocka_unit_test_setup(test_duplicate_outer_key, mockex_test_setup),
        cmocka_unit_test_setup(test_exchange_info_forms, mockex_test_setup),
        cmocka_unit_test_setup(test_retry_5xx_and_429, mockex_test_setup),
        cmocka_unit_test_setup(test_bad_bodies, mockex_test_setup),
        cmocka_unit_test_setup(test_ban_418, mockex_test_setup),
        cmocka_unit_test_setup(test_incremental_ohlcv, mockex_test_setup),
        cmocka_unit_test_setup(test_catch_up_in_chunks, mockex_test_setup),
        cmocka_unit_test_setup(test_rows_in_request_order, mockex_test_setup),
        cmocka_unit_test_setup(test_universe, mockex_test_setup),
    };
    return cmocka_run_group_tests(tests, mockex_group_setup, mockex_group_teardown);
}
