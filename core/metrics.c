/* Self-monitoring: the registry of counters per pipeline, plugin, sink and HTTP host, rendered as
 * the Prometheus text format (GET /metrics) and as the health JSON (GET /health). The listener
 * that serves them is core/listener.c; `coinpipe status` reads them back (core/status.c).
 * SPDX-License-Identifier: MIT
 *
 * The runtime, the sink set-up and the HTTP service push events here (core_metrics_*); a
 * scrape renders them. Every counter lives in this file's registry under one mutex, keyed by
 * names rather than by runtime objects, so a reload (SIGHUP) keeps counting where it was.
 * Sink counters are read from the live sinks at scrape time (core_sink_stats_get); when a
 * sink is unregistered (reload, shutdown) its final figures are kept and added to whatever
 * sink later carries the same identity ("pipeline/sink").
 */
#include "config.h"
#include "log.h"
#include "latest.h"
#include "metrics.h"
#include "sched.h"
#include "sink.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])
/* continuous pipelines: event-to-commit latency (ms) and the source's counters. The buckets are
 * close together up to 50 ms, so that a p99 near a target of tens of milliseconds (issue 14: 25 ms)
 * is read within a few milliseconds instead of interpolated across 25-50 ms, and around the
 * default batch_interval's hundreds; event times are whole milliseconds, so finer than 1 ms would
 * measure nothing. */
static const double lat_buckets[] = {1,  2,  3,   4,   5,   6,   8,   10,  12,  15,   20,   25,   30,   35,   40,
                                     50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 2500, 5000, 10000, 60000};
#define NLAT (sizeof lat_buckets / sizeof lat_buckets[0])
#define NSEV 6 /* cp_stream_event 1..6 */
static const char *const sev_names[NSEV] = {"messages", "reconnects", "gaps", "gaps_filled", "repaired_rows",
                                            "bad_messages"};

typedef struct pl_entry {
    char *name, *plugin;
    int active;              /* registrations alive (the old and new set overlap on reload) */
    int64_t period_ms;       /* expected time between cycles, for /health */
    int64_t registered_ms;
    uint64_t cycles, failures, skipped;
    uint64_t hist[NBUCKETS]; /* non-cumulative; rendered cumulatively */
    double sum_s;
    int64_t last_ok_ms, last_cycle_ms;
    bool last_failed;
    int64_t interval_ms;     /* 0: cron */
    core_cron cron;
    char *schedule;          /* as configured: "5m" or the cron text */
    uint64_t errors;         /* error lines logged for the pipeline */
    char *last_error;
    int64_t last_error_ms;
    bool continuous;
    uint64_t sev[NSEV];
    uint64_t rows_invalid; /* rows the source dropped for a bad value (CP_ROWS_INVALID) */
    uint64_t msg[3];       /* CP_MSG_PUBLISHED, CP_MSG_ACKED, CP_MSG_REDELIVERED */
    uint64_t lag;          /* CP_MSG_LAG, a gauge */
    bool broker;           /* one of the CP_MSG_* was reported */
    uint64_t lat[NLAT], lat_count; /* non-cumulative */
    double lat_sum_ms;
} pl_entry;

typedef struct emit_entry {
    char *pipeline, *kind, *plugin, *instance;
    uint64_t batches, rows;
} emit_entry;

typedef struct sink_entry {
    char *id, *pipeline, *sink, *plugin;
    core_sink *live; /* NULL once unregistered: `base` holds its final figures */
    core_sink_stats base;
} sink_entry;

typedef struct host_entry {
    char *host;
    int status; /* -1: retries; -2: rate-limit waits (ms in n) */
    uint64_t n;
} host_entry;

#define VEC(T)                                                                                                         \
    struct {                                                                                                           \
        T *v;                                                                                                          \
        size_t n, cap;                                                                                                 \
    }

static struct {
    pthread_mutex_t lock;
    VEC(pl_entry) pl;
    VEC(emit_entry) em;
    VEC(sink_entry) sk;
    VEC(host_entry) hosts;
    int64_t start_ms;
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};
static void m_lock(void); /* M.lock, then the errors queued while it was busy */

/* grows a VEC by one zeroed element; returns it or NULL */
static void *vec_push(void **v, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        void *p = realloc(*v, c * elem);
        if (!p)
            return NULL;
        *v = p;
        *cap = c;
    }
    void *e = (char *)*v + (*n)++ * elem;
    memset(e, 0, elem);
    return e;
}
#define PUSH(vec) vec_push((void **)&(vec).v, &(vec).n, &(vec).cap, sizeof *(vec).v)

