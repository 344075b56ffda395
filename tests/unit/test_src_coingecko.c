/* coingecko source against the mock exchange: exact number text of market, spot_price and global rows; pagination.
 * SPDX-License-Identifier: MIT
 */
#include "core/http.h"
#include "testkit.h"
#include "mockex.h"

#include <stdio.h>
#include <string.h>

static void test_values(void **state)
{
    char cfg[512];
    snprintf(cfg, sizeof cfg, "base_url = \"%s/api/v3\"; coins = [\"bitcoin\", \"ethereum\"]; "
                              "vs_currencies = [\"usd\", \"eur\"]; streams = [\"market\", \"spot_price\", \"global\"]; "
                              "api_key = \"k123\";", mockex_base);
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_equal(tk_collect(t), CP_OK);
    const cp_batch *b = tk_find(t, "market", 0);
    assert_int_equal(tk_rows(t, "market"), 4);
    tk_assert_text(b, 0, "source", "coingecko");
    tk_assert_text(b, 0, "coin_id", "bitcoin");
    tk_assert_text(b, 0, "vs_currency", "usd");
    assert_int_equal(tk_int(b, 0, "ts"), 1712508571736LL); /* 2024-04-07T16:49:31.736Z */
    tk_assert_text(b, 0, "symbol", "btc");
    tk_assert_text(b, 0, "name", "Bitcoin");
    tk_assert_text(b, 0, "price", "70187");
    tk_assert_text(b, 0, "market_cap", "1381651251183");
    assert_int_equal(tk_int(b, 0, "market_cap_rank"), 1);
    tk_assert_text(b, 0, "fully_diluted_valuation", "1474623675796");
    tk_assert_text(b, 0, "total_volume", "20154184933");
    tk_assert_text(b, 0, "high_24h", "70215");
    tk_assert_text(b, 0, "low_24h", "68060");
    tk_assert_text(b, 0, "price_change_24h", "2126.88");
    tk_assert_text(b, 0, "price_change_pct_24h", "3.12502");
    tk_assert_text(b, 0, "market_cap_change_24h", "44287678051");
    tk_assert_text(b, 0, "market_cap_change_pct_24h", "3.31157");
    tk_assert_text(b, 0, "circulating_supply", "19675987");
    tk_assert_text(b, 0, "total_supply", "21000000");
    tk_assert_text(b, 0, "max_supply", "21000000");
    tk_assert_text(b, 0, "ath", "73738");
    tk_assert_text(b, 0, "ath_change_pct", "-4.77063");
    assert_int_equal(tk_int(b, 0, "ath_date"), 1710400236635LL);
    tk_assert_text(b, 0, "atl", "67.81");
    tk_assert_text(b, 0, "atl_change_pct", "103455.83335");
    assert_int_equal(tk_int(b, 0, "atl_date"), 1373068800000LL);
    tk_assert_text(b, 1, "circulating_supply", "120073880.497064");
    tk_assert_text(b, 1, "max_supply", NULL); /* null in the payload: NULL, never 0 */
    tk_assert_text(b, 2, "vs_currency", "eur");

    b = tk_find(t, "spot_price", 0);
    assert_int_equal(tk_rows(t, "spot_price"), 3); /* ethereum has no eur quote */
    tk_assert_text(b, 0, "coin_id", "bitcoin");
    tk_assert_text(b, 0, "vs_currency", "usd");
    assert_int_equal(tk_int(b, 0, "ts"), 1711356300000LL);
    tk_assert_text(b, 0, "price", "67187.33589365664");
    tk_assert_text(b, 0, "market_cap", "1317802988326.2493");
    tk_assert_text(b, 0, "volume_24h", "31260929299.52484");
    tk_assert_text(b, 0, "change_24h_pct", "3.637278946773539");
    tk_assert_text(b, 1, "vs_currency", "eur");
    tk_assert_text(b, 1, "price", "61921.6");
    tk_assert_text(b, 2, "coin_id", "ethereum");
    tk_assert_text(b, 2, "change_24h_pct", NULL);

    b = tk_find(t, "global", 0);
    assert_int_equal(tk_rows(t, "global"), 1);
    tk_assert_text(b, 0, "source", "coingecko");
    assert_int_equal(tk_int(b, 0, "ts"), 1712512855000LL);
    assert_int_equal(tk_int(b, 0, "active_cryptocurrencies"), 13690);
    assert_int_equal(tk_int(b, 0, "markets"), 1046);
    tk_assert_text(b, 0, "total_market_cap_usd", "2721226850772.63");
    tk_assert_text(b, 0, "total_volume_usd", "69327091133.5439");
    tk_assert_text(b, 0, "btc_dominance_pct", "50.4465263233584");
    tk_assert_text(b, 0, "eth_dominance_pct", "14.9228066918211");
    tk_assert_text(b, 0, "market_cap_change_pct_24h_usd", "1.72099677122174");
    tk_destroy(t);
}

