/* Runtime: builds pipelines from a config, runs cycles on a worker pool, schedules ticks,
 * routes batches through transforms to the sink queues, and handles signals and reloads.
 * SPDX-License-Identifier: MIT
 */
#include "api.h"
#include "batch.h"
#include "config.h"
#include "host.h"
#include "http.h"
#include "instance.h"
#include "latest.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "options.h"
#include "runtime.h"
#include "sched.h"
#include "sink.h"
#include "state.h"
#include "stream.h"
#include "util.h"
#include "ws.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Rows per stream of one cycle, for its log line (streams in the order they first came). */
#define CYCLE_STREAMS 16
typedef struct cycle_rows {
    size_t n;
    bool more; /* streams beyond CYCLE_STREAMS were counted together */
    struct {
        char stream[64];
        uint64_t rows;
    } s[CYCLE_STREAMS];
    uint64_t other;
} cycle_rows;

typedef struct pipeline {
    struct core_runtime *rt;
    const core_pipeline_cfg *cfg;
    core_instance source;
    size_t ntransforms, nsinks;
    core_instance *transforms;
    core_sink **sinks;
    core_stream *stream; /* continuous pipelines, while running */
    atomic_bool running;
    bool cycle_failed; /* touched only by the thread running the cycle */
    bool refused;      /* a sink refused a batch at shutdown: checkpoints stay behind (same thread) */
    int64_t next_fire;
    uint64_t cycles, failures;
    atomic_ullong skipped;  /* the scheduler counts, the cycle's line reads */
    uint64_t skipped_told;  /* skipped ticks the previous cycle's line reported */
    cycle_rows rows;        /* rows per stream that reached the sinks this cycle */
    int64_t last_ok_ms;
} pipeline;

typedef struct pipeline_set {
    core_config *cfg;
    size_t n;
    pipeline *p;
} pipeline_set;

/* The shutdown guard: from the first SIGINT/SIGTERM on, a second one ends the process at once,
 * and so does the end of shutdown_timeout plus STOP_GRACE_MS if something still waits (a
 * plugin's callback that ignores cp_stopping, a sink that never answers). Ending the process
 * then is what kill -9 does: what reached the spool is replayed at the next start. */
typedef struct sigwatch {
    pthread_t thread;
    bool running;
    struct core_runtime *rt;
    atomic_bool done;
} sigwatch;

#define STOP_GRACE_MS 2000

struct core_runtime {
    pipeline_set set;
    core_run_opts opts;
    atomic_bool stopping;
    atomic_llong stop_deadline; /* mono ms by which shutdown must be over; 0: not stopping (or no bound) */
    atomic_bool stop_asked;     /* a SIGINT/SIGTERM arrived */
    atomic_llong shutdown_timeout_ms; /* the running config's (the guard reads it, not the config) */
    sigwatch watch;
    atomic_int failures;
    /* worker pool */
    pthread_mutex_t lock;
    pthread_cond_t cv_job, cv_idle;
    pipeline **jobs;
    size_t njobs, cap_jobs, busy;
    bool pool_quit;
    size_t nthreads;
    pthread_t *threads;
};

/* ---- routing --------------------------------------------------------------------- */

static void count_rows(cycle_rows *c, const char *stream, size_t rows)
{
    size_t i = 0;
    while (i < c->n && strncmp(c->s[i].stream, stream, sizeof c->s[i].stream - 1) != 0)
        i++;
    if (i == c->n && c->n == CYCLE_STREAMS) {
        c->more = true;
        c->other += rows;
        return;
    }
    if (i == c->n) {
        snprintf(c->s[i].stream, sizeof c->s[i].stream, "%s", stream);
        c->s[c->n++].rows = 0;
    }
    c->s[i].rows += rows;
}

static void route(pipeline *p, size_t stage, cp_batch *b)
{
    if (stage < p->ntransforms) {
        core_instance *t = &p->transforms[stage];
        t->ctx.drop_input = false;
        cp_status st = t->ec->plugin->desc.process(t->data, &t->ctx.pub, b);
        if (st != CP_OK) {
            core_log_tagged(&t->ctx.tag, CP_LOG_ERROR, "processing stream '%s' (%zu rows) failed: %s; passing it on",
                            core_batch_schema(b)->stream, core_batch_rows(b), cp_strerror(st));
            p->cycle_failed = true;
        }
        if (st == CP_OK && t->ctx.drop_input)
            core_batch_unref(b);
        else
            route(p, stage + 1, b);
        return;
    }
    core_latest_update(p->cfg->name, b);
    count_rows(&p->rows, core_batch_schema(b)->stream, core_batch_rows(b));
    for (size_t i = 0; i < p->nsinks; i++)
        if (core_sink_enqueue(p->sinks[i], b) != CP_OK) {
            core_log_tagged(&p->source.ctx.tag, CP_LOG_ERROR, "sink '%s' is stopping: batch of '%s' not queued",
                            core_sink_id(p->sinks[i]), core_batch_schema(b)->stream);
            p->cycle_failed = true;
            p->refused = true;
        }
    core_batch_unref(b);
}

