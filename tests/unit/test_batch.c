/* Unit tests for the batch model (core/batch.c).
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/batch.h"
#include "core/host.h"
#include "decimal_ref.h"
#include "row_text.h"

#include <coinpipe/buf.h>
#include <coinpipe/streams.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

static cp_batch *until_batch; /* where check_decimal tries core_batch_set_decimal_until */

/* core_batch_set_decimal_until on s read in place as a JSON string's text: s, the closing quote,
 * more text. It takes what core_decimal_parse takes (of at most 64 bytes), the same double,
 * exactly s as the text, and sets nothing otherwise. */
static void check_until(const char *s, size_t len, bool valid, double want)
{
    char buf[160];
    if (len + 40 > sizeof buf)
        return;
    memcpy(buf, s, len);
    static const char after[] = "\",\"9\",\"0.1\",\"0.2\",\"0.3\"]"; /* enough for reading 16 bytes ahead */
    memcpy(buf + len, after, sizeof after);
    if (core_batch_rows(until_batch) >= 1024) { /* a fresh batch now and then: memory stays small */
        core_batch_unref(until_batch);
        until_batch = core_batch_new(&cp_ticker_schema, 0);
    }
    size_t row = core_batch_add_row(until_batch), n = 99;
    double d = 0;
    cp_status st = core_batch_set_decimal_until(until_batch, row, CP_TICKER_LAST, buf, len + sizeof after, '"', &n, &d);
    bool ok = valid && len <= 64;
    if (st != (ok ? CP_OK : CP_ERR_PARSE))
        fail_msg("\"%.*s\": set_decimal_until gave %d", (int)len, s, (int)st);
    if (!ok) {
        assert_true(core_batch_is_null(until_batch, row, CP_TICKER_LAST));
        assert_int_equal(n, 99);
        return;
    }
    size_t tl = 0;
    const char *t = core_batch_get_text(until_batch, row, CP_TICKER_LAST, &tl);
    assert_int_equal(n, len);
    assert_int_equal(tl, len);
    assert_memory_equal(t, s, len);
    double got = core_batch_get_double(until_batch, row, CP_TICKER_LAST);
    if (memcmp(&got, &want, sizeof got) != 0 || memcmp(&d, &want, sizeof d) != 0)
        fail_msg("\"%.*s\": set_decimal_until %.17g / %.17g, strtod %.17g", (int)len, s, got, d, want);
}

/* core_decimal_parse against the reference grammar and strtod: same verdict, same bits. */
static void check_decimal(const char *s, size_t len)
{
    double got = 0;
    bool ok = core_decimal_parse(s, len, &got);
    if (ok != decimal_ref_valid(s, len))
        fail_msg("\"%.*s\": parse says %s, the grammar %s", (int)len, s, ok ? "valid" : "invalid",
                 ok ? "invalid" : "valid");
    double want = ok ? decimal_ref_value(s, len) : 0;
    if (until_batch)
        check_until(s, len, ok, want);
    if (!ok)
        return;
    if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("\"%.*s\": %.17g, strtod %.17g", (int)len, s, got, want);
}

/* What set_decimal_until refuses before reading: a term that can be part of a decimal, no term
 * among the first 65 bytes, the wrong column. */
