/* kraken source against the mock exchange: recorded payloads verbatim, the envelope, symbols, candles, paging, backfill, raw, universe.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"
#include "mockex.h"

#include <stdio.h>
#include <string.h>

static char cfgbuf[2048];

/* BTC-USD (normalized), XETHZUSD (pair key) and xdg/usd (wsname, lower case) */
static const char *kr_cfg(const char *extra)
{
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"BTC-USD\", \"XETHZUSD\", \"xdg/usd\"]; %s",
             mockex_base, extra);
    return cfgbuf;
}

static const int64_t M = 60000, T0 = 1767225600000LL + 30000; /* 2026-01-01T00:00:30Z */

static void pin(int64_t now)
{
    char ctl[128];
    snprintf(ctl, sizeof ctl, "/_mock/config?now_ms=%lld", (long long)now);
    mockex_ctl(ctl);
    tk_pin_clock(now);
}

static void fixture(const char *path, const char *file)
{
    char ctl[256];
    snprintf(ctl, sizeof ctl, "/_mock/fault?path=%s&kind=fixture&file=kraken/%s&count=-1", path, file);
    mockex_ctl(ctl);
}

/* The recorded Ticker, Depth and Trades payloads, every value as Kraken wrote it. */
static void test_values(void **state)
{
    (void)state;
    fixture("/0/public/Trades", "trades.json");
    tk_instance *t = tk_create("kraken", kr_cfg("streams = [\"ticker\", \"book_top\", \"book_level\", \"trade\"]; "
                                                "depth = 2;"));
    assert_int_equal(tk_collect(t), CP_OK);

    const cp_batch *b = tk_find(t, "ticker", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "ticker"), 3); /* one Ticker request for the three pairs */
    tk_assert_text(b, 0, "exchange", "kraken");
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 0, "native_symbol", "XXBTZUSD");
    assert_true(tk_int(b, 0, "received_at") > 1700000000000LL);
    assert_int_equal(tk_int(b, 0, "ts"), tk_int(b, 0, "received_at")); /* the ticker has no time */
    tk_assert_text(b, 0, "last", "30303.20000");
    tk_assert_text(b, 0, "bid", "30300.00000");
    tk_assert_text(b, 0, "bid_size", "1.000");
    tk_assert_text(b, 0, "ask", "30300.10000");
    tk_assert_text(b, 0, "ask_size", "1.000");
    tk_assert_text(b, 0, "open", "30502.80000");
    tk_assert_text(b, 0, "high", "31631.00000");
    tk_assert_text(b, 0, "low", "29868.30000");
    tk_assert_text(b, 0, "prev_close", NULL);
    tk_assert_text(b, 0, "change", NULL);
    tk_assert_text(b, 0, "change_pct", NULL);
    tk_assert_text(b, 0, "vwap", "30689.13205");
    tk_assert_text(b, 0, "base_volume", "4412.73601799");
    tk_assert_text(b, 0, "quote_volume", NULL);
    assert_true(tk_is_null(b, 0, "open_time"));
    assert_true(tk_is_null(b, 0, "close_time"));
    assert_int_equal(tk_int(b, 0, "trade_count"), 38907);
    tk_assert_text(b, 1, "symbol", "ETH-USD");
    tk_assert_text(b, 1, "native_symbol", "XETHZUSD");
    tk_assert_text(b, 2, "symbol", "DOGE-USD"); /* XDG is written DOGE */
    tk_assert_text(b, 2, "native_symbol", "XDGUSD");
    char *q = mockex_query("/0/public/Ticker", 0);
    assert_string_equal(q, "pair=XXBTZUSD,XETHZUSD,XDGUSD");
    free(q);
    assert_int_equal(mockex_count("/0/public/Ticker"), 1);
    assert_int_equal(mockex_count("/0/public/AssetPairs"), 1);

    b = tk_find(t, "book_top", 0);
    assert_int_equal(tk_rows(t, "book_top"), 3);
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 0, "native_symbol", "XXBTZUSD");
    assert_int_equal(tk_int(b, 0, "ts"), tk_int(b, 0, "received_at"));
    assert_true(tk_is_null(b, 0, "sequence")); /* Kraken gives none */
    tk_assert_text(b, 0, "bid", "30297.00000");
    tk_assert_text(b, 0, "bid_size", "0.115");
    tk_assert_text(b, 0, "ask", "30384.10000");
    tk_assert_text(b, 0, "ask_size", "2.059");
    assert_int_equal(tk_int(b, 0, "levels"), 2);
    q = mockex_query("/0/public/Depth", 0);
    assert_string_equal(q, "pair=XXBTZUSD&count=2");
    free(q);

    b = tk_find(t, "book_level", 0);
    assert_int_equal(tk_rows(t, "book_level"), 12); /* 2 levels a side, 3 pairs */
    tk_assert_text(b, 0, "side", "bid");
    assert_int_equal(tk_int(b, 0, "level"), 0);
    tk_assert_text(b, 1, "side", "bid");
    assert_int_equal(tk_int(b, 1, "level"), 1);
    tk_assert_text(b, 1, "price", "30296.70000");
    tk_assert_text(b, 1, "size", "2.002");
    tk_assert_text(b, 3, "side", "ask");
    tk_assert_text(b, 3, "price", "30387.90000");
    tk_assert_text(b, 3, "size", "1.500");

    b = tk_find(t, "trade", 0);
    assert_int_equal(tk_rows(t, "trade"), 9);
    tk_assert_text(b, 0, "exchange", "kraken");
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 0, "native_symbol", "XXBTZUSD");
    tk_assert_text(b, 0, "trade_id", "61044952");
    assert_int_equal(tk_int(b, 0, "ts"), 1688669597827LL); /* 1688669597.8277369 s */
    tk_assert_text(b, 0, "price", "30243.40000");
    tk_assert_text(b, 0, "size", "0.34507674");
    tk_assert_text(b, 0, "quote_size", NULL);
    tk_assert_text(b, 0, "side", "buy"); /* Kraken's b/s is the taker's side */
    tk_assert_text(b, 1, "trade_id", "61044953");
    assert_int_equal(tk_int(b, 1, "ts"), 1688669598280LL);
    tk_assert_text(b, 1, "side", "sell");
    tk_assert_text(b, 2, "trade_id", "61044956");
    assert_int_equal(tk_int(b, 2, "ts"), 1688669602698LL); /* 1688669602.698379 */
    tk_assert_text(b, 2, "size", "0.01235716");
    q = mockex_query("/0/public/Trades", 0);
    assert_string_equal(q, "pair=XXBTZUSD&count=1000"); /* no cursor yet: the latest trades */
    free(q);
    tk_destroy(t);
}

