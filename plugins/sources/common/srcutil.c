/* Helpers shared by the exchange sources: response checks, JSON to exact decimal text, rows, checkpoints.
 * SPDX-License-Identifier: MIT
 */
#include "srcutil.h"

#include <coinpipe/text.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cp_status su_check(cp_ctx *ctx, const char *endpoint, const cp_http_response *r)
{
    /* the core has logged the failure with host, path, status and message (a ban once) */
    if (r->status != CP_OK) {
        cp_log_debug(ctx, "%s: no response: %s (%s)", endpoint, cp_strerror(r->status), r->error);
        return r->status;
    }
    if (r->code == 404) { /* the usual cause: a base_url with a path the source appends again, or none */
        cp_log_error(ctx, "%s: HTTP 404 (no such path on this host): check the source's option base_url, the API's "
                          "host root such as \"https://api.example.com\" (the source appends the API path)",
                     endpoint);
        return CP_ERR_HTTP;
    }
    if (r->code < 200 || r->code > 299) {
        cp_log_debug(ctx, "%s: HTTP %ld: %s", endpoint, r->code, r->error[0] ? r->error : "(no message)");
        return CP_ERR_HTTP;
    }
    return CP_OK;
}

char *su_base_root(const char *url, const char *api_path)
{
    size_t n = strlen(url), p = api_path ? strlen(api_path) : 0;
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (p > 0 && n >= p && strncmp(url + n - p, api_path, p) == 0)
        n -= p;
    while (n > 0 && url[n - 1] == '/')
        n--;
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, url, n);
        out[n] = '\0';
    }
    return out;
}

/* json-c keeps the last of a repeated key silently. A member whose key the body repeats gets
 * this marker as its value instead (a string carrying dup_mark as userdata), which su_jval
 * reports as `dup` so that the row setters refuse it as the scanner's rows do. */
static char dup_mark;

static bool is_dup(json_object *o) { return o && json_object_get_userdata(o) == &dup_mark; }

/* Where mark_dups is in the body ("$", "$.symbols[3]") and the first repeated key whose value
 * is an object or array: structure, not a row's field, so the whole response is refused. */
typedef struct dup_walk {
    char path[160];
    char key[64];
    char at[160];
    bool found;
} dup_walk;