static void test_decimal_until_limits(void **state)
{
    (void)state;
    cp_batch *b = core_batch_new(&cp_ticker_schema, 0);
    size_t r = core_batch_add_row(b), n = 0;
    double d;
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_LAST, "1.5\"", 4, '"', &n, &d), CP_OK);
    assert_int_equal(n, 3);
    assert_true(d == 1.5);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, "1.5\"", 3, '"', &n, &d), CP_ERR_PARSE);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, "1.5,", 4, ',', &n, NULL), CP_OK);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, "1.5e", 4, 'e', &n, &d), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, "15", 2, '5', &n, &d), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_SYMBOL, "1\"", 2, '"', &n, &d), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_decimal_until(b, r + 1, CP_TICKER_ASK, "1\"", 2, '"', &n, &d), CP_ERR_INVALID);
    /* the same with 17 bytes or more to read (the usual form's quick reading applies): a term
     * that continues a decimal is refused, even where it follows one in the usual form */
    static const char pad[] = "0000000000000000000000";
    char t[40];
    snprintf(t, sizeof t, "1.5.%s", pad);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, t, strlen(t), '.', &n, &d), CP_ERR_INVALID);
    snprintf(t, sizeof t, "1.5+%s", pad);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, t, strlen(t), '+', &n, &d), CP_ERR_INVALID);
    snprintf(t, sizeof t, "1.5-%s", pad);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, t, strlen(t), '-', &n, &d), CP_ERR_INVALID);
    snprintf(t, sizeof t, "1.5E%s", pad);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, t, strlen(t), 'E', &n, &d), CP_ERR_INVALID);
    snprintf(t, sizeof t, "12345678.5\"%s", pad); /* 8 digits before the point: the general reading */
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_BID, t, strlen(t), '"', &n, &d), CP_OK);
    assert_int_equal(n, 10);
    assert_true(d == 12345678.5);
    snprintf(t, sizeof t, "1.5\"%s", pad);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_SYMBOL, t, strlen(t), '"', &n, &d), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_decimal_until(b, r + 1, CP_TICKER_ASK, t, strlen(t), '"', &n, &d), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_ASK, NULL, strlen(t), '"', &n, &d), CP_ERR_INVALID);
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_ASK, t, strlen(t), '"', NULL, &d), CP_ERR_INVALID);
    assert_true(core_batch_is_null(b, r, CP_TICKER_ASK));
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_ASK, t, strlen(t), '"', &n, &d), CP_OK);
    assert_int_equal(n, 3);
    char big[80];
    memset(big, '1', sizeof big);
    big[64] = '"';
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_ASK, big, sizeof big, '"', &n, &d), CP_OK);
    assert_int_equal(n, 64);
    big[64] = '1', big[65] = '"';
    assert_int_equal(core_batch_set_decimal_until(b, r, CP_TICKER_ASK_SIZE, big, sizeof big, '"', &n, &d),
                     CP_ERR_PARSE);
    assert_true(core_batch_is_null(b, r, CP_TICKER_ASK_SIZE));
    core_batch_unref(b);
}

static void test_decimal_parse_equals_strtod(void **state)
{
    until_batch = core_batch_new(&cp_ticker_schema, 0);
    assert_non_null(until_batch);
    static const char *const edge[] = {
        "0", "-0", "+0", "0.0", "-0.0", ".5", "5.", "-.5", "+.5e1", "1e22", "1e23", "1e-22", "1e-23", "9007199254740992",
        "9007199254740993", "9007199254740993e-5", "4503599627370497.5", "1.7976931348623157e308", "1e309", "-1e309",
        "4.9e-324", "2.4703282292062327e-324", "1e-400", "2.2250738585072011e-308", "0.1", "0.2", "0.3",
        "123456789012345678901234567890", "1234567890123456789", "999999999999999999", "9999999999999999999",
        "18446744073709551615", "18446744073709551616", "0.00012300", "43123.45000000", "1.5e-7", "1E+5", "00000.000001",
        "1.000000000000000000000000000000000000000000000000000000000000000", "0.000000000000000000000001",
        "0e999999999999999999999", "1e-99999999999999999999", "1e0000000000000000000000000000000005", "22e-22",
        "2e22", "12345678901234567e-22", "8.98846567431158e307", "0.0000000000000000000000000000000000000001e40",
        "", "-", "+", ".", "e1", "1e", "1e+", "1.2.3", "--1", "1-", " 1", "1 ", "0x10", "inf", "nan", "1,5", "١"};
    (void)state;
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        check_decimal(edge[i], strlen(edge[i]));
    /* random numbers of every shape the exchanges write, and some they do not */
    srand(20261121);
    char buf[96];
    for (int n = 0; n < 300000; n++) {
        size_t l = 0;
        int r = rand();
        if (r % 3 == 1)
            buf[l++] = '-';
        else if (r % 7 == 2)
            buf[l++] = '+';
        int idig = rand() % 22, fdig = rand() % 26, zeros = rand() % 4 == 0 ? rand() % 12 : 0;
        for (int k = 0; k < zeros && l < 40; k++)
            buf[l++] = '0';
        for (int k = 0; k < idig; k++)
            buf[l++] = (char)('0' + rand() % 10);
        if (rand() % 4 != 0) {
            buf[l++] = '.';
            for (int k = 0; k < fdig; k++)
                buf[l++] = (char)('0' + (rand() % 3 == 0 ? 0 : rand() % 10));
        }
        if (rand() % 3 == 0) {
            int e = rand() % 5 == 0 ? rand() % 800 - 400 : rand() % 60 - 30;
            l += (size_t)snprintf(buf + l, sizeof buf - l, "%s%d", rand() % 2 ? "e" : "E", e);
        }
        check_decimal(buf, l);
    }
    /* and arbitrary short strings over the alphabet of numbers */
    static const char alpha[] = "0123456789.-+eE";
    for (int n = 0; n < 200000; n++) {
        size_t l = (size_t)(rand() % 9);
        for (size_t k = 0; k < l; k++)
            buf[k] = alpha[rand() % (sizeof alpha - 1)];
        check_decimal(buf, l);
    }
    core_batch_unref(until_batch);
    until_batch = NULL;
}

