/* The header-only SDK helpers (coinpipe/utc.h, csv.h, schema.h, sql.h, text.h): values and exact text.
 * SPDX-License-Identifier: MIT
 */
#include <coinpipe/csv.h>
#include <coinpipe/schema.h>
#include <coinpipe/sql.h>
#include <coinpipe/text.h>
#include <coinpipe/utc.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

static void test_utc_iso8601(void **state)
{
    (void)state;
    char out[CP_UTC_ISO8601_SIZE];
    assert_int_equal(cp_utc_iso8601(1732186544123, out), 24);
    assert_string_equal(out, "2024-11-21T10:55:44.123Z");
    cp_utc_iso8601(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    cp_utc_iso8601(-1, out); /* floor, not truncation, before the epoch */
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    cp_utc_iso8601(951782400000, out); /* a leap day of a century divisible by 400 */
    assert_string_equal(out, "2000-02-29T00:00:00.000Z");
    cp_utc_iso8601(253402300799999, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    assert_int_equal(cp_utc_iso8601(253402300800000, out), 15); /* year 10000: the number */
    assert_string_equal(out, "253402300800000");
    assert_int_equal(cp_utc_iso8601_seconds(1732186544999, out), 20);
    assert_string_equal(out, "2024-11-21T10:55:44Z");
}

static void test_utc_days(void **state)
{
    (void)state;
    assert_int_equal(cp_utc_day(0), 0);
    assert_int_equal(cp_utc_day(86399999), 0);
    assert_int_equal(cp_utc_day(86400000), 1);
    assert_int_equal(cp_utc_day(-1), -1);
    assert_int_equal(cp_utc_day(-86400000), -1);
    assert_int_equal(cp_utc_day(-86400001), -2);
    /* civil and days are inverses, and agree with the C library, from year 0 to 9999 */
    for (int64_t d = -719528; d <= 2932896; d += 997) {
        int y, m, dd;
        cp_utc_civil(d, &y, &m, &dd);
        assert_int_equal(cp_utc_days(y, (unsigned)m, (unsigned)dd), d);
        time_t t = (time_t)(d * 86400);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        assert_int_equal(y, tm.tm_year + 1900);
        assert_int_equal(m, tm.tm_mon + 1);
        assert_int_equal(dd, tm.tm_mday);
    }
}

static void test_utc_parse(void **state)
{
    (void)state;
    assert_int_equal(cp_utc_parse_iso8601("2024-11-21T10:55:44.123Z"), 1732186544123);
    assert_int_equal(cp_utc_parse_iso8601("2024-11-21T10:55:44Z"), 1732186544000);
    assert_int_equal(cp_utc_parse_iso8601("2024-11-21T10:55:44"), 1732186544000);
    assert_int_equal(cp_utc_parse_iso8601("2024-11-21T10:55:44.1234567Z"), 1732186544123);
    assert_int_equal(cp_utc_parse_iso8601("2024-11-21T10:55:44.5"), 1732186544500);
    assert_int_equal(cp_utc_parse_iso8601("2024-11-21T11:55:44+01:00"), 1732186544000);
    assert_int_equal(cp_utc_parse_iso8601("2024-11-21T09:25:44-01:30"), 1732186544000);
    static const char *const bad[] = {
        NULL, "", "2024-11-21", "2024-11-21T10:55", "2024-11-21 10:55:44Z", "2024-13-21T10:55:44Z",
        "2024-11-32T10:55:44Z", "2024-11-21T24:00:00Z", "1969-12-31T23:59:59Z", "2024-11-21T10:55:44.Z",
        "2024-11-21T10:55:44+01", "2024-11-21T10:55:44+0100", "2024-11-21T10:55:44Zx", "+024-11-21T10:55:44Z",
        "2024-1-21T10:55:44Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cp_utc_parse_iso8601(bad[i]), -1);
    /* what cp_utc_iso8601 writes reads back */
    char out[CP_UTC_ISO8601_SIZE];
    for (int64_t ms = 0; ms < 4102444800000; ms += 86400000LL * 389 + 3600123) {
        cp_utc_iso8601(ms, out);
        assert_int_equal(cp_utc_parse_iso8601(out), ms);
    }
}

static void test_csv(void **state)
{
    (void)state;
    char num[32];
    assert_int_equal(cp_csv_int(INT64_MIN, num), 20);
    assert_string_equal(num, "-9223372036854775808");
    cp_csv_int(0, num);
    assert_string_equal(num, "0");
    cp_csv_double(0.1, num);
    assert_string_equal(num, "0.1");
    cp_csv_double(1.0 / 3.0, num);
    assert_string_equal(num, "0.33333333333333331"); /* %.15g would not read back */
    cp_buf b = {0};
    cp_csv_text(&b, "plain", 5);
    cp_buf_putc(&b, ',');
    cp_csv_text(&b, "a,b", 3);
    cp_buf_putc(&b, ',');
    cp_csv_text(&b, "say \"hi\"", 8);
    cp_buf_putc(&b, ',');
    cp_csv_text(&b, "two\nlines", 9);
    assert_false(b.oom);
    assert_string_equal(b.p, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"");
    cp_buf_free(&b);
}

static const cp_field fields[] = {
    {.name = "exchange", .type = CP_T_STRING, .flags = CP_FIELD_KEY},
    {.name = "ts", .type = CP_T_TIMESTAMP, .flags = CP_FIELD_KEY},
    {.name = "price", .type = CP_T_DECIMAL, .flags = CP_FIELD_NULLABLE},
    {.name = "n\"x", .type = CP_T_INT64, .flags = CP_FIELD_NULLABLE},
};
static const cp_schema tiny = CP_SCHEMA("tiny", fields);

/* the same columns as a later 2.N might lay them out: wider entries, the known members first */
typedef struct wide_field {
    cp_field known;
    const char *added_later;
} wide_field;
static const wide_field wide_fields[] = {
    {{"exchange", CP_T_STRING, CP_FIELD_KEY}, "x"},
    {{"ts", CP_T_TIMESTAMP, CP_FIELD_KEY}, "y"},
    {{"price", CP_T_DECIMAL, CP_FIELD_NULLABLE}, NULL},
    {{"n\"x", CP_T_INT64, CP_FIELD_NULLABLE}, "z"},
};
static const cp_schema wide = {.stream = "tiny", .nfields = 4, .fields = &wide_fields[0].known,
                               .size = sizeof(cp_schema), .field_size = sizeof(wide_field)};

static void test_schema(void **state)
{
    (void)state;
    cp_schema *c = cp_schema_copy(&tiny);
    assert_non_null(c);
    assert_true(cp_schema_equal(&tiny, c));
    assert_ptr_not_equal(c->fields[0].name, tiny.fields[0].name);
    cp_schema other = tiny;
    other.stream = "other";
    assert_false(cp_schema_equal(&tiny, &other)); /* another stream */
    other = (cp_schema){.stream = "tiny", .nfields = 3, .fields = fields};
    assert_false(cp_schema_equal(&tiny, &other)); /* a column fewer */
    cp_field f2[4] = {fields[0], fields[1], fields[2], fields[3]};
    f2[2].type = CP_T_DOUBLE;
    other = (cp_schema){.stream = "tiny", .nfields = 4, .fields = f2};
    assert_false(cp_schema_equal(&tiny, &other)); /* another type */
    assert_false(cp_schema_equal(&tiny, NULL));
    /* fields are read by the schema's field_size: a wider layout compares and copies the same */
    assert_int_equal(tiny.field_size, sizeof(cp_field));
    assert_string_equal(cp_schema_field(&wide, 3)->name, "n\"x");
    assert_true(cp_schema_equal(&tiny, &wide));
    cp_schema *cw = cp_schema_copy(&wide);
    assert_non_null(cw);
    assert_int_equal(cw->field_size, sizeof(cp_field));
    assert_int_equal(cw->size, sizeof(cp_schema));
    assert_string_equal(cw->fields[2].name, "price");
    assert_int_equal(cw->fields[3].type, CP_T_INT64);
    assert_true(cp_schema_equal(c, cw));
    free(cw);
    free(c);
}

static void collect(void *user, const char *text, size_t len) { cp_buf_put(user, text, len); }

static void prefixed(cp_buf *b, const void *arg, const char *stream)
{
    cp_sql_ident(b, arg);
    cp_buf_putc(b, '.');
    cp_sql_ident(b, stream);
}

static void test_sql(void **state)
{
    (void)state;
    cp_buf b = {0};
    const cp_schema *const list[1] = {&tiny};
    assert_int_equal(cp_sql_ddl_tables(list, 1, "postgresql", false, prefixed, "s", collect, &b), CP_OK);
    assert_string_equal(b.p, "CREATE TABLE IF NOT EXISTS \"s\".\"tiny\" (\n"
                             "    \"exchange\" TEXT NOT NULL,\n"
                             "    \"ts\" TIMESTAMPTZ NOT NULL,\n"
                             "    \"price\" NUMERIC,\n"
                             "    \"n\"\"x\" BIGINT,\n"
                             "    PRIMARY KEY (\"exchange\", \"ts\")\n"
                             ");\n\n");
    cp_buf_reset(&b);
    cp_sql_create_table(&b, "\"tiny\"", &tiny, "sqlite", true);
    assert_string_equal(b.p, "CREATE TABLE IF NOT EXISTS \"tiny\" (\n"
                             "    \"exchange\" TEXT NOT NULL,\n"
                             "    \"ts\" INTEGER NOT NULL,\n"
                             "    \"price\" TEXT,\n"
                             "    \"n\"\"x\" INTEGER,\n"
                             "    PRIMARY KEY (\"exchange\", \"ts\")\n"
                             ") WITHOUT ROWID");
    cp_buf_reset(&b);
    cp_sql_on_conflict(&b, &tiny, true, "postgresql", "t");
    assert_string_equal(b.p, " ON CONFLICT (\"exchange\", \"ts\") DO UPDATE SET \"price\" = excluded.\"price\", "
                             "\"n\"\"x\" = excluded.\"n\"\"x\" WHERE t.\"price\"::text IS DISTINCT FROM "
                             "excluded.\"price\"::text OR t.\"n\"\"x\" IS DISTINCT FROM excluded.\"n\"\"x\"");
    cp_buf_reset(&b);
    cp_sql_on_conflict(&b, &tiny, false, "sqlite", NULL);
    assert_string_equal(b.p, " ON CONFLICT DO NOTHING");
    assert_string_equal(cp_sql_type(CP_T_DECIMAL, "athena", false), "decimal(38,18)");
    assert_string_equal(cp_sql_type(CP_T_TIMESTAMP, "snowflake", false), "TIMESTAMP_TZ");
    assert_string_equal(cp_sql_type(CP_T_DECIMAL, "sqlite", false), "REAL");
    assert_true(cp_sql_latest_wins("ohlcv"));
    assert_true(cp_sql_latest_wins("ticker"));
    assert_true(cp_sql_latest_wins("book_top"));
    assert_false(cp_sql_latest_wins("trade"));
    cp_buf_free(&b);
}

/* cp_json_uint on a copy of `s` padded to `pad` readable bytes (below 24: the digit-by-digit
 * reading; 24 or more: eight at a time): the offset it stops at, or -1 */
static long json_uint_at(const char *s, size_t pad, int64_t *x)
{
    char buf[64];
    size_t n = strlen(s);
    memset(buf, ' ', sizeof buf);
    memcpy(buf, s, n);
    const char *end = cp_json_uint(buf, buf + (n > pad ? n : pad), x);
    return end ? (long)(end - buf) : -1;
}

static void test_text_numbers(void **state)
{
    (void)state;
    uint64_t v = 99;
    assert_int_equal(cp_digits8("12345678", &v), 8);
    assert_int_equal(v, 12345678);
    assert_int_equal(cp_digits8("042.5xyz", &v), 3);
    assert_int_equal(v, 42);
    assert_int_equal(cp_digits8("x1234567", &v), 0);
    assert_int_equal(v, 0);
    for (size_t pad = 0; pad <= 32; pad += 32) { /* both readings give the same answers */
        int64_t x = -1;
        assert_int_equal(json_uint_at("1767195600000,", pad, &x), 13);
        assert_int_equal(x, INT64_C(1767195600000));
        assert_int_equal(json_uint_at("0]", pad, &x), 1);
        assert_int_equal(x, 0);
        assert_int_equal(json_uint_at("999999999999999999,", pad, &x), 18);
        assert_int_equal(x, INT64_C(999999999999999999));
        x = 7;
        assert_int_equal(json_uint_at("1000000000000000000,", pad, &x), -1); /* 19 digits */
        assert_int_equal(json_uint_at("012,", pad, &x), -1);                 /* a leading zero */
        assert_int_equal(json_uint_at("-5,", pad, &x), -1);                  /* a sign */
        assert_int_equal(json_uint_at("12.5,", pad, &x), -1);                /* a fraction */
        assert_int_equal(json_uint_at("12e3,", pad, &x), -1);                /* an exponent */
        assert_int_equal(json_uint_at(",", pad, &x), -1);                    /* no digit */
        assert_int_equal(x, 7);                                              /* unchanged */
    }
    int64_t x = 0;
    assert_null(cp_json_uint("12", "12" + 2, &x)); /* nothing after the digits */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_iso8601), cmocka_unit_test(test_utc_days), cmocka_unit_test(test_utc_parse),
        cmocka_unit_test(test_csv),         cmocka_unit_test(test_schema),   cmocka_unit_test(test_sql),
        cmocka_unit_test(test_text_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