/* Appends to w->path; returns the length to cut it back to. */
static size_t path_push(dup_walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(dup_walk *w, const char *fmt, ...)
{
    size_t n = strlen(w->path);
    va_list ap;
    va_start(ap, fmt);
    if (n < sizeof w->path - 1)
        vsnprintf(w->path + n, sizeof w->path - n, fmt, ap);
    va_end(ap);
    return n;
}

/* Walks the value v just read by the scanner alongside o, json-c's tree of the same text, and
 * marks the members of o's objects whose keys v repeats. A member's later occurrence replaces
 * the tree json-c kept, so walking an earlier occurrence against it only ever marks members
 * the marker then replaces. A repeated key whose value (either occurrence) is a container is
 * recorded in w. False when the scanner stops (json-c is laxer: nothing more marked). */
static bool mark_dups(sj *j, const sj_val *v, json_object *o, dup_walk *w)
{
    if (v->type == SJ_ARRAY) {
        json_object *a = json_object_is_type(o, json_type_array) ? o : NULL;
        for (size_t i = 0; sj_next(j); i++) {
            sj_val e;
            size_t cut = path_push(w, "[%zu]", i);
            if (!sj_value(j, &e) ||
                !mark_dups(j, &e, a && i < json_object_array_length(a) ? json_object_array_get_idx(a, i) : NULL, w))
                return false;
            w->path[cut] = '\0';
        }
        return !j->err;
    }
    if (v->type != SJ_OBJECT)
        return true;
    json_object *obj = json_object_is_type(o, json_type_object) ? o : NULL;
    json_object *seen = obj ? json_object_new_object() : NULL; /* the keys read so far, as a set */
    sj_val k, e;
    bool ok = true;
    while (ok && sj_member(j, &k)) {
        char small[128], *key = k.len < sizeof small ? small : malloc(k.len + 1);
        ok = key && sj_value(j, &e);
        if (ok) {
            key[sj_decode(&k, key)] = '\0';
            json_object *m = NULL;
            if (seen && json_object_object_get_ex(seen, key, NULL)) {
                json_object *kept = NULL;
                json_object_object_get_ex(obj, key, &kept);
                if (!w->found && (e.type == SJ_OBJECT || e.type == SJ_ARRAY || json_object_is_type(kept, json_type_object) ||
                                  json_object_is_type(kept, json_type_array))) {
                    w->found = true;
                    snprintf(w->key, sizeof w->key, "%.60s", key);
                    snprintf(w->at, sizeof w->at, "%s", w->path);
                }
                json_object *mark = json_object_new_string("duplicate key");
                if (mark) {
                    json_object_set_userdata(mark, &dup_mark, NULL);
                    json_object_object_add(obj, key, mark);
                }
            } else {
                if (seen)
                    json_object_object_add(seen, key, NULL);
                if (obj)
                    json_object_object_get_ex(obj, key, &m);
            }
            size_t cut = path_push(w, ".%s", key);
            ok = mark_dups(j, &e, is_dup(m) ? NULL : m, w);
            w->path[cut] = '\0';
        }
        if (key != small)
            free(key);
    }
    json_object_put(seen);
    return ok && !j->err;
}

json_object *su_parse(cp_ctx *ctx, const char *endpoint, const cp_http_response *r)
{
    if (!r->body || r->body_len == 0 || r->body_len > INT_MAX) {
        cp_log_error(ctx, "%s: empty response body (HTTP %ld)", endpoint, r->code);
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || err != json_tokener_success) {
        cp_log_error(ctx, "%s: malformed or truncated JSON (%zu bytes, HTTP %ld): %s; response ignored", endpoint,
                     r->body_len, r->code,
                     err == json_tokener_continue ? "unexpected end of body" : json_tokener_error_desc(err));
        json_object_put(o);
        return NULL;
    }
    for (size_t i = used; i < r->body_len; i++) {
        if (!isspace((unsigned char)r->body[i])) {
            cp_log_error(ctx, "%s: trailing data after the JSON value at byte %zu; response ignored", endpoint, i);
            json_object_put(o);
            return NULL;
        }
    }
    sj j;
    sj_val v;
    dup_walk w = {.path = "$"};
    sj_init(&j, r->body, r->body_len);
    if (sj_value(&j, &v))
        mark_dups(&j, &v, o, &w);
    if (w.found) { /* which of the two is the data? neither is taken */
        cp_log_error(ctx, "%s: duplicate key '%s' in the object at %s; response ignored", endpoint, w.key, w.at);
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *su_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v; /* json null is a NULL pointer in json-c */
}

sj_val su_jval(json_object *o)
{
    sj_val v = {.type = SJ_NONE};
    if (is_dup(o)) {
        v.type = SJ_STRING, v.dup = true;
        v.p = json_object_get_string(o);
        v.len = strlen(v.p);
        return v;
    }
    switch (o ? json_object_get_type(o) : json_type_null) {
    case json_type_null: break;
    case json_type_boolean: v.type = json_object_get_boolean(o) ? SJ_TRUE : SJ_FALSE; break;
    case json_type_object: v.type = SJ_OBJECT; break;
    case json_type_array: v.type = SJ_ARRAY; break;
    case json_type_string:
        v.type = SJ_STRING;
        v.p = json_object_get_string(o);
        v.len = (size_t)json_object_get_string_len(o);
        break;
    case json_type_double: /* json-c keeps the original token text of a double */
    case json_type_int:
        v.type = SJ_NUMBER;
        v.p = json_object_get_string(o);
        v.len = v.p ? strlen(v.p) : 0;
        v.integer = json_object_is_type(o, json_type_int);
        v.lossy = v.integer && (json_object_get_int64(o) == INT64_MIN || json_object_get_uint64(o) == UINT64_MAX);
        if (!v.p)
            v.type = SJ_NONE;
        break;
    }
    return v;
}

bool su_json_begin(cp_ctx *ctx, const char *endpoint, const cp_http_response *r, sj *j, sj_val *v)
{
    if (!r->body || r->body_len == 0) {
        cp_log_error(ctx, "%s: empty response body (HTTP %ld)", endpoint, r->code);
        return false;
    }
    sj_init(j, r->body, r->body_len);
    if (sj_value(j, v))
        return true;
    su_json_error(ctx, endpoint, r, j);
    return false;
}

cp_status su_json_error(cp_ctx *ctx, const char *endpoint, const cp_http_response *r, const sj *j)
{
    if (j->err && strcmp(j->err, "trailing data") == 0)
        cp_log_error(ctx, "%s: trailing data after the JSON value at byte %zu; response ignored", endpoint, j->err_at);
    else
        cp_log_error(ctx, "%s: malformed or truncated JSON (%zu bytes, HTTP %ld): %s; response ignored", endpoint,
                     r->body_len, r->code,
                     !j->err || strcmp(j->err, "unexpected end of data") == 0 ? "unexpected end of body" : j->err);
    return CP_ERR_PARSE;
}

su_row su_row_add(cp_ctx *ctx, cp_batch *b)
{
    su_row r = {ctx, b, 0, true, NULL, NULL};
    r.row = cp_batch_add_row(ctx, b);
    if (r.row == SIZE_MAX) {
        r.ok = false;
        r.bad = "(out of memory)";
    }
    return r;
}

static void refuse_value(su_row *r, const char *field, const char *why)
{
    if (r->ok) {
        r->ok = false;
        r->bad = field;
        r->why = why;
    }
}

static void fail(su_row *r, const char *field) { refuse_value(r, field, NULL); }

/* A repeated key: refused whatever the column (which of the values is meant is unknowable). */
static bool duplicate(su_row *r, const sj_val *v, const char *field)
{
    if (v->dup)
        refuse_value(r, field, "duplicate key");
    return v->dup;
}

void su_bad_element(cp_ctx *ctx, const char *endpoint, const char *symbol, const char *field, const char *why)
{
    cp_log_error(ctx, "%s %s: field '%s': %s; row dropped, the response's other rows are kept", endpoint,
                 symbol ? symbol : "-", field ? field : "?", why ? why : "unexpected value");
    cp_stream_count(ctx, CP_ROWS_INVALID, 1);
}

void su_row_drop(su_row *r, const char *endpoint, const char *symbol)
{
    su_bad_element(r->ctx, endpoint, symbol, r->bad, r->why);
    if (r->row != SIZE_MAX)
        su_truncate(r->ctx, r->b, r->row);
}

/* The text of a STRING (escapes resolved) or NUMBER: in place when it has no escapes, else
 * decoded into buf or, when longer, the heap. */
typedef struct su_text {
    const char *p;
    size_t len;
    char *heap;
    char buf[128];
} su_text;

static bool text_of(const sj_val *v, su_text *t)
{
    t->heap = NULL;
    if (v->type != SJ_STRING || !v->esc) {
        t->p = v->p;
        t->len = v->len;
        return true;
    }
    char *out = v->len <= sizeof t->buf ? t->buf : (t->heap = malloc(v->len));
    if (!out)
        return false;
    t->len = sj_decode(v, out);
    t->p = out;
    return true;
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (*end || errno)
        return false;
    *out = x;
    return true;
}

void su_vrequire(su_row *r, const sj_val *v, const char *field)
{
    if (v->type == SJ_NONE || v->type == SJ_NULL)
        refuse_value(r, field, "missing");
}

/* A decimal text of at most 24 characters without an exponent is below 10^24: its double is
 * finite, no need to ask (the usual price or quantity, checked without a host call). */
static bool short_plain(const char *p, size_t len)
{
    return len <= 24 && !memchr(p, 'e', len) && !memchr(p, 'E', len);
}

void su_vdec(su_row *r, size_t col, const sj_val *v, const char *field)
{
    if (!r->ok || duplicate(r, v, field) || v->type == SJ_NONE || v->type == SJ_NULL ||
        (v->type == SJ_STRING && v->len == 0))
        return;
    if (v->type == SJ_NUMBER && v->lossy) { /* json-c saturated it: its digits are gone */
        refuse_value(r, field, "integer out of range");
        return;
    }
    if (v->type != SJ_NUMBER && v->type != SJ_STRING) {
        fail(r, field); /* a boolean, object or array where a number belongs */
        return;
    }
    if (v->type == SJ_STRING && v->esc && v->len > 64 * 6) {
        fail(r, field); /* more than 64 characters even if each was escaped: no decimal */
        return;
    }
    su_text t;
    if (!text_of(v, &t))
        fail(r, field);
    else if (cp_batch_set_decimal(r->ctx, r->b, r->row, col, t.p, t.len) != CP_OK ||
             (!short_plain(t.p, t.len) && /* "1e400": decimal text, no double */
              !isfinite(cp_batch_get_double(r->ctx, r->b, r->row, col))))
        refuse_value(r, field, "not a finite decimal number"); /* "NaN", "1e400", "12abc" */
    free(t.heap);
}

void su_vint(su_row *r, size_t col, const sj_val *v, const char *field)
{
    if (!r->ok || duplicate(r, v, field) || v->type == SJ_NONE || v->type == SJ_NULL)
        return;
    int64_t x = 0;
    bool ok = false;
    if (v->type == SJ_NUMBER) {
        ok = sj_int(v, &x) && x != INT64_MIN && x != INT64_MAX; /* the extremes are what saturation gives */
    } else if (v->type == SJ_STRING) { /* strtoll's rules, up to a NUL */
        su_text t;
        char buf[64], *z = NULL;
        if (text_of(v, &t)) {
            z = t.len < sizeof buf ? buf : malloc(t.len + 1);
            if (z) {
                memcpy(z, t.p, t.len);
                z[t.len] = 0;
                ok = parse_i64(z, &x);
            }
        }
        if (z != buf)
            free(z);
        free(t.heap);
    }
    if (!ok && (v->type == SJ_NUMBER || v->type == SJ_STRING))
        refuse_value(r, field, v->type == SJ_NUMBER && v->integer ? "integer out of range" : "not an integer");
    else if (!ok || cp_batch_set_int(r->ctx, r->b, r->row, col, x) != CP_OK)
        fail(r, field);
}

void su_vstr(su_row *r, size_t col, const sj_val *v, const char *field)
{
    if (!r->ok || duplicate(r, v, field) || v->type == SJ_NONE || v->type == SJ_NULL)
        return;
    su_text t;
    if ((v->type != SJ_STRING && (v->type != SJ_NUMBER || !v->integer)) || !text_of(v, &t)) {
        fail(r, field);
        return;
    }
    const char *nul = memchr(t.p, 0, t.len);
    if (cp_batch_set_string(r->ctx, r->b, r->row, col, t.p, nul ? (size_t)(nul - t.p) : t.len) != CP_OK)
        fail(r, field);
    free(t.heap);
}

/* A member su_parse marked as a repeated key: refused, named. */
static bool refuse_dup(su_row *r, json_object *v, const char *field)
{
    if (is_dup(v))
        refuse_value(r, field, "duplicate key");
    return is_dup(v);
}

void su_require(su_row *r, json_object *v, const char *field)
{
    if (!refuse_dup(r, v, field) && !v)
        fail(r, field);
}

void su_dec(su_row *r, size_t col, json_object *v, const char *field)
{
    sj_val x = su_jval(v);
    su_vdec(r, col, &x, field);
}

void su_int(su_row *r, size_t col, json_object *v, const char *field)
{
    sj_val x = su_jval(v);
    su_vint(r, col, &x, field);
}

void su_unix_s(su_row *r, size_t col, json_object *v, const char *field)
{
    if (!r->ok || !v || refuse_dup(r, v, field))
        return;
    int64_t s = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
    if (s < 0 || s > INT64_MAX / 1000 || cp_batch_set_int(r->ctx, r->b, r->row, col, s * 1000) != CP_OK)
        fail(r, field);
}

void su_iso_ts(su_row *r, size_t col, json_object *v, const char *field)
{
    if (!r->ok || !v || refuse_dup(r, v, field))
        return;
    int64_t ms = json_object_is_type(v, json_type_string) ? cp_utc_parse_iso8601(json_object_get_string(v)) : -1;
    if (ms < 0 || cp_batch_set_int(r->ctx, r->b, r->row, col, ms) != CP_OK)
        fail(r, field);
}

void su_str(su_row *r, size_t col, json_object *v, const char *field)
{
    sj_val x = su_jval(v);
    su_vstr(r, col, &x, field);
}

void su_cstr(su_row *r, size_t col, const char *s)
{
    if (r->ok && s && cp_batch_set_string(r->ctx, r->b, r->row, col, s, strlen(s)) != CP_OK)
        fail(r, "(string)");
}

void su_i64(su_row *r, size_t col, int64_t v)
{
    if (r->ok && cp_batch_set_int(r->ctx, r->b, r->row, col, v) != CP_OK)
        fail(r, "(int)");
}

su_level *su_levels_json(json_object *side, size_t max, size_t *n)
{
    *n = json_object_is_type(side, json_type_array) ? json_object_array_length(side) : 0;
    size_t k = *n < max ? *n : max;
    su_level *lv = calloc(k ? k : 1, sizeof *lv);
    for (size_t i = 0; lv && i < k; i++) {
        json_object *l = json_object_array_get_idx(side, i), *p = NULL, *q = NULL;
        if (json_object_is_type(l, json_type_array) && json_object_array_length(l) >= 2)
            p = json_object_array_get_idx(l, 0), q = json_object_array_get_idx(l, 1);
        lv[i] = (su_level){su_jval(p), su_jval(q), p && q};
    }
    return lv;
}

bool su_book_rows(cp_ctx *ctx, const su_book *bk, size_t levels, cp_batch *top, cp_batch *lvl, const char **bad)
{
    size_t nb = bk->nb, na = bk->na;
    su_row r = {.ok = true};
    if (top) {
        r = su_row_add(ctx, top);
        su_cstr(&r, CP_BOOK_TOP_EXCHANGE, bk->exchange);
        su_cstr(&r, CP_BOOK_TOP_SYMBOL, bk->symbol);
        su_cstr(&r, CP_BOOK_TOP_NATIVE_SYMBOL, bk->native ? bk->native : bk->symbol);
        su_i64(&r, CP_BOOK_TOP_TS, bk->ts);
        su_i64(&r, CP_BOOK_TOP_RECEIVED_AT, bk->received_at);
        su_vint(&r, CP_BOOK_TOP_SEQUENCE, &bk->sequence, "sequence");
        if (nb && !bk->bids[0].ok)
            fail(&r, "bids[0]");
        else if (nb)
            su_vdec(&r, CP_BOOK_TOP_BID, &bk->bids[0].price, "bids[0][0]"),
                su_vdec(&r, CP_BOOK_TOP_BID_SIZE, &bk->bids[0].size, "bids[0][1]");
        if (na && !bk->asks[0].ok)
            fail(&r, "asks[0]");
        else if (na)
            su_vdec(&r, CP_BOOK_TOP_ASK, &bk->asks[0].price, "asks[0][0]"),
                su_vdec(&r, CP_BOOK_TOP_ASK_SIZE, &bk->asks[0].size, "asks[0][1]");
        su_i64(&r, CP_BOOK_TOP_LEVELS, (int64_t)(nb > na ? nb : na));
    }
    for (int side = 0; lvl && r.ok && side < 2; side++) {
        const su_level *arr = side ? bk->asks : bk->bids;
        size_t cnt = side ? na : nb;
        for (size_t i = 0; i < cnt && i < levels && r.ok; i++) {
            if (!arr[i].ok) {
                fail(&r, side ? "asks" : "bids");
                break;
            }
            r = su_row_add(ctx, lvl);
            su_cstr(&r, CP_BOOK_LEVEL_EXCHANGE, bk->exchange);
            su_cstr(&r, CP_BOOK_LEVEL_SYMBOL, bk->symbol);
            su_i64(&r, CP_BOOK_LEVEL_TS, bk->ts);
            su_vint(&r, CP_BOOK_LEVEL_SEQUENCE, &bk->sequence, "sequence");
            su_cstr(&r, CP_BOOK_LEVEL_SIDE, side ? "ask" : "bid");
            su_i64(&r, CP_BOOK_LEVEL_LEVEL, (int64_t)i);
            su_vdec(&r, CP_BOOK_LEVEL_PRICE, &arr[i].price, "price");
            su_vdec(&r, CP_BOOK_LEVEL_SIZE, &arr[i].size, "size");
        }
    }
    *bad = r.bad;
    return r.ok;
}

su_row su_ohlcv_row(cp_ctx *ctx, cp_batch *out, const char *exchange, const char *symbol, const char *native,
                    const char *interval, int64_t open_time, int64_t close_time, int64_t received_at)
{
    su_row r = su_row_add(ctx, out);
    su_cstr(&r, CP_OHLCV_EXCHANGE, exchange);
    su_cstr(&r, CP_OHLCV_SYMBOL, symbol);
    su_cstr(&r, CP_OHLCV_NATIVE_SYMBOL, native ? native : symbol);
    su_cstr(&r, CP_OHLCV_INTERVAL, interval);
    su_i64(&r, CP_OHLCV_OPEN_TIME, open_time);
    su_i64(&r, CP_OHLCV_CLOSE_TIME, close_time);
    su_i64(&r, CP_OHLCV_RECEIVED_AT, received_at);
    return r;
}

void su_raw_add(cp_ctx *ctx, cp_batch **raw, const char *source, const char *endpoint, const char *url,
                const cp_http_response *r)
{
    if (r->status != CP_OK)
        return;
    if (!*raw && !(*raw = cp_batch_new(ctx, &cp_raw_schema, 8))) {
        cp_log_error(ctx, "archive_raw: out of memory; the %s response is not archived", endpoint);
        return;
    }
    su_row w = su_row_add(ctx, *raw);
    su_cstr(&w, CP_RAW_SOURCE, source);
    su_cstr(&w, CP_RAW_URL, url);
    su_i64(&w, CP_RAW_RECEIVED_AT, r->received_at);
    su_cstr(&w, CP_RAW_ENDPOINT, endpoint);
    su_i64(&w, CP_RAW_STATUS, r->code);
    if (w.ok && cp_batch_set_string(ctx, *raw, w.row, CP_RAW_BODY, r->body ? r->body : "", r->body_len) != CP_OK)
        w.ok = false;
    if (!w.ok) {
        cp_batch_drop_last_row(ctx, *raw);
        cp_log_error(ctx, "archive_raw: out of memory; the %s response is not archived", endpoint);
    }
}

void su_truncate(cp_ctx *ctx, cp_batch *b, size_t nrows)
{
    while (b && cp_batch_rows(ctx, b) > nrows)
        cp_batch_drop_last_row(ctx, b);
}

/* copies row `from` of b over row `to`, cell by cell; a text is copied out of the batch first, as
 * setting a cell may move the batch's text storage */
static bool row_copy(cp_ctx *ctx, cp_batch *b, size_t from, size_t to)
{
    const cp_schema *s = cp_batch_schema(ctx, b);
    bool ok = true;
    for (size_t c = 0; c < s->nfields && ok; c++) {
        size_t len = 0;
        const char *t;
        char buf[256], *heap = NULL;
        cp_type type = cp_schema_field(s, c)->type;
        if ((type == CP_T_DECIMAL || type == CP_T_STRING) && (t = cp_batch_get_text(ctx, b, from, c, &len))) {
            if (len >= sizeof buf && !(heap = malloc(len + 1)))
                return false;
            t = memcpy(heap ? heap : buf, t, len);
            ok = (type == CP_T_DECIMAL ? cp_batch_set_decimal(ctx, b, to, c, t, len)
                                       : cp_batch_set_string(ctx, b, to, c, t, len)) == CP_OK;
            free(heap);
            continue;
        }
        if (cp_batch_is_null(ctx, b, from, c)) {
            ok = cp_batch_set_null(ctx, b, to, c) == CP_OK;
            continue;
        }
        switch (cp_schema_field(s, c)->type) {
        case CP_T_INT64:
        case CP_T_TIMESTAMP: ok = cp_batch_set_int(ctx, b, to, c, cp_batch_get_int(ctx, b, from, c)) == CP_OK; break;
        case CP_T_DOUBLE: ok = cp_batch_set_double(ctx, b, to, c, cp_batch_get_double(ctx, b, from, c)) == CP_OK; break;
        case CP_T_BOOL: ok = cp_batch_set_bool(ctx, b, to, c, cp_batch_get_bool(ctx, b, from, c)) == CP_OK; break;
        default: ok = false; break; /* a text that is neither NULL nor readable */
        }
    }
    return ok;
}

bool su_keep_last(cp_ctx *ctx, cp_batch *b, size_t sym_col, size_t ts_col, size_t *last)
{
    size_t n = cp_batch_rows(ctx, b);
    if (!n)
        return true;
    size_t row = n - 1, prev = *last;
    if (prev < row && cp_batch_get_int(ctx, b, prev, ts_col) == cp_batch_get_int(ctx, b, row, ts_col)) {
        const char *a = cp_batch_get_text(ctx, b, prev, sym_col, NULL);
        const char *z = cp_batch_get_text(ctx, b, row, sym_col, NULL);
        if (a && z && !strcmp(a, z)) {
            bool ok = row_copy(ctx, b, row, prev);
            cp_batch_drop_last_row(ctx, b);
            return ok;
        }
    }
    *last = row;
    return true;
}

cp_status su_emit(cp_ctx *ctx, cp_batch *b)
{
    if (!b)
        return CP_OK;
    if (cp_batch_rows(ctx, b) == 0) {
        cp_batch_free(ctx, b);
        return CP_OK;
    }
    return cp_emit(ctx, b);
}

int64_t su_interval_ms(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    long n = strtol(s, &end, 10);
    if (n <= 0 || end == s || end[0] == 0 || end[1] != 0)
        return -1;
    switch (end[0]) {
    case 's': return n * 1000LL;
    case 'm': return n * 60000LL;
    case 'h': return n * 3600000LL;
    case 'd': return n * 86400000LL;
    case 'w': return n * 7 * 86400000LL;
    default: return -1;
    }
}

char *su_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = 0;
    return out;
}

void su_url_host(const char *url, char *buf, size_t len)
{
    buf[0] = 0;
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p || !len)
        return;
    p += 3;
    const char *at = p;
    while (*at && *at != '/' && *at != '@')
        at++;
    if (*at == '@')
        p = at + 1;
    size_t n = 0;
    if (*p == '[') { /* IPv6 literal */
        p++;
        while (p[n] && p[n] != ']')
            n++;
    } else {
        while (p[n] && p[n] != '/' && p[n] != ':' && p[n] != '?')
            n++;
    }
    if (n >= len)
        n = len - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
}

