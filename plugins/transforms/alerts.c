/* alerts transform: rules over the passing rows, emitted as `alert` rows when they start and stop holding.
 * SPDX-License-Identifier: MIT
 *
 * Consumes: any stream. Emits: alert (pipeline, rule, exchange, symbol, ts, state firing or
 * resolved, value, threshold, message). Every input batch passes through unchanged.
 *
 * Rules come from the config (`rules = ( { name; when; for; cooldown; symbols; message } )`)
 * and from the `preset = "quality"` set. A rule's `when` is an expression of the language in
 * alerts_expr.h over one stream's columns; it is evaluated for each row of that stream, per
 * series (exchange or source, symbol, and interval for ohlcv), in row order. Rules using
 * stale() are evaluated for every known series of their stream each time a batch passes and
 * at every tick (after each poll cycle, failed ones included, and about once a second in a
 * continuous pipeline), so a feed that stops altogether still fires. A series is known once
 * a row of it has passed since the start.
 *
 * latest(STREAM.COLUMN, "series"...) reads another pipeline's newest value from the core's
 * latest-rows table (cp_latest_value), e.g. for a divergence between two exchanges.
 *
 * Behaviour per rule and series, as Alertmanager's: the expression must hold for `for`
 * (pending) before the rule fires; a firing rule emits one `firing` row and nothing more while
 * it keeps holding (edge-triggered); when it stops holding it emits one `resolved` row; it
 * fires again only `cooldown` after it last fired. A NULL result (missing data) changes
 * nothing. The state (firing, pending since, last fired) is kept in the instance's state store,
 * so a restart or a reload while firing emits nothing new.
 */
#include "alerts_expr.h"

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>
#include <coinpipe/streams.h>
#include <coinpipe/text.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rule_cfg {
    char *name;
    char *when;
    int64_t for_ms;
    int64_t cooldown_ms;
    cp_strlist symbols;
    char *message;
} rule_cfg;

typedef struct alerts_config {
    cp_grouplist rules;
    char *preset;
    int64_t stale_after;
    double jump_sigma;
    int64_t jump_window;
} alerts_config;

static const cp_option rule_options[] = {
    {.name = "name", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(rule_cfg, name),
     .doc = "Name of the rule, unique in the instance (the alert row's `rule`)."},
    {.name = "when", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(rule_cfg, when),
     .doc = "Condition over one stream's columns, e.g. \"ticker.last > 60000\" (docs/alerts.md)."},
    {.name = "for", .type = CP_OPT_DURATION, .def = "0", .offset = offsetof(rule_cfg, for_ms),
     .doc = "How long the condition must hold before the rule fires."},
    {.name = "cooldown", .type = CP_OPT_DURATION, .def = "0", .offset = offsetof(rule_cfg, cooldown_ms),
     .doc = "Least time between two firings of the rule for one series."},
    {.name = "symbols", .type = CP_OPT_STRLIST, .offset = offsetof(rule_cfg, symbols),
     .doc = "Evaluate only these normalized symbols (e.g. [\"BTC-USDT\"]); default every symbol."},
    {.name = "message", .type = CP_OPT_STRING, .offset = offsetof(rule_cfg, message),
     .doc = "Message template: {rule} {state} {when} {exchange} {symbol} {value} {threshold} {pipeline}."},
    CP_OPTION_END,
};
static const cp_group_spec rule_spec = {sizeof(cp_group_spec), rule_options, sizeof(rule_cfg)};

static const char *const presets[] = {"none", "quality", NULL};