/* Time passes for the transforms that ask for it (cp_plugin.tick), after a cycle or on a
 * continuous pipeline's timer: what they emit takes the route of their process() batches.
 * Returns the number of transforms that ticked. */
static size_t pipeline_tick(pipeline *p)
{
    int64_t now = core_util_now_ms();
    size_t ticked = 0;
    for (size_t k = 0; k < p->ntransforms; k++) {
        core_instance *t = &p->transforms[k];
        const cp_plugin *d = &t->ec->plugin->desc;
        if (!d->tick)
            continue;
        ticked++;
        cp_status st = d->tick(t->data, &t->ctx.pub, now);
        if (st != CP_OK) {
            core_log_tagged(&t->ctx.tag, CP_LOG_ERROR, "tick failed: %s", cp_strerror(st));
            p->cycle_failed = true;
        }
    }
    return ticked;
}

static cp_status emit_cb(core_ctx *c, cp_batch *b)
{
    core_metrics_emitted(&c->tag, core_batch_rows(b));
    route((pipeline *)c->emit_user, c->stage, b);
    return CP_OK;
}

/* The order is the durability promise: first the batches the cycle emitted reach every
 * sink's spool (fsync), then the checkpoints that say they were collected (unless
 * `checkpoints` is false: they stay behind, which only means collecting again). */
static bool pipeline_commit(pipeline *p, bool checkpoints)
{
    bool synced = true;
    for (size_t k = 0; k < p->nsinks; k++)
        synced &= core_sink_commit(p->sinks[k]);
    if (p->refused) { /* a batch missed a sink: no checkpoint may move past it */
        core_state_freeze(p->source.ctx.state);
        for (size_t k = 0; k < p->ntransforms; k++)
            core_state_freeze(p->transforms[k].ctx.state);
        core_log_tagged(&p->source.ctx.tag, CP_LOG_WARN,
                        "checkpoints not saved: a batch could not be queued at shutdown; the next start collects "
                        "it again");
        return false;
    }
    if (!checkpoints)
        return synced;
    if (core_state_flush(p->source.ctx.state) != CP_OK)
        core_log_tagged(&p->source.ctx.tag, CP_LOG_ERROR, "cannot persist checkpoints: the next start re-collects");
    for (size_t k = 0; k < p->ntransforms; k++)
        core_state_flush(p->transforms[k].ctx.state);
    return synced;
}

static void commit_cb(core_ctx *c) { pipeline_commit((pipeline *)c->emit_user, true); }

/* ---- continuous pipelines: micro-batches take a cycle's route (core/stream.c) -------- */

static void stream_route(void *user, cp_batch *b) { route(user, 0, b); }

/* a micro-batch's commit: its rows reach the spools every time, the checkpoints when the stream
 * says (core/stream.c: about once a second) */
static bool stream_commit(void *user, int64_t rows, int64_t duration_ms, bool checkpoints)
{
    pipeline *p = user;
    (void)rows;
    bool ok = pipeline_commit(p, checkpoints);
    p->cycles++;
    core_metrics_cycle(p->cfg->name, duration_ms, !p->cycle_failed);
    if (p->cycle_failed) {
        p->failures++;
        p->cycle_failed = false;
    } else {
        p->last_ok_ms = core_util_now_ms();
    }
    return ok;
}

/* the flush thread's timer, right after a flush (nothing pending): what the transforms emit
 * as time passes is committed at once; a failed tick counts with the next micro-batch */
static void stream_tick(void *user)
{
    pipeline *p = user;
    if (pipeline_tick(p))
        pipeline_commit(p, true);
}

static void streams_start(pipeline_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        pipeline *p = &s->p[i];
        if (!p->cfg->continuous || p->stream)
            continue;
        const core_stream_ops ops = {stream_route, stream_commit, stream_tick, p};
        p->stream = core_stream_start(&p->source, p->cfg->batch_interval_ms, p->cfg->batch_rows, &ops);
    }
}

/* stops the sources and commits what they emitted, before the sinks drain or move on */
static void streams_stop(pipeline_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        core_stream_stop(s->p[i].stream);
        s->p[i].stream = NULL;
    }
}

/* ---- building and tearing down pipelines ------------------------------------------ */

