/* Unit tests for the column view of a batch (cp_batch_column, since ABI 2.1; core/batch.c) and
 * for filling a column down a range of rows (cp_batch_fill_down, since ABI 2.2).
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/batch.h"
#include "core/host.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cp_field every_type_fields[] = {
    {"id", CP_T_STRING, CP_FIELD_KEY},       {"n", CP_T_INT64, CP_FIELD_NULLABLE},
    {"ts", CP_T_TIMESTAMP, CP_FIELD_NULLABLE}, {"ok", CP_T_BOOL, CP_FIELD_NULLABLE},
    {"x", CP_T_DOUBLE, CP_FIELD_NULLABLE},     {"px", CP_T_DECIMAL, CP_FIELD_NULLABLE},
};
static const cp_schema every_type = CP_SCHEMA("every_type", every_type_fields);
enum { ID, N, TS, OK, X, PX, NCOLS };

/* A context on the core's own host table: what a plugin's cp_batch_column() calls. */
static cp_ctx host_ctx = {.host = &core_host};

/* Row r of a batch of `rows`: every third row NULL but for the key, the others distinct values
 * (zeros, negatives, and a decimal text that is not its double's shortest form among them). */
static cp_batch *every_type_batch(size_t rows)
{
    cp_batch *b = core_batch_new(&every_type, rows);
    assert_non_null(b);
    for (size_t r = 0; r < rows; r++) {
        assert_int_equal(core_batch_add_row(b), r);
        char text[48];
        int n = snprintf(text, sizeof text, "key-%zu", r);
        assert_int_equal(core_batch_set_string(b, r, ID, text, (size_t)n), CP_OK);
        if (r % 3 == 2)
            continue;
        assert_int_equal(core_batch_set_int(b, r, N, (int64_t)r - 5), CP_OK);
        assert_int_equal(core_batch_set_int(b, r, TS, 1795258544123LL + (int64_t)r * 60000), CP_OK);
        assert_int_equal(core_batch_set_bool(b, r, OK, r % 2 == 0), CP_OK);
        assert_int_equal(core_batch_set_double(b, r, X, (double)r * 0.25 - 1), CP_OK);
        n = snprintf(text, sizeof text, "%zu.10000000", r);
        assert_int_equal(core_batch_set_decimal(b, r, PX, text, (size_t)n), CP_OK);
    }
    return b;
}

/* Every cell of the view equals what the cell getters say, for every type. */
static void test_view_equals_getters(void **state)
{
    (void)state;
    cp_batch *b = every_type_batch(1000);
    for (size_t c = 0; c < NCOLS; c++) {
        cp_column v;
        assert_int_equal(cp_batch_column(&host_ctx, b, c, &v), CP_OK);
        assert_int_equal(v.size, sizeof v);
        assert_int_equal(v.type, every_type_fields[c].type);
        assert_int_equal(v.rows, 1000);
        bool text = v.type == CP_T_STRING || v.type == CP_T_DECIMAL;
        assert_true((v.text != NULL) == text);
        assert_true((v.values != NULL) == (v.type != CP_T_STRING));
        for (size_t r = 0; r < v.rows; r++) {
            assert_int_equal(cp_column_is_null(&v, r), core_batch_is_null(b, r, c));
            if (cp_column_is_null(&v, r))
                continue;
            if (v.type == CP_T_INT64 || v.type == CP_T_TIMESTAMP || v.type == CP_T_BOOL)
                assert_int_equal(cp_column_int(&v, r), core_batch_get_int(b, r, c));
            if (v.type == CP_T_DOUBLE || v.type == CP_T_DECIMAL)
                assert_true(cp_column_double(&v, r) == core_batch_get_double(b, r, c));
            if (text) {
                size_t len = 0, want_len = 0;
                const char *got = cp_column_text(&v, r, &len), *want = core_batch_get_text(b, r, c, &want_len);
                assert_int_equal(len, want_len);
                assert_memory_equal(got, want, len);
                assert_int_equal(got[len], '\0');
            }
        }
    }
    /* spot values, not only agreement */
    cp_column v;
    assert_int_equal(cp_batch_column(&host_ctx, b, OK, &v), CP_OK);
    assert_int_equal(cp_column_int(&v, 0), 1);
    assert_int_equal(cp_column_int(&v, 1), 0);
    assert_int_equal(cp_batch_column(&host_ctx, b, N, &v), CP_OK);
    assert_int_equal(cp_column_int(&v, 4), -1);
    assert_true(cp_column_is_null(&v, 5));
    assert_int_equal(cp_batch_column(&host_ctx, b, PX, &v), CP_OK);
    size_t len;
    assert_string_equal(cp_column_text(&v, 999, &len), "999.10000000");
    assert_true(cp_column_double(&v, 999) == 999.1);
    core_batch_unref(b);
}

