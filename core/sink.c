/* Sink side: each sink instance has its own queue (spooled to disk by default) and worker thread.
 * SPDX-License-Identifier: MIT
 *
 * The queue is a ring of entries (spool sequence number + batch reference). Its first
 * `npending` entries were written and answered CP_PENDING (buffered in the sink); they stay
 * queued until a later CP_OK from write() or flush() confirms them, and are re-delivered
 * after a CP_RETRY. With the spool on, every entry is also a record on disk, memory holds at
 * most queue_size batches and SINK_MEMORY_BYTES (the rest are read back when their turn
 * comes; a batch past that bound waits a moment instead when the sink confirms each batch
 * quickly, SINK_PACE_MS), and the bound is spool_max_bytes; without it, the bound is queue_size
 * batches. At the bound the overflow policy applies: block, drop_oldest or drop_newest, every
 * drop counted and logged.
 * A batch the sink rejects for good goes to <state_dir>/dead/<pipeline>/<sink>/ (dead.c).
 * The worker never runs two callbacks of one instance at once.
 */
#include "batch.h"
#include "config.h"
#include "dead.h"
#include "instance.h"
#include "loader.h"
#include "log.h"
#include "sink.h"
#include "spool.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct qent {
    uint64_t seq;  /* spool sequence number (0 without a spool) */
    cp_batch *b;   /* NULL when spilled: read back from the spool when needed */
    size_t mem;    /* bytes b holds */
} qent;

/* With a spool, queued batches stay in memory up to this many bytes (and queue_size batches);
 * the rest wait in the spool alone and are read back in turn, so a sink that falls behind a
 * fast source costs disk reads, not memory. A sink quick enough to pace the source
 * (SINK_PACE_MS) keeps the source within this bound instead, so the bound is also how far the
 * source runs ahead of such a sink. Before pacing, 10 MiB was the least that kept the read-backs
 * of the N = 200 poll cycle (4,000-row batches of about 1 MB) to a batch or two (8 MiB read back 3
 * to 14 of its 26 batches: CPU +5 %, page faults +40 %). With pacing none is read back at 6 MiB
 * either, and the batches waiting in memory take fewer fresh pages: 2-3 % less CPU in that
 * cycle, 4,850 page faults instead of 5,750, a peak RSS 3.5 MB lower, a wall up to 2 % longer
 * (4 MiB: no less CPU than 6). A slower sink reads back what passes the bound, as before. */
#define SINK_MEMORY_BYTES ((size_t)6 << 20)

/* A sink that confirms each batch within this many ms (SQLite on a local disk: a few ms for a
 * poll cycle's 4,500 candles, tens on a loaded machine) paces the source instead: a batch past
 * SINK_MEMORY_BYTES waits for room (as long again at most) rather than go to the spool alone
 * and be read back. A read-back costs the sink's thread its read and decoding (2 to 6 % of the
 * N = 200 cycle's CPU, 2 to 10 batches of 26), and the sink is busy all the while anyway; a
 * slower sink, one that buffers (CP_PENDING) or one retrying is not waited for: collection
 * never stalls behind it. */
#define SINK_PACE_MS 100

