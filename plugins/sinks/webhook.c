/* webhook sink: posts `alert` rows (or rows of the streams asked for) to a Slack, Discord or plain JSON webhook.
 * SPDX-License-Identifier: MIT
 *
 * Writes: the `alert` stream by default (`streams` lists others; batches of other streams are
 * confirmed and ignored). One HTTP POST per row, in row order, through the core's HTTP service
 * (its retries with backoff and Retry-After), at most `per_minute` POSTs a minute to the host
 * (the core's per-host rate limit). Bodies by `format`:
 *   slack   {"text": MESSAGE}                       (Slack incoming webhooks)
 *   discord {"content": MESSAGE}, MESSAGE cut to 2000 characters (Discord's limit)
 *   json    the row as an object, {"stream": ..., column: value, ...}: decimals as their exact
 *           text in JSON strings, timestamps as integer milliseconds, NULL as null
 * MESSAGE is the `template` with {column} replaced by the row's value of that column (any
 * column of the stream: {rule} {state} {symbol} {value} {message} ...; {STATE} upper-cases).
 *
 * Delivery: the URL is a secret (never logged; messages name the host only). A 2xx confirms
 * the row. A connection failure, a timeout, a 5xx or a 429 left after the core's retries
 * returns CP_RETRY: the core keeps the batch in the sink's spool and re-delivers it, so an
 * outage loses no alert. Rows of that batch already posted are not posted again while the
 * instance lives (it remembers how far it got in the batch). Another 4xx returns CP_REJECT
 * (the core dead-letters the batch): the webhook refuses it and will keep refusing it.
 */
#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>

#include <coinpipe/csv.h>
#include <coinpipe/utc.h>

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct webhook_config {
    char *url;
    char *format;
    char *template;
    cp_strlist streams;
    int64_t timeout;
    int64_t max_attempts;
    int64_t per_minute;
} webhook_config;

static const char *const formats[] = {"slack", "discord", "json", NULL};

static const cp_option options[] = {
    {.name = "url", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED | CP_OPT_SECRET,
     .offset = offsetof(webhook_config, url),
     .doc = "The webhook's URL (http or https); secret: never logged or shown."},
    {.name = "format", .type = CP_OPT_ENUM, .def = "\"slack\"", .offset = offsetof(webhook_config, format),
     .choices = formats,
     .doc = "Body: slack {\"text\": message}, discord {\"content\": message} (at most 2000 characters) or json (the row)."},
    {.name = "template", .type = CP_OPT_STRING, .def = "\"[{STATE}] {message}\"",
     .offset = offsetof(webhook_config, template),
     .doc = "Message for slack and discord: {column} is the row's value of that column, {COLUMN} upper-cased."},
    {.name = "streams", .type = CP_OPT_STRLIST, .def = "[\"alert\"]", .min = 1, .max = 64,
     .offset = offsetof(webhook_config, streams),
     .doc = "Streams to post; batches of other streams are ignored."},
    {.name = "timeout", .type = CP_OPT_DURATION, .def = "\"10s\"", .min = 100, .max = 300000,
     .offset = offsetof(webhook_config, timeout),
     .doc = "Timeout of one POST attempt."},
    {.name = "max_attempts", .type = CP_OPT_INT, .def = "3", .min = 1, .max = 20,
     .offset = offsetof(webhook_config, max_attempts),
     .doc = "Attempts per POST within one write (the core's backoff between them); the sink's retry policy does the rest."},
    {.name = "per_minute", .type = CP_OPT_INT, .def = "60", .min = 1, .max = 100000,
     .offset = offsetof(webhook_config, per_minute),
     .doc = "At most this many POSTs a minute to the webhook's host (Slack allows about one a second)."},
    CP_OPTION_END,
};

enum fmt { FMT_SLACK, FMT_DISCORD, FMT_JSON };

typedef struct webhook {
    const webhook_config *cfg;
    enum fmt fmt;
    char host[256];
    cp_buf sig;    /* the key of the first row of the batch partly posted */
    size_t posted; /* rows of that batch already posted */
} webhook;

