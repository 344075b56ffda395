/* The host table: the services the core offers plugins, bound to per-instance contexts.
 * SPDX-License-Identifier: MIT
 */
#include "batch.h"
#include "host.h"
#include "latest.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "state.h"
#include "stream.h"
#include "util.h"
#include "ws.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static core_ctx *cx(cp_ctx *c) { return (core_ctx *)c; }

CP_PRINTF(3, 0) static void h_logv(cp_ctx *c, cp_log_level level, const char *fmt, va_list ap)
{
    core_log_vtagged(c ? &cx(c)->tag : NULL, level, fmt, ap);
}

static bool h_log_enabled(cp_ctx *c, cp_log_level level) { return core_log_would(level); }

static cp_batch *h_batch_new(cp_ctx *c, const cp_schema *schema, size_t rows_hint)
{
    cp_batch *b = core_batch_new(schema, rows_hint);
    if (!b && c)
        core_log_tagged(&cx(c)->tag, CP_LOG_ERROR, "cannot create a batch for stream '%s': %s",
                        schema && schema->stream ? schema->stream : "?",
                        schema ? "invalid schema (names must be [a-z0-9_]) or out of memory" : "no schema");
    return b;
}

static cp_status h_emit(cp_ctx *c, cp_batch *b)
{
    if (!b)
        return CP_ERR_INVALID;
    core_ctx *k = cx(c);
    if (k->shard)
        core_shard_filter(k->shard, b); /* rows of symbols another collector's shard holds */
    if (core_batch_rows(b) == 0 || !k->emit) {
        core_batch_unref(b);
        return k->emit ? CP_OK : CP_ERR_UNSUPPORTED;
    }
    core_batch_compact(b); /* it may wait in sink queues a while: no slack */
    return k->emit(k, b);
}

static void h_drop_input(cp_ctx *c) { cx(c)->drop_input = true; }
static bool h_stopping(cp_ctx *c) { return cx(c)->stopping && atomic_load(cx(c)->stopping); }
static const char *h_pipeline_name(cp_ctx *c) { return cx(c)->tag.pipeline; }
static const char *h_instance_name(cp_ctx *c) { return cx(c)->tag.instance; }

static cp_status h_state_get(cp_ctx *c, const char *key, char **value)
{
    if (!cx(c)->state) {
        if (value)
            *value = NULL;
        return CP_ERR_UNSUPPORTED;
    }
    return core_state_get(cx(c)->state, key, value);
}

static cp_status h_state_set(cp_ctx *c, const char *key, const char *value)
{
    return cx(c)->state ? core_state_set(cx(c)->state, key, value) : CP_ERR_UNSUPPORTED;
}

static void h_free(void *p) { free(p); }
static int64_t h_now_ms(cp_ctx *c) { return core_util_now_ms(); }