static bool same(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

static pl_entry *pl_find(const char *name, bool create)
{
    for (size_t i = 0; i < M.pl.n; i++)
        if (same(M.pl.v[i].name, name))
            return &M.pl.v[i];
    if (!create)
        return NULL;
    pl_entry *e = PUSH(M.pl);
    if (e)
        e->name = core_util_strdup(name);
    return e;
}

void core_metrics_pipeline_register(const core_pipeline_cfg *pc)
{
    /* a continuous pipeline commits as rows come, not on a period: it is unhealthy after 30 s
     * without a micro-batch (streaming sources' default stall_timeout) or 3 of its batch_interval */
    int64_t period = pc->continuous ? (pc->batch_interval_ms > 10000 ? pc->batch_interval_ms : 10000) : pc->interval_ms;
    if (!period) { /* cron: the gap between the next two matches */
        int64_t a = core_sched_cron_next(&pc->cron, core_util_now_ms());
        int64_t b = a > 0 ? core_sched_cron_next(&pc->cron, a) : -1;
        period = (a > 0 && b > a) ? b - a : 86400000;
    }
    m_lock();
    if (!M.start_ms)
        M.start_ms = core_util_now_ms();
    pl_entry *e = pl_find(pc->name, true);
    if (e) {
        if (!e->active)
            e->registered_ms = core_util_now_ms();
        e->active++;
        e->period_ms = period;
        e->continuous = pc->continuous;
        free(e->plugin);
        e->plugin = core_util_strdup(pc->source.plugin_name);
        e->interval_ms = pc->interval_ms;
        e->cron = pc->cron;
        char every[40];
        if (pc->interval_ms)
            core_util_format_duration(pc->interval_ms, every, sizeof every);
        free(e->schedule);
        e->schedule = core_util_strdup(pc->continuous ? "stream" : pc->interval_ms ? every : pc->schedule);
    }
    pthread_mutex_unlock(&M.lock);
}

void core_metrics_pipeline_unregister(const char *pipeline)
{
    m_lock();
    pl_entry *e = pl_find(pipeline, false);
    if (e && e->active > 0)
        e->active--;
    pthread_mutex_unlock(&M.lock);
}

void core_metrics_cycle(const char *pipeline, int64_t duration_ms, bool ok)
{
    m_lock();
    pl_entry *e = pl_find(pipeline, true);
    if (e) {
        double s = (double)duration_ms / 1000.0;
        e->cycles++;
        e->sum_s += s;
        size_t b = 0;
        while (b < NBUCKETS && s > buckets[b])
            b++;
        if (b < NBUCKETS)
            e->hist[b]++;
        e->last_cycle_ms = core_util_now_ms();
        e->last_failed = !ok;
        if (ok)
            e->last_ok_ms = e->last_cycle_ms;
        else
            e->failures++;
    }
    pthread_mutex_unlock(&M.lock);
}

/* An error is logged by whatever thread meets it, often holding a lock of its own: a sink's
 * worker moving a batch to the dead letters holds the sink's lock, while /health and /metrics
 * hold the registry's lock and read every sink's figures under that sink's lock. Waiting for
 * the registry there would deadlock, so an error that finds the registry busy is queued (under
 * a lock nobody holds while taking another) and recorded by the next one to take the registry. */
typedef struct err_item {
    struct err_item *next;
    int64_t ms;
    char *pipeline, *message;
} err_item;
static pthread_mutex_t g_errq_lock = PTHREAD_MUTEX_INITIALIZER;
static err_item *g_errq_head, **g_errq_tail = &g_errq_head;
static size_t g_errq_n;
#define ERRQ_MAX 1024 /* beyond: the oldest queued error is dropped, uncounted */

static void err_free(err_item *it)
{
    free(it->pipeline);
    free(it->message);
    free(it);
}

static void record_error(const char *pipeline, const char *message, int64_t ms)
{
    pl_entry *e = pl_find(pipeline, false);
    if (!e)
        return;
    e->errors++;
    if (ms < e->last_error_ms) /* a queued error older than the one already recorded */
        return;
    e->last_error_ms = ms;
    char *m = core_util_strndup(message, 512);
    if (m) {
        free(e->last_error);
        e->last_error = m;
    }
}

/* records the queued errors; under M.lock */
static void drain_errors(void)
{
    pthread_mutex_lock(&g_errq_lock);
    err_item *q = g_errq_head;
    g_errq_head = NULL;
    g_errq_tail = &g_errq_head;
    __atomic_store_n(&g_errq_n, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&g_errq_lock);
    while (q) {
        err_item *next = q->next;
        record_error(q->pipeline, q->message, q->ms);
        err_free(q);
        q = next;
    }
}

/* whether errors wait in the queue: read without its lock, so only the count is looked at */
static bool errors_queued(void) { return __atomic_load_n(&g_errq_n, __ATOMIC_RELAXED) != 0; }

static void m_lock(void)
{
    pthread_mutex_lock(&M.lock);
    if (errors_queued())
        drain_errors();
}

void core_metrics_pipeline_error(const char *pipeline, const char *message)
{
    int64_t now = core_util_now_ms();
    if (pthread_mutex_trylock(&M.lock) == 0) {
        if (errors_queued())
            drain_errors();
        record_error(pipeline, message, now);
        pthread_mutex_unlock(&M.lock);
        return;
    }
    err_item *it = calloc(1, sizeof *it);
    if (!it)
        return;
    it->ms = now;
    it->pipeline = core_util_strdup(pipeline ? pipeline : "");
    it->message = core_util_strndup(message, 512);
    pthread_mutex_lock(&g_errq_lock);
    *g_errq_tail = it;
    g_errq_tail = &it->next;
    if (__atomic_add_fetch(&g_errq_n, 1, __ATOMIC_RELAXED) > ERRQ_MAX) {
        err_item *old = g_errq_head;
        g_errq_head = old->next;
        if (!g_errq_head)
            g_errq_tail = &g_errq_head;
        __atomic_sub_fetch(&g_errq_n, 1, __ATOMIC_RELAXED);
        err_free(old);
    }
    pthread_mutex_unlock(&g_errq_lock);
}

void core_metrics_skipped(const char *pipeline)
{
    m_lock();
    pl_entry *e = pl_find(pipeline, true);
    if (e)
        e->skipped++;
    pthread_mutex_unlock(&M.lock);
}

void core_metrics_emitted(const core_log_tag *tag, size_t rows)
{
    m_lock();
    emit_entry *e = NULL;
    for (size_t i = 0; i < M.em.n && !e; i++)
        if (same(M.em.v[i].pipeline, tag->pipeline) && same(M.em.v[i].instance, tag->instance) &&
            same(M.em.v[i].plugin, tag->plugin))
            e = &M.em.v[i];
    if (!e && (e = PUSH(M.em)) != NULL) {
        e->pipeline = core_util_strdup(tag->pipeline);
        e->kind = core_util_strdup(tag->kind);
        e->plugin = core_util_strdup(tag->plugin);
        e->instance = core_util_strdup(tag->instance);
    }
    if (e) {
        e->batches++;
        e->rows += rows;
    }
    pthread_mutex_unlock(&M.lock);
}

void core_metrics_sink_register(core_sink *s, const char *pipeline, const core_element_cfg *ec)
{
    m_lock();
    sink_entry *e = PUSH(M.sk);
    if (e) {
        e->live = s;
        e->id = core_util_strdup(core_sink_id(s));
        e->pipeline = core_util_strdup(pipeline);
        e->sink = core_util_strdup(ec->name);
        e->plugin = core_util_strdup(ec->plugin_name);
    }
    pthread_mutex_unlock(&M.lock);
}

static void stats_add(core_sink_stats *to, const core_sink_stats *a)
{
    to->batches_in += a->batches_in;
    to->rows_in += a->rows_in;
    to->batches_out += a->batches_out;
    to->rows_out += a->rows_out;
    to->retries += a->retries;
    to->rejected += a->rejected;
    to->dropped += a->dropped;
    to->dropped_rows += a->dropped_rows;
    to->dead_lettered += a->dead_lettered;
    to->queued += a->queued;
    to->spool_bytes += a->spool_bytes;
    to->read_back += a->read_back;
    if (a->last_success_ms > to->last_success_ms)
        to->last_success_ms = a->last_success_ms;
    if (a->last_reject_ms > to->last_reject_ms)
        to->last_reject_ms = a->last_reject_ms;
}

static void sink_entry_free(sink_entry *e)
{
    free(e->id);
    free(e->pipeline);
    free(e->sink);
    free(e->plugin);
}

void core_metrics_sink_unregister(core_sink *s)
{
    m_lock();
    for (size_t i = 0; i < M.sk.n; i++) {
        sink_entry *e = &M.sk.v[i];
        if (e->live != s)
            continue;
        core_sink_stats st;
        core_sink_stats_get(s, &st);
        st.queued = 0;
        st.spool_bytes = 0;
        e->live = NULL;
        stats_add(&e->base, &st);
        for (size_t j = 0; j < M.sk.n; j++) /* fold into an earlier retired entry of the same id */
            if (j != i && !M.sk.v[j].live && same(M.sk.v[j].id, e->id)) {
                stats_add(&M.sk.v[j].base, &e->base);
                sink_entry_free(e);
                M.sk.v[i] = M.sk.v[--M.sk.n];
                break;
            }
        break;
    }
    pthread_mutex_unlock(&M.lock);
}

static void host_add(const char *host, int status, uint64_t n)
{
    m_lock();
    host_entry *e = NULL;
    for (size_t i = 0; i < M.hosts.n && !e; i++)
        if (M.hosts.v[i].status == status && same(M.hosts.v[i].host, host))
            e = &M.hosts.v[i];
    if (!e && (e = PUSH(M.hosts)) != NULL) {
        e->host = core_util_strdup(host ? host : "");
        e->status = status;
    }
    if (e)
        e->n += n;
    pthread_mutex_unlock(&M.lock);
}

void core_metrics_http_request(const char *host, int status) { host_add(host, status < 0 ? 0 : status, 1); }
void core_metrics_http_retry(const char *host) { host_add(host, -1, 1); }
void core_metrics_http_rate_limit_wait(const char *host, int64_t waited_ms)
{
    host_add(host, -2, waited_ms > 0 ? (uint64_t)waited_ms : 0);
}

/* ---- rendering ----------------------------------------------------------------------- */

/* a Prometheus label value: backslash, double quote and newline escaped */
static void put_label(cp_buf *b, const char *k, const char *v, bool last)
{
    cp_buf_printf(b, "%s=\"", k);
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            cp_buf_putc(b, '\\');
        if (*p == '\n')
            cp_buf_puts(b, "\\n");
        else
            cp_buf_putc(b, *p);
    }
    cp_buf_puts(b, last ? "\"}" : "\",");
}