static cp_status webhook_create(cp_ctx *ctx, const void *config, void **instance)
{
    const webhook_config *c = config;
    const char *p = strstr(c->url, "://");
    if (!p || (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)) {
        cp_log_error(ctx, "option 'url' must be an http:// or https:// URL");
        return CP_ERR_CONFIG;
    }
    webhook *w = calloc(1, sizeof *w);
    if (!w)
        return CP_ERR_NOMEM;
    w->cfg = c;
    w->fmt = strcmp(c->format, "discord") == 0 ? FMT_DISCORD : strcmp(c->format, "json") == 0 ? FMT_JSON : FMT_SLACK;
    p += 3;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n); /* never keep credentials */
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    snprintf(w->host, sizeof w->host, "%.*s", (int)n, p);
    char name[256]; /* the host as the rate limits know it: no port, no brackets */
    snprintf(name, sizeof name, "%s", w->host[0] == '[' ? w->host + 1 : w->host);
    char *colon = w->host[0] == '[' ? strchr(name, ']') : strchr(name, ':');
    if (colon)
        *colon = 0;
    cp_http_limits lim = {.size = sizeof lim, .max_concurrent = 1, .weight_per_minute = (double)c->per_minute};
    cp_http_limits_set(ctx, name, &lim);
    *instance = w;
    return CP_OK;
}

static void webhook_destroy(void *instance)
{
    webhook *w = instance;
    if (!w)
        return;
    cp_buf_free(&w->sig);
    free(w);
}

/* the row's value of `col` as JSON (type-faithful) */
static json_object *cell_json(cp_ctx *ctx, const cp_batch *b, size_t r, size_t c, cp_type t)
{
    if (cp_batch_is_null(ctx, b, r, c))
        return NULL;
    switch (t) {
    case CP_T_DECIMAL:
    case CP_T_STRING: return json_object_new_string(cp_batch_get_text(ctx, b, r, c, NULL));
    case CP_T_INT64:
    case CP_T_TIMESTAMP: return json_object_new_int64(cp_batch_get_int(ctx, b, r, c));
    case CP_T_DOUBLE: return json_object_new_double(cp_batch_get_double(ctx, b, r, c));
    case CP_T_BOOL: return json_object_new_boolean(cp_batch_get_bool(ctx, b, r, c));
    }
    return NULL;
}

/* the row's value of `col` as text for a template ("" for NULL) */
static void cell_text(cp_buf *o, cp_ctx *ctx, const cp_batch *b, size_t r, size_t c, cp_type t, bool upper)
{
    char tmp[32];
    const char *v = "";
    if (cp_batch_is_null(ctx, b, r, c))
        v = "";
    else if (t == CP_T_DECIMAL || t == CP_T_STRING)
        v = cp_batch_get_text(ctx, b, r, c, NULL);
    else if (t == CP_T_TIMESTAMP) {
        cp_utc_iso8601(cp_batch_get_int(ctx, b, r, c), tmp);
        v = tmp;
    } else if (t == CP_T_INT64) {
        cp_csv_int(cp_batch_get_int(ctx, b, r, c), tmp);
        v = tmp;
    } else if (t == CP_T_DOUBLE) {
        cp_csv_double(cp_batch_get_double(ctx, b, r, c), tmp);
        v = tmp;
    } else if (t == CP_T_BOOL)
        v = cp_batch_get_bool(ctx, b, r, c) ? "true" : "false";
    size_t start = o->len;
    cp_buf_printf(o, "%s", v);
    for (size_t i = start; upper && o->p && i < o->len; i++)
        o->p[i] = (char)toupper((unsigned char)o->p[i]);
}

static void render_template(cp_buf *o, const char *tpl, cp_ctx *ctx, const cp_batch *b, size_t r)
{
    const cp_schema *s = cp_batch_schema(ctx, b);
    for (const char *p = tpl; *p; p++) {
        const char *end = *p == '{' ? strchr(p + 1, '}') : NULL;
        char name[64];
        size_t n = end ? (size_t)(end - p - 1) : 0;
        int col = -1;
        bool upper = false;
        if (end && n && n < sizeof name) {
            for (size_t i = 0; i < n; i++) {
                name[i] = (char)tolower((unsigned char)p[1 + i]);
                upper |= isupper((unsigned char)p[1 + i]) != 0;
            }
            name[n] = 0;
            col = cp_batch_col(ctx, b, name);
        }
        if (col < 0) {
            cp_buf_printf(o, "%c", *p);
            continue;
        }
        cell_text(o, ctx, b, r, (size_t)col, s->fields[col].type, upper);
        p = end;
    }
}

/* Cuts s to at most `max` UTF-8 characters (never inside a character). */
static void cut_chars(cp_buf *s, size_t max)
{
    size_t chars = 0;
    for (size_t i = 0; s->p && i < s->len; i++) {
        if (((unsigned char)s->p[i] & 0xC0) != 0x80 && ++chars > max) {
            s->len = i;
            s->p[i] = 0;
            return;
        }
    }
}