/* A coingecko instance collecting the top `top` markets from the recorded payload
 * tests/fixtures/`file` (the log cleared first); tk_collect succeeds. */
static tk_instance *markets_from_fixture(const char *file, int top)
{
    char url[256], cfg[512];
    mockex_ctl("/_mock/reset");
    snprintf(url, sizeof url, "/_mock/fault?path=/api/v3/coins/markets&kind=fixture&file=%s", file);
    mockex_ctl(url);
    snprintf(cfg, sizeof cfg, "base_url = \"%s/api/v3\"; streams = [\"market\"]; top = %d;", mockex_base, top);
    tk_log_clear();
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_equal(tk_collect(t), CP_OK);
    return t;
}

/* json-c path: 1e400 and an integer beyond uint64 drop their coin's row, named; the rest stay */
static void test_bad_values(void **state)
{
    (void)state;
    tk_instance *t = markets_from_fixture("bad_values/coingecko_coins_markets.json", 4);
    const cp_batch *b = tk_find(t, "market", 0);
    assert_non_null(b);
    assert_int_equal(tk_rows(t, "market"), 2);
    tk_assert_text(b, 0, "coin_id", "bitcoin");
    tk_assert_text(b, 0, "market_cap", "1381651251183");
    tk_assert_text(b, 1, "coin_id", "solana");
    tk_assert_log_contains("coins/markets ethereum: field 'market_cap': not a finite decimal number; row dropped");
    tk_assert_log_contains("coins/markets tether: field 'total_volume': integer out of range; row dropped");
    tk_destroy(t);
}

/* json-c path: a repeated key drops its coin's row, named (json-c alone keeps the last silently) */
static void test_duplicate_key(void **state)
{
    (void)state;
    tk_instance *t = markets_from_fixture("bad_values/coingecko_coins_markets_dup.json", 2);
    assert_int_equal(tk_rows(t, "market"), 1);
    tk_assert_text(tk_find(t, "market", 0), 0, "coin_id", "solana");
    tk_assert_log_contains("coins/markets bitcoin: field 'current_price': duplicate key; row dropped");
    tk_destroy(t);
}

static void test_top_pagination(void **state)
{
    char cfg[512];
    snprintf(cfg, sizeof cfg, "base_url = \"%s/api/v3\"; top = 300; calls_per_minute = 1000.0;", mockex_base);
    mockex_ctl("/_mock/reset");
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "market"), 300);
    assert_int_equal(mockex_count("/api/v3/coins/markets"), 2);
    /* the two pages are fetched concurrently: either may reach the mock first */
    char *q0 = mockex_query("/api/v3/coins/markets", 0), *q1 = mockex_query("/api/v3/coins/markets", 1);
    bool p1 = strstr(q0, "per_page=250&page=1") || strstr(q1, "per_page=250&page=1");
    bool p2 = strstr(q0, "per_page=250&page=2") || strstr(q1, "per_page=250&page=2");
    assert_true(p1 && p2);
    free(q0);
    free(q1);
    tk_destroy(t);
}

static int group_setup(void **state)
{
    core_http_init();
    mockex_start();
    return 0;
}

static int group_teardown(void **state)
{
    mockex_stop();
    return 0;
}

/* base_url is the host root as for every source: /api/v3 is appended, a value that already ends in
 * it (with or without a slash) works too, and a 404 names the option. */
static void test_base_url_root(void **state)
{
    (void)state;
    const char *forms[] = {"", "/", "/api/v3", "/api/v3/"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char cfg[512];
        snprintf(cfg, sizeof cfg, "base_url = \"%s%s\"; streams = [\"global\"];", mockex_base, forms[i]);
        mockex_ctl("/_mock/reset");
        tk_instance *t = tk_create("coingecko", cfg);
        assert_int_equal(tk_collect(t), CP_OK);
        assert_int_equal(tk_rows(t, "global"), 1);
        assert_int_equal(mockex_count("/api/v3/global"), 1);
        tk_destroy(t);
    }
    char cfg[512];
    snprintf(cfg, sizeof cfg, "base_url = \"%s/v3\"; streams = [\"global\"];", mockex_base);
    tk_log_clear();
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_not_equal(tk_collect(t), CP_OK);
    tk_assert_log_contains("global: HTTP 404 (no such path on this host): check the source's option base_url");
    tk_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_values), cmocka_unit_test(test_bad_values),
                                       cmocka_unit_test(test_duplicate_key),
                                       cmocka_unit_test(test_top_pagination),
                                       cmocka_unit_test(test_base_url_root)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
