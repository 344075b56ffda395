/* Source "nats-consumer": reads what nats sinks published, from a durable JetStream pull consumer.
 * SPDX-License-Identifier: MIT
 *
 * Continuous (a pipeline without interval or schedule): fetches up to `fetch_batch` messages at
 * a time from the durable consumer `durable` of stream `stream` (created when missing, filtered
 * by `subject`), turns each message of format coinpipe-rows/1 (see plugins/sinks/nats.c and
 * docs/scale-out.md) back into rows of its original stream and schema, and emits them. A
 * message is acknowledged only once the micro-batch its rows went into is committed to every
 * sink's spool (cp_commit_ticket / cp_commit_wait): a crash before that leaves it unacknowledged
 * and JetStream delivers it again after `ack_wait`, and the sinks' keys absorb the repeat.
 * A body with Coinpipe-Encoding: zstd is decompressed first. A message that is not
 * coinpipe-rows/1 or does not parse is dead-lettered: logged with its
 * subject, stream sequence and the reason, published to `dead_letter_subject` when set (with a
 * Coinpipe-Dead-Reason header), and terminated so that JetStream never delivers it again.
 */
#include "common/natsconn.h"

#include <coinpipe/buf.h>

#include <coinpipe/coinpipe.h>

#include <errno.h>
#include <zstd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct nq_config {
    nc_cfg conn;
    char *stream;
    char *durable;
    char *subject;
    char *deliver;
    int64_t fetch_batch;
    int64_t fetch_timeout;
    int64_t ack_wait;
    int64_t max_ack_pending;
    int64_t max_deliver;
    char *dead_letter_subject;
} nq_config;

static const char *const delivers[] = {"all", "new", NULL};

static const cp_option nq_options[] = {
    NC_OPTIONS(nq_config, conn),
    {.name = "stream", .type = CP_OPT_STRING, .def = "\"COINPIPE\"", .offset = offsetof(nq_config, stream),
     .doc = "JetStream stream to consume (the nats sink's `stream`)."},
    {.name = "durable", .type = CP_OPT_STRING, .def = "\"coinpipe-writer\"", .offset = offsetof(nq_config, durable),
     .doc = "Durable consumer name: writers that share it share the work; another name reads everything again."},
    {.name = "subject", .type = CP_OPT_STRING, .def = "\"coinpipe.>\"", .offset = offsetof(nq_config, subject),
     .doc = "Filter subject of the consumer, e.g. coinpipe.ohlcv.> or coinpipe.*.binance.>."},
    {.name = "deliver", .type = CP_OPT_ENUM, .def = "\"all\"", .choices = delivers,
     .offset = offsetof(nq_config, deliver),
     .doc = "Where a new consumer starts: every message the stream holds, or only new ones."},
    {.name = "fetch_batch", .type = CP_OPT_INT, .def = "256", .min = 1, .max = 10000,
     .offset = offsetof(nq_config, fetch_batch), .doc = "Messages asked for per pull request."},
    {.name = "fetch_timeout", .type = CP_OPT_DURATION, .def = "\"1s\"", .min = 10, .max = 60000,
     .offset = offsetof(nq_config, fetch_timeout), .doc = "How long one pull request waits for messages."},
    {.name = "ack_wait", .type = CP_OPT_DURATION, .def = "\"30s\"", .min = 1000, .max = 3600000,
     .offset = offsetof(nq_config, ack_wait),
     .doc = "A delivered message not acknowledged within this time is delivered again (to this or another writer)."},
    {.name = "max_ack_pending", .type = CP_OPT_INT, .def = "20000", .min = 1, .max = 1000000,
     .offset = offsetof(nq_config, max_ack_pending), .doc = "Messages delivered and not yet acknowledged, at most."},
    {.name = "max_deliver", .type = CP_OPT_INT, .def = "0", .min = 0, .max = 1000000,
     .offset = offsetof(nq_config, max_deliver), .doc = "Deliveries of one message at most (0: no limit)."},
    {.name = "dead_letter_subject", .type = CP_OPT_STRING, .offset = offsetof(nq_config, dead_letter_subject),
     .doc = "Subject a message that cannot be read is republished to (outside `subject`), besides the log line."},
    CP_OPTION_END,
};