/* {"error": [...]} with HTTP 200 is an error naming Kraken's message; a W entry is a warning. */
static void test_envelope(void **state)
{
    (void)state;
    fixture("/0/public/Depth", "error_unknown_pair.json");
    fixture("/0/public/Ticker", "warning_ticker.json");
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"BTC-USD\"]; streams = [\"ticker\", \"book_top\"];",
             mockex_base);
    tk_instance *t = tk_create("kraken", cfgbuf);
    assert_int_equal(tk_collect(t), CP_ERR_HTTP);
    tk_assert_log_contains("Depth XXBTZUSD: Kraken error: EQuery:Unknown asset pair (HTTP 200); no rows kept");
    tk_assert_log_contains("Ticker: Kraken warning: WGeneral:Deprecated");
    assert_int_equal(tk_rows(t, "book_top"), 0);
    assert_int_equal(tk_rows(t, "ticker"), 1); /* a warning keeps the rows */
    tk_assert_text(tk_find(t, "ticker", 0), 0, "last", "30303.20000");
    tk_destroy(t);

    /* a pair missing from a Ticker answer is named */
    t = tk_create("kraken", kr_cfg("streams = [\"ticker\"];"));
    assert_int_equal(tk_collect(t), CP_ERR_PARSE);
    tk_assert_log_contains("Ticker XETHZUSD: missing from the response");
    tk_destroy(t);

    /* an HTTP error's body: the core logs Kraken's message from the envelope */
    mockex_ctl("/_mock/reset");
    mockex_ctl("/_mock/fault?path=/0/public/Ticker&kind=status&status=503&count=10");
    t = tk_create("kraken", kr_cfg(""));
    assert_int_not_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ticker"), 0);
    tk_destroy(t);
}

