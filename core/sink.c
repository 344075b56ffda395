/* Sink side: each sink instance has its own bounded queue and worker thread, with retries.
 * SPDX-License-Identifier: MIT
 *
 * The queue is a ring of batch references. Its first `npending` entries were written and
 * answered CP_PENDING (buffered in the sink); they stay queued until a later CP_OK from
 * write() or flush() confirms them, and are re-delivered after a CP_RETRY. The worker
 * never runs two callbacks of one instance at once.
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct core_sink {
    char *id;
    core_ctx ctx;
    const core_plugin *plugin;
    const core_element_cfg *ec;
    void *inst;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t work;  /* something to do, or quit */
    pthread_cond_t space; /* room in the queue, or progress for drain */
    cp_batch **q;
    size_t cap, head, count, npending;
    bool writing;
    bool quit, draining;
    int attempts;
    int64_t next_flush_mono;
    int64_t retry_until_mono; /* waiting out a backoff */
    core_sink_stats st;
    bool failed;
    bool warned_no_flush;
};

#define AT(s, i) ((s)->q[((s)->head + (i)) % (s)->cap])

static bool transient(cp_status st)
{
    return st == CP_RETRY || st == CP_ERR_IO || st == CP_ERR_TIMEOUT || st == CP_ERR_HTTP || st == CP_ERR_NOMEM ||
           st == CP_ERR_BANNED;
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *m, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, m, &ts);
}

/* removes `n` entries from the head (confirmed) */
static void pop_confirmed(core_sink *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cp_batch *b = AT(s, 0);
        s->st.batches_out++;
        s->st.rows_out += core_batch_rows(b);
        core_batch_unref(b);
        s->head = (s->head + 1) % s->cap;
        s->count--;
    }
    if (n) {
        s->npending = s->npending >= n ? s->npending - n : 0;
        s->st.last_success_ms = core_util_now_ms();
        pthread_cond_broadcast(&s->space);
    }
}

/* removes entry `k` (counted from the head) without confirming it */
static cp_batch *remove_at(core_sink *s, size_t k)
{
    cp_batch *b = AT(s, k);
    for (size_t i = k; i > 0; i--)
        AT(s, i) = AT(s, i - 1);
    s->head = (s->head + 1) % s->cap;
    s->count--;
    if (s->npending > k)
        s->npending--;
    pthread_cond_broadcast(&s->space);
    return b;
}

static void schedule_retry(core_sink *s, cp_status st, const char *what, const cp_batch *b)
{
    s->attempts++;
    s->st.retries++;
    s->npending = 0; /* the sink discarded its buffer: re-deliver everything unconfirmed */
    double cap = (double)s->ec->retry_initial_ms;
    for (int i = 1; i < s->attempts && cap < (double)s->ec->retry_max_ms; i++)
        cap *= 2;
    if (cap > (double)s->ec->retry_max_ms)
        cap = (double)s->ec->retry_max_ms;
    int64_t wait = (int64_t)(cap * core_util_random()) + 1; /* full jitter */
    s->retry_until_mono = core_util_mono_ms() + wait;
    char d[32];
    core_util_format_duration(wait, d, sizeof d);
    core_log_tagged(&s->ctx.tag, CP_LOG_WARN, "%s failed (%s) for stream '%s' (%zu rows); attempt %d, retrying in %s",
                    what, cp_strerror(st), b ? core_batch_schema(b)->stream : "-", b ? core_batch_rows(b) : 0,
                    s->attempts, d);
}

static void give_up(core_sink *s, size_t k, cp_status st, const char *why)
{
    cp_batch *b = remove_at(s, k);
    s->failed = true;
    s->st.rejected++;
    core_log_tagged(&s->ctx.tag, CP_LOG_ERROR, "batch of stream '%s' (%zu rows) not written: %s (%s)",
                    core_batch_schema(b)->stream, core_batch_rows(b), why, cp_strerror(st));
    core_batch_unref(b);
    s->attempts = 0;
}