/* a schema read from a Coinpipe-Columns header, kept for the next messages of its kind */
typedef struct nq_schema {
    char *key;    /* stream "\n" columns header */
    char *stream; /* the stream name */
    cp_schema sc;
    cp_field *fields;
    char *names; /* the field names, NUL-separated */
} nq_schema;

/* messages whose rows were emitted before `ticket` was taken, waiting for its commit */
typedef struct nq_wait {
    natsMsg **m;
    size_t n;
    uint64_t ticket;
} nq_wait;

typedef struct nq {
    const nq_config *cfg;
    nc_conn conn;
    natsSubscription *sub;
    nq_schema *schemas;
    size_t nschemas;
    nq_wait *waits;
    size_t nwaits, capwaits, unacked;
    cp_batch **open; /* this fetch's batches, one per schema */
    const cp_schema **open_sc;
    size_t nopen;
    cp_buf str; /* a string cell, unescaped */
    ZSTD_DCtx *zd; /* for bodies with Coinpipe-Encoding: zstd, made on first use */
    jsOptions jo;  /* the JetStream options, for a new connection */
    char name[256];
    cp_buf z;
} nq;

#define MAX_BODY (256u << 20) /* a decompressed body larger than this is refused */

static cp_status nq_check(const void *config, cp_check *chk)
{
    const nq_config *c = config;
    cp_status st = nc_check(&c->conn, chk);
    if (!*c->durable || strpbrk(c->durable, ". *>\t")) {
        cp_check_error(chk, "durable", "'%s' is not a consumer name (no '.', '*', '>' or blanks)", c->durable);
        st = CP_ERR_CONFIG;
    }
    if (c->dead_letter_subject && strcmp(c->dead_letter_subject, c->subject) == 0) {
        cp_check_error(chk, "dead_letter_subject", "must lie outside `subject`, or dead letters come back");
        st = CP_ERR_CONFIG;
    }
    return st;
}

static cp_status nq_create(cp_ctx *ctx, const void *config, void **instance)
{
    if (cp_check_run_logged(ctx, config, nq_check) != CP_OK)
        return CP_ERR_CONFIG;
    nq *q = calloc(1, sizeof *q);
    if (!q)
        return CP_ERR_NOMEM;
    q->cfg = config;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = q->cfg->conn.connect_timeout;
    q->jo = jo;
    nc_name(ctx, q->name, sizeof q->name);
    cp_status st = nc_open(ctx, &q->cfg->conn, q->name, &q->jo, &q->conn);
    nats_ReleaseThreadMemory(); /* the library's per-thread state, on each thread that called it */
    if (st != CP_OK) {
        free(q);
        return st;
    }
    *instance = q;
    return CP_OK;
}

static void release_waits(nq *q)
{
    for (size_t i = 0; i < q->nwaits; i++) {
        for (size_t k = 0; k < q->waits[i].n; k++)
            natsMsg_Destroy(q->waits[i].m[k]);
        free(q->waits[i].m);
    }
    q->nwaits = 0;
    q->unacked = 0;
}

/* forgets the schemas read so far (none may be in use by an open batch) */
static void clear_schemas(nq *q)
{
    for (size_t i = 0; i < q->nschemas; i++) {
        free(q->schemas[i].key);
        free(q->schemas[i].stream);
        free(q->schemas[i].fields);
        free(q->schemas[i].names);
    }
    free(q->schemas);
    q->schemas = NULL;
    q->nschemas = 0;
}

static void nq_destroy(void *instance)
{
    nq *q = instance;
    if (!q)
        return;
    release_waits(q);
    free(q->waits);
    if (q->sub)
        natsSubscription_Destroy(q->sub);
    nc_close(&q->conn);
    nats_ReleaseThreadMemory();
    clear_schemas(q);
    free(q->open);
    free(q->open_sc);
    cp_buf_free(&q->str);
    cp_buf_free(&q->z);
    ZSTD_freeDCtx(q->zd);
    free(q);
}

