/* `coinpipe gaps`: missing candle ranges in what a pipeline's first SQL sink holds, and --fill.
 * SPDX-License-Identifier: MIT
 *
 * The sink lists the series of its ohlcv table and reports, per series, where two consecutive
 * stored open_times lie more than one interval apart (its stored_series and candle_gaps
 * callbacks, ABI 1.1); the source says which series are its own (candle_series), so that the
 * series other pipelines write into the same table are left alone. Each hole is one line on
 * standard output,
 *     EXCHANGE  SYMBOL  INTERVAL  FIRST_MISSING  END  N candles
 * END being exclusive (the open_time of the next stored candle); one summary line goes to
 * standard error. --fill merges the holes of every series into time ranges, backfills them
 * through the pipeline exactly as `coinpipe backfill` does, and checks once more.
 * Exit status: 0 no gaps, 1 gaps (left), 2 error.
 */
#include "config.h"
#include "gaps.h"
#include "ddl.h"
#include "http.h"
#include "instance.h"
#include "log.h"
#include "runtime.h"
#include "util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEEK_MS 604800000LL
#define MONDAY_MS 345600000LL /* 1970-01-05T00:00Z, the first Monday: weekly candles open then */
#define MERGE_CANDLES 300     /* --fill joins holes this close: one page even on Coinbase (300/request) */

typedef struct series {
    char *exchange, *symbol, *native, *interval;
} series;

typedef struct series_list {
    size_t n, cap;
    series *v;
    bool oom;
} series_list;

typedef struct gap_list {
    size_t n, cap;
    core_range *v;
    int64_t *step;
    bool oom;
} gap_list;

/* the pipeline's source and its first SQL sink, as instances of their own (never the ones a
 * runtime drives), for reading only */
typedef struct reader {
    const core_pipeline_cfg *pc;
    const core_element_cfg *sink_ec, *src_ec;
    const char *state_dir;   /* the instances read their checkpoints as in the daemon */
    core_instance sink, src; /* src is created only when its plugin lists candle series */
    atomic_bool stopping;
} reader;

/* one pass over the series: counters, output and (for --fill) the holes found */
typedef struct check {
    const core_gaps_opts *o;
    FILE *out;        /* gap lines go here; NULL: count only */
    gap_list *record; /* NULL: keep nothing */
    int w_ex, w_sym, w_iv;
    int64_t now;
    size_t nseries;
    uint64_t ngaps, missing;
    /* the series being read */
    const series *cur;
    int64_t step, phase, last;
    bool any;
} check;

static void series_free(series *s)
{
    free(s->exchange);
    free(s->symbol);
    free(s->native);
    free(s->interval);
}

static void list_free(series_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        series_free(&l->v[i]);
    free(l->v);
    *l = (series_list){0};
}

static bool add_series(void *user, const cp_series *s)
{
    series_list *l = user;
    if (!s || !s->exchange || !s->interval || (!s->symbol && !s->native_symbol))
        return true; /* not a usable series: the caller warns about what it misses */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        series *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    series *c = &l->v[l->n];
    *c = (series){core_util_strdup(s->exchange), core_util_strdup(s->symbol),
                  core_util_strdup(s->native_symbol), core_util_strdup(s->interval)};
    if (!c->exchange || !c->interval || (s->symbol && !c->symbol) || (s->native_symbol && !c->native)) {
        series_free(c);
        l->oom = true;
        return false;
    }
    l->n++;
    return true;
}

/* a stored series belongs to a wanted one when every field the source gave agrees */
static bool matches(const series *want, const series *have)
{
    return !strcmp(want->exchange, have->exchange) && !strcmp(want->interval, have->interval) &&
           (!want->symbol || (have->symbol && !strcmp(want->symbol, have->symbol))) &&
           (!want->native || (have->native && !strcmp(want->native, have->native)));
}

static const char *shown_symbol(const series *s)
{
    return s->symbol ? s->symbol : s->native;
}

