/* Self-monitoring: the counter registry, rendered for GET /metrics (Prometheus) and GET /health (JSON).
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_METRICS_H
#define COINPIPE_CORE_METRICS_H

#include "config.h"
#include "log.h"
#include "sink.h"

#include <coinpipe/buf.h>

/* Counters for GET /metrics, GET /health and `coinpipe status`. All thread-safe;
 * names are copied. The runtime registers pipelines and sinks (reload-safe: counters are
 * kept by name) and reports cycles; the HTTP service reports requests. */
void core_metrics_pipeline_register(const core_pipeline_cfg *pc);
void core_metrics_pipeline_unregister(const char *pipeline);
void core_metrics_cycle(const char *pipeline, int64_t duration_ms, bool ok);
void core_metrics_skipped(const char *pipeline);
/* log.c: an error line was logged for the pipeline (counted; the last one is kept, cut to 512 bytes) */
void core_metrics_pipeline_error(const char *pipeline, const char *message);
/* the health view's JSON (GET /api/v1/pipelines): {"now","started","version","pipelines":[{name,
 * plugin, schedule, cron, period_ms, last_cycle, next_cycle, last_success (UTC ms or null),
 * healthy, last_cycle_failed, cycles, failures, skipped, rows, cycle_seconds_sum, errors,
 * last_error {at, message} or null}], "sinks":[{pipeline, sink, plugin, healthy, queued,
 * spool_bytes, rows_written, batches_written, retries, rejected, dead_lettered, dropped,
 * last_success}], "hosts":[{host, requests, failed, retries, rate_limit_wait_seconds}]} */
void core_metrics_pipelines_json(cp_buf *b);
void core_metrics_emitted(const core_log_tag *tag, size_t rows); /* a source or transform emitted */
void core_metrics_sink_register(core_sink *s, const char *pipeline, const core_element_cfg *ec);
void core_metrics_sink_unregister(core_sink *s); /* before core_sink_stop; keeps its figures */
/* for core/http.c: one call per finished request (status 0 = no HTTP answer), per retry,
 * and per wait for a host's rate limit */
void core_metrics_http_request(const char *host, int status);
void core_metrics_http_retry(const char *host);
void core_metrics_http_rate_limit_wait(const char *host, int64_t waited_ms);
/* continuous pipelines: a source's counters (cp_stream_count), and the latency of rows from
 * their event time (`ts`) to the spool commit of their micro-batch, in ms (core/stream.c) */
void core_metrics_stream_event(const char *pipeline, cp_stream_event ev, uint64_t n);
void core_metrics_stream_latency(const char *pipeline, const int64_t *ms, size_t n);
void core_metrics_render(cp_buf *b);  /* Prometheus text format */
bool core_metrics_health(cp_buf *b);  /* JSON; true when healthy */

#endif /* COINPIPE_CORE_METRICS_H */