static char *body_for(webhook *w, cp_ctx *ctx, const cp_batch *b, size_t r)
{
    const cp_schema *s = cp_batch_schema(ctx, b);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (w->fmt == FMT_JSON) {
        json_object_object_add(o, "stream", json_object_new_string(s->stream));
        for (size_t c = 0; c < s->nfields; c++)
            json_object_object_add(o, s->fields[c].name, cell_json(ctx, b, r, c, s->fields[c].type));
    } else {
        cp_buf msg = {0};
        render_template(&msg, w->cfg->template, ctx, b, r);
        if (w->fmt == FMT_DISCORD)
            cut_chars(&msg, 2000);
        json_object_object_add(o, w->fmt == FMT_DISCORD ? "content" : "text",
                               json_object_new_string(msg.p ? msg.p : ""));
        cp_buf_free(&msg);
    }
    const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = txt ? strdup(txt) : NULL;
    json_object_put(o);
    return copy;
}

static bool wanted(const webhook *w, const char *stream)
{
    for (size_t i = 0; i < w->cfg->streams.n; i++)
        if (strcmp(w->cfg->streams.v[i], stream) == 0)
            return true;
    return false;
}

/* a batch's identity: its stream, row count and first row (a re-delivered batch has the same) */
static void batch_sig(cp_buf *o, cp_ctx *ctx, const cp_batch *b)
{
    const cp_schema *s = cp_batch_schema(ctx, b);
    o->len = 0;
    cp_buf_printf(o, "%s/%zu", s->stream, cp_batch_rows(ctx, b));
    for (size_t c = 0; c < s->nfields; c++) {
        cp_buf_printf(o, "|");
        cell_text(o, ctx, b, 0, c, s->fields[c].type, false);
    }
}

static cp_status webhook_write(void *instance, cp_ctx *ctx, const cp_batch *b)
{
    webhook *w = instance;
    const cp_schema *s = cp_batch_schema(ctx, b);
    size_t rows = cp_batch_rows(ctx, b);
    if (!rows || !wanted(w, s->stream))
        return CP_OK;
    cp_buf sig = {0};
    batch_sig(&sig, ctx, b);
    size_t start = 0;
    if (w->sig.p && sig.p && strcmp(w->sig.p, sig.p) == 0)
        start = w->posted; /* a re-delivery of the batch we got part-way through */
    cp_buf_free(&w->sig);
    w->sig = sig;
    w->posted = start;
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    for (size_t r = start; r < rows; r++) {
        char *body = body_for(w, ctx, b, r);
        if (!body)
            return CP_ERR_NOMEM;
        cp_http_request rq = CP_HTTP_REQUEST(.method = "POST", .url = w->cfg->url, .headers = headers, .body = body,
                                             .body_len = strlen(body), .timeout_ms = (long)w->cfg->timeout,
                                             .max_attempts = (int)w->cfg->max_attempts);
        cp_http_response resp = {0};
        cp_status st = cp_http_perform(ctx, &rq, &resp, 1);
        free(body);
        long code = resp.code;
        char why[256];
        snprintf(why, sizeof why, "%s", resp.error);
        cp_http_response_clear(ctx, &resp);
        if (st == CP_ERR_STOPPED)
            return CP_RETRY;
        if (st != CP_OK || code == 0 || code >= 500 || code == 429 || code == 408) {
            if (code)
                cp_log_warn(ctx, "webhook %s: HTTP %ld %s; will retry (%zu of %zu rows of this batch posted)",
                            w->host, code, why, r, rows);
            else
                cp_log_warn(ctx, "webhook %s: %s: %s; will retry (%zu of %zu rows of this batch posted)", w->host,
                            cp_strerror(st), why, r, rows);
            return CP_RETRY;
        }
        if (code >= 300) {
            cp_log_error(ctx, "webhook %s refused a %s row: HTTP %ld %s", w->host, s->stream, code, why);
            w->posted = 0;
            cp_buf_free(&w->sig);
            return CP_REJECT;
        }
        w->posted = r + 1;
    }
    cp_buf_free(&w->sig);
    w->posted = 0;
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "webhook", .kind = CP_SINK, .version = "1.0.0",
                 .description = "Posts alert rows to a Slack, Discord or JSON webhook",
                 .options = options, .config_size = sizeof(webhook_config), .create = webhook_create,
                 .destroy = webhook_destroy, .write = webhook_write);
