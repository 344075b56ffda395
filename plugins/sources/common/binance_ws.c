/* Binance's WebSocket market streams (mode = "stream") for the binance-spot and binance-futures sources.
 * SPDX-License-Identifier: MIT
 *
 * Streams (spot <s>@... on ws_url/stream, USD-M futures the same where not said):
 *   trade        <s>@trade (spot, id t) / <s>@aggTrade (futures, aggregate id a): ids checked one by
 *                one; after a reconnect, a restart or a skipped id the missing ones come over REST
 *                (/api/v3/historicalTrades?fromId= / /fapi/v1/aggTrades?fromId=) before the stream
 *                moves on; an id seen before is not emitted again
 *   book_top     <s>@bookTicker
 *   ohlcv        <s>@kline_<i>, closed candles; those that closed while a connection was down (or
 *                coinpipe stopped) come from the incremental klines path (bn_catch_up_candles)
 *   ticker       <s>@ticker (the 24-hour rolling window)
 *   book_level   a local order book per symbol from <s>@depth@100ms and a REST snapshot
 *                (P/depth?limit=1000), kept by Binance's documented rules (below); its top `depth`
 *                levels are written every book_interval when it changed
 *   funding      <s>@markPrice@1s (futures)
 *   liquidation  <s>@forceOrder (futures)
 *
 * Connections. The streams are spread over connections of at most ws_max_streams (Binance allows
 * 1024 a connection): as many as fit in URL_BUDGET bytes ride in the URL (/stream?streams=a/b),
 * the rest are asked for in SUBSCRIBE messages of SUB_CHUNK streams, one every CTL_GAP_MS (Binance
 * counts pings, pongs and requests against 5 incoming messages a second a connection). A
 * connection silent for stall_timeout is dropped; reconnects back off exponentially with jitter,
 * each connection on its own. Binance ends a connection after 24 hours: at ws_max_age a
 * replacement is opened beside it and takes over once it is subscribed, has delivered a trade the
 * old one had delivered, and no symbol's last trade on it ran ahead of the old one (or after
 * HANDOVER_MS, when a repair fills what falls between), so no trade falls between the two; until
 * then it only contributes the trade that comes next, and what it brings twice is dropped by id.
 * A connection quiet for half of stall_timeout is asked GET_PROPERTY: its answer tells a quiet
 * market from a dead connection.
 *
 * The local order book. An update event carries U (first update id), u (last) and, on futures,
 * pu (the previous event's u). The first event of a symbol (or the first after a loss) fetches a
 * snapshot with lastUpdateId L while the stream's events wait in the inbox; then, spot: events
 * with u <= L are dropped, the first applied must have U <= L + 1 <= u, and each next U = the
 * previous u + 1; futures: events with u < L are dropped, the first applied must have U <= L <= u,
 * and each next pu = the previous u. Anything else is a gap: it is logged and counted, the book is
 * dropped and rebuilt from a new snapshot, and the event is tried again on it. Quantities are
 * absolute (0 removes the level); at most BOOK_MAX levels are kept a side.
 */
#include "binance.h"
#include "common/book.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_BUDGET 1500   /* bytes of stream names carried in a connection's URL */
#define SUB_CHUNK 100     /* streams per SUBSCRIBE */
#define CTL_GAP_MS 250    /* between two control messages of a connection (Binance: at most 5/s) */
#define HANDOVER_MS 5000  /* a replacement that has not caught up by then takes over anyway */
#define BOOK_MAX 5000     /* levels kept per side of a local book */
#define TXT_MAX SU_BOOK_TEXT /* longest price or quantity text of a book level */
#define SNAPSHOT_LIMIT 1000

const char *const bn_modes[] = {"poll", "stream", NULL};

typedef struct book {
    su_side bid, ask;
    int64_t u;       /* the book's update id: the snapshot's lastUpdateId, then each applied event's u */
    int64_t ts;      /* event time of the last update */
    bool synced;     /* a snapshot was applied */
    bool first;      /* no event applied on the snapshot yet */
    bool dirty;      /* changed since written */
    int64_t retry_at; /* no snapshot before this (after a failed one) */
    int64_t written;  /* ts of the rows written last */
    bool gap;         /* a gap waits for its snapshot (then counted as filled) */
} book;

typedef struct stream_ref {
    size_t sym;
    int kind; /* BN_ST_* */
} stream_ref;

struct conn;

typedef struct link {
    struct conn *c;
    cp_ws *ws;
    bool open, closed, caught_up;
    int64_t opened, open_at, last_msg;
    size_t sent;      /* the connection's streams asked for so far (the URL's, then SUBSCRIBEs) */
    int64_t next_ctl; /* earliest time for the next control message */
    int64_t req_id;
    int64_t probed;   /* when a quiet link was last asked whether it is alive */
} link;

typedef struct conn {
    struct bn_live *lv;
    size_t no;                   /* 1-based, for the log */
    size_t first, count, in_url; /* plan[first .. first + count); the URL carries the first in_url */
    char *url;
    link l[2]; /* l[cur] serves; l[!cur] is its replacement during a handover */
    int cur;
    bool repair;          /* repair what was missed when the serving link opens */
    const char *why;      /* "reconnect" or "restart" */
    size_t ahead;         /* symbols whose last trade on the replacement was ahead of the serving link */
    int64_t backoff, retry_at, handover_retry;
} conn;

typedef struct bn_live {
    bn *b;
    cp_ctx *ctx;
    stream_ref *plan;
    size_t nplan;
    conn *conns;
    size_t nconn;
    int64_t *last_trade, *saved_trade;            /* per symbol, -1 before the first */
    int64_t *cand_from, *cand_done, *cand_saved;  /* per symbol: catch-up start, newest closed, saved */
    bool *ahead; /* per symbol: its last trade on a replacement link was ahead of the serving link */
    size_t *top_row; /* per symbol: its last book_top row (su_keep_last) */
    book *books;
    uint32_t *symtab; /* sym_of's table */
    size_t symmask;
    cp_batch *out[BN_ST_COUNT];
    int64_t next_book;
    uint64_t messages, bad, repairs, repaired_rows, reconnects, resyncs;
    uint64_t counted, counted_bad; /* reported to the metrics so far */
    bool ready;                    /* live_init succeeded */
} bn_live;

static const cp_schema *const out_schemas[BN_ST_COUNT] = {
    &cp_ticker_schema, &cp_book_top_schema, &cp_book_level_schema, &cp_trade_schema,
    &cp_ohlcv_schema,  &cp_funding_schema,  &cp_open_interest_schema, &cp_liquidation_schema};

/* ---- the local order book ------------------------------------------------------------------ */

/* a decimal as Binance writes prices and quantities: digits, at most one point */
static bool dec_text(const sj_val *v, char *out)
{
    if ((v->type != SJ_STRING && v->type != SJ_NUMBER) || v->len == 0 || v->len >= TXT_MAX || v->esc)
        return false;
    bool digit = false, point = false;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->p[i];
        if (c >= '0' && c <= '9')
            digit = true;
        else if (c == '.' && !point)
            point = true;
        else
            return false;
    }
    memcpy(out, v->p, v->len);
    out[v->len] = 0;
    return digit;
}

/* sets (q > 0) or removes (q = 0) the level at p (texts dec_text accepted); false when out of memory */
static bool level_set(su_side *s, const char *p, const char *q)
{
    return su_side_set(s, strtod(p, NULL), strtod(q, NULL), p, q);
}

/* the levels [[price, qty, ...], ...] of the array at v (a span of the message) into s */
static bool side_apply(su_side *s, const sj_val *v, const char **bad)
{
    sj j;
    sj_val arr, l, two[2];
    sj_init(&j, v->p, v->len);
    if (!sj_value(&j, &arr) || arr.type != SJ_ARRAY)
        return *bad = "levels", false;
    while (sj_next(&j)) {
        size_t m = 0;
        char p[TXT_MAX], q[TXT_MAX];
        if (!sj_value(&j, &l) || l.type != SJ_ARRAY || !sj_elements(&j, two, 2, &m) || m < 2)
            return *bad = "level", false;
        if (!dec_text(&two[0], p) || !dec_text(&two[1], q))
            return *bad = "level price or quantity", false;
        if (!level_set(s, p, q))
            return *bad = "out of memory", false;
    }
    if (j.err)
        return *bad = "levels", false;
    return true;
}

static void book_clear(book *bk)
{
    bk->bid.n = bk->ask.n = 0;
    bk->synced = bk->first = bk->dirty = false;
}

