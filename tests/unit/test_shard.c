/* Unit tests for sharding symbols over collectors (core/shard.c).
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/batch.h"
#include "core/shard.h"

#include <coinpipe/streams.h>
#include <string.h>

static void test_parse(void **state)
{
    (void)state;
    core_shard s;
    char err[256];
    assert_true(core_shard_parse("0/3", &s, err, sizeof err));
    assert_int_equal(s.index, 0);
    assert_int_equal(s.count, 3);
    assert_true(core_shard_parse("65535/65536", &s, err, sizeof err));
    assert_int_equal(s.index, 65535);
    const char *bad[] = {"3/3", "1-3", "0/0", "x/2", "1/", "/2", "-1/3", "1/3x", " 1/3", "1/ 3", "0/65537", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_false(core_shard_parse(bad[i], &s, err, sizeof err));
        assert_non_null(strstr(err, "is not a shard I/N"));
    }
}

/* the documented rule: FNV-1a 32 of the symbol's bytes modulo N (standard vectors: "a" is
 * 0xe40c292c, "" the offset basis 2166136261) */
static void test_rule(void **state)
{
    (void)state;
    core_shard s2 = {0, 2}, s3[3] = {{0, 3}, {1, 3}, {2, 3}};
    assert_true(core_shard_keep(&(core_shard){0, 1}, "a", 1)); /* N = 1 keeps everything */
    assert_true(core_shard_keep(&(core_shard){3826002220u % 7, 7}, "a", 1));
    assert_false(core_shard_keep(&(core_shard){(3826002220u + 1) % 7, 7}, "a", 1));
    assert_true(core_shard_keep(&(core_shard){2166136261u % 5, 5}, "", 0));
    /* BTC-USDT hashes to 2619722239: shard 1 of 3, 1 of 2 */
    assert_true(core_shard_keep(&s3[1], "BTC-USDT", 8));
    assert_false(core_shard_keep(&s3[0], "BTC-USDT", 8));
    assert_false(core_shard_keep(&s3[2], "BTC-USDT", 8));
    assert_false(core_shard_keep(&s2, "BTC-USDT", 8));
    /* the length counts, not a NUL */
    assert_true(core_shard_keep(&s3[1], "BTC-USDTxyz", 8));
    assert_true(core_shard_keep(NULL, "anything", 8));
    assert_true(core_shard_keep(&(core_shard){0, 0}, "anything", 8));
    /* every symbol in exactly one shard */
    char sym[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(sym, sizeof sym, "SYM%03d-USDT", i), hits = 0;
        for (int k = 0; k < 3; k++)
            hits += core_shard_keep(&s3[k], sym, (size_t)n);
        assert_int_equal(hits, 1);
    }
}

static void add(cp_batch *b, const char *sym, int64_t ts)
{
    size_t r = core_batch_add_row(b);
    core_batch_set_string(b, r, CP_TICKER_EXCHANGE, "x", 1);
    if (sym)
        core_batch_set_string(b, r, CP_TICKER_SYMBOL, sym, strlen(sym));
    core_batch_set_int(b, r, CP_TICKER_TS, ts);
    core_batch_set_decimal(b, r, CP_TICKER_LAST, "1.50", 4);
}

static void test_filter(void **state)
{
    (void)state;
    cp_batch *b = core_batch_new(&cp_ticker_schema, 0);
    add(b, "BTC-USDT", 1); /* shard 1/3 */
    add(b, "ETH-USDT", 2); /* shard 2/3 */
    add(b, NULL, 3);       /* no symbol: kept */
    add(b, "BTC-USDT", 4);
    core_shard s = {1, 3};
    assert_int_equal(core_shard_filter(&s, b), 3);
    assert_int_equal(core_batch_rows(b), 3);
    int64_t want[] = {1, 3, 4};
    for (size_t r = 0; r < 3; r++) {
        assert_int_equal(core_batch_get_int(b, r, CP_TICKER_TS), want[r]);
        assert_string_equal(core_batch_get_text(b, r, CP_TICKER_LAST, NULL), "1.50");
    }
    assert_true(core_batch_is_null(b, 1, CP_TICKER_SYMBOL));
    assert_string_equal(core_batch_get_text(b, 2, CP_TICKER_SYMBOL, NULL), "BTC-USDT");
    core_shard none = {2, 3};
    assert_int_equal(core_shard_filter(&none, b), 1); /* only the row without a symbol */
    core_batch_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
