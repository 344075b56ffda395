/* Unit tests for the micro-batcher of continuous pipelines (core/stream.c) and its latency histogram.
 * SPDX-License-Identifier: MIT
 *
 * A scripted source emits rows through the real core_stream; route and commit are recorded with
 * the monotonic time of each commit. Times are checked one way only where the machine's load
 * could make them late: a lower bound is exact (pacing never commits early), an upper bound is
 * generous (seconds, for a shared machine under ASan).
 */
#include "testkit.h"

#include "core/batch.h"
#include "core/config.h"
#include "core/instance.h"
#include "core/loader.h"
#include "core/metrics.h"
#include "core/stream.h"
#include "core/util.h"

#include <coinpipe/buf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const cp_field fields[] = {{"id", CP_T_INT64, CP_FIELD_KEY}, {"ts", CP_T_TIMESTAMP, 0}};
static const cp_schema schema = CP_SCHEMA("probe", fields);

/* what the source does: emit `rows[i]` rows at `at_ms[i]` after it starts (-1 ends the script) */
typedef struct script {
    int64_t at_ms[8];
    size_t rows[8];
    int64_t age_ms; /* the rows' ts: now minus this */
} script;

#define MAX_COMMITS 64
typedef struct record {
    pthread_mutex_t lock;
    int64_t emit_ms[8]; /* when each step of the script was emitted */
    size_t ncommits;
    int64_t commit_ms[MAX_COMMITS];
    int64_t commit_rows[MAX_COMMITS];
    size_t routed;
    bool checkpoints[MAX_COMMITS];
    int64_t emit_took_ms[8];     /* how long each cp_emit took */
    cp_status wait_inflight;     /* cp_commit_wait (0 ms) on a ticket taken during a commit */
    int64_t slow_commit_ms;      /* commits without checkpoints sleep this long */
} record;

static core_ctx *g_ctx; /* the source's context, for tickets taken during a commit */

static const script *g_script;
static record g_rec;