/* Fetches a snapshot of symbol si's book over REST and puts it in place of the book. */
static bool book_snapshot(bn_live *lv, size_t si)
{
    bn *b = lv->b;
    cp_ctx *ctx = lv->ctx;
    book *bk = &lv->books[si];
    const char *native = b->sym[si].native;
    char url[1024];
    snprintf(url, sizeof url, "%s%s/depth?symbol=%s&limit=%d", b->base, b->api->prefix, native,
             SNAPSHOT_LIMIT);
    cp_http_request rq = CP_HTTP_REQUEST(.url = url, .weight = b->api->futures ? 20 : 50);
    cp_http_response rs;
    cp_http_perform(ctx, &rq, &rs, 1);
    cp_status st = su_check(ctx, "depth", &rs);
    book_clear(bk);
    bk->retry_at = cp_now_ms(ctx) + 1000;
    const char *bad = NULL;
    if (st == CP_OK) {
        sj j;
        sj_val v, key, x, lu = {.type = SJ_NONE}, et = {.type = SJ_NONE};
        bool sides[2] = {false, false};
        if (!su_json_begin(ctx, "depth", &rs, &j, &v) || v.type != SJ_OBJECT) {
            bad = "not an object";
        } else {
            while (!bad && sj_member(&j, &key)) {
                const char *at = j.p;
                if (!sj_value(&j, &x) || !sj_skip(&j, &x))
                    break;
                int sd = sj_eq(&key, "bids", 4) ? 0 : sj_eq(&key, "asks", 4) ? 1 : -1;
                if (sd >= 0) {
                    sj_val span = {.type = x.type, .p = at, .len = (size_t)(j.p - at)};
                    sides[sd] = side_apply(sd ? &bk->ask : &bk->bid, &span, &bad);
                } else if (sj_eq(&key, "lastUpdateId", 12)) {
                    lu = x;
                } else if (sj_eq(&key, "E", 1)) {
                    et = x;
                }
            }
            if (!bad && (j.err || !sj_end(&j)))
                bad = j.err ? j.err : "trailing data";
            if (!bad && (!sj_int(&lu, &bk->u) || !sides[0] || !sides[1]))
                bad = "expected lastUpdateId, bids and asks";
        }
        if (!bad) {
            bk->ts = rs.received_at;
            if (et.type == SJ_NUMBER) /* futures give the snapshot's time */
                sj_int(&et, &bk->ts);
            bk->synced = bk->first = bk->dirty = true;
        }
    }
    cp_http_response_clear(ctx, &rs);
    if (!bk->synced) {
        book_clear(bk);
        cp_log_error(ctx, "book: %s depth snapshot failed (%s); the book waits for a new one", native,
                     st != CP_OK ? cp_strerror(st) : bad);
        return false;
    }
    cp_log_info(ctx, "book: %s snapshot at update id %" PRId64 " (%zu bids, %zu asks)", native, bk->u, bk->bid.n,
                bk->ask.n);
    return true;
}

/* The top `depth` levels of each side as book_level rows. */
static void book_rows(bn_live *lv, size_t si)
{
    bn *b = lv->b;
    cp_ctx *ctx = lv->ctx;
    book *bk = &lv->books[si];
    cp_batch *out = lv->out[BN_ST_BOOK_LEVEL];
    size_t keep = cp_batch_rows(ctx, out);
    /* two books never share a ts (the key): updates within one millisecond are 1 ms apart */
    int64_t ts = bk->ts > bk->written ? bk->ts : bk->written + 1;
    for (int sd = 0; sd < 2; sd++) {
        const su_side *s = sd ? &bk->ask : &bk->bid;
        for (size_t i = 0; i < s->n && i < (size_t)b->cfg->depth; i++) {
            su_row r = su_row_add(ctx, out);
            sj_val p = {.type = SJ_STRING, .p = s->v[i].price, .len = strlen(s->v[i].price)};
            sj_val q = {.type = SJ_STRING, .p = s->v[i].size, .len = strlen(s->v[i].size)};
            bn_row_common(&r, b->api, &b->sym[si], CP_BOOK_LEVEL_EXCHANGE, CP_BOOK_LEVEL_SYMBOL, SIZE_MAX);
            su_i64(&r, CP_BOOK_LEVEL_TS, ts);
            su_i64(&r, CP_BOOK_LEVEL_SEQUENCE, bk->u);
            su_cstr(&r, CP_BOOK_LEVEL_SIDE, sd ? "ask" : "bid");
            su_i64(&r, CP_BOOK_LEVEL_LEVEL, (int64_t)i);
            su_vdec(&r, CP_BOOK_LEVEL_PRICE, &p, "price");
            su_vdec(&r, CP_BOOK_LEVEL_SIZE, &q, "size");
            if (!r.ok) {
                su_truncate(ctx, out, keep);
                return;
            }
        }
    }
    bk->dirty = false;
    bk->written = ts;
}

/* ---- trades ------------------------------------------------------------------------------- */

enum { AG_ID, AG_PRICE, AG_QTY, AG_TIME, AG_MAKER, AG_N };
static const char *const agg_fields[AG_N] = {"a", "p", "q", "T", "m"};

/* /fapi/v1/aggTrades: [{"a": id, "p", "q", "f", "l", "T", "m"}, ...] */
static cp_status parse_agg_trades(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s,
                                  cp_batch *out)
{
    sj j;
    sj_val v, e, f[AG_N];
    if (!su_json_begin(ctx, "aggTrades", rs, &j, &v))
        return CP_ERR_PARSE;
    if (v.type != SJ_ARRAY) {
        cp_log_error(ctx, "aggTrades %s: expected an array; response ignored", s->native);
        return CP_ERR_PARSE;
    }
    size_t keep = cp_batch_rows(ctx, out);
    while (sj_next(&j) && sj_value(&j, &e) && sj_obj(&j, &e, agg_fields, AG_N, f)) {
        su_row r = su_row_add(ctx, out);
        bn_row_common(&r, api, s, CP_TRADE_EXCHANGE, CP_TRADE_SYMBOL, CP_TRADE_NATIVE_SYMBOL);
        su_vrequire(&r, &f[AG_ID], "a");
        su_vstr(&r, CP_TRADE_TRADE_ID, &f[AG_ID], "a");
        su_vint(&r, CP_TRADE_TS, &f[AG_TIME], "T");
        su_i64(&r, CP_TRADE_RECEIVED_AT, rs->received_at);
        su_vdec(&r, CP_TRADE_PRICE, &f[AG_PRICE], "p");
        su_vdec(&r, CP_TRADE_SIZE, &f[AG_QTY], "q");
        if (f[AG_MAKER].type == SJ_TRUE || f[AG_MAKER].type == SJ_FALSE)
            su_cstr(&r, CP_TRADE_SIDE, f[AG_MAKER].type == SJ_TRUE ? "sell" : "buy");
        if (!r.ok)
            su_row_drop(&r, "aggTrades", s->native);
    }
    if (j.err || !sj_end(&j)) {
        su_truncate(ctx, out, keep);
        return su_json_error(ctx, "aggTrades", rs, &j);
    }
    return CP_OK;
}