bool su_state_get_i64(cp_ctx *ctx, const char *key, int64_t *v)
{
    char *s = NULL;
    if (cp_state_get(ctx, key, &s) != CP_OK)
        return false;
    bool ok = parse_i64(s, v);
    cp_free(ctx, s);
    return ok;
}

cp_status su_state_set_i64(cp_ctx *ctx, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cp_state_set(ctx, key, buf);
}

bool su_list_has(const cp_strlist *l, const char *name)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->v[i], name) == 0)
            return true;
    return false;
}

static void join_words(cp_buf *b, const char *const *words, const char *sep)
{
    for (size_t k = 0; words[k]; k++)
        cp_buf_printf(b, "%s%s", k ? sep : "", words[k]);
}

bool su_check_streams(cp_check *chk, const cp_strlist *streams, const char *const *supported,
                      const char *const *hints)
{
    bool ok = true;
    for (size_t i = 0; streams && i < streams->n; i++) {
        const char *name = streams->v[i];
        size_t k = 0, best_d = 3;
        const char *best = NULL;
        for (; supported[k] && strcmp(supported[k], name) != 0; k++) {
            size_t d = cp_edit_distance(name, supported[k]);
            if (d < best_d) {
                best_d = d;
                best = supported[k];
            }
        }
        if (supported[k])
            continue;
        const char *hint = NULL;
        for (size_t h = 0; hints && hints[h] && hints[h + 1]; h += 2)
            if (strcmp(hints[h], name) == 0)
                hint = hints[h + 1];
        cp_buf list = {0};
        join_words(&list, supported, ", ");
        char more[256] = "";
        if (hint)
            snprintf(more, sizeof more, "; %s", hint);
        else if (best)
            snprintf(more, sizeof more, "; did you mean \"%s\"?", best);
        cp_check_error(chk, "streams", "unknown stream \"%s\" (this source collects: %s)%s", name,
                       list.p ? list.p : "", more);
        cp_buf_free(&list);
        ok = false;
    }
    return ok;
}