/* A symbol Kraken does not list is named and skipped; the others are collected; base_url may end
 * in the API path. */
static void test_symbols(void **state)
{
    (void)state;
    snprintf(cfgbuf, sizeof cfgbuf,
             "base_url = \"%s/0/public/\"; requests_per_minute = 100000.0; "
             "symbols = [\"XBTUSD\", \"NOPE-USD\", \"ETH/XBT\", \"usdt-usd\"]; "
             "streams = [\"book_top\"];",
             mockex_base);
    tk_instance *t = tk_create("kraken", cfgbuf);
    assert_int_equal(tk_collect(t), CP_ERR_CONFIG);
    tk_assert_log_contains("symbols: unknown pair \\\"NOPE-USD\\\" (not listed by");
    const cp_batch *b = tk_find(t, "book_top", 0);
    assert_int_equal(tk_rows(t, "book_top"), 3);
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 0, "native_symbol", "XXBTZUSD");
    tk_assert_text(b, 1, "symbol", "ETH-BTC");
    tk_assert_text(b, 1, "native_symbol", "XETHXXBT");
    tk_assert_text(b, 2, "symbol", "USDT-USD");
    tk_assert_text(b, 2, "native_symbol", "USDTZUSD");
    assert_int_equal(mockex_count("/0/public/Depth"), 3);
    assert_int_equal(tk_collect(t), CP_ERR_CONFIG); /* asked again until every symbol is known */
    assert_int_equal(mockex_count("/0/public/AssetPairs"), 2);
    tk_destroy(t);
}

/* The recorded OHLC payload: its last entry is open at 30 s past its minute and closed a minute
 * later; closed-ness follows from the clock, not from the entry's position. */
static void test_ohlc_recorded(void **state)
{
    (void)state;
    fixture("/0/public/OHLC", "ohlc.json");
    pin(1688671410000LL); /* 1688671380 + 30 s */
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"BTC-USD\"]; streams = [\"ohlcv\"]; warmup = 5;",
             mockex_base);
    tk_instance *t = tk_create("kraken", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 3);
    const cp_batch *b = tk_find(t, "ohlcv", 0);
    tk_assert_text(b, 0, "exchange", "kraken");
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 0, "native_symbol", "XXBTZUSD");
    tk_assert_text(b, 0, "interval", "1m");
    assert_int_equal(tk_int(b, 0, "open_time"), 1688671200000LL);
    assert_int_equal(tk_int(b, 0, "close_time"), 1688671259999LL);
    tk_assert_text(b, 0, "open", "30306.1");
    tk_assert_text(b, 0, "high", "30306.2");
    tk_assert_text(b, 0, "low", "30305.7");
    tk_assert_text(b, 0, "close", "30305.7");
    tk_assert_text(b, 0, "volume", "3.39243896");
    tk_assert_text(b, 0, "quote_volume", NULL);
    assert_int_equal(tk_int(b, 0, "trade_count"), 23);
    tk_assert_text(b, 1, "volume", "0.25770000");
    tk_assert_text(b, 2, "close", "30291.4");
    assert_int_equal(tk_int(b, 2, "open_time"), 1688671320000LL);
    char *q = mockex_query("/0/public/OHLC", 0);
    assert_string_equal(q, "pair=XXBTZUSD&interval=1&since=1688671079");
    free(q);
    tk_destroy(t);

    /* the same payload a minute on: its last entry has closed and is written */
    pin(1688671440000LL);
    t = tk_create("kraken", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 4);
    b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 3, "open_time"), 1688671380000LL);
    tk_assert_text(b, 3, "close", "30295.0");
    assert_int_equal(tk_int(b, 3, "trade_count"), 9);
    tk_destroy(t);
}

