/* `coinpipe status`: asks a running daemon's listener for /health and /metrics and prints
 * its pipelines, sinks and HTTP hosts as tables. A client only: nothing here runs in the daemon.
 * SPDX-License-Identifier: MIT
 */
#include "listener.h"
#include "status.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t curl_sink(char *p, size_t size, size_t n, void *user)
{
    cp_buf_put(user, p, size * n);
    return size * n;
}

/* GETs http://<listen>/<path>; returns the HTTP status (0 on a transport error) */
static long fetch(const char *listen, const char *path, cp_buf *out, char *err, size_t errlen)
{
    char url[160];
    if (core_listener_url(listen, path, url, sizeof url, err, errlen) != 0)
        return 0;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return 0;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    else
        snprintf(err, errlen, "cannot reach %s: %s (is coinpipe running with global.http_listen = \"%s\"?)", url,
                 cerr, listen);
    curl_easy_cleanup(c);
    return code;
}

typedef struct sample {
    char *name, *labels; /* labels: the text between the braces */
    double v;
} sample;

typedef struct samples {
    sample *v;
    size_t n, cap;
} samples;

static sample *samples_push(samples *ss)
{
    if (ss->n == ss->cap) {
        size_t c = ss->cap ? ss->cap * 2 : 64;
        sample *p = realloc(ss->v, c * sizeof *p);
        if (!p)
            return NULL;
        ss->v = p;
        ss->cap = c;
    }
    return &ss->v[ss->n++];
}

static void parse_samples(char *text, samples *out)
{
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0])
            continue;
        char *brace = strchr(line, '{'), *space;
        char *labels = "";
        if (brace && (space = strrchr(line, '}')) != NULL) {
            *brace = '\0';
            *space = '\0';
            labels = brace + 1;
            space++;
        } else if ((space = strchr(line, ' ')) != NULL) {
            *space++ = '\0';
        } else {
            continue;
        }
        sample *s = samples_push(out);
        if (s) {
            s->name = line;
            s->labels = labels;
            s->v = strtod(space, NULL);
        }
    }
}

/* value of label k in a sample, copied into buf */
static const char *label(const sample *s, const char *k, char *buf, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=\"", k);
    const char *p = s->labels;
    while ((p = strstr(p, pat)) != NULL && p != s->labels && p[-1] != ',')
        p++;
    buf[0] = '\0';
    if (!p)
        return buf;
    p += strlen(pat);
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < len) {
        if (*p == '\\' && p[1])
            p++;
        buf[n++] = *p++;
    }
    buf[n] = '\0';
    return buf;
}

/* the value of metric `name` whose labels k1=v1 (and k2=v2 when k2) match; 0 when absent */
static double value(const samples *ss, const char *name, const char *k1, const char *v1, const char *k2,
                    const char *v2)
{
    char b[256];
    for (size_t i = 0; i < ss->n; i++)
        if (strcmp(ss->v[i].name, name) == 0 && strcmp(label(&ss->v[i], k1, b, sizeof b), v1) == 0 &&
            (!k2 || strcmp(label(&ss->v[i], k2, b, sizeof b), v2) == 0))
            return ss->v[i].v;
    return 0;
}

static void ago(double ts, char *buf, size_t len)
{
    if (ts <= 0) {
        snprintf(buf, len, "never");
        return;
    }
    char d[32];
    int64_t ms = core_util_now_ms() - (int64_t)(ts * 1000.0);
    core_util_format_duration(ms < 0 ? 0 : ms - ms % 1000, d, sizeof d);
    snprintf(buf, len, "%s ago", d);
}