/* ---- reading a message ------------------------------------------------------------ */

static bool parse_type(const char *s, size_t n, cp_type *t)
{
    static const struct {
        const char *name;
        cp_type t;
    } types[] = {{"int", CP_T_INT64}, {"dbl", CP_T_DOUBLE}, {"dec", CP_T_DECIMAL},
                 {"text", CP_T_STRING}, {"ts", CP_T_TIMESTAMP}, {"bool", CP_T_BOOL}};
    for (size_t i = 0; i < CP_COUNTOF(types); i++)
        if (strlen(types[i].name) == n && memcmp(types[i].name, s, n) == 0) {
            *t = types[i].t;
            return true;
        }
    return false;
}

/* the schema of a message with headers stream and cols, parsed once; NULL with *why set */
static const cp_schema *schema_for(nq *q, const char *stream, const char *cols, char *why, size_t whylen)
{
    size_t sl = strlen(stream), cl = strlen(cols);
    for (size_t i = 0; i < q->nschemas; i++) {
        const char *k = q->schemas[i].key;
        if (strncmp(k, stream, sl) == 0 && k[sl] == '\n' && strcmp(k + sl + 1, cols) == 0)
            return &q->schemas[i].sc;
    }
    for (const char *p = stream; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            snprintf(why, whylen, "stream name '%s' is not [a-z0-9_]+", stream);
            return NULL;
        }
    size_t nf = 1;
    for (const char *p = cols; *p; p++)
        nf += *p == ',';
    nq_schema s = {0};
    s.fields = calloc(nf, sizeof *s.fields);
    s.names = malloc(cl + 1);
    s.key = malloc(sl + cl + 2);
    if (!s.fields || !s.names || !s.key)
        goto fail_nomem;
    snprintf(s.key, sl + cl + 2, "%s\n%s", stream, cols);
    memcpy(s.names, cols, cl + 1);
    char *p = s.names;
    for (size_t i = 0; i < nf; i++) {
        char *end = strchr(p, ',');
        if (end)
            *end = '\0';
        char *colon = strchr(p, ':');
        if (!colon || colon == p) {
            snprintf(why, whylen, "column %zu of Coinpipe-Columns is not name:type", i + 1);
            goto fail;
        }
        *colon = '\0';
        for (const char *c = p; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
                snprintf(why, whylen, "column name '%s' is not [a-z0-9_]+", p);
                goto fail;
            }
        const char *t = colon + 1;
        size_t tl = strcspn(t, ":");
        if (!parse_type(t, tl, &s.fields[i].type)) {
            snprintf(why, whylen, "column '%s' has unknown type '%.*s'", p, (int)tl, t);
            goto fail;
        }
        s.fields[i].name = p;
        for (const char *f = t + tl; *f == ':';) {
            size_t fl = strcspn(f + 1, ":");
            if (fl == 3 && strncmp(f + 1, "key", 3) == 0)
                s.fields[i].flags |= CP_FIELD_KEY;
            else if (fl == 4 && strncmp(f + 1, "null", 4) == 0)
                s.fields[i].flags |= CP_FIELD_NULLABLE;
            else {
                snprintf(why, whylen, "column '%s' has unknown flag '%.*s'", p, (int)fl, f + 1);
                goto fail;
            }
            f += 1 + fl;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(s.fields[k].name, p) == 0) {
                snprintf(why, whylen, "column '%s' appears twice", p);
                goto fail;
            }
        p = end ? end + 1 : p + strlen(p);
    }
    s.stream = strndup(stream, sl);
    nq_schema *v = s.stream ? realloc(q->schemas, (q->nschemas + 1) * sizeof *v) : NULL;
    if (!v)
        goto fail_nomem;
    q->schemas = v;
    s.sc = (cp_schema){.stream = s.stream, .nfields = nf, .fields = s.fields, .size = (uint32_t)sizeof(cp_schema),
                       .field_size = (uint32_t)sizeof(cp_field)};
    q->schemas[q->nschemas] = s;
    return &q->schemas[q->nschemas++].sc;
fail_nomem:
    snprintf(why, whylen, "out of memory");
fail:
    free(s.fields);
    free(s.names);
    free(s.key);
    free(s.stream);
    return NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put_utf8(cp_buf *b, unsigned long cp)
{
    if (cp < 0x80) {
        cp_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        cp_buf_putc(b, (char)(0xc0 | (cp >> 6)));
        cp_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        cp_buf_putc(b, (char)(0xe0 | (cp >> 12)));
        cp_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        cp_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        cp_buf_putc(b, (char)(0xf0 | (cp >> 18)));
        cp_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        cp_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        cp_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

static long hex4(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* a JSON string at p (after its opening quote) into q->str; returns the byte after the closing
 * quote, or NULL */
static const char *parse_string(nq *q, const char *p, const char *end)
{
    cp_buf_reset(&q->str);
    const char *run = p;
    while (p < end && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p != '\\') {
            p++;
            continue;
        }
        cp_buf_put(&q->str, run, (size_t)(p - run));
        if (++p >= end)
            return NULL;
        char e = *p++;
        switch (e) {
        case '"': case '\\': case '/': cp_buf_putc(&q->str, e); break;
        case 'b': cp_buf_putc(&q->str, '\b'); break;
        case 'f': cp_buf_putc(&q->str, '\f'); break;
        case 'n': cp_buf_putc(&q->str, '\n'); break;
        case 'r': cp_buf_putc(&q->str, '\r'); break;
        case 't': cp_buf_putc(&q->str, '\t'); break;
        case 'u': {
            long cp = hex4(p, end);
            if (cp < 0)
                return NULL;
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                long lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2, end) : -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return NULL;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return NULL;
            }
            put_utf8(&q->str, (unsigned long)cp);
            break;
        }
        default: return NULL;
        }
        run = p;
    }
    if (p >= end)
        return NULL;
    cp_buf_put(&q->str, run, (size_t)(p - run));
    cp_buf_putc(&q->str, '\0'); /* an empty string still has a buffer */
    q->str.len--;
    return p + 1;
}

/* one row (a JSON array) of line [p, end) into row r of b; NULL on success, else why */
static const char *parse_row(nq *q, cp_ctx *ctx, cp_batch *b, const cp_schema *sc, size_t r, const char *p,
                             const char *end, char *why, size_t whylen)
{
    p = skip_ws(p, end);
    if (p >= end || *p != '[')
        return "a row is not a JSON array";
    p++;
    for (size_t c = 0; c < sc->nfields; c++) {
        const cp_field *f = &sc->fields[c];
        p = skip_ws(p, end);
        if (c) {
            if (p >= end || *p != ',') {
                snprintf(why, whylen, "a row has %zu cells, the columns header %zu", c, sc->nfields);
                return why;
            }
            p = skip_ws(p + 1, end);
        }
        cp_status st = CP_OK;
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            if (f->flags & CP_FIELD_KEY) {
                snprintf(why, whylen, "key column '%s' is null", f->name);
                return why;
            }
            p += 4;
            continue;
        }
        if (*p == '"') {
            p = parse_string(q, p + 1, end);
            if (!p || q->str.oom) {
                snprintf(why, whylen, "column '%s': bad JSON string", f->name);
                return why;
            }
            if (f->type == CP_T_DECIMAL)
                st = cp_batch_set_decimal(ctx, b, r, c, q->str.p, q->str.len);
            else if (f->type == CP_T_STRING)
                st = cp_batch_set_string(ctx, b, r, c, q->str.p, q->str.len);
            else
                st = CP_ERR_PARSE;
        } else if (f->type == CP_T_BOOL && end - p >= 4 && memcmp(p, "true", 4) == 0) {
            st = cp_batch_set_bool(ctx, b, r, c, true);
            p += 4;
        } else if (f->type == CP_T_BOOL && end - p >= 5 && memcmp(p, "false", 5) == 0) {
            st = cp_batch_set_bool(ctx, b, r, c, false);
            p += 5;
        } else {
            size_t n = strspn(p, "-+0123456789.eE");
            if (!n || p + n > end) {
                st = CP_ERR_PARSE;
            } else if (f->type == CP_T_INT64 || f->type == CP_T_TIMESTAMP) {
                char *e;
                errno = 0;
                long long v = strtoll(p, &e, 10);
                st = e == p + n && errno == 0 ? cp_batch_set_int(ctx, b, r, c, v) : CP_ERR_PARSE;
            } else if (f->type == CP_T_DOUBLE) {
                char *e;
                double v = strtod(p, &e);
                st = e == p + n ? cp_batch_set_double(ctx, b, r, c, v) : CP_ERR_PARSE;
            } else if (f->type == CP_T_DECIMAL) {
                st = cp_batch_set_decimal(ctx, b, r, c, p, n);
            } else {
                st = CP_ERR_PARSE;
            }
            p += n;
        }
        if (st != CP_OK) {
            snprintf(why, whylen, "column '%s': not a valid %s cell", f->name,
                     f->type == CP_T_DECIMAL ? "decimal" : f->type == CP_T_STRING ? "text" : "typed");
            return why;
        }
    }
    p = skip_ws(p, end);
    if (p >= end || *p != ']') {
        snprintf(why, whylen, "a row has more cells than the %zu columns", sc->nfields);
        return why;
    }
    if (skip_ws(p + 1, end) != end)
        return "text after a row's closing bracket";
    return NULL;
}

