/* coingecko source against the mock exchange: top and coins together, the API key headers, the coin stream and backfill from market_chart/range.
 * SPDX-License-Identifier: MIT
 *
 * A process of its own: the host budget of 127.0.0.1 is shared by every instance of a process
 * (the tightest wins), and these tests set a generous one so that backfill is not paced.
 */
#include "core/http.h"
#include "testkit.h"
#include "mockex.h"

#include <stdio.h>
#include <string.h>

/* The x-cg-* key header of the nth request to `path` as the mock received it (malloc'd), or NULL. */
static char *sent_header(const char *path, size_t nth, const char *name)
{
    json_object *root, *a = mockex_requests(&root);
    char *out = NULL;
    for (size_t i = 0; i < json_object_array_length(a) && !out; i++) {
        json_object *r = json_object_array_get_idx(a, i), *p, *h, *v;
        if (json_object_object_get_ex(r, "path", &p) && strcmp(json_object_get_string(p), path) == 0 && nth-- == 0 &&
            json_object_object_get_ex(r, "headers", &h) && json_object_object_get_ex(h, name, &v))
            out = strdup(json_object_get_string(v));
    }
    json_object_put(root);
    return out;
}

/* top and coins together: the top N and the listed coins, a coin in both once */
static void test_top_and_coins(void **state)
{
    char cfg[512];
    mockex_ctl("/_mock/reset");
    snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0; "
                              "top = 2; coins = [\"bitcoin\", \"coin-300\"]; "
                              "vs_currencies = [\"usd\", \"eur\"];", mockex_base);
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_equal(tk_collect(t), CP_OK);
    const cp_batch *b = tk_find(t, "market", 0);
    assert_int_equal(tk_rows(t, "market"), 6); /* bitcoin, ethereum, coin-300 in usd and eur */
    tk_assert_text(b, 0, "coin_id", "bitcoin");
    tk_assert_text(b, 1, "coin_id", "ethereum");
    tk_assert_text(b, 2, "coin_id", "coin-300");
    tk_assert_text(b, 2, "vs_currency", "usd");
    assert_int_equal(tk_int(b, 2, "market_cap_rank"), 300);
    tk_assert_text(b, 3, "coin_id", "bitcoin");
    tk_assert_text(b, 3, "vs_currency", "eur");
    tk_assert_text(b, 5, "coin_id", "coin-300");
    tk_assert_text(b, 5, "vs_currency", "eur");
    assert_int_equal(mockex_count("/api/v3/coins/markets"), 4); /* a top page and an ids page per currency */
    tk_destroy(t);

    /* coins alone: only them (no top 100 added); neither: the top 100 */
    mockex_ctl("/_mock/reset");
    snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0; coins = [\"coin-300\"];", mockex_base);
    t = tk_create("coingecko", cfg);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "market"), 1);
    tk_destroy(t);
    snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0;", mockex_base);
    t = tk_create("coingecko", cfg);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_int_equal(tk_rows(t, "market"), 100);
    tk_destroy(t);
}

/* demo keys go in x-cg-demo-api-key, pro keys in x-cg-pro-api-key, on every request */
static void test_key_headers(void **state)
{
    char cfg[512];
    const char *plans[] = {"demo", "pro"};
    for (int i = 0; i < 2; i++) {
        mockex_ctl("/_mock/reset");
        snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0; "
                                  "api_key = \"CG-k%d\"; api_plan = \"%s\"; "
                                  "coins = [\"bitcoin\"]; streams = [\"market\", \"global\", \"coin\"];",
                 mockex_base, i, plans[i]);
        tk_instance *t = tk_create("coingecko", cfg);
        assert_int_equal(tk_collect(t), CP_OK);
        char want[16], name[32], other[32];
        snprintf(want, sizeof want, "CG-k%d", i);
        snprintf(name, sizeof name, "x-cg-%s-api-key", plans[i]);
        snprintf(other, sizeof other, "x-cg-%s-api-key", plans[1 - i]);
        const char *paths[] = {"/api/v3/coins/markets", "/api/v3/global", "/api/v3/coins/bitcoin"};
        for (size_t k = 0; k < 3; k++) {
            char *h = sent_header(paths[k], 0, name), *o = sent_header(paths[k], 0, other);
            assert_non_null(h);
            assert_string_equal(h, want);
            assert_null(o);
            free(h);
        }
        tk_destroy(t);
    }
    mockex_ctl("/_mock/reset"); /* no key: no header */
    snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0; streams = [\"global\"];", mockex_base);
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_equal(tk_collect(t), CP_OK);
    assert_null(sent_header("/api/v3/global", 0, "x-cg-demo-api-key"));
    tk_destroy(t);
}

