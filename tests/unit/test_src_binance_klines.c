/* The Binance kline parser (common/binance.c, bn_parse_klines) driven directly: a kline's
 * elements read in place (cp_batch_set_json_elements), and what every row of a response shares
 * (exchange, symbols, interval, received time) set on the response's first row and filled down to
 * the others (cp_batch_fill_down), whichever way each row was read.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "common/binance.h"

#include <stdio.h>
#include <string.h>

static const bn_api spot = {"binance", "/api/v3", false};
static bn_sym syms[] = {{"BNBBTC", "BNB-BTC"}, {"ETHBTC", "ETH-BTC"}};

#define T0 1767195600000LL /* a minute's start */
#define NOW (T0 + 10 * 60000)

/* One kline opened at T0 + m minutes; `lead` goes before its first element (" " makes the quick
 * reading refuse it, so the general reading takes it). */
static int kline(char *out, size_t cap, int m, const char *lead)
{
    int64_t t = T0 + (int64_t)m * 60000;
    return snprintf(out, cap, "[%s%lld,\"1.%02d000000\",\"2.5\",\"0.5\",\"1.%02d500000\",\"%d.125\",%lld,\"%d.0625\",%d,"
                    "\"0.%02d\",\"0.5\",\"0\"]",
                    lead, (long long)t, m, m, 100 + m, (long long)(t + 59999), 200 + m, 10 + m, m);
}

/* Three responses into one batch: two read in place; the next (another symbol, another receive
 * time) whose first kline only the general reading takes; the last whose first kline opened
 * before min_open and whose last is still open (both dropped after the quick reading added them). */
static cp_batch *parse_three(cp_ctx *ctx)
{
    cp_batch *b = cp_batch_new(ctx, &cp_ohlcv_schema, 2);
    assert_non_null(b);
    struct {
        const bn_sym *s;
        int64_t received_at, min_open;
        int first, n;
        const char *lead0;
    } resp[] = {{&syms[0], 1000, 0, 0, 2, ""}, {&syms[1], 2000, 0, 2, 3, " "}, {&syms[0], 3000, T0 + 6 * 60000, 5, 6, ""}};
    for (size_t i = 0; i < sizeof resp / sizeof *resp; i++) {
        char body[4096];
        size_t len = 0;
        body[len++] = '[';
        for (int k = 0; k < resp[i].n; k++) {
            if (k)
                body[len++] = ',';
            len += (size_t)kline(body + len, sizeof body - len, resp[i].first + k, k ? "" : resp[i].lead0);
        }
        body[len++] = ']';
        body[len] = '\0';
        cp_http_response rs = {.status = CP_OK, .code = 200, .body = body, .body_len = len,
                               .received_at = resp[i].received_at};
        int64_t last = INT64_MIN;
        size_t count = 0;
        assert_int_equal(bn_parse_klines(ctx, &spot, &rs, resp[i].s, "1m", NOW, false, resp[i].min_open, INT64_MAX, b,
                                         &last, &count),
                         CP_OK);
        assert_int_equal(count, resp[i].n);
    }
    return b;
}

/* The rows of parse_three, checked cell by cell where the responses differ. */
static void check_rows(const cp_batch *b)
{
    static const struct {
        int minute;
        const char *symbol, *native;
        int64_t received_at;
    } want[] = {{0, "BNB-BTC", "BNBBTC", 1000}, {1, "BNB-BTC", "BNBBTC", 1000}, {2, "ETH-BTC", "ETHBTC", 2000},
                {3, "ETH-BTC", "ETHBTC", 2000}, {4, "ETH-BTC", "ETHBTC", 2000}, {6, "BNB-BTC", "BNBBTC", 3000},
                {7, "BNB-BTC", "BNBBTC", 3000}, {8, "BNB-BTC", "BNBBTC", 3000}, {9, "BNB-BTC", "BNBBTC", 3000}};
    const cp_host *h = tk_host();
    assert_int_equal(h->batch_rows(b), sizeof want / sizeof *want);
    for (size_t r = 0; r < sizeof want / sizeof *want; r++) {
        char open[32];
        snprintf(open, sizeof open, "1.%02d000000", want[r].minute);
        tk_assert_text(b, r, "exchange", "binance");
        tk_assert_text(b, r, "symbol", want[r].symbol);
        tk_assert_text(b, r, "native_symbol", want[r].native);
        tk_assert_text(b, r, "interval", "1m");
        assert_int_equal(tk_int(b, r, "received_at"), want[r].received_at);
        assert_int_equal(tk_int(b, r, "open_time"), T0 + want[r].minute * 60000LL);
        tk_assert_text(b, r, "open", open);
        assert_int_equal(tk_int(b, r, "trade_count"), 10 + want[r].minute);
    }
}

/* Read in place, read the general way, and read in place on cores without batch_fill_down or
 * batch_set_json_elements (the wrappers set each row, each cell): the same rows, cell for cell. */
static void test_shared_columns_filled_down(void **state)
{
    (void)state;
    tk_instance *t = tk_create("sqlite", "path = \":memory:\";");
    cp_ctx *ctx = tk_ctx(t);
    cp_batch *quick = parse_three(ctx);
    check_rows(quick);

    bn_quick = false;
    cp_batch *general = parse_three(ctx);
    bn_quick = true;
    check_rows(general);
    tk_assert_same_batch(general, quick);

    /* ABI 2.1's table, then one with batch_fill_down but not batch_set_json_elements */
    size_t sizes[] = {offsetof(cp_host, batch_fill_down), offsetof(cp_host, batch_set_json_elements)};
    for (size_t k = 0; k < 2; k++) {
        cp_host old = *ctx->host;
        old.size = sizes[k];
        const cp_host *saved = ctx->host;
        ctx->host = &old;
        cp_batch *older = parse_three(ctx);
        ctx->host = saved;
        check_rows(older);
        tk_assert_same_batch(quick, older);
        cp_batch_free(ctx, older);
    }

    cp_batch_free(ctx, quick);
    cp_batch_free(ctx, general);
    tk_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_columns_filled_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
