/* The latest-rows table: the newest row per stream and series, kept as batches pass on their
 * way to the sinks. The dashboard's live view and alert rules that compare pipelines read it.
 * SPDX-License-Identifier: MIT
 *
 * What a row is keyed by (its series): the stream and the stream's text key columns except
 * `trade_id` (one value per trade, not a series), e.g. ticker → (exchange, symbol), ohlcv →
 * (exchange, symbol, interval), market → (source, coin_id, vs_currency). The newest row is the
 * one with the greatest time: the first timestamp key column (`ts`, `open_time`), else the
 * column `ts`; a row with no time replaces the stored one. A backfill's old candles therefore
 * never replace a newer one.
 *
 * Each stored row is one JSON object rendered when it is taken (so reading the table costs a
 * copy, never a conversion): {"pipeline":..., "stream":..., "seq":..., "ts":..., "row":{...}}
 * with decimals as JSON numbers in their exact text, timestamps as UTC milliseconds, NULL as
 * null. `seq` grows with every change of the table, so a reader can ask what changed since
 * the sequence it last saw (core_latest_since: the live event stream polls this).
 *
 * Cost on the data path: one pass over a batch, comparing each row's series with the previous
 * row's (batches come in key order, so a 1,000-candle batch of one symbol renders one row);
 * one hash lookup and one JSON rendering per series per batch. One mutex; readers copy out.
 * Memory: one entry per series ever seen (a few hundred bytes each), until the process ends.
 */
#include "batch.h"
#include "latest.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct lentry {
    char *key;      /* stream \x1f value \x1f value ... */
    char *series;   /* {"stream":..,"exchange":..,"symbol":..,"interval":..}: the fields there are */
    char *json;     /* the rendered row object */
    int64_t ts;     /* INT64_MIN: the row has no time */
    uint64_t seq;
} lentry;

static struct {
    pthread_mutex_t lock;
    lentry *v;      /* open addressing, cap a power of two, key NULL = empty */
    size_t n, cap;
    uint64_t seq;
    cp_schema **schemas; /* a copy of the first schema seen of each stream */
    size_t nschemas;
} L = {.lock = PTHREAD_MUTEX_INITIALIZER};

static cp_schema *schema_copy(const cp_schema *s)
{
    size_t len = sizeof(cp_schema) + s->nfields * sizeof(cp_field) + strlen(s->stream) + 1;
    for (size_t i = 0; i < s->nfields; i++)
        len += strlen(s->fields[i].name) + 1;
    cp_schema *c = malloc(len);
    if (!c)
        return NULL;
    cp_field *f = (cp_field *)(c + 1);
    char *p = (char *)(f + s->nfields);
    for (size_t i = 0; i < s->nfields; i++) {
        f[i] = s->fields[i];
        f[i].name = strcpy(p, s->fields[i].name);
        p += strlen(p) + 1;
    }
    *c = (cp_schema){.stream = strcpy(p, s->stream), .nfields = s->nfields, .fields = f};
    return c;
}

/* under the lock: remembers the schema of a stream not seen before */
static void schema_note(const cp_schema *s)
{
    for (size_t i = 0; i < L.nschemas; i++)
        if (!strcmp(L.schemas[i]->stream, s->stream))
            return;
    cp_schema **v = realloc(L.schemas, (L.nschemas + 1) * sizeof *v);
    if (!v)
        return;
    L.schemas = v;
    if ((v[L.nschemas] = schema_copy(s)) != NULL)
        L.nschemas++;
}