static void h_sleep_ms(cp_ctx *c, int64_t ms)
{
    int64_t end = core_util_mono_ms() + ms;
    for (;;) {
        if (h_stopping(c))
            return;
        int64_t left = end - core_util_mono_ms();
        if (left <= 0)
            return;
        int64_t step = left < 100 ? left : 100;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static cp_status h_http_limits(cp_ctx *c, const char *host, const cp_http_limits *l)
{
    return core_http_limits(c ? &cx(c)->tag : NULL, host, l);
}

/* What ends a context's requests early: its stop flag, except for sinks, whose uploads are the
 * drain itself (they run on during shutdown, bounded by their own timeouts). */
static const atomic_bool *http_stop(cp_ctx *c)
{
    if (!c || (cx(c)->tag.kind && strcmp(cx(c)->tag.kind, "sink") == 0))
        return NULL;
    return cx(c)->stopping;
}

/* ---- HTTP: requests and responses in the caller's layout --------------------------------
 * The caller's arrays are walked in steps of the first request's size and response_size stamps
 * (0 = ABI 2.0's sizes). Arrays in the core's own layout (every plugin built against this
 * header) are passed through; others are copied into the core's layout for the call and the
 * responses copied back, no byte beyond the caller's response_size written. */

typedef struct http_call {
    const cp_http_request *reqs; /* in the core's layout */
    cp_http_response *resps;     /* in the core's layout */
    cp_http_request *req_copy;   /* owned, or NULL when passed through */
    cp_http_response *resp_copy;
    cp_http_response *caller;    /* the caller's responses */
    size_t resp_stride;
    cp_http_done_fn done;
    void *user;
} http_call;

static cp_http_response *caller_resp(const http_call *k, size_t i)
{
    return (cp_http_response *)(void *)((char *)k->caller + i * k->resp_stride);
}

/* 0 ok (k filled), else CP_ERR_INVALID (logged) or CP_ERR_NOMEM */
static cp_status http_call_open(cp_ctx *c, http_call *k, const cp_http_request *reqs, cp_http_response *resps,
                                size_t n)
{
    *k = (http_call){.reqs = reqs, .resps = resps, .caller = resps, .resp_stride = sizeof(cp_http_response)};
    if (!n)
        return CP_OK;
    if (!reqs || !resps)
        return CP_ERR_INVALID;
    size_t rq = reqs->size ? reqs->size : CP_HTTP_REQUEST_SIZE_2_0;
    size_t rs = reqs->response_size ? reqs->response_size : CP_HTTP_RESPONSE_SIZE_2_0;
    if (rq < CP_HTTP_REQUEST_SIZE_2_0 || rs < CP_HTTP_RESPONSE_SIZE_2_0) {
        if (c)
            core_log_tagged(&cx(c)->tag, CP_LOG_ERROR,
                            "HTTP request stamped with size %zu / response_size %zu, smaller than ABI 2.0's %u / %u: "
                            "build requests with CP_HTTP_REQUEST()", rq, rs, (unsigned)CP_HTTP_REQUEST_SIZE_2_0,
                            (unsigned)CP_HTTP_RESPONSE_SIZE_2_0);
        return CP_ERR_INVALID;
    }
    k->resp_stride = rs;
    if (rq != sizeof(cp_http_request)) {
        cp_http_request *copy = calloc(n, sizeof *copy);
        if (!copy)
            return CP_ERR_NOMEM;
        for (size_t i = 0; i < n; i++)
            memcpy(&copy[i], (const char *)reqs + i * rq, rq < sizeof *copy ? rq : sizeof *copy);
        k->req_copy = copy;
        k->reqs = copy;
    }
    if (rs != sizeof(cp_http_response)) {
        k->resp_copy = calloc(n, sizeof *k->resp_copy);
        if (!k->resp_copy) {
            free(k->req_copy);
            return CP_ERR_NOMEM;
        }
        k->resps = k->resp_copy;
    }
    return CP_OK;
}

/* hands response i to the caller's slot (ownership of body and headers moves with it) */
static void http_call_give(http_call *k, size_t i)
{
    if (!k->resp_copy)
        return;
    size_t take = k->resp_stride < sizeof(cp_http_response) ? k->resp_stride : sizeof(cp_http_response);
    memcpy(caller_resp(k, i), &k->resp_copy[i], take);
    k->resp_copy[i] = (cp_http_response){0};
}

static void http_call_close(http_call *k, size_t n, bool give_all)
{
    if (k->resp_copy && give_all)
        for (size_t i = 0; i < n; i++)
            http_call_give(k, i);
    free(k->req_copy);
    free(k->resp_copy);
}

static void http_call_done(void *user, size_t i, cp_http_response *resp)
{
    http_call *k = user;
    if (!k->resp_copy) {
        k->done(k->user, i, resp);
        return;
    }
    http_call_give(k, i);
    k->done(k->user, i, caller_resp(k, i));
}

static cp_status h_http_perform(cp_ctx *c, const cp_http_request *reqs, cp_http_response *resps, size_t n)
{
    http_call k;
    cp_status st = http_call_open(c, &k, reqs, resps, n);
    if (st != CP_OK)
        return st;
    st = core_http_perform(c ? &cx(c)->tag : NULL, http_stop(c), k.reqs, k.resps, n);
    http_call_close(&k, n, true);
    return st;
}

static bool h_latest_value(cp_ctx *c, const char *stream, const char *const *series, size_t nseries,
                           const char *column, double *value, int64_t *ts_ms)
{
    (void)c;
    return stream && column && value && (series || !nseries) &&
           core_latest_number(stream, series, nseries, column, value, ts_ms);
}

static cp_status h_http_perform_each(cp_ctx *c, const cp_http_request *reqs, cp_http_response *resps, size_t n,
                                     cp_http_done_fn done, void *user)
{
    http_call k;
    cp_status st = http_call_open(c, &k, reqs, resps, n);
    if (st != CP_OK)
        return st;
    k.done = done;
    k.user = user;
    st = core_http_perform_each(c ? &cx(c)->tag : NULL, http_stop(c), k.reqs, k.resps, n, http_call_done, &k);
    http_call_close(&k, n, false);
    return st;
}

/* Progress of a backfill: a redrawn line on a TTY, an info log line every 10 s otherwise. */
static void h_progress(cp_ctx *c, double fraction, uint64_t rows)
{
    core_ctx *k = cx(c);
    int64_t now = core_util_mono_ms();
    /* pages done: their rows, then their checkpoints, become durable; at most once a second (a
     * crash redoes a second of pages), as each commit costs fsyncs: one per page was most of a
     * backfill's time on a busy disk */
    if (k->commit && (fraction >= 1.0 || now - k->commit_last >= 1000)) {
        k->commit(k);
        k->commit_last = now;
    }
    if (!k->progress_start)
        k->progress_start = now;
    if (fraction < 0)
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    bool tty = isatty(STDERR_FILENO);
    bool done = fraction >= 1.0;
    if (!done && now - k->progress_last < (tty ? 200 : 10000))
        return;
    k->progress_last = now;
    double elapsed = (double)(now - k->progress_start) / 1000.0;
    double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
    if (tty) {
        fprintf(stderr, "\r%s/%s: %llu rows, %5.1f%%, ETA %.0fs   %s", k->tag.pipeline ? k->tag.pipeline : "-",
                k->tag.instance ? k->tag.instance : "-", (unsigned long long)rows, fraction * 100, eta,
                done ? "\n" : "");
        fflush(stderr);
    } else {
        core_log_tagged(&k->tag, CP_LOG_INFO, "backfill progress: %llu rows, %.1f%%, ETA %.0fs",
                        (unsigned long long)rows, fraction * 100, eta);
    }
}

static void h_stream_count(cp_ctx *ctx, cp_stream_event ev, uint64_t n)
{
    core_metrics_stream_event(((core_ctx *)ctx)->tag.pipeline, ev, n);
}

static bool h_shard_keep(cp_ctx *ctx, const char *symbol, size_t len)
{
    return core_shard_keep(((core_ctx *)ctx)->shard, symbol, len);
}

static uint64_t h_commit_ticket(cp_ctx *ctx) { return core_stream_ticket((core_ctx *)ctx); }
static cp_status h_commit_wait(cp_ctx *ctx, uint64_t ticket, int64_t timeout_ms)
{
    return core_stream_wait((core_ctx *)ctx, ticket, timeout_ms);
}

const cp_host core_host = {
    .size = sizeof(cp_host),
    .abi_major = CP_ABI_MAJOR,
    .abi_minor = CP_ABI_MINOR,
    .version = COINPIPE_VERSION,
    .logv = h_logv,
    .log_enabled = h_log_enabled,
    .batch_new = h_batch_new,
    .batch_free = core_batch_unref,
    .batch_copy = core_batch_copy,
    .batch_add_row = core_batch_add_row,
    .batch_set_int = core_batch_set_int,
    .batch_set_double = core_batch_set_double,
    .batch_set_decimal = core_batch_set_decimal,
    .batch_set_string = core_batch_set_string,
    .batch_set_bool = core_batch_set_bool,
    .batch_set_null = core_batch_set_null,
    .batch_drop_last_row = core_batch_drop_last_row,
    .batch_schema = core_batch_schema,
    .batch_rows = core_batch_rows,
    .batch_col = core_batch_col,
    .batch_is_null = core_batch_is_null,
    .batch_get_int = core_batch_get_int,
    .batch_get_double = core_batch_get_double,
    .batch_get_text = core_batch_get_text,
    .batch_get_bool = core_batch_get_bool,
    .emit = h_emit,
    .drop_input = h_drop_input,
    .stopping = h_stopping,
    .pipeline_name = h_pipeline_name,
    .instance_name = h_instance_name,
    .state_get = h_state_get,
    .state_set = h_state_set,
    .free = h_free,
    .now_ms = h_now_ms,
    .sleep_ms = h_sleep_ms,
    .http_limits = h_http_limits,
    .http_perform = h_http_perform,
    .http_response_clear = core_http_response_clear,
    .http_header = core_http_header,
    .progress = h_progress,
    .http_perform_each = h_http_perform_each,
    .latest_value = h_latest_value,
    .ws_open = core_ws_open,
    .ws_send = core_ws_send,
    .ws_poll = core_ws_poll,
    .ws_close = core_ws_close,
    .stream_count = h_stream_count,
    .commit_ticket = h_commit_ticket,
    .commit_wait = h_commit_wait,
    .shard_keep = h_shard_keep,
    .batch_set_decimal_until = core_batch_set_decimal_until,
    .batch_column = core_batch_column,
    .batch_fill_down = core_batch_fill_down,
    .batch_set_json_elements = core_batch_set_json_elements,
};

void core_ctx_init(core_ctx *c, const char *pipeline, cp_kind kind, const char *plugin, const char *instance)
{
    memset(c, 0, sizeof *c);
    c->pub.host = &core_host;
    c->tag.pipeline = pipeline;
    c->tag.kind = core_kind_name(kind);
    c->tag.plugin = plugin;
    c->tag.instance = instance;
}