/* a source or transform: its checkpoints wait for the pipeline's commit */
static int instance_create(core_runtime *rt, pipeline *p, core_instance *in, const core_element_cfg *ec, size_t stage,
                           char *err, size_t errlen)
{
    core_instance_init(in, &(core_instance_opts){.pipeline = p->cfg->name,
                                                 .ec = ec,
                                                 .state_dir = p->rt->set.cfg->state_dir,
                                                 .defer_state = true,
                                                 /* a continuous source is stopped on its own, first */
                                                 .stopping = stage == 0 && p->cfg->continuous ? NULL : &rt->stopping});
    in->ctx.emit = emit_cb;
    in->ctx.emit_user = p;
    in->ctx.stage = stage;
    in->ctx.commit = commit_cb;
    cp_status st = core_instance_create(in);
    if (st != CP_OK) {
        snprintf(err, errlen, "pipeline '%s': %s '%s' (plugin %s) could not start: %s", p->cfg->name,
                 core_kind_name(ec->plugin->desc.kind), ec->name, ec->plugin->name, cp_strerror(st));
        return -1;
    }
    return 0;
}

static void pipeline_free(pipeline *p)
{
    core_stream_stop(p->stream);
    if (p->cfg)
        core_metrics_pipeline_unregister(p->cfg->name);
    for (size_t i = 0; i < p->nsinks; i++)
        if (p->sinks[i]) {
            core_metrics_sink_unregister(p->sinks[i]);
            core_sink_stop(p->sinks[i]);
        }
    core_instance_destroy(&p->source);
    for (size_t i = 0; i < p->ntransforms; i++)
        core_instance_destroy(&p->transforms[i]);
    free(p->transforms);
    free(p->sinks);
    memset(p, 0, sizeof *p);
}

static void set_free(pipeline_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        pipeline_free(&s->p[i]);
    free(s->p);
    s->p = NULL;
    s->n = 0;
}

/* builds every pipeline of cfg; with attach the sinks open their spools (not on reload, where
 * a surviving sink takes its predecessor's spool over instead) */
