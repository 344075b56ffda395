/* Unit tests for the batch model (core/batch.c).
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core.h"

#include <coinpipe/streams.h>
#include <math.h>
#include <string.h>

static void test_decimal_kept_verbatim(void **state)
{
    cp_batch *b = core_batch_new(&cp_ticker_schema, 0);
    assert_non_null(b);
    size_t r = core_batch_add_row(b);
    assert_int_equal(r, 0);
    const char *px = "0.00012300000000000000001";
    assert_int_equal(core_batch_set_decimal(b, r, CP_TICKER_LAST, px, strlen(px)), CP_OK);
    size_t len;
    assert_string_equal(core_batch_get_text(b, r, CP_TICKER_LAST, &len), px);
    assert_int_equal(len, strlen(px));
    assert_true(fabs(core_batch_get_double(b, r, CP_TICKER_LAST) - 0.000123) < 1e-12);
    /* not a number: refused, cell unchanged */
    assert_int_equal(core_batch_set_decimal(b, r, CP_TICKER_BID, "12a", 3), CP_ERR_PARSE);
    assert_int_equal(core_batch_set_decimal(b, r, CP_TICKER_BID, "", 0), CP_ERR_PARSE);
    assert_int_equal(core_batch_set_decimal(b, r, CP_TICKER_BID, "nan", 3), CP_ERR_PARSE);
    assert_int_equal(core_batch_set_decimal(b, r, CP_TICKER_BID, "1.5e-7", 6), CP_OK);
    assert_int_equal(core_batch_set_decimal(b, r, CP_TICKER_ASK, "-42", 3), CP_OK);
    assert_true(core_batch_is_null(b, r, CP_TICKER_BID_SIZE));
    core_batch_unref(b);
}

static void test_types_and_nulls(void **state)
{
    cp_batch *b = core_batch_new(&cp_spread_schema, 1);
    size_t r = core_batch_add_row(b);
    /* every column starts NULL */
    for (size_t c = 0; c < CP_SPREAD_NCOLS; c++)
        assert_true(core_batch_is_null(b, r, c));
    assert_int_equal(core_batch_set_int(b, r, CP_SPREAD_TS, 1732186544123), CP_OK);
    assert_int_equal(core_batch_get_int(b, r, CP_SPREAD_TS), 1732186544123);
    assert_int_equal(core_batch_set_double(b, r, CP_SPREAD_MID, 1.25), CP_OK);
    assert_true(core_batch_get_double(b, r, CP_SPREAD_MID) == 1.25);
    /* a non-finite double is stored as NULL */
    assert_int_equal(core_batch_set_double(b, r, CP_SPREAD_SPREAD, NAN), CP_OK);
    assert_true(core_batch_is_null(b, r, CP_SPREAD_SPREAD));
    assert_true(isnan(core_batch_get_double(b, r, CP_SPREAD_SPREAD)));
    /* wrong type or index */
    assert_int_equal(core_batch_set_int(b, r, CP_SPREAD_MID, 1), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_string(b, r, CP_SPREAD_TS, "x", 1), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_int(b, r + 1, CP_SPREAD_TS, 1), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_int(b, r, 99, 1), CP_ERR_INVALID);
    assert_null(core_batch_get_text(b, r, CP_SPREAD_TS, NULL));
    assert_int_equal(core_batch_set_null(b, r, CP_SPREAD_TS), CP_OK);
    assert_true(core_batch_is_null(b, r, CP_SPREAD_TS));
    assert_int_equal(core_batch_col(b, "imbalance"), CP_SPREAD_IMBALANCE);
    assert_int_equal(core_batch_col(b, "nope"), -1);
    core_batch_unref(b);
}

static void test_many_rows_and_copy(void **state)
{
    cp_batch *b = core_batch_new(&cp_trade_schema, 0);
    char id[32];
    for (int i = 0; i < 100000; i++) {
        size_t r = core_batch_add_row(b);
        assert_int_equal(r, (size_t)i);
        int n = snprintf(id, sizeof id, "%d", i);
        assert_int_equal(core_batch_set_string(b, r, CP_TRADE_TRADE_ID, id, (size_t)n), CP_OK);
        assert_int_equal(core_batch_set_decimal(b, r, CP_TRADE_PRICE, id, (size_t)n), CP_OK);
    }
    cp_batch *c = core_batch_copy(b);
    core_batch_unref(b); /* the copy must not share memory */
    assert_int_equal(core_batch_rows(c), 100000);
    assert_string_equal(core_batch_get_text(c, 99999, CP_TRADE_TRADE_ID, NULL), "99999");
    assert_string_equal(core_batch_get_text(c, 12345, CP_TRADE_PRICE, NULL), "12345");
    assert_string_equal(core_batch_schema(c)->stream, "trade");
    core_batch_drop_last_row(c);
    assert_int_equal(core_batch_rows(c), 99999);
    core_batch_unref(c);
}

static void test_invalid_schema_refused(void **state)
{
    static const cp_field bad_fields[] = {{"Bad Name", CP_T_STRING, 0}};
    static const cp_schema bad = {"x", 1, bad_fields};
    assert_null(core_batch_new(&bad, 0));
    static const cp_field ok_fields[] = {{"a", CP_T_STRING, CP_FIELD_KEY | CP_FIELD_NULLABLE}};
    static const cp_schema ok = {"s", 1, ok_fields};
    cp_batch *b = core_batch_new(&ok, 0);
    assert_non_null(b);
    /* key fields are never nullable */
    assert_int_equal(core_batch_schema(b)->fields[0].flags, CP_FIELD_KEY);
    core_batch_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_kept_verbatim),
        cmocka_unit_test(test_types_and_nulls),
        cmocka_unit_test(test_many_rows_and_copy),
        cmocka_unit_test(test_invalid_schema_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