const cp_schema *core_latest_schema(const char *stream)
{
    const cp_schema *s = NULL;
    pthread_mutex_lock(&L.lock);
    for (size_t i = 0; i < L.nschemas && !s; i++)
        if (!strcmp(L.schemas[i]->stream, stream))
            s = L.schemas[i];
    pthread_mutex_unlock(&L.lock);
    return s;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static lentry *slot(lentry *v, size_t cap, const char *key)
{
    for (size_t i = hash(key) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!v[i].key || strcmp(v[i].key, key) == 0)
            return &v[i];
}

static bool grow(void)
{
    size_t cap = L.cap ? L.cap * 2 : 64;
    lentry *v = calloc(cap, sizeof *v);
    if (!v)
        return false;
    for (size_t i = 0; i < L.cap; i++)
        if (L.v[i].key)
            *slot(v, cap, L.v[i].key) = L.v[i];
    free(L.v);
    L.v = v;
    L.cap = cap;
    return true;
}

/* the columns that name a row's series, and its time column (-1: none) */
typedef struct layout {
    size_t nid;
    int id[8];
    int time;
} layout;

static layout layout_of(const cp_schema *s)
{
    layout l = {.time = -1};
    for (size_t i = 0; i < s->nfields; i++) {
        const cp_field *f = &s->fields[i];
        if ((f->flags & CP_FIELD_KEY) && f->type == CP_T_STRING && strcmp(f->name, "trade_id") != 0 &&
            l.nid < sizeof l.id / sizeof l.id[0])
            l.id[l.nid++] = (int)i;
        if ((f->flags & CP_FIELD_KEY) && f->type == CP_T_TIMESTAMP && l.time < 0)
            l.time = (int)i;
    }
    for (size_t i = 0; l.time < 0 && i < s->nfields; i++)
        if (s->fields[i].type == CP_T_TIMESTAMP && strcmp(s->fields[i].name, "ts") == 0)
            l.time = (int)i;
    return l;
}

/* a batch's series and time columns seen in place (core_batch_column), for the pass over its rows */
typedef struct view {
    size_t nid;
    cp_column id[8];
    cp_column time; /* rows = 0 when there is no time column */
} view;

static bool view_of(const cp_batch *b, const layout *l, view *v)
{
    v->nid = l->nid;
    for (size_t k = 0; k < l->nid; k++) {
        v->id[k].size = sizeof v->id[k];
        if (core_batch_column(b, (size_t)l->id[k], &v->id[k]) != CP_OK || !v->id[k].text_off)
            return false;
    }
    v->time = (cp_column){.size = sizeof v->time};
    return l->time < 0 || core_batch_column(b, (size_t)l->time, &v->time) == CP_OK;
}

/* True when rows r1 and r2 have the same text in every series column (or are both NULL there):
 * what comparing cp_batch_get_text's answers says. Read in place: a text equal to the row
 * above's shares its offset (core_batch_set_string), so a run of one series compares no bytes. */
static bool same_series(const view *v, size_t r1, size_t r2)
{
    for (size_t k = 0; k < v->nid; k++) {
        const cp_column *c = &v->id[k];
        bool z1 = c->null[r1] != 0, z2 = c->null[r2] != 0;
        if (z1 || z2) {
            if (z1 != z2)
                return false;
            continue;
        }
        size_t n1, n2;
        const char *t1 = cp_column_text(c, r1, &n1), *t2 = cp_column_text(c, r2, &n2);
        if (n1 != n2 || (t1 != t2 && memcmp(t1, t2, n1) != 0))
            return false;
    }
    return true;
}

/* True when row r (> 0) shares the row above's texts in every series column (the same offsets, or
 * NULL in both): same_series without reading a text, what a run of one series usually is. */
static bool same_as_above(const view *v, size_t r)
{
    for (size_t k = 0; k < v->nid; k++) {
        const cp_column *c = &v->id[k];
        size_t n1, n2;
        const char *t1 = cp_column_text(c, r - 1, &n1), *t2 = cp_column_text(c, r, &n2);
        if (c->null[r - 1] != c->null[r] || (!c->null[r] && (t1 != t2 || n1 != n2)))
            return false;
    }
    return true;
}

static int64_t view_time(const view *v, size_t r)
{
    return v->time.rows && !cp_column_is_null(&v->time, r) ? cp_column_int(&v->time, r) : INT64_MIN;
}

void core_latest_put_value(cp_buf *out, const cp_batch *b, size_t r, size_t c) { core_batch_json_value(out, b, r, c); }

/* What every row a batch leaves renders alike, made once a batch: the object's opening up to
 * its "seq" ({"pipeline":..,"stream":..,"seq":) and each field's name ("name":), at offsets. */
typedef struct prefix {
    cp_buf text;
    size_t head;     /* the opening is text[0, head) */
    size_t *name_at; /* field c's name is text[name_at[c], name_at[c + 1]) */
} prefix;

static bool prefix_make(prefix *x, const char *pipeline, const cp_schema *s)
{
    *x = (prefix){.name_at = malloc((s->nfields + 1) * sizeof *x->name_at)};
    if (!x->name_at)
        return false;
    cp_buf_puts(&x->text, "{\"pipeline\":");
    core_util_json_string(&x->text, pipeline, strlen(pipeline));
    cp_buf_puts(&x->text, ",\"stream\":");
    core_util_json_string(&x->text, s->stream, strlen(s->stream));
    cp_buf_puts(&x->text, ",\"seq\":");
    x->head = x->text.len;
    for (size_t c = 0; c < s->nfields; c++) {
        x->name_at[c] = x->text.len;
        core_util_json_string(&x->text, s->fields[c].name, strlen(s->fields[c].name));
        cp_buf_putc(&x->text, ':');
    }
    x->name_at[s->nfields] = x->text.len;
    return !x->text.oom;
}

static void prefix_free(prefix *x)
{
    cp_buf_free(&x->text);
    free(x->name_at);
}

static void put_u64(cp_buf *b, uint64_t v)
{
    if (cp_buf_reserve(b, 20))
        b->len = (size_t)(cp_u64_digits(b->p + b->len, v) - b->p);
}

/* takes row r of b, whose time is ts (INT64_MIN: none), as the newest of its series unless a
 * newer one is stored */
static void take(const prefix *x, const cp_batch *b, const layout *l, size_t r, int64_t ts, cp_buf *key,
                 cp_buf *js)
{
    const cp_schema *s = core_batch_schema(b);
    key->len = 0;
    cp_buf_puts(key, s->stream);
    for (size_t k = 0; k < l->nid; k++) {
        size_t n = 0;
        const char *t = core_batch_is_null(b, r, (size_t)l->id[k]) ? "" : core_batch_get_text(b, r, (size_t)l->id[k], &n);
        cp_buf_putc(key, '\x1f');
        cp_buf_put(key, t, n);
    }
    if (key->oom)
        return;
    pthread_mutex_lock(&L.lock);
    if ((L.n + 1) * 4 > L.cap * 3 && !grow()) {
        pthread_mutex_unlock(&L.lock);
        return;
    }
    lentry *e = slot(L.v, L.cap, key->p);
    if (e->key && ts != INT64_MIN && e->ts != INT64_MIN && ts < e->ts) {
        pthread_mutex_unlock(&L.lock);
        return;
    }
    uint64_t seq = ++L.seq;
    bool described = e->key && e->series; /* a series' description never changes: made once */
    if (!e->key)
        schema_note(s);
    pthread_mutex_unlock(&L.lock);

    js->len = 0; /* rendered outside the lock */
    cp_buf_put(js, x->text.p, x->head);
    put_u64(js, seq);
    cp_buf_puts(js, ",\"ts\":");
    if (ts == INT64_MIN) {
        cp_buf_puts(js, "null");
    } else {
        if (ts < 0)
            cp_buf_putc(js, '-');
        put_u64(js, ts < 0 ? 0 - (uint64_t)ts : (uint64_t)ts);
    }
    cp_buf_puts(js, ",\"row\":{");
    for (size_t c = 0; c < s->nfields; c++) {
        cp_buf_put(js, x->text.p + x->name_at[c], x->name_at[c + 1] - x->name_at[c]);
        core_latest_put_value(js, b, r, c);
        if (c + 1 < s->nfields)
            cp_buf_putc(js, ',');
    }
    cp_buf_puts(js, "}}");
    char *json = js->oom ? NULL : core_util_strndup(js->p, js->len);
    if (!json)
        return;

    char *series = NULL;
    if (!described) { /* the series' description, for core_latest_series */
        size_t mark = js->len;
        cp_buf_puts(js, "{\"stream\":");
        core_util_json_string(js, s->stream, strlen(s->stream));
        for (size_t k = 0; k < l->nid; k++) {
            cp_buf_putc(js, ',');
            cp_buf_put(js, x->text.p + x->name_at[l->id[k]], x->name_at[l->id[k] + 1] - x->name_at[l->id[k]]);
            core_latest_put_value(js, b, r, (size_t)l->id[k]);
        }
        cp_buf_putc(js, '}');
        series = js->oom ? NULL : core_util_strndup(js->p + mark, js->len - mark);
    }

    pthread_mutex_lock(&L.lock);
    if ((L.n + 1) * 4 > L.cap * 3 && !grow()) { /* another thread may have filled the table meanwhile */
        pthread_mutex_unlock(&L.lock);
        free(json);
        free(series);
        return;
    }
    e = slot(L.v, L.cap, key->p);
    if (!e->key) {
        if (!(e->key = core_util_strdup(key->p))) {
            pthread_mutex_unlock(&L.lock);
            free(json);
            free(series);
            return;
        }
        L.n++;
    } else if (e->seq > seq || (ts != INT64_MIN && e->ts != INT64_MIN && ts < e->ts)) {
        pthread_mutex_unlock(&L.lock); /* a newer row won the race */
        free(json);
        free(series);
        return;
    }
    free(e->json);
    e->json = json;
    if (series) {
        free(e->series);
        e->series = series;
    }
    e->ts = ts;
    e->seq = seq;
    pthread_mutex_unlock(&L.lock);
}

void core_latest_update(const char *pipeline, const cp_batch *b)
{
    size_t rows = core_batch_rows(b);
    if (!rows)
        return;
    layout l = layout_of(core_batch_schema(b));
    cp_buf key = {0}, js = {0};
    /* each series leaves its newest row (a later row wins a tie): the series of a batch are
     * found first, so that a micro-batch whose symbols interleave row by row renders one row a
     * series, not one a row; past LATEST_SERIES series the others' rows are taken one by one */
    enum { LATEST_SERIES = 64 };
    size_t best[LATEST_SERIES], nbest = 0;
    int64_t best_ts[LATEST_SERIES];
    view v;
    if (!view_of(b, &l, &v))
        return;
    prefix x;
    if (!prefix_make(&x, pipeline ? pipeline : "", core_batch_schema(b))) {
        prefix_free(&x);
        return;
    }
    size_t kprev = LATEST_SERIES; /* the series of the row above (LATEST_SERIES: taken alone) */
    for (size_t r = 0; r < rows; r++) {
        int64_t t = view_time(&v, r);
        size_t k = nbest;
        if (r && kprev < nbest && same_as_above(&v, r)) /* runs of one series: the common case */
            k = kprev;
        else if (nbest && same_series(&v, best[nbest - 1], r))
            k = nbest - 1;
        else
            for (k = 0; k < nbest && !same_series(&v, best[k], r); k++)
                ;
        kprev = k;
        if (k < nbest) {
            if (t >= best_ts[k] || t == INT64_MIN) {
                best[k] = r;
                best_ts[k] = t;
            }
        } else if (nbest < LATEST_SERIES) {
            kprev = nbest;
            best[nbest] = r;
            best_ts[nbest++] = t;
        } else {
            kprev = LATEST_SERIES;
            take(&x, b, &l, r, t, &key, &js);
        }
    }
    for (size_t k = 0; k < nbest; k++)
        take(&x, b, &l, best[k], best_ts[k], &key, &js);
    prefix_free(&x);
    cp_buf_free(&key);
    cp_buf_free(&js);
}

size_t core_latest_series(cp_buf *out)
{
    size_t n = 0;
    cp_buf_putc(out, '[');
    pthread_mutex_lock(&L.lock);
    for (size_t i = 0; i < L.cap; i++)
        if (L.v[i].key && L.v[i].series) {
            if (n++)
                cp_buf_putc(out, ',');
            cp_buf_puts(out, L.v[i].series);
        }
    pthread_mutex_unlock(&L.lock);
    cp_buf_putc(out, ']');
    return n;
}

uint64_t core_latest_seq(void)
{
    pthread_mutex_lock(&L.lock);
    uint64_t s = L.seq;
    pthread_mutex_unlock(&L.lock);
    return s;
}

/* does the stored row of e belong to stream (NULL: any) and have "field":"value" (NULLs: any)? */
static bool matches(const lentry *e, const char *stream, const char *field, const char *value)
{
    if (!e->key || !e->json)
        return false;
    size_t sl = stream ? strlen(stream) : 0;
    if (stream && (strncmp(e->key, stream, sl) != 0 || (e->key[sl] != '\x1f' && e->key[sl] != '\0')))
        return false;
    if (!field || !value)
        return true;
    cp_buf pat = {0};
    core_util_json_string(&pat, field, strlen(field));
    cp_buf_putc(&pat, ':');
    core_util_json_string(&pat, value, strlen(value));
    const char *row = strstr(e->json, ",\"row\":{");
    bool hit = !pat.oom && row && strstr(row, pat.p) != NULL;
    cp_buf_free(&pat);
    return hit;
}

size_t core_latest_count(const char *stream, const char *field, const char *value)
{
    size_t n = 0;
    pthread_mutex_lock(&L.lock);
    for (size_t i = 0; i < L.cap; i++)
        n += matches(&L.v[i], stream, field, value);
    pthread_mutex_unlock(&L.lock);
    return n;
}

size_t core_latest_json(cp_buf *out, const char *stream, const char *symbol, uint64_t after_seq, uint64_t *seq)
{
    size_t n = 0;
    cp_buf_putc(out, '[');
    pthread_mutex_lock(&L.lock);
    for (size_t i = 0; i < L.cap; i++) {
        const lentry *e = &L.v[i];
        if (e->seq <= after_seq || !matches(e, stream, symbol ? "symbol" : NULL, symbol))
            continue;
        if (n++)
            cp_buf_putc(out, ',');
        cp_buf_puts(out, e->json);
    }
    if (seq)
        *seq = L.seq;
    pthread_mutex_unlock(&L.lock);
    cp_buf_putc(out, ']');
    return n;
}

/* the value of "column": in a row object we rendered (a number, or a string holding one) */
static bool number_in(const char *json, const char *column, double *v)
{
    cp_buf pat = {0};
    const char *row = strstr(json, ",\"row\":{");
    core_util_json_string(&pat, column, strlen(column));
    cp_buf_putc(&pat, ':');
    const char *p = row && !pat.oom ? strstr(row, pat.p) : NULL;
    if (p)
        p += pat.len;
    cp_buf_free(&pat);
    if (!p)
        return false;
    if (*p == '"')
        p++;
    char *end;
    double d = strtod(p, &end);
    if (end == p)
        return false; /* null, true, false or a text that is no number */
    *v = d;
    return true;
}

bool core_latest_number(const char *stream, const char *const *series, size_t nseries, const char *column,
                        double *value, int64_t *ts)
{
    cp_buf key = {0};
    cp_buf_puts(&key, stream ? stream : "");
    for (size_t k = 0; k < nseries; k++) {
        cp_buf_putc(&key, '\x1f');
        cp_buf_puts(&key, series[k] ? series[k] : "");
    }
    bool found = false;
    pthread_mutex_lock(&L.lock);
    if (!key.oom && L.cap) {
        const lentry *e = slot(L.v, L.cap, key.p);
        if (e->key && e->json && number_in(e->json, column, value)) {
            found = true;
            if (ts)
                *ts = e->ts;
        }
    }
    pthread_mutex_unlock(&L.lock);
    cp_buf_free(&key);
    return found;
}

void core_latest_reset(void)
{
    pthread_mutex_lock(&L.lock);
    for (size_t i = 0; i < L.cap; i++) {
        free(L.v[i].key);
        free(L.v[i].json);
        free(L.v[i].series);
    }
    free(L.v);
    L.v = NULL;
    L.n = L.cap = 0;
    for (size_t i = 0; i < L.nschemas; i++)
        free(L.schemas[i]);
    free(L.schemas);
    L.schemas = NULL;
    L.nschemas = 0;
    pthread_mutex_unlock(&L.lock);
}
