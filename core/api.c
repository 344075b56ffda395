/* The dashboard's JSON API (GET /api/v1/...): stored history read back through the sinks' read
 * callbacks, the latest-rows table, and the pipelines' health. Served by core/listener.c.
 * SPDX-License-Identifier: MIT
 *
 * History comes from the store, not from a second copy: for every sink whose plugin implements
 * read_range and read_latest (sqlite, postgresql, or a third-party SQL sink) the API keeps an
 * instance of its own (created on the main thread at start and after a reload, used only by
 * the listener's thread under one lock, never written through), so a chart shows what is
 * stored and survives restarts. At start the latest-rows table is seeded from these stores, so
 * the market view is filled before the first cycle.
 *
 * Every answer is bounded: at most LIMIT_ROWS rows per request (the newest ones; the request's
 * `limit` may ask for fewer), and a request names its series exactly (no scans of a whole
 * table). Documented for users in docs/dashboard.md.
 */
#include "api.h"
#include "batch.h"
#include "instance.h"
#include "latest.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <coinpipe/streams.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { LIMIT_ROWS = 100000 };

typedef struct reader {
    char *pipeline, *sink;
    const core_element_cfg *ec; /* of the config given to core_api_open (kept alive by it) */
    core_instance in; /* an instance of its own, for reading only */
} reader;

static struct {
    pthread_mutex_t lock;
    reader *v;
    size_t n;
    bool open; /* between core_api_open and core_api_close */
} A = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* the streams of the data contract whose schema the core knows before any row passes */
static const cp_schema *const catalog[] = {&cp_ticker_schema,    &cp_ohlcv_schema,           &cp_book_top_schema,
                                           &cp_trade_schema,     &cp_funding_schema,         &cp_open_interest_schema,
                                           &cp_market_schema,    &cp_spot_price_schema,      &cp_liquidation_schema};

static const cp_schema *schema_of(const char *stream)
{
    const cp_schema *s = core_latest_schema(stream); /* what passed (the indicator stream's columns) */
    for (size_t i = 0; !s && i < sizeof catalog / sizeof catalog[0]; i++)
        if (!strcmp(catalog[i]->stream, stream))
            s = catalog[i];
    return s;
}

/* the series and time columns of a schema, by the latest-rows table's rule */
typedef struct shape {
    const char *series[8];
    size_t nseries;
    const char *time;
} shape;

static shape shape_of(const cp_schema *s)
{
    shape sh = {0};
    for (size_t i = 0; i < s->nfields; i++) {
        const cp_field *f = &s->fields[i];
        if ((f->flags & CP_FIELD_KEY) && f->type == CP_T_STRING && strcmp(f->name, "trade_id") != 0 &&
            sh.nseries < sizeof sh.series / sizeof sh.series[0])
            sh.series[sh.nseries++] = f->name;
        if ((f->flags & CP_FIELD_KEY) && f->type == CP_T_TIMESTAMP && !sh.time)
            sh.time = f->name;
    }
    for (size_t i = 0; !sh.time && i < s->nfields; i++)
        if (s->fields[i].type == CP_T_TIMESTAMP && !strcmp(s->fields[i].name, "ts"))
            sh.time = s->fields[i].name;
    return sh;
}

static void readers_close(void)
{
    for (size_t i = 0; i < A.n; i++) {
        reader *r = &A.v[i];
        core_instance_destroy(&r->in);
        free(r->pipeline);
        free(r->sink);
    }
    free(A.v);
    A.v = NULL;
    A.n = 0;
}

static bool seed(void *user, const cp_batch *b)
{
    core_latest_update(((reader *)user)->pipeline, b);
    return true;
}