bool su_check_interval(cp_check *chk, const char *interval, const char *const *allowed, const char *exchange,
                       const char *granularity)
{
    const char *iv = interval ? interval : "";
    int64_t ms = su_interval_ms(iv);
    const char *same = NULL;
    for (size_t k = 0; allowed[k]; k++) {
        if (strcmp(allowed[k], iv) == 0)
            return true;
        if (ms > 0 && su_interval_ms(allowed[k]) == ms)
            same = allowed[k];
    }
    cp_buf list = {0};
    join_words(&list, allowed, " ");
    char more[128] = "";
    if (same)
        snprintf(more, sizeof more, "; write \"%s\" for this length", same);
    cp_check_error(chk, "kline_interval", "\"%s\" is not a %s candle interval (allowed: %s%s%s)%s", iv, exchange,
                   list.p ? list.p : "", granularity ? "; " : "", granularity ? granularity : "", more);
    cp_buf_free(&list);
    return false;
}

bool su_check_url(cp_check *chk, const char *option, const char *url)
{
    char host[256];
    su_url_host(url, host, sizeof host);
    if (host[0])
        return true;
    cp_check_error(chk, option, "\"%s\" is not an absolute URL such as \"https://api.example.com\"", url ? url : "");
    return false;
}


/* logs each stream of `streams` not in `supported`; false when there is one */
static bool streams_valid(cp_ctx *ctx, const cp_strlist *streams, const char *const *supported)
{
    bool ok = true;
    for (size_t i = 0; streams && i < streams->n; i++) {
        size_t k = 0;
        while (supported[k] && strcmp(supported[k], streams->v[i]) != 0)
            k++;
        if (!supported[k]) {
            cp_buf list = {0};
            for (k = 0; supported[k]; k++)
                cp_buf_printf(&list, "%s%s", k ? ", " : "", supported[k]);
            cp_log_error(ctx, "streams: unknown stream \"%s\" (this source collects: %s)", streams->v[i],
                         list.p ? list.p : "");
            cp_buf_free(&list);
            ok = false;
        }
    }
    return ok;
}