/* A batch read back from its serialized form (a spool record) and an appended one show the same. */
static void test_view_of_deserialized_and_appended_batches(void **state)
{
    (void)state;
    cp_batch *b = every_type_batch(50), *copy = NULL;
    cp_buf buf = {0};
    assert_int_equal(core_batch_serialize(b, &buf), CP_OK);
    assert_int_equal(core_batch_deserialize(buf.p, buf.len, &copy), CP_OK);
    cp_batch *twice = every_type_batch(50);
    assert_int_equal(core_batch_append(twice, b), CP_OK);
    for (size_t c = 0; c < NCOLS; c++) {
        cp_column v, w;
        assert_int_equal(cp_batch_column(&host_ctx, copy, c, &v), CP_OK);
        assert_int_equal(cp_batch_column(&host_ctx, twice, c, &w), CP_OK);
        assert_int_equal(w.rows, 100);
        for (size_t r = 0; r < 50; r++) {
            assert_int_equal(cp_column_is_null(&v, r), core_batch_is_null(b, r, c));
            assert_int_equal(cp_column_is_null(&w, r + 50), core_batch_is_null(b, r, c));
            if (core_batch_is_null(b, r, c) || (v.type != CP_T_STRING && v.type != CP_T_DECIMAL))
                continue;
            size_t n1, n2;
            const char *t1 = cp_column_text(&v, r, &n1), *t2 = cp_column_text(&w, r + 50, &n2);
            assert_string_equal(t1, core_batch_get_text(b, r, c, NULL));
            assert_string_equal(t2, core_batch_get_text(b, r, c, NULL));
        }
    }
    cp_buf_free(&buf);
    core_batch_unref(copy);
    core_batch_unref(twice);
    core_batch_unref(b);
}

/* Bad index, short stamp, empty batch; the core writes nothing past the caller's size. */
static void test_view_edges(void **state)
{
    (void)state;
    cp_batch *b = core_batch_new(&every_type, 0);
    cp_column v;
    assert_int_equal(cp_batch_column(&host_ctx, b, NCOLS, &v), CP_ERR_INVALID);
    assert_int_equal(cp_batch_column(&host_ctx, b, ID, &v), CP_OK); /* no row yet */
    assert_int_equal(v.rows, 0);
    assert_non_null(v.text);
    assert_int_equal(core_batch_column(NULL, 0, &v), CP_ERR_INVALID);
    assert_int_equal(core_batch_column(b, 0, NULL), CP_ERR_INVALID);
    v.size = CP_COLUMN_SIZE_2_1 - 1; /* smaller than any 2.1 plugin's */
    assert_int_equal(core_batch_column(b, 0, &v), CP_ERR_INVALID);

    /* a caller whose cp_column ends after text_off (a future core's larger struct seen by a
     * smaller caller is the same case): the byte after its size stays untouched */
    core_batch_add_row(b);
    core_batch_set_string(b, 0, ID, "a", 1);
    unsigned char raw[sizeof(cp_column) + 16];
    memset(raw, 0xAB, sizeof raw);
    cp_column *small = (cp_column *)(void *)raw;
    small->size = CP_COLUMN_SIZE_2_1;
    assert_int_equal(core_batch_column(b, ID, small), CP_OK);
    assert_int_equal(small->size, CP_COLUMN_SIZE_2_1);
    assert_int_equal(small->rows, 1);
    for (size_t i = CP_COLUMN_SIZE_2_1; i < sizeof raw; i++)
        assert_int_equal(raw[i], 0xAB);
    core_batch_unref(b);
}