static int set_build(core_runtime *rt, core_config *cfg, pipeline_set *out, bool attach, char *err, size_t errlen)
{
    out->cfg = cfg;
    if (core_config_state_dir_usable(cfg, err, errlen) != 0)
        return -1;
    out->p = calloc(cfg->npipelines ? cfg->npipelines : 1, sizeof *out->p);
    if (!out->p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    bool found = !rt->opts.only_pipeline;
    for (size_t i = 0; i < cfg->npipelines; i++) {
        const core_pipeline_cfg *pc = &cfg->pipelines[i];
        if (rt->opts.only_pipeline) {
            if (strcmp(pc->name, rt->opts.only_pipeline) != 0)
                continue;
            found = true;
        } else if (!pc->enabled) {
            continue;
        }
        pipeline *p = &out->p[out->n++];
        p->rt = rt;
        p->cfg = pc;
        core_metrics_pipeline_register(pc);
        atomic_init(&p->running, false);
        p->ntransforms = pc->ntransforms;
        p->nsinks = pc->nsinks;
        p->transforms = calloc(pc->ntransforms ? pc->ntransforms : 1, sizeof *p->transforms);
        p->sinks = calloc(pc->nsinks ? pc->nsinks : 1, sizeof *p->sinks);
        if (!p->transforms || !p->sinks) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        /* sinks first, so nothing a source emits can miss them */
        for (size_t k = 0; k < pc->nsinks; k++) {
            p->sinks[k] = core_sink_start(pc, &pc->sinks[k], &rt->stopping, cfg->state_dir, err, errlen);
            if (!p->sinks[k] || (attach && core_sink_attach_spool(p->sinks[k], err, errlen) != 0))
                return -1;
            core_metrics_sink_register(p->sinks[k], pc->name, &pc->sinks[k]);
        }
        for (size_t k = 0; k < pc->ntransforms; k++)
            if (instance_create(rt, p, &p->transforms[k], &pc->transforms[k], k + 1, err, errlen) != 0)
                return -1;
        if (instance_create(rt, p, &p->source, &pc->source, 0, err, errlen) != 0)
            return -1;
    }
    if (!found) {
        snprintf(err, errlen, "no pipeline named '%s' in %s", rt->opts.only_pipeline, cfg->file);
        return -1;
    }
    return 0;
}

/* ---- the worker pool --------------------------------------------------------------- */

/* The cycle's one line: rows per stream that reached the sinks, duration, ticks skipped while
 * it ran (since the previous line), at the pipeline's cycle_log level. */
static void log_cycle(pipeline *p, int64_t ms)
{
    int lv = p->cfg->cycle_log_level >= 0 ? p->cfg->cycle_log_level : (int)p->rt->set.cfg->cycle_log_level;
    uint64_t skipped = atomic_load(&p->skipped), new_skips = skipped - p->skipped_told;
    p->skipped_told = skipped;
    if (!core_log_would((cp_log_level)lv))
        return;
    cp_buf b = {0};
    uint64_t total = p->rows.other;
    for (size_t i = 0; i < p->rows.n; i++) {
        cp_buf_printf(&b, "%s%s=%llu", i ? " " : "", p->rows.s[i].stream, (unsigned long long)p->rows.s[i].rows);
        total += p->rows.s[i].rows;
    }
    if (p->rows.more)
        cp_buf_printf(&b, " other=%llu", (unsigned long long)p->rows.other);
    core_log_tagged(&p->source.ctx.tag, (cp_log_level)lv, "cycle %llu %s in %lld ms: %llu rows%s%s%s, %llu ticks skipped",
                    (unsigned long long)p->cycles, p->cycle_failed ? "failed" : "done", (long long)ms,
                    (unsigned long long)total, b.p ? " (" : "", b.p ? b.p : "", b.p ? ")" : "",
                    (unsigned long long)new_skips);
    cp_buf_free(&b);
}

static void run_cycle(pipeline *p)
{
    int64_t t0 = core_util_mono_ms();
    p->cycle_failed = false;
    memset(&p->rows, 0, sizeof p->rows);
    const cp_plugin *d = &p->source.ec->plugin->desc;
    cp_status st = d->collect ? d->collect(p->source.data, &p->source.ctx.pub) : CP_ERR_UNSUPPORTED;
    if (st != CP_OK) {
        core_log_tagged(&p->source.ctx.tag, CP_LOG_ERROR, "cycle failed: %s", cp_strerror(st));
        p->cycle_failed = true;
    }
    pipeline_tick(p); /* also after a failed cycle: a source that stopped delivering is news */
    pipeline_commit(p, true); /* the cycle's batches are durable before it counts as done */
    p->cycles++;
    core_metrics_cycle(p->cfg->name, core_util_mono_ms() - t0, !p->cycle_failed);
    if (p->cycle_failed) {
        p->failures++;
        atomic_fetch_add(&p->rt->failures, 1);
    } else {
        p->last_ok_ms = core_util_now_ms();
    }
    log_cycle(p, core_util_mono_ms() - t0);
}

static void *pool_thread(void *arg)
{
    core_runtime *rt = arg;
    pthread_mutex_lock(&rt->lock);
    for (;;) {
        while (!rt->njobs && !rt->pool_quit)
            pthread_cond_wait(&rt->cv_job, &rt->lock);
        if (!rt->njobs && rt->pool_quit)
            break;
        pipeline *p = rt->jobs[0];
        memmove(rt->jobs, rt->jobs + 1, (rt->njobs - 1) * sizeof *rt->jobs);
        rt->njobs--;
        rt->busy++;
        pthread_mutex_unlock(&rt->lock);
        run_cycle(p);
        atomic_store(&p->running, false);
        pthread_mutex_lock(&rt->lock);
        rt->busy--;
        pthread_cond_broadcast(&rt->cv_idle);
    }
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

static void submit(core_runtime *rt, pipeline *p)
{
    pthread_mutex_lock(&rt->lock);
    if (rt->njobs == rt->cap_jobs) {
        size_t cap = rt->cap_jobs ? rt->cap_jobs * 2 : 16;
        pipeline **j = realloc(rt->jobs, cap * sizeof *j);
        if (!j) {
            pthread_mutex_unlock(&rt->lock);
            atomic_store(&p->running, false);
            LOG_ERROR("out of memory: cycle of pipeline '%s' skipped", p->cfg->name);
            return;
        }
        rt->jobs = j;
        rt->cap_jobs = cap;
    }
    rt->jobs[rt->njobs++] = p;
    pthread_cond_signal(&rt->cv_job);
    pthread_mutex_unlock(&rt->lock);
}

/* the earlier of `deadline` (mono ms, 0 = none) and the shutdown's, once a stop has begun */
static int64_t within_stop(core_runtime *rt, int64_t deadline)
{
    int64_t stop = (int64_t)atomic_load(&rt->stop_deadline);
    return stop && (!deadline || stop < deadline) ? stop : deadline;
}

/* waits until no cycle runs or is queued; false if the deadline (mono ms, 0 = none) passed.
 * With follow_stop, a stop that begins meanwhile brings the deadline forward to its own. */
static bool pool_wait_idle(core_runtime *rt, int64_t deadline, bool follow_stop)
{
    pthread_mutex_lock(&rt->lock);
    while (rt->njobs || rt->busy) {
        int64_t dl = follow_stop ? within_stop(rt, deadline) : deadline;
        if (dl && core_util_mono_ms() >= dl)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&rt->cv_idle, &rt->lock, &ts);
        core_notify_watchdog(); /* a long cycle during reload or shutdown is not a hang */
    }
    bool idle = !rt->njobs && !rt->busy;
    pthread_mutex_unlock(&rt->lock);
    return idle;
}

core_runtime *core_runtime_new(core_config *cfg, const core_run_opts *opts, char *err, size_t errlen)
{
    core_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (opts)
        rt->opts = *opts;
    atomic_init(&rt->stopping, false);
    atomic_init(&rt->stop_deadline, 0);
    atomic_init(&rt->stop_asked, false);
    atomic_init(&rt->shutdown_timeout_ms, (long long)cfg->shutdown_timeout_ms);
    atomic_init(&rt->failures, 0);
    pthread_mutex_init(&rt->lock, NULL);
    pthread_cond_init(&rt->cv_job, NULL);
    pthread_cond_init(&rt->cv_idle, NULL);
    core_http_init();
    core_http_configure(cfg->http_memory_budget, cfg->retry_after_max_ms, cfg->http_redirects_same_host_https);
    if (set_build(rt, cfg, &rt->set, true, err, errlen) != 0) {
        set_free(&rt->set);
        rt->set.cfg = NULL; /* the caller still owns cfg on failure */
        core_runtime_free(rt);
        return NULL;
    }
    rt->nthreads = (size_t)(cfg->workers > 0 ? cfg->workers : 4);
    if (rt->nthreads > rt->set.n && rt->set.n > 0)
        rt->nthreads = rt->set.n;
    rt->threads = calloc(rt->nthreads, sizeof *rt->threads);
    for (size_t i = 0; rt->threads && i < rt->nthreads; i++)
        if (pthread_create(&rt->threads[i], NULL, pool_thread, rt) != 0) {
            rt->nthreads = i;
            break;
        }
    if (!rt->threads || !rt->nthreads) {
        snprintf(err, errlen, "cannot start worker threads");
        set_free(&rt->set);
        rt->set.cfg = NULL; /* the caller still owns cfg on failure */
        core_runtime_free(rt);
        return NULL;
    }
    return rt;
}

static void log_stats(pipeline_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        pipeline *p = &s->p[i];
        core_log_tagged(&p->source.ctx.tag, CP_LOG_INFO, "pipeline stats: cycles=%llu failed=%llu skipped_ticks=%llu",
                        (unsigned long long)p->cycles, (unsigned long long)p->failures,
                        (unsigned long long)atomic_load(&p->skipped));
        for (size_t k = 0; k < p->nsinks; k++) {
            core_sink_stats st;
            core_sink_stats_get(p->sinks[k], &st);
            core_log_tagged(NULL, CP_LOG_INFO,
                            "sink %s stats: batches_in=%llu rows_in=%llu batches_out=%llu rows_out=%llu retries=%llu "
                            "rejected=%llu dead_lettered=%llu dropped=%llu dropped_rows=%llu queued=%zu spool_bytes=%lld "
                            "read_back=%llu",
                            core_sink_id(p->sinks[k]), (unsigned long long)st.batches_in,
                            (unsigned long long)st.rows_in, (unsigned long long)st.batches_out,
                            (unsigned long long)st.rows_out, (unsigned long long)st.retries,
                            (unsigned long long)st.rejected, (unsigned long long)st.dead_lettered,
                            (unsigned long long)st.dropped, (unsigned long long)st.dropped_rows, st.queued,
                            (long long)st.spool_bytes, (unsigned long long)st.read_back);
        }
    }
}