/* the upper bound of the latency bucket holding quantile q of pipeline p: "<= 25ms", "-" */
static void quantile(const samples *ss, const char *p, double q, char *buf, size_t len)
{
    char b[256], le[32];
    double count = value(ss, "coinpipe_stream_latency_ms_count", "pipeline", p, NULL, NULL);
    snprintf(buf, len, "-");
    if (count <= 0)
        return;
    for (size_t i = 0; i < ss->n; i++)
        if (strcmp(ss->v[i].name, "coinpipe_stream_latency_ms_bucket") == 0 &&
            strcmp(label(&ss->v[i], "pipeline", b, sizeof b), p) == 0 && ss->v[i].v >= q * count) {
            label(&ss->v[i], "le", le, sizeof le);
            snprintf(buf, len, strcmp(le, "+Inf") == 0 ? ">60000ms" : "<=%sms", le);
            return;
        }
}

/* continuous pipelines: what their sources counted and the event-to-commit latency */
static void streams_table(const samples *ss, FILE *out)
{
    bool header = false;
    char b1[256], p50[32], p99[32];
    for (size_t i = 0; i < ss->n; i++) {
        if (strcmp(ss->v[i].name, "coinpipe_stream_messages_total") != 0)
            continue;
        const char *p = label(&ss->v[i], "pipeline", b1, sizeof b1);
        if (!header)
            fprintf(out, "\n%-24s %10s %10s %6s %6s %8s %6s %10s %10s\n", "STREAM PIPELINE", "MESSAGES", "RECONNECTS",
                    "GAPS", "FILLED", "REPAIRED", "BAD", "P50", "P99");
        header = true;
        quantile(ss, p, 0.5, p50, sizeof p50);
        quantile(ss, p, 0.99, p99, sizeof p99);
#define SV(n) value(ss, "coinpipe_stream_" n "_total", "pipeline", p, NULL, NULL)
        fprintf(out, "%-24s %10.0f %10.0f %6.0f %6.0f %8.0f %6.0f %10s %10s\n", p, ss->v[i].v, SV("reconnects"),
                SV("gaps"), SV("gaps_filled"), SV("repaired_rows"), SV("bad_messages"), p50, p99);
#undef SV
    }
}

/* pipelines that publish to or consume from a message broker (the nats sink and source) */
static void broker_table(const samples *ss, FILE *out)
{
    bool header = false;
    char b1[256];
    for (size_t i = 0; i < ss->n; i++) {
        if (strcmp(ss->v[i].name, "coinpipe_messages_published_total") != 0)
            continue;
        const char *p = label(&ss->v[i], "pipeline", b1, sizeof b1);
        if (!header)
            fprintf(out, "\n%-24s %12s %12s %12s %12s\n", "BROKER PIPELINE", "PUBLISHED", "ACKED", "REDELIVERED",
                    "LAG");
        header = true;
        fprintf(out, "%-24s %12.0f %12.0f %12.0f %12.0f\n", p, ss->v[i].v,
                value(ss, "coinpipe_messages_acked_total", "pipeline", p, NULL, NULL),
                value(ss, "coinpipe_messages_redelivered_total", "pipeline", p, NULL, NULL),
                value(ss, "coinpipe_consumer_lag_messages", "pipeline", p, NULL, NULL));
    }
}