/* the coin-detail endpoint as the coin stream, values as recorded */
static void test_coin_detail(void **state)
{
    char cfg[512];
    mockex_ctl("/_mock/reset");
    tk_log_clear();
    snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0; "
                              "coins = [\"bitcoin\", \"no-such-coin\", \"ethereum\"]; "
                              "streams = [\"coin\"];", mockex_base);
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_not_equal(tk_collect(t), CP_OK); /* the unknown coin's 404 fails the cycle, the others are kept */
    const cp_batch *b = tk_find(t, "coin", 0);
    assert_int_equal(tk_rows(t, "coin"), 2);
    tk_assert_text(b, 0, "source", "coingecko");
    tk_assert_text(b, 0, "coin_id", "bitcoin");
    assert_int_equal(tk_int(b, 0, "ts"), 1712508571736LL);
    assert_true(tk_int(b, 0, "received_at") > 1700000000000LL);
    tk_assert_text(b, 0, "symbol", "btc");
    tk_assert_text(b, 0, "name", "Bitcoin");
    tk_assert_text(b, 0, "asset_platform_id", NULL);
    tk_assert_text(b, 0, "hashing_algorithm", "SHA-256");
    tk_assert_text(b, 0, "genesis_date", "2009-01-03");
    tk_assert_text(b, 0, "categories", "Cryptocurrency; Layer 1 (L1); FTX Holdings; Proof of Work (PoW)");
    tk_assert_text(b, 0, "homepage", "http://www.bitcoin.org");
    assert_non_null(strstr(tk_text(b, 0, "description"), "first successful internet money"));
    assert_int_equal(tk_int(b, 0, "market_cap_rank"), 1);
    tk_assert_text(b, 0, "sentiment_votes_up_pct", "84.07");
    assert_int_equal(tk_int(b, 0, "watchlist_users"), 1541900);
    tk_assert_text(b, 0, "price_usd", "70187");
    tk_assert_text(b, 0, "market_cap_usd", "1381651251183");
    tk_assert_text(b, 0, "total_volume_usd", "20154184933");
    tk_assert_text(b, 0, "circulating_supply", "19675987");
    tk_assert_text(b, 0, "total_supply", "21000000");
    tk_assert_text(b, 0, "max_supply", "21000000");
    tk_assert_text(b, 1, "coin_id", "ethereum");
    tk_assert_log_contains("coin not found");
    char *q = mockex_query("/api/v3/coins/bitcoin", 0);
    assert_string_equal(q, "localization=false&tickers=false&market_data=true&community_data=false"
                           "&developer_data=false&sparkline=false");
    free(q);
    tk_destroy(t);
}