/* this fetch's batch for schema sc (same pointer: cached schemas are unique) */
static cp_batch *open_batch(nq *q, cp_ctx *ctx, const cp_schema *sc, size_t hint)
{
    for (size_t i = 0; i < q->nopen; i++)
        if (q->open_sc[i] == sc)
            return q->open[i];
    cp_batch **o = realloc(q->open, (q->nopen + 1) * sizeof *o);
    if (o)
        q->open = o;
    const cp_schema **os = o ? realloc(q->open_sc, (q->nopen + 1) * sizeof *os) : NULL;
    if (!os)
        return NULL;
    q->open_sc = os;
    cp_batch *b = cp_batch_new(ctx, sc, hint);
    if (!b)
        return NULL;
    q->open[q->nopen] = b;
    q->open_sc[q->nopen++] = sc;
    return b;
}

/* appends the rows of m to this fetch's batch of its schema; NULL, or why it cannot be read */
static const char *read_message(nq *q, cp_ctx *ctx, natsMsg *m, char *why, size_t whylen)
{
    const char *fmt = NULL, *stream = NULL, *cols = NULL, *nrows = NULL;
    if (natsMsgHeader_Get(m, "Coinpipe-Format", &fmt) != NATS_OK)
        return "no Coinpipe-Format header (not a coinpipe message)";
    if (strcmp(fmt, "coinpipe-rows/1") != 0) {
        snprintf(why, whylen, "unknown format '%.64s' (this reader knows coinpipe-rows/1)", fmt);
        return why;
    }
    if (natsMsgHeader_Get(m, "Coinpipe-Stream", &stream) != NATS_OK || !*stream)
        return "no Coinpipe-Stream header";
    if (natsMsgHeader_Get(m, "Coinpipe-Columns", &cols) != NATS_OK || !*cols)
        return "no Coinpipe-Columns header";
    const cp_schema *sc = schema_for(q, stream, cols, why, whylen);
    if (!sc)
        return why;
    long want = -1;
    if (natsMsgHeader_Get(m, "Coinpipe-Rows", &nrows) == NATS_OK)
        want = strtol(nrows, NULL, 10);
    const char *p = natsMsg_GetData(m), *end = p + natsMsg_GetDataLength(m), *enc = NULL;
    if (natsMsgHeader_Get(m, "Coinpipe-Encoding", &enc) == NATS_OK) {
        if (strcmp(enc, "zstd") != 0) {
            snprintf(why, whylen, "unknown Coinpipe-Encoding '%.32s' (this reader knows zstd)", enc);
            return why;
        }
        unsigned long long n = ZSTD_getFrameContentSize(p, (size_t)(end - p));
        if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > MAX_BODY)
            return "the zstd body is not one frame of a known size up to 256 MiB";
        cp_buf_reset(&q->z);
        if ((!q->zd && !(q->zd = ZSTD_createDCtx())) || !cp_buf_reserve(&q->z, (size_t)n))
            return "out of memory";
        size_t got = ZSTD_decompressDCtx(q->zd, q->z.p, (size_t)n, p, (size_t)(end - p));
        if (ZSTD_isError(got) || got != n)
            return "the zstd body does not decompress";
        p = q->z.p;
        end = p + got;
    }
    cp_batch *b = open_batch(q, ctx, sc, want > 0 ? (size_t)want : 16);
    if (!b)
        return "out of memory";
    size_t first = cp_batch_rows(ctx, b), lines = 0;
    const char *err = NULL;
    while (p < end && !err) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (skip_ws(p, le) != le) {
            size_t r = cp_batch_add_row(ctx, b);
            err = r == SIZE_MAX ? "out of memory" : parse_row(q, ctx, b, sc, r, p, le, why, whylen);
            lines++;
        }
        p = nl ? nl + 1 : end;
    }
    if (!err && want >= 0 && (size_t)want != lines) {
        snprintf(why, whylen, "Coinpipe-Rows says %ld rows, the body has %zu", want, lines);
        err = why;
    }
    if (err)
        while (cp_batch_rows(ctx, b) > first)
            cp_batch_drop_last_row(ctx, b);
    return err;
}