/* Incremental candles from a checkpoint; a gap longer than Kraken's 720 candles is reported. */
static void test_ohlc_incremental(void **state)
{
    (void)state;
    pin(T0);
    tk_instance *t = tk_create("kraken", kr_cfg("streams = [\"ohlcv\"]; warmup = 5;"));
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 15); /* 5 closed candles per pair; the open one held back */
    const cp_batch *b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 4, "open_time"), 1767225540000LL);
    tk_assert_text(b, 4, "open", "30047.0");
    tk_assert_text(b, 4, "high", "30049.5");
    tk_assert_text(b, 4, "low", "30045.5");
    tk_assert_text(b, 4, "close", "30047.7");
    tk_assert_text(b, 4, "volume", "1.73437500");
    assert_int_equal(tk_int(b, 4, "trade_count"), 50);
    int64_t last = 1767225540000LL;

    tk_clear_emitted(t);
    mockex_ctl("/_mock/reset");
    pin(T0 + 60 * M);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 3 * 60);
    b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 0, "open_time"), last + M);
    assert_int_equal(tk_int(b, 59, "open_time"), last + 60 * M);
    char *q = mockex_query("/0/public/OHLC", 0);
    char want[128];
    snprintf(want, sizeof want, "pair=XXBTZUSD&interval=1&since=%lld", (long long)((last + M) / 1000 - 1));
    assert_string_equal(q, want);
    free(q);
    last += 60 * M;

    /* 1000 minutes later: only the latest 720 candles exist (719 closed) */
    tk_clear_emitted(t);
    tk_log_clear();
    pin(T0 + 1060 * M);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 3 * 719);
    tk_assert_log_contains("ohlcv XXBTZUSD: Kraken's OHLC serves only the latest 720 candles; "
                           "2026-01-01T01:00:00Z to 2026-01-01T05:41:00Z is out of reach");
    b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 718, "open_time"), last + 1000 * M);

    tk_clear_emitted(t);
    assert_int_equal(tk_collect(t), CP_OK); /* nothing new */
    assert_int_equal(tk_rows(t, "ohlcv"), 0);
    tk_destroy(t);
}

/* Trades paged by `since`, the cursor kept in the state store. */
static void test_trades_paging(void **state)
{
    (void)state;
    pin(T0);
    const char *dir = tk_tmpdir();
    snprintf(cfgbuf, sizeof cfgbuf,
             "base_url = \"%s\"; requests_per_minute = 100000.0; "
             "symbols = [\"BTC-USD\"]; streams = [\"trade\"]; trade_limit = 10;", mockex_base);
    tk_instance *t = tk_create_in("kraken", cfgbuf, dir);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "trade"), 10); /* no cursor: the latest 10 */
    const cp_batch *b = tk_find(t, "trade", 0);
    tk_assert_text(b, 9, "trade_id", "252460804"); /* the mock trades every 7 s */
    tk_assert_text(b, 0, "trade_id", "252460795");
    tk_assert_text(b, 0, "price", "30084.5");
    tk_assert_text(b, 0, "size", "0.00100000");
    tk_assert_text(b, 0, "side", "buy");
    tk_destroy(t);

    /* 175 s later, after a restart: 25 trades in three pages from the stored cursor, none twice */
    mockex_ctl("/_mock/reset");
    pin(T0 + 175000);
    t = tk_create_in("kraken", cfgbuf, dir);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "trade"), 25);
    assert_int_equal(mockex_count("/0/public/Trades"), 3);
    char *q = mockex_query("/0/public/Trades", 0);
    assert_string_equal(q, "pair=XXBTZUSD&count=10&since=1767225628080400000");
    free(q);
    int64_t want = 252460805;
    for (size_t i = 0; i < tk_emitted_count(t); i++) {
        b = tk_emitted(t, i);
        for (size_t r = 0; r < cp_batch_rows(tk_ctx(t), b); r++) {
            char id[32];
            snprintf(id, sizeof id, "%lld", (long long)want++);
            tk_assert_text(b, r, "trade_id", id);
        }
    }
    assert_int_equal(want, 252460830);
    tk_destroy(t);
}

