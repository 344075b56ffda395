/* The sources' shared helpers (plugins/sources/common/srcutil.c): chunked emits and the checkpoints that wait for them.
 * SPDX-License-Identifier: MIT
 *
 * srcutil is compiled into each source plugin, so this test compiles it in too and drives it
 * with the context of a real (idle) source instance: emitted batches are captured by the kit.
 */
#include "../../plugins/sources/common/jscan.c"
#include "../../plugins/sources/common/srcutil.c" /* before cmocka, which defines a macro `fail` */

#include "core/batch.h"
#include "core/host.h"
#include "testkit.h"

static const cp_schema *const schemas[2] = {&cp_ticker_schema, &cp_ohlcv_schema};

static tk_instance *idle_source(void)
{
    return tk_create("binance-spot", "base_url = \"http://127.0.0.1:1\"; symbols = [\"BNBBTC\"];");
}

static void add_rows(cp_ctx *ctx, cp_batch *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t r = cp_batch_add_row(ctx, b);
        assert_int_not_equal(r, SIZE_MAX);
        assert_int_equal(cp_batch_set_int(ctx, b, r, CP_OHLCV_OPEN_TIME, (int64_t)r), CP_OK);
    }
}

static bool has_key(cp_ctx *ctx, const char *key, int64_t want)
{
    int64_t v;
    return su_state_get_i64(ctx, key, &v) && v == want;
}

static void test_chunks_and_checkpoints(void **state)
{
    (void)state;
    tk_instance *t = idle_source();
    cp_ctx *ctx = tk_ctx(t);
    const bool want[2] = {true, true};
    su_outs o;
    assert_true(su_outs_new(ctx, &o, schemas, want, 2, 2));

    /* a checkpoint waits for the rows appended to its stream before it */
    add_rows(ctx, o.b[1], 3);
    assert_true(su_outs_checkpoint(ctx, &o, 1, "k1", 11));
    assert_false(has_key(ctx, "k1", 11));
    assert_int_equal(su_outs_flush(ctx, &o, 4, true), CP_OK); /* 3 rows: below the chunk */
    assert_int_equal(tk_emitted_count(t), 0);
    assert_false(has_key(ctx, "k1", 11));
    add_rows(ctx, o.b[1], 1);
    assert_int_equal(su_outs_flush(ctx, &o, 4, true), CP_OK);
    assert_int_equal(tk_emitted_count(t), 1); /* the ohlcv chunk only: ticker has no rows */
    assert_int_equal(tk_rows(t, "ohlcv"), 4);
    assert_true(has_key(ctx, "k1", 11));
    assert_non_null(o.b[1]); /* refilled, empty, sized for the next chunk */
    assert_int_equal(cp_batch_rows(ctx, o.b[1]), 0);
    assert_int_equal(o.rows_emitted, 4);

    /* nothing waiting in its stream: set at once; a later value of the same key wins */
    assert_true(su_outs_checkpoint(ctx, &o, 1, "k2", 21));
    assert_true(has_key(ctx, "k2", 21));
    add_rows(ctx, o.b[1], 2);
    assert_true(su_outs_checkpoint(ctx, &o, 1, "k2", 22));
    add_rows(ctx, o.b[0], 1); /* another stream's rows do not hold it back nor let it go */
    add_rows(ctx, o.b[1], 1);
    assert_true(su_outs_checkpoint(ctx, &o, 1, "k2", 23));
    assert_true(has_key(ctx, "k2", 21));

    /* the end of the cycle: every batch, then every checkpoint */
    assert_int_equal(su_outs_emit(ctx, &o), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 7);
    assert_int_equal(tk_rows(t, "ticker"), 1);
    assert_true(has_key(ctx, "k2", 23));
    assert_null(o.b[0]);
    assert_null(o.b[1]);
    su_outs_free(ctx, &o);
    tk_destroy(t);
}

static cp_status refuse(core_ctx *c, cp_batch *b)
{
    (void)c;
    core_batch_unref(b);
    return CP_ERR_STOPPED;
}

static void test_failed_emit_sets_no_checkpoint(void **state)
{
    (void)state;
    tk_instance *t = idle_source();
    cp_ctx *ctx = tk_ctx(t);
    const bool want[2] = {false, true};
    su_outs o;
    assert_true(su_outs_new(ctx, &o, schemas, want, 2, 0));
    assert_null(o.b[0]);
    add_rows(ctx, o.b[1], 2);
    assert_true(su_outs_checkpoint(ctx, &o, 1, "k1", 1));
    core_emit_fn keep = ((core_ctx *)ctx)->emit;
    ((core_ctx *)ctx)->emit = refuse; /* shutting down: the core refuses the batch */
    assert_int_equal(su_outs_flush(ctx, &o, 2, true), CP_ERR_STOPPED);
    ((core_ctx *)ctx)->emit = keep;
    assert_true(o.failed);
    assert_false(has_key(ctx, "k1", 1)); /* its rows are lost: no checkpoint may claim them */
    /* nor any later one, even for rows that do get out: they may follow the lost ones */
    add_rows(ctx, o.b[1], 1);
    assert_true(su_outs_checkpoint(ctx, &o, 1, "k2", 2));
    assert_int_equal(su_outs_emit(ctx, &o), CP_OK);
    assert_int_equal(tk_rows(t, "ohlcv"), 1);
    assert_false(has_key(ctx, "k2", 2));
    su_outs_free(ctx, &o);
    tk_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks_and_checkpoints),
        cmocka_unit_test(test_failed_emit_sets_no_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