static void sleep_until(int64_t mono_ms)
{
    for (int64_t left; (left = mono_ms - core_util_mono_ms()) > 0;) {
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static cp_status script_run(void *instance, cp_ctx *ctx)
{
    (void)instance;
    int64_t t0 = core_util_mono_ms(), id = 0;
    for (size_t i = 0; i < 8 && g_script->at_ms[i] >= 0; i++) {
        sleep_until(t0 + g_script->at_ms[i]);
        cp_batch *b = cp_batch_new(ctx, &schema, g_script->rows[i]);
        for (size_t r = 0; r < g_script->rows[i]; r++) {
            size_t row = cp_batch_add_row(ctx, b);
            cp_batch_set_int(ctx, b, row, 0, ++id);
            cp_batch_set_int(ctx, b, row, 1, cp_now_ms(ctx) - g_script->age_ms);
        }
        int64_t t = core_util_mono_ms();
        pthread_mutex_lock(&g_rec.lock);
        g_rec.emit_ms[i] = t;
        pthread_mutex_unlock(&g_rec.lock);
        assert_int_equal(cp_emit(ctx, b), CP_OK);
        pthread_mutex_lock(&g_rec.lock);
        g_rec.emit_took_ms[i] = core_util_mono_ms() - t;
        pthread_mutex_unlock(&g_rec.lock);
    }
    while (!cp_stopping(ctx)) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return CP_ERR_STOPPED;
}

static void route(void *user, cp_batch *b)
{
    (void)user;
    pthread_mutex_lock(&g_rec.lock);
    g_rec.routed += core_batch_rows(b);
    pthread_mutex_unlock(&g_rec.lock);
    core_batch_unref(b);
}

static bool commit(void *user, int64_t rows, int64_t duration_ms, bool checkpoints)
{
    (void)user;
    (void)duration_ms;
    if (!checkpoints && g_rec.slow_commit_ms) {
        /* what the source would wait for: its rows are not committed before this returns */
        uint64_t ticket = core_stream_ticket(g_ctx);
        cp_status st = core_stream_wait(g_ctx, ticket, 0);
        pthread_mutex_lock(&g_rec.lock);
        g_rec.wait_inflight = st;
        pthread_mutex_unlock(&g_rec.lock);
        struct timespec ts = {0, g_rec.slow_commit_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&g_rec.lock);
    if (g_rec.ncommits < MAX_COMMITS) {
        g_rec.checkpoints[g_rec.ncommits] = checkpoints;
        g_rec.commit_ms[g_rec.ncommits] = core_util_mono_ms();
        g_rec.commit_rows[g_rec.ncommits++] = rows;
    }
    pthread_mutex_unlock(&g_rec.lock);
    return true;
}

static size_t commits(void)
{
    pthread_mutex_lock(&g_rec.lock);
    size_t n = g_rec.ncommits;
    pthread_mutex_unlock(&g_rec.lock);
    return n;
}

static bool wait_commits(size_t n, int64_t timeout_ms)
{
    int64_t end = core_util_mono_ms() + timeout_ms;
    while (commits() < n && core_util_mono_ms() < end) {
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return commits() >= n;
}

/* a source instance named after `pipeline` running `sc` through a stream with these settings */
typedef struct rig {
    core_plugin plugin;
    core_element_cfg ec;
    core_instance in;
    core_stream *s;
} rig;

static void rig_start_slow(rig *r, const char *pipeline, const script *sc, int64_t interval_ms, int64_t rows,
                           int64_t slow_commit_ms)
{
    memset(r, 0, sizeof *r);
    memset(&g_rec, 0, sizeof g_rec);
    g_rec.slow_commit_ms = slow_commit_ms;
    pthread_mutex_init(&g_rec.lock, NULL);
    g_script = sc;
    r->plugin.name = "script";
    r->plugin.desc.name = "script";
    r->plugin.desc.kind = CP_SOURCE;
    r->plugin.desc.run = script_run;
    r->ec.name = "script";
    r->ec.plugin_name = "script";
    r->ec.plugin = &r->plugin;
    core_instance_init(&r->in, &(core_instance_opts){.pipeline = pipeline, .ec = &r->ec});
    g_ctx = &r->in.ctx;
    const core_stream_ops ops = {route, commit, NULL, NULL};
    r->s = core_stream_start(&r->in, interval_ms, rows, &ops);
    assert_non_null(r->s);
}

static void rig_start(rig *r, const char *pipeline, const script *sc, int64_t interval_ms, int64_t rows)
{
    rig_start_slow(r, pipeline, sc, interval_ms, rows, 0);
}

static void rig_stop(rig *r)
{
    core_stream_stop(r->s);
    core_instance_destroy(&r->in);
    pthread_mutex_destroy(&g_rec.lock);
}

/* Paced: the first row of a quiet stream is committed at once, not after batch_interval; rows
 * that come less than batch_interval after a cut wait for it, then go as one micro-batch. */
static void test_paced_commits(void **state)
{
    (void)state;
    static const script sc = {.at_ms = {0, 100, 150, -1}, .rows = {1, 2, 3}};
    rig r;
    rig_start(&r, "paced", &sc, 1500, 10000);
    assert_true(wait_commits(2, 10000));
    rig_stop(&r);
    assert_int_equal(g_rec.ncommits, 2);
    assert_int_equal(g_rec.commit_rows[0], 1);
    assert_int_equal(g_rec.commit_rows[1], 5);
    assert_int_equal(g_rec.routed, 6);
    /* the first row did not wait for an interval (a 1.5 s timer would have made it wait) */
    assert_true(g_rec.commit_ms[0] - g_rec.emit_ms[0] < 1000);
    /* the next rows waited for 1.5 s after the first cut, not a moment less */
    assert_true(g_rec.commit_ms[1] - g_rec.commit_ms[0] >= 1500 - 20);
    assert_true(g_rec.commit_ms[1] - g_rec.commit_ms[0] < 5000);
}

/* batch_rows cuts a micro-batch long before batch_interval */
static void test_batch_rows_cut_early(void **state)
{
    (void)state;
    static const script sc = {.at_ms = {0, 50, -1}, .rows = {1, 8}};
    rig r;
    rig_start(&r, "rows", &sc, 60000, 5);
    assert_true(wait_commits(2, 10000));
    assert_int_equal(commits(), 2);
    assert_true(g_rec.commit_ms[1] - g_rec.emit_ms[1] < 5000);
    assert_int_equal(g_rec.commit_rows[1], 8);
    rig_stop(&r);
}

/* batch_interval 0: group commit, every emit committed as soon as the previous commit is done */
static void test_group_commit(void **state)
{
    (void)state;
    static const script sc = {.at_ms = {0, 30, 60, 90, -1}, .rows = {1, 1, 1, 1}};
    rig r;
    rig_start(&r, "group", &sc, 0, 10000);
    assert_true(wait_commits(4, 10000));
    rig_stop(&r);
    assert_int_equal(g_rec.routed, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(g_rec.commit_ms[i] - g_rec.emit_ms[i] < 1000);
}

/* A commit that saves no checkpoints (all but about one a second) does not hold the source up:
 * it emits on while the previous micro-batch is synced, and a commit ticket taken meanwhile
 * completes only after that commit. Checkpoints are saved by the first commit and a second later. */
static void test_emit_during_commit(void **state)
{
    (void)state;
    static const script sc = {.at_ms = {0, 300, 600, -1}, .rows = {1, 1, 1}};
    rig r;
    rig_start_slow(&r, "overlap", &sc, 0, 10000, 800);
    assert_true(wait_commits(3, 20000));
    rig_stop(&r);
    assert_int_equal(g_rec.routed, 3);
    assert_true(g_rec.checkpoints[0]);                  /* the first commit saves them */
    assert_false(g_rec.checkpoints[1]);                 /* 300 ms later: not yet */
    assert_true(g_rec.checkpoints[2]);                  /* a second after the first: again */
    /* the third row came while the second was being committed (800 ms): its emit did not wait */
    assert_true(g_rec.emit_took_ms[2] < 400);
    assert_int_equal(g_rec.wait_inflight, CP_ERR_TIMEOUT);
}

/* the value of one series line of the Prometheus text, -1 when absent */
static long long series(const char *text, const char *line)
{
    const char *p = strstr(text, line);
    return p ? atoll(p + strlen(line)) : -1;
}

/* The histogram: buckets every few milliseconds around 25 ms, each row counted once, after the
 * commit of its micro-batch (rows emitted 20 ms old land above 20 ms). */
static void test_latency_histogram(void **state)
{
    (void)state;
    core_pipeline_cfg pc = {.name = "hist", .continuous = true, .batch_interval_ms = 10};
    core_metrics_pipeline_register(&pc);
    const int64_t ms[] = {0, 1, 3, 12, 20, 21, 25, 26, 30, 31, 44, 260, 70000};
    core_metrics_stream_latency("hist", ms, CP_COUNTOF(ms));
    cp_buf b = {0};
    core_metrics_render(&b);
    assert_non_null(b.p);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"1\"} "), 2);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"15\"} "), 4);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"20\"} "), 5);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"25\"} "), 7);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"30\"} "), 9);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"35\"} "), 10);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"300\"} "), 12);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"60000\"} "), 12);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist\",le=\"+Inf\"} "), 13);
    assert_int_equal(series(b.p, "coinpipe_stream_latency_ms_count{pipeline=\"hist\"} "), 13);
    cp_buf_free(&b);

    /* through the stream: 3 rows 20 ms old at their emit, recorded once their batch committed */
    static const script sc = {.at_ms = {0, -1}, .rows = {3}, .age_ms = 20};
    pc.name = "hist2";
    core_metrics_pipeline_register(&pc);
    rig r;
    rig_start(&r, "hist2", &sc, 10, 10000);
    assert_true(wait_commits(1, 10000));
    rig_stop(&r);
    cp_buf c = {0};
    core_metrics_render(&c);
    assert_int_equal(series(c.p, "coinpipe_stream_latency_ms_count{pipeline=\"hist2\"} "), 3);
    assert_int_equal(series(c.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist2\",le=\"15\"} "), 0);
    assert_int_equal(series(c.p, "coinpipe_stream_latency_ms_bucket{pipeline=\"hist2\",le=\"+Inf\"} "), 3);
    cp_buf_free(&c);
    core_metrics_pipeline_unregister("hist");
    core_metrics_pipeline_unregister("hist2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paced_commits),
        cmocka_unit_test(test_batch_rows_cut_early),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_emit_during_commit),
        cmocka_unit_test(test_latency_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