static void *worker(void *arg)
{
    core_sink *s = arg;
    const cp_plugin *d = &s->plugin->desc;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        int64_t now = core_util_mono_ms();
        if (s->retry_until_mono > now) {
            if (s->quit)
                break;
            timed_wait(&s->work, &s->lock, s->retry_until_mono - now);
            continue;
        }
        bool undelivered = s->count > s->npending;
        bool flush_due = s->npending > 0 && (s->quit || s->draining || now >= s->next_flush_mono);
        if (undelivered && !s->quit) {
            size_t k = s->npending;
            cp_batch *b = AT(s, k);
            core_batch_ref(b);
            s->writing = true;
            pthread_mutex_unlock(&s->lock);
            cp_status st = d->write(s->inst, &s->ctx.pub, b);
            pthread_mutex_lock(&s->lock);
            s->writing = false;
            if (st == CP_OK) {
                s->attempts = 0;
                pop_confirmed(s, k + 1);
            } else if (st == CP_PENDING && d->flush) {
                s->attempts = 0;
                if (s->npending == 0)
                    s->next_flush_mono = core_util_mono_ms() + 1000;
                s->npending++;
            } else if (st == CP_PENDING) {
                if (!s->warned_no_flush)
                    core_log_tagged(&s->ctx.tag, CP_LOG_WARN, "write returned CP_PENDING but the plugin has no flush "
                                    "callback; treating it as written");
                s->warned_no_flush = true;
                pop_confirmed(s, k + 1);
            } else if (transient(st)) {
                if (s->ec->retry_max_attempts && s->attempts + 1 >= s->ec->retry_max_attempts)
                    give_up(s, k, st, "retry_max_attempts reached");
                else
                    schedule_retry(s, st, "write", b);
            } else {
                give_up(s, k, st, "the sink rejected it permanently");
            }
            core_batch_unref(b);
            pthread_cond_broadcast(&s->space);
            continue;
        }
        if (flush_due) {
            unsigned flags = (s->quit || s->draining) ? CP_FLUSH_FORCE : 0;
            pthread_mutex_unlock(&s->lock);
            cp_status st = d->flush(s->inst, &s->ctx.pub, flags);
            pthread_mutex_lock(&s->lock);
            if (st == CP_OK) {
                s->attempts = 0;
                pop_confirmed(s, s->npending);
            } else if (st == CP_PENDING) {
                if (flags & CP_FLUSH_FORCE) {
                    core_log_tagged(&s->ctx.tag, CP_LOG_WARN, "forced flush returned CP_PENDING; retrying");
                    s->retry_until_mono = core_util_mono_ms() + 1000;
                }
                s->next_flush_mono = core_util_mono_ms() + 1000;
            } else if (transient(st)) {
                schedule_retry(s, st, "flush", NULL);
            } else {
                size_t n = s->npending;
                s->npending = 0;
                for (size_t i = 0; i < n; i++)
                    give_up(s, 0, st, "flush failed permanently");
            }
            pthread_cond_broadcast(&s->space);
            if (s->quit && s->npending == 0)
                break;
            continue;
        }
        if (s->quit)
            break;
        int64_t wait = 1000;
        if (s->npending > 0 && s->next_flush_mono - now < wait)
            wait = s->next_flush_mono - now > 0 ? s->next_flush_mono - now : 1;
        timed_wait(&s->work, &s->lock, wait);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

core_sink *core_sink_start(const core_pipeline_cfg *pl, const core_element_cfg *ec, atomic_bool *stopping,
                           const char *state_dir, char *err, size_t errlen)
{
    core_sink *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t idlen = strlen(pl->name) + strlen(ec->name) + 2;
    s->id = malloc(idlen);
    s->cap = (size_t)(ec->queue_size > 0 ? ec->queue_size : 1000);
    s->q = calloc(s->cap, sizeof *s->q);
    if (!s->id || !s->q) {
        free(s->id);
        free(s->q);
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(s->id, idlen, "%s/%s", pl->name, ec->name);
    s->plugin = ec->plugin;
    s->ec = ec;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->space, NULL);
    core_ctx_init(&s->ctx, pl->name, CP_SINK, ec->plugin->name, ec->name);
    s->ctx.stopping = stopping;
    s->ctx.state = core_state_open(state_dir, pl->name, ec->name);
    cp_status st = ec->plugin->desc.create(&s->ctx.pub, ec->cfg, &s->inst);
    if (st != CP_OK) {
        snprintf(err, errlen, "sink '%s' (plugin %s) could not start: %s", s->id, ec->plugin->name, cp_strerror(st));
        core_sink_stop(s);
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, worker, s) != 0) {
        snprintf(err, errlen, "sink '%s': cannot start its thread", s->id);
        core_sink_stop(s);
        return NULL;
    }
    s->started = true;
    return s;
}

