/* Sink "nats": publishes every batch to NATS JetStream, for writers elsewhere to consume.
 * SPDX-License-Identifier: MIT
 *
 * Subjects: <subject_prefix>.<stream>.<exchange>.<symbol>, e.g. coinpipe.ohlcv.binance.BTC-USDT
 * (CoinGecko streams: <source>.<coin_id>; a stream without those columns: "_"; '.', '*', '>'
 * and blanks inside a value become '_'). A batch is split by subject, and a subject's rows into
 * messages of at most `max_message_rows` rows and about `max_message_bytes` bytes, in the
 * batch's row order: a re-delivered batch splits into the very same messages.
 *
 * A message (format "coinpipe-rows/1", docs/scale-out.md), readable from any language:
 *   headers  Coinpipe-Format   coinpipe-rows/1
 *            Coinpipe-Stream   the stream, e.g. ohlcv
 *            Coinpipe-Columns  name:type[:key][:null] comma-separated, in row order; types
 *                              int dbl dec text ts bool (docs/streams.md)
 *            Coinpipe-Rows     the number of rows
 *            Coinpipe-Encoding zstd, when `compression = "zstd"`: the body is one zstd frame
 *            Nats-Msg-Id       hex of the first 16 bytes of SHA-256 over the subject and every
 *                              row's key values: a re-published message is dropped by the
 *                              stream's duplicate window
 *   body     one JSON array per row and line, cells in column order: int and ts as integers
 *            (UTC ms), dbl as a number, dec as a string holding the exchange's exact text,
 *            text as a string, bool as true/false, NULL as null.
 *
 * The JetStream stream (`stream`, subjects <subject_prefix>.>) is created when missing with
 * `replicas`, `max_age` and `duplicate_window`. write() publishes asynchronously (at most
 * `max_pending` messages in flight) and answers CP_PENDING: the batch stays in the spool. Once
 * `max_pending_batches` batches are out, and at every flush the core asks for (about once a
 * second, and at shutdown), the sink waits for JetStream's acks of all of them (each stored on
 * a quorum of the replicas) and only then answers CP_OK, which confirms them all. Any failure or
 * a missing ack within `ack_timeout` is CP_RETRY: the core publishes the window's batches again
 * from the spool and the duplicate window drops what did arrive.
 */
#include "common/natsconn.h"

#include <coinpipe/buf.h>

#include <coinpipe/coinpipe.h>

#include <openssl/sha.h>
#include <zstd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct ns_config {
    nc_cfg conn;
    char *stream;
    char *subject_prefix;
    int64_t replicas;
    int64_t max_age;
    int64_t duplicate_window;
    char *storage;
    bool create_stream;
    int64_t max_pending;
    int64_t ack_timeout;
    int64_t max_message_rows;
    int64_t max_message_bytes;
    int64_t max_pending_batches;
    char *compression;
} ns_config;

static const char *const compressions[] = {"none", "zstd", NULL};

static const char *const storages[] = {"file", "memory", NULL};