/* drains every sink of the set until the deadline; returns false if any is left non-empty.
 * *lost is set when a sink left undrained has no spool to keep its batches in. */
static bool drain_sinks(pipeline_set *s, int64_t deadline, bool *lost)
{
    bool ok = true;
    if (lost)
        *lost = false;
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->p[i].nsinks; k++)
            if (!core_sink_drain(s->p[i].sinks[k], deadline)) {
                ok = false;
                if (lost && !core_sink_has_spooled(s->p[i].sinks[k]))
                    *lost = true;
            }
    return ok;
}

static bool any_sink_failed(pipeline_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->p[i].nsinks; k++)
            if (core_sink_failed(s->p[i].sinks[k]))
                return true;
    return false;
}

/* ---- signals ------------------------------------------------------------------------- */

static sigset_t signal_set(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

void core_runtime_block_signals(void)
{
    sigset_t set = signal_set();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void core_runtime_unblock_signals(void)
{
    sigset_t set = signal_set();
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* The first stop: from now on shutdown has shutdown_timeout (0: no bound) to be over. */
static void stop_begin(core_runtime *rt)
{
    int64_t t = (int64_t)atomic_load(&rt->shutdown_timeout_ms);
    long long none = 0;
    if (t)
        atomic_compare_exchange_strong(&rt->stop_deadline, &none, (long long)(core_util_mono_ms() + t));
}

/* Ends the process now, as kill -9 would: for waits that shutdown_timeout could not end. What
 * reached a spool is replayed at the next start; no cleanup runs (threads may still hold it). */
static _Noreturn void exit_now(int code, const char *why)
{
    LOG_ERROR("%s: exiting now; unconfirmed batches stay in the spool for the next start", why);
    _exit(code);
}

static void *sigwatch_thread(void *arg)
{
    sigwatch *w = arg;
    core_runtime *rt = w->rt;
    sigset_t set = signal_set();
    while (!atomic_load(&w->done)) {
        struct timespec ts = {0, 100 * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts); /* SIGHUP: ignored here, sigwatch_stop's wake-up */
        if (sig == SIGINT || sig == SIGTERM) {
            const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
            if (atomic_exchange(&rt->stop_asked, true)) {
                char why[64];
                snprintf(why, sizeof why, "received a second %s", name);
                exit_now(128 + sig, why);
            }
            LOG_WARN("received %s: stopping (a second SIGINT or SIGTERM exits at once)", name);
            stop_begin(rt);
            atomic_store(&rt->stopping, true);
        }
        int64_t dl = (int64_t)atomic_load(&rt->stop_deadline);
        if (dl && core_util_mono_ms() >= dl + STOP_GRACE_MS)
            exit_now(1, "shutdown is still waiting after shutdown_timeout");
    }
    return NULL;
}

/* Starts the guard (and, in --once and backfill, the turning of SIGINT/SIGTERM into `stopping`);
 * it runs until core_runtime_free is done. */
static void sigwatch_start(core_runtime *rt)
{
    if (rt->watch.running)
        return;
    rt->watch.rt = rt;
    atomic_init(&rt->watch.done, false);
    rt->watch.running = pthread_create(&rt->watch.thread, NULL, sigwatch_thread, &rt->watch) == 0;
}

/* Ends the guard at once: a SIGHUP sent to its thread (ignored by it) ends its wait, so --once and
 * backfill exit as soon as their work is done, not up to 100 ms later. */
static void sigwatch_stop(core_runtime *rt)
{
    if (!rt->watch.running)
        return;
    atomic_store(&rt->watch.done, true);
    pthread_kill(rt->watch.thread, SIGHUP);
    pthread_join(rt->watch.thread, NULL);
    rt->watch.running = false;
}

/* ---- modes ------------------------------------------------------------------------- */

/* drains the sinks (until shutdown_timeout from now, or the stop's deadline), then stops them */
static bool finish_sinks(core_runtime *rt)
{
    int64_t timeout = rt->set.cfg->shutdown_timeout_ms;
    bool drained = drain_sinks(&rt->set, within_stop(rt, timeout ? core_util_mono_ms() + timeout : 0), NULL);
    if (!drained) {
        LOG_ERROR("sinks did not finish writing within shutdown_timeout (what is left stays in their spools)");
        atomic_store(&rt->stopping, true); /* a write in progress: cp_stopping tells the sink */
    }
    for (size_t i = 0; i < rt->set.n; i++)
        for (size_t k = 0; k < rt->set.p[i].nsinks; k++)
            core_sink_halt(rt->set.p[i].sinks[k]);
    log_stats(&rt->set);
    return drained;
}

int core_runtime_run_once(core_runtime *rt)
{
    sigwatch_start(rt);
    for (size_t i = 0; i < rt->set.n; i++) {
        if (rt->set.p[i].cfg->continuous) {
            core_log_tagged(&rt->set.p[i].source.ctx.tag, CP_LOG_WARN, "a continuous pipeline has no cycle: not run by --once");
            continue;
        }
        atomic_store(&rt->set.p[i].running, true);
        submit(rt, &rt->set.p[i]);
    }
    if (!pool_wait_idle(rt, 0, true)) /* only a stop's deadline ends this wait early */
        exit_now(1, "cycles still running at the end of shutdown_timeout");
    bool drained = finish_sinks(rt);
    return (atomic_load(&rt->failures) || !drained || any_sink_failed(&rt->set)) ? 1 : 0;
}

int core_runtime_backfill(core_runtime *rt, int64_t from_ms, int64_t to_ms)
{
    const core_range r = {from_ms, to_ms};
    return core_runtime_backfill_ranges(rt, &r, 1);
}

int core_runtime_backfill_ranges(core_runtime *rt, const core_range *ranges, size_t n)
{
    if (rt->set.n != 1) {
        LOG_ERROR("backfill needs exactly one pipeline (use --pipeline NAME)");
        return 2;
    }
    pipeline *p = &rt->set.p[0];
    const cp_plugin *d = &p->source.ec->plugin->desc;
    if (!d->backfill) {
        LOG_ERROR("plugin '%s' of pipeline '%s' cannot backfill (no backfill callback)", p->source.ec->plugin->name,
                  p->cfg->name);
        return 2;
    }
    sigwatch_start(rt);
    p->cycle_failed = false;
    cp_status st = CP_OK;
    for (size_t i = 0; i < n && st == CP_OK; i++) {
        char a[40], b[40];
        core_util_iso8601(ranges[i].from_ms, a, sizeof a);
        core_util_iso8601(ranges[i].to_ms, b, sizeof b);
        if (n > 1)
            core_log_tagged(&p->source.ctx.tag, CP_LOG_INFO, "backfill %zu of %zu: from %s to %s", i + 1, n, a, b);
        else
            core_log_tagged(&p->source.ctx.tag, CP_LOG_INFO, "backfill from %s to %s", a, b);
        st = d->backfill(p->source.data, &p->source.ctx.pub, ranges[i].from_ms, ranges[i].to_ms);
    }
    if (st != CP_OK)
        core_log_tagged(&p->source.ctx.tag, CP_LOG_ERROR, "backfill stopped: %s%s", cp_strerror(st),
                        st == CP_ERR_STOPPED ? " (run the same command again to resume)" : "");
    pipeline_commit(p, true);
    bool drained = finish_sinks(rt);
    return (st != CP_OK || p->cycle_failed || !drained || any_sink_failed(&rt->set)) ? 1 : 0;
}

static void schedule_next(pipeline *p, int64_t now)
{
    const core_pipeline_cfg *c = p->cfg;
    if (c->continuous) {
        p->next_fire = INT64_MAX;
        return;
    }
    int64_t base = c->schedule ? core_sched_cron_next(&c->cron, now) : core_sched_interval_next(c->interval_ms, now);
    if (base < 0)
        base = now + 86400000; /* a cron that never matches: look again tomorrow */
    int64_t jitter = c->jitter_ms ? (int64_t)(core_util_random() * (double)c->jitter_ms) : 0;
    p->next_fire = base + jitter;
}

/* SIGHUP: validate the new config and swap pipelines, handing sink queues over by identity. */
static void reload(core_runtime *rt, const char *file)
{
    LOG_INFO("SIGHUP: reloading %s", file);
    core_errors errs = {0};
    core_config *cfg = core_config_load(file, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.n; i++)
            LOG_ERROR("reload refused: %s", errs.msgs[i]);
        LOG_ERROR("reload refused (%zu errors): the running config stays in force", errs.n);
        core_errors_free(&errs);
        return;
    }
    /* nothing new is scheduled while we are here; let in-flight cycles finish */
    pool_wait_idle(rt, 0, false);
    pipeline_set next = {0};
    char err[768];
    if (set_build(rt, cfg, &next, false, err, sizeof err) != 0) {
        LOG_ERROR("reload refused: %s; the running config stays in force", err);
        set_free(&next);
        core_config_free(cfg);
        return;
    }
    streams_stop(&rt->set);
    for (size_t i = 0; i < rt->set.n; i++) {
        pipeline *old = &rt->set.p[i];
        for (size_t k = 0; k < old->nsinks; k++) {
            core_sink *os = old->sinks[k], *ns = NULL;
            for (size_t j = 0; j < next.n && !ns; j++)
                for (size_t m = 0; m < next.p[j].nsinks; m++)
                    if (strcmp(core_sink_id(next.p[j].sinks[m]), core_sink_id(os)) == 0)
                        ns = next.p[j].sinks[m];
            if (!ns) {
                int64_t t = rt->set.cfg->shutdown_timeout_ms;
                core_sink_drain(os, t ? core_util_mono_ms() + t : 0);
            }
            core_sink_halt(os);
            if (ns)
                core_sink_handover(os, ns); /* the spool and every unconfirmed batch move on */
        }
    }
    for (size_t j = 0; j < next.n; j++) /* new sinks without a predecessor open their own spool */
        for (size_t m = 0; m < next.p[j].nsinks; m++) {
            bool had = false;
            for (size_t i = 0; i < rt->set.n && !had; i++)
                for (size_t k = 0; k < rt->set.p[i].nsinks; k++)
                    if (strcmp(core_sink_id(rt->set.p[i].sinks[k]), core_sink_id(next.p[j].sinks[m])) == 0)
                        had = true;
            if (!had && core_sink_attach_spool(next.p[j].sinks[m], err, sizeof err) != 0)
                LOG_ERROR("reload: %s: the sink runs without a spool", err);
        }
    for (size_t j = 0; j < next.n; j++) /* keep counters of pipelines that survive */
        for (size_t i = 0; i < rt->set.n; i++)
            if (strcmp(next.p[j].cfg->name, rt->set.p[i].cfg->name) == 0) {
                next.p[j].cycles = rt->set.p[i].cycles;
                next.p[j].failures = rt->set.p[i].failures;
                atomic_store(&next.p[j].skipped, atomic_load(&rt->set.p[i].skipped));
                next.p[j].skipped_told = rt->set.p[i].skipped_told;
                next.p[j].last_ok_ms = rt->set.p[i].last_ok_ms;
            }
    core_config *oldcfg = rt->set.cfg;
    set_free(&rt->set);
    core_api_reload(cfg); /* its readers use the old config's sinks */
    core_config_free(oldcfg);
    rt->set = next;
    atomic_store(&rt->shutdown_timeout_ms, (long long)cfg->shutdown_timeout_ms);
    core_log_setup(cfg->log_level, cfg->log_format);
    int64_t now = core_util_now_ms();
    for (size_t i = 0; i < rt->set.n; i++)
        schedule_next(&rt->set.p[i], now);
    streams_start(&rt->set);
    LOG_INFO("reload done: %zu pipelines running", rt->set.n);
}

/* no cycle runs or waits, and no sink has a batch to write now */
static bool all_idle(core_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    bool idle = !rt->njobs && !rt->busy;
    pthread_mutex_unlock(&rt->lock);
    for (size_t i = 0; idle && i < rt->set.n; i++)
        for (size_t k = 0; idle && k < rt->set.p[i].nsinks; k++)
            idle = core_sink_idle(rt->set.p[i].sinks[k]);
    return idle;
}

int core_runtime_run(core_runtime *rt, const char *config_file)
{
    sigset_t set = signal_set();
    bool worked = false; /* cycles ran since freed memory was last given back */
    int64_t now = core_util_now_ms();
    for (size_t i = 0; i < rt->set.n; i++) {
        schedule_next(&rt->set.p[i], now);
        if (rt->set.p[i].cfg->run_at_start && !rt->set.p[i].cfg->continuous)
            rt->set.p[i].next_fire = now;
    }
    streams_start(&rt->set);
    LOG_INFO("coinpipe %s running %zu pipelines", COINPIPE_VERSION, rt->set.n);
    for (;;) {
        now = core_util_now_ms();
        int64_t wait = 1000;
        for (size_t i = 0; i < rt->set.n; i++)
            if (rt->set.p[i].next_fire - now < wait)
                wait = rt->set.p[i].next_fire - now;
        int64_t wd = core_notify_watchdog_ms();
        if (wd && wd / 2 < wait)
            wait = wd / 2;
        if (wait < 0)
            wait = 0;
        struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);
        core_notify_watchdog();
        if (sig == SIGINT || sig == SIGTERM) {
            core_notify_stopping();
            LOG_INFO("received %s: stopping (finishing cycles, draining sinks; a second SIGINT or SIGTERM exits at "
                     "once)",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        if (sig == SIGHUP) {
            core_notify_reloading();
            reload(rt, config_file);
            core_notify_ready(rt->set.n); /* refused or done: the service runs (old or new config) */
            continue;
        }
        now = core_util_now_ms();
        for (size_t i = 0; i < rt->set.n; i++) {
            pipeline *p = &rt->set.p[i];
            if (now < p->next_fire)
                continue;
            if (atomic_load(&p->running)) {
                unsigned long long n = atomic_fetch_add(&p->skipped, 1) + 1;
                core_metrics_skipped(p->cfg->name);
                core_log_tagged(&p->source.ctx.tag, CP_LOG_WARN,
                                "tick skipped: the previous cycle is still running (%llu skipped so far)", n);
            } else {
                atomic_store(&p->running, true);
                submit(rt, p);
                worked = true;
            }
            schedule_next(p, now);
        }
        if (worked && all_idle(rt)) { /* looked at once a second at least */
            core_util_release_memory();
            worked = false;
        }
    }
    atomic_store(&rt->stop_asked, true);
    stop_begin(rt);
    sigwatch_start(rt); /* a second signal, or a wait past the deadline, ends the process */
    streams_stop(&rt->set);
    int64_t deadline = within_stop(rt, 0);
    if (!pool_wait_idle(rt, deadline, false)) {
        LOG_WARN("cycles still running after shutdown_timeout: asking them to stop");
        atomic_store(&rt->stopping, true);
        if (!pool_wait_idle(rt, core_util_mono_ms() + STOP_GRACE_MS / 2, false))
            exit_now(1, "cycles still running after shutdown_timeout");
    }
    bool lost = false;
    bool drained = drain_sinks(&rt->set, deadline, &lost);
    if (!drained)
        LOG_WARN("sinks did not finish writing within shutdown_timeout: %s",
                 lost ? "batches of sinks without a spool are lost" : "what is left stays in their spools");
    atomic_store(&rt->stopping, true);
    for (size_t i = 0; i < rt->set.n; i++)
        for (size_t k = 0; k < rt->set.p[i].nsinks; k++)
            core_sink_halt(rt->set.p[i].sinks[k]);
    log_stats(&rt->set);
    return lost ? 1 : 0;
}

void core_runtime_free(core_runtime *rt)
{
    if (!rt)
        return;
    atomic_store(&rt->stopping, true);
    pthread_mutex_lock(&rt->lock);
    rt->pool_quit = true;
    pthread_cond_broadcast(&rt->cv_job);
    pthread_mutex_unlock(&rt->lock);
    for (size_t i = 0; i < rt->nthreads; i++)
        pthread_join(rt->threads[i], NULL);
    free(rt->threads);
    free(rt->jobs);
    core_config *cfg = rt->set.cfg;
    set_free(&rt->set);
    if (!rt->opts.borrow_config)
        core_config_free(cfg);
    core_http_shutdown();
    core_ws_shutdown();
    sigwatch_stop(rt); /* the guard watched the whole shutdown */
    pthread_mutex_destroy(&rt->lock);
    pthread_cond_destroy(&rt->cv_job);
    pthread_cond_destroy(&rt->cv_idle);
    free(rt);
}
