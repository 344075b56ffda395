/* spread transform: consumes book_top (+ book_level) batches, emits `spread` rows.
 * SPDX-License-Identifier: MIT
 *
 * Consumes: book_top, and book_level when the source emits it. Emits: spread (docs/streams.md):
 * bid/ask exact text, mid, spread, spread_bps, microprice, imbalance, bid_depth/ask_depth.
 * Every input batch passes through unchanged.
 *
 * Definitions (per book_top row):
 *   mid = (bid + ask) / 2, spread = ask - bid, spread_bps = spread / mid * 10000,
 *   microprice = (bid * ask_size + ask * bid_size) / (bid_size + ask_size),
 *   imbalance = bid_size / (bid_size + ask_size)   (NULL when the sizes are missing or 0),
 *   bid_depth = sum of bid level sizes priced >= mid * (1 - depth_bps / 10000),
 *   ask_depth = sum of ask level sizes priced <= mid * (1 + depth_bps / 10000),
 *   from the book_level rows of the same exchange, symbol and ts; NULL without them.
 * A crossed book (bid > ask) or an empty one (bid or ask missing or <= 0) is logged at warn
 * with exchange and symbol and gives no row. A locked book (bid == ask) gives spread 0.
 *
 * Pairing book_top with book_level, whichever batch comes first, so that each book_top row
 * gives exactly one spread row (sinks keep the first row of a key, and CSV appends every row):
 * - Level rows are buffered per (exchange, symbol, ts), the latest MAX_SNAPSHOTS snapshots
 *   per exchange/symbol.
 * - A book_top row whose levels are buffered is emitted at once with depths.
 * - Any other book_top row is held until its levels come (then emitted with depths), until a
 *   newer book_top of the same exchange/symbol arrives, or until the end of the cycle (the
 *   tick callback, also about once a second on a continuous pipeline), whichever is first;
 *   the last two emit it with NULL depths. So a pipeline without book_level gets its rows in
 *   the same cycle, and the first cycle, whose tops come before their levels, writes complete
 *   rows.
 */
#include <coinpipe/coinpipe.h>
#include <coinpipe/streams.h>

#include <math.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SNAPSHOTS 4 /* buffered book_level snapshots per exchange/symbol */
#define TEXT_MAX 64     /* longest decimal text the batch model accepts */

typedef struct spread_config {
    double depth_bps;
} spread_config;

static const cp_option spread_options[] = {
    {.name = "depth_bps", .type = CP_OPT_DOUBLE, .def = "10", .min = 0.001, .max = 10000,
     .offset = offsetof(spread_config, depth_bps),
     .doc = "Half-width of the band around mid, in basis points, whose book_level sizes make bid_depth and ask_depth."},
    CP_OPTION_END,
};

typedef struct level {
    bool bid;
    double price, size;
} level;

typedef struct snapshot {
    bool used;
    int64_t ts;
    size_t n, cap;
    level *v;
} snapshot;

/* One book_top row, copied. */
typedef struct top {
    int64_t ts, received_at;
    bool has_received_at;
    char bid_text[TEXT_MAX + 1], ask_text[TEXT_MAX + 1];
    double bid, ask, bid_size, ask_size;
} top;

typedef struct book {
    char *exchange, *symbol; /* one allocation: "exchange\0symbol\0" */
    bool pending;            /* `last` waits for its levels */
    top last;                /* the latest book_top row */
    snapshot snaps[MAX_SNAPSHOTS];
    struct book *next;       /* every book, for the tick */
} book;

typedef struct spread {
    double depth_bps;
    void *books; /* tsearch tree of book * */
    book *cached; /* last looked-up book */
    book *all, **tail; /* the same books as a list, in the order they first came */
} spread;

static int book_cmp(const void *a, const void *b)
{
    const book *x = a, *y = b;
    int c = strcmp(x->exchange, y->exchange);
    return c ? c : strcmp(x->symbol, y->symbol);
}

static void book_free(void *p)
{
    book *bk = p;
    for (int i = 0; i < MAX_SNAPSHOTS; i++)
        free(bk->snaps[i].v);
    free(bk->exchange);
    free(bk);
}