static int64_t mod(int64_t a, int64_t m)
{
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

/* the first / last open_time at or after / at or before t on the series' grid */
static int64_t align_up(int64_t t, int64_t phase, int64_t step)
{
    return t + mod(phase - t, step);
}
static int64_t align_down(int64_t t, int64_t phase, int64_t step)
{
    return t - mod(t - phase, step);
}

/* "2024-01-01T00:05:00Z", milliseconds only when there are any */
static void iso(int64_t ms, char *buf, size_t len)
{
    core_util_iso8601(ms, buf, len);
    char *dot = strrchr(buf, '.');
    if (ms % 1000 == 0 && dot)
        memcpy(dot, "Z", 2);
}

static void record(gap_list *g, int64_t from, int64_t to, int64_t step)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        core_range *v = realloc(g->v, cap * sizeof *v);
        if (v)
            g->v = v;
        int64_t *s = v ? realloc(g->step, cap * sizeof *s) : NULL;
        if (s)
            g->step = s;
        if (!v || !s) {
            g->oom = true;
            return;
        }
        g->cap = cap;
    }
    g->v[g->n] = (core_range){from, to};
    g->step[g->n++] = step;
}

/* one hole [from, to) of series s: a line and the counters */
static void emit(check *c, const series *s, int64_t step, int64_t from, int64_t to)
{
    uint64_t n = (uint64_t)((to - from + step - 1) / step);
    c->ngaps++;
    c->missing += n;
    if (c->out) {
        char a[40], b[40];
        iso(from, a, sizeof a);
        iso(to, b, sizeof b);
        fprintf(c->out, "%-*s  %-*s  %-*s  %s  %s  %llu candle%s\n", c->w_ex, s->exchange, c->w_sym,
                shown_symbol(s), c->w_iv, s->interval, a, b, (unsigned long long)n, n == 1 ? "" : "s");
    }
    if (c->record)
        record(c->record, from, to, step);
}

static bool on_gap(void *user, int64_t before, int64_t after)
{
    check *c = user;
    if (before >= after)
        return true;           /* not a pair the contract allows: ignore rather than print nonsense */
    if (before == INT64_MIN) { /* the first stored candle of the range fixes the series' grid */
        c->any = true;
        c->phase = mod(after, c->step);
        if (c->o->has_from) {
            int64_t lo = align_up(c->o->from_ms, c->phase, c->step);
            if (after > lo)
                emit(c, c->cur, c->step, lo, after);
        }
        c->last = after;
        return true;
    }
    if (after == INT64_MAX) {
        c->last = before;
        return true;
    }
    emit(c, c->cur, c->step, before + c->step, after);
    return !(c->record && c->record->oom);
}

/* exclusive end of the candles expected by now: those in range that have closed */
static int64_t expected_end(const check *c, int64_t phase, int64_t step)
{
    int64_t limit = c->now - step;
    if (c->o->has_to && c->o->to_ms - 1 < limit)
        limit = c->o->to_ms - 1;
    return align_down(limit, phase, step) + step;
}

static void note(const check *c, const series *s, const char *what)
{
    fprintf(stderr, "coinpipe gaps: %s %s %s: %s\n", s->exchange, shown_symbol(s), s->interval, what);
}

/* a series with no candle in the range: with --from it is missing from there on */
static void empty_range(check *c, const series *s, int64_t step, int64_t phase, const char *why)
{
    if (!c->o->has_from) {
        note(c, s, why);
        return;
    }
    int64_t lo = align_up(c->o->from_ms, phase, step), hi = expected_end(c, phase, step);
    if (hi > lo)
        emit(c, s, step, lo, hi);
    else
        note(c, s, why);
}

static int64_t default_phase(int64_t step)
{
    return step % WEEK_MS == 0 ? MONDAY_MS % step : 0;
}

static int read_error(const reader *r, const char *what, cp_status st)
{
    fprintf(stderr, "coinpipe gaps: cannot %s of sink '%s' (plugin %s) in pipeline '%s': %s\n", what,
            r->sink_ec->name, r->sink_ec->plugin->name, r->pc->name,
            st == CP_RETRY ? "the database cannot be reached" : cp_strerror(st));
    return 2;
}

static int width(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w ? n : w;
}

