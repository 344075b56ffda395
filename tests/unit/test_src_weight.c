/* The HTTP service keeps binance-spot with 100 symbols under its request-weight budget (window scaled down to stay fast).
 * SPDX-License-Identifier: MIT
 *
 * The weight window is 2 s instead of a minute (COINPIPE_HTTP_RATE_WINDOW_MS) and the
 * budget 150: a cycle of ticker + book_top + ohlcv for 100 symbols weighs 760 (exchangeInfo
 * 20, ticker 40 for 100 symbols in one request, depth 5 x 100, klines 2 x 100), so the run
 * spans several windows. The mock measures the heaviest window over its own receive times.
 */
#include "core/http.h"
#include "core/util.h"
#include "testkit.h"
#include "mockex.h"

#include <stdio.h>
#include <string.h>

static void test_weight_budget_100_symbols(void **state)
{
    char cfg[8192];
    int n = snprintf(cfg, sizeof cfg, "base_url = \"%s\"; weight_per_minute = 300.0; max_concurrent = 16; "
                                      "streams = [\"ticker\", \"book_top\", \"ohlcv\"]; warmup = 2; symbols = [",
                     mockex_base);
    for (int i = 0; i < 100; i++)
        n += snprintf(cfg + n, sizeof cfg - (size_t)n, "%s\"SYM%03dUSDT\"", i ? ", " : "", i);
    snprintf(cfg + n, sizeof cfg - (size_t)n, "];");
    /* pin both clocks: candles closed or not must not depend on when the run crosses a minute */
    tk_pin_clock(1767225630000LL);
    mockex_ctl("/_mock/config?now_ms=1767225630000");
    tk_instance *t = tk_create("binance-spot", cfg);
    int64_t t0 = core_util_mono_ms();
    assert_int_equal(tk_collect(t), CP_OK);
    int64_t took = core_util_mono_ms() - t0;
    assert_int_equal(tk_rows(t, "ticker"), 100);
    assert_int_equal(tk_rows(t, "book_top"), 100);
    assert_int_equal(tk_rows(t, "ohlcv"), 200);
    /* requests per cycle: 1 ticker + 100 depth + 100 klines (+ 1 exchangeInfo once) */
    assert_int_equal(mockex_count("/api/v3/ticker/24hr"), 1);
    assert_int_equal(mockex_count("/api/v3/depth"), 100);
    assert_int_equal(mockex_count("/api/v3/klines"), 100);
    assert_int_equal(mockex_count("/api/v3/exchangeInfo"), 1);
    /* 1000 ms: a second of tolerance for the delay between our send and the mock's receive on a loaded
     * machine; a client ignoring the budget sends all 760 weight within a few hundred ms and still fails */
    char *s = mockex_get("/_mock/stats?window_ms=1000");
    json_object *o = json_tokener_parse(s), *w;
    assert_true(json_object_object_get_ex(o, "max_window_weight", &w));
    printf("max weight in any 1000 ms window: %d (budget 300 per 2000 ms), cycle took %lld ms\n", json_object_get_int(w),
           (long long)took);
    assert_true(json_object_get_int(w) <= 300);
    assert_true(took >= 3900); /* 760 weight at 300 per 2 s cannot finish in under 4 s */
    assert_true(json_object_get_int(w) >= 200); /* and the budget was actually used */
    json_object_put(o);
    free(s);
    tk_destroy(t);
}

static int group_setup(void **state)
{
    setenv("COINPIPE_HTTP_RATE_WINDOW_MS", "2000", 1);
    core_http_init();
    mockex_start();
    mockex_ctl("/_mock/config?window_ms=2000");
    return 0;
}

static int group_teardown(void **state)
{
    mockex_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_weight_budget_100_symbols)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