/* The spool's record payload, byte for byte: the compact form written now, and the form of
 * earlier releases ("v1"), which spools written before an upgrade hold, still read. */
static void test_serialized_form_is_stable(void **state)
{
    (void)state;
    static const cp_field f[] = {{"a", CP_T_INT64, CP_FIELD_KEY},
                                 {"b", CP_T_DECIMAL, CP_FIELD_NULLABLE},
                                 {"c", CP_T_STRING, CP_FIELD_NULLABLE}};
    static const cp_schema sc = {.stream = "t", .nfields = 3, .fields = f};
    cp_batch *b = core_batch_new(&sc, 0);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(core_batch_add_row(b), (size_t)r);
        assert_int_equal(core_batch_set_int(b, r, 0, r + 1), CP_OK);
        assert_int_equal(core_batch_set_string(b, r, 2, "xy", 2), CP_OK); /* the second shares the first's text */
    }
    assert_int_equal(core_batch_set_decimal(b, 0, 1, "1.5", 3), CP_OK);
    static const unsigned char want[] = {
        'C', 'P', 'B', '2', 1, 0, 't', 3, 0,             /* format, stream, 3 fields */
        1, 0, 'a', CP_T_INT64, CP_FIELD_KEY,              /* a */
        1, 0, 'b', CP_T_DECIMAL, CP_FIELD_NULLABLE,       /* b */
        1, 0, 'c', CP_T_STRING, CP_FIELD_NULLABLE,        /* c */
        2, 0, 0, 0,                                       /* rows */
        0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2,                  /* a: no NULL, width 1, 1, +1 zigzag coded */
        1, 0, 1, 3, '1', '.', '5',                        /* b: null bytes, "1.5" */
        0, 3, 'x', 'y', 0};                               /* c: no NULL, "xy" (length + 1), the row above's */
    cp_buf o = {0};
    cp_buf_put(&o, "HDR", 3); /* appended after what the buffer holds */
    assert_int_equal(core_batch_serialize(b, &o), CP_OK);
    assert_int_equal(o.len, 3 + sizeof want);
    assert_memory_equal(o.p + 3, want, sizeof want);
    static const unsigned char v1[] = {
        1, 0, 't', 3, 0,                                  /* stream, 3 fields */
        1, 0, 'a', CP_T_INT64, CP_FIELD_KEY,              /* a */
        1, 0, 'b', CP_T_DECIMAL, CP_FIELD_NULLABLE,       /* b */
        1, 0, 'c', CP_T_STRING, CP_FIELD_NULLABLE,        /* c */
        2, 0, 0, 0,                                       /* rows */
        0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, /* a: no nulls, 1, 2 */
        0, 1, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 3, 0, 0, 0, '1', '.', '5', /* b: 1.5 (double, text), NULL */
        0, 0, 2, 0, 0, 0, 'x', 'y', 2, 0, 0, 0, 'x', 'y'};  /* c */
    const struct {
        const void *p;
        size_t len;
    } forms[] = {{o.p + 3, o.len - 3}, {v1, sizeof v1}};
    for (size_t i = 0; i < 2; i++) {
        cp_batch *c = NULL;
        assert_int_equal(core_batch_deserialize(forms[i].p, forms[i].len, &c), CP_OK);
        assert_int_equal(core_batch_rows(c), 2);
        assert_int_equal(core_batch_get_int(c, 0, 0), 1);
        assert_int_equal(core_batch_get_int(c, 1, 0), 2);
        assert_string_equal(core_batch_get_text(c, 0, 1, NULL), "1.5");
        assert_true(core_batch_get_double(c, 0, 1) == 1.5);
        assert_true(core_batch_is_null(c, 1, 1));
        assert_string_equal(core_batch_get_text(c, 0, 2, NULL), "xy");
        assert_string_equal(core_batch_get_text(c, 1, 2, NULL), "xy");
        /* read back from either form, it is written in the compact one again */
        cp_buf again = {0};
        assert_int_equal(core_batch_serialize(c, &again), CP_OK);
        assert_int_equal(again.len, sizeof want);
        assert_memory_equal(again.p, want, sizeof want);
        cp_buf_free(&again);
        core_batch_unref(c);
    }
    cp_buf_free(&o);
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