static void test_backfill(void **state)
{
    (void)state;
    pin(T0);
    tk_instance *t = tk_create("kraken", kr_cfg("streams = [\"ohlcv\"];"));
    int64_t current = T0 - 30000;
    assert_int_equal(tk_backfill(t, current - 100 * M, current + 5 * M), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 3 * 100); /* closed candles only */
    assert_int_equal(mockex_count("/0/public/OHLC"), 3); /* one call per pair */
    const cp_batch *b = tk_find(t, "ohlcv", 0);
    assert_int_equal(tk_int(b, 0, "open_time"), current - 100 * M);
    assert_int_equal(tk_int(b, 99, "open_time"), current - M);

    /* further back than Kraken serves: what is in reach, and a warning for the rest */
    tk_clear_emitted(t);
    tk_log_clear();
    assert_int_equal(tk_backfill(t, current - 1000 * M, current), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 3 * 719);
    tk_assert_log_contains("backfill: ohlcv XXBTZUSD: Kraken's OHLC serves only the latest 720 candles; "
                           "2025-12-31T07:20:00Z to 2025-12-31T12:01:00Z is out of reach");
    tk_destroy(t);
}

/* archive_raw: every response body byte for byte as a raw row, beside the parsed rows */
static void test_archive_raw(void **state)
{
    (void)state;
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"BTC-USD\"]; streams = [\"book_top\"]; "
                                    "archive_raw = true;", mockex_base);
    tk_instance *t = tk_create("kraken", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "book_top"), 1);
    assert_int_equal(tk_rows(t, "raw"), 2); /* AssetPairs, Depth */
    const char *want[][2] = {{"AssetPairs", "/0/public/AssetPairs"},
                             {"Depth", "/0/public/Depth?pair=XXBTZUSD&count=5"}};
    for (size_t i = 0; i < 2; i++) {
        const cp_batch *b = tk_find(t, "raw", i);
        char *body = mockex_get(want[i][1]), url[256];
        snprintf(url, sizeof url, "%s%s", mockex_base, want[i][1]);
        tk_assert_text(b, 0, "source", "kraken");
        tk_assert_text(b, 0, "endpoint", want[i][0]);
        tk_assert_text(b, 0, "url", url);
        assert_int_equal(tk_int(b, 0, "status"), 200);
        assert_true(tk_int(b, 0, "received_at") > 1700000000000LL);
        tk_assert_text(b, 0, "body", body);
        free(body);
    }
    tk_destroy(t);
}