static const cp_option alerts_options[] = {
    {.name = "rules", .type = CP_OPT_GROUPLIST, .offset = offsetof(alerts_config, rules),
     .choices = CP_GROUP_SPEC(rule_spec),
     .doc = "Alert rules: a list of groups { name; when; for; cooldown; symbols; message }."},
    {.name = "preset", .type = CP_OPT_ENUM, .def = "\"none\"", .offset = offsetof(alerts_config, preset),
     .choices = presets,
     .doc = "\"quality\" adds the data-quality rules: stale feed, crossed book, zero-volume candle, price jump, candle gap."},
    {.name = "stale_after", .type = CP_OPT_DURATION, .def = "\"3m\"", .min = 1000, .max = 7 * 86400000.0,
     .offset = offsetof(alerts_config, stale_after),
     .doc = "quality preset: a ticker older than this is a stale feed."},
    {.name = "jump_sigma", .type = CP_OPT_DOUBLE, .def = "4", .min = 0.5, .max = 100,
     .offset = offsetof(alerts_config, jump_sigma),
     .doc = "quality preset: a last price this many standard deviations from the recent ones is a jump."},
    {.name = "jump_window", .type = CP_OPT_INT, .def = "20", .min = 2, .max = 4096,
     .offset = offsetof(alerts_config, jump_window),
     .doc = "quality preset: how many recent last prices the jump is measured against."},
    CP_OPTION_END,
};

/* ---- rules -------------------------------------------------------------------------------- */

typedef struct rule {
    char *name, *when, *message;
    int64_t for_ms, cooldown_ms;
    const cp_strlist *symbols;
    ax_expr *expr;
    const cp_schema *schema;
} rule;

/* a series' state for one rule */
typedef struct rstate {
    char *key; /* rule \x1f series */
    struct rstate *next;
    const struct rule *rule;
    bool firing;
    int64_t pending_since; /* 0 = not pending */
    int64_t last_fired;
    int64_t last_emit; /* ts of the last row emitted: the next is later, so keys never collide */
    void *hist;
} rstate;

/* what the instance knows of one series of a stream */
typedef struct series {
    char *key; /* stream \x1f exchange \x1f symbol [\x1f interval] */
    struct series *next;
    const cp_schema *schema;
    char *exchange, *symbol;
    int64_t last_ts;
    int64_t last_open, prev_open, interval_ms;
} series;

#define NBUCKETS 1024

typedef struct alerts {
    rule *rules;
    size_t nrules;
    rstate *states[NBUCKETS];
    series *series[NBUCKETS];
    cp_batch *out;
    cp_ctx *ctx;
} alerts;

/* the closest column name of `stream` to `column`, for a hint; NULL when none is close */
static const char *closest_column(const char *stream, const char *column)
{
    const cp_schema *s = cp_stream_find(stream);
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; s && i < s->nfields; i++) {
        size_t d = cp_edit_distance(s->fields[i].name, column);
        if (d < best_d) {
            best_d = d;
            best = s->fields[i].name;
        }
    }
    return best;
}

/* Parses a rule's expression; on error appends "where: rule 'name': reason" and a caret line. */
static ax_expr *parse_rule(const char *where, const char *name, const char *when, cp_buf *errs)
{
    char err[256];
    size_t at = 0;
    ax_expr *e = ax_parse(when, ax_catalog_lookup, NULL, err, sizeof err, &at);
    if (e)
        return e;
    char hint[96] = "";
    const char *q = strstr(err, "unknown column '");
    if (q) {
        char col[64] = "", stream[64] = "";
        if (sscanf(q, "unknown column '%63[a-z0-9_]' of stream '%63[a-z0-9_]'", col, stream) == 2) {
            const char *best = closest_column(stream, col);
            if (best)
                snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
        }
    }
    cp_buf_printf(errs, "%s%s: rule '%s': %s in when = \"%s\"%s\n", errs->len ? "\n" : "", where, name, err, when,
                  hint);
    cp_buf_printf(errs, "    when = \"%s\"\n    %*s^", when, (int)(at + 8), "");
    return NULL;
}

/* Appends the quality preset's rules to cfg-given ones (names prefixed quality-). */
typedef struct preset_rule {
    const char *name;
    char when[96];
    int64_t for_ms;
} preset_rule;

static size_t quality_rules(const alerts_config *c, preset_rule *out)
{
    size_t n = 0;
    out[n] = (preset_rule){"quality-stale-feed", "", 0};
    snprintf(out[n++].when, sizeof out[0].when, "stale(ticker, %" PRId64 "s)", c->stale_after / 1000);
    out[n++] = (preset_rule){"quality-crossed-book", "book_top.bid >= book_top.ask", 0};
    out[n++] = (preset_rule){"quality-zero-volume-candle", "ohlcv.volume == 0", 0};
    out[n] = (preset_rule){"quality-price-jump", "", 0};
    snprintf(out[n++].when, sizeof out[0].when, "abs(zscore(ticker.last, %" PRId64 ")) > %.17g", c->jump_window,
             c->jump_sigma);
    out[n++] = (preset_rule){"quality-candle-gap", "candle_gap(ohlcv)", 0};
    return n;
}