/* Fetches trade ids [from, to] (to < 0: up to the newest) over REST and emits them. */
static void repair_trades(bn_live *lv, size_t si, int64_t from, int64_t to, const char *why)
{
    bn *b = lv->b;
    cp_ctx *ctx = lv->ctx;
    const bn_sym *s = &b->sym[si];
    const char *endpoint = b->api->futures ? "aggTrades" : "historicalTrades";
    int64_t next = from, got = 0;
    for (int page = 0; page < 1000 && !cp_stopping(ctx) && (to < 0 || next <= to); page++) {
        char url[1024];
        snprintf(url, sizeof url, "%s%s/%s?symbol=%s&fromId=%" PRId64 "&limit=1000", b->base,
                 b->api->prefix, endpoint, s->native, next);
        cp_http_request rq = CP_HTTP_REQUEST(.url = url, .weight = b->api->futures ? 20 : 25);
        cp_http_response rs;
        cp_http_perform(ctx, &rq, &rs, 1);
        cp_status st = su_check(ctx, endpoint, &rs);
        cp_batch *out = st == CP_OK ? cp_batch_new(ctx, &cp_trade_schema, 1000) : NULL;
        if (out)
            st = b->api->futures ? parse_agg_trades(ctx, b->api, &rs, s, out) : bn_parse_trades(ctx, b->api, &rs, s, out);
        cp_http_response_clear(ctx, &rs);
        if (st != CP_OK || !out) {
            cp_batch_free(ctx, out);
            cp_log_error(ctx, "repair of %s trades from id %" PRId64 " failed (%s): ids %" PRId64 "..%" PRId64
                              " are missing",
                         s->native, from, cp_strerror(st ? st : CP_ERR_NOMEM), next, to);
            return;
        }
        size_t n = cp_batch_rows(ctx, out), kept = 0;
        int64_t newest = next - 1;
        cp_batch *keep = cp_batch_new(ctx, &cp_trade_schema, n);
        for (size_t r = 0; keep && r < n; r++) { /* the ids asked for, nothing the stream brings next */
            const char *t = cp_batch_get_text(ctx, out, r, CP_TRADE_TRADE_ID, NULL);
            int64_t id = t ? strtoll(t, NULL, 10) : -1;
            if (id < next || (to >= 0 && id > to))
                continue;
            if (id > newest)
                newest = id;
            size_t d = cp_batch_add_row(ctx, keep);
            for (size_t c = 0; d != SIZE_MAX && c < CP_TRADE_NCOLS; c++) {
                size_t len;
                const char *v = cp_batch_get_text(ctx, out, r, c, &len);
                if (v && cp_trade_schema.fields[c].type == CP_T_DECIMAL)
                    cp_batch_set_decimal(ctx, keep, d, c, v, len);
                else if (v)
                    cp_batch_set_string(ctx, keep, d, c, v, len);
                else if (!cp_batch_is_null(ctx, out, r, c))
                    cp_batch_set_int(ctx, keep, d, c, cp_batch_get_int(ctx, out, r, c));
            }
            kept++;
        }
        cp_batch_free(ctx, out);
        cp_emit(ctx, keep);
        got += (int64_t)kept;
        if (newest > lv->last_trade[si])
            lv->last_trade[si] = newest;
        if (n < 1000 || newest < next)
            break;
        next = newest + 1;
    }
    lv->repairs++;
    lv->repaired_rows += (uint64_t)got;
    cp_stream_count(ctx, CP_STREAM_GAPS_FILLED, 1);
    cp_stream_count(ctx, CP_STREAM_REPAIRED_ROWS, (uint64_t)got);
    if (to >= 0)
        cp_log_warn(ctx, "repair: %s trade ids %" PRId64 "..%" PRId64 " fetched over REST (%" PRId64 " rows; repair %" PRIu64
                         ")", s->native, from, to, got, lv->repairs);
    else
        cp_log_warn(ctx, "repair: %s trades from id %" PRId64 " fetched over REST after a %s (%" PRId64
                         " rows; repair %" PRIu64 ")", s->native, from, why, got, lv->repairs);
}

/* ---- messages ----------------------------------------------------------------------------- */

/* the members of an event the handlers read; a container member is kept as its span of text */
enum { F_e, F_E, F_s, F_t, F_p, F_q, F_T, F_m, F_u, F_U, F_pu, F_b, F_B, F_a, F_A, F_c, F_o, F_h, F_l, F_v,
       F_n, F_w, F_x, F_P, F_C, F_O, F_i, F_r, F_k, F_N };
static const char *const ev_names[F_N] = {"e", "E", "s", "t", "p", "q", "T", "m", "u", "U", "pu", "b", "B", "a", "A",
                                          "c", "o", "h", "l", "v", "n", "w", "x", "P", "C", "O", "i", "r", "k"};