/* backfill from /coins/{id}/market_chart/range: the recorded payload verbatim into spot_price */
static void test_backfill_recorded(void **state)
{
    char cfg[512];
    mockex_ctl("/_mock/reset");
    mockex_ctl("/_mock/fault?path=/api/v3/coins/bitcoin/market_chart/range&kind=fixture"
               "&file=coingecko/market_chart_range.json");
    snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0; "
                              "coins = [\"bitcoin\"]; streams = [\"spot_price\"];",
             mockex_base);
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_equal(tk_backfill(t, 1711843200000LL, 1711983682001LL), CP_OK);
    const cp_batch *b = tk_find(t, "spot_price", 0);
    assert_int_equal(tk_rows(t, "spot_price"), 3);
    tk_assert_text(b, 0, "source", "coingecko");
    tk_assert_text(b, 0, "coin_id", "bitcoin");
    tk_assert_text(b, 0, "vs_currency", "usd");
    assert_int_equal(tk_int(b, 0, "ts"), 1711843200000LL);
    tk_assert_text(b, 0, "price", "69702.3087473573");
    tk_assert_text(b, 0, "market_cap", "1370247487960.09");
    tk_assert_text(b, 0, "volume_24h", "16408802301.8374");
    tk_assert_text(b, 0, "change_24h_pct", NULL);
    assert_int_equal(tk_int(b, 2, "ts"), 1711983682000LL);
    tk_assert_text(b, 2, "volume_24h", "30137418199.6431");
    char *q = mockex_query("/api/v3/coins/bitcoin/market_chart/range", 0);
    assert_string_equal(q, "vs_currency=usd&from=1711843200&to=1711983683");
    free(q);
    tk_destroy(t);
}

/* windows of backfill_window: 90 days give hourly points, a year daily ones; the top N and the
 * coins list both; into market when spot_price is not collected */
static void test_backfill_windows(void **state)
{
    char cfg[512];
    mockex_ctl("/_mock/reset");
    int64_t day = 86400000LL, from = 1735689600000LL; /* 2025-01-01 */
    snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0; "
                              "coins = [\"coin-300\"]; top = 2; streams = [\"market\"];",
             mockex_base);
    tk_instance *t = tk_create("coingecko", cfg);
    assert_int_equal(tk_backfill(t, from, from + 200 * day), CP_OK);
    assert_int_equal(tk_rows(t, "market"), 3 * 200 * 24); /* hourly, three coins */
    assert_int_equal(mockex_count("/api/v3/coins/coin-300/market_chart/range"), 3); /* 90 + 90 + 20 days */
    assert_int_equal(mockex_count("/api/v3/coins/ethereum/market_chart/range"), 3);
    char *q = mockex_query("/api/v3/coins/bitcoin/market_chart/range", 1);
    assert_string_equal(q, "vs_currency=usd&from=1743465600&to=1751241600");
    free(q);
    const cp_batch *b = tk_find(t, "market", 0);
    tk_assert_text(b, 0, "coin_id", "coin-300");
    assert_int_equal(tk_int(b, 0, "ts"), from);
    tk_assert_text(b, 0, "price", "60079.75"); /* k = (t / 3600) % 61 = 53: 60000 + 53 * 1.5 + 0.25 */
    assert_true(tk_is_null(b, 0, "market_cap_rank"));
    tk_destroy(t);

    mockex_ctl("/_mock/reset");
    snprintf(cfg, sizeof cfg, "base_url = \"%s\"; calls_per_minute = 1000.0; "
                              "coins = [\"bitcoin\"]; streams = [\"spot_price\"]; "
                              "backfill_window = \"365d\";", mockex_base);
    t = tk_create("coingecko", cfg);
    assert_int_equal(tk_backfill(t, from, from + 200 * day), CP_OK);
    assert_int_equal(tk_rows(t, "spot_price"), 200); /* daily */
    assert_int_equal(mockex_count("/api/v3/coins/bitcoin/market_chart/range"), 1);
    tk_destroy(t);
}

static int group_setup(void **state)
{
    setenv("COINPIPE_HTTP_BACKOFF_MS", "20", 1);
    core_http_init();
    mockex_start();
    return 0;
}

static int group_teardown(void **state)
{
    mockex_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_top_and_coins), cmocka_unit_test(test_key_headers),
                                       cmocka_unit_test(test_coin_detail), cmocka_unit_test(test_backfill_recorded),
                                       cmocka_unit_test(test_backfill_windows)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