/* Finds or creates the book of exchange/symbol; NULL when out of memory. */
static book *book_get(spread *s, const char *exchange, const char *symbol)
{
    if (s->cached && strcmp(s->cached->exchange, exchange) == 0 && strcmp(s->cached->symbol, symbol) == 0)
        return s->cached;
    book key = {.exchange = (char *)exchange, .symbol = (char *)symbol};
    void *found = tfind(&key, &s->books, book_cmp);
    if (found)
        return s->cached = *(book **)found;
    size_t le = strlen(exchange) + 1, ls = strlen(symbol) + 1;
    book *bk = calloc(1, sizeof *bk);
    char *names = malloc(le + ls);
    if (!bk || !names) {
        free(bk);
        free(names);
        return NULL;
    }
    memcpy(names, exchange, le);
    memcpy(names + le, symbol, ls);
    bk->exchange = names;
    bk->symbol = names + le;
    if (!tsearch(bk, &s->books, book_cmp)) {
        book_free(bk);
        return NULL;
    }
    *(s->tail ? s->tail : &s->all) = bk;
    s->tail = &bk->next;
    return s->cached = bk;
}

static snapshot *snapshot_find(book *bk, int64_t ts)
{
    for (int i = 0; i < MAX_SNAPSHOTS; i++)
        if (bk->snaps[i].used && bk->snaps[i].ts == ts)
            return &bk->snaps[i];
    return NULL;
}

/* The snapshot for ts, reusing the oldest slot when all are taken. */
static snapshot *snapshot_slot(book *bk, int64_t ts)
{
    snapshot *sn = snapshot_find(bk, ts);
    if (sn)
        return sn;
    sn = &bk->snaps[0];
    for (int i = 0; i < MAX_SNAPSHOTS; i++) {
        if (!bk->snaps[i].used) {
            sn = &bk->snaps[i];
            break;
        }
        if (bk->snaps[i].ts < sn->ts)
            sn = &bk->snaps[i];
    }
    sn->used = true;
    sn->ts = ts;
    sn->n = 0;
    return sn;
}

static void snapshot_release(snapshot *sn)
{
    sn->used = false;
    sn->n = 0;
}

typedef struct out_ctx {
    cp_ctx *ctx;
    cp_batch *out;
    size_t rows_hint;
    cp_status st;
} out_ctx;