/* lists the sink's series, keeps those of `want` (all when want is NULL) and reports the holes of
 * each; 0 done (see c's counters), 2 error */
static int run_check(reader *r, const series_list *want, check *c)
{
    const cp_plugin *d = &r->sink_ec->plugin->desc;
    series_list have = {0};
    cp_status st = d->stored_series(r->sink.data, &r->sink.ctx.pub, add_series, &have);
    if (st == CP_OK && have.oom)
        st = CP_ERR_NOMEM;
    if (st != CP_OK) {
        list_free(&have);
        return read_error(r, "list the candle series", st);
    }
    size_t nwant = want ? want->n : 0;
    bool *sel = calloc(have.n + 1, sizeof *sel), *found = calloc(nwant + 1, sizeof *found);
    if (!sel || !found) {
        free(sel);
        free(found);
        list_free(&have);
        return read_error(r, "read the candle series", CP_ERR_NOMEM);
    }
    c->w_ex = c->w_sym = c->w_iv = 0;
    for (size_t i = 0; i < have.n; i++) {
        for (size_t j = 0; want && j < want->n; j++)
            if (matches(&want->v[j], &have.v[i]))
                sel[i] = found[j] = true;
        if (!want)
            sel[i] = true;
        if (sel[i]) {
            c->w_ex = width(c->w_ex, have.v[i].exchange);
            c->w_sym = width(c->w_sym, shown_symbol(&have.v[i]));
            c->w_iv = width(c->w_iv, have.v[i].interval);
        }
    }
    for (size_t j = 0; j < nwant; j++)
        if (!found[j]) {
            c->w_ex = width(c->w_ex, want->v[j].exchange);
            c->w_sym = width(c->w_sym, shown_symbol(&want->v[j]));
            c->w_iv = width(c->w_iv, want->v[j].interval);
        }
    int rc = 0;
    int64_t from = c->o->has_from ? c->o->from_ms : INT64_MIN, to = c->o->has_to ? c->o->to_ms : INT64_MAX;
    for (size_t i = 0; i < have.n && rc == 0; i++) {
        if (!sel[i])
            continue;
        if (atomic_load(&r->stopping)) { /* SIGINT/SIGTERM: what was printed stands */
            fprintf(stderr, "coinpipe gaps: interrupted after %zu series\n", c->nseries);
            rc = 2;
            break;
        }
        const series *s = &have.v[i];
        int64_t step = core_util_interval_ms(s->interval);
        if (!s->symbol) {
            note(c, s, "the sink gave no symbol for it: not checked");
            continue;
        }
        if (step <= 0) {
            note(c, s, "the interval has no fixed length: not checked");
            continue;
        }
        c->cur = s;
        c->step = step;
        c->any = false;
        cp_series key = CP_SERIES(.exchange = s->exchange, .symbol = s->symbol, .native_symbol = s->native,
                                  .interval = s->interval);
        st = d->candle_gaps(r->sink.data, &r->sink.ctx.pub, &key, step, from, to, on_gap, c);
        if (st == CP_OK && c->record && c->record->oom)
            st = CP_ERR_NOMEM;
        if (st != CP_OK) {
            rc = read_error(r, "read the candles", st);
            break;
        }
        c->nseries++;
        if (!c->any) {
            empty_range(c, s, step, default_phase(step), "no candle stored in the range");
            continue;
        }
        if (c->o->has_to) {
            int64_t hi = expected_end(c, c->phase, step);
            if (hi > c->last + step)
                emit(c, s, step, c->last + step, hi);
        }
    }
    for (size_t j = 0; j < nwant && rc == 0; j++) {
        if (found[j])
            continue;
        const series *s = &want->v[j];
        int64_t step = core_util_interval_ms(s->interval);
        c->nseries++;
        if (step <= 0)
            note(c, s, "no candle stored (and the interval has no fixed length)");
        else
            empty_range(c, s, step, default_phase(step), "no candle stored");
    }
    if (c->out)
        fflush(c->out);
    free(sel);
    free(found);
    list_free(&have);
    return rc;
}

static int cmp_range(const void *a, const void *b)
{
    const core_range *x = a, *y = b;
    return x->from_ms < y->from_ms ? -1 : x->from_ms > y->from_ms ? 1 : 0;
}