void core_api_open(const core_config *cfg)
{
    size_t cap = 0;
    for (size_t p = 0; p < cfg->npipelines; p++)
        cap += cfg->pipelines[p].nsinks;
    reader *v = calloc(cap + 1, sizeof *v);
    size_t n = 0;
    for (size_t p = 0; v && p < cfg->npipelines; p++) {
        const core_pipeline_cfg *pc = &cfg->pipelines[p];
        if (!pc->enabled)
            continue;
        for (size_t k = 0; k < pc->nsinks; k++) {
            const core_element_cfg *ec = &pc->sinks[k];
            const cp_plugin *d = &ec->plugin->desc;
            if (!d->read_range || !d->read_latest)
                continue;
            reader *r = &v[n];
            core_instance_init(&r->in, &(core_instance_opts){
                                           .pipeline = pc->name, .ec = ec, .state_dir = cfg->state_dir});
            r->ec = ec;
            if (core_instance_create(&r->in) != CP_OK) {
                core_instance_destroy(&r->in);
                LOG_WARN("dashboard: sink '%s' of pipeline '%s' cannot be opened for reading: its history is "
                         "not shown", ec->name, pc->name);
                continue;
            }
            r->pipeline = core_util_strdup(pc->name);
            r->sink = core_util_strdup(ec->name);
            n++;
        }
    }
    pthread_mutex_lock(&A.lock);
    readers_close();
    A.v = v;
    A.n = n;
    A.open = true;
    /* the market view is filled from the stores before the first cycle */
    for (size_t i = 0; i < A.n; i++)
        for (size_t c = 0; c < sizeof catalog / sizeof catalog[0]; c++) {
            shape sh = shape_of(catalog[c]);
            cp_read_query q = {.size = sizeof q, .schema = catalog[c], .nseries = sh.nseries, .series = sh.series,
                               .time_column = sh.time};
            if (sh.time)
                A.v[i].ec->plugin->desc.read_latest(A.v[i].in.data, &A.v[i].in.ctx.pub, &q, seed, &A.v[i]);
        }
    pthread_mutex_unlock(&A.lock);
}

void core_api_reload(const core_config *cfg)
{
    pthread_mutex_lock(&A.lock);
    bool open = A.open;
    pthread_mutex_unlock(&A.lock);
    if (open)
        core_api_open(cfg);
}

void core_api_close(void)
{
    pthread_mutex_lock(&A.lock);
    readers_close();
    A.open = false;
    pthread_mutex_unlock(&A.lock);
}

/* ---- requests --------------------------------------------------------------------------- */

/* a 400 answer: {"error": "<why>"} with `what` (may be NULL) quoted into the message */
static unsigned bad(cp_buf *body, const char *why, const char *what)
{
    cp_buf_reset(body);
    cp_buf tmp = {0};
    cp_buf_puts(&tmp, why);
    if (what) {
        cp_buf_puts(&tmp, " \"");
        cp_buf_puts(&tmp, what);
        cp_buf_putc(&tmp, '"');
    }
    cp_buf_puts(body, "{\"error\":");
    core_util_json_string(body, tmp.p, tmp.len);
    cp_buf_puts(body, "}\n");
    cp_buf_free(&tmp);
    return 400;
}

/* an integer argument: UTC ms or a plain count; false when present but not an integer */
static bool int_arg(const core_listener_req *r, const char *name, int64_t *out)
{
    const char *v = core_listener_arg(r, name);
    if (!v || !*v)
        return true;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end || errno)
        return false;
    *out = x;
    return true;
}

struct core_api_read {
    cp_read_query q;
    const char *series[8];
    char *values[8];
    char *pipeline; /* or NULL: the first store that holds the series */
};

void core_api_read_free(core_api_read *rd)
{
    if (!rd)
        return;
    for (size_t k = 0; k < rd->q.nseries; k++)
        free(rd->values[k]);
    free(rd->pipeline);
    free(rd);
}

/* GET /api/v1/rows?stream=S&<series column>=V...&from=&to=&limit=&pipeline= (candles: stream=ohlcv) */
unsigned core_api_read_new(const core_listener_req *r, const char *stream, cp_buf *body, core_api_read **out)
{
    *out = NULL;
    if (!stream && !(stream = core_listener_arg(r, "stream")))
        return bad(body, "missing argument", "stream");
    const cp_schema *s = schema_of(stream);
    if (!s)
        return bad(body, "unknown stream (ticker, ohlcv, book_top, trade, funding, open_interest, market, "
                         "spot_price, liquidation, or one a pipeline emitted):", stream);
    shape sh = shape_of(s);
    if (!sh.time)
        return bad(body, "no time column to read a range of in stream", stream);
    const char *values[8];
    for (size_t k = 0; k < sh.nseries; k++)
        if (!(values[k] = core_listener_arg(r, sh.series[k])))
            return bad(body, "the series to read needs the argument", sh.series[k]);
    int64_t from = INT64_MIN, to = INT64_MAX, limit = LIMIT_ROWS;
    if (!int_arg(r, "from", &from) || !int_arg(r, "to", &to))
        return bad(body, "from and to are UTC milliseconds since the epoch", NULL);
    if (!int_arg(r, "limit", &limit) || limit < 1 || limit > LIMIT_ROWS)
        return bad(body, "limit is 1 to 100000", NULL);
    /* the arguments are copied: the read may outlive the request's memory (a client that left) */
    core_api_read *rd = calloc(1, sizeof *rd);
    const char *pipeline = core_listener_arg(r, "pipeline");
    bool ok = rd && (!pipeline || (rd->pipeline = core_util_strdup(pipeline)));
    for (size_t k = 0; ok && k < sh.nseries; k++) {
        rd->series[k] = sh.series[k];
        ok = (rd->values[k] = core_util_strdup(values[k])) != NULL;
        rd->q.nseries = k + 1;
    }
    if (!ok) {
        core_api_read_free(rd);
        cp_buf_reset(body);
        cp_buf_puts(body, "{\"error\":\"out of memory\"}\n");
        return 500;
    }
    rd->q = (cp_read_query){.size = sizeof rd->q, .schema = s, .nseries = sh.nseries, .series = rd->series,
                            .values = (const char *const *)rd->values, .time_column = sh.time, .from_ms = from,
                            .to_ms = to, .limit = (size_t)limit};
    *out = rd;
    return 0;
}