/* Appends one spread row for `t` (depths from `sn` when not NULL). */
static void emit_row(spread *s, out_ctx *oc, const book *bk, const top *t, const snapshot *sn)
{
    cp_ctx *ctx = oc->ctx;
    if (oc->st != CP_OK)
        return;
    if (!oc->out) {
        oc->out = cp_batch_new(ctx, &cp_spread_schema, oc->rows_hint);
        if (!oc->out) {
            oc->st = CP_ERR_NOMEM;
            return;
        }
    }
    cp_batch *b = oc->out;
    size_t r = cp_batch_add_row(ctx, b);
    if (r == SIZE_MAX) {
        oc->st = CP_ERR_NOMEM;
        return;
    }
    double mid = (t->bid + t->ask) / 2.0, spr = t->ask - t->bid;
    unsigned bad = 0; /* any setter failing */
    bad |= cp_batch_set_string(ctx, b, r, CP_SPREAD_EXCHANGE, bk->exchange, strlen(bk->exchange)) != CP_OK;
    bad |= cp_batch_set_string(ctx, b, r, CP_SPREAD_SYMBOL, bk->symbol, strlen(bk->symbol)) != CP_OK;
    bad |= cp_batch_set_int(ctx, b, r, CP_SPREAD_TS, t->ts) != CP_OK;
    if (t->has_received_at)
        bad |= cp_batch_set_int(ctx, b, r, CP_SPREAD_RECEIVED_AT, t->received_at) != CP_OK;
    bad |= cp_batch_set_decimal(ctx, b, r, CP_SPREAD_BID, t->bid_text, strlen(t->bid_text)) != CP_OK;
    bad |= cp_batch_set_decimal(ctx, b, r, CP_SPREAD_ASK, t->ask_text, strlen(t->ask_text)) != CP_OK;
    bad |= cp_batch_set_double(ctx, b, r, CP_SPREAD_MID, mid) != CP_OK;
    bad |= cp_batch_set_double(ctx, b, r, CP_SPREAD_SPREAD, spr) != CP_OK;
    bad |= cp_batch_set_double(ctx, b, r, CP_SPREAD_SPREAD_BPS, spr / mid * 10000.0) != CP_OK;
    double sizes = t->bid_size + t->ask_size;
    if (t->bid_size >= 0 && t->ask_size >= 0 && sizes > 0) { /* false for NAN sizes too */
        double micro = (t->bid * t->ask_size + t->ask * t->bid_size) / sizes;
        bad |= cp_batch_set_double(ctx, b, r, CP_SPREAD_MICROPRICE, micro) != CP_OK;
        bad |= cp_batch_set_double(ctx, b, r, CP_SPREAD_IMBALANCE, t->bid_size / sizes) != CP_OK;
    }
    if (sn) {
        double lo = mid * (1.0 - s->depth_bps / 10000.0), hi = mid * (1.0 + s->depth_bps / 10000.0);
        double bd = 0, ad = 0;
        for (size_t i = 0; i < sn->n; i++) {
            const level *l = &sn->v[i];
            if (l->bid && l->price >= lo)
                bd += l->size;
            else if (!l->bid && l->price <= hi)
                ad += l->size;
        }
        bad |= cp_batch_set_double(ctx, b, r, CP_SPREAD_BID_DEPTH, bd) != CP_OK;
        bad |= cp_batch_set_double(ctx, b, r, CP_SPREAD_ASK_DEPTH, ad) != CP_OK;
    }
    if (bad) { /* cannot happen with the catalog schema; keep the batch sane anyway */
        cp_batch_drop_last_row(ctx, b);
        cp_log_error(ctx, "cannot build the spread row of exchange=%s symbol=%s", bk->exchange, bk->symbol);
    }
}

/* Emits the held top of `bk` (with its levels if buffered) and clears the hold. */
static void flush_pending(spread *s, out_ctx *oc, book *bk)
{
    if (!bk->pending)
        return;
    snapshot *sn = snapshot_find(bk, bk->last.ts);
    emit_row(s, oc, bk, &bk->last, sn);
    if (sn)
        snapshot_release(sn);
    bk->pending = false;
}

typedef struct cols {
    int exchange, symbol, ts;
} cols;

static bool key_cols(cp_ctx *ctx, const cp_batch *b, cols *c)
{
    c->exchange = cp_batch_col(ctx, b, "exchange");
    c->symbol = cp_batch_col(ctx, b, "symbol");
    c->ts = cp_batch_col(ctx, b, "ts");
    return c->exchange >= 0 && c->symbol >= 0 && c->ts >= 0;
}

/* Reads the key of row r; false (and a warning) when part of it is NULL. */
static bool row_key(cp_ctx *ctx, const cp_batch *b, size_t r, const cols *c, const char **ex, const char **sym,
                    int64_t *ts, const char *stream)
{
    *ex = cp_batch_get_text(ctx, b, r, (size_t)c->exchange, NULL);
    *sym = cp_batch_get_text(ctx, b, r, (size_t)c->symbol, NULL);
    if (!*ex || !*sym || cp_batch_is_null(ctx, b, r, (size_t)c->ts)) {
        cp_log_warn(ctx, "%s row %zu has no exchange, symbol or ts; skipped", stream, r);
        return false;
    }
    *ts = cp_batch_get_int(ctx, b, r, (size_t)c->ts);
    return true;
}

