/* Persistent key-value state per plugin instance (checkpoints), one small file each.
 * SPDX-License-Identifier: MIT
 *
 * File: <state_dir>/state/<pipeline>/<instance>.kv, lines "key=value" with '%', '=', CR and
 * LF percent-encoded. Every set rewrites the file atomically (tmp + fsync + rename), so a
 * crash leaves either the old or the new version, never a torn one.
 */
#include "log.h"
#include "state.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct core_state {
    pthread_mutex_t lock;
    bool deferred, dirty; /* deferred: persisted by core_state_flush, not by every set */
    bool frozen;          /* core_state_freeze: nothing is persisted any more */
    char *dir, *path;
    size_t n;
    char **keys, **vals;
};

static void encode(cp_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '%' || c == '=' || c == '\n' || c == '\r')
            cp_buf_printf(b, "%%%02X", c);
        else
            cp_buf_putc(b, (char)c);
    }
}

static char *decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end == '\0' && hex[1]) {
                *o++ = (char)v;
                i += 2;
                continue;
            }
        }
        *o++ = s[i];
    }
    *o = '\0';
    return out;
}

/* Appends a key and value it takes ownership of (NULL: an allocation failed). False, both
 * freed, when either is NULL or the arrays cannot grow. */
static bool push(core_state *s, char *key, char *value)
{
    char **k = key && value ? realloc(s->keys, (s->n + 1) * sizeof *k) : NULL;
    if (k)
        s->keys = k;
    char **v = k ? realloc(s->vals, (s->n + 1) * sizeof *v) : NULL;
    if (v)
        s->vals = v;
    if (!k || !v) {
        free(key);
        free(value);
        return false;
    }
    s->keys[s->n] = key;
    s->vals[s->n] = value;
    s->n++;
    return true;
}

core_state *core_state_open(const char *state_dir, const char *pipeline, const char *instance)
{
    core_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    cp_buf d = {0};
    cp_buf_printf(&d, "%s/state/", state_dir ? state_dir : ".");
    core_util_path_component(&d, pipeline ? pipeline : "_");
    cp_buf p = {0};
    cp_buf_put(&p, d.p, d.len);
    cp_buf_putc(&p, '/');
    core_util_path_component(&p, instance ? instance : "_");
    cp_buf_puts(&p, ".kv");
    if (d.oom || p.oom) {
        cp_buf_free(&d);
        cp_buf_free(&p);
        core_state_close(s);
        return NULL;
    }
    s->dir = d.p;
    s->path = p.p;
    size_t len;
    char *text = core_util_read_file(s->path, &len);
    if (text) {
        char *line = text, *nl;
        for (; *line; line = nl ? nl + 1 : line + strlen(line)) {
            nl = strchr(line, '\n');
            size_t ll = nl ? (size_t)(nl - line) : strlen(line);
            char *eq = memchr(line, '=', ll);
            if (!eq)
                continue;
            if (!push(s, decode(line, (size_t)(eq - line)), decode(eq + 1, ll - (size_t)(eq - line) - 1)))
                break;
            if (!nl)
                break;
        }
        free(text);
    }
    return s;
}

void core_state_close(core_state *s)
{
    if (!s)
        return;
    core_state_flush(s);
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->vals[i]);
    }
    free(s->keys);
    free(s->vals);
    free(s->dir);
    free(s->path);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

cp_status core_state_get(core_state *s, const char *key, char **value)
{
    if (!s || !key || !value)
        return CP_ERR_INVALID;
    *value = NULL;
    cp_status st = CP_ERR_NOT_FOUND;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0) {
            *value = strdup(s->vals[i]);
            st = *value ? CP_OK : CP_ERR_NOMEM;
            break;
        }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static cp_status persist(core_state *s)
{
    cp_buf b = {0};
    for (size_t i = 0; i < s->n; i++) {
        encode(&b, s->keys[i]);
        cp_buf_putc(&b, '=');
        encode(&b, s->vals[i]);
        cp_buf_putc(&b, '\n');
    }
    if (b.oom) {
        cp_buf_free(&b);
        return CP_ERR_NOMEM;
    }
    cp_status st = CP_OK;
    if (core_util_mkdirs(s->dir, 0750) != 0 || core_util_write_file_atomic(s->path, b.p ? b.p : "", b.len) != 0) {
        LOG_ERROR("cannot write state file %s: %s", s->path, strerror(errno));
        st = CP_ERR_IO;
    }
    cp_buf_free(&b);
    return st;
}

cp_status core_state_set(core_state *s, const char *key, const char *value)
{
    if (!s || !key || !*key)
        return CP_ERR_INVALID;
    pthread_mutex_lock(&s->lock);
    size_t i;
    for (i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0)
            break;
    cp_status st = CP_OK;
    if (!value) {
        if (i < s->n) {
            free(s->keys[i]);
            free(s->vals[i]);
            s->keys[i] = s->keys[s->n - 1];
            s->vals[i] = s->vals[s->n - 1];
            s->n--;
        }
    } else if (i < s->n) {
        char *v = strdup(value);
        if (!v)
            st = CP_ERR_NOMEM;
        else {
            free(s->vals[i]);
            s->vals[i] = v;
        }
    } else {
        if (!push(s, strdup(key), strdup(value)))
            st = CP_ERR_NOMEM;
    }
    if (st == CP_OK && (s->deferred || s->frozen))
        s->dirty = true;
    else if (st == CP_OK)
        st = persist(s);
    pthread_mutex_unlock(&s->lock);
    return st;
}

void core_state_defer(core_state *s)
{
    if (s)
        s->deferred = true;
}

cp_status core_state_flush(core_state *s)
{
    if (!s)
        return CP_OK;
    pthread_mutex_lock(&s->lock);
    cp_status st = s->dirty && !s->frozen ? persist(s) : CP_OK;
    if (st == CP_OK)
        s->dirty = false;
    pthread_mutex_unlock(&s->lock);
    return st;
}

void core_state_freeze(core_state *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->frozen = true;
    s->dirty = false;
    pthread_mutex_unlock(&s->lock);
}