/* symbols = ["top:N"]: the pairs by 24 h volume in the quote asset, refreshed on schedule, changes logged */
static void test_universe(void **state)
{
    (void)state;
    pin(T0);
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"top:2\"]; streams = [\"ticker\"]; "
                                    "universe_refresh = \"10m\";", mockex_base);
    tk_instance *t = tk_create("kraken", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("universe: 2 of top 2 by 24 h volume in USD: added BTC-USD, ETH-USD; removed none");
    const cp_batch *b = tk_find(t, "ticker", 0);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    tk_assert_text(b, 0, "symbol", "BTC-USD");
    tk_assert_text(b, 1, "symbol", "ETH-USD");
    char *q = mockex_query("/0/public/Ticker", 0);
    assert_string_equal(q, ""); /* every pair's ticker: the volumes */
    free(q);
    q = mockex_query("/0/public/Ticker", 1);
    assert_string_equal(q, "pair=XXBTZUSD,XETHZUSD");
    free(q);

    /* SOL-USD overtakes ETH-USD: nothing changes before the refresh is due */
    mockex_ctl("/_mock/config?kraken_volume=SOLUSD:9000");
    pin(T0 + 5 * M);
    tk_clear_emitted(t);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(mockex_count("/0/public/AssetPairs"), 1);
    tk_assert_text(tk_find(t, "ticker", 0), 1, "symbol", "ETH-USD");

    /* after universe_refresh: resolved again, the change logged, the rows follow */
    pin(T0 + 11 * M);
    tk_clear_emitted(t);
    tk_log_clear();
    assert_int_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("universe: 2 of top 2 by 24 h volume in USD: added SOL-USD; removed ETH-USD");
    b = tk_find(t, "ticker", 0);
    assert_int_equal(tk_rows(t, "ticker"), 2);
    tk_assert_text(b, 0, "symbol", "SOL-USD");
    tk_assert_text(b, 0, "native_symbol", "SOLUSD");
    tk_assert_text(b, 1, "symbol", "BTC-USD");
    assert_int_equal(mockex_count("/0/public/AssetPairs"), 2);
    tk_destroy(t);

    /* a minimum volume: ETH-USD (3000.5 x 30689.13205 USD) is left out, BTC-USD (4412.7 x ...) stays */
    mockex_ctl("/_mock/reset");
    tk_log_clear();
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"top:3\"]; streams = [\"ticker\"]; "
                                    "universe_min_volume = 100000000.0;", mockex_base);
    t = tk_create("kraken", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("universe: 1 of top 3 by 24 h volume in USD: added BTC-USD; removed none");
    assert_int_equal(tk_rows(t, "ticker"), 1);
    tk_destroy(t);

    /* CoinGecko's ranking (bitcoin, ethereum, then coins Kraken does not list), another quote asset */
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"top:5\"]; streams = [\"ticker\"]; "
                                    "universe_source = \"coingecko\"; universe_coingecko_url = \"%s\"; "
                                    "universe_quote = \"btc\";", mockex_base, mockex_base);
    t = tk_create("kraken", cfgbuf);
    assert_int_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("universe: 1 of top 5 by CoinGecko market-cap rank in btc: added ETH-BTC; removed none");
    tk_assert_text(tk_find(t, "ticker", 0), 0, "symbol", "ETH-BTC");
    tk_destroy(t);

    /* a malformed rule is refused with what to write */
    char *err = NULL;
    tk_instance *bad = NULL;
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"top:0\"];", mockex_base);
    assert_int_not_equal(tk_try_create("kraken", cfgbuf, NULL, &bad, &err), CP_OK);
    assert_non_null(strstr(err, "top:0\\\" is not a rule: write \\\"top:N\\\" with N from 1 to 1000"));
    free(err);
    err = NULL;
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"top:5\", \"BTC-USD\"];", mockex_base);
    assert_int_not_equal(tk_try_create("kraken", cfgbuf, NULL, &bad, &err), CP_OK);
    assert_non_null(strstr(err, "cannot be mixed with symbols"));
    free(err);
}

static void test_check(void **state)
{
    (void)state;
    char *err = NULL;
    tk_instance *bad = NULL;
    assert_int_not_equal(tk_try_create("kraken", kr_cfg("kline_interval = \"2h\";"), NULL, &bad, &err), CP_OK);
    assert_non_null(strstr(err, "is not a Kraken candle interval (allowed: 1m 5m 15m 30m 1h 4h 1d 1w 15d"));
    free(err);
    err = NULL;
    assert_int_not_equal(tk_try_create("kraken", kr_cfg("streams = [\"depth\"];"), NULL, &bad, &err), CP_OK);
    assert_non_null(strstr(err, "book_top"));
    free(err);
    err = NULL;
    snprintf(cfgbuf, sizeof cfgbuf, "base_url = \"%s\"; requests_per_minute = 100000.0; "
                                    "symbols = [\"BTC USD\"];", mockex_base);
    assert_int_not_equal(tk_try_create("kraken", cfgbuf, NULL, &bad, &err), CP_OK);
    assert_non_null(strstr(err, "is not a Kraken pair such as BTC-USD"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_values, mockex_test_setup),
        cmocka_unit_test_setup(test_envelope, mockex_test_setup),
        cmocka_unit_test_setup(test_symbols, mockex_test_setup),
        cmocka_unit_test_setup(test_ohlc_recorded, mockex_test_setup),
        cmocka_unit_test_setup(test_ohlc_incremental, mockex_test_setup),
        cmocka_unit_test_setup(test_trades_paging, mockex_test_setup),
        cmocka_unit_test_setup(test_backfill, mockex_test_setup),
        cmocka_unit_test_setup(test_archive_raw, mockex_test_setup),
        cmocka_unit_test_setup(test_universe, mockex_test_setup),
        cmocka_unit_test_setup(test_check, mockex_test_setup),
    };
    return cmocka_run_group_tests(tests, mockex_group_setup, mockex_group_teardown);
}