cp_status su_schemas(cp_ctx *ctx, const cp_strlist *streams, const char *const *supported, cp_schema_fn fn,
                     void *user)
{
    return su_schemas_raw(ctx, streams, supported, false, fn, user);
}

cp_status su_schemas_raw(cp_ctx *ctx, const cp_strlist *streams, const char *const *supported, bool archive_raw,
                         cp_schema_fn fn, void *user)
{
    if (!streams_valid(ctx, streams, supported))
        return CP_ERR_CONFIG;
    for (size_t i = 0; streams && i < streams->n; i++) {
        const cp_schema *s = cp_stream_find(streams->v[i]);
        if (s && !fn(user, s))
            return CP_OK;
    }
    if (archive_raw)
        fn(user, &cp_raw_schema);
    return CP_OK;
}

void su_reqs_free(cp_ctx *ctx, su_reqs *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->urls[i]);
        if (q->s)
            cp_http_response_clear(ctx, &q->s[i]);
    }
    free(q->r);
    free(q->h);
    free(q->s);
    free(q->urls);
    memset(q, 0, sizeof *q);
}

void su_error_json(const char *body, size_t len, char *out, size_t outlen, const char *const *paths)
{
    out[0] = 0;
    if (!body || !len)
        return;
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, body, (int)(len > INT_MAX ? INT_MAX : len)) : NULL;
    if (tok)
        json_tokener_free(tok);
    if (o && json_object_is_type(o, json_type_object)) {
        for (size_t i = 0; paths[i]; i++) {
            const char *dot = strchr(paths[i], '.');
            json_object *m = NULL, *parent = o;
            if (dot) {
                char first[64];
                snprintf(first, sizeof first, "%.*s", (int)(dot - paths[i]), paths[i]);
                if (!json_object_object_get_ex(o, first, &parent) || !json_object_is_type(parent, json_type_object))
                    continue;
            }
            if (!json_object_object_get_ex(parent, dot ? dot + 1 : paths[i], &m))
                continue;
            const char *s = json_object_is_type(m, json_type_string) ? json_object_get_string(m)
                                                                     : json_object_to_json_string(m);
            json_object *c = NULL;
            if (json_object_object_get_ex(o, "code", &c))
                snprintf(out, outlen, "%s (code %s)", s, json_object_get_string(c));
            else
                snprintf(out, outlen, "%s", s);
            break;
        }
    }
    if (o)
        json_object_put(o);
}