/* core_batch_append: rows after rows, text offsets moved, nulls kept, src untouched; other columns refused */
static void test_append(void **state)
{
    (void)state;
    cp_batch *dst = core_batch_new(&cp_trade_schema, 0), *src = core_batch_new(&cp_trade_schema, 0);
    char id[16];
    for (int r = 0; r < 3; r++) {
        size_t d = core_batch_add_row(dst);
        snprintf(id, sizeof id, "%d", r);
        assert_int_equal(core_batch_set_string(dst, d, CP_TRADE_TRADE_ID, id, strlen(id)), CP_OK);
        assert_int_equal(core_batch_set_decimal(dst, d, CP_TRADE_PRICE, "1.50", 4), CP_OK);
    }
    for (int k = 0; k < 40; k++) { /* appended again and again, as micro-batches are */
        while (core_batch_rows(src))
            core_batch_drop_last_row(src);
        size_t r = core_batch_add_row(src);
        snprintf(id, sizeof id, "%d", 100 + k);
        assert_int_equal(core_batch_set_string(src, r, CP_TRADE_TRADE_ID, id, strlen(id)), CP_OK);
        assert_int_equal(core_batch_set_decimal(src, r, CP_TRADE_PRICE, "0.000123000", 11), CP_OK);
        assert_int_equal(core_batch_set_int(src, r, CP_TRADE_TS, 1000 + k), CP_OK);
        assert_int_equal(core_batch_append(dst, src), CP_OK);
        assert_int_equal(core_batch_rows(src), 1);
    }
    assert_int_equal(core_batch_rows(dst), 43);
    size_t len;
    assert_string_equal(core_batch_get_text(dst, 1, CP_TRADE_TRADE_ID, &len), "1");
    assert_string_equal(core_batch_get_text(dst, 2, CP_TRADE_PRICE, &len), "1.50");
    assert_true(core_batch_is_null(dst, 2, CP_TRADE_TS));
    assert_string_equal(core_batch_get_text(dst, 42, CP_TRADE_TRADE_ID, &len), "139");
    assert_string_equal(core_batch_get_text(dst, 42, CP_TRADE_PRICE, &len), "0.000123000");
    assert_int_equal(len, 11);
    assert_true(fabs(core_batch_get_double(dst, 42, CP_TRADE_PRICE) - 0.000123) < 1e-15);
    assert_int_equal(core_batch_get_int(dst, 42, CP_TRADE_TS), 1039);
    assert_true(core_batch_is_null(dst, 42, CP_TRADE_SIDE));
    cp_batch *other = core_batch_new(&cp_ticker_schema, 0);
    core_batch_add_row(other);
    assert_int_equal(core_batch_append(dst, other), CP_ERR_INVALID);
    assert_int_equal(core_batch_rows(dst), 43);
    core_batch_unref(other);
    core_batch_unref(src);
    core_batch_unref(dst);
}

/* Texts of every length class the record writer copies differently (0-3, 4-7, 8-16, longer),
 * NULLs, a text repeated from the row above and not: each cell reads back as it was written */
/* A row is NULL in every column when added, whatever its place held before: past a block of
 * cleared rows, after a capacity grows, after the last row is dropped or rows are kept. */
static void fill_row(cp_batch *b, size_t r)
{
    const cp_schema *s = core_batch_schema(b);
    for (size_t c = 0; c < s->nfields; c++) {
        cp_type t = s->fields[c].type;
        cp_status st = t == CP_T_STRING    ? core_batch_set_string(b, r, c, "x", 1)
                       : t == CP_T_DECIMAL ? core_batch_set_decimal(b, r, c, "1.5", 3)
                       : t == CP_T_DOUBLE  ? core_batch_set_double(b, r, c, 2.5)
                       : t == CP_T_BOOL    ? core_batch_set_bool(b, r, c, true)
                                           : core_batch_set_int(b, r, c, 7);
        assert_int_equal(st, CP_OK);
    }
}

static void assert_row_null(const cp_batch *b, size_t r)
{
    for (size_t c = 0; c < core_batch_schema(b)->nfields; c++)
        assert_true(core_batch_is_null(b, r, c));
}

static bool keep_even(void *user, const cp_batch *b, size_t row)
{
    (void)user, (void)b;
    return row % 2 == 0;
}