static const cp_option ns_options[] = {
    NC_OPTIONS(ns_config, conn),
    {.name = "stream", .type = CP_OPT_STRING, .def = "\"COINPIPE\"", .offset = offsetof(ns_config, stream),
     .doc = "JetStream stream that stores the messages (created when missing)."},
    {.name = "subject_prefix", .type = CP_OPT_STRING, .def = "\"coinpipe\"", .offset = offsetof(ns_config, subject_prefix),
     .doc = "First tokens of every subject: <subject_prefix>.<stream>.<exchange>.<symbol>."},
    {.name = "replicas", .type = CP_OPT_INT, .def = "1", .min = 1, .max = 5, .offset = offsetof(ns_config, replicas),
     .doc = "Replicas of a stream this sink creates (3 on a three-server cluster)."},
    {.name = "max_age", .type = CP_OPT_DURATION, .def = "\"7d\"", .min = 1000, .max = 3153600000000.0,
     .offset = offsetof(ns_config, max_age), .doc = "How long a stream this sink creates keeps messages."},
    {.name = "duplicate_window", .type = CP_OPT_DURATION, .def = "\"10m\"", .min = 100, .max = 604800000,
     .offset = offsetof(ns_config, duplicate_window),
     .doc = "Window in which JetStream drops a message whose Nats-Msg-Id it has stored (covers a re-delivery)."},
    {.name = "storage", .type = CP_OPT_ENUM, .def = "\"file\"", .choices = storages,
     .offset = offsetof(ns_config, storage), .doc = "Storage of a stream this sink creates."},
    {.name = "create_stream", .type = CP_OPT_BOOL, .def = "true", .offset = offsetof(ns_config, create_stream),
     .doc = "Create the stream when it does not exist (false: it must exist)."},
    {.name = "max_pending", .type = CP_OPT_INT, .def = "256", .min = 1, .max = 65536,
     .offset = offsetof(ns_config, max_pending), .doc = "Messages published and not yet acknowledged, at most."},
    {.name = "max_pending_batches", .type = CP_OPT_INT, .def = "32", .min = 1, .max = 4096,
     .offset = offsetof(ns_config, max_pending_batches),
     .doc = "Batches published before their acks are collected (1: each batch waits for its own acks)."},
    {.name = "compression", .type = CP_OPT_ENUM, .def = "\"none\"", .choices = compressions,
     .offset = offsetof(ns_config, compression),
     .doc = "zstd: message bodies compressed (about a fifth of the bytes to store and replicate; Coinpipe-Encoding header)."},
    {.name = "ack_timeout", .type = CP_OPT_DURATION, .def = "\"10s\"", .min = 100, .max = 600000,
     .offset = offsetof(ns_config, ack_timeout),
     .doc = "How long a batch waits for JetStream's acks before it is retried."},
    {.name = "max_message_rows", .type = CP_OPT_INT, .def = "1000", .min = 1, .max = 1000000,
     .offset = offsetof(ns_config, max_message_rows), .doc = "Rows per message, at most."},
    {.name = "max_message_bytes", .type = CP_OPT_SIZE, .def = "\"256k\"", .min = 1024, .max = 64 << 20,
     .offset = offsetof(ns_config, max_message_bytes),
     .doc = "A message is cut after the row that brings it past this size (keep it below the server's max_payload)."},
    CP_OPTION_END,
};

typedef struct ns {
    const ns_config *cfg;
    cp_ctx *ctx;
    nc_conn conn;
    bool stream_ready;
    atomic_ullong acked, failed, duplicates;
    char last_error[256];
    atomic_bool have_error;
    cp_buf body, subject, keys, cols;
    size_t *order;   /* row indices grouped by subject */
    size_t norder;
    /* the window: batches published (CP_PENDING) whose acks are not all collected yet */
    size_t pending_batches, pending_msgs;
    uint64_t acked0, dup0; /* the counters when the window opened */
    ZSTD_CCtx *zc;         /* compression = "zstd" */
    jsOptions jo;          /* the JetStream options, for a new connection */
    char name[256];
    cp_buf z;
} ns;

/* ---- checking and creating --------------------------------------------------------- */

static bool token_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s == '*' || *s == '>' || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