static void dead_letter(nq *q, cp_ctx *ctx, natsMsg *m, const char *why)
{
    jsMsgMetaData *meta = NULL;
    uint64_t seq = natsMsg_GetMetaData(&meta, m) == NATS_OK ? meta->Sequence.Stream : 0;
    jsMsgMetaData_Destroy(meta);
    cp_log_error(ctx, "dead letter: message %llu of stream '%s' on subject '%s' cannot be read: %s%s%s",
                 (unsigned long long)seq, q->cfg->stream, natsMsg_GetSubject(m), why,
                 q->cfg->dead_letter_subject ? "; republished to " : "",
                 q->cfg->dead_letter_subject ? q->cfg->dead_letter_subject : "");
    cp_stream_count(ctx, CP_STREAM_BAD_MESSAGES, 1);
    if (q->cfg->dead_letter_subject) {
        natsMsg *d = NULL;
        char from[512];
        snprintf(from, sizeof from, "%s %s %llu", natsMsg_GetSubject(m), q->cfg->stream, (unsigned long long)seq);
        natsStatus s = natsMsg_Create(&d, q->cfg->dead_letter_subject, NULL, natsMsg_GetData(m), natsMsg_GetDataLength(m));
        if (s == NATS_OK)
            s = natsMsgHeader_Set(d, "Coinpipe-Dead-Reason", why);
        if (s == NATS_OK)
            s = natsMsgHeader_Set(d, "Coinpipe-Dead-From", from);
        if (s == NATS_OK)
            s = natsConnection_PublishMsg(q->conn.nc, d);
        if (s != NATS_OK)
            cp_log_warn(ctx, "cannot republish the dead letter to %s: %s", q->cfg->dead_letter_subject,
                        natsStatus_GetText(s));
        natsMsg_Destroy(d);
    }
    natsMsg_Term(m, NULL);
}

