/* Unit tests for PostgreSQL's binary COPY encoder (plugins/sinks/postgresql_copy.h): the exact bytes.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "../../plugins/sinks/postgresql_copy.h"

#include <stdlib.h>
#include <string.h>

/* NUMERIC's binary form of `text`, compared with `want` (n bytes) */
static void numeric_is(const char *text, const unsigned char *want, size_t n)
{
    char out[8 + 2 * 20 + 4];
    char *end = pgcopy_numeric(out, text, strlen(text));
    assert_non_null(end);
    assert_int_equal((size_t)(end - out), n);
    assert_memory_equal(out, want, n);
}

static void test_numeric(void **state)
{
    /* length, ndigits, weight, sign, dscale, base-10000 digits */
    static const unsigned char one_fifty[] = {0, 0, 0, 12, 0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x13, 0x88};
    numeric_is("1.50", one_fifty, sizeof one_fifty); /* the display scale stays 2 */
    static const unsigned char tiny[] = {0, 0, 0, 10, 0, 1, 0xff, 0xfe, 0x40, 0, 0, 8, 0, 1};
    numeric_is("-0.00000001", tiny, sizeof tiny);
    static const unsigned char tiny_e[] = {0, 0, 0, 10, 0, 1, 0xff, 0xfe, 0, 0, 0, 8, 0, 1};
    numeric_is("1e-8", tiny_e, sizeof tiny_e); /* 0.00000001, eight places, as numeric_in reads it */
    static const unsigned char zero[] = {0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0};
    numeric_is("0", zero, sizeof zero);
    static const unsigned char neg_zero[] = {0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3};
    numeric_is("-0.000", neg_zero, sizeof neg_zero); /* no negative zero; scale kept */
    static const unsigned char big[] = {0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 4, 0, 1, 0x09, 0x29, 0x1a, 0x85};
    numeric_is("12345.6789", big, sizeof big);
    char out[64];
    assert_null(pgcopy_numeric(out, "1e140000", 8)); /* weight beyond int16: the server refuses it too */
}

static void test_row_and_stream(void **state)
{
    static const cp_field fields[] = {
        {"k", CP_T_STRING, CP_FIELD_KEY},     {"d", CP_T_DECIMAL, CP_FIELD_NULLABLE},
        {"t", CP_T_TIMESTAMP, CP_FIELD_KEY},  {"i", CP_T_INT64, CP_FIELD_NULLABLE},
        {"x", CP_T_DOUBLE, CP_FIELD_NULLABLE}, {"b", CP_T_BOOL, CP_FIELD_NULLABLE},
    };
    static const cp_schema schema = CP_SCHEMA("probe", fields);
    const cp_host *h = tk_host();
    cp_ctx ctx = {.host = h};
    cp_batch *batch = tk_batch_new(&schema);
    size_t r = h->batch_add_row(batch);
    h->batch_set_string(batch, r, 0, "ab", 2);
    h->batch_set_null(batch, r, 1);
    h->batch_set_int(batch, r, 2, 946684801000LL); /* 2000-01-01T00:00:01Z: 1 000 000 us */
    h->batch_set_int(batch, r, 3, -2);
    h->batch_set_double(batch, r, 4, 1.5);
    h->batch_set_bool(batch, r, 5, true);
    cp_buf b = {0};
    pgcopy_begin(&b);
    size_t bad = 99;
    assert_true(pgcopy_row(&b, &ctx, batch, 0, &schema, &bad));
    pgcopy_end(&b);
    static const unsigned char want[] = {
        'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0, /* header */
        0, 6,                                                   /* six fields */
        0, 0, 0, 2, 'a', 'b',                                   /* text */
        0xff, 0xff, 0xff, 0xff,                                 /* NULL */
        0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40,            /* timestamptz: 1e6 us */
        0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* int8 -2 */
        0, 0, 0, 8, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,               /* float8 1.5 */
        0, 0, 0, 1, 1,                                          /* bool */
        0xff, 0xff,                                             /* trailer */
    };
    assert_false(b.oom);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    assert_int_equal(bad, 99); /* untouched */

    /* a time outside years 1-9999 is refused, naming the column */
    h->batch_set_int(batch, r, 2, 253402300800000LL); /* 10000-01-01 */
    cp_buf_reset(&b);
    assert_false(pgcopy_row(&b, &ctx, batch, 0, &schema, &bad));
    assert_int_equal(bad, 2);
    char msg[256];
    pgcopy_bad_value(msg, sizeof msg, &ctx, batch, &schema, 0, bad);
    assert_string_equal(msg, "row 1 column \"t\": time 253402300800000 ms is outside the years 1-9999");
    /* and a decimal outside NUMERIC's range */
    h->batch_set_int(batch, r, 2, 0);
    h->batch_set_decimal(batch, r, 1, "1e140000", 8);
    cp_buf_reset(&b);
    assert_false(pgcopy_row(&b, &ctx, batch, 0, &schema, &bad));
    assert_int_equal(bad, 1);
    pgcopy_bad_value(msg, sizeof msg, &ctx, batch, &schema, 0, bad);
    assert_string_equal(msg, "row 1 column \"d\": 1e140000 is outside NUMERIC's range");
    cp_buf_free(&b);
    tk_batch_free(batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_row_and_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