struct core_sink {
    char *id;
    char *state_dir;
    core_instance in; /* the plugin instance: context, state, stop flag */
    const core_plugin *plugin;
    const core_element_cfg *ec;
    const char *pipeline;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t work;  /* something to do, or quit */
    pthread_cond_t space; /* room in the queue, or progress for drain */
    qent *q;
    size_t cap, head, count, npending, in_memory, mem_bytes;
    bool writing;
    bool quit, draining;
    int attempts;
    int64_t next_flush_mono;
    int64_t retry_until_mono;
    core_spool *spool;
    int64_t last_write_ms; /* how long the last write the sink confirmed at once took; -1: none yet */
    bool pace_off;         /* a wait for room ran out: none until a write is quick again */
    cp_batch *spare; /* the last batch read back, refilled by the next read-back (the worker's) */
    int64_t unsynced;
    core_sink_stats st;
    bool failed;
    bool warned_no_flush, warned_full;
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

static bool grow(core_sink *s)
{
    size_t cap = s->cap * 2;
    qent *q = calloc(cap, sizeof *q);
    if (!q)
        return false;
    for (size_t i = 0; i < s->count; i++)
        q[i] = AT(s, i);
    free(s->q);
    s->q = q;
    s->cap = cap;
    s->head = 0;
    return true;
}

/* releases an entry that left the queue (confirmed, dropped or dead-lettered) */
static void release(core_sink *s, qent *e)
{
    if (e->b) {
        core_batch_unref(e->b);
        s->in_memory--;
        s->mem_bytes -= e->mem;
    }
    if (s->spool)
        core_spool_done(s->spool, e->seq);
    e->b = NULL;
}

/* removes entry `k` (counted from the head) and returns it */
static qent remove_at(core_sink *s, size_t k)
{
    qent e = AT(s, k);
    for (size_t i = k; i > 0; i--)
        AT(s, i) = AT(s, i - 1);
    s->head = (s->head + 1) % s->cap;
    s->count--;
    if (s->npending > k)
        s->npending--;
    pthread_cond_broadcast(&s->space);
    return e;
}

/* loads a spilled entry's batch; NULL (logged) when the spool cannot give it back */
static cp_batch *entry_batch(core_sink *s, qent *e)
{
    if (e->b)
        return e->b;
    cp_batch *b = NULL, *spare = s->spare;
    s->spare = NULL;
    cp_status st = s->spool ? core_spool_read(s->spool, e->seq, spare, &b) : CP_ERR_NOT_FOUND;
    if (!s->spool)
        core_batch_unref(spare);
    if (st == CP_OK)
        s->st.read_back++;
    if (st != CP_OK) {
        core_log_tagged(&s->in.ctx.tag, CP_LOG_ERROR, "spool record %llu cannot be read back (%s): batch lost",
                        (unsigned long long)e->seq, cp_strerror(st));
        return NULL;
    }
    return b; /* owned by the caller */
}

/* A batch read back and written: kept to be refilled by the next read-back while one waits (its
 * pages stay mapped: a new batch of a megabyte or two is a page fault per 4 KiB, and glibc gives
 * a freed one back to the kernel), else freed. */
static void keep_spare(core_sink *s, cp_batch *b)
{
    bool waiting = false;
    for (size_t i = s->npending; i < s->count && !waiting; i++)
        waiting = !AT(s, i).b;
    if (waiting && !s->spare)
        s->spare = b;
    else
        core_batch_unref(b);
}

static void pop_confirmed(core_sink *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        qent e = remove_at(s, 0);
        s->st.batches_out++;
        s->st.rows_out += e.b ? core_batch_rows(e.b) : 0;
        release(s, &e);
    }
    if (n)
        s->st.last_success_ms = core_util_now_ms();
}

static void schedule_retry(core_sink *s, cp_status st, const char *what, const cp_batch *b)
{
    s->attempts++;
    s->st.retries++;
    size_t pending = s->npending;
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
    if (b)
        core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN, "%s failed (%s) for stream '%s' (%zu rows); attempt %d, retrying in %s",
                        what, cp_strerror(st), core_batch_schema(b)->stream, core_batch_rows(b), s->attempts, d);
    else /* a flush: what failed is every batch buffered since the last confirmation */
        core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN, "%s failed (%s) for the %zu batch%s buffered since the last "
                        "confirmed write; attempt %d, retrying in %s",
                        what, cp_strerror(st), pending, pending == 1 ? "" : "es", s->attempts, d);
}