static void (*g_error_format)(const char *, size_t, char *, size_t);

void su_reqs_error_format(void (*fn)(const char *body, size_t len, char *out, size_t outlen)) { g_error_format = fn; }

bool su_reqs_add(su_reqs *q, su_req r, unsigned weight, cp_buf *url)
{
    if (url->oom || !url->p)
        return false;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        su_req *nr = realloc(q->r, cap * sizeof *nr);
        if (nr)
            q->r = nr;
        cp_http_request *nh = realloc(q->h, cap * sizeof *nh);
        if (nh)
            q->h = nh;
        char **nu = realloc(q->urls, cap * sizeof *nu);
        if (nu)
            q->urls = nu;
        if (!nr || !nh || !nu)
            return false;
        q->cap = cap;
    }
    q->r[q->n] = r;
    q->urls[q->n] = url->p;
    q->h[q->n] = CP_HTTP_REQUEST(.url = url->p, .weight = weight, .error_message = g_error_format);
    memset(url, 0, sizeof *url);
    q->n++;
    return true;
}

bool su_reqs_perform(cp_ctx *ctx, su_reqs *q)
{
    q->s = calloc(q->n ? q->n : 1, sizeof *q->s);
    if (!q->s)
        return false;
    cp_http_perform(ctx, q->h, q->s, q->n);
    return true;
}