/* A core older than ABI 2.1 has no batch_column: the wrapper says so without calling it. */
static void test_older_core_unsupported(void **state)
{
    (void)state;
    cp_host old = core_host;
    old.size = offsetof(cp_host, batch_column); /* the table ends before the 2.1 entry */
    cp_ctx ctx = {.host = &old};
    cp_batch *b = every_type_batch(3);
    cp_column v = {0};
    assert_int_equal(cp_batch_column(&ctx, b, ID, &v), CP_ERR_UNSUPPORTED);
    assert_int_equal(v.rows, 0); /* untouched */
    old.size = sizeof old;
    old.batch_column = NULL; /* present but not set */
    assert_int_equal(cp_batch_column(&ctx, b, ID, &v), CP_ERR_UNSUPPORTED);
    core_batch_unref(b);
}

/* The cell (r, c) as the getters see it, for comparing two cells of any type. */
static void cell_text(const cp_batch *b, size_t r, size_t c, char *out, size_t cap)
{
    size_t len = 0;
    const char *t = core_batch_get_text(b, r, c, &len);
    snprintf(out, cap, "null=%d int=%lld dbl=%.17g bool=%d text=%.*s/%zu", core_batch_is_null(b, r, c),
             (long long)core_batch_get_int(b, r, c), core_batch_get_double(b, r, c), core_batch_get_bool(b, r, c),
             t ? (int)len : 4, t ? t : "NULL", len);
}

/* One fill of every column through `ctx` (the core's table, or an older one without
 * batch_fill_down whose wrapper sets each row): rows from + 1 .. to - 1 become row from's
 * cell, a NULL one included, rows outside stay as they were; bad ranges change nothing. */
static void check_fill_down(cp_ctx *ctx)
{
    enum { ROWS = 1000 };
    for (size_t from = 1; from <= 2; from++) { /* row 1 has values, row 2 is NULL but for the key */
        cp_batch *b = every_type_batch(ROWS), *was = core_batch_copy(b);
        assert_non_null(was);
        size_t to = ROWS - 10;
        for (size_t c = 0; c < NCOLS; c++)
            assert_int_equal(cp_batch_fill_down(ctx, b, c, from, to), CP_OK);
        for (size_t r = 0; r < ROWS; r++)
            for (size_t c = 0; c < NCOLS; c++) {
                char got[160], want[160];
                cell_text(b, r, c, got, sizeof got);
                cell_text(was, r > from && r < to ? from : r, c, want, sizeof want);
                if (strcmp(got, want) != 0)
                    fail_msg("fill_down from %zu, row %zu column %zu: %s, want %s", from, r, c, got, want);
            }
        /* refused, nothing changed: a bad column, an empty or reversed range, past the rows */
        assert_int_equal(cp_batch_fill_down(ctx, b, NCOLS, 0, 5), CP_ERR_INVALID);
        assert_int_equal(cp_batch_fill_down(ctx, b, N, 5, 5), CP_ERR_INVALID);
        assert_int_equal(cp_batch_fill_down(ctx, b, N, 6, 5), CP_ERR_INVALID);
        assert_int_equal(cp_batch_fill_down(ctx, b, N, 0, ROWS + 1), CP_ERR_INVALID);
        assert_int_equal(cp_batch_fill_down(ctx, b, N, 0, 1), CP_OK); /* one row: nothing to fill */
        assert_int_equal(core_batch_get_int(b, 0, N), -5);
        assert_int_equal(core_batch_get_int(b, ROWS - 1, N), ROWS - 1 - 5);
        core_batch_unref(was);
        core_batch_unref(b);
    }
}

static void test_fill_down(void **state)
{
    (void)state;
    check_fill_down(&host_ctx);
}

/* A core older than ABI 2.2 has no batch_fill_down: the wrapper sets the rows one call at a time,
 * the same cells (its texts read from a copy, since a text set may move the batch's texts). */
static void test_fill_down_older_core(void **state)
{
    (void)state;
    cp_host old = core_host;
    old.size = offsetof(cp_host, batch_fill_down); /* the table ends before the 2.2 entry */
    cp_ctx ctx = {.host = &old};
    check_fill_down(&ctx);
    old.size = sizeof old;
    old.batch_fill_down = NULL; /* present but not set */
    check_fill_down(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_equals_getters),
        cmocka_unit_test(test_view_of_deserialized_and_appended_batches),
        cmocka_unit_test(test_view_edges),
        cmocka_unit_test(test_older_core_unsupported),
        cmocka_unit_test(test_fill_down),
        cmocka_unit_test(test_fill_down_older_core),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