cp_status core_sink_enqueue(core_sink *s, cp_batch *b)
{
    pthread_mutex_lock(&s->lock);
    bool warned = false;
    while (s->count == s->cap && !s->quit) {
        if (!warned)
            core_log_tagged(&s->ctx.tag, CP_LOG_WARN, "queue full (%zu batches): pipeline waits for the sink", s->cap);
        warned = true;
        timed_wait(&s->space, &s->lock, 1000);
    }
    if (s->quit) {
        pthread_mutex_unlock(&s->lock);
        return CP_ERR_STOPPED;
    }
    core_batch_ref(b);
    s->q[(s->head + s->count) % s->cap] = b;
    s->count++;
    s->st.batches_in++;
    s->st.rows_in += core_batch_rows(b);
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    return CP_OK;
}

bool core_sink_drain(core_sink *s, int64_t deadline_mono_ms)
{
    pthread_mutex_lock(&s->lock);
    s->draining = true;
    pthread_cond_signal(&s->work);
    while (s->count > 0 || s->writing) {
        int64_t now = core_util_mono_ms();
        if (deadline_mono_ms && now >= deadline_mono_ms)
            break;
        /* a give-up limit for --once: stop waiting on a sink that keeps failing */
        timed_wait(&s->space, &s->lock, 100);
    }
    bool ok = s->count == 0;
    s->draining = false;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

void core_sink_handover(core_sink *from, core_sink *to)
{
    pthread_mutex_lock(&from->lock);
    pthread_mutex_lock(&to->lock);
    size_t need = from->count + to->count;
    if (need > to->cap) {
        cp_batch **q = calloc(need, sizeof *q);
        if (q) {
            for (size_t i = 0; i < to->count; i++)
                q[i] = AT(to, i);
            free(to->q);
            to->q = q;
            to->head = 0;
            to->cap = need;
        }
    }
    /* prepend from's entries in order (all unconfirmed, so all re-delivered) */
    while (from->count > 0 && to->count < to->cap) {
        cp_batch *b = AT(from, from->count - 1);
        from->count--;
        to->head = (to->head + to->cap - 1) % to->cap;
        to->q[to->head] = b;
        to->count++;
        to->st.batches_in++;
        to->st.rows_in += core_batch_rows(b);
    }
    from->npending = 0;
    pthread_cond_signal(&to->work);
    pthread_mutex_unlock(&to->lock);
    pthread_mutex_unlock(&from->lock);
}

void core_sink_halt(core_sink *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->lock);
    s->quit = true;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void core_sink_stop(core_sink *s)
{
    if (!s)
        return;
    core_sink_halt(s);
    if (s->count) {
        size_t rows = 0;
        for (size_t i = 0; i < s->count; i++)
            rows += core_batch_rows(AT(s, i));
        core_log_tagged(&s->ctx.tag, CP_LOG_WARN, "%zu batches (%zu rows) were still queued at stop and are dropped",
                        s->count, rows);
        s->st.dropped += s->count;
        s->failed = true;
        while (s->count) {
            core_batch_unref(AT(s, 0));
            s->head = (s->head + 1) % s->cap;
            s->count--;
        }
    }
    if (s->inst)
        s->plugin->desc.destroy(s->inst);
    core_state_close(s->ctx.state);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->space);
    free(s->q);
    free(s->id);
    free(s);
}

void core_sink_stats_get(core_sink *s, core_sink_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->st;
    out->queued = s->count;
    pthread_mutex_unlock(&s->lock);
}

const char *core_sink_id(const core_sink *s) { return s->id; }

bool core_sink_failed(core_sink *s)
{
    pthread_mutex_lock(&s->lock);
    bool f = s->failed;
    pthread_mutex_unlock(&s->lock);
    return f;
}