static cp_status ns_check(const void *config, cp_check *chk)
{
    const ns_config *c = config;
    cp_status st = nc_check(&c->conn, chk);
    if (!token_ok(c->subject_prefix) || c->subject_prefix[0] == '.' ||
        c->subject_prefix[strlen(c->subject_prefix) - 1] == '.' || strstr(c->subject_prefix, "..")) {
        cp_check_error(chk, "subject_prefix", "'%s' is not a subject (tokens separated by '.', no '*', '>' or blanks)",
                       c->subject_prefix);
        st = CP_ERR_CONFIG;
    }
    if (!token_ok(c->stream) || strchr(c->stream, '.')) {
        cp_check_error(chk, "stream", "'%s' is not a JetStream stream name (no '.', '*', '>' or blanks)", c->stream);
        st = CP_ERR_CONFIG;
    }
    return st;
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    ns *s = closure;
    if (pa) {
        atomic_fetch_add(&s->acked, 1);
        if (pa->Duplicate)
            atomic_fetch_add(&s->duplicates, 1);
    } else {
        atomic_fetch_add(&s->failed, 1);
        if (pae && !atomic_exchange(&s->have_error, true))
            snprintf(s->last_error, sizeof s->last_error, "%s%s%s", natsStatus_GetText(pae->Err),
                     pae->ErrText ? ": " : "", pae->ErrText ? pae->ErrText : "");
    }
    natsMsg_Destroy(msg);
}

static cp_status ns_create(cp_ctx *ctx, const void *config, void **instance)
{
    if (cp_check_run_logged(ctx, config, ns_check) != CP_OK)
        return CP_ERR_CONFIG;
    ns *s = calloc(1, sizeof *s);
    if (!s)
        return CP_ERR_NOMEM;
    s->cfg = config;
    s->ctx = ctx;
    if (strcmp(s->cfg->compression, "zstd") == 0 && !(s->zc = ZSTD_createCCtx())) {
        free(s);
        return CP_ERR_NOMEM;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = s->cfg->conn.connect_timeout;
    jo.PublishAsync.MaxPending = s->cfg->max_pending;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = s;
    jo.PublishAsync.StallWait = s->cfg->ack_timeout;
    s->jo = jo;
    nc_name(ctx, s->name, sizeof s->name);
    cp_status st = nc_open(ctx, &s->cfg->conn, s->name, &s->jo, &s->conn);
    nats_ReleaseThreadMemory(); /* the library's per-thread state, on each thread that called it */
    if (st != CP_OK) {
        free(s);
        return st;
    }
    *instance = s;
    return CP_OK;
}

static void ns_destroy(void *instance)
{
    ns *s = instance;
    if (!s)
        return;
    nc_close(&s->conn);
    nats_ReleaseThreadMemory();
    ZSTD_freeCCtx(s->zc);
    cp_buf_free(&s->z);
    cp_buf_free(&s->body);
    cp_buf_free(&s->subject);
    cp_buf_free(&s->keys);
    cp_buf_free(&s->cols);
    free(s->order);
    free(s);
}

/* the stream exists (or is created): CP_OK; CP_RETRY while JetStream cannot be asked */
static cp_status ensure_stream(ns *s, cp_ctx *ctx)
{
    if (s->stream_ready)
        return CP_OK;
    const ns_config *c = s->cfg;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus st = js_GetStreamInfo(&si, s->conn.js, c->stream, NULL, &jerr);
    if (st == NATS_OK) {
        jsStreamInfo_Destroy(si);
        s->stream_ready = true;
        return CP_OK;
    }
    if (st != NATS_NOT_FOUND) {
        cp_log_warn(ctx, "JetStream stream '%s': %s (%s); the batch waits in the spool", c->stream,
                    natsStatus_GetText(st), nats_GetLastError(NULL));
        return CP_RETRY;
    }
    if (!c->create_stream) {
        cp_log_error(ctx, "JetStream stream '%s' does not exist (create_stream = false); the batch waits in the spool",
                     c->stream);
        return CP_RETRY;
    }
    char subj[512];
    snprintf(subj, sizeof subj, "%s.>", c->subject_prefix);
    const char *subjects[] = {subj};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = c->stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Replicas = c->replicas;
    sc.MaxAge = c->max_age * 1000000;
    sc.Duplicates = c->duplicate_window * 1000000;
    sc.Storage = strcmp(c->storage, "memory") == 0 ? js_MemoryStorage : js_FileStorage;
    st = js_AddStream(&si, s->conn.js, &sc, NULL, &jerr);
    if (st != NATS_OK) {
        cp_log_error(ctx, "cannot create JetStream stream '%s' on %s: %s (%s, error code %d); the batch waits in the spool",
                     c->stream, subj, natsStatus_GetText(st), nats_GetLastError(NULL), (int)jerr);
        return CP_RETRY;
    }
    jsStreamInfo_Destroy(si);
    cp_log_info(ctx, "created JetStream stream '%s' on %s (%lld replicas)", c->stream, subj, (long long)c->replicas);
    s->stream_ready = true;
    return CP_OK;
}

/* ---- encoding ------------------------------------------------------------------------ */

static const char *type_name(cp_type t)
{
    switch (t) {
    case CP_T_INT64: return "int";
    case CP_T_DOUBLE: return "dbl";
    case CP_T_DECIMAL: return "dec";
    case CP_T_STRING: return "text";
    case CP_T_TIMESTAMP: return "ts";
    case CP_T_BOOL: return "bool";
    }
    return "?";
}

static void json_string(cp_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    cp_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        cp_buf_put(b, s + run, i - run);
        run = i + 1;
        if (ch == '"' || ch == '\\') {
            cp_buf_putc(b, '\\');
            cp_buf_putc(b, (char)ch);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            cp_buf_put(b, e, 6);
        }
    }
    cp_buf_put(b, s + run, n - run);
    cp_buf_putc(b, '"');
}