static void help(cp_buf *b, const char *name, const char *type, const char *text)
{
    cp_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static bool pl_healthy(const pl_entry *e, int64_t now, int64_t *age)
{
    int64_t since = e->last_ok_ms ? e->last_ok_ms : e->registered_ms;
    *age = now - since;
    return *age <= 3 * e->period_ms;
}

/* appends `pipeline="..."` and the value of every active pipeline for one per-pipeline metric */
typedef enum { PL_CYCLES, PL_FAILURES, PL_SKIPPED, PL_LAST_OK, PL_HEALTHY, PL_INVALID } pl_field;

static void pl_series(cp_buf *b, const char *name, pl_field f, int64_t now)
{
    for (size_t i = 0; i < M.pl.n; i++) {
        const pl_entry *e = &M.pl.v[i];
        cp_buf_printf(b, "%s{", name);
        put_label(b, "pipeline", e->name, f != PL_CYCLES && f != PL_FAILURES);
        if (f == PL_CYCLES || f == PL_FAILURES)
            put_label(b, "plugin", e->plugin, true);
        int64_t age;
        switch (f) {
        case PL_CYCLES: cp_buf_printf(b, " %llu\n", (unsigned long long)e->cycles); break;
        case PL_FAILURES: cp_buf_printf(b, " %llu\n", (unsigned long long)e->failures); break;
        case PL_SKIPPED: cp_buf_printf(b, " %llu\n", (unsigned long long)e->skipped); break;
        case PL_INVALID: cp_buf_printf(b, " %llu\n", (unsigned long long)e->rows_invalid); break;
        case PL_LAST_OK: cp_buf_printf(b, " %.3f\n", (double)e->last_ok_ms / 1000.0); break;
        case PL_HEALTHY: cp_buf_printf(b, " %d\n", e->active && pl_healthy(e, now, &age) ? 1 : 0); break;
        }
    }
}

/* the figures of every sink identity (live plus retired), in registration order */
static size_t sink_totals(core_sink_stats *out, size_t *first_idx)
{
    size_t n = 0;
    for (size_t i = 0; i < M.sk.n; i++) {
        size_t k = 0;
        while (k < n && !same(M.sk.v[first_idx[k]].id, M.sk.v[i].id))
            k++;
        if (k == n) {
            first_idx[n] = i;
            out[n++] = (core_sink_stats){0};
        }
        stats_add(&out[k], &M.sk.v[i].base);
        if (M.sk.v[i].live) {
            core_sink_stats st;
            core_sink_stats_get(M.sk.v[i].live, &st);
            stats_add(&out[k], &st);
        }
    }
    return n;
}

void core_metrics_stream_event(const char *pipeline, cp_stream_event ev, uint64_t n)
{
    if (!pipeline || ev < 1 || ev > CP_MSG_LAG)
        return;
    m_lock();
    pl_entry *e = pl_find(pipeline, true);
    if (e && ev >= CP_MSG_PUBLISHED)
        e->broker = true;
    if (e && ev == CP_ROWS_INVALID)
        e->rows_invalid += n;
    else if (e && ev == CP_MSG_LAG)
        e->lag = n;
    else if (e && ev >= CP_MSG_PUBLISHED)
        e->msg[ev - CP_MSG_PUBLISHED] += n;
    else if (e)
        e->sev[ev - 1] += n;
    pthread_mutex_unlock(&M.lock);
}

void core_metrics_stream_latency(const char *pipeline, const int64_t *ms, size_t n)
{
    m_lock();
    pl_entry *e = pl_find(pipeline, true);
    for (size_t i = 0; e && i < n; i++) {
        double v = ms[i] < 0 ? 0 : (double)ms[i];
        size_t k = 0;
        while (k < NLAT && v > lat_buckets[k])
            k++;
        if (k < NLAT)
            e->lat[k]++;
        e->lat_count++;
        e->lat_sum_ms += v;
    }
    pthread_mutex_unlock(&M.lock);
}

/* messages through a broker (the nats sink and source): pipelines that reported any */
static void render_broker(cp_buf *b)
{
    static const char *const names[] = {"coinpipe_messages_published_total", "coinpipe_messages_acked_total",
                                        "coinpipe_messages_redelivered_total", "coinpipe_consumer_lag_messages"};
    static const char *const docs[] = {
        "Messages a sink published that the broker acknowledged as stored.",
        "Messages a source acknowledged to the broker once their rows were committed to the spools.",
        "Messages the broker delivered to a source more than once.",
        "Messages the source's consumer has yet to receive (as of its last fetch)."};
    for (size_t m = 0; m < 4; m++) {
        help(b, names[m], m < 3 ? "counter" : "gauge", docs[m]);
        for (size_t i = 0; i < M.pl.n; i++)
            if (M.pl.v[i].broker) {
                cp_buf_printf(b, "%s{", names[m]);
                put_label(b, "pipeline", M.pl.v[i].name, true);
                cp_buf_printf(b, " %llu\n", (unsigned long long)(m < 3 ? M.pl.v[i].msg[m] : M.pl.v[i].lag));
            }
    }
}

/* the streams' counters and latency histograms (continuous pipelines only) */
static void render_streams(cp_buf *b)
{
    for (size_t m = 0; m < NSEV; m++) {
        char name[80];
        snprintf(name, sizeof name, "coinpipe_stream_%s_total", sev_names[m]);
        help(b, name, "counter", "Counted by a continuous source (cp_stream_count).");
        for (size_t i = 0; i < M.pl.n; i++)
            if (M.pl.v[i].continuous) {
                cp_buf_printf(b, "%s{", name);
                put_label(b, "pipeline", M.pl.v[i].name, true);
                cp_buf_printf(b, " %llu\n", (unsigned long long)M.pl.v[i].sev[m]);
            }
    }
    help(b, "coinpipe_stream_latency_ms", "histogram",
         "Milliseconds from a streamed row's event time (ts) to the spool commit of its micro-batch.");
    for (size_t i = 0; i < M.pl.n; i++) {
        const pl_entry *e = &M.pl.v[i];
        if (!e->continuous)
            continue;
        uint64_t cum = 0;
        for (size_t k = 0; k <= NLAT; k++) {
            cp_buf_puts(b, "coinpipe_stream_latency_ms_bucket{");
            put_label(b, "pipeline", e->name, false);
            if (k < NLAT) {
                cum += e->lat[k];
                cp_buf_printf(b, "le=\"%g\"} %llu\n", lat_buckets[k], (unsigned long long)cum);
            } else {
                cp_buf_printf(b, "le=\"+Inf\"} %llu\n", (unsigned long long)e->lat_count);
            }
        }
        cp_buf_puts(b, "coinpipe_stream_latency_ms_sum{");
        put_label(b, "pipeline", e->name, true);
        cp_buf_printf(b, " %.0f\ncoinpipe_stream_latency_ms_count{", e->lat_sum_ms);
        put_label(b, "pipeline", e->name, true);
        cp_buf_printf(b, " %llu\n", (unsigned long long)e->lat_count);
    }
}

void core_metrics_render(cp_buf *b)
{
    m_lock();
    int64_t now = core_util_now_ms();
    help(b, "coinpipe_build_info", "gauge", "Version of the running coinpipe.");
    cp_buf_printf(b, "coinpipe_build_info{version=\"%s\",abi=\"%d.%d\"} 1\n", COINPIPE_VERSION, CP_ABI_MAJOR,
                    CP_ABI_MINOR);
    help(b, "coinpipe_start_time_seconds", "gauge", "When the metrics registry started (Unix time).");
    cp_buf_printf(b, "coinpipe_start_time_seconds %.3f\n", (double)M.start_ms / 1000.0);

    help(b, "coinpipe_alerts_firing", "gauge",
         "Alert rules firing now (rule and series; from the alert rows that passed since start).");
    cp_buf_printf(b, "coinpipe_alerts_firing %zu\n", core_latest_count("alert", "state", "firing"));

    help(b, "coinpipe_pipeline_cycles_total", "counter", "Cycles run, successful or not.");
    pl_series(b, "coinpipe_pipeline_cycles_total", PL_CYCLES, now);
    help(b, "coinpipe_pipeline_cycle_failures_total", "counter", "Cycles in which a stage failed.");
    pl_series(b, "coinpipe_pipeline_cycle_failures_total", PL_FAILURES, now);
    help(b, "coinpipe_pipeline_skipped_ticks_total", "counter",
         "Ticks skipped because the previous cycle of the pipeline was still running.");
    pl_series(b, "coinpipe_pipeline_skipped_ticks_total", PL_SKIPPED, now);
    help(b, "coinpipe_rows_invalid_total", "counter",
         "Rows dropped for a bad value (out of range, not finite, a repeated key; a decimal a Parquet column "
         "cannot hold exactly); each logged.");
    pl_series(b, "coinpipe_rows_invalid_total", PL_INVALID, now);
    help(b, "coinpipe_pipeline_last_success_timestamp_seconds", "gauge",
         "End of the last successful cycle (Unix time; 0 = none yet).");
    pl_series(b, "coinpipe_pipeline_last_success_timestamp_seconds", PL_LAST_OK, now);
    help(b, "coinpipe_pipeline_healthy", "gauge", "1 when the pipeline succeeded within 3 of its periods.");
    pl_series(b, "coinpipe_pipeline_healthy", PL_HEALTHY, now);
    help(b, "coinpipe_pipeline_cycle_duration_seconds", "histogram", "Wall time of each cycle (source and transforms).");
    for (size_t i = 0; i < M.pl.n; i++) {
        const pl_entry *e = &M.pl.v[i];
        uint64_t cum = 0;
        for (size_t k = 0; k <= NBUCKETS; k++) {
            cp_buf_puts(b, "coinpipe_pipeline_cycle_duration_seconds_bucket{");
            put_label(b, "pipeline", e->name, false);
            if (k < NBUCKETS) {
                cum += e->hist[k];
                cp_buf_printf(b, "le=\"%g\"} %llu\n", buckets[k], (unsigned long long)cum);
            } else {
                cp_buf_printf(b, "le=\"+Inf\"} %llu\n", (unsigned long long)e->cycles);
            }
        }
        cp_buf_puts(b, "coinpipe_pipeline_cycle_duration_seconds_sum{");
        put_label(b, "pipeline", e->name, true);
        cp_buf_printf(b, " %.3f\ncoinpipe_pipeline_cycle_duration_seconds_count{", e->sum_s);
        put_label(b, "pipeline", e->name, true);
        cp_buf_printf(b, " %llu\n", (unsigned long long)e->cycles);
    }

    render_streams(b);
    render_broker(b);

    static const char *const emit_names[2] = {"coinpipe_batches_emitted_total", "coinpipe_rows_emitted_total"};
    for (int m = 0; m < 2; m++) {
        help(b, emit_names[m], "counter", m ? "Rows emitted by a source or transform." : "Batches emitted.");
        for (size_t i = 0; i < M.em.n; i++) {
            const emit_entry *e = &M.em.v[i];
            cp_buf_printf(b, "%s{", emit_names[m]);
            put_label(b, "pipeline", e->pipeline, false);
            put_label(b, "kind", e->kind, false);
            put_label(b, "plugin", e->plugin, false);
            put_label(b, "instance", e->instance, true);
            cp_buf_printf(b, " %llu\n", (unsigned long long)(m ? e->rows : e->batches));
        }
    }

    core_sink_stats *tot = calloc(M.sk.n + 1, sizeof *tot);
    size_t *idx = calloc(M.sk.n + 1, sizeof *idx);
    size_t nsinks = tot && idx ? sink_totals(tot, idx) : 0;
    static const struct {
        const char *name, *type, *help;
    } sm[] = {
        {"coinpipe_sink_batches_received_total", "counter", "Batches queued for the sink."},
        {"coinpipe_sink_rows_received_total", "counter", "Rows queued for the sink."},
        {"coinpipe_sink_batches_written_total", "counter", "Batches the sink confirmed as written."},
        {"coinpipe_sink_rows_written_total", "counter", "Rows the sink confirmed as written."},
        {"coinpipe_sink_retries_total", "counter", "Write attempts that failed transiently and were retried."},
        {"coinpipe_sink_batches_rejected_total", "counter",
         "Batches rejected permanently or given up on after retry_max_attempts."},
        {"coinpipe_sink_batches_dead_lettered_total", "counter", "Batches moved to the dead-letter store."},
        {"coinpipe_sink_batches_dropped_total", "counter", "Batches dropped (spool overflow policy, or stop)."},
        {"coinpipe_sink_rows_dropped_total", "counter", "Rows of the dropped batches."},
        {"coinpipe_sink_queue_depth", "gauge", "Batches waiting in the sink's queue."},
        {"coinpipe_sink_spool_bytes", "gauge", "Bytes of unconfirmed batches in the sink's spool."},
        {"coinpipe_sink_last_success_timestamp_seconds", "gauge", "Last confirmed write (Unix time; 0 = none)."},
    };
    for (size_t m = 0; m < sizeof sm / sizeof sm[0]; m++) {
        help(b, sm[m].name, sm[m].type, sm[m].help);
        for (size_t k = 0; k < nsinks; k++) {
            const sink_entry *e = &M.sk.v[idx[k]];
            const core_sink_stats *s = &tot[k];
            cp_buf_printf(b, "%s{", sm[m].name);
            put_label(b, "pipeline", e->pipeline, false);
            put_label(b, "sink", e->sink, false);
            put_label(b, "plugin", e->plugin, true);
            uint64_t v[] = {s->batches_in, s->rows_in,       s->batches_out, s->rows_out,
                            s->retries,    s->rejected,      s->dead_lettered, s->dropped,
                            s->dropped_rows, s->queued, (uint64_t)(s->spool_bytes > 0 ? s->spool_bytes : 0)};
            if (m < sizeof v / sizeof v[0])
                cp_buf_printf(b, " %llu\n", (unsigned long long)v[m]);
            else
                cp_buf_printf(b, " %.3f\n", (double)s->last_success_ms / 1000.0);
        }
    }
    free(tot);
    free(idx);

    help(b, "coinpipe_http_requests_total", "counter", "HTTP requests made for sources, by host and status (0 = no response).");
    for (size_t i = 0; i < M.hosts.n; i++)
        if (M.hosts.v[i].status >= 0)
            cp_buf_printf(b, "coinpipe_http_requests_total{host=\"%s\",status=\"%d\"} %llu\n", M.hosts.v[i].host,
                            M.hosts.v[i].status, (unsigned long long)M.hosts.v[i].n);
    help(b, "coinpipe_http_retries_total", "counter", "HTTP requests retried, by host.");
    for (size_t i = 0; i < M.hosts.n; i++)
        if (M.hosts.v[i].status == -1)
            cp_buf_printf(b, "coinpipe_http_retries_total{host=\"%s\"} %llu\n", M.hosts.v[i].host,
                            (unsigned long long)M.hosts.v[i].n);
    help(b, "coinpipe_http_rate_limit_wait_seconds_total", "counter", "Time requests waited for a host's rate limit.");
    for (size_t i = 0; i < M.hosts.n; i++)
        if (M.hosts.v[i].status == -2)
            cp_buf_printf(b, "coinpipe_http_rate_limit_wait_seconds_total{host=\"%s\"} %.3f\n", M.hosts.v[i].host,
                            (double)M.hosts.v[i].n / 1000.0);
    pthread_mutex_unlock(&M.lock);
}

static void put_json_str(cp_buf *b, const char *s) { core_util_json_string(b, s, s ? strlen(s) : 0); }

bool core_metrics_health(cp_buf *b)
{
    m_lock();
    int64_t now = core_util_now_ms();
    bool ok = true;
    cp_buf reason = {0};
    cp_buf list = {0};
    for (size_t i = 0; i < M.pl.n; i++) {
        const pl_entry *e = &M.pl.v[i];
        if (!e->active)
            continue;
        int64_t age;
        bool h = pl_healthy(e, now, &age);
        char since[32], period[32];
        core_util_format_duration(age >= 1000 ? age - age % 1000 : age, since, sizeof since);
        core_util_format_duration(e->period_ms, period, sizeof period);
        if (!h) {
            cp_buf_printf(&reason, "%spipeline '%s' has not succeeded %s %s (runs every %s)", ok ? "" : "; ",
                            e->name, e->last_ok_ms ? "for" : "since it started", since, period);
            ok = false;
        }
        cp_buf_printf(&list, "%s{\"name\":", list.len ? "," : "");
        put_json_str(&list, e->name);
        cp_buf_printf(&list, ",\"healthy\":%s,\"cycles\":%llu,\"last_cycle_failed\":%s,\"last_success\":",
                        h ? "true" : "false", (unsigned long long)e->cycles, e->last_failed ? "true" : "false");
        if (e->last_ok_ms) {
            char iso[40];
            core_util_iso8601(e->last_ok_ms, iso, sizeof iso);
            cp_buf_printf(&list, "\"%s\"}", iso);
        } else {
            cp_buf_puts(&list, "null}");
        }
    }
    /* a sink is unhealthy while its latest outcome is a batch rejected or given up on (moved to
     * the dead-letter directory): a later confirmed write makes it healthy again */
    cp_buf sinks = {0};
    for (size_t i = 0; i < M.sk.n; i++) {
        const sink_entry *e = &M.sk.v[i];
        if (!e->live)
            continue;
        core_sink_stats st;
        core_sink_stats_get(e->live, &st);
        bool h = st.last_reject_ms == 0 || st.last_reject_ms < st.last_success_ms;
        if (!h) {
            cp_buf_printf(&reason, "%ssink '%s' rejected its last batch (%llu rejected, %llu dead-lettered)",
                          ok ? "" : "; ", e->id, (unsigned long long)st.rejected,
                          (unsigned long long)st.dead_lettered);
            ok = false;
        }
        cp_buf_printf(&sinks, "%s{\"pipeline\":", sinks.len ? "," : "");
        put_json_str(&sinks, e->pipeline);
        cp_buf_puts(&sinks, ",\"sink\":");
        put_json_str(&sinks, e->sink);
        cp_buf_printf(&sinks, ",\"healthy\":%s,\"rejected\":%llu,\"dead_lettered\":%llu}", h ? "true" : "false",
                      (unsigned long long)st.rejected, (unsigned long long)st.dead_lettered);
    }
    pthread_mutex_unlock(&M.lock);
    cp_buf_printf(b, "{\"status\":\"%s\"", ok ? "ok" : "unhealthy");
    if (!ok) {
        cp_buf_puts(b, ",\"reason\":");
        put_json_str(b, reason.p);
    }
    cp_buf_printf(b, ",\"pipelines\":[%s],\"sinks\":[%s]}\n", list.p ? list.p : "", sinks.p ? sinks.p : "");
    cp_buf_free(&reason);
    cp_buf_free(&list);
    cp_buf_free(&sinks);
    return ok;
}

static void put_ms(cp_buf *b, const char *key, int64_t ms)
{
    if (ms > 0)
        cp_buf_printf(b, ",\"%s\":%lld", key, (long long)ms);
    else
        cp_buf_printf(b, ",\"%s\":null", key);
}

void core_metrics_pipelines_json(cp_buf *b)
{
    m_lock();
    int64_t now = core_util_now_ms();
    cp_buf_printf(b, "{\"now\":%lld,\"started\":%lld,\"version\":\"%s\",\"pipelines\":[", (long long)now,
                  (long long)M.start_ms, COINPIPE_VERSION);
    size_t n = 0;
    for (size_t i = 0; i < M.pl.n; i++) {
        const pl_entry *e = &M.pl.v[i];
        if (!e->active)
            continue;
        uint64_t rows = 0;
        for (size_t k = 0; k < M.em.n; k++)
            if (same(M.em.v[k].pipeline, e->name) && same(M.em.v[k].kind, "source"))
                rows += M.em.v[k].rows;
        int64_t age;
        bool healthy = pl_healthy(e, now, &age);
        int64_t next = e->interval_ms ? core_sched_interval_next(e->interval_ms, now) : core_sched_cron_next(&e->cron, now);
        cp_buf_puts(b, n++ ? ",{\"name\":" : "{\"name\":");
        put_json_str(b, e->name);
        cp_buf_puts(b, ",\"plugin\":");
        put_json_str(b, e->plugin);
        cp_buf_puts(b, ",\"schedule\":");
        put_json_str(b, e->schedule);
        cp_buf_printf(b, ",\"cron\":%s,\"period_ms\":%lld", e->interval_ms ? "false" : "true", (long long)e->period_ms);
        put_ms(b, "last_cycle", e->last_cycle_ms);
        put_ms(b, "next_cycle", next);
        put_ms(b, "last_success", e->last_ok_ms);
        cp_buf_printf(b, ",\"healthy\":%s,\"last_cycle_failed\":%s,\"cycles\":%llu,\"failures\":%llu,"
                         "\"skipped\":%llu,\"rows\":%llu,\"cycle_seconds_sum\":%.3f,\"errors\":%llu,\"last_error\":",
                      healthy ? "true" : "false", e->last_failed ? "true" : "false", (unsigned long long)e->cycles,
                      (unsigned long long)e->failures, (unsigned long long)e->skipped, (unsigned long long)rows,
                      e->sum_s, (unsigned long long)e->errors);
        if (e->last_error) {
            cp_buf_printf(b, "{\"at\":%lld,\"message\":", (long long)e->last_error_ms);
            put_json_str(b, e->last_error);
            cp_buf_puts(b, "}}");
        } else {
            cp_buf_puts(b, "null}");
        }
    }
    cp_buf_puts(b, "],\"sinks\":[");
    core_sink_stats *tot = calloc(M.sk.n + 1, sizeof *tot);
    size_t *idx = calloc(M.sk.n + 1, sizeof *idx);
    size_t nsinks = tot && idx ? sink_totals(tot, idx) : 0;
    for (size_t k = 0; k < nsinks; k++) {
        const sink_entry *e = &M.sk.v[idx[k]];
        const core_sink_stats *s = &tot[k];
        bool live = false;
        for (size_t j = 0; j < M.sk.n && !live; j++)
            live = M.sk.v[j].live && same(M.sk.v[j].id, e->id);
        if (!live)
            continue;
        cp_buf_puts(b, b->p[b->len - 1] == '[' ? "{\"pipeline\":" : ",{\"pipeline\":");
        put_json_str(b, e->pipeline);
        cp_buf_puts(b, ",\"sink\":");
        put_json_str(b, e->sink);
        cp_buf_puts(b, ",\"plugin\":");
        put_json_str(b, e->plugin);
        cp_buf_printf(b, ",\"healthy\":%s,\"queued\":%zu,\"spool_bytes\":%lld,\"rows_written\":%llu,"
                         "\"batches_written\":%llu,\"retries\":%llu,\"rejected\":%llu,\"dead_lettered\":%llu,"
                         "\"dropped\":%llu",
                      s->last_reject_ms == 0 || s->last_reject_ms < s->last_success_ms ? "true" : "false", s->queued,
                      (long long)(s->spool_bytes > 0 ? s->spool_bytes : 0), (unsigned long long)s->rows_out,
                      (unsigned long long)s->batches_out, (unsigned long long)s->retries,
                      (unsigned long long)s->rejected, (unsigned long long)s->dead_lettered,
                      (unsigned long long)s->dropped);
        put_ms(b, "last_success", s->last_success_ms);
        cp_buf_putc(b, '}');
    }
    free(tot);
    free(idx);
    cp_buf_puts(b, "],\"hosts\":[");
    n = 0;
    for (size_t i = 0; i < M.hosts.n; i++) { /* one object per host: requests, retries, waits */
        const host_entry *h = &M.hosts.v[i];
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = !same(M.hosts.v[j].host, h->host);
        if (!first)
            continue;
        uint64_t req = 0, errs = 0, retries = 0, wait_ms = 0;
        for (size_t j = i; j < M.hosts.n; j++) {
            const host_entry *o = &M.hosts.v[j];
            if (!same(o->host, h->host))
                continue;
            if (o->status >= 0)
                req += o->n;
            if (o->status == 0 || o->status >= 400)
                errs += o->n;
            if (o->status == -1)
                retries += o->n;
            if (o->status == -2)
                wait_ms += o->n;
        }
        cp_buf_puts(b, n++ ? ",{\"host\":" : "{\"host\":");
        put_json_str(b, h->host);
        cp_buf_printf(b, ",\"requests\":%llu,\"failed\":%llu,\"retries\":%llu,\"rate_limit_wait_seconds\":%.3f}",
                      (unsigned long long)req, (unsigned long long)errs, (unsigned long long)retries,
                      (double)wait_ms / 1000.0);
    }
    cp_buf_puts(b, "]}");
    pthread_mutex_unlock(&M.lock);
}