/* ---- acknowledging what is committed ------------------------------------------------- */

/* acks the waiting messages whose ticket is committed, oldest first; waits up to timeout_ms
 * for the oldest. False when a commit failed (nothing may be acked any more). */
static bool ack_committed(nq *q, cp_ctx *ctx, int64_t timeout_ms)
{
    size_t done = 0;
    bool ok = true;
    while (done < q->nwaits) {
        nq_wait *w = &q->waits[done];
        cp_status st = cp_commit_wait(ctx, w->ticket, done ? 0 : timeout_ms);
        if (st == CP_ERR_IO)
            ok = false;
        if (st != CP_OK)
            break;
        for (size_t k = 0; k < w->n; k++) {
            natsMsg_Ack(w->m[k], NULL);
            natsMsg_Destroy(w->m[k]);
        }
        cp_stream_count(ctx, CP_MSG_ACKED, w->n);
        q->unacked -= w->n;
        free(w->m);
        done++;
    }
    if (done) {
        memmove(q->waits, q->waits + done, (q->nwaits - done) * sizeof *q->waits);
        q->nwaits -= done;
    }
    return ok;
}

static cp_status subscribe(nq *q, cp_ctx *ctx)
{
    const nq_config *c = q->cfg;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = c->stream;
    so.Config.Durable = c->durable;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = c->ack_wait * 1000000;
    so.Config.MaxAckPending = c->max_ack_pending;
    so.Config.MaxDeliver = c->max_deliver ? c->max_deliver : -1;
    so.Config.DeliverPolicy = strcmp(c->deliver, "new") == 0 ? js_DeliverNew : js_DeliverAll;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&q->sub, q->conn.js, c->subject, c->durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        cp_log_warn(ctx, "cannot bind durable consumer '%s' of stream '%s' (%s): %s (%s); trying again", c->durable,
                    c->stream, c->subject, natsStatus_GetText(s), nats_GetLastError(NULL));
        q->sub = NULL;
        return CP_RETRY;
    }
    cp_log_info(ctx, "consuming stream '%s' as durable '%s' (%s)", c->stream, c->durable, c->subject);
    return CP_OK;
}