static void test_added_rows_are_null(void **state)
{
    (void)state;
    cp_batch *b = core_batch_new(&cp_ohlcv_schema, 100); /* a capacity that is not a multiple of the block */
    for (size_t i = 0; i < 300; i++) {
        size_t r = core_batch_add_row(b);
        assert_int_equal(r, i);
        assert_row_null(b, r);
        fill_row(b, r);
    }
    core_batch_drop_last_row(b);
    size_t r = core_batch_add_row(b);
    assert_int_equal(r, 299);
    assert_row_null(b, r);
    fill_row(b, r);
    assert_int_equal(core_batch_keep_rows(b, keep_even, NULL), 150);
    for (size_t i = 0; i < 150; i++) { /* the places of the rows that went */
        r = core_batch_add_row(b);
        assert_row_null(b, r);
        if (i % 3 == 0)
            fill_row(b, r);
    }
    for (size_t i = 0; i < 300; i++)
        for (size_t c = 0; c < cp_ohlcv_schema.nfields; c++)
            assert_int_equal(core_batch_is_null(b, i, c), i >= 150 && (i - 150) % 3 != 0);
    /* rows appended where cleared rows were waiting, the last one dropped: added NULL again */
    cp_batch *two = core_batch_new(&cp_ohlcv_schema, 2);
    for (size_t i = 0; i < 2; i++)
        fill_row(two, core_batch_add_row(two));
    assert_int_equal(core_batch_append(b, two), CP_OK);
    core_batch_drop_last_row(b);
    r = core_batch_add_row(b);
    assert_int_equal(r, 301);
    assert_row_null(b, r);
    core_batch_unref(two);
    core_batch_unref(b);
}

/* A string equal to the row above's shares its bytes, one that differs anywhere does not:
 * texts of 0 to 17 bytes, differing in their first, middle or last byte. */
static void test_strings_shared_with_the_row_above(void **state)
{
    (void)state;
    cp_batch *b = core_batch_new(&cp_trade_schema, 0);
    char base[20], other[20];
    for (size_t n = 0; n <= 17; n++) {
        for (size_t i = 0; i < n; i++)
            base[i] = (char)('a' + (i * 7 + n) % 26);
        size_t at[] = {0, n / 2, n ? n - 1 : 0};
        for (size_t k = 0; k < 3 && n; k++) {
            memcpy(other, base, n);
            other[at[k]] ^= 1;
            size_t r0 = core_batch_add_row(b), r1 = core_batch_add_row(b), r2 = core_batch_add_row(b);
            assert_int_equal(core_batch_set_string(b, r0, CP_TRADE_SYMBOL, base, n), CP_OK);
            assert_int_equal(core_batch_set_string(b, r1, CP_TRADE_SYMBOL, base, n), CP_OK);
            assert_int_equal(core_batch_set_string(b, r2, CP_TRADE_SYMBOL, other, n), CP_OK);
            size_t l0, l1, l2;
            const char *t0 = core_batch_get_text(b, r0, CP_TRADE_SYMBOL, &l0);
            const char *t1 = core_batch_get_text(b, r1, CP_TRADE_SYMBOL, &l1);
            const char *t2 = core_batch_get_text(b, r2, CP_TRADE_SYMBOL, &l2);
            assert_ptr_equal(t0, t1); /* shared */
            assert_ptr_not_equal(t1, t2);
            assert_int_equal(l1, n);
            assert_int_equal(l2, n);
            assert_memory_equal(t1, base, n);
            assert_memory_equal(t2, other, n);
        }
    }
    size_t r = core_batch_add_row(b), s = core_batch_add_row(b); /* empty after empty: shared too */
    assert_int_equal(core_batch_set_string(b, r, CP_TRADE_SYMBOL, "", 0), CP_OK);
    assert_int_equal(core_batch_set_string(b, s, CP_TRADE_SYMBOL, "", 0), CP_OK);
    assert_ptr_equal(core_batch_get_text(b, r, CP_TRADE_SYMBOL, NULL), core_batch_get_text(b, s, CP_TRADE_SYMBOL, NULL));
    core_batch_unref(b);
}