static void put_int(cp_buf *b, int64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    cp_buf_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void encode_row(ns *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t r)
{
    cp_buf *o = &s->body;
    cp_buf_putc(o, '[');
    for (size_t c = 0; c < sc->nfields; c++) {
        if (c)
            cp_buf_putc(o, ',');
        if (cp_batch_is_null(ctx, b, r, c)) {
            cp_buf_puts(o, "null");
            continue;
        }
        size_t len;
        const char *t;
        switch (cp_schema_field(sc, c)->type) {
        case CP_T_INT64:
        case CP_T_TIMESTAMP: put_int(o, cp_batch_get_int(ctx, b, r, c)); break;
        case CP_T_DOUBLE: cp_buf_printf(o, "%.17g", cp_batch_get_double(ctx, b, r, c)); break;
        case CP_T_DECIMAL:
        case CP_T_STRING:
            t = cp_batch_get_text(ctx, b, r, c, &len);
            json_string(o, t, len);
            break;
        case CP_T_BOOL: cp_buf_puts(o, cp_batch_get_bool(ctx, b, r, c) ? "true" : "false"); break;
        }
    }
    cp_buf_puts(o, "]\n");
}

/* the key values of row r, each followed by a NUL (a NULL key as a lone 0xff) */
static void add_keys(ns *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t r)
{
    for (size_t c = 0; c < sc->nfields; c++) {
        if (!(cp_schema_field(sc, c)->flags & CP_FIELD_KEY))
            continue;
        if (cp_batch_is_null(ctx, b, r, c)) {
            cp_buf_putc(&s->keys, (char)0xff);
        } else {
            size_t len;
            const char *t = cp_batch_get_text(ctx, b, r, c, &len);
            if (t)
                cp_buf_put(&s->keys, t, len);
            else
                put_int(&s->keys, cp_batch_get_int(ctx, b, r, c));
        }
        cp_buf_putc(&s->keys, '\0');
    }
}

/* the column of the subject's exchange (or source) and symbol (or coin_id) token, or -1 */
static int token_col(cp_ctx *ctx, const cp_batch *b, const char *a, const char *alt)
{
    int c = cp_batch_col(ctx, b, a);
    if (c < 0)
        c = cp_batch_col(ctx, b, alt);
    if (c >= 0 && cp_schema_field(cp_batch_schema(ctx, b), (size_t)c)->type != CP_T_STRING)
        c = -1;
    return c;
}

static void put_token(cp_ctx *ctx, cp_buf *o, const cp_batch *b, size_t r, int c)
{
    size_t len = 0;
    const char *t = c >= 0 ? cp_batch_get_text(ctx, b, r, (size_t)c, &len) : NULL;
    nc_token(o, t ? t : "", t ? len : 0);
}

/* publishes one message of subject s->subject: rows order[from..end) up to the row that
 * brings the body past max_message_bytes; *next is where the next message starts */
static cp_status publish(ns *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t from, size_t end,
                         size_t *next)
{
    cp_buf_reset(&s->body);
    cp_buf_reset(&s->keys);
    cp_buf_put(&s->keys, s->subject.p, s->subject.len + 1);
    size_t to = from;
    while (to < end && s->body.len < (size_t)s->cfg->max_message_bytes) {
        encode_row(s, ctx, b, sc, s->order[to]);
        add_keys(s, ctx, b, sc, s->order[to]);
        to++;
    }
    *next = to;
    if (s->body.oom || s->keys.oom)
        return CP_ERR_NOMEM;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s->keys.p, s->keys.len, md);
    char id[33], rows[24];
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", md[i]);
    snprintf(rows, sizeof rows, "%zu", to - from);
    const char *data = s->body.p;
    size_t dlen = s->body.len;
    if (s->zc) {
        size_t cap = ZSTD_compressBound(dlen);
        cp_buf_reset(&s->z);
        if (!cp_buf_reserve(&s->z, cap))
            return CP_ERR_NOMEM;
        size_t zn = ZSTD_compressCCtx(s->zc, s->z.p, cap, data, dlen, 1);
        if (ZSTD_isError(zn)) {
            cp_log_error(ctx, "zstd: %s", ZSTD_getErrorName(zn));
            return CP_ERR_INTERNAL;
        }
        data = s->z.p;
        dlen = zn;
    }
    natsMsg *m = NULL;
    natsStatus st = natsMsg_Create(&m, s->subject.p, NULL, data, (int)dlen);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(m, "Coinpipe-Format", "coinpipe-rows/1");
    if (st == NATS_OK)
        st = natsMsgHeader_Set(m, "Coinpipe-Stream", sc->stream);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(m, "Coinpipe-Columns", s->cols.p);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(m, "Coinpipe-Rows", rows);
    if (st == NATS_OK && s->zc)
        st = natsMsgHeader_Set(m, "Coinpipe-Encoding", "zstd");
    if (st == NATS_OK)
        st = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
    if (st == NATS_OK)
        st = js_PublishMsgAsync(s->conn.js, &m, NULL);
    natsMsg_Destroy(m); /* NULL once the library took it */
    if (st != NATS_OK) {
        cp_log_warn(ctx, "publishing to %s: %s (%s); the batch will be retried", s->subject.p, natsStatus_GetText(st),
                    nats_GetLastError(NULL));
        return st == NATS_NO_MEMORY ? CP_ERR_NOMEM : CP_RETRY;
    }
    return CP_OK;
}