static cp_status emit_open(nq *q, cp_ctx *ctx)
{
    cp_status st = CP_OK;
    for (size_t i = 0; i < q->nopen; i++) {
        cp_status e = cp_emit(ctx, q->open[i]);
        if (e != CP_OK && st == CP_OK)
            st = e;
    }
    q->nopen = 0;
    return st;
}

static cp_status keep_for_ack(nq *q, natsMsg **m, size_t n, uint64_t ticket)
{
    if (q->nwaits == q->capwaits) {
        size_t cap = q->capwaits ? q->capwaits * 2 : 16;
        nq_wait *w = realloc(q->waits, cap * sizeof *w);
        if (!w)
            return CP_ERR_NOMEM;
        q->waits = w;
        q->capwaits = cap;
    }
    q->waits[q->nwaits++] = (nq_wait){m, n, ticket};
    q->unacked += n;
    return CP_OK;
}

static cp_status nq_run(void *instance, cp_ctx *ctx)
{
    nq *q = instance;
    if (!cp_commit_ticket(ctx)) {
        cp_log_error(ctx, "this core cannot tell a source when its rows are committed: nats-consumer needs a newer "
                          "coinpipe, in a pipeline without interval");
        return CP_ERR_CONFIG;
    }
    int64_t pause = 100;
    cp_status result = CP_OK;
    while (!cp_stopping(ctx)) {
        if (nc_reopen_if_closed(&q->conn, &q->cfg->conn, q->name, &q->jo)) {
            release_waits(q); /* their acks would go nowhere: JetStream delivers them again */
            if (q->sub)
                natsSubscription_Destroy(q->sub);
            q->sub = NULL;
        }
        if (!q->sub && subscribe(q, ctx) != CP_OK) {
            cp_sleep_ms(ctx, pause);
            pause = pause * 2 > 5000 ? 5000 : pause * 2;
            continue;
        }
        /* bounded: wait for commits while too much is unacknowledged */
        while (q->unacked >= (size_t)q->cfg->max_ack_pending / 2 && !cp_stopping(ctx) && q->nwaits)
            if (!ack_committed(q, ctx, 1000))
                break;
        if (q->nschemas >= 1024) /* a producer that varies its columns endlessly: start over */
            clear_schemas(q);
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, q->sub, (int)q->cfg->fetch_batch, q->cfg->fetch_timeout, &jerr);
        if (s != NATS_OK && s != NATS_TIMEOUT) {
            cp_log_debug(ctx, "fetch: %s", natsStatus_GetText(s));
            if (s == NATS_NOT_FOUND || s == NATS_INVALID_SUBSCRIPTION || s == NATS_CONNECTION_CLOSED) {
                natsSubscription_Destroy(q->sub);
                q->sub = NULL;
            }
            cp_sleep_ms(ctx, pause);
            pause = pause * 2 > 5000 ? 5000 : pause * 2;
        } else {
            pause = 100;
        }
        natsMsg **keep = list.Count ? malloc((size_t)list.Count * sizeof *keep) : NULL;
        size_t nkeep = 0;
        uint64_t lag = 0, redelivered = 0;
        bool have_lag = false;
        for (int i = 0; i < list.Count; i++) {
            natsMsg *m = list.Msgs[i];
            jsMsgMetaData *meta = NULL;
            if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
                redelivered += meta->NumDelivered > 1;
                lag = meta->NumPending;
                have_lag = true;
                jsMsgMetaData_Destroy(meta);
            }
            char why[256];
            const char *err = keep ? read_message(q, ctx, m, why, sizeof why) : "out of memory";
            if (err && keep) {
                dead_letter(q, ctx, m, err);
                continue; /* destroyed with the list */
            }
            if (!keep)
                break;
            keep[nkeep++] = m;
            list.Msgs[i] = NULL;
        }
        cp_stream_count(ctx, CP_STREAM_MESSAGES, (uint64_t)list.Count);
        if (redelivered)
            cp_stream_count(ctx, CP_MSG_REDELIVERED, redelivered);
        if (have_lag)
            cp_stream_count(ctx, CP_MSG_LAG, lag);
        natsMsgList_Destroy(&list);
        cp_status st = emit_open(q, ctx);
        if (nkeep && st == CP_OK)
            st = keep_for_ack(q, keep, nkeep, cp_commit_ticket(ctx));
        if (st != CP_OK) { /* not handed on: JetStream delivers them again after ack_wait */
            for (size_t k = 0; k < nkeep; k++)
                natsMsg_Destroy(keep[k]);
            free(keep);
            if (st != CP_ERR_STOPPED) {
                cp_log_error(ctx, "cannot hand %zu messages on: %s", nkeep, cp_strerror(st));
                result = st;
            }
            break;
        }
        if (!nkeep)
            free(keep);
        if (!ack_committed(q, ctx, 0)) {
            cp_log_error(ctx, "a micro-batch could not be committed: its messages stay unacknowledged");
            break;
        }
    }
    /* shutdown: what was emitted is committed by the core's last flush; wait for it a little so
     * that the next start need not wait ack_wait for these messages to come back */
    for (int i = 0; i < 50 && q->nwaits; i++)
        if (!ack_committed(q, ctx, 100))
            break;
    if (q->nwaits)
        cp_log_info(ctx, "%zu messages left unacknowledged: JetStream delivers them again", q->unacked);
    release_waits(q);
    nats_ReleaseThreadMemory();
    return result;
}

static cp_status nq_collect(void *instance, cp_ctx *ctx)
{
    (void)instance;
    cp_log_error(ctx, "nats-consumer runs continuously: remove the pipeline's interval and schedule");
    return CP_ERR_CONFIG;
}

CP_PLUGIN_DEFINE(.name = "nats-consumer", .kind = CP_SOURCE, .version = "0.1.0",
                 .description = "NATS JetStream durable pull consumer: the rows nats sinks published, acked after commit",
                 .options = nq_options, .config_size = sizeof(nq_config), .check = nq_check, .create = nq_create,
                 .destroy = nq_destroy, .collect = nq_collect, .run = nq_run);