/* moves entry k to the dead-letter directory */
static void give_up(core_sink *s, size_t k, cp_status st, const char *why)
{
    qent e = remove_at(s, k);
    s->failed = true;
    s->st.rejected++;
    s->st.last_reject_ms = core_util_now_ms();
    cp_batch *b = entry_batch(s, &e);
    if (b) {
        char reason[320], path[4200];
        if (transient(st)) /* no "will retry": this batch is not retried any more */
            snprintf(reason, sizeof reason, "%s (after %d attempt%s; the last one failed transiently: %s)", why,
                     s->attempts + 1, s->attempts ? "s" : "", st == CP_RETRY ? "the sink asked to retry" : cp_strerror(st));
        else
            snprintf(reason, sizeof reason, "%s (%s)", why, cp_strerror(st));
        bool saved = core_dead_write(s->state_dir, s->pipeline, s->ec->name, b, reason, path, sizeof path) == 0;
        if (saved)
            s->st.dead_lettered++;
        core_log_tagged(&s->in.ctx.tag, CP_LOG_ERROR, "batch of stream '%s' (%zu rows) not written: %s; %s%s",
                        core_batch_schema(b)->stream, core_batch_rows(b), reason,
                        saved ? "saved to " : "and it could not be saved to the dead-letter directory",
                        saved ? path : "");
        if (b != e.b)
            core_batch_unref(b);
    }
    release(s, &e);
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
            qent *e = &AT(s, k);
            cp_batch *b = entry_batch(s, e);
            if (!b) {
                qent lost = remove_at(s, k);
                s->st.dropped++;
                s->failed = true;
                release(s, &lost);
                continue;
            }
            bool read_back = b != e->b;
            if (!read_back)
                core_batch_ref(b);
            s->writing = true;
            pthread_mutex_unlock(&s->lock);
            int64_t t0 = core_util_mono_ms();
            cp_status st = d->write(s->in.data, &s->in.ctx.pub, b);
            int64_t took = core_util_mono_ms() - t0;
            pthread_mutex_lock(&s->lock);
            s->writing = false;
            s->last_write_ms = st == CP_OK ? took : -1;
            if (st == CP_OK && took <= SINK_PACE_MS)
                s->pace_off = false;
            else if (st == CP_PENDING) /* confirmed at a flush: room comes back no sooner */
                s->pace_off = true;
            if (st == CP_OK) {
                s->attempts = 0;
                s->st.rows_out += AT(s, k).b ? 0 : core_batch_rows(b); /* spilled entries: count here */
                pop_confirmed(s, k + 1);
            } else if (st == CP_PENDING && d->flush) {
                s->attempts = 0;
                if (s->npending == 0)
                    s->next_flush_mono = core_util_mono_ms() + 1000;
                s->npending++;
            } else if (st == CP_PENDING) {
                if (!s->warned_no_flush)
                    core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN, "write returned CP_PENDING but the plugin has no flush "
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
            if (read_back)
                keep_spare(s, b);
            else
                core_batch_unref(b);
            pthread_cond_broadcast(&s->space);
            continue;
        }
        if (flush_due) {
            unsigned flags = (s->quit || s->draining) ? CP_FLUSH_FORCE : 0;
            pthread_mutex_unlock(&s->lock);
            cp_status st = d->flush(s->in.data, &s->in.ctx.pub, flags);
            pthread_mutex_lock(&s->lock);
            if (st == CP_OK) {
                s->attempts = 0;
                pop_confirmed(s, s->npending);
            } else if (st == CP_PENDING) {
                if (flags & CP_FLUSH_FORCE) {
                    core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN, "forced flush returned CP_PENDING; retrying");
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
        core_batch_unref(s->spare); /* idle: nothing kept */
        s->spare = NULL;
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
    s->state_dir = strdup(state_dir ? state_dir : ".");
    s->cap = 64;
    s->last_write_ms = -1;
    s->q = calloc(s->cap, sizeof *s->q);
    if (!s->id || !s->q || !s->state_dir) {
        free(s->id);
        free(s->q);
        free(s->state_dir);
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(s->id, idlen, "%s/%s", pl->name, ec->name);
    s->plugin = ec->plugin;
    s->ec = ec;
    s->pipeline = pl->name;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->space, NULL);
    core_instance_init(&s->in, &(core_instance_opts){
                                   .pipeline = pl->name, .ec = ec, .state_dir = s->state_dir, .stopping = stopping});
    cp_status st = core_instance_create(&s->in);
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

static void spool_dir(const core_sink *s, cp_buf *b)
{
    cp_buf_printf(b, "%s/spool/", s->state_dir);
    core_util_path_component(b, s->pipeline);
    cp_buf_putc(b, '/');
    core_util_path_component(b, s->ec->name);
}

int core_sink_attach_spool(core_sink *s, char *err, size_t errlen)
{
    if (!s->ec->spool)
        return 0;
    cp_buf dir = {0};
    spool_dir(s, &dir);
    core_spool *sp = dir.oom ? NULL : core_spool_open(dir.p, &s->in.ctx.tag, err, errlen);
    cp_buf_free(&dir);
    if (!sp)
        return -1;
    core_spool_set_limit(sp, s->ec->spool_max_bytes);
    pthread_mutex_lock(&s->lock);
    s->spool = sp;
    size_t n = core_spool_pending(sp);
    /* replayed records go first, in order, ahead of anything queued already */
    while (s->cap < s->count + n + 1)
        if (!grow(s)) {
            pthread_mutex_unlock(&s->lock);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    for (size_t i = s->count; i > 0; i--)
        s->q[(s->head + n + i - 1) % s->cap] = AT(s, i - 1);
    for (size_t i = 0; i < n; i++)
        AT(s, i) = (qent){core_spool_replay_seq(sp, i), NULL, 0};
    s->count += n;
    s->st.batches_in += n;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->lock);
    if (n)
        core_log_tagged(&s->in.ctx.tag, CP_LOG_INFO, "replaying %zu unconfirmed batches from the spool (%lld bytes)", n,
                        (long long)core_spool_bytes(sp));
    return 0;
}

/* drops the oldest entry that is not being written or held pending by the sink */
static bool drop_oldest(core_sink *s)
{
    size_t k = s->npending + (s->writing ? 1 : 0);
    if (k >= s->count)
        return false;
    qent e = remove_at(s, k);
    cp_batch *b = entry_batch(s, &e);
    s->st.dropped++;
    s->st.dropped_rows += b ? core_batch_rows(b) : 0;
    core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN, "%s full: dropped the oldest batch (stream '%s', %zu rows), %llu dropped so far",
                    s->spool ? "spool" : "queue", b ? core_batch_schema(b)->stream : "?", b ? core_batch_rows(b) : 0,
                    (unsigned long long)s->st.dropped);
    if (b && b != e.b)
        core_batch_unref(b);
    release(s, &e);
    return true;
}

static void drop_newest(core_sink *s, cp_batch *b, const char *why)
{
    s->st.dropped++;
    s->st.dropped_rows += core_batch_rows(b);
    core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN, "%s: dropped the newest batch (stream '%s', %zu rows), %llu dropped so far",
                    why, core_batch_schema(b)->stream, core_batch_rows(b), (unsigned long long)s->st.dropped);
}

/* would a batch of mem bytes stay in memory, queued now? (with a spool: else it is spilled) */
static bool fits_in_memory(const core_sink *s, size_t mem)
{
    return s->in_memory < (size_t)s->ec->queue_size && (s->mem_bytes == 0 || s->mem_bytes + mem <= SINK_MEMORY_BYTES);
}

/* Should a batch of mem bytes that does not fit in memory wait for room (SINK_PACE_MS at most)?
 * Only while the sink works on batches queued before it and confirms each at once, quickly (its
 * last write within SINK_PACE_MS, or its first one running; a wait that runs out stops the waits
 * until a write is quick again); *until is the end of the wait (0: not started). */
static bool pace(core_sink *s, size_t mem, int64_t *until)
{
    if (!s->spool || fits_in_memory(s, mem) || s->count == s->npending || s->pace_off ||
        s->last_write_ms > SINK_PACE_MS || (s->last_write_ms < 0 && !s->writing) || s->attempts || s->draining ||
        atomic_load(s->in.ctx.stopping))
        return false;
    int64_t now = core_util_mono_ms();
    if (!*until)
        *until = now + SINK_PACE_MS;
    if (now >= *until)
        s->pace_off = true;
    return now < *until && s->retry_until_mono <= now;
}

cp_status core_sink_enqueue(core_sink *s, cp_batch *b)
{
    pthread_mutex_lock(&s->lock);
    int64_t pace_until = 0;
    size_t mem = core_batch_mem_bytes(b);
    for (;;) {
        if (s->quit) {
            pthread_mutex_unlock(&s->lock);
            return CP_ERR_STOPPED;
        }
        bool full = s->spool ? core_spool_bytes(s->spool) >= s->ec->spool_max_bytes
                             : s->count >= (size_t)s->ec->queue_size;
        const char *why = s->spool ? "spool full" : "queue full";
        int err = 0;
        uint64_t seq = 0;
        if (!full && pace(s, mem, &pace_until)) { /* the sink takes one in a moment: room then */
            timed_wait(&s->space, &s->lock, pace_until - core_util_mono_ms());
            continue;
        }
        if (!full && s->spool) {
            int64_t bytes = 0;
            cp_status st = core_spool_append(s->spool, b, &seq, &bytes);
            if (st == CP_OK) {
                s->unsynced += bytes;
            } else {
                err = errno;
                full = true;
                why = "spool write failed";
                if (!s->warned_full)
                    core_log_tagged(&s->in.ctx.tag, CP_LOG_ERROR, "cannot write the spool: %s",
                                    err ? strerror(err) : cp_strerror(st));
            }
        }
        if (full) {
            if (s->ec->overflow == CORE_OVERFLOW_DROP_NEWEST ||
                (s->ec->overflow == CORE_OVERFLOW_DROP_OLDEST && !drop_oldest(s))) {
                drop_newest(s, b, why);
                s->warned_full = true;
                pthread_mutex_unlock(&s->lock);
                return CP_OK;
            }
            if (s->ec->overflow == CORE_OVERFLOW_DROP_OLDEST)
                continue;
            /* Shutdown bounds this wait: once the stop flag is up (at once after a signal in
             * --once, at shutdown_timeout in the daemon) the batch is refused and the runtime
             * keeps the cycle's checkpoints back, so the next start collects it again. */
            if (atomic_load(s->in.ctx.stopping)) {
                core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN,
                                "%s while stopping: batch of stream '%s' (%zu rows) not queued; the next start "
                                "collects it again",
                                why, core_batch_schema(b)->stream, core_batch_rows(b));
                pthread_mutex_unlock(&s->lock);
                return CP_ERR_STOPPED;
            }
            if (!s->warned_full)
                core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN, "%s: the pipeline waits for the sink (overflow = block)", why);
            s->warned_full = true;
            timed_wait(&s->space, &s->lock, err ? 250 : 200);
            continue;
        }
        if (s->warned_full) {
            core_log_tagged(&s->in.ctx.tag, CP_LOG_INFO, "queue accepts batches again");
            s->warned_full = false;
        }
        if (s->count + 1 >= s->cap && !grow(s)) {
            if (s->spool)
                core_spool_done(s->spool, seq);
            pthread_mutex_unlock(&s->lock);
            return CP_ERR_NOMEM;
        }
        qent e = {seq, NULL, mem};
        if (!s->spool || fits_in_memory(s, e.mem)) {
            core_batch_ref(b);
            e.b = b;
            s->in_memory++;
            s->mem_bytes += e.mem;
        }
        s->q[(s->head + s->count) % s->cap] = e;
        s->count++;
        s->st.batches_in++;
        s->st.rows_in += core_batch_rows(b);
        pthread_cond_signal(&s->work);
        /* long runs of emits (backfill): keep the unsynced tail short. Not much shorter: a sync
         * blocks the pipeline, and a segment confirmed before the cycle's own sync is never
         * written to the disk at all (a poll cycle of 200 symbols' candles is 12 MB) */
        if (s->unsynced > ((int64_t)64 << 20)) {
            s->unsynced = 0;
            core_spool_sync_unlocked(s->spool, &s->lock); /* the worker writes on meanwhile */
        }
        pthread_mutex_unlock(&s->lock);
        return CP_OK;
    }
}

