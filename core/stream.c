/* Continuous sources: the run thread and the micro-batcher of a streaming pipeline.
 * SPDX-License-Identifier: MIT
 *
 * A continuous source (cp_plugin.run) emits rows as they arrive, often one at a time. Routing
 * each of them through the transforms and committing the spools would cost an fsync a row, so
 * the rows are merged per stream and cut into micro-batches, paced: rows that come are cut and
 * committed at once, unless a micro-batch was cut less than `batch_interval` ago; then they wait
 * for that much time to pass (or for `batch_rows` of them). So a row waits at most
 * `batch_interval` before its batch is cut, a quiet stream's rows are committed as they come
 * (no timer phase to wait for), and a busy stream commits at most once every `batch_interval`
 * with batches that grow with the rate: the cost of commits (an fdatasync each, a transaction
 * in each sink) is bounded whatever the rate. `batch_interval` 0 is plain group commit: rows are
 * cut as soon as the previous commit has finished. A pipeline with nothing pending sleeps until
 * the next tick. The flush thread routes each micro-batch exactly as a poll cycle's batch is
 * routed, then commits (spools first, checkpoints second). It holds the lock
 * the source's emit takes for the whole of that, so a checkpoint the source sets after emitting
 * rows can never be made durable before those rows are in the spools: the promise of a cycle
 * holds for a micro-batch.
 */
#include "stream.h"

#include "batch.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <coinpipe/schema.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 1000 /* how often time passes for the transforms (ops.tick) */
/* A micro-batch's commit saves the checkpoints the source set at most this often (and at the last
 * flush). Each save is a file written, two fsyncs and a rename, several times the cost of the
 * spool's one fdatasync, and a stream commits up to hundreds of times a second; a checkpoint a
 * second behind its rows only makes a restart repair a second more, whose rows collapse on their
 * keys. */
#define CHECKPOINT_MS 1000

typedef struct pending {
    cp_batch *b;
} pending;

struct core_stream {
    core_instance *source;
    core_stream_ops ops;
    int64_t interval_ms, max_rows;
    pthread_mutex_t lock; /* pending rows; held by the flush thread through route and commit */
    pthread_cond_t cv;
    pending *p;
    size_t np, cap;
    size_t rows;
    int64_t cut_ms; /* monotonic time the last micro-batch was cut */
    bool quit;      /* the flush thread's last flush */
    /* commit tickets: rows emitted now belong to micro-batch `gen`; every micro-batch up to
     * `committed` is in the spools; `inflight` is being committed (0: none); `broken` once a
     * commit failed (no ticket completes again) */
    uint64_t gen, committed, inflight;
    int64_t checkpoint_ms; /* monotonic time a commit last saved checkpoints */
    bool broken;
    pthread_cond_t cv_commit;
    pthread_t runner, flusher;
    bool runner_ok, flusher_ok;
};

cp_status core_stream_push(core_stream *s, cp_batch *b)
{
    size_t n = core_batch_rows(b);
    if (!n) {
        core_batch_unref(b);
        return CP_OK;
    }
    pthread_mutex_lock(&s->lock);
    pending *hit = NULL;
    for (size_t i = 0; i < s->np && !hit; i++)
        if (cp_schema_equal(core_batch_schema(s->p[i].b), core_batch_schema(b)))
            hit = &s->p[i];
    cp_status st = CP_OK;
    if (hit) {
        st = core_batch_append(hit->b, b);
        core_batch_unref(b);
    } else {
        if (s->np == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 8;
            pending *p = realloc(s->p, cap * sizeof *p);
            if (p) {
                s->p = p;
                s->cap = cap;
            }
        }
        if (s->np < s->cap) {
            s->p[s->np++].b = b;
        } else {
            core_batch_unref(b);
            st = CP_ERR_NOMEM;
        }
    }
    if (st == CP_OK) {
        s->rows += n;
        if (s->rows == n || (int64_t)s->rows >= s->max_rows) /* the first rows: due now, or at a time */
            pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->lock);
    if (st != CP_OK)
        core_log_tagged(&s->source->ctx.tag, CP_LOG_ERROR, "rows lost: %s", cp_strerror(st));
    return st;
}