/* sorts the holes of every series and joins those that overlap, touch or lie within
 * MERGE_CANDLES candles of each other: one backfill covers several series at once, and a
 * page that costs one request anyway is not split in two. Returns the number of ranges. */
size_t core_gaps_merge(core_range *v, const int64_t *step, size_t n)
{
    if (!n)
        return 0;
    int64_t min_step = step[0];
    for (size_t i = 1; i < n; i++)
        if (step[i] < min_step)
            min_step = step[i];
    qsort(v, n, sizeof *v, cmp_range);
    size_t out = 0;
    for (size_t i = 1; i < n; i++) {
        core_range *cur = &v[out];
        if (v[i].from_ms <= cur->to_ms || v[i].to_ms - cur->from_ms <= MERGE_CANDLES * min_step) {
            if (v[i].to_ms > cur->to_ms)
                cur->to_ms = v[i].to_ms;
        } else {
            v[++out] = v[i];
        }
    }
    return out + 1;
}

static void reader_close(reader *r)
{
    core_instance_destroy(&r->sink);
    core_instance_destroy(&r->src);
}

static int reader_open(reader *r)
{
    const core_element_cfg *e = r->sink_ec;
    core_instance_init(&r->sink, &(core_instance_opts){
                                     .pipeline = r->pc->name, .ec = e, .state_dir = r->state_dir, .stopping = &r->stopping});
    cp_status st = core_instance_create(&r->sink);
    if (st != CP_OK) {
        fprintf(stderr, "coinpipe gaps: sink '%s' (plugin %s) of pipeline '%s' could not start: %s\n",
                e->name, e->plugin->name, r->pc->name, cp_strerror(st));
        return 2;
    }
    e = r->src_ec;
    if (!e->plugin->desc.candle_series)
        return 0;
    core_instance_init(&r->src, &(core_instance_opts){
                                    .pipeline = r->pc->name, .ec = e, .state_dir = r->state_dir, .stopping = &r->stopping});
    st = core_instance_create(&r->src);
    if (st != CP_OK) {
        fprintf(stderr, "coinpipe gaps: source '%s' (plugin %s) of pipeline '%s' could not start: %s\n",
                e->name, e->plugin->name, r->pc->name, cp_strerror(st));
        return 2;
    }
    return 0;
}

static void summary(const check *c, const reader *r, const char *tail)
{
    fprintf(
        stderr,
        "coinpipe gaps: pipeline '%s', sink '%s': %zu series checked, %llu gap%s, %llu missing candle%s%s\n",
        r->pc->name, r->sink_ec->name, c->nseries, (unsigned long long)c->ngaps, c->ngaps == 1 ? "" : "s",
        (unsigned long long)c->missing, c->missing == 1 ? "" : "s", tail ? tail : "");
}

/* backfills the merged holes through the pipeline's own runtime; its exit code */
static int fill(core_config *cfg, const reader *r, gap_list *g)
{
    size_t n = core_gaps_merge(g->v, g->step, g->n);
    fprintf(stderr, "coinpipe gaps: backfilling %zu time range%s through pipeline '%s'\n", n,
            n == 1 ? "" : "s", r->pc->name);
    core_runtime_block_signals(); /* no thread runs yet: the reader's plugins start none */
    core_run_opts opts = {.only_pipeline = r->pc->name, .borrow_config = true};
    char err[768];
    core_runtime *rt = core_runtime_new(cfg, &opts, err, sizeof err);
    int rc;
    if (!rt) {
        LOG_ERROR("%s", err);
        rc = 2;
    } else {
        rc = core_runtime_backfill_ranges(rt, g->v, n);
        core_runtime_free(rt);
    }
    core_runtime_unblock_signals();
    return rc;
}