bool core_sink_commit(core_sink *s)
{
    bool ok = true;
    pthread_mutex_lock(&s->lock);
    if (s->spool && s->unsynced) {
        s->unsynced = 0;
        if (core_spool_sync_unlocked(s->spool, &s->lock) != CP_OK) { /* the worker writes on meanwhile */
            core_log_tagged(&s->in.ctx.tag, CP_LOG_ERROR, "cannot fsync the spool: %s", strerror(errno));
            ok = false;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

bool core_sink_drain(core_sink *s, int64_t deadline_mono_ms)
{
    pthread_mutex_lock(&s->lock);
    s->draining = true;
    pthread_cond_signal(&s->work);
    while (s->count > 0 || s->writing) {
        if (deadline_mono_ms && core_util_mono_ms() >= deadline_mono_ms)
            break;
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
    /* the spool (and every entry, all unconfirmed now) moves to the successor, oldest first */
    while (to->cap < from->count + to->count + 1 && grow(to))
        ;
    for (size_t i = to->count; i > 0; i--)
        to->q[(to->head + from->count + i - 1) % to->cap] = AT(to, i - 1);
    for (size_t i = 0; i < from->count; i++) {
        AT(to, i) = AT(from, i);
        if (AT(to, i).b) {
            to->in_memory++;
            to->mem_bytes += AT(to, i).mem;
        }
    }
    to->count += from->count;
    to->st.batches_in += from->count;
    from->head = from->count = from->npending = from->in_memory = from->mem_bytes = 0;
    if (from->spool && !to->spool) {
        to->spool = from->spool;
        to->unsynced = from->unsynced;
        from->spool = NULL;
    }
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
        if (s->spool) {
            core_log_tagged(&s->in.ctx.tag, CP_LOG_WARN,
                            "%zu batches not yet written stay in the spool (%lld bytes) for the next start", s->count,
                            (long long)core_spool_bytes(s->spool));
        } else {
            size_t rows = 0;
            for (size_t i = 0; i < s->count; i++)
                rows += AT(s, i).b ? core_batch_rows(AT(s, i).b) : 0;
            core_log_tagged(&s->in.ctx.tag, CP_LOG_ERROR,
                            "%zu batches (%zu rows) were still queued at stop and are lost (spool = false)", s->count,
                            rows);
            s->st.dropped += s->count;
            s->failed = true;
        }
        while (s->count) {
            qent e = AT(s, 0);
            if (e.b)
                core_batch_unref(e.b);
            s->head = (s->head + 1) % s->cap;
            s->count--;
        }
    }
    core_batch_unref(s->spare);
    if (s->spool) {
        core_spool_sync(s->spool);
        core_spool_close(s->spool);
    }
    core_instance_destroy(&s->in);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->space);
    free(s->q);
    free(s->id);
    free(s->state_dir);
    free(s);
}

void core_sink_stats_get(core_sink *s, core_sink_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->st;
    out->queued = s->count;
    out->spool_bytes = s->spool ? core_spool_bytes(s->spool) : 0;
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

bool core_sink_idle(core_sink *s)
{
    pthread_mutex_lock(&s->lock);
    bool idle = !s->writing && (s->count == s->npending || s->retry_until_mono > core_util_mono_ms());
    pthread_mutex_unlock(&s->lock);
    return idle;
}

bool core_sink_has_spooled(core_sink *s)
{
    pthread_mutex_lock(&s->lock);
    bool r = s->spool && s->count > 0;
    pthread_mutex_unlock(&s->lock);
    return r;
}