enum { KL_T, KL_TT, KL_O, KL_C, KL_H, KL_L, KL_V, KL_N, KL_X, KL_Q, KL_VB, KL_QB, KL_COUNT };
static const char *const kl_fields[KL_COUNT] = {"t", "T", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q"};
enum { FO_S, FO_SIDE, FO_TYPE, FO_TIF, FO_Q, FO_P, FO_AP, FO_X, FO_L, FO_Z, FO_T, FO_N };
static const char *const fo_fields[FO_N] = {"s", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T"};

/* which of ev_names `key` is (F_N: none): Binance's keys are one letter or "pu", so one switch
 * instead of a comparison with each name (this runs for every member of every message) */
static size_t ev_field(const sj_val *key)
{
    if (key->type != SJ_STRING)
        return F_N;
    if (key->esc) /* never from Binance: the slow way */
        return sj_key_find(key, ev_names, F_N);
    if (key->len == 2)
        return key->p[0] == 'p' && key->p[1] == 'u' ? F_pu : F_N;
    if (key->len != 1)
        return F_N;
    switch (key->p[0]) {
    case 'e': return F_e;
    case 'E': return F_E;
    case 's': return F_s;
    case 't': return F_t;
    case 'p': return F_p;
    case 'q': return F_q;
    case 'T': return F_T;
    case 'm': return F_m;
    case 'u': return F_u;
    case 'U': return F_U;
    case 'b': return F_b;
    case 'B': return F_B;
    case 'a': return F_a;
    case 'A': return F_A;
    case 'c': return F_c;
    case 'o': return F_o;
    case 'h': return F_h;
    case 'l': return F_l;
    case 'v': return F_v;
    case 'n': return F_n;
    case 'w': return F_w;
    case 'x': return F_x;
    case 'P': return F_P;
    case 'C': return F_C;
    case 'O': return F_O;
    case 'i': return F_i;
    case 'r': return F_r;
    case 'k': return F_k;
    default: return F_N;
    }
}

/* v, the value of member `key`, into f (a repeated one marked dup) */
static void event_member(const sj_val *key, const sj_val *v, sj_val *f)
{
    size_t i = ev_field(key);
    if (i < F_N) {
        bool dup = f[i].type != SJ_NONE;
        f[i] = *v;
        f[i].dup = dup;
    }
}

/* the members of the object the scanner just entered into f (a repeated one marked dup) */
static bool event_members(sj *j, sj_val *f)
{
    sj_val key, v;
    while (sj_member(j, &key)) {
        const char *at = j->p;
        if (!sj_value(j, &v) || !sj_skip(j, &v))
            return false;
        if (v.type == SJ_ARRAY || v.type == SJ_OBJECT) /* the span, scanned again by its reader */
            v.p = at, v.len = (size_t)(j->p - at);
        event_member(&key, &v, f);
    }
    return !j->err;
}

/* the members of the object spanned by v into vals (sj_fields) */
static bool span_fields(const sj_val *v, const char *const *names, size_t n, sj_val *vals)
{
    sj j;
    sj_val o;
    sj_init(&j, v->p, v->len);
    return sj_value(&j, &o) && o.type == SJ_OBJECT && sj_fields(&j, names, n, vals);
}

static uint32_t name_hash(const char *p, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

/* the symbols by native name: an open-addressed table of indexes + 1 (0: empty), at least twice
 * as many slots as symbols, so that a message finds its symbol in about one probe however many
 * symbols a connection carries */
static bool symtab_init(bn_live *lv)
{
    const bn *b = lv->b;
    size_t cap = 8;
    while (cap < 2 * b->n)
        cap *= 2;
    lv->symtab = calloc(cap, sizeof *lv->symtab);
    if (!lv->symtab)
        return false;
    lv->symmask = cap - 1;
    for (size_t i = 0; i < b->n; i++) {
        size_t k = name_hash(b->sym[i].native, strlen(b->sym[i].native)) & lv->symmask;
        while (lv->symtab[k])
            k = (k + 1) & lv->symmask;
        lv->symtab[k] = (uint32_t)(i + 1);
    }
    return true;
}

static const bn_sym *sym_of(const bn_live *lv, const sj_val *s, size_t *idx)
{
    const bn *b = lv->b;
    if (s->type != SJ_STRING || s->dup)
        return NULL;
    if (s->esc) { /* never from Binance: the slow way */
        for (size_t i = 0; i < b->n; i++)
            if (sj_eq(s, b->sym[i].native, strlen(b->sym[i].native))) {
                *idx = i;
                return &b->sym[i];
            }
        return NULL;
    }
    for (size_t k = name_hash(s->p, s->len) & lv->symmask; lv->symtab[k]; k = (k + 1) & lv->symmask) {
        size_t i = lv->symtab[k] - 1;
        const char *n = b->sym[i].native;
        size_t m = 0;
        while (m < s->len && n[m] == s->p[m])
            m++;
        if (m == s->len && n[m] == '\0') {
            *idx = i;
            return &b->sym[i];
        }
    }
    return NULL;
}

static void row_bad(bn_live *lv, cp_batch *out, size_t keep, const char *what, const bn_sym *s, const su_row *r)
{
    su_truncate(lv->ctx, out, keep);
    if (lv->bad++ < 10 || lv->bad % 1000 == 0)
        cp_log_warn(lv->ctx, "%s event of %s ignored: field %s%s%s (%" PRIu64 " so far)", what, s->native,
                    r->bad ? r->bad : "?", r->why ? ": " : "", r->why ? r->why : "", lv->bad);
}

static void on_trade(bn_live *lv, link *l, bool primary, const sj_val *f, const bn_sym *s, size_t si, int64_t now)
{
    bn *b = lv->b;
    cp_ctx *ctx = lv->ctx;
    const sj_val *idv = b->api->futures ? &f[F_a] : &f[F_t];
    int64_t tid, last = lv->last_trade[si];
    if (!sj_int(idv, &tid) || idv->dup) {
        su_row r = {.bad = b->api->futures ? "a" : "t", .why = "not an integer"};
        row_bad(lv, lv->out[BN_ST_TRADE], cp_batch_rows(ctx, lv->out[BN_ST_TRADE]), "trade", s, &r);
        return;
    }
    if (!primary) { /* the replacement: caught up once no symbol of it is ahead of the serving link */
        bool ahead = last >= 0 && tid > last + 1;
        if (ahead != lv->ahead[si])
            l->c->ahead += ahead ? 1 : (size_t)-1;
        lv->ahead[si] = ahead;
        l->caught_up |= !ahead;
        if (ahead)
            return; /* the serving link brings these first */
    }
    if (last >= 0 && tid <= last)
        return; /* seen already (a repair, or the other link, brought it) */
    if (last >= 0 && tid > last + 1) {
        cp_log_warn(ctx, "gap: %s trade ids %" PRId64 "..%" PRId64 " skipped by the stream", s->native, last + 1,
                    tid - 1);
        cp_stream_count(ctx, CP_STREAM_GAPS, 1);
        repair_trades(lv, si, last + 1, tid - 1, NULL);
    }
    cp_batch *out = lv->out[BN_ST_TRADE];
    size_t keep = cp_batch_rows(ctx, out);
    su_row r = su_row_add(ctx, out);
    bn_row_common(&r, b->api, s, CP_TRADE_EXCHANGE, CP_TRADE_SYMBOL, CP_TRADE_NATIVE_SYMBOL);
    su_vstr(&r, CP_TRADE_TRADE_ID, idv, b->api->futures ? "a" : "t");
    su_vint(&r, CP_TRADE_TS, &f[F_T], "T");
    su_i64(&r, CP_TRADE_RECEIVED_AT, now);
    su_vdec(&r, CP_TRADE_PRICE, &f[F_p], "p");
    su_vdec(&r, CP_TRADE_SIZE, &f[F_q], "q");
    if (f[F_m].type == SJ_TRUE || f[F_m].type == SJ_FALSE)
        su_cstr(&r, CP_TRADE_SIDE, f[F_m].type == SJ_TRUE ? "sell" : "buy");
    if (!r.ok) {
        row_bad(lv, out, keep, "trade", s, &r);
        return;
    }
    if (tid > lv->last_trade[si])
        lv->last_trade[si] = tid;
}

static void on_kline(bn_live *lv, const sj_val *f, const bn_sym *s, size_t si, int64_t now)
{
    bn *b = lv->b;
    cp_ctx *ctx = lv->ctx;
    sj_val k[KL_COUNT];
    int64_t open_time, close_time;
    cp_batch *out = lv->out[BN_ST_OHLCV];
    size_t keep = cp_batch_rows(ctx, out);
    if (f[F_k].type != SJ_OBJECT || !span_fields(&f[F_k], kl_fields, KL_COUNT, k) || !sj_int(&k[KL_T], &open_time) ||
        !sj_int(&k[KL_TT], &close_time)) {
        su_row r = {.bad = "k", .why = "not a kline with open and close times"};
        row_bad(lv, out, keep, "kline", s, &r);
        return;
    }
    bool closed = k[KL_X].type == SJ_TRUE;
    if (!closed) {
        if (lv->cand_from[si] == INT64_MAX) /* a reconnect catches up from the candle before this */
            lv->cand_from[si] = open_time - b->interval_ms;
        if (!b->cfg->include_open_candle)
            return; /* still moving */
    }
    su_row r = su_ohlcv_row(ctx, out, b->api->exchange, s->norm, s->native, b->cfg->kline_interval, open_time,
                            close_time, now);
    su_vdec(&r, CP_OHLCV_OPEN, &k[KL_O], "o");
    su_vdec(&r, CP_OHLCV_HIGH, &k[KL_H], "h");
    su_vdec(&r, CP_OHLCV_LOW, &k[KL_L], "l");
    su_vdec(&r, CP_OHLCV_CLOSE, &k[KL_C], "c");
    su_vdec(&r, CP_OHLCV_VOLUME, &k[KL_V], "v");
    su_vdec(&r, CP_OHLCV_QUOTE_VOLUME, &k[KL_Q], "q");
    su_vint(&r, CP_OHLCV_TRADE_COUNT, &k[KL_N], "n");
    su_vdec(&r, CP_OHLCV_TAKER_BUY_BASE_VOLUME, &k[KL_VB], "V");
    su_vdec(&r, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME, &k[KL_QB], "Q");
    if (!r.ok) {
        row_bad(lv, out, keep, "kline", s, &r);
        return;
    }
    if (closed) {
        if (open_time > lv->cand_done[si])
            lv->cand_done[si] = open_time;
        if (lv->cand_from[si] == INT64_MAX || open_time > lv->cand_from[si])
            lv->cand_from[si] = open_time;
    }
}

/* ts is the event time E (futures) or, spot's bookTicker having none, our receive clock: both in
 * milliseconds, so a symbol's later update of the same millisecond replaces its earlier one in the
 * micro-batch, wherever that row is (su_keep_last); the sinks keep the latest across batches */
static void on_book_top(bn_live *lv, const sj_val *f, const bn_sym *s, size_t si, int64_t now)
{
    cp_ctx *ctx = lv->ctx;
    cp_batch *out = lv->out[BN_ST_BOOK_TOP];
    size_t keep = cp_batch_rows(ctx, out);
    su_row r = su_row_add(ctx, out);
    bn_row_common(&r, lv->b->api, s, CP_BOOK_TOP_EXCHANGE, CP_BOOK_TOP_SYMBOL, CP_BOOK_TOP_NATIVE_SYMBOL);
    if (f[F_E].type != SJ_NONE) /* futures give an event time; spot does not */
        su_vint(&r, CP_BOOK_TOP_TS, &f[F_E], "E");
    else
        su_i64(&r, CP_BOOK_TOP_TS, now);
    su_i64(&r, CP_BOOK_TOP_RECEIVED_AT, now);
    su_vint(&r, CP_BOOK_TOP_SEQUENCE, &f[F_u], "u");
    su_vdec(&r, CP_BOOK_TOP_BID, &f[F_b], "b");
    su_vdec(&r, CP_BOOK_TOP_BID_SIZE, &f[F_B], "B");
    su_vdec(&r, CP_BOOK_TOP_ASK, &f[F_a], "a");
    su_vdec(&r, CP_BOOK_TOP_ASK_SIZE, &f[F_A], "A");
    su_i64(&r, CP_BOOK_TOP_LEVELS, 1);
    if (!r.ok)
        row_bad(lv, out, keep, "bookTicker", s, &r);
    else if (!su_keep_last(ctx, out, CP_BOOK_TOP_SYMBOL, CP_BOOK_TOP_TS, &lv->top_row[si]))
        cp_log_error(ctx, "bookTicker %s: out of memory; update dropped", s->native);
}

static void on_ticker(bn_live *lv, const sj_val *f, const bn_sym *s, int64_t now)
{
    static const struct {
        size_t col, f;
    } decs[] = {{CP_TICKER_LAST, F_c},        {CP_TICKER_BID, F_b},         {CP_TICKER_BID_SIZE, F_B},
                {CP_TICKER_ASK, F_a},         {CP_TICKER_ASK_SIZE, F_A},    {CP_TICKER_OPEN, F_o},
                {CP_TICKER_HIGH, F_h},        {CP_TICKER_LOW, F_l},         {CP_TICKER_PREV_CLOSE, F_x},
                {CP_TICKER_CHANGE, F_p},      {CP_TICKER_CHANGE_PCT, F_P},  {CP_TICKER_VWAP, F_w},
                {CP_TICKER_BASE_VOLUME, F_v}, {CP_TICKER_QUOTE_VOLUME, F_q}};
    cp_ctx *ctx = lv->ctx;
    cp_batch *out = lv->out[BN_ST_TICKER];
    size_t keep = cp_batch_rows(ctx, out);
    su_row r = su_row_add(ctx, out);
    bn_row_common(&r, lv->b->api, s, CP_TICKER_EXCHANGE, CP_TICKER_SYMBOL, CP_TICKER_NATIVE_SYMBOL);
    su_vrequire(&r, &f[F_C], "C");
    su_vint(&r, CP_TICKER_TS, &f[F_C], "C"); /* the window's close time, as polling writes it */
    su_i64(&r, CP_TICKER_RECEIVED_AT, now);
    for (size_t i = 0; i < sizeof decs / sizeof *decs; i++)
        su_vdec(&r, decs[i].col, &f[decs[i].f], ev_names[decs[i].f]);
    su_vint(&r, CP_TICKER_OPEN_TIME, &f[F_O], "O");
    su_vint(&r, CP_TICKER_CLOSE_TIME, &f[F_C], "C");
    su_vint(&r, CP_TICKER_TRADE_COUNT, &f[F_n], "n");
    if (!r.ok)
        row_bad(lv, out, keep, "ticker", s, &r);
}

static void on_mark_price(bn_live *lv, const sj_val *f, const bn_sym *s, int64_t now)
{
    cp_ctx *ctx = lv->ctx;
    cp_batch *out = lv->out[BN_ST_FUNDING];
    size_t keep = cp_batch_rows(ctx, out);
    su_row r = su_row_add(ctx, out);
    bn_row_common(&r, lv->b->api, s, CP_FUNDING_EXCHANGE, CP_FUNDING_SYMBOL, CP_FUNDING_NATIVE_SYMBOL);
    su_vrequire(&r, &f[F_E], "E");
    su_vint(&r, CP_FUNDING_TS, &f[F_E], "E");
    su_i64(&r, CP_FUNDING_RECEIVED_AT, now);
    su_vdec(&r, CP_FUNDING_MARK_PRICE, &f[F_p], "p");
    su_vdec(&r, CP_FUNDING_INDEX_PRICE, &f[F_i], "i");
    su_vdec(&r, CP_FUNDING_ESTIMATED_SETTLE_PRICE, &f[F_P], "P");
    su_vdec(&r, CP_FUNDING_FUNDING_RATE, &f[F_r], "r");
    su_vint(&r, CP_FUNDING_NEXT_FUNDING_TIME, &f[F_T], "T");
    if (!r.ok)
        row_bad(lv, out, keep, "markPrice", s, &r);
}

static void on_force_order(bn_live *lv, const sj_val *o, const bn_sym *s, int64_t now)
{
    cp_ctx *ctx = lv->ctx;
    cp_batch *out = lv->out[BN_ST_LIQ];
    size_t keep = cp_batch_rows(ctx, out);
    su_row r = su_row_add(ctx, out);
    bn_row_common(&r, lv->b->api, s, CP_LIQUIDATION_EXCHANGE, CP_LIQUIDATION_SYMBOL, CP_LIQUIDATION_NATIVE_SYMBOL);
    su_vrequire(&r, &o[FO_T], "o.T");
    su_vint(&r, CP_LIQUIDATION_TS, &o[FO_T], "o.T");
    bool sell = sj_eq(&o[FO_SIDE], "SELL", 4), buy = sj_eq(&o[FO_SIDE], "BUY", 3);
    if ((!sell && !buy) || o[FO_SIDE].dup)
        r.ok = false, r.bad = "o.S", r.why = "not BUY or SELL";
    else
        su_cstr(&r, CP_LIQUIDATION_SIDE, sell ? "sell" : "buy");
    su_i64(&r, CP_LIQUIDATION_RECEIVED_AT, now);
    su_vdec(&r, CP_LIQUIDATION_PRICE, &o[FO_P], "o.p");
    su_vdec(&r, CP_LIQUIDATION_AVG_PRICE, &o[FO_AP], "o.ap");
    su_vdec(&r, CP_LIQUIDATION_SIZE, &o[FO_Q], "o.q");
    su_vdec(&r, CP_LIQUIDATION_FILLED_SIZE, &o[FO_Z], "o.z");
    su_vdec(&r, CP_LIQUIDATION_LAST_FILLED_SIZE, &o[FO_L], "o.l");
    su_vstr(&r, CP_LIQUIDATION_ORDER_TYPE, &o[FO_TYPE], "o.o");
    su_vstr(&r, CP_LIQUIDATION_TIME_IN_FORCE, &o[FO_TIF], "o.f");
    su_vstr(&r, CP_LIQUIDATION_STATUS, &o[FO_X], "o.X");
    if (!r.ok)
        row_bad(lv, out, keep, "forceOrder", s, &r);
}

/* A depth update by the rules of the opening comment; returns false on a gap. */
static bool depth_apply(bn_live *lv, book *bk, int64_t U, int64_t u, bool has_pu, int64_t pu, const sj_val *f,
                        bool *drop)
{
    bool futures = lv->b->api->futures;
    *drop = false;
    if (futures) {
        if (bk->first ? u < bk->u : (pu != bk->u && u <= bk->u)) {
            *drop = true; /* older than the book */
            return true;
        }
        bool fits = bk->first ? U <= bk->u && u >= bk->u : (has_pu && pu <= bk->u);
        if (!fits)
            return false;
    } else {
        if (u <= bk->u) {
            *drop = true;
            return true;
        }
        if (U > bk->u + 1)
            return false;
    }
    const char *bad = NULL;
    if ((f[F_b].type == SJ_ARRAY && !side_apply(&bk->bid, &f[F_b], &bad)) ||
        (f[F_a].type == SJ_ARRAY && !side_apply(&bk->ask, &f[F_a], &bad))) {
        book_clear(bk); /* half applied: no longer the exchange's book */
        bk->retry_at = 0;
        *drop = true;
        lv->bad++;
        cp_log_warn(lv->ctx, "depth update ignored (%s): the book is rebuilt from a new snapshot", bad);
        return true;
    }
    bk->u = u;
    bk->first = false;
    bk->dirty = true;
    if (f[F_E].type == SJ_NUMBER)
        sj_int(&f[F_E], &bk->ts);
    return true;
}

static void on_depth(bn_live *lv, const sj_val *f, const bn_sym *s, size_t si)
{
    book *bk = &lv->books[si];
    cp_ctx *ctx = lv->ctx;
    int64_t U, u, pu = 0;
    bool has_pu = sj_int(&f[F_pu], &pu) && !f[F_pu].dup;
    if ((lv->b->api->futures && !has_pu) || !sj_int(&f[F_U], &U) || !sj_int(&f[F_u], &u) || f[F_U].dup || f[F_u].dup || U > u ||
        (f[F_b].type != SJ_ARRAY && f[F_b].type != SJ_NONE) || (f[F_a].type != SJ_ARRAY && f[F_a].type != SJ_NONE)) {
        su_row r = {.bad = "U, u, b or a", .why = "not a depth update"};
        row_bad(lv, lv->out[BN_ST_BOOK_LEVEL], cp_batch_rows(ctx, lv->out[BN_ST_BOOK_LEVEL]), "depth", s, &r);
        return;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!bk->synced) {
            if (cp_now_ms(ctx) < bk->retry_at || !book_snapshot(lv, si))
                return;
            if (bk->gap)
                cp_stream_count(ctx, CP_STREAM_GAPS_FILLED, 1);
            bk->gap = false;
        }
        bool drop;
        if (depth_apply(lv, bk, U, u, has_pu, pu, f, &drop))
            return;
        lv->resyncs++;
        cp_stream_count(ctx, CP_STREAM_GAPS, 1);
        if (lv->b->api->futures)
            cp_log_warn(ctx, "book: %s depth update %" PRId64 "..%" PRId64 " (pu %" PRId64 ") does not follow update id %"
                             PRId64 "%s; resync %" PRIu64 " from a new snapshot",
                        s->native, U, u, pu, bk->u, bk->first ? " of the snapshot" : "", lv->resyncs);
        else
            cp_log_warn(ctx, "book: %s depth update ids %" PRId64 "..%" PRId64 " missing (book at %" PRId64
                             "%s, next update %" PRId64 "..%" PRId64 "); resync %" PRIu64 " from a new snapshot",
                        s->native, bk->u + 1, U - 1, bk->u, bk->first ? ", the snapshot" : "", U, u, lv->resyncs);
        book_clear(bk);
        bk->gap = true;
        bk->retry_at = attempt ? cp_now_ms(ctx) + 1000 : 0; /* a snapshot behind the stream twice: wait */
    }
}

/* a message received at `now` */
static void link_message(bn_live *lv, link *l, const char *data, size_t len, int64_t now)
{
    bn *b = lv->b;
    cp_ctx *ctx = lv->ctx;
    bool primary = !l || l == &l->c->l[l->c->cur];
    sj j;
    sj_val top, key, v, err = {.type = SJ_NONE}, f[F_N];
    memset(f, 0, sizeof f);
    bool ok = true;
    sj_init(&j, data, len);
    if (!sj_value(&j, &top) || top.type != SJ_OBJECT) {
        ok = false;
    } else { /* {"stream": "...", "data": {...}}, or a raw stream's event itself */
        while (ok && sj_member(&j, &key)) {
            const char *at = j.p;
            if (!sj_value(&j, &v))
                ok = false;
            else if (sj_eq(&key, "data", 4) && v.type == SJ_OBJECT)
                ok = event_members(&j, f);
            else if (sj_eq(&key, "error", 5))
                ok = sj_skip(&j, &v), err = v, err.p = at, err.len = (size_t)(j.p - at);
            else if (sj_eq(&key, "stream", 6) || sj_eq(&key, "id", 2) || sj_eq(&key, "result", 6))
                ok = sj_skip(&j, &v);
            else { /* a raw stream's member */
                ok = sj_skip(&j, &v);
                if (v.type == SJ_ARRAY || v.type == SJ_OBJECT)
                    v.p = at, v.len = (size_t)(j.p - at);
                event_member(&key, &v, f);
            }
        }
        ok = ok && !j.err && sj_end(&j);
    }
    if (ok && err.type != SJ_NONE) { /* a request refused: {"error": {"code": 2, "msg": ...}, "id": 1} */
        lv->bad++;
        cp_log_error(ctx, "stream request refused: %.*s", (int)(err.len > 200 ? 200 : err.len), err.p);
        return;
    }
    /* forceOrder names its symbol inside its order */
    sj_val fo[FO_N];
    bool force = ok && sj_eq(&f[F_e], "forceOrder", 10);
    if (force && (f[F_o].type != SJ_OBJECT || !span_fields(&f[F_o], fo_fields, FO_N, fo)))
        ok = false;
    size_t si = 0;
    const bn_sym *s = ok ? sym_of(lv, force ? &fo[FO_S] : &f[F_s], &si) : NULL;
    if (!ok || !s) {
        if (ok && f[F_s].type == SJ_NONE && !force) /* a reply to a request ({"result":null,"id":1}) */
            return;
        if (lv->bad++ < 10 || lv->bad % 1000 == 0)
            cp_log_warn(ctx, "stream message ignored (%s): %.*s%s (%" PRIu64 " so far)",
                        !ok ? (j.err ? j.err : "not a JSON object") : "unknown symbol", (int)(len > 80 ? 80 : len),
                        data, len > 80 ? "..." : "", lv->bad);
        return;
    }
    const sj_val *e = &f[F_e];
    if (sj_eq(e, b->api->futures ? "aggTrade" : "trade", b->api->futures ? 8 : 5)) {
        if (b->want[BN_ST_TRADE])
            on_trade(lv, l, primary, f, s, si, now);
        return;
    }
    if (!primary)
        return; /* the serving link brings the rest */
    if (sj_eq(e, "kline", 5) && b->want[BN_ST_OHLCV])
        on_kline(lv, f, s, si, now);
    else if (sj_eq(e, "depthUpdate", 11) && b->want[BN_ST_BOOK_LEVEL])
        on_depth(lv, f, s, si);
    else if (sj_eq(e, "24hrTicker", 10) && b->want[BN_ST_TICKER])
        on_ticker(lv, f, s, now);
    else if (sj_eq(e, "markPriceUpdate", 15) && b->want[BN_ST_FUNDING])
        on_mark_price(lv, f, s, now);
    else if (force && b->want[BN_ST_LIQ])
        on_force_order(lv, fo, s, now);
    else if ((e->type == SJ_NONE || sj_eq(e, "bookTicker", 10)) && f[F_u].type != SJ_NONE && b->want[BN_ST_BOOK_TOP])
        on_book_top(lv, f, s, si, now);
}

/* ---- connections -------------------------------------------------------------------------- */

static void stream_name(const bn *b, const stream_ref *r, cp_buf *out)
{
    const char *native = b->sym[r->sym].native;
    for (const char *c = native; *c; c++)
        cp_buf_printf(out, "%c", (*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
    switch (r->kind) {
    case BN_ST_TRADE: cp_buf_puts(out, b->api->futures ? "@aggTrade" : "@trade"); break;
    case BN_ST_BOOK_TOP: cp_buf_puts(out, "@bookTicker"); break;
    case BN_ST_OHLCV: cp_buf_printf(out, "@kline_%s", b->cfg->kline_interval); break;
    case BN_ST_TICKER: cp_buf_puts(out, "@ticker"); break;
    case BN_ST_BOOK_LEVEL: cp_buf_puts(out, "@depth@100ms"); break;
    case BN_ST_FUNDING: cp_buf_puts(out, "@markPrice@1s"); break;
    case BN_ST_LIQ: cp_buf_puts(out, "@forceOrder"); break;
    }
}

/* every stream of every symbol, a symbol's streams side by side; cut into connections */
static bool plan_streams(bn_live *lv)
{
    bn *b = lv->b;
    static const int kinds[] = {BN_ST_TRADE, BN_ST_BOOK_TOP, BN_ST_OHLCV, BN_ST_TICKER, BN_ST_BOOK_LEVEL,
                                BN_ST_FUNDING, BN_ST_LIQ};
    size_t nk = sizeof kinds / sizeof *kinds, per = (size_t)b->cfg->ws_max_streams;
    lv->plan = calloc(b->n * nk + 1, sizeof *lv->plan);
    if (!lv->plan)
        return false;
    for (size_t i = 0; i < b->n; i++)
        for (size_t k = 0; k < nk; k++)
            if (b->want[kinds[k]])
                lv->plan[lv->nplan++] = (stream_ref){i, kinds[k]};
    lv->nconn = (lv->nplan + per - 1) / per;
    lv->conns = calloc(lv->nconn + 1, sizeof *lv->conns);
    if (!lv->conns)
        return false;
    const char *base = b->cfg->ws_url ? b->cfg->ws_url : "";
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    for (size_t c = 0; c < lv->nconn; c++) {
        conn *cn = &lv->conns[c];
        cn->lv = lv;
        cn->no = c + 1;
        cn->first = c * per;
        cn->count = lv->nplan - cn->first < per ? lv->nplan - cn->first : per;
        cn->l[0].c = cn->l[1].c = cn;
        cp_buf u = {0};
        cp_buf_put(&u, base, bl);
        cp_buf_puts(&u, "/stream?streams=");
        size_t start = u.len;
        for (size_t i = 0; i < cn->count; i++) {
            size_t before = u.len;
            if (i)
                cp_buf_puts(&u, "/");
            stream_name(b, &lv->plan[cn->first + i], &u);
            if (i && u.len - start > URL_BUDGET) { /* the rest by SUBSCRIBE */
                u.len = before;
                u.p[before] = 0;
                break;
            }
            cn->in_url = i + 1;
        }
        if (u.oom) {
            cp_buf_free(&u);
            return false;
        }
        cn->url = u.p;
    }
    return true;
}

static void link_event(void *user, cp_ws *ws, cp_ws_event ev, const char *data, size_t len);

static cp_status link_open(bn_live *lv, conn *c, link *l)
{
    cp_ctx *ctx = lv->ctx;
    cp_ws_options o = {.size = sizeof o, .url = c->url, .max_message = (size_t)lv->b->cfg->max_message};
    l->open = l->closed = l->caught_up = false;
    c->ahead = 0;
    for (size_t i = c->first; i < c->first + c->count; i++)
        lv->ahead[lv->plan[i].sym] = false;
    l->sent = 0;
    l->opened = l->last_msg = cp_now_ms(ctx);
    l->next_ctl = l->probed = 0;
    return cp_ws_open(ctx, &o, link_event, l, &l->ws);
}

static void link_close(bn_live *lv, link *l)
{
    cp_ws_close(lv->ctx, l->ws);
    l->ws = NULL;
    l->open = l->closed = false;
}

/* SUBSCRIBE the connection's streams the URL did not carry, paced */
static cp_status link_subscribe(bn_live *lv, conn *c, link *l, int64_t now)
{
    if (!l->ws || !l->open || l->closed || l->sent >= c->count || now < l->next_ctl)
        return CP_OK;
    cp_buf m = {0};
    size_t n = c->count - l->sent < SUB_CHUNK ? c->count - l->sent : SUB_CHUNK;
    cp_buf_puts(&m, "{\"method\":\"SUBSCRIBE\",\"params\":[");
    for (size_t i = 0; i < n; i++) {
        cp_buf_puts(&m, i ? ",\"" : "\"");
        stream_name(lv->b, &lv->plan[c->first + l->sent + i], &m);
        cp_buf_puts(&m, "\"");
    }
    cp_buf_printf(&m, "],\"id\":%" PRId64 "}", ++l->req_id);
    cp_status st = m.oom ? CP_ERR_NOMEM : cp_ws_send(lv->ctx, l->ws, m.p, m.len);
    cp_buf_free(&m);
    if (st == CP_OK) {
        l->sent += n;
        l->next_ctl = now + CTL_GAP_MS;
        cp_log_debug(lv->ctx, "connection %zu: subscribed %zu more streams (%zu of %zu)", c->no, n, l->sent, c->count);
    }
    return st == CP_ERR_NOMEM ? st : CP_OK; /* a closed link is seen by the loop */
}

/* what the connection's streams missed while it was down, before it moves on */
static void conn_repair(bn_live *lv, conn *c)
{
    bn *b = lv->b;
    cp_ctx *ctx = lv->ctx;
    int64_t *last = NULL;
    bool candles = false;
    for (size_t i = c->first; i < c->first + c->count; i++) {
        size_t si = lv->plan[i].sym;
        switch (lv->plan[i].kind) {
        case BN_ST_TRADE:
            if (lv->last_trade[si] >= 0) {
                cp_stream_count(ctx, CP_STREAM_GAPS, 1);
                repair_trades(lv, si, lv->last_trade[si] + 1, -1, c->why);
            }
            break;
        case BN_ST_OHLCV:
            if (lv->cand_from[si] == INT64_MAX)
                break;
            if (!last && (last = malloc(b->n * sizeof *last)) != NULL)
                for (size_t k = 0; k < b->n; k++)
                    last[k] = INT64_MAX;
            if (last)
                last[si] = lv->cand_from[si], candles = true;
            break;
        case BN_ST_BOOK_LEVEL:
            if (lv->books[si].synced) /* its updates were lost: a new snapshot with the next one */
                book_clear(&lv->books[si]), lv->books[si].retry_at = 0;
            break;
        }
    }
    if (candles) {
        uint64_t rows = 0;
        cp_stream_count(ctx, CP_STREAM_GAPS, 1);
        cp_status st = bn_catch_up_candles(b, ctx, last, &rows);
        for (size_t k = 0; k < b->n; k++) {
            if (last[k] == INT64_MAX || last[k] == INT64_MIN)
                continue;
            if (last[k] > lv->cand_from[k])
                lv->cand_from[k] = last[k];
            if (last[k] > lv->cand_saved[k]) /* the catch-up set the checkpoint */
                lv->cand_saved[k] = last[k];
            if (last[k] > lv->cand_done[k])
                lv->cand_done[k] = last[k];
        }
        if (st == CP_OK) {
            lv->repairs++;
            lv->repaired_rows += rows;
            cp_stream_count(ctx, CP_STREAM_GAPS_FILLED, 1);
            cp_stream_count(ctx, CP_STREAM_REPAIRED_ROWS, rows);
            cp_log_warn(ctx, "repair: %" PRIu64 " closed %s candles fetched over REST after a %s (repair %" PRIu64 ")",
                        rows, b->cfg->kline_interval, c->why, lv->repairs);
        } else {
            cp_log_error(ctx, "repair of the candles missed during a %s failed (%s): they stay missing until "
                              "`coinpipe gaps --fill`", c->why, cp_strerror(st));
        }
    }
    free(last);
}

static void link_event(void *user, cp_ws *ws, cp_ws_event ev, const char *data, size_t len)
{
    link *l = user;
    conn *c = l->c;
    bn_live *lv = c->lv;
    (void)ws;
    l->last_msg = cp_now_ms(lv->ctx);
    bool primary = l == &c->l[c->cur];
    if (ev == CP_WS_OPEN) {
        l->open = true;
        l->open_at = l->last_msg;
        l->sent = c->in_url;
        if (lv->nconn > 1 || !primary)
            cp_log_info(lv->ctx, "stream connected (connection %zu of %zu, %zu streams%s)", c->no, lv->nconn,
                        c->count, primary ? "" : "; the replacement");
        else
            cp_log_info(lv->ctx, "stream connected");
        if (primary && c->repair) /* what happened while we were away, before the stream moves on */
            conn_repair(lv, c);
        if (primary)
            c->repair = false;
    } else if (ev == CP_WS_CLOSED) {
        l->closed = true;
        cp_log_warn(lv->ctx, "stream connection %s: %.*s", primary ? "closed" : "replacement closed", (int)len,
                    data);
    } else {
        lv->messages++;
        link_message(lv, l, data, len, l->last_msg);
    }
}

/* one turn of a connection's life: open, stall, loss and backoff, handover, subscriptions */
static cp_status conn_step(bn_live *lv, conn *c, int64_t now)
{
    const bn_cfg *cfg = lv->b->cfg;
    cp_ctx *ctx = lv->ctx;
    link *p = &c->l[c->cur], *r = &c->l[!c->cur];
    if (!p->ws)
        return now >= c->retry_at ? link_open(lv, c, p) : CP_OK;
    bool stalled = now - p->last_msg > cfg->stall_timeout;
    if (p->closed || stalled) {
        if (stalled && !p->closed)
            cp_log_warn(ctx, "stream stalled: nothing for %lld ms (stall_timeout); reconnecting",
                        (long long)(now - p->last_msg));
        bool lived = p->open && now - p->opened > 60000;
        link_close(lv, p);
        if (r->ws && r->open && !r->closed) { /* the replacement is there: it serves from now on */
            c->cur = !c->cur;
            c->why = "reconnect";
            cp_log_info(ctx, "connection %zu: its replacement takes over", c->no);
            conn_repair(lv, c);
            return CP_OK;
        }
        link_close(lv, r);
        lv->reconnects++;
        c->repair = true;
        c->why = "reconnect";
        cp_stream_count(ctx, CP_STREAM_RECONNECTS, 1);
        int64_t wait = su_reconnect_wait(&c->backoff, lived);
        c->retry_at = now + wait;
        cp_log_info(ctx, "reconnecting in %lld ms (reconnect %" PRIu64 ")", (long long)wait, lv->reconnects);
        return CP_OK;
    }
    /* Binance cuts a connection at 24 hours: its replacement is opened first */
    if (p->open && !r->ws && now - p->opened >= cfg->ws_max_age && now >= c->handover_retry) {
        cp_log_info(ctx, "connection %zu is %lld s old (ws_max_age): opening its replacement", c->no,
                    (long long)((now - p->opened) / 1000));
        cp_status st = link_open(lv, c, r);
        if (st != CP_OK)
            return st;
    }
    if (r->ws) {
        if (r->closed || (!r->open && now - r->opened > cfg->stall_timeout)) {
            link_close(lv, r);
            c->handover_retry = now + 5000;
            cp_log_warn(ctx, "connection %zu: its replacement did not open; trying again in 5 s", c->no);
        } else if (r->open && r->sent >= c->count &&
                   ((r->caught_up && c->ahead == 0) || (now - r->open_at > HANDOVER_MS))) {
            link_close(lv, p);
            c->cur = !c->cur;
            cp_log_info(ctx, "connection %zu handed over to its replacement (%s)", c->no,
                        r->caught_up && c->ahead == 0 ? "caught up" : "after 5 s");
        }
    }
    cp_status st = link_subscribe(lv, c, &c->l[0], now);
    if (st == CP_OK)
        st = link_subscribe(lv, c, &c->l[1], now);
    /* a quiet market or a dead link? Half a stall_timeout of silence asks the server a question
     * (Binance's GET_PROPERTY); its answer keeps a live link from being taken for a stalled one */
    p = &c->l[c->cur];
    if (st == CP_OK && p->open && !p->closed && p->sent >= c->count && now - p->last_msg > cfg->stall_timeout / 2 &&
        now - p->probed > cfg->stall_timeout / 2 && now >= p->next_ctl) {
        char m[96];
        int n = snprintf(m, sizeof m, "{\"method\":\"GET_PROPERTY\",\"params\":[\"combined\"],\"id\":%" PRId64 "}",
                         ++p->req_id);
        if (cp_ws_send(ctx, p->ws, m, (size_t)n) == CP_OK) {
            p->probed = now;
            p->next_ctl = now + CTL_GAP_MS;
        }
    }
    return st;
}

/* ---- emitting ------------------------------------------------------------------------------ */

static void live_emit(bn_live *lv, bool books)
{
    bn *b = lv->b;
    cp_ctx *ctx = lv->ctx;
    if (lv->messages > lv->counted) { /* one call per poll round, not per message */
        cp_stream_count(ctx, CP_STREAM_MESSAGES, lv->messages - lv->counted);
        lv->counted = lv->messages;
    }
    if (lv->bad > lv->counted_bad) {
        cp_stream_count(ctx, CP_STREAM_BAD_MESSAGES, lv->bad - lv->counted_bad);
        lv->counted_bad = lv->bad;
    }
    for (size_t i = 0; books && b->want[BN_ST_BOOK_LEVEL] && i < b->n; i++)
        if (lv->books[i].synced && lv->books[i].dirty)
            book_rows(lv, i);
    for (size_t k = 0; k < BN_ST_COUNT; k++)
        if (lv->out[k] && cp_batch_rows(ctx, lv->out[k])) {
            cp_emit(ctx, lv->out[k]);
            lv->out[k] = cp_batch_new(ctx, out_schemas[k], 64);
        }
    /* after the rows: the last trade id and closed candle of each symbol, so that a restart
     * repairs from there */
    for (size_t i = 0; i < b->n; i++) {
        char key[160];
        if (lv->last_trade[i] > lv->saved_trade[i]) {
            snprintf(key, sizeof key, "stream_trade_id:%s", b->sym[i].native);
            if (su_state_set_i64(ctx, key, lv->last_trade[i]) == CP_OK)
                lv->saved_trade[i] = lv->last_trade[i];
        }
        if (lv->cand_done[i] > lv->cand_saved[i]) {
            bn_ohlcv_key(b, i, key, sizeof key);
            if (su_state_set_i64(ctx, key, lv->cand_done[i]) == CP_OK)
                lv->cand_saved[i] = lv->cand_done[i];
        }
    }
}

static void live_free(bn_live *lv)
{
    for (size_t k = 0; k < BN_ST_COUNT; k++)
        cp_batch_free(lv->ctx, lv->out[k]);
    for (size_t c = 0; lv->conns && c < lv->nconn; c++) {
        link_close(lv, &lv->conns[c].l[0]);
        link_close(lv, &lv->conns[c].l[1]);
        free(lv->conns[c].url);
    }
    for (size_t i = 0; lv->books && i < lv->b->n; i++) {
        su_side_free(&lv->books[i].bid);
        su_side_free(&lv->books[i].ask);
    }
    free(lv->books);
    free(lv->symtab);
    free(lv->conns);
    free(lv->plan);
    free(lv->last_trade);
    free(lv->saved_trade);
    free(lv->cand_from);
    free(lv->cand_done);
    free(lv->cand_saved);
    free(lv->ahead);
    free(lv->top_row);
}

static bool live_init(bn_live *lv, bn *b, cp_ctx *ctx)
{
    memset(lv, 0, sizeof *lv);
    lv->b = b;
    lv->ctx = ctx;
    size_t n = b->n ? b->n : 1;
    lv->last_trade = malloc(n * sizeof(int64_t));
    lv->saved_trade = malloc(n * sizeof(int64_t));
    lv->cand_from = malloc(n * sizeof(int64_t));
    lv->cand_done = malloc(n * sizeof(int64_t));
    lv->cand_saved = malloc(n * sizeof(int64_t));
    lv->books = calloc(n, sizeof *lv->books);
    lv->ahead = calloc(n, sizeof *lv->ahead);
    lv->top_row = malloc(n * sizeof *lv->top_row);
    if (!lv->ahead || !lv->top_row || !lv->last_trade || !lv->saved_trade || !lv->cand_from ||
        !lv->cand_done || !lv->cand_saved || !lv->books || !symtab_init(lv))
        return false;
    for (size_t i = 0; i < b->n; i++) {
        lv->last_trade[i] = lv->saved_trade[i] = -1;
        lv->cand_from[i] = INT64_MAX;
        lv->cand_done[i] = lv->cand_saved[i] = INT64_MIN;
        lv->top_row[i] = SIZE_MAX;
        lv->books[i].bid.desc = true;
        lv->books[i].bid.max = lv->books[i].ask.max = BOOK_MAX;
    }
    for (size_t k = 0; k < BN_ST_COUNT; k++)
        if (b->want[k] && !(lv->out[k] = cp_batch_new(ctx, out_schemas[k], 64)))
            return false;
    return lv->ready = true;
}

cp_status bn_run(bn *b, cp_ctx *ctx)
{
    if (!b->cfg->mode || strcmp(b->cfg->mode, "stream") != 0) {
        cp_log_error(ctx, "mode = \"poll\" needs the pipeline's interval or schedule (or set mode = \"stream\")");
        return CP_ERR_CONFIG;
    }
    if (b->want[BN_ST_OI]) {
        cp_log_error(ctx, "mode = \"stream\" has no open_interest stream; remove it");
        return CP_ERR_CONFIG;
    }
    if (!b->resolved) {
        cp_status st = bn_resolve(b, ctx);
        if (st != CP_OK)
            return st;
    }
    bn_live lv;
    cp_status st = live_init(&lv, b, ctx) && plan_streams(&lv) ? CP_OK : CP_ERR_NOMEM;
    if (st == CP_OK && lv.nplan == 0) {
        cp_log_error(ctx, "stream: no streams to collect");
        st = CP_ERR_CONFIG;
    }
    bool restarted = false;
    for (size_t i = 0; st == CP_OK && i < b->n; i++) { /* checkpoints of an earlier run: repair from them */
        char key[160];
        snprintf(key, sizeof key, "stream_trade_id:%s", b->sym[i].native);
        if (b->want[BN_ST_TRADE] && su_state_get_i64(ctx, key, &lv.last_trade[i])) {
            lv.saved_trade[i] = lv.last_trade[i];
            restarted = true;
        }
        bn_ohlcv_key(b, i, key, sizeof key);
        int64_t v;
        if (b->want[BN_ST_OHLCV] && su_state_get_i64(ctx, key, &v)) {
            lv.cand_from[i] = lv.cand_done[i] = lv.cand_saved[i] = v;
            restarted = true;
        }
    }
    for (size_t c = 0; st == CP_OK && c < lv.nconn; c++) {
        lv.conns[c].repair = restarted;
        lv.conns[c].why = "restart";
    }
    if (st == CP_OK && lv.nconn > 1)
        cp_log_info(ctx, "stream: %zu streams on %zu connections", lv.nplan, lv.nconn);
    lv.next_book = cp_now_ms(ctx) + b->cfg->book_interval;
    while (st == CP_OK && !cp_stopping(ctx)) {
        int64_t now = cp_now_ms(ctx);
        for (size_t c = 0; st == CP_OK && c < lv.nconn; c++)
            st = conn_step(&lv, &lv.conns[c], now);
        if (st != CP_OK)
            break;
        cp_status ps = cp_ws_poll(ctx, 100);
        now = cp_now_ms(ctx);
        bool books = now >= lv.next_book;
        if (books)
            lv.next_book = now + b->cfg->book_interval;
        live_emit(&lv, books);
        if (ps == CP_ERR_STOPPED)
            break;
    }
    for (size_t c = 0; lv.conns && c < lv.nconn; c++) {
        link_close(&lv, &lv.conns[c].l[0]);
        link_close(&lv, &lv.conns[c].l[1]);
    }
    if (lv.ready) /* what arrived before the stop */
        live_emit(&lv, true);
    cp_log_info(ctx, "stream stats: messages=%" PRIu64 " reconnects=%" PRIu64 " repairs=%" PRIu64
                     " repaired_rows=%" PRIu64 " bad_messages=%" PRIu64 " book_resyncs=%" PRIu64,
                lv.messages, lv.reconnects, lv.repairs, lv.repaired_rows, lv.bad, lv.resyncs);
    live_free(&lv);
    return cp_stopping(ctx) ? CP_OK : st;
}

/* ---- for the fuzz target ------------------------------------------------------------------- */

bn_live *bn_live_new(bn *b, cp_ctx *ctx)
{
    bn_live *lv = malloc(sizeof *lv);
    if (!lv)
        return NULL;
    if (!live_init(lv, b, ctx)) {
        live_free(lv);
        free(lv);
        return NULL;
    }
    return lv;
}

void bn_live_message(bn_live *lv, const char *data, size_t len)
{
    link_message(lv, NULL, data, len, cp_now_ms(lv->ctx));
    for (size_t i = 0; lv->b->want[BN_ST_BOOK_LEVEL] && i < lv->b->n; i++)
        if (lv->books[i].synced && lv->books[i].dirty)
            book_rows(lv, i);
}

bool bn_live_book(bn_live *lv, size_t si, int64_t update_id, const char *bid, const char *bid_qty, const char *ask,
                  const char *ask_qty)
{
    book *bk = &lv->books[si];
    book_clear(bk);
    if (!level_set(&bk->bid, bid, bid_qty) || !level_set(&bk->ask, ask, ask_qty))
        return false;
    bk->u = update_id;
    bk->synced = bk->first = bk->dirty = true;
    return true;
}

cp_batch *bn_live_rows(bn_live *lv, size_t stream) { return stream < BN_ST_COUNT ? lv->out[stream] : NULL; }

void bn_live_free(bn_live *lv)
{
    if (!lv)
        return;
    live_free(lv);
    free(lv);
}