int core_gaps_main(core_config *cfg, const core_gaps_opts *o)
{
    reader r = {.state_dir = cfg->state_dir};
    atomic_init(&r.stopping, false);
    for (size_t i = 0; i < cfg->npipelines && !r.pc; i++)
        if (!strcmp(cfg->pipelines[i].name, o->pipeline))
            r.pc = &cfg->pipelines[i];
    if (!r.pc) {
        fprintf(stderr, "coinpipe gaps: no pipeline named '%s' in %s\n", o->pipeline, cfg->file);
        return 2;
    }
    if (core_ddl_pipeline_writes(r.pc, "ohlcv") == 0) {
        fprintf(stderr, "coinpipe gaps: pipeline '%s' writes no candles (no ohlcv stream): nothing to check\n",
                r.pc->name);
        return 0;
    }
    for (size_t i = 0; i < r.pc->nsinks && !r.sink_ec; i++)
        if (r.pc->sinks[i].plugin->desc.stored_series && r.pc->sinks[i].plugin->desc.candle_gaps)
            r.sink_ec = &r.pc->sinks[i];
    if (!r.sink_ec) {
        fprintf(stderr,
                "coinpipe gaps: pipeline '%s' has no SQL sink to read candles from (no sink plugin "
                "with the stored_series and candle_gaps callbacks)\n",
                r.pc->name);
        return 2;
    }
    r.src_ec = &r.pc->source;
    const cp_plugin *src = &r.src_ec->plugin->desc;
    if (o->fill && (!src->candle_series || !src->backfill)) {
        fprintf(stderr, "coinpipe gaps: --fill: source plugin %s of pipeline '%s' %s\n",
                r.src_ec->plugin->name, r.pc->name,
                !src->backfill ? "cannot backfill" : "does not list its candle series");
        return 2;
    }
    core_http_init(); /* a source's create() declares its hosts' limits */
    core_instance_stop_on_signals(&r.stopping);
    int rc = reader_open(&r);
    series_list want = {0};
    if (rc == 0 && r.src.data) {
        cp_status st = src->candle_series(r.src.data, &r.src.ctx.pub, add_series, &want);
        if (st == CP_OK && want.oom)
            st = CP_ERR_NOMEM;
        if (st != CP_OK) {
            fprintf(stderr, "coinpipe gaps: source '%s' of pipeline '%s' cannot list its candle series: %s\n",
                    r.src_ec->name, r.pc->name, cp_strerror(st));
            rc = 2;
        } else if (!want.n) {
            fprintf(stderr, "coinpipe gaps: pipeline '%s' collects no candles (its source lists no ohlcv series): "
                            "nothing to check\n", r.pc->name);
            list_free(&want);
            reader_close(&r);
            core_instance_stop_on_signals(NULL);
            core_http_shutdown();
            return 0;
        }
    } else if (rc == 0) {
        fprintf(stderr,
                "coinpipe gaps: source plugin %s does not list its candle series: checking every series in "
                "the ohlcv table of sink '%s'\n",
                r.src_ec->plugin->name, r.sink_ec->name);
    }
    gap_list holes = {0};
    check c = {
        .o = o, .out = o->fill ? NULL : stdout, .record = o->fill ? &holes : NULL, .now = core_util_now_ms()};
    if (rc == 0)
        rc = run_check(&r, r.src.data ? &want : NULL, &c);
    if (rc == 0 && !o->fill) {
        summary(&c, &r, NULL);
        rc = c.ngaps ? 1 : 0;
    } else if (rc == 0 && !c.ngaps) {
        summary(&c, &r, ": nothing to fill");
    } else if (rc == 0) {
        summary(&c, &r, " found");
        int frc = fill(cfg, &r, &holes);
        check again = {.o = o, .out = stdout, .now = core_util_now_ms()};
        rc = run_check(&r, &want, &again);
        if (rc == 0) {
            char tail[256];
            snprintf(tail, sizeof tail, " left after backfilling%s",
                     !again.ngaps ? ""
                     : frc        ? " (the backfill failed or was interrupted: run again)"
                                  : ": the exchange has no candles there (e.g. an outage); not retried");
            summary(&again, &r, tail);
            rc = frc ? 2 : again.ngaps ? 1 : 0;
        }
    }
    free(holes.v);
    free(holes.step);
    list_free(&want);
    reader_close(&r);
    core_instance_stop_on_signals(NULL);
    core_http_shutdown();
    return rc;
}