/* subject of row r into s->subject */
static void row_subject(ns *s, cp_ctx *ctx, const cp_batch *b, const char *stream, int ce, int cs, size_t r)
{
    cp_buf_reset(&s->subject);
    cp_buf_puts(&s->subject, s->cfg->subject_prefix);
    cp_buf_putc(&s->subject, '.');
    nc_token(&s->subject, stream, strlen(stream));
    cp_buf_putc(&s->subject, '.');
    put_token(ctx, &s->subject, b, r, ce);
    cp_buf_putc(&s->subject, '.');
    put_token(ctx, &s->subject, b, r, cs);
}

/* orders the rows by subject (stable, so a subject's rows keep the batch's order) */
typedef struct subj_row {
    const char *ex, *sym;
    size_t exn, symn, row;
} subj_row;

static int cmp_tok(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a ? a : "", b ? b : "", an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int cmp_subj(const void *x, const void *y)
{
    const subj_row *a = x, *b = y;
    int c = cmp_tok(a->ex, a->exn, b->ex, b->exn);
    if (!c)
        c = cmp_tok(a->sym, a->symn, b->sym, b->symn);
    return c ? c : (a->row > b->row) - (a->row < b->row);
}

static cp_status group_rows(ns *s, cp_ctx *ctx, const cp_batch *b, int ce, int cs, size_t n)
{
    if (s->norder < n) {
        size_t *o = realloc(s->order, n * sizeof *o);
        if (!o)
            return CP_ERR_NOMEM;
        s->order = o;
        s->norder = n;
    }
    subj_row *v = malloc(n * sizeof *v);
    if (!v)
        return CP_ERR_NOMEM;
    for (size_t r = 0; r < n; r++) {
        v[r].row = r;
        v[r].exn = v[r].symn = 0;
        v[r].ex = ce >= 0 ? cp_batch_get_text(ctx, b, r, (size_t)ce, &v[r].exn) : NULL;
        v[r].sym = cs >= 0 ? cp_batch_get_text(ctx, b, r, (size_t)cs, &v[r].symn) : NULL;
    }
    qsort(v, n, sizeof *v, cmp_subj);
    for (size_t r = 0; r < n; r++)
        s->order[r] = v[r].row;
    free(v);
    return CP_OK;
}

static bool same_subject(cp_ctx *ctx, const cp_batch *b, int ce, int cs, size_t r1, size_t r2)
{
    size_t n1 = 0, n2 = 0;
    for (int k = 0; k < 2; k++) {
        int c = k ? cs : ce;
        if (c < 0)
            continue;
        const char *a = cp_batch_get_text(ctx, b, r1, (size_t)c, &n1);
        const char *z = cp_batch_get_text(ctx, b, r2, (size_t)c, &n2);
        if (cmp_tok(a, a ? n1 : 0, z, z ? n2 : 0))
            return false;
    }
    return true;
}

static void drop_pending(ns *s)
{
    natsMsgList pending = {0};
    if (js_PublishAsyncGetPendingList(&pending, s->conn.js) == NATS_OK)
        natsMsgList_Destroy(&pending);
}

static cp_status write_batch(ns *s, cp_ctx *ctx, const cp_batch *b);
static cp_status give_up_window(ns *s, cp_ctx *ctx, cp_status st);
static cp_status confirm_window(ns *s, cp_ctx *ctx);

static cp_status ns_write(void *instance, cp_ctx *ctx, const cp_batch *b)
{
    cp_status st = write_batch(instance, ctx, b);
    nats_ReleaseThreadMemory();
    return st;
}

static cp_status write_batch(ns *s, cp_ctx *ctx, const cp_batch *b)
{
    const cp_schema *sc = cp_batch_schema(ctx, b);
    size_t n = cp_batch_rows(ctx, b);
    if (!n) /* nothing to publish: CP_OK would confirm the window's batches */
        return s->pending_batches ? CP_PENDING : CP_OK;
    if (nc_reopen_if_closed(&s->conn, &s->cfg->conn, s->name, &s->jo)) {
        s->stream_ready = false;
        return s->pending_batches ? give_up_window(s, ctx, CP_RETRY) : CP_RETRY;
    }
    cp_status st = ensure_stream(s, ctx);
    if (st != CP_OK)
        return s->pending_batches ? give_up_window(s, ctx, st) : st;
    cp_buf_reset(&s->cols);
    for (size_t c = 0; c < sc->nfields; c++) {
        const cp_field *f = cp_schema_field(sc, c);
        cp_buf_printf(&s->cols, "%s%s:%s%s%s", c ? "," : "", f->name, type_name(f->type),
                      f->flags & CP_FIELD_KEY ? ":key" : "", f->flags & CP_FIELD_NULLABLE ? ":null" : "");
    }
    int ce = token_col(ctx, b, "exchange", "source"), cs = token_col(ctx, b, "symbol", "coin_id");
    st = s->cols.oom ? CP_ERR_NOMEM : group_rows(s, ctx, b, ce, cs, n);
    if (st != CP_OK)
        return st;
    if (!s->pending_batches) { /* a fresh window: forget what the last one counted */
        atomic_store(&s->failed, 0);
        atomic_store(&s->have_error, false);
        s->acked0 = atomic_load(&s->acked);
        s->dup0 = atomic_load(&s->duplicates);
        s->pending_msgs = 0;
    }
    for (size_t i = 0; i < n && st == CP_OK;) {
        row_subject(s, ctx, b, sc->stream, ce, cs, s->order[i]);
        size_t j = i + 1;
        while (j < n && j - i < (size_t)s->cfg->max_message_rows && same_subject(ctx, b, ce, cs, s->order[i], s->order[j]))
            j++;
        st = publish(s, ctx, b, sc, i, j, &i);
        s->pending_msgs++;
        if (atomic_load(&s->failed))
            st = CP_RETRY;
    }
    s->pending_batches++;
    if (st != CP_OK)
        return give_up_window(s, ctx, st);
    /* a full window waits for its acks here; otherwise the batch is pending until the next
     * write fills the window or the core's flush (about once a second) collects the acks */
    if (s->pending_batches >= (size_t)s->cfg->max_pending_batches)
        return confirm_window(s, ctx);
    return CP_PENDING;
}

/* the window's batches are all retried: drop what the library still holds of them */
static cp_status give_up_window(ns *s, cp_ctx *ctx, cp_status st)
{
    drop_pending(s);
    if (atomic_load(&s->have_error)) {
        cp_log_warn(ctx, "JetStream refused a message: %s; %zu batches will be retried", s->last_error,
                    s->pending_batches);
        if (strstr(s->last_error, "no responders"))
            s->stream_ready = false; /* the stream may be gone: look again */
    }
    s->pending_batches = 0;
    return st == CP_ERR_NOMEM ? CP_ERR_NOMEM : CP_RETRY;
}

/* waits for the acks of every message published since the last confirmation: CP_OK when
 * JetStream stored them all, else CP_RETRY (the core publishes the batches again) */
static cp_status confirm_window(ns *s, cp_ctx *ctx)
{
    if (!s->pending_batches)
        return CP_OK;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = s->cfg->ack_timeout;
    natsStatus ns_st = js_PublishAsyncComplete(s->conn.js, &po);
    if (ns_st != NATS_OK) {
        cp_log_warn(ctx, "no JetStream ack for some of %zu messages within %lld ms (%s); %zu batches will be retried",
                    s->pending_msgs, (long long)s->cfg->ack_timeout, natsStatus_GetText(ns_st), s->pending_batches);
        return give_up_window(s, ctx, CP_RETRY);
    }
    if (atomic_load(&s->failed))
        return give_up_window(s, ctx, CP_RETRY);
    uint64_t acked = atomic_load(&s->acked) - s->acked0, dups = atomic_load(&s->duplicates) - s->dup0;
    cp_stream_count(ctx, CP_MSG_PUBLISHED, acked);
    if (dups)
        cp_log_debug(ctx, "%llu of %zu messages were duplicates JetStream dropped", (unsigned long long)dups,
                     s->pending_msgs);
    s->pending_batches = 0;
    return CP_OK;
}

static cp_status ns_flush(void *instance, cp_ctx *ctx, unsigned flags)
{
    (void)flags;
    cp_status st = confirm_window(instance, ctx);
    nats_ReleaseThreadMemory();
    return st;
}

CP_PLUGIN_DEFINE(.name = "nats", .kind = CP_SINK, .version = "0.1.0",
                 .description = "NATS JetStream: every batch as JSON-lines messages on <prefix>.<stream>.<exchange>.<symbol>",
                 .options = ns_options, .config_size = sizeof(ns_config), .check = ns_check, .create = ns_create,
                 .destroy = ns_destroy, .write = ns_write, .flush = ns_flush);