static void copy_text(char *dst, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > TEXT_MAX)
        n = TEXT_MAX;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static void process_tops(spread *s, out_ctx *oc, const cp_batch *b)
{
    cp_ctx *ctx = oc->ctx;
    cols c;
    int cbid = cp_batch_col(ctx, b, "bid"), cask = cp_batch_col(ctx, b, "ask");
    int cbs = cp_batch_col(ctx, b, "bid_size"), cas = cp_batch_col(ctx, b, "ask_size");
    int crx = cp_batch_col(ctx, b, "received_at");
    if (!key_cols(ctx, b, &c) || cbid < 0 || cask < 0 || cbs < 0 || cas < 0) {
        cp_log_warn(ctx, "book_top batch without the columns of docs/streams.md; ignored");
        return;
    }
    size_t n = cp_batch_rows(ctx, b);
    for (size_t r = 0; r < n && oc->st == CP_OK; r++) {
        const char *ex, *sym;
        int64_t ts;
        if (!row_key(ctx, b, r, &c, &ex, &sym, &ts, "book_top"))
            continue;
        top t = {.ts = ts};
        const char *bt = cp_batch_get_text(ctx, b, r, (size_t)cbid, NULL);
        const char *at = cp_batch_get_text(ctx, b, r, (size_t)cask, NULL);
        t.bid = cp_batch_get_double(ctx, b, r, (size_t)cbid);
        t.ask = cp_batch_get_double(ctx, b, r, (size_t)cask);
        t.bid_size = cp_batch_get_double(ctx, b, r, (size_t)cbs);
        t.ask_size = cp_batch_get_double(ctx, b, r, (size_t)cas);
        if (crx >= 0 && !cp_batch_is_null(ctx, b, r, (size_t)crx)) {
            t.has_received_at = true;
            t.received_at = cp_batch_get_int(ctx, b, r, (size_t)crx);
        }
        if (!bt || !at || !(t.bid > 0) || !(t.ask > 0)) {
            cp_log_warn(ctx, "empty book: exchange=%s symbol=%s ts=%lld has no bid or no ask; no spread row", ex, sym,
                        (long long)ts);
            continue;
        }
        if (t.bid > t.ask) {
            cp_log_warn(ctx, "crossed book: exchange=%s symbol=%s ts=%lld bid=%s > ask=%s; no spread row", ex, sym,
                        (long long)ts, bt, at);
            continue;
        }
        copy_text(t.bid_text, bt);
        copy_text(t.ask_text, at);
        book *bk = book_get(s, ex, sym);
        if (!bk) {
            oc->st = CP_ERR_NOMEM;
            return;
        }
        if (bk->pending && bk->last.ts != ts)
            flush_pending(s, oc, bk); /* its levels never came */
        bk->last = t;
        snapshot *sn = snapshot_find(bk, ts);
        if (sn) {
            emit_row(s, oc, bk, &t, sn);
            bk->pending = false;
            snapshot_release(sn);
        } else {
            bk->pending = true; /* until its levels, a newer top or the tick */
        }
    }
}

static void process_levels(spread *s, out_ctx *oc, const cp_batch *b)
{
    cp_ctx *ctx = oc->ctx;
    cols c;
    int cside = cp_batch_col(ctx, b, "side"), cprice = cp_batch_col(ctx, b, "price"),
        csize = cp_batch_col(ctx, b, "size");
    if (!key_cols(ctx, b, &c) || cside < 0 || cprice < 0 || csize < 0) {
        cp_log_warn(ctx, "book_level batch without the columns of docs/streams.md; ignored");
        return;
    }
    size_t n = cp_batch_rows(ctx, b);
    book *bk = NULL;
    snapshot *sn = NULL;
    /* pass 1: buffer the levels, snapshot by snapshot (rows of one snapshot are usually adjacent) */
    for (size_t r = 0; r < n; r++) {
        const char *ex, *sym, *side;
        int64_t ts;
        if (!row_key(ctx, b, r, &c, &ex, &sym, &ts, "book_level"))
            continue;
        side = cp_batch_get_text(ctx, b, r, (size_t)cside, NULL);
        double price = cp_batch_get_double(ctx, b, r, (size_t)cprice);
        double size = cp_batch_get_double(ctx, b, r, (size_t)csize);
        if (!side || (strcmp(side, "bid") != 0 && strcmp(side, "ask") != 0) || !(price > 0) || !(size >= 0))
            continue; /* not a usable level */
        if (!bk || !sn || sn->ts != ts || strcmp(bk->exchange, ex) != 0 || strcmp(bk->symbol, sym) != 0) {
            bk = book_get(s, ex, sym);
            if (!bk) {
                oc->st = CP_ERR_NOMEM;
                return;
            }
            sn = snapshot_slot(bk, ts);
        }
        if (sn->n == sn->cap) {
            size_t cap = sn->cap ? sn->cap * 2 : 32;
            level *v = realloc(sn->v, cap * sizeof *v);
            if (!v) {
                oc->st = CP_ERR_NOMEM;
                return;
            }
            sn->v = v;
            sn->cap = cap;
        }
        sn->v[sn->n++] = (level){.bid = side[0] == 'b', .price = price, .size = size};
    }
    /* pass 2: complete the tops that wait for these levels */
    bk = NULL;
    for (size_t r = 0; r < n && oc->st == CP_OK; r++) {
        const char *ex = cp_batch_get_text(ctx, b, r, (size_t)c.exchange, NULL);
        const char *sym = cp_batch_get_text(ctx, b, r, (size_t)c.symbol, NULL);
        if (!ex || !sym || (bk && strcmp(bk->exchange, ex) == 0 && strcmp(bk->symbol, sym) == 0))
            continue; /* no key, or the book of the previous row */
        bk = book_get(s, ex, sym);
        if (!bk) {
            oc->st = CP_ERR_NOMEM;
            return;
        }
        if (bk->pending && snapshot_find(bk, bk->last.ts))
            flush_pending(s, oc, bk);
    }
}