/* Reports the errors parse_rule appended to `e` for the rule at `where`, one report each (an
 * error and the indented caret lines under it), without the "where: " each starts with. */
static void report_rule_errors(cp_check *chk, const char *where, const cp_buf *e)
{
    size_t wl = strlen(where);
    for (const char *p = e->p; p && *p;) {
        const char *end = p;
        while ((end = strchr(end, '\n')) && (end[1] == ' ' || end[1] == '\t'))
            end++;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *msg = p;
        if (len > wl + 2 && strncmp(p, where, wl) == 0 && p[wl] == ':' && p[wl + 1] == ' ') {
            msg += wl + 2;
            len -= wl + 2;
        }
        cp_check_error_at(chk, where, "%.*s", (int)len, msg);
        p = end ? end + 1 : p + strlen(p);
    }
}

static cp_status alerts_check(const void *config, cp_check *chk)
{
    const alerts_config *c = config;
    cp_status st = CP_OK;
    for (size_t i = 0; i < c->rules.n; i++) {
        const rule_cfg *r = cp_grouplist_item(&c->rules, i);
        for (size_t j = 0; j < i; j++) {
            const rule_cfg *o = cp_grouplist_item(&c->rules, j);
            if (strcmp(o->name, r->name) == 0) {
                cp_check_error_at(chk, c->rules.where[i], "rule '%s' is defined twice (first at %s)", r->name,
                                  c->rules.where[j]);
                st = CP_ERR_CONFIG;
            }
        }
        cp_buf e = {0};
        ax_expr *x = parse_rule(c->rules.where[i], r->name, r->when, &e);
        if (!x) {
            report_rule_errors(chk, c->rules.where[i], &e);
            st = CP_ERR_CONFIG;
        }
        ax_free(x);
        cp_buf_free(&e);
    }
    if (!c->rules.n && strcmp(c->preset, "none") == 0) {
        cp_check_error(chk, "rules", "no rules: give rules = ( { name = ...; when = ...; } ) or preset = \"quality\"");
        st = CP_ERR_CONFIG;
    }
    return st;
}

/* ---- instance ------------------------------------------------------------------------------ */

static void alerts_destroy(void *instance);

static bool add_rule(alerts *a, const char *where, const char *name, const char *when, int64_t for_ms,
                     int64_t cooldown_ms, const cp_strlist *symbols, const char *message, cp_buf *errs)
{
    rule *r = &a->rules[a->nrules];
    *r = (rule){.for_ms = for_ms, .cooldown_ms = cooldown_ms, .symbols = symbols};
    r->expr = parse_rule(where, name, when, errs);
    r->name = strdup(name);
    r->when = strdup(when);
    r->message = strdup(message ? message : "{rule}: {when} on {exchange} {symbol} (value {value})");
    a->nrules++;
    if (!r->expr || !r->name || !r->when || !r->message)
        return false;
    r->schema = cp_stream_find(ax_stream(r->expr));
    return true;
}

static cp_status alerts_create(cp_ctx *ctx, const void *config, void **instance)
{
    const alerts_config *c = config;
    if (cp_check_run_logged(ctx, config, alerts_check) != CP_OK)
        return CP_ERR_CONFIG;
    alerts *a = calloc(1, sizeof *a);
    preset_rule pre[8];
    size_t npre = strcmp(c->preset, "quality") == 0 ? quality_rules(c, pre) : 0;
    if (a)
        a->rules = calloc(c->rules.n + npre + 1, sizeof *a->rules);
    if (!a || !a->rules) {
        free(a);
        return CP_ERR_NOMEM;
    }
    cp_buf errs = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < c->rules.n; i++) {
        const rule_cfg *r = cp_grouplist_item(&c->rules, i);
        ok = add_rule(a, c->rules.where[i], r->name, r->when, r->for_ms, r->cooldown_ms, &r->symbols, r->message,
                      &errs);
    }
    for (size_t i = 0; ok && i < npre; i++)
        ok = add_rule(a, "preset", pre[i].name, pre[i].when, pre[i].for_ms, 0, NULL, NULL, &errs);
    if (!ok) {
        cp_log_error(ctx, "%s", errs.p ? errs.p : "out of memory");
        cp_buf_free(&errs);
        alerts_destroy(a);
        return CP_ERR_CONFIG;
    }
    cp_buf_free(&errs);
    *instance = a;
    return CP_OK;
}