typedef struct rows_out {
    cp_buf *body;
    size_t n;     /* rows written */
    size_t chunk; /* body handed to flush from this size on */
    bool (*flush)(void *user, cp_buf *body);
    void *user;
    bool flushed; /* some of the answer was handed over */
} rows_out;

static bool put_rows(void *user, const cp_batch *b)
{
    rows_out *o = user;
    if (!core_batch_json_rows(o->body, b, &o->n))
        return false;
    if (!o->flush || o->body->len < o->chunk)
        return true;
    o->flushed = true;
    return o->flush(o->user, o->body);
}

unsigned core_api_read_run(core_api_read *rd, cp_buf *body, size_t chunk, bool (*flush)(void *user, cp_buf *body),
                           void *user)
{
    rows_out o = {.body = body, .chunk = chunk, .flush = flush, .user = user};
    cp_buf_putc(body, '[');
    unsigned code = 200;
    pthread_mutex_lock(&A.lock);
    size_t tried = 0;
    for (size_t i = 0; i < A.n && !o.n; i++) { /* the first store that holds the series answers */
        reader *r = &A.v[i];
        if (rd->pipeline && strcmp(rd->pipeline, r->pipeline) != 0)
            continue;
        tried++;
        cp_status st = r->ec->plugin->desc.read_range(r->in.data, &r->in.ctx.pub, &rd->q, put_rows, &o);
        if (st != CP_OK) {
            cp_buf_reset(body);
            cp_buf_printf(body, "{\"error\":\"sink '%s' of pipeline '%s' cannot be read: %s\"}\n", r->sink,
                          r->pipeline, cp_strerror(st));
            code = st == CP_RETRY ? 503 : 500;
            break;
        }
    }
    pthread_mutex_unlock(&A.lock);
    if (code == 200 && !tried) {
        cp_buf_reset(body);
        cp_buf_puts(body, rd->pipeline ? "{\"error\":\"no pipeline of that name has a sink that can be read back\"}\n"
                                       : "{\"error\":\"no pipeline has a sink that can be read back (a sink "
                                         "plugin with the read_range callback)\"}\n");
        return 404;
    }
    if (code == 200)
        cp_buf_puts(body, o.n ? "\n]\n" : "]\n");
    return body->oom ? 500 : code;
}

unsigned core_api_latest(const core_listener_req *r, cp_buf *body)
{
    int64_t after = 0;
    if (!int_arg(r, "after", &after) || after < 0)
        return bad(body, "after is a sequence number (the seq of a row)", NULL);
    if ((uint64_t)after > core_latest_seq()) /* a sequence of an earlier run (the daemon restarted): everything */
        after = 0;
    core_latest_json(body, core_listener_arg(r, "stream"), core_listener_arg(r, "symbol"), (uint64_t)after, NULL);
    cp_buf_putc(body, '\n');
    return 200;
}

unsigned core_api_symbols(const core_listener_req *r, cp_buf *body)
{
    (void)r;
    core_latest_series(body);
    cp_buf_putc(body, '\n');
    return 200;
}

unsigned core_api_pipelines(const core_listener_req *r, cp_buf *body)
{
    (void)r;
    core_metrics_pipelines_json(body);
    cp_buf_putc(body, '\n');
    return 200;
}