static cp_status spread_create(cp_ctx *ctx, const void *config, void **instance)
{
    const spread_config *cfg = config;
    spread *s = calloc(1, sizeof *s);
    if (!s)
        return CP_ERR_NOMEM;
    s->depth_bps = cfg->depth_bps;
    *instance = s;
    return CP_OK;
}

static void spread_destroy(void *instance)
{
    spread *s = instance;
    tdestroy(s->books, book_free);
    free(s);
}

/* Emits what `oc` collected; its status. */
static cp_status finish(cp_ctx *ctx, out_ctx *oc)
{
    if (oc->out) {
        if (oc->st == CP_OK)
            oc->st = cp_emit(ctx, oc->out);
        else
            cp_batch_free(ctx, oc->out);
    }
    if (oc->st == CP_ERR_NOMEM)
        cp_log_error(ctx, "out of memory");
    return oc->st;
}

static cp_status spread_process(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    spread *s = instance;
    const char *stream = cp_batch_schema(ctx, batch)->stream;
    bool tops = strcmp(stream, "book_top") == 0;
    if (!tops && strcmp(stream, "book_level") != 0)
        return CP_OK;
    out_ctx oc = {.ctx = ctx, .rows_hint = tops ? cp_batch_rows(ctx, batch) : 16, .st = CP_OK};
    if (tops)
        process_tops(s, &oc, batch);
    else
        process_levels(s, &oc, batch);
    return finish(ctx, &oc);
}

/* The end of a cycle: the tops still waiting for their levels go out without depths. */
static cp_status spread_tick(void *instance, cp_ctx *ctx, int64_t now_ms)
{
    (void)now_ms;
    spread *s = instance;
    out_ctx oc = {.ctx = ctx, .rows_hint = 16, .st = CP_OK};
    for (book *bk = s->all; bk && oc.st == CP_OK; bk = bk->next)
        flush_pending(s, &oc, bk);
    return finish(ctx, &oc);
}

/* declares `spread` when book_top reaches the transform (its rows come from book_top rows) */
static cp_status spread_schemas(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                                cp_schema_fn fn, void *user)
{
    for (size_t i = 0; i < ninputs; i++)
        if (strcmp(inputs[i]->stream, "book_top") == 0) {
            fn(user, &cp_spread_schema);
            break;
        }
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "spread", .kind = CP_TRANSFORM, .version = "1.0.0",
                 .description = "Spread, mid, microprice, imbalance and depth around mid from book_top/book_level",
                 .options = spread_options, .config_size = sizeof(spread_config), .create = spread_create,
                 .destroy = spread_destroy, .process = spread_process, .schemas = spread_schemas,
                 .tick = spread_tick);