int core_status_main(const char *listen, FILE *out)
{
    char err[512] = "";
    cp_buf health = {0}, text = {0};
    long hcode = fetch(listen, "/health", &health, err, sizeof err);
    long mcode = hcode ? fetch(listen, "/metrics", &text, err, sizeof err) : 0;
    if (!hcode || mcode != 200 || !text.p) {
        fprintf(stderr, "coinpipe status: %s\n", err[0] ? err : "unexpected answer from the listener");
        cp_buf_free(&health);
        cp_buf_free(&text);
        return 1;
    }
    samples ss = {0};
    parse_samples(text.p, &ss);
    char version[64] = "?", b1[256], b2[256], t1[48];
    for (size_t i = 0; i < ss.n; i++)
        if (strcmp(ss.v[i].name, "coinpipe_build_info") == 0)
            label(&ss.v[i], "version", version, sizeof version);
    fprintf(out, "coinpipe %s at %s: %s\n", version, listen, hcode == 200 ? "healthy" : "UNHEALTHY");
    if (hcode != 200 && health.p) {
        const char *r = strstr(health.p, "\"reason\":\"");
        if (r) {
            r += 10;
            fprintf(out, "  %.*s\n", (int)strcspn(r, "\""), r);
        }
    }
    fprintf(out, "\n%-24s %8s %7s %8s %10s %10s %8s  %s\n", "PIPELINE", "CYCLES", "FAILED", "SKIPPED", "AVG CYCLE",
            "ROWS OUT", "INVALID", "LAST SUCCESS");
    for (size_t i = 0; i < ss.n; i++) {
        if (strcmp(ss.v[i].name, "coinpipe_pipeline_cycles_total") != 0)
            continue;
        const char *p = label(&ss.v[i], "pipeline", b1, sizeof b1);
        double cycles = ss.v[i].v;
        double sum = value(&ss, "coinpipe_pipeline_cycle_duration_seconds_sum", "pipeline", p, NULL, NULL);
        double rows = 0;
        for (size_t k = 0; k < ss.n; k++)
            if (strcmp(ss.v[k].name, "coinpipe_rows_emitted_total") == 0 &&
                strcmp(label(&ss.v[k], "pipeline", b2, sizeof b2), p) == 0 &&
                strcmp(label(&ss.v[k], "kind", b2, sizeof b2), "source") == 0)
                rows += ss.v[k].v;
        ago(value(&ss, "coinpipe_pipeline_last_success_timestamp_seconds", "pipeline", p, NULL, NULL), t1, sizeof t1);
        char avg[32];
        snprintf(avg, sizeof avg, "%.3fs", cycles > 0 ? sum / cycles : 0.0);
        fprintf(out, "%-24s %8.0f %7.0f %8.0f %10s %10.0f %8.0f  %s\n", p, cycles,
                value(&ss, "coinpipe_pipeline_cycle_failures_total", "pipeline", p, NULL, NULL),
                value(&ss, "coinpipe_pipeline_skipped_ticks_total", "pipeline", p, NULL, NULL), avg, rows,
                value(&ss, "coinpipe_rows_invalid_total", "pipeline", p, NULL, NULL), t1);
    }
    fprintf(out, "\n%-32s %12s %6s %8s %6s %8s  %s\n", "SINK", "ROWS WRITTEN", "QUEUE", "RETRIES", "DEAD", "DROPPED",
            "LAST SUCCESS");
    for (size_t i = 0; i < ss.n; i++) {
        if (strcmp(ss.v[i].name, "coinpipe_sink_rows_written_total") != 0)
            continue;
        const char *p = label(&ss.v[i], "pipeline", b1, sizeof b1);
        const char *s = label(&ss.v[i], "sink", b2, sizeof b2);
        char id[300];
        snprintf(id, sizeof id, "%s/%s", p, s);
#define SV(n) value(&ss, "coinpipe_sink_" n, "pipeline", p, "sink", s)
        ago(SV("last_success_timestamp_seconds"), t1, sizeof t1);
        fprintf(out, "%-32s %12.0f %6.0f %8.0f %6.0f %8.0f  %s\n", id, ss.v[i].v, SV("queue_depth"), SV("retries_total"),
                SV("batches_dead_lettered_total"), SV("batches_dropped_total"), t1);
#undef SV
    }
    streams_table(&ss, out);
    broker_table(&ss, out);
    bool header = false;
    for (size_t i = 0; i < ss.n; i++) {
        if (strcmp(ss.v[i].name, "coinpipe_http_requests_total") != 0)
            continue;
        if (!header)
            fprintf(out, "\n%-32s %6s %10s\n", "HTTP HOST", "STATUS", "REQUESTS");
        header = true;
        fprintf(out, "%-32s %6s %10.0f\n", label(&ss.v[i], "host", b1, sizeof b1),
                label(&ss.v[i], "status", b2, sizeof b2), ss.v[i].v);
    }
    free(ss.v);
    cp_buf_free(&health);
    cp_buf_free(&text);
    return hcode == 200 ? 0 : 1;
}