static void test_roundtrip_every_text_length(void **state)
{
    cp_batch *b = core_batch_new(&cp_trade_schema, 0);
    char id[64], price[64];
    for (int i = 0; i < 300; i++) {
        size_t r = core_batch_add_row(b);
        int n = i % 41; /* trade ids of 0..40 characters */
        for (int k = 0; k < n; k++)
            id[k] = (char)('a' + (i + k) % 26);
        core_batch_set_string(b, r, CP_TRADE_EXCHANGE, "binance", 7);
        core_batch_set_string(b, r, CP_TRADE_SYMBOL, i % 3 ? "BTC-USDT" : "ETH-BTC", i % 3 ? 8 : 7);
        core_batch_set_string(b, r, CP_TRADE_TRADE_ID, id, (size_t)n);
        int pn = snprintf(price, sizeof price, i % 2 ? "%d.%0*d" : "%d", i, i % 20, 7);
        if (i % 7)
            core_batch_set_decimal(b, r, CP_TRADE_PRICE, price, (size_t)pn);
        core_batch_set_int(b, r, CP_TRADE_TS, 1700000000000LL + i);
    }
    cp_buf o = {0};
    assert_int_equal(core_batch_serialize(b, &o), CP_OK);
    cp_batch *c = NULL;
    assert_int_equal(core_batch_deserialize(o.p, o.len, &c), CP_OK);
    assert_int_equal(core_batch_rows(c), 300);
    tk_assert_same_batch(b, c);
    /* and it writes the same bytes again */
    cp_buf o2 = {0};
    assert_int_equal(core_batch_serialize(c, &o2), CP_OK);
    assert_int_equal(o.len, o2.len);
    assert_memory_equal(o.p, o2.p, o.len);
    cp_buf_free(&o);
    cp_buf_free(&o2);
    core_batch_unref(c);
    core_batch_unref(b);
}


static void test_invalid_schema_refused(void **state)
{
    static const cp_field bad_fields[] = {{"Bad Name", CP_T_STRING, 0}};
    static const cp_schema bad = {.stream = "x", .nfields = 1, .fields = bad_fields};
    assert_null(core_batch_new(&bad, 0));
    static const cp_field ok_fields[] = {{"a", CP_T_STRING, CP_FIELD_KEY | CP_FIELD_NULLABLE}};
    static const cp_schema ok = {.stream = "s", .nfields = 1, .fields = ok_fields};
    cp_batch *b = core_batch_new(&ok, 0);
    assert_non_null(b);
    /* key fields are never nullable */
    assert_int_equal(core_batch_schema(b)->fields[0].flags, CP_FIELD_KEY);
    core_batch_unref(b);
}

/* core_batch_json_rows writes what core_batch_json_value writes cell by cell: nulls, escapes,
 * texts shared with the row above, decimals JSON cannot carry as written, long keys */
static void test_json_rows(void **state)
{
    static const cp_field f[] = {
        {"a_key_longer_than_thirty_two_bytes_x", CP_T_STRING, CP_FIELD_NULLABLE},
        {"t", CP_T_TIMESTAMP, CP_FIELD_NULLABLE},
        {"n", CP_T_INT64, CP_FIELD_NULLABLE},
        {"d", CP_T_DECIMAL, CP_FIELD_NULLABLE},
        {"x", CP_T_DOUBLE, CP_FIELD_NULLABLE},
        {"b", CP_T_BOOL, CP_FIELD_NULLABLE},
        {"s", CP_T_STRING, CP_FIELD_NULLABLE},
    };
    static const cp_schema sch = {.stream = "j", .nfields = 7, .fields = f};
    static const char *const texts[] = {"binance", "binance", "q\"uo\\te\n", "q\"uo\\te\n", "", "binance"};
    static const char *const decs[] = {"105.5", "+1", "007", "-0.00000001", ".5", "1e5"};
    cp_batch *b = core_batch_new(&sch, 0);
    for (size_t r = 0; r < 3000; r++) {
        core_batch_add_row(b);
        if (r % 7 != 3)
            core_batch_set_string(b, r, 0, texts[r % 6], strlen(texts[r % 6]));
        core_batch_set_int(b, r, 1, r == 5 ? INT64_MIN : 1704067200000 + (int64_t)r * 60000);
        if (r % 5)
            core_batch_set_int(b, r, 2, r == 7 ? INT64_MAX : -(int64_t)r * 99);
        core_batch_set_decimal(b, r, 3, decs[r % 6], strlen(decs[r % 6]));
        core_batch_set_double(b, r, 4, r % 4 ? 0.1 * (double)r : NAN);
        if (r % 3)
            core_batch_set_bool(b, r, 5, r % 2);
        core_batch_set_string(b, r, 6, texts[r % 3], strlen(texts[r % 3]));
    }
    cp_buf want = {0}, got = {0};
    for (size_t r = 0; r < 3000; r++) {
        cp_buf_puts(&want, r ? ",\n{" : "\n{");
        for (size_t c = 0; c < 7; c++) {
            cp_buf_printf(&want, c ? ",\"%s\":" : "\"%s\":", f[c].name);
            core_batch_json_value(&want, b, r, c);
        }
        cp_buf_putc(&want, '}');
    }
    size_t count = 0;
    assert_true(core_batch_json_rows(&got, b, &count));
    assert_int_equal(count, 3000);
    assert_int_equal(got.len, want.len);
    assert_string_equal(got.p, want.p);
    assert_non_null(strstr(got.p, "\n{\"a_key_longer_than_thirty_two_bytes_x\":\"binance\",\"t\":1704067200000,"
                                  "\"n\":null,\"d\":105.5,\"x\":null,\"b\":null,\"s\":\"binance\"}"));
    assert_non_null(strstr(got.p, "\"t\":-9223372036854775808,\"n\":null,\"d\":1e5,"));
    assert_non_null(strstr(got.p, "\"a_key_longer_than_thirty_two_bytes_x\":null,"));
    /* a second batch continues the array: its first row after a comma */
    assert_true(core_batch_json_rows(&got, b, &count));
    assert_int_equal(count, 6000);
    assert_int_equal(got.len, 2 * want.len + 1);
    assert_memory_equal(got.p + want.len, ",", 1);
    cp_buf_free(&want);
    cp_buf_free(&got);
    core_batch_unref(b);
}