/* waits on cv (holding lock) for at most `ms` milliseconds */
static void wait_ms(pthread_cond_t *cv, pthread_mutex_t *lock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, lock, &ts);
}

/* routes and commits what is pending (under s->lock) */
static void flush_locked(core_stream *s)
{
    if (!s->np)
        return;
    int64_t t0 = core_util_mono_ms();
    s->cut_ms = t0;
    bool checkpoints = s->quit || t0 - s->checkpoint_ms >= CHECKPOINT_MS;
    if (checkpoints)
        s->checkpoint_ms = t0;
    size_t rows = s->rows, nts = 0, np = s->np, cap = s->cap;
    pending *p = s->p; /* the micro-batch: the source emits into a new list meanwhile */
    s->p = NULL;
    s->np = s->cap = s->rows = 0;
    uint64_t gen = s->gen++;
    s->inflight = gen;
    int64_t *ts = malloc(rows * sizeof *ts); /* event times, for the latency to the commit */
    for (size_t i = 0; ts && i < np; i++) {
        const cp_batch *b = p[i].b;
        int c = core_batch_col(b, "ts");
        if (c < 0 || core_batch_schema(b)->fields[c].type != CP_T_TIMESTAMP)
            continue;
        for (size_t r = 0, n = core_batch_rows(b); r < n && nts < rows; r++)
            if (!core_batch_is_null(b, r, (size_t)c))
                ts[nts++] = core_batch_get_int(b, r, (size_t)c);
    }
    /* Without checkpoints to save, nothing the source does meanwhile can get ahead of these rows:
     * it emits on (into the next micro-batch) while they are routed and the spools synced. A
     * commit that saves checkpoints keeps the lock: a checkpoint set after rows that are not in
     * this batch must not be saved with it. */
    if (!checkpoints)
        pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < np; i++)
        s->ops.route(s->ops.user, p[i].b);
    bool ok = s->ops.commit(s->ops.user, (int64_t)rows, core_util_mono_ms() - t0, checkpoints);
    if (!checkpoints)
        pthread_mutex_lock(&s->lock);
    if (!ok)
        s->broken = true;
    if (!s->broken)
        s->committed = gen;
    s->inflight = 0;
    if (!s->p) { /* the list back, for the next micro-batch */
        s->p = p;
        s->cap = cap;
    } else {
        free(p);
    }
    pthread_cond_broadcast(&s->cv_commit);
    int64_t now = core_util_now_ms();
    for (size_t i = 0; i < nts; i++)
        ts[i] = now - ts[i];
    core_metrics_stream_latency(s->source->ctx.tag.pipeline, ts, nts);
    free(ts);
}