static void alerts_destroy(void *instance)
{
    alerts *a = instance;
    if (!a)
        return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        for (rstate *s = a->states[b], *nx; s; s = nx) {
            nx = s->next;
            ax_history_free(s->rule->expr, s->hist);
            free(s->key);
            free(s);
        }
        for (series *s = a->series[b], *nx; s; s = nx) {
            nx = s->next;
            free(s->key);
            free(s->exchange);
            free(s->symbol);
            free(s);
        }
    }
    for (size_t i = 0; i < a->nrules; i++) {
        ax_free(a->rules[i].expr);
        free(a->rules[i].name);
        free(a->rules[i].when);
        free(a->rules[i].message);
    }
    free(a->rules);
    free(a);
}

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h % NBUCKETS);
}

/* The rule's state for a series, loaded from the state store the first time. */
static rstate *state_of(alerts *a, cp_ctx *ctx, const rule *r, const char *skey)
{
    char key[512];
    snprintf(key, sizeof key, "%s\x1f%s", r->name, skey);
    size_t h = hash(key);
    for (rstate *s = a->states[h]; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    rstate *s = calloc(1, sizeof *s);
    if (!s || !(s->key = strdup(key))) {
        free(s);
        return NULL;
    }
    char *v = NULL;
    char skey_store[560];
    snprintf(skey_store, sizeof skey_store, "rule:%s", key);
    for (char *p = skey_store; *p; p++)
        if (*p == '\x1f')
            *p = '|';
    if (cp_state_get(ctx, skey_store, &v) == CP_OK && v) {
        int firing = 0;
        long long pend = 0, last = 0;
        if (sscanf(v, "%d %lld %lld", &firing, &pend, &last) == 3) {
            s->firing = firing != 0;
            s->pending_since = pend;
            s->last_fired = last;
        }
        cp_free(ctx, v);
    }
    s->rule = r;
    s->next = a->states[h];
    a->states[h] = s;
    return s;
}

static void state_save(cp_ctx *ctx, const rstate *s)
{
    char key[560], val[96];
    snprintf(key, sizeof key, "rule:%s", s->key);
    for (char *p = key; *p; p++)
        if (*p == '\x1f')
            *p = '|';
    snprintf(val, sizeof val, "%d %lld %lld", s->firing ? 1 : 0, (long long)s->pending_since,
             (long long)s->last_fired);
    cp_state_set(ctx, key, val);
}

static int64_t interval_ms(const char *iv)
{
    int64_t ms = 0;
    if (!iv || !ax_duration(iv, strlen(iv), &ms)) {
        size_t n = iv ? strlen(iv) : 0; /* 1w, 1M */
        if (n >= 2 && iv[n - 1] == 'w')
            return atoll(iv) * 7 * 86400000LL;
        return -1;
    }
    return ms;
}

/* ---- emitting ------------------------------------------------------------------------------ */

static void put_template(cp_buf *b, const char *tpl, const rule *r, const char *state, const series *s,
                         const char *value, const char *threshold, const char *pipeline)
{
    for (const char *p = tpl; *p; p++) {
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        if (!end) {
            cp_buf_printf(b, "%c", *p);
            continue;
        }
        size_t n = (size_t)(end - p - 1);
        const char *v = NULL;
#define FIELD(name, val) else if (n == sizeof(name) - 1 && memcmp(p + 1, name, n) == 0) v = (val)
        if (0) {
        }
        FIELD("rule", r->name);
        FIELD("state", state);
        FIELD("when", r->when);
        FIELD("exchange", s->exchange);
        FIELD("symbol", s->symbol);
        FIELD("value", value);
        FIELD("threshold", threshold);
        FIELD("pipeline", pipeline);
#undef FIELD
        if (!v) {
            cp_buf_printf(b, "%c", *p);
            continue;
        }
        cp_buf_printf(b, "%s", v);
        p = end;
    }
}

static void emit_row(alerts *a, cp_ctx *ctx, const rule *r, const series *s, rstate *st, bool firing,
                     const ax_value *lhs, const ax_value *rhs, int64_t ts)
{
    if (ts <= st->last_emit) /* two changes within one millisecond (rows of one batch) */
        ts = st->last_emit + 1;
    st->last_emit = ts;
    if (!a->out)
        a->out = cp_batch_new(ctx, &cp_alert_schema, 8);
    if (!a->out)
        return;
    size_t row = cp_batch_add_row(ctx, a->out);
    if (row == SIZE_MAX)
        return;
    const char *pipeline = cp_pipeline_name(ctx);
    const char *state = firing ? "firing" : "resolved";
    char value[80] = "", threshold[80] = "";
    if (lhs && lhs->kind == AX_NUM && isfinite(lhs->d))
        ax_format(lhs, value, sizeof value);
    if (rhs && rhs->kind == AX_NUM && isfinite(rhs->d))
        ax_format(rhs, threshold, sizeof threshold);
    cp_batch *b = a->out;
    cp_batch_set_string(ctx, b, row, CP_ALERT_PIPELINE, pipeline, strlen(pipeline));
    cp_batch_set_string(ctx, b, row, CP_ALERT_RULE, r->name, strlen(r->name));
    cp_batch_set_string(ctx, b, row, CP_ALERT_EXCHANGE, s->exchange, strlen(s->exchange));
    cp_batch_set_string(ctx, b, row, CP_ALERT_SYMBOL, s->symbol, strlen(s->symbol));
    cp_batch_set_int(ctx, b, row, CP_ALERT_TS, ts);
    cp_batch_set_string(ctx, b, row, CP_ALERT_STATE, state, strlen(state));
    if (*value)
        cp_batch_set_decimal(ctx, b, row, CP_ALERT_VALUE, value, strlen(value));
    if (*threshold)
        cp_batch_set_decimal(ctx, b, row, CP_ALERT_THRESHOLD, threshold, strlen(threshold));
    cp_buf msg = {0};
    put_template(&msg, r->message, r, state, s, *value ? value : "-", *threshold ? threshold : "-", pipeline);
    if (msg.p)
        cp_batch_set_string(ctx, b, row, CP_ALERT_MESSAGE, msg.p, msg.len);
    cp_buf_free(&msg);
    cp_log_info(ctx, "alert %s: rule '%s' on %s %s", state, r->name, s->exchange, s->symbol);
}

/* Applies one evaluation result to the rule's state for the series. */
static void step(alerts *a, cp_ctx *ctx, const rule *r, const series *s, rstate *st, ax_value res,
                 const ax_value *lhs, const ax_value *rhs)
{
    if (res.kind == AX_NULL)
        return;
    bool holds = res.kind == AX_BOOL ? res.b : res.d != 0;
    int64_t now = cp_now_ms(ctx);
    if (!holds) {
        if (st->firing) {
            st->firing = false;
            st->pending_since = 0;
            emit_row(a, ctx, r, s, st, false, lhs, rhs, now);
            state_save(ctx, st);
        } else if (st->pending_since) {
            st->pending_since = 0;
            state_save(ctx, st);
        }
        return;
    }
    if (st->firing)
        return;
    bool changed = false;
    if (!st->pending_since) {
        st->pending_since = now;
        changed = true;
    }
    if (now - st->pending_since >= r->for_ms && (!st->last_fired || now - st->last_fired >= r->cooldown_ms)) {
        st->firing = true;
        st->last_fired = now;
        emit_row(a, ctx, r, s, st, true, lhs, rhs, now);
        changed = true;
    }
    if (changed)
        state_save(ctx, st);
}

/* ---- processing ---------------------------------------------------------------------------- */

typedef struct rowctx {
    cp_ctx *ctx;
    const cp_batch *b;
    size_t row;
    const series *s;
    int64_t now;
} rowctx;

static ax_value row_column(void *user, int col)
{
    rowctx *rc = user;
    ax_value v = {.kind = AX_NULL};
    if (!rc->b || cp_batch_is_null(rc->ctx, rc->b, rc->row, (size_t)col))
        return v;
    switch (cp_batch_schema(rc->ctx, rc->b)->fields[col].type) {
    case CP_T_DECIMAL: {
        size_t len = 0;
        const char *t = cp_batch_get_text(rc->ctx, rc->b, rc->row, (size_t)col, &len);
        if (t && ax_number(t, len, &v))
            return v;
        return (ax_value){.kind = AX_NUM, .d = cp_batch_get_double(rc->ctx, rc->b, rc->row, (size_t)col)};
    }
    case CP_T_INT64:
    case CP_T_TIMESTAMP: {
        int64_t i = cp_batch_get_int(rc->ctx, rc->b, rc->row, (size_t)col);
        return (ax_value){.kind = AX_NUM, .exact = true, .m = i, .scale = 0, .d = (double)i};
    }
    case CP_T_DOUBLE: return (ax_value){.kind = AX_NUM, .d = cp_batch_get_double(rc->ctx, rc->b, rc->row, (size_t)col)};
    case CP_T_BOOL: return (ax_value){.kind = AX_BOOL, .b = cp_batch_get_bool(rc->ctx, rc->b, rc->row, (size_t)col)};
    case CP_T_STRING: break;
    }
    return v;
}

static bool row_latest(void *user, const char *stream, const char *const *values, size_t nvalues, const char *column,
                       double *value)
{
    rowctx *rc = user;
    return cp_latest_value(rc->ctx, stream, values, nvalues, column, value, NULL);
}

static int64_t row_age(void *user)
{
    rowctx *rc = user;
    return rc->s->last_ts == INT64_MIN ? -1 : rc->now - rc->s->last_ts;
}

static const char *text_col(cp_ctx *ctx, const cp_batch *b, size_t row, int col)
{
    return col < 0 ? NULL : cp_batch_get_text(ctx, b, row, (size_t)col, NULL);
}

/* Finds or adds the series of row `row`; NULL when the row names none. */
static series *series_of(alerts *a, cp_ctx *ctx, const cp_batch *b, size_t row, const cp_schema *sch)
{
    int ce = cp_batch_col(ctx, b, "exchange"), cs = cp_batch_col(ctx, b, "symbol"), ci = cp_batch_col(ctx, b, "interval");
    if (ce < 0)
        ce = cp_batch_col(ctx, b, "source");
    if (cs < 0 || !text_col(ctx, b, row, cs))
        cs = cp_batch_col(ctx, b, "coin_id");
    const char *ex = text_col(ctx, b, row, ce), *sym = text_col(ctx, b, row, cs), *iv = text_col(ctx, b, row, ci);
    if (!ex || !sym)
        return NULL;
    char key[384];
    snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", sch->stream, ex, sym, iv ? iv : "");
    size_t h = hash(key);
    for (series *s = a->series[h]; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->key = strdup(key);
    s->exchange = strdup(ex);
    s->symbol = strdup(sym);
    if (!s->key || !s->exchange || !s->symbol) {
        free(s->key);
        free(s->exchange);
        free(s->symbol);
        free(s);
        return NULL;
    }
    s->schema = cp_stream_find(sch->stream);
    s->last_ts = s->last_open = s->prev_open = INT64_MIN;
    s->interval_ms = interval_ms(iv);
    s->next = a->series[h];
    a->series[h] = s;
    return s;
}

static bool wants_symbol(const rule *r, const char *symbol)
{
    if (!r->symbols || !r->symbols->n)
        return true;
    for (size_t i = 0; i < r->symbols->n; i++)
        if (strcmp(r->symbols->v[i], symbol) == 0)
            return true;
    return false;
}

static void evaluate(alerts *a, cp_ctx *ctx, const rule *r, series *s, rowctx *rc, int64_t row_ts, bool advance)
{
    if (!wants_symbol(r, s->symbol))
        return;
    rstate *st = state_of(a, ctx, r, s->key);
    if (!st)
        return;
    ax_row row = {.column = row_column, .age_ms = row_age, .latest = row_latest, .row_ts = row_ts, .user = rc,
                  .prev_open_time = -1, .interval_ms = s->interval_ms};
    if (s->prev_open != INT64_MIN && row_ts == s->last_open)
        row.prev_open_time = s->prev_open;
    ax_value lhs, rhs;
    ax_value res = ax_eval(r->expr, &row, &st->hist, advance, &lhs, &rhs);
    step(a, ctx, r, s, st, res, &lhs, &rhs);
}

/* Evaluates the stale() rules for every known series of their stream as of `now`, then
 * emits the alert rows pending from this call and the rows before it. */
static cp_status evaluate_stale(alerts *a, cp_ctx *ctx, int64_t now)
{
    for (size_t i = 0; i < a->nrules; i++) {
        if (!ax_uses_stale(a->rules[i].expr))
            continue;
        for (size_t bk = 0; bk < NBUCKETS; bk++)
            for (series *s = a->series[bk]; s; s = s->next)
                if (s->schema == a->rules[i].schema) {
                    rowctx rc = {.ctx = ctx, .s = s, .now = now};
                    evaluate(a, ctx, &a->rules[i], s, &rc, now, false);
                }
    }
    if (a->out) {
        cp_batch *out = a->out;
        a->out = NULL;
        return cp_emit(ctx, out);
    }
    return CP_OK;
}

static cp_status alerts_process(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    alerts *a = instance;
    const cp_schema *sch = cp_batch_schema(ctx, batch);
    if (strcmp(sch->stream, "alert") == 0)
        return CP_OK;
    int64_t now = cp_now_ms(ctx);
    const cp_schema *cat = cp_stream_find(sch->stream);
    int cts = cp_batch_col(ctx, batch, "ts");
    int cot = cp_batch_col(ctx, batch, "open_time");
    int ctime = cts >= 0 ? cts : cot;
    size_t n = cp_batch_rows(ctx, batch);
    bool any_rule = false;
    for (size_t i = 0; i < a->nrules; i++)
        if (a->rules[i].schema == cat)
            any_rule = true;
    for (size_t row = 0; cat && row < n; row++) {
        series *s = series_of(a, ctx, batch, row, sch);
        if (!s)
            continue;
        int64_t t = ctime >= 0 && !cp_batch_is_null(ctx, batch, row, (size_t)ctime)
                        ? cp_batch_get_int(ctx, batch, row, (size_t)ctime) : now;
        if (s->last_ts == INT64_MIN || t > s->last_ts)
            s->last_ts = t;
        if (cot >= 0 && t > s->last_open) {
            s->prev_open = s->last_open;
            s->last_open = t;
        }
        if (!any_rule)
            continue;
        rowctx rc = {.ctx = ctx, .b = batch, .row = row, .s = s, .now = now};
        for (size_t i = 0; i < a->nrules; i++)
            if (a->rules[i].schema == cat && !ax_uses_stale(a->rules[i].expr))
                evaluate(a, ctx, &a->rules[i], s, &rc, t, true);
    }
    return evaluate_stale(a, ctx, now);
}

/* time passes without rows (e.g. every cycle of the source fails): the stale() rules */
static cp_status alerts_tick(void *instance, cp_ctx *ctx, int64_t now_ms)
{
    return evaluate_stale(instance, ctx, now_ms);
}

/* declares `alert`: every configured rule may emit it, whatever reaches the transform */
static cp_status alerts_schemas(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                                cp_schema_fn fn, void *user)
{
    (void)ctx, (void)config, (void)inputs, (void)ninputs;
    fn(user, &cp_alert_schema);
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "alerts", .kind = CP_TRANSFORM, .version = "1.0.0",
                 .description = "Alert rules over the passing rows: emits `alert` rows when a rule fires or resolves",
                 .options = alerts_options, .config_size = sizeof(alerts_config), .create = alerts_create,
                 .destroy = alerts_destroy, .process = alerts_process, .tick = alerts_tick, .schemas = alerts_schemas,
                 .check = alerts_check);