/* A kline as Binance sends it, from after its '[' (what cp_batch_set_json_elements reads) */
static const char kline_text[] = "1767195600000,\"0.50000000\",\"0.50095336\",\"0.49975271\",\"0.50051097\","
                                 "\"156.71706496\",1767195659999,\"78.35853248\",1666,\"76.28311180\",\"38.14155590\",\"0\"]";
static const size_t kline_cols[11] = {CP_OHLCV_OPEN_TIME,  CP_OHLCV_OPEN,         CP_OHLCV_HIGH,
                                      CP_OHLCV_LOW,        CP_OHLCV_CLOSE,        CP_OHLCV_VOLUME,
                                      CP_OHLCV_CLOSE_TIME, CP_OHLCV_QUOTE_VOLUME, CP_OHLCV_TRADE_COUNT,
                                      CP_OHLCV_TAKER_BUY_BASE_VOLUME, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME};

/* One reading of `text` into a fresh row of b through ctx; the row's cells as text in out. */
static cp_status read_elements(cp_ctx *ctx, cp_batch *b, const char *kinds, const char *text, size_t avail,
                               size_t *len, char *out, size_t cap)
{
    size_t row = core_batch_add_row(b);
    cp_status st = cp_batch_set_json_elements(ctx, b, row, kinds, kline_cols, text, avail, len);
    row_text(b, row, out, cap);
    return st;
}

/* The elements of a kline read in place: the values, the texts, the bytes read; what is refused. */
static void test_json_elements(void **state)
{
    (void)state;
    cp_ctx ctx = {.host = &core_host};
    cp_batch *b = core_batch_new(&cp_ohlcv_schema, 0);
    size_t row = core_batch_add_row(b), n = 0, avail = strlen(kline_text);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, "idddddididd", kline_cols, kline_text, avail, &n),
                     CP_OK);
    assert_int_equal(n, strlen(kline_text) - strlen(",\"0\"]"));
    assert_int_equal(core_batch_get_int(b, row, CP_OHLCV_OPEN_TIME), 1767195600000LL);
    assert_int_equal(core_batch_get_int(b, row, CP_OHLCV_CLOSE_TIME), 1767195659999LL);
    assert_int_equal(core_batch_get_int(b, row, CP_OHLCV_TRADE_COUNT), 1666);
    assert_string_equal(core_batch_get_text(b, row, CP_OHLCV_HIGH, NULL), "0.50095336");
    assert_true(core_batch_get_double(b, row, CP_OHLCV_HIGH) == strtod("0.50095336", NULL));
    assert_string_equal(core_batch_get_text(b, row, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME, NULL), "38.14155590");
    assert_true(core_batch_is_null(b, row, CP_OHLCV_SYMBOL));
    /* fewer elements: only those */
    row = core_batch_add_row(b);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, "id", kline_cols, kline_text, avail, &n), CP_OK);
    assert_int_equal(n, strlen("1767195600000,\"0.50000000\""));
    assert_true(core_batch_is_null(b, row, CP_OHLCV_HIGH));
    /* refused before reading: a bad row, letter, column or type, NULLs, too many letters */
    size_t bad_cols[2] = {CP_OHLCV_SYMBOL, 99};
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row + 1, "i", kline_cols, kline_text, avail, &n),
                     CP_ERR_INVALID);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, "x", kline_cols, kline_text, avail, &n), CP_ERR_INVALID);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, "d", kline_cols, kline_text, avail, &n), CP_ERR_INVALID);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, "i", kline_cols + 1, kline_text, avail, &n),
                     CP_ERR_INVALID);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, "d", bad_cols, "\"1\"", 3, &n), CP_ERR_INVALID);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, "i", bad_cols + 1, "1,", 2, &n), CP_ERR_INVALID);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, NULL, kline_cols, kline_text, avail, &n),
                     CP_ERR_INVALID);
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, "i", kline_cols, kline_text, avail, NULL),
                     CP_ERR_INVALID);
    char many[66];
    memset(many, 'i', 65);
    many[65] = '\0';
    assert_int_equal(cp_batch_set_json_elements(&ctx, b, row, many, kline_cols, kline_text, avail, &n),
                     CP_ERR_INVALID);
    /* not the usual forms: a sign, a leading zero, 19 digits, a fraction or exponent after an
     * integer, a space, an escape, an infinite decimal, one of 65 bytes, the text's end */
    static const char *const not_usual[] = {
        "-1,\"1\"",          "01,\"1\"",  "1234567890123456789,\"1\"", "1.5,\"1\"", "1e3,\"1\"", " 1,\"1\"",
        "1, \"1\"",          "1,\"1\\u0030\"", "1,\"1e999\"", "1,1",   "1",        "1,\"1",
        "1,\"00000000000000000000000000000000000000000000000000000000000000001\"",
    };
    for (size_t i = 0; i < sizeof not_usual / sizeof *not_usual; i++) {
        row = core_batch_add_row(b);
        if (cp_batch_set_json_elements(&ctx, b, row, "id", kline_cols, not_usual[i], strlen(not_usual[i]), &n) !=
            CP_ERR_PARSE)
            fail_msg("%s: read", not_usual[i]);
    }
    core_batch_unref(b);
}