/* Responses are handed on in request order: one that finishes early waits (its body kept)
 * until those before it are handed on, unless the waiting bodies pass SU_HOLD_BYTES, when it
 * goes at once. Requests are asked in key order (symbols as configured), so rows leave in key
 * order as much as possible: what databases append fastest, and what a reader expects. */
#define SU_HOLD_BYTES ((size_t)4 << 20)

typedef struct each_call {
    su_reqs *q;
    su_done_fn fn;
    void *user;
    size_t next;    /* the first request not handed on yet */
    size_t held;    /* bytes of bodies waiting */
    uint8_t *state; /* per request: 0 running, 1 final and waiting, 2 handed on */
} each_call;

static void hand_on(each_call *c, size_t i)
{
    if (c->state[i] == 1)
        c->held -= c->q->s[i].body_len;
    c->state[i] = 2;
    c->fn(c->user, c->q, i);
}

static void each_done(void *user, size_t i, cp_http_response *resp)
{
    each_call *c = user;
    c->state[i] = 1;
    c->held += resp->body_len; /* resp == &c->q->s[i] */
    if (i != c->next && c->held > SU_HOLD_BYTES) {
        hand_on(c, i); /* too much waiting behind a slow one: out of order */
        return;
    }
    while (c->next < c->q->n && c->state[c->next] != 0) {
        if (c->state[c->next] == 1)
            hand_on(c, c->next);
        c->next++;
    }
}