static void *flush_thread(void *arg)
{
    core_stream *s = arg;
    pthread_mutex_lock(&s->lock);
    int64_t next_tick = core_util_mono_ms() + TICK_MS;
    for (;;) {
        int64_t now = core_util_mono_ms();
        int64_t due = s->cut_ms + s->interval_ms; /* paced: the next cut, for rows pending */
        if (s->quit || (s->rows && (now >= due || (int64_t)s->rows >= s->max_rows))) {
            flush_locked(s);
            if (s->quit)
                break;
            continue; /* what came during the commit may be due already (group commit) */
        }
        if (!s->rows && now >= next_tick) { /* a tick commits: only with nothing pending */
            if (s->ops.tick)
                s->ops.tick(s->ops.user);
            next_tick = core_util_mono_ms() + TICK_MS;
            continue;
        }
        wait_ms(&s->cv, &s->lock, (s->rows ? due : next_tick) - now);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static bool source_stopping(core_stream *s)
{
    return s->source->ctx.stopping && atomic_load(s->source->ctx.stopping);
}

static void *run_thread(void *arg)
{
    core_stream *s = arg;
    const cp_plugin *d = core_instance_plugin(s->source);
    int64_t pause = 1000;
    while (!source_stopping(s)) {
        int64_t t0 = core_util_mono_ms();
        cp_status st = d->run(s->source->data, &s->source->ctx.pub);
        if (source_stopping(s))
            break;
        if (st == CP_ERR_CONFIG) { /* its options can never work: say so once */
            core_log_tagged(&s->source->ctx.tag, CP_LOG_ERROR,
                            "continuous source stopped for good: configuration error (fix it and reload)");
            break;
        }
        if (core_util_mono_ms() - t0 > 60000)
            pause = 1000; /* it ran for a while: start the backoff over */
        core_log_tagged(&s->source->ctx.tag, CP_LOG_ERROR, "continuous source stopped: %s; starting it again in %lld ms",
                        cp_strerror(st), (long long)pause);
        for (int64_t waited = 0; waited < pause && !source_stopping(s); waited += 100) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
        pause = pause * 2 > 60000 ? 60000 : pause * 2;
    }
    return NULL;
}

static cp_status stream_emit(core_ctx *c, cp_batch *b)
{
    core_metrics_emitted(&c->tag, core_batch_rows(b));
    return core_stream_push(c->emit_user, b);
}

uint64_t core_stream_ticket(core_ctx *c)
{
    if (c->emit != stream_emit)
        return 0;
    core_stream *s = c->emit_user;
    pthread_mutex_lock(&s->lock);
    /* nothing pending: what was emitted is being committed, or is */
    uint64_t t = s->np ? s->gen : s->inflight ? s->inflight : s->committed;
    pthread_mutex_unlock(&s->lock);
    return t;
}

cp_status core_stream_wait(core_ctx *c, uint64_t ticket, int64_t timeout_ms)
{
    if (c->emit != stream_emit || !ticket)
        return CP_ERR_UNSUPPORTED;
    core_stream *s = c->emit_user;
    int64_t end = core_util_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&s->lock);
    while (s->committed < ticket && !s->broken) {
        int64_t left = end - core_util_mono_ms();
        if (left <= 0)
            break;
        wait_ms(&s->cv_commit, &s->lock, left);
    }
    cp_status st = s->committed >= ticket ? CP_OK : s->broken ? CP_ERR_IO : CP_ERR_TIMEOUT;
    pthread_mutex_unlock(&s->lock);
    return st;
}

core_stream *core_stream_start(core_instance *source, int64_t interval_ms, int64_t rows, const core_stream_ops *ops)
{
    core_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    source->ctx.emit = stream_emit;
    source->ctx.emit_user = s;
    s->source = source;
    s->ops = *ops;
    s->interval_ms = interval_ms >= 0 ? interval_ms : 250;
    s->max_rows = rows > 0 ? rows : 10000;
    s->committed = 1; /* tickets start at 1: 0 means "unsupported" */
    s->gen = 2;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->cv_commit, NULL);
    s->flusher_ok = pthread_create(&s->flusher, NULL, flush_thread, s) == 0;
    s->runner_ok = s->flusher_ok && pthread_create(&s->runner, NULL, run_thread, s) == 0;
    if (!s->runner_ok) {
        core_log_tagged(&source->ctx.tag, CP_LOG_ERROR, "cannot start the threads of a continuous source");
        core_stream_stop(s);
        return NULL;
    }
    return s;
}

void core_stream_stop(core_stream *s)
{
    if (!s)
        return;
    core_instance_stop(s->source);
    if (s->runner_ok)
        pthread_join(s->runner, NULL);
    pthread_mutex_lock(&s->lock);
    s->quit = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->lock);
    if (s->flusher_ok)
        pthread_join(s->flusher, NULL);
    else
        flush_locked(s);
    for (size_t i = 0; i < s->np; i++)
        core_batch_unref(s->p[i].b);
    free(s->p);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->cv_commit);
    free(s);
}