/* A core older than ABI 2.2: the wrapper reads the same texts the same way through
 * set_decimal_until and set_int (the same status, bytes read and cells), for the kline with
 * each byte replaced, removed or the text cut short. */
static void test_json_elements_older_core(void **state)
{
    (void)state;
    cp_host old = core_host;
    old.size = offsetof(cp_host, batch_set_json_elements);
    cp_ctx now = {.host = &core_host}, before = {.host = &old};
    cp_batch *b[2] = {core_batch_new(&cp_ohlcv_schema, 0), core_batch_new(&cp_ohlcv_schema, 0)};
    static const char subst[] = "-+09.eE\"\\ ,x1";
    size_t len = strlen(kline_text), cases = 0;
    for (size_t at = 0; at <= len; at++)
        for (size_t k = 0; k < sizeof subst + 1; k++) { /* each replacement, then a removal, then a cut */
            char text[256];
            size_t tl = len;
            memcpy(text, kline_text, len + 1);
            if (at == len && k < sizeof subst)
                continue;
            if (k + 1 < sizeof subst)
                text[at] = subst[k];
            else if (k + 1 == sizeof subst)
                memmove(text + at, text + at + 1, len - at), tl--;
            else
                tl = at;
            char got[2][2048];
            size_t n[2] = {0, 0};
            cp_status st[2];
            for (int v = 0; v < 2; v++) {
                if (core_batch_rows(b[v]) >= 512) {
                    core_batch_unref(b[v]);
                    b[v] = core_batch_new(&cp_ohlcv_schema, 0);
                }
                st[v] = read_elements(v ? &before : &now, b[v], "idddddididd", text, tl, &n[v], got[v], sizeof got[v]);
            }
            if (st[0] != st[1] || (st[0] == CP_OK && (n[0] != n[1] || strcmp(got[0], got[1]) != 0)))
                fail_msg("\"%.*s\": core %d (%zu) %s, wrapper %d (%zu) %s", (int)tl, text, (int)st[0], n[0], got[0],
                         (int)st[1], n[1], got[1]);
            cases++;
        }
    assert_true(cases > 1500);
    core_batch_unref(b[0]);
    core_batch_unref(b[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_parse_equals_strtod),
        cmocka_unit_test(test_decimal_until_limits),
        cmocka_unit_test(test_serialized_form_is_stable),
        cmocka_unit_test(test_decimal_kept_verbatim),
        cmocka_unit_test(test_types_and_nulls),
        cmocka_unit_test(test_many_rows_and_copy),
        cmocka_unit_test(test_invalid_schema_refused),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_json_rows),
        cmocka_unit_test(test_roundtrip_every_text_length),
        cmocka_unit_test(test_added_rows_are_null),
        cmocka_unit_test(test_strings_shared_with_the_row_above),
        cmocka_unit_test(test_json_elements),
        cmocka_unit_test(test_json_elements_older_core),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