bool su_reqs_perform_each(cp_ctx *ctx, su_reqs *q, su_done_fn fn, void *user)
{
    q->s = calloc(q->n ? q->n : 1, sizeof *q->s);
    uint8_t *state = calloc(q->n ? q->n : 1, 1);
    if (!q->s || !state) {
        free(state);
        return false;
    }
    each_call c = {q, fn, user, 0, 0, state};
    cp_http_perform_each(ctx, q->h, q->s, q->n, each_done, &c);
    free(state);
    return true;
}

bool su_outs_new(cp_ctx *ctx, su_outs *o, const cp_schema *const *schemas, const bool *want, size_t n,
                 size_t rows_hint)
{
    memset(o, 0, sizeof *o);
    o->schemas = schemas;
    for (size_t i = 0; i < n && i < SU_MAX_STREAMS; i++) {
        o->rows_hint[i] = rows_hint;
        if (want[i] && !(o->b[i] = cp_batch_new(ctx, schemas[i], rows_hint)))
            return false;
    }
    return true;
}

/* Sets the pending checkpoints of `stream` (all when SIZE_MAX) and forgets them. */
static void set_pending(cp_ctx *ctx, su_outs *o, size_t stream)
{
    size_t k = 0;
    for (size_t i = 0; i < o->npend; i++) {
        su_pending *p = &o->pend[i];
        if (stream != SIZE_MAX && p->stream != stream) {
            o->pend[k++] = *p;
            continue;
        }
        if (!o->failed)
            su_state_set_i64(ctx, p->key, p->v);
        free(p->key);
    }
    o->npend = k;
}

cp_status su_outs_flush(cp_ctx *ctx, su_outs *o, size_t min_rows, bool refill)
{
    cp_status ret = CP_OK;
    for (size_t i = 0; i < SU_MAX_STREAMS; i++) {
        size_t rows = o->b[i] ? cp_batch_rows(ctx, o->b[i]) : 0;
        if (!o->b[i] || rows < min_rows)
            continue;
        cp_status st = su_emit(ctx, o->b[i]);
        o->b[i] = NULL;
        if (st != CP_OK)
            o->failed = true; /* these rows are lost: no checkpoint may claim them, nor any later */
        o->rows_emitted += rows;
        set_pending(ctx, o, i);
        if (refill) {
            if (rows > o->rows_hint[i])
                o->rows_hint[i] = rows; /* the next chunk of this size needs no reallocation */
            if (!(o->b[i] = cp_batch_new(ctx, o->schemas[i], o->rows_hint[i])) && st == CP_OK)
                st = CP_ERR_NOMEM;
        }
        if (st != CP_OK && ret == CP_OK)
            ret = st;
    }
    return ret;
}

cp_status su_outs_emit(cp_ctx *ctx, su_outs *o)
{
    cp_status ret = su_outs_flush(ctx, o, 0, false);
    set_pending(ctx, o, SIZE_MAX); /* of streams not wanted: nothing waits for them */
    return ret;
}

bool su_outs_checkpoint(cp_ctx *ctx, su_outs *o, size_t stream, const char *key, int64_t v)
{
    if (o->failed)
        return true;
    if (stream >= SU_MAX_STREAMS || !o->b[stream] || cp_batch_rows(ctx, o->b[stream]) == 0) {
        su_state_set_i64(ctx, key, v); /* its rows are all emitted already */
        return true;
    }
    if (o->npend == o->cappend) {
        size_t cap = o->cappend ? o->cappend * 2 : 64;
        su_pending *p = realloc(o->pend, cap * sizeof *p);
        if (!p)
            return false;
        o->pend = p;
        o->cappend = cap;
    }
    size_t len = strlen(key) + 1;
    char *k = malloc(len);
    if (!k)
        return false;
    memcpy(k, key, len);
    o->pend[o->npend++] = (su_pending){stream, k, v};
    return true;
}

void su_outs_free(cp_ctx *ctx, su_outs *o)
{
    for (size_t i = 0; i < SU_MAX_STREAMS; i++)
        cp_batch_free(ctx, o->b[i]);
    for (size_t i = 0; i < o->npend; i++)
        free(o->pend[i].key);
    free(o->pend);
    memset(o, 0, sizeof *o);
}

int64_t su_reconnect_wait(int64_t *backoff, bool lived)
{
    *backoff = lived || *backoff == 0 ? 250 : *backoff * 2;
    if (*backoff > 30000)
        *backoff = 30000;
    return *backoff / 2 + (int64_t)(rand() % (int)(*backoff / 2 + 1));
}
