/* Binance REST client shared by the binance-spot and binance-futures sources.
 * SPDX-License-Identifier: MIT
 *
 * Endpoints (P = /api/v3 on spot, /fapi/v1 on USD-M futures):
 *   P/exchangeInfo          symbol validation, base/quote assets for normalization
 *   P/ticker/24hr           ticker (spot: up to 100 symbols per request via symbols=[...])
 *   P/depth                 book_top, book_level
 *   P/trades                trade
 *   P/klines                ohlcv (incremental from a checkpoint; backfill 1000 per page)
 *   /fapi/v1/premiumIndex   funding (futures)
 *   /fapi/v1/openInterest   open_interest (futures)
 *   /fapi/v1/fundingRate    funding history (futures backfill)
 * Responses are parsed as they arrive, in the order asked for (su_reqs_perform_each; candles
 * first, symbols as configured), with the strict zero-allocation scanner (jscan.h); only the
 * universe rules' exchangeInfo and tickers (symbols = ["top:N"]) go through json-c.
 */
#include "binance.h"

#include <coinpipe/text.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const bn_stream_names[BN_ST_COUNT] = {"ticker", "book_top", "book_level", "trade", "ohlcv",
                                                 "funding", "open_interest", "liquidation"};
static const cp_schema *const stream_schemas[BN_ST_COUNT] = {
    &cp_ticker_schema, &cp_book_top_schema, &cp_book_level_schema, &cp_trade_schema,
    &cp_ohlcv_schema,  &cp_funding_schema,  &cp_open_interest_schema, &cp_liquidation_schema};

/* ---- parsers ------------------------------------------------------------------------------ */
/* Each walks the body once with the strict scanner (jscan.h), building rows as it goes; on any
 * error, syntax or payload, the rows of the response are taken back. */

void bn_row_common(su_row *r, const bn_api *api, const bn_sym *s, size_t c_exchange, size_t c_symbol,
                       size_t c_native)
{
    su_cstr(r, c_exchange, api->exchange);
    su_cstr(r, c_symbol, s->norm);
    if (c_native != SIZE_MAX)
        su_cstr(r, c_native, s->native);
}

static cp_status bad_row(cp_ctx *ctx, const char *endpoint, const su_row *r, cp_batch *b, size_t keep)
{
    cp_log_error(ctx, "%s: unexpected payload (field %s%s%s); no rows kept from this response", endpoint,
                 r->bad ? r->bad : "?", r->why ? ": " : "", r->why ? r->why : "");
    su_truncate(ctx, b, keep);
    return CP_ERR_PARSE;
}

/* A syntax error (or trailing data): the response's rows go. */
static cp_status bad_json(cp_ctx *ctx, const char *endpoint, const cp_http_response *rs, const sj *j, cp_batch *b,
                          size_t keep)
{
    su_truncate(ctx, b, keep);
    return su_json_error(ctx, endpoint, rs, j);
}

/* The top-level value has the wrong type: a syntax error if the rest has one, else `what`. */
static bool wrong_top(cp_ctx *ctx, const char *endpoint, const cp_http_response *rs, sj *j, const sj_val *v)
{
    if (!sj_skip(j, v) || !sj_end(j)) {
        su_json_error(ctx, endpoint, rs, j);
        return true;
    }
    return false;
}

/* The symbol named by a response element: searched from the one after the last found, since
 * multi-symbol responses list them in the order asked. */
static const bn_sym *find_sym(const bn_sym *syms, size_t n, const sj_val *native, size_t *hint)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = (*hint + k) % n;
        if (sj_eq(native, syms[i].native, strlen(syms[i].native))) {
            *hint = i + 1;
            return &syms[i];
        }
    }
    return NULL;
}

enum { TK_SYMBOL, TK_CLOSE_TIME, TK_LAST, TK_BID, TK_BID_QTY, TK_ASK, TK_ASK_QTY, TK_OPEN, TK_HIGH, TK_LOW,
       TK_PREV_CLOSE, TK_CHANGE, TK_CHANGE_PCT, TK_VWAP, TK_VOLUME, TK_QUOTE_VOLUME, TK_OPEN_TIME, TK_COUNT, TK_N };
static const char *const ticker_fields[TK_N] = {
    "symbol",         "closeTime",   "lastPrice",          "bidPrice",         "bidQty",   "askPrice",
    "askQty",         "openPrice",   "highPrice",          "lowPrice",         "prevClosePrice",
    "priceChange",    "priceChangePercent", "weightedAvgPrice", "volume",   "quoteVolume", "openTime", "count"};

static bool ticker_row(cp_ctx *ctx, const bn_api *api, const sj_val *f, const bn_sym *s, int64_t received_at,
                       cp_batch *out, su_row *r)
{
    static const size_t dec_cols[] = {CP_TICKER_LAST,       CP_TICKER_BID,        CP_TICKER_BID_SIZE,
                                      CP_TICKER_ASK,        CP_TICKER_ASK_SIZE,   CP_TICKER_OPEN,
                                      CP_TICKER_HIGH,       CP_TICKER_LOW,        CP_TICKER_PREV_CLOSE,
                                      CP_TICKER_CHANGE,     CP_TICKER_CHANGE_PCT, CP_TICKER_VWAP,
                                      CP_TICKER_BASE_VOLUME, CP_TICKER_QUOTE_VOLUME};
    *r = su_row_add(ctx, out);
    bn_row_common(r, api, s, CP_TICKER_EXCHANGE, CP_TICKER_SYMBOL, CP_TICKER_NATIVE_SYMBOL);
    su_vrequire(r, &f[TK_CLOSE_TIME], "closeTime");
    su_vint(r, CP_TICKER_TS, &f[TK_CLOSE_TIME], "closeTime");
    su_i64(r, CP_TICKER_RECEIVED_AT, received_at);
    for (size_t k = 0; k < sizeof dec_cols / sizeof *dec_cols; k++)
        su_vdec(r, dec_cols[k], &f[TK_LAST + k], ticker_fields[TK_LAST + k]);
    su_vint(r, CP_TICKER_OPEN_TIME, &f[TK_OPEN_TIME], "openTime");
    su_vint(r, CP_TICKER_CLOSE_TIME, &f[TK_CLOSE_TIME], "closeTime");
    su_vint(r, CP_TICKER_TRADE_COUNT, &f[TK_COUNT], "count");
    return r->ok;
}

enum { PF_SYMBOL, PF_TIME, PF_MARK, PF_INDEX, PF_SETTLE, PF_RATE, PF_INTEREST, PF_NEXT, PF_N };
static const char *const premium_fields[PF_N] = {"symbol",          "time",         "markPrice",
                                                 "indexPrice",      "estimatedSettlePrice",
                                                 "lastFundingRate", "interestRate", "nextFundingTime"};

static bool premium_row(cp_ctx *ctx, const bn_api *api, const sj_val *f, const bn_sym *s, int64_t received_at,
                        cp_batch *out, su_row *r)
{
    *r = su_row_add(ctx, out);
    bn_row_common(r, api, s, CP_FUNDING_EXCHANGE, CP_FUNDING_SYMBOL, CP_FUNDING_NATIVE_SYMBOL);
    su_vrequire(r, &f[PF_TIME], "time");
    su_vint(r, CP_FUNDING_TS, &f[PF_TIME], "time");
    su_i64(r, CP_FUNDING_RECEIVED_AT, received_at);
    su_vdec(r, CP_FUNDING_MARK_PRICE, &f[PF_MARK], "markPrice");
    su_vdec(r, CP_FUNDING_INDEX_PRICE, &f[PF_INDEX], "indexPrice");
    su_vdec(r, CP_FUNDING_ESTIMATED_SETTLE_PRICE, &f[PF_SETTLE], "estimatedSettlePrice");
    su_vdec(r, CP_FUNDING_FUNDING_RATE, &f[PF_RATE], "lastFundingRate");
    su_vdec(r, CP_FUNDING_INTEREST_RATE, &f[PF_INTEREST], "interestRate");
    su_vint(r, CP_FUNDING_NEXT_FUNDING_TIME, &f[PF_NEXT], "nextFundingTime");
    return r->ok;
}

typedef bool (*row_fn)(cp_ctx *ctx, const bn_api *api, const sj_val *f, const bn_sym *s, int64_t received_at,
                       cp_batch *out, su_row *r);

/* One object or an array of objects, each naming its symbol (fields[0] = "symbol"): a row for
 * each of ours. */
static cp_status each_symbol(cp_ctx *ctx, const char *endpoint, const bn_api *api, const cp_http_response *rs,
                             const bn_sym *syms, size_t n, cp_batch *out, const char *const *fields, size_t nf,
                             row_fn fn)
{
    size_t keep = cp_batch_rows(ctx, out), hint = 0;
    sj j;
    sj_val v, f[TK_N], e;
    if (!su_json_begin(ctx, endpoint, rs, &j, &v))
        return CP_ERR_PARSE;
    bool single = v.type == SJ_OBJECT;
    if (!single && v.type != SJ_ARRAY) {
        if (!wrong_top(ctx, endpoint, rs, &j, &v))
            cp_log_error(ctx, "%s: expected an object or array; response ignored", endpoint);
        return CP_ERR_PARSE;
    }
    while (single || sj_next(&j)) {
        if (!single && !sj_value(&j, &e))
            break;
        if (!sj_obj(&j, single ? &v : &e, fields, nf, f))
            break;
        const bn_sym *s = f[0].type == SJ_STRING && !f[0].dup ? find_sym(syms, n, &f[0], &hint) : NULL;
        su_row r;
        if (f[0].type != SJ_STRING || f[0].dup)
            su_bad_element(ctx, endpoint, NULL, "symbol", f[0].dup ? "duplicate key" : "not a string");
        else if (s && !fn(ctx, api, f, s, rs->received_at, out, &r))
            su_row_drop(&r, endpoint, s->native); /* only this symbol's row goes */
        /* a symbol not ours (all-symbols answer) is skipped */
        if (single)
            break;
    }
    if (j.err || !sj_end(&j))
        return bad_json(ctx, endpoint, rs, &j, out, keep);
    return CP_OK;
}

cp_status bn_parse_ticker(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *syms, size_t n,
                          cp_batch *out)
{
    return each_symbol(ctx, "ticker/24hr", api, rs, syms, n, out, ticker_fields, TK_N, ticker_row);
}

cp_status bn_parse_premium(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *syms, size_t n,
                           cp_batch *out)
{
    return each_symbol(ctx, "premiumIndex", api, rs, syms, n, out, premium_fields, PF_N, premium_row);
}

bool bn_quick = true;

/* A level in its usual form read in place, ["price","size"] without whitespace, both plain
 * strings (sj_plain_run): *L as the general reading makes it and the scanner after the level;
 * false with the scanner unmoved for any other form, which the general reading decides. */
static bool level_quick(sj *j, su_level *L)
{
    const char *p = j->p, *e = j->end;
    if (e - p < 7 || p[0] != '[' || p[1] != '"')
        return false;
    const char *a = p + 2, *ae = sj_plain_run(a, e);
    if (e - ae < 5 || ae[0] != '"' || ae[1] != ',' || ae[2] != '"')
        return false;
    const char *b = ae + 3, *be = sj_plain_run(b, e);
    if (e - be < 2 || be[0] != '"' || be[1] != ']')
        return false;
    *L = (su_level){.price = {.type = SJ_STRING, .p = a, .len = (size_t)(ae - a)},
                    .size = {.type = SJ_STRING, .p = b, .len = (size_t)(be - b)},
                    .ok = true};
    sj_resume(j, be + 2);
    return true;
}

/* One side of a book: an array of [price, size, ...] arrays; the first `max` kept in lv, *n counts all. */
static bool book_side(sj *j, su_level *lv, size_t max, size_t *n)
{
    sj_val l, two[2];
    *n = 0;
    while (sj_next(j)) {
        su_level L = {.ok = false};
        size_t m = 0;
        if (bn_quick && level_quick(j, &L)) {
            /* read */
        } else if (!sj_value(j, &l)) {
            return false;
        } else if (l.type == SJ_ARRAY) {
            if (!sj_elements(j, two, 2, &m))
                return false;
            L.ok = m >= 2 && two[0].type != SJ_NULL && two[1].type != SJ_NULL;
            if (L.ok)
                L.price = two[0], L.size = two[1];
        } else if (!sj_skip(j, &l)) {
            return false;
        }
        if (*n < max)
            lv[*n] = L;
        (*n)++;
    }
    return !j->err;
}

cp_status bn_parse_depth(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s, size_t levels,
                         cp_batch *top, cp_batch *lvl)
{
    size_t keep_top = top ? cp_batch_rows(ctx, top) : 0, keep_lvl = lvl ? cp_batch_rows(ctx, lvl) : 0;
    size_t want = lvl && levels ? levels : 1, n[2] = {0, 0};
    bool arr[2] = {false, false};
    sj j;
    sj_val v, key, x, seq = {.type = SJ_NONE}, jt = {.type = SJ_NONE};
    if (!su_json_begin(ctx, "depth", rs, &j, &v))
        return CP_ERR_PARSE;
    su_level *lv = calloc(2 * want, sizeof *lv);
    if (!lv)
        return CP_ERR_NOMEM;
    if (v.type != SJ_OBJECT) {
        if (!wrong_top(ctx, "depth", rs, &j, &v))
            cp_log_error(ctx, "depth %s: expected lastUpdateId, bids and asks; response ignored", s->native);
        free(lv);
        return CP_ERR_PARSE;
    }
    const char *dup = NULL; /* a repeated key: which of the two is the book? neither is taken */
    bool seen[4] = {false, false, false, false};
    while (sj_member(&j, &key) && sj_value(&j, &x)) {
        int side = sj_eq(&key, "bids", 4) ? 0 : sj_eq(&key, "asks", 4) ? 1 : -1;
        int known = side >= 0 ? side : sj_eq(&key, "lastUpdateId", 12) ? 2 : sj_eq(&key, "T", 1) ? 3 : -1;
        if (known >= 0 && seen[known] && !dup)
            dup = known == 0 ? "bids" : known == 1 ? "asks" : known == 2 ? "lastUpdateId" : "T";
        if (known >= 0)
            seen[known] = true;
        if (side >= 0 && x.type == SJ_ARRAY) {
            arr[side] = true;
            if (!book_side(&j, lv + (size_t)side * want, want, &n[side]))
                break;
            continue;
        }
        if (side >= 0)
            arr[side] = false;
        else if (known == 2)
            seq = x;
        else if (known == 3)
            jt = x;
        if (!sj_skip(&j, &x))
            break;
    }
    cp_status st = CP_OK;
    if (j.err || !sj_end(&j)) {
        st = su_json_error(ctx, "depth", rs, &j);
    } else if (dup) {
        cp_log_error(ctx, "depth %s: duplicate key '%s' in the object at $; response ignored", s->native, dup);
        st = CP_ERR_PARSE;
    } else if (!arr[0] || !arr[1] || seq.type == SJ_NONE || seq.type == SJ_NULL) {
        cp_log_error(ctx, "depth %s: expected lastUpdateId, bids and asks; response ignored", s->native);
        st = CP_ERR_PARSE;
    } else {
        /* futures carry the transaction time T; spot has none: the snapshot time is when we got it */
        int64_t ts = rs->received_at;
        if (jt.type != SJ_NONE && jt.type != SJ_NULL && !sj_int(&jt, &ts)) {
            cp_log_error(ctx, "depth %s: bad T; response ignored", s->native);
            st = CP_ERR_PARSE;
        } else {
            su_book bk = {api->exchange, s->norm, s->native, lv, lv + want, n[0], n[1], seq, ts, rs->received_at};
            su_row r = {.ok = true};
            if (!su_book_rows(ctx, &bk, levels, top, lvl, &r.bad)) {
                su_truncate(ctx, lvl, keep_lvl);
                st = bad_row(ctx, "depth", &r, top, keep_top);
            }
        }
    }
    free(lv);
    return st;
}

enum { TR_ID, TR_MAKER, TR_TIME, TR_PRICE, TR_QTY, TR_QUOTE, TR_N };
static const char *const trade_fields[TR_N] = {"id", "isBuyerMaker", "time", "price", "qty", "quoteQty"};

cp_status bn_parse_trades(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s, cp_batch *out)
{
    size_t keep = cp_batch_rows(ctx, out);
    sj j;
    sj_val v, e, f[TR_N];
    if (!su_json_begin(ctx, "trades", rs, &j, &v))
        return CP_ERR_PARSE;
    if (v.type != SJ_ARRAY) {
        if (!wrong_top(ctx, "trades", rs, &j, &v))
            cp_log_error(ctx, "trades %s: expected an array; response ignored", s->native);
        return CP_ERR_PARSE;
    }
    while (sj_next(&j) && sj_value(&j, &e) && sj_obj(&j, &e, trade_fields, TR_N, f)) {
        su_row r = su_row_add(ctx, out);
        bn_row_common(&r, api, s, CP_TRADE_EXCHANGE, CP_TRADE_SYMBOL, CP_TRADE_NATIVE_SYMBOL);
        su_vrequire(&r, &f[TR_ID], "id");
        su_vstr(&r, CP_TRADE_TRADE_ID, &f[TR_ID], "id");
        su_vint(&r, CP_TRADE_TS, &f[TR_TIME], "time");
        su_i64(&r, CP_TRADE_RECEIVED_AT, rs->received_at);
        su_vdec(&r, CP_TRADE_PRICE, &f[TR_PRICE], "price");
        su_vdec(&r, CP_TRADE_SIZE, &f[TR_QTY], "qty");
        su_vdec(&r, CP_TRADE_QUOTE_SIZE, &f[TR_QUOTE], "quoteQty");
        sj_type m = f[TR_MAKER].type;
        if (m != SJ_NONE && m != SJ_NULL && m != SJ_TRUE && m != SJ_FALSE)
            r.ok = false, r.bad = r.bad ? r.bad : "isBuyerMaker";
        else if (m == SJ_TRUE || m == SJ_FALSE) /* the buyer was the maker: the taker sold */
            su_cstr(&r, CP_TRADE_SIDE, m == SJ_TRUE ? "sell" : "buy");
        if (!r.ok)
            su_row_drop(&r, "trades", s->native);
    }
    if (j.err || !sj_end(&j))
        return bad_json(ctx, "trades", rs, &j, out, keep);
    return CP_OK;
}

/* What every kline row of one response shares: set on its first row (`first`), filled down to
 * the others once the response is read (kline_fill). */
typedef struct kline_ids {
    cp_ctx *ctx;
    cp_batch *out;
    const char *exchange, *symbol, *native, *interval;
    size_t lex, lsym, lnat, liv;
    int64_t received_at;
    size_t first;
} kline_ids;

static const size_t kline_shared[] = {CP_OHLCV_EXCHANGE, CP_OHLCV_SYMBOL, CP_OHLCV_NATIVE_SYMBOL, CP_OHLCV_INTERVAL,
                                      CP_OHLCV_RECEIVED_AT};

/* The usual kline read in place by the core (cp_batch_set_json_elements): [open_time,"open",
 * "high","low","close","volume",close_time,"quote volume",trades,"taker buy base","taker buy
 * quote",...] without whitespace, times and trades as integers of up to 18 digits, decimals as
 * plain strings. A row of it is appended to id->out and the scanner left after the eleventh
 * element, or after a twelfth that is a plain string. Any other form (a sign, an escape, a null,
 * spaces, a value the general reading would refuse) gives false with no row added and the
 * scanner where it was: the general reading then decides, and logs what is wrong. */
static bool kline_quick(sj *j, const kline_ids *id, int64_t *open_time, int64_t *close_time)
{
    static const size_t cols[11] = {CP_OHLCV_OPEN_TIME,   CP_OHLCV_OPEN,         CP_OHLCV_HIGH,
                                    CP_OHLCV_LOW,         CP_OHLCV_CLOSE,        CP_OHLCV_VOLUME,
                                    CP_OHLCV_CLOSE_TIME,  CP_OHLCV_QUOTE_VOLUME, CP_OHLCV_TRADE_COUNT,
                                    CP_OHLCV_TAKER_BUY_BASE_VOLUME, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME};
    const char *p = j->p, *e = j->end;
    cp_ctx *ctx = id->ctx;
    cp_batch *b = id->out;
    size_t row = cp_batch_add_row(ctx, b), n;
    if (row == SIZE_MAX)
        return false;
    bool ok = cp_batch_set_json_elements(ctx, b, row, "idddddididd", cols, p, (size_t)(e - p), &n) == CP_OK;
    if (ok && row == id->first) /* the later rows get them from this one (kline_fill) */
        ok = cp_batch_set_string(ctx, b, row, CP_OHLCV_EXCHANGE, id->exchange, id->lex) == CP_OK &&
             cp_batch_set_string(ctx, b, row, CP_OHLCV_SYMBOL, id->symbol, id->lsym) == CP_OK &&
             cp_batch_set_string(ctx, b, row, CP_OHLCV_NATIVE_SYMBOL, id->native, id->lnat) == CP_OK &&
             cp_batch_set_string(ctx, b, row, CP_OHLCV_INTERVAL, id->interval, id->liv) == CP_OK &&
             cp_batch_set_int(ctx, b, row, CP_OHLCV_RECEIVED_AT, id->received_at) == CP_OK;
    if (!ok) {
        cp_batch_drop_last_row(ctx, b);
        return false;
    }
    p += n;
    /* the usual twelfth element too, Binance's unused "0": a plain string is valid JSON as it
     * is (whatever follows, the scanner reads) */
    if (e - p >= 3 && p[0] == ',' && p[1] == '"') {
        const char *q = sj_plain_run(p + 2, e);
        if (q < e && *q == '"')
            p = q + 1;
    }
    sj_resume(j, p);
    *open_time = cp_batch_get_int(ctx, b, row, CP_OHLCV_OPEN_TIME);
    *close_time = cp_batch_get_int(ctx, b, row, CP_OHLCV_CLOSE_TIME);
    return true;
}

/* The columns every row of the response shares, from its first row down to the last. */
static bool kline_fill(const kline_ids *id)
{
    size_t rows = cp_batch_rows(id->ctx, id->out);
    for (size_t k = 0; k < sizeof kline_shared / sizeof *kline_shared && rows > id->first + 1; k++)
        if (cp_batch_fill_down(id->ctx, id->out, kline_shared[k], id->first, rows) != CP_OK)
            return false;
    return true;
}

/* whether a kline of [open_time, close_time] is stored: opened within [min_open, max_open), and
 * closed before now unless open ones are wanted too */
static bool kline_wanted(int64_t open_time, int64_t close_time, int64_t now, bool include_open, int64_t min_open,
                         int64_t max_open)
{
    return open_time >= min_open && open_time < max_open && (close_time < now || include_open);
}

cp_status bn_parse_klines(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s,
                          const char *interval, int64_t now, bool include_open, int64_t min_open, int64_t max_open,
                          cp_batch *out, int64_t *last_closed, size_t *count)
{
    size_t keep = cp_batch_rows(ctx, out), len = 0;
    int64_t newest = *last_closed;
    sj j;
    sj_val v, e, k[11];
    if (!su_json_begin(ctx, "klines", rs, &j, &v))
        return CP_ERR_PARSE;
    if (v.type != SJ_ARRAY) {
        if (!wrong_top(ctx, "klines", rs, &j, &v))
            cp_log_error(ctx, "klines %s: expected an array; response ignored", s->native);
        return CP_ERR_PARSE;
    }
    kline_ids id = {ctx, out, api->exchange, s->norm, s->native, interval, strlen(api->exchange), strlen(s->norm),
                    strlen(s->native), strlen(interval), rs->received_at, keep};
    while (sj_next(&j)) {
        len++;
        size_t nk = 0;
        if (!sj_value(&j, &e))
            break;
        int64_t open_time, close_time;
        if (e.type == SJ_ARRAY && bn_quick && kline_quick(&j, &id, &open_time, &close_time)) {
            sj_val rest; /* the elements after the eleventh: only checked */
            while (sj_next(&j) && sj_value(&j, &rest) && sj_skip(&j, &rest))
                ;
            if (j.err)
                break;
            if (!kline_wanted(open_time, close_time, now, include_open, min_open, max_open))
                cp_batch_drop_last_row(ctx, out);
            else if (close_time < now && open_time > newest)
                newest = open_time;
            continue;
        }
        if (e.type != SJ_ARRAY) {
            if (!sj_skip(&j, &e))
                break;
            su_bad_element(ctx, "klines", s->native, "kline array", "not an array");
            continue;
        }
        if (!sj_elements(&j, k, 11, &nk))
            break;
        if (nk < 11 || !sj_int(&k[0], &open_time) || !sj_int(&k[6], &close_time)) {
            su_bad_element(ctx, "klines", s->native, nk < 11 ? "kline array" : !sj_int(&k[0], &open_time) ? "open time" : "close time",
                           nk < 11 ? "fewer than 11 elements" : "not an integer within int64");
            continue;
        }
        if (!kline_wanted(open_time, close_time, now, include_open, min_open, max_open))
            continue;
        su_row r = su_ohlcv_row(ctx, out, api->exchange, s->norm, s->native, interval, open_time, close_time,
                                rs->received_at);
        su_vdec(&r, CP_OHLCV_OPEN, &k[1], "open");
        su_vdec(&r, CP_OHLCV_HIGH, &k[2], "high");
        su_vdec(&r, CP_OHLCV_LOW, &k[3], "low");
        su_vdec(&r, CP_OHLCV_CLOSE, &k[4], "close");
        su_vdec(&r, CP_OHLCV_VOLUME, &k[5], "volume");
        su_vdec(&r, CP_OHLCV_QUOTE_VOLUME, &k[7], "quote volume");
        su_vint(&r, CP_OHLCV_TRADE_COUNT, &k[8], "trades");
        su_vdec(&r, CP_OHLCV_TAKER_BUY_BASE_VOLUME, &k[9], "taker buy base");
        su_vdec(&r, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME, &k[10], "taker buy quote");
        if (!r.ok) {
            su_row_drop(&r, "klines", s->native);
            continue;
        }
        if (close_time < now && open_time > newest)
            newest = open_time;
    }
    if (j.err || !sj_end(&j))
        return bad_json(ctx, "klines", rs, &j, out, keep);
    if (!kline_fill(&id)) {
        cp_log_error(ctx, "klines %s: out of memory; no rows kept from this response", s->native);
        su_truncate(ctx, out, keep);
        return CP_ERR_NOMEM;
    }
    *count = len;
    *last_closed = newest;
    return CP_OK;
}

enum { OI_TIME, OI_VALUE, OI_N };
static const char *const oi_fields[OI_N] = {"time", "openInterest"};

cp_status bn_parse_open_interest(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s,
                                 cp_batch *out)
{
    size_t keep = cp_batch_rows(ctx, out);
    sj j;
    sj_val v, f[OI_N];
    if (!su_json_begin(ctx, "openInterest", rs, &j, &v))
        return CP_ERR_PARSE;
    if (!sj_obj(&j, &v, oi_fields, OI_N, f) || !sj_end(&j))
        return su_json_error(ctx, "openInterest", rs, &j);
    su_row r = su_row_add(ctx, out);
    bn_row_common(&r, api, s, CP_OPEN_INTEREST_EXCHANGE, CP_OPEN_INTEREST_SYMBOL, CP_OPEN_INTEREST_NATIVE_SYMBOL);
    su_vrequire(&r, &f[OI_TIME], "time");
    su_vint(&r, CP_OPEN_INTEREST_TS, &f[OI_TIME], "time");
    su_i64(&r, CP_OPEN_INTEREST_RECEIVED_AT, rs->received_at);
    su_vdec(&r, CP_OPEN_INTEREST_OPEN_INTEREST, &f[OI_VALUE], "openInterest");
    if (!r.ok)
        return bad_row(ctx, "openInterest", &r, out, keep);
    return CP_OK;
}

enum { FH_TIME, FH_RATE, FH_MARK, FH_N };
static const char *const funding_fields[FH_N] = {"fundingTime", "fundingRate", "markPrice"};

cp_status bn_parse_funding_history(cp_ctx *ctx, const bn_api *api, const cp_http_response *rs, const bn_sym *s,
                                   int64_t min_ts, int64_t max_ts, cp_batch *out, int64_t *last_ts, size_t *count)
{
    size_t keep = cp_batch_rows(ctx, out), len = 0;
    int64_t newest = *last_ts;
    sj j;
    sj_val v, e, f[FH_N];
    if (!su_json_begin(ctx, "fundingRate", rs, &j, &v))
        return CP_ERR_PARSE;
    if (v.type != SJ_ARRAY) {
        if (!wrong_top(ctx, "fundingRate", rs, &j, &v))
            cp_log_error(ctx, "fundingRate %s: expected an array; response ignored", s->native);
        return CP_ERR_PARSE;
    }
    while (sj_next(&j) && sj_value(&j, &e) && sj_obj(&j, &e, funding_fields, FH_N, f)) {
        len++;
        int64_t ts;
        if (!sj_int(&f[FH_TIME], &ts) || f[FH_TIME].dup) {
            su_bad_element(ctx, "fundingRate", s->native, "fundingTime",
                           f[FH_TIME].dup ? "duplicate key" : "not an integer within int64");
            continue;
        }
        if (ts < min_ts || ts >= max_ts)
            continue;
        su_row r = su_row_add(ctx, out);
        bn_row_common(&r, api, s, CP_FUNDING_EXCHANGE, CP_FUNDING_SYMBOL, CP_FUNDING_NATIVE_SYMBOL);
        su_i64(&r, CP_FUNDING_TS, ts);
        su_i64(&r, CP_FUNDING_RECEIVED_AT, rs->received_at);
        su_vdec(&r, CP_FUNDING_FUNDING_RATE, &f[FH_RATE], "fundingRate");
        su_vdec(&r, CP_FUNDING_MARK_PRICE, &f[FH_MARK], "markPrice");
        if (!r.ok) {
            su_row_drop(&r, "fundingRate", s->native);
            continue;
        }
        if (ts > newest)
            newest = ts;
    }
    if (j.err || !sj_end(&j))
        return bad_json(ctx, "fundingRate", rs, &j, out, keep);
    *count = len;
    *last_ts = newest;
    return CP_OK;
}

/* ---- set-up ------------------------------------------------------------------------------- */

/* Binance's error body: {"code": -1121, "msg": "Invalid symbol."} */
static void bn_error_message(const char *body, size_t len, char *out, size_t outlen)
{
    static const char *const paths[] = {"msg", NULL};
    su_error_json(body, len, out, outlen, paths);
}

/* the kline intervals Binance serves whose candles have a fixed length (1M, a calendar month, has not) */
static const char *const bn_intervals[] = {"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h",
                                           "6h", "8h", "12h", "1d", "3d", "1w", NULL};
/* names users reach for, after Binance's endpoints */
static const char *const bn_stream_hints[] = {
    "depth", "the order book (/depth) is collected as book_top (best bid and ask) and book_level (depth levels)",
    "book", "the order book is collected as book_top (best bid and ask) and book_level (depth levels)",
    "trades", "recent trades (/trades) are the trade stream",
    "klines", "candles (/klines) are the ohlcv stream",
    "tickers", "24-hour tickers (/ticker/24hr) are the ticker stream",
    "premiumIndex", "the funding rate (/premiumIndex) is the funding stream (binance-futures)",
    "openInterest", "open interest (/openInterest) is the open_interest stream (binance-futures)",
    NULL};

cp_status bn_check(const bn_cfg *cfg, const char *const *streams, cp_check *chk)
{
    bool ok = su_check_streams(chk, &cfg->streams, streams, bn_stream_hints);
    ok &= su_check_interval(chk, cfg->kline_interval, bn_intervals, "Binance", NULL);
    ok &= su_check_url(chk, "base_url", cfg->base_url);
    ok &= su_universe_check(chk, &cfg->symbols, &cfg->u, "Binance");
    if (su_universe_rule(&cfg->symbols) && cfg->mode && strcmp(cfg->mode, "stream") == 0) {
        cp_check_error(chk, "symbols", "a rule such as \"top:50\" is resolved on the REST cycles of mode = \"poll\"; "
                                       "mode = \"stream\" needs a list of symbols");
        ok = false;
    }
    bool stream = cfg->mode && strcmp(cfg->mode, "stream") == 0;
    for (size_t i = 0; i < cfg->streams.n; i++) {
        const char *st = cfg->streams.v[i];
        bool known = false;
        for (size_t k = 0; streams[k]; k++)
            known |= strcmp(streams[k], st) == 0;
        if (known && stream && strcmp(st, "open_interest") == 0) {
            cp_check_error(chk, "streams", "mode = \"stream\" has no open_interest stream (use mode = \"poll\" "
                                           "for it, in a pipeline of its own)");
            ok = false;
        } else if (known && !stream && strcmp(st, "liquidation") == 0) {
            cp_check_error(chk, "streams", "liquidation is streamed only: set mode = \"stream\" (in a pipeline "
                                           "without interval)");
            ok = false;
        }
    }
    return ok ? CP_OK : CP_ERR_CONFIG;
}

cp_status bn_create(cp_ctx *ctx, const bn_cfg *cfg, const bn_api *api, const char *const *streams, bn **out)
{
    su_reqs_error_format(bn_error_message);
    (void)streams; /* checked by the plugin's check callback, which create() runs first */
    int64_t iv = su_interval_ms(cfg->kline_interval);
    bn *b = calloc(1, sizeof *b);
    if (!b)
        return CP_ERR_NOMEM;
    b->cfg = cfg;
    b->api = api;
    b->interval_ms = iv;
    b->top = su_universe_rule(&cfg->symbols);
    for (size_t i = 0; i < BN_ST_COUNT; i++)
        b->want[i] = su_list_has(&cfg->streams, bn_stream_names[i]);
    if (!(b->base = su_base_root(cfg->base_url, api->prefix))) {
        free(b);
        return CP_ERR_NOMEM;
    }
    su_url_host(cfg->base_url, b->host, sizeof b->host);
    cp_http_limits lim = {.size = sizeof lim,
                          .max_concurrent = (int)cfg->max_concurrent,
                          .weight_per_minute = cfg->weight_per_minute,
                          .used_weight_header = "X-MBX-USED-WEIGHT-1m"};
    cp_http_limits_set(ctx, b->host, &lim);
    *out = b;
    return CP_OK;
}

void bn_destroy(bn *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->sym[i].native);
        free(b->sym[i].norm);
    }
    free(b->sym);
    free(b->base);
    su_universe_free(&b->uni);
    free(b);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    return p ? memcpy(p, s, n) : NULL;
}

/* BTCUSDT, BTC-USDT, btc-usdt, BTC-USDT-PERP → BTCUSDT */
static void native_of(const char *in, bool futures, char *out, size_t len)
{
    size_t j = 0, n = strlen(in);
    if (futures && n > 5 && strcmp(in + n - 5, "-PERP") == 0)
        n -= 5;
    for (size_t i = 0; i < n && j + 1 < len; i++) {
        char c = in[i];
        if (c == '-' || c == '/')
            continue;
        out[j++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    out[j] = 0;
}

/* symbols = ["top:N"]: resolves the set when it is due from exchangeInfo (the TRADING symbols
 * quoted in universe_quote) and every symbol's 24 h ticker (quoteVolume), or CoinGecko's ranking.
 * CP_OK when the set is usable (also when a refresh failed and the old set stays), else why not. */
static cp_status universe(bn *b, cp_ctx *ctx)
{
    int64_t now = cp_now_ms(ctx);
    if (b->resolved && !su_universe_due(&b->uni, now))
        return CP_OK;
    char u0[1024], u1[1024];
    snprintf(u0, sizeof u0, "%s%s/exchangeInfo", b->base, b->api->prefix);
    snprintf(u1, sizeof u1, "%s%s/ticker/24hr", b->base, b->api->prefix);
    cp_http_request rq[2] = {
        CP_HTTP_REQUEST(.url = u0, .weight = b->api->futures ? 1 : 20, .error_message = bn_error_message),
        CP_HTTP_REQUEST(.url = u1, .weight = b->api->futures ? 40 : 80, .error_message = bn_error_message)};
    cp_http_response rs[2];
    cp_http_perform(ctx, rq, rs, 2);
    cp_status st = su_check(ctx, "exchangeInfo", &rs[0]);
    json_object *info = st == CP_OK ? su_parse(ctx, "exchangeInfo", &rs[0]) : NULL;
    if (st == CP_OK)
        st = su_check(ctx, "ticker/24hr", &rs[1]);
    json_object *tick = st == CP_OK && info ? su_parse(ctx, "ticker/24hr", &rs[1]) : NULL;
    cp_http_response_clear(ctx, &rs[0]);
    cp_http_response_clear(ctx, &rs[1]);
    json_object *list = su_get(info, "symbols");
    if (st == CP_OK && (!json_object_is_type(list, json_type_array) || !json_object_is_type(tick, json_type_array)))
        st = CP_ERR_PARSE;
    size_t nl = st == CP_OK ? json_object_array_length(list) : 0, nc = 0;
    su_cand *cand = calloc(nl ? nl : 1, sizeof *cand);
    char **norms = calloc(nl ? nl : 1, sizeof *norms);
    json_object *vol = json_object_new_object(); /* symbol -> quoteVolume */
    if (st == CP_OK && (!cand || !norms || !vol))
        st = CP_ERR_NOMEM;
    for (size_t k = 0; st == CP_OK && k < json_object_array_length(tick); k++) {
        json_object *t = json_object_array_get_idx(tick, k), *qv = su_get(t, "quoteVolume");
        const char *sym = json_object_get_string(su_get(t, "symbol"));
        if (sym && qv)
            json_object_object_add(vol, sym, json_object_get(qv));
    }
    for (size_t k = 0; st == CP_OK && k < nl; k++) {
        json_object *e = json_object_array_get_idx(list, k), *qv = NULL;
        const char *native = json_object_get_string(su_get(e, "symbol"));
        const char *base = json_object_get_string(su_get(e, "baseAsset"));
        const char *quote = json_object_get_string(su_get(e, "quoteAsset"));
        const char *status = json_object_get_string(su_get(e, "status"));
        const char *ct = json_object_get_string(su_get(e, "contractType"));
        if (!native || !base || !quote || strcasecmp(quote, b->cfg->u.quote) != 0 ||
            (status && strcmp(status, "TRADING") != 0) || (b->api->futures && ct && strcmp(ct, "PERPETUAL") != 0))
            continue;
        char norm[128];
        snprintf(norm, sizeof norm, "%s-%s%s", base, quote, b->api->futures ? "-PERP" : "");
        if (!(norms[nc] = dupstr(norm))) {
            st = CP_ERR_NOMEM;
            break;
        }
        json_object_object_get_ex(vol, native, &qv);
        const char *v = json_object_get_string(qv);
        cand[nc] = (su_cand){native, norms[nc], v ? strtod(v, NULL) : NAN};
        nc++;
    }
    bool changed;
    st = su_universe_resolve(ctx, &b->uni, &b->cfg->u, b->top, st, cand, nc, now, &changed);
    if (st == CP_OK && (changed || !b->resolved)) {
        bn_sym *sym = calloc(b->uni.n ? b->uni.n : 1, sizeof *sym);
        size_t kept = 0;
        bool ok = sym != NULL;
        for (size_t i = 0; sym && i < b->uni.n; i++) {
            if (!cp_shard_keep(ctx, b->uni.symbol[i], strlen(b->uni.symbol[i])))
                continue; /* another collector's */
            sym[kept].native = dupstr(b->uni.native[i]);
            sym[kept].norm = dupstr(b->uni.symbol[i]);
            ok &= sym[kept].native && sym[kept].norm;
            kept++;
        }
        if (!ok) {
            for (size_t i = 0; sym && i < kept; i++)
                free(sym[i].native), free(sym[i].norm);
            free(sym);
            cp_log_error(ctx, "universe: out of memory taking the new set");
            st = CP_ERR_NOMEM;
        } else {
            for (size_t i = 0; i < b->n; i++)
                free(b->sym[i].native), free(b->sym[i].norm);
            free(b->sym);
            b->sym = sym, b->n = kept, b->resolved = true;
        }
    }
    for (size_t i = 0; norms && i < nc; i++)
        free(norms[i]);
    free(norms);
    free(cand);
    json_object_put(vol);
    json_object_put(info);
    json_object_put(tick);
    return st;
}

/* exchangeInfo of spot for the configured symbols only: Binance's full listing is about 2,000
 * symbols, megabytes that json-c builds a tree of at every start, where a collector of 200 symbols
 * needs 200. Up to INFO_CHUNK symbols a request (a URL of about 2 kB), INFO_CHUNKS requests at
 * most (each weighs 20, as the full listing does); more symbols take the full listing. */
#define INFO_CHUNK 100
#define INFO_CHUNKS 5

/* What bn_resolve looks for in the exchangeInfo answers: the configured natives (nat[0..n)),
 * by[] pointing at them sorted by name (a repeated one in configured order), and what was found. */
typedef struct info_want {
    const char (*nat)[64];
    const char *const *by;
    size_t n;
    bn_sym *sym;  /* sym[i] for nat[i]: filled by the first entry that names it */
    size_t found; /* entries taken */
    bool no_list; /* an answer without a "symbols" array */
} info_want;

static int by_native(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int c = strcmp(x, y);
    return c ? c : (x > y) - (x < y); /* one array: the address is the configured order */
}

/* The index of the configured native `s` (the last of a repeated one), or SIZE_MAX. */
static size_t want_find(const info_want *w, const char *s)
{
    size_t lo = 0, hi = w->n; /* the first of by[] whose native is after s */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(w->by[mid], s) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && strcmp(w->by[lo - 1], s) == 0 ? (size_t)(w->by[lo - 1] - w->nat[0]) / sizeof w->nat[0]
                                                   : SIZE_MAX;
}

/* A STRING value's text into out (cap bytes with its NUL); false for any other value, a text
 * that does not fit or one holding a NUL. */
static bool info_text(const sj_val *v, char *out, size_t cap)
{
    if (v->type != SJ_STRING || v->len >= cap)
        return false;
    size_t n = sj_decode(v, out);
    out[n] = '\0';
    return strlen(out) == n;
}

enum { IF_SYMBOL, IF_BASE, IF_QUOTE, IF_CONTRACT, IF_N };
static const char *const info_fields[IF_N] = {"symbol", "baseAsset", "quoteAsset", "contractType"};

/* One entry of "symbols": fills w->sym for a wanted native not yet found. */
static bool info_entry(const bn *b, info_want *w, const sj_val *f)
{
    char native[64], base[64], quote[64], ct[64];
    if (!info_text(&f[IF_SYMBOL], native, sizeof native) || !info_text(&f[IF_BASE], base, sizeof base) ||
        !info_text(&f[IF_QUOTE], quote, sizeof quote))
        return true; /* not a symbol this collector can be configured with */
    size_t i = want_find(w, native);
    if (i == SIZE_MAX || w->sym[i].native)
        return true;
    bool has_ct = info_text(&f[IF_CONTRACT], ct, sizeof ct);
    const char *us = strchr(native, '_');
    char norm[3 * 64 + 8];
    if (b->api->futures && (!has_ct || strcmp(ct, "PERPETUAL") == 0))
        snprintf(norm, sizeof norm, "%s-%s-PERP", base, quote);
    else if (b->api->futures && us)
        snprintf(norm, sizeof norm, "%s-%s-%s", base, quote, us + 1);
    else
        snprintf(norm, sizeof norm, "%s-%s", base, quote);
    w->sym[i].native = dupstr(native);
    w->sym[i].norm = dupstr(norm);
    w->found++;
    return w->sym[i].native && w->sym[i].norm;
}

/* Reads one exchangeInfo answer with the scanner, in place: the entries of its "symbols" array
 * that name a wanted native fill w (the rest of the body is only validated). A malformed body,
 * or a key read here given twice ("symbols" in the answer, "symbol", "baseAsset", "quoteAsset"
 * or "contractType" in an entry: which one is the exchange's?) refuses the answer, logged as
 * su_parse logs it: CP_ERR_PARSE. An answer without a "symbols" array sets w->no_list. */
static cp_status info_read(const bn *b, cp_ctx *ctx, const cp_http_response *rs, info_want *w)
{
    sj j;
    sj_val v, key;
    if (!su_json_begin(ctx, "exchangeInfo", rs, &j, &v))
        return CP_ERR_PARSE;
    bool named = false, listed = false; /* "symbols" met; as an array */
    if (v.type != SJ_OBJECT)
        sj_skip(&j, &v);
    else
        while (sj_member(&j, &key) && sj_value(&j, &v)) {
            if (!sj_eq(&key, "symbols", 7)) {
                sj_skip(&j, &v);
                continue;
            }
            if (named) {
                cp_log_error(ctx, "exchangeInfo: duplicate key 'symbols' in the object at $; response ignored");
                return CP_ERR_PARSE;
            }
            named = true;
            if (v.type != SJ_ARRAY) {
                sj_skip(&j, &v);
                continue;
            }
            listed = true;
            for (size_t k = 0; sj_next(&j); k++) {
                sj_val e, f[IF_N];
                if (!sj_value(&j, &e) || !sj_obj(&j, &e, info_fields, IF_N, f))
                    break;
                for (size_t c = 0; c < IF_N; c++) {
                    if (f[c].dup) {
                        cp_log_error(ctx, "exchangeInfo: duplicate key '%s' in the object at $.symbols[%zu]; "
                                          "response ignored", info_fields[c], k);
                        return CP_ERR_PARSE;
                    }
                }
                if (!info_entry(b, w, f))
                    return CP_ERR_NOMEM;
            }
        }
    if (j.err || !sj_end(&j))
        return su_json_error(ctx, "exchangeInfo", rs, &j);
    w->no_list |= !listed;
    return CP_OK;
}

/* Fetches and reads (info_read) the exchangeInfo answers that cover the natives: the configured
 * symbols' on spot, else (futures, too many symbols, or a list refused: Binance answers 400 to a
 * list that names a symbol it does not have) the full one. Any other failure fails the cycle as
 * before, logged as the core logs a failed request. */
static cp_status info_fetch(bn *b, cp_ctx *ctx, info_want *w)
{
    const char(*nat)[64] = w->nat;
    size_t n = w->n;
    size_t chunks = (n + INFO_CHUNK - 1) / INFO_CHUNK;
    if (!b->api->futures && n && chunks <= INFO_CHUNKS) {
        cp_buf url[INFO_CHUNKS] = {{0}};
        cp_http_request rq[INFO_CHUNKS] = {{0}};
        cp_http_response rs[INFO_CHUNKS] = {{0}};
        bool built = true;
        for (size_t c = 0; c < chunks; c++) {
            cp_buf arr = {0};
            cp_buf_putc(&arr, '[');
            for (size_t i = c * INFO_CHUNK; i < n && i < (c + 1) * INFO_CHUNK; i++)
                cp_buf_printf(&arr, "%s\"%s\"", i > c * INFO_CHUNK ? "," : "", nat[i]);
            cp_buf_putc(&arr, ']');
            char *enc = arr.oom ? NULL : su_urlencode(arr.p);
            cp_buf_printf(&url[c], "%s%s/exchangeInfo?symbols=%s", b->base, b->api->prefix, enc ? enc : "");
            built = built && enc && !url[c].oom;
            free(enc);
            cp_buf_free(&arr);
            rq[c] = CP_HTTP_REQUEST(.url = url[c].p, .weight = 20, .no_log = 1, .error_message = bn_error_message);
        }
        cp_status st = built ? CP_OK : CP_ERR_NOMEM;
        const char *why = NULL; /* a list refused (400): the full listing is read instead */
        if (built) {
            cp_http_perform(ctx, rq, rs, chunks);
            for (size_t c = 0; c < chunks && st == CP_OK; c++) {
                const cp_http_response *r = &rs[c];
                if (r->status == CP_OK && r->code == 400) {
                    why = r->error[0] ? r->error : "HTTP 400";
                } else if (r->status != CP_OK || r->code < 200 || r->code > 299) {
                    /* as the core would have said it: the request is the one that failed */
                    if (r->code)
                        cp_log_error(ctx, "http: GET %s%s/exchangeInfo failed: HTTP %ld after %d attempt%s: %s", b->base,
                                     b->api->prefix, r->code, r->attempts, r->attempts == 1 ? "" : "s", r->error);
                    else
                        cp_log_error(ctx, "http: GET %s%s/exchangeInfo failed after %d attempt%s: %s", b->base,
                                     b->api->prefix, r->attempts, r->attempts == 1 ? "" : "s", r->error);
                    st = su_check(ctx, "exchangeInfo", r);
                }
            }
            if (why && st == CP_OK)
                cp_log_debug(ctx, "exchangeInfo for the configured symbols: %s; reading the full listing", why);
            for (size_t c = 0; c < chunks && !why && st == CP_OK; c++)
                st = info_read(b, ctx, &rs[c], w);
            for (size_t c = 0; c < chunks; c++)
                cp_http_response_clear(ctx, &rs[c]);
        }
        for (size_t c = 0; c < chunks; c++)
            cp_buf_free(&url[c]);
        if (!built || !why || st != CP_OK)
            return st;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s%s/exchangeInfo", b->base, b->api->prefix);
    cp_http_request rq =
        CP_HTTP_REQUEST(.url = url, .weight = b->api->futures ? 1 : 20, .error_message = bn_error_message);
    cp_http_response rs;
    cp_http_perform(ctx, &rq, &rs, 1);
    cp_status st = su_check(ctx, "exchangeInfo", &rs);
    if (st == CP_OK)
        st = info_read(b, ctx, &rs, w);
    cp_http_response_clear(ctx, &rs);
    return st;
}

static void syms_free(bn_sym *sym, size_t n)
{
    for (size_t i = 0; sym && i < n; i++)
        free(sym[i].native), free(sym[i].norm);
    free(sym);
}

/* Reads exchangeInfo once: every configured symbol must exist; gives base/quote. A rule resolves
 * its set instead (universe). */
cp_status bn_resolve(bn *b, cp_ctx *ctx)
{
    if (b->top)
        return universe(b, ctx);
    size_t n = b->cfg->symbols.n;
    char(*nat)[64] = calloc(n ? n : 1, sizeof *nat);
    const char **by = calloc(n ? n : 1, sizeof *by);
    bn_sym *sym = calloc(n ? n : 1, sizeof *sym);
    if (!nat || !by || !sym) {
        free(nat), free((void *)by), free(sym);
        return CP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        native_of(b->cfg->symbols.v[i], b->api->futures, nat[i], sizeof nat[i]);
        by[i] = nat[i];
    }
    qsort(by, n, sizeof *by, by_native);
    info_want w = {.nat = (const char(*)[64])nat, .by = by, .n = n, .sym = sym};
    cp_status st = info_fetch(b, ctx, &w);
    free(nat);
    free((void *)by);
    if (st != CP_OK)
        cp_log_error(ctx, "cannot validate symbols: exchangeInfo failed (%s); will retry next cycle", cp_strerror(st));
    else if (w.no_list) {
        cp_log_error(ctx, "exchangeInfo: no symbols array; will retry next cycle");
        st = CP_ERR_PARSE;
    }
    if (st != CP_OK) {
        syms_free(sym, n);
        return st;
    }
    size_t found = w.found;
    /* an unknown symbol is skipped with a warning (a typo or a delisting must not stop the others);
     * the known ones keep their configured order */
    cp_status ret = CP_OK;
    size_t kept = 0, other_shard = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sym[i].native) {
            cp_log_warn(ctx, "symbols: unknown symbol \"%s\" (not listed by %s%s/exchangeInfo); skipped",
                        b->cfg->symbols.v[i], b->base, b->api->prefix);
            continue;
        }
        if (!sym[i].norm)
            ret = CP_ERR_NOMEM;
        else if (!cp_shard_keep(ctx, sym[i].norm, strlen(sym[i].norm))) { /* another collector's */
            free(sym[i].native), free(sym[i].norm);
            other_shard++;
            continue;
        }
        sym[kept++] = sym[i];
    }
    if (other_shard)
        cp_log_info(ctx, "shard: %zu of %zu symbols are this collector's", kept, kept + other_shard);
    if (ret == CP_OK && kept == 0 && !other_shard) {
        cp_log_error(ctx, "symbols: no configured symbol is listed by %s%s/exchangeInfo", b->base,
                     b->api->prefix);
        ret = CP_ERR_CONFIG;
    }
    if (ret != CP_OK) {
        syms_free(sym, kept);
        return ret;
    }
    b->sym = sym;
    b->n = kept;
    b->resolved = true;
    cp_log_debug(ctx, "exchangeInfo: %zu symbols validated", found);
    return CP_OK;
}

/* ---- requests ----------------------------------------------------------------------------- */

enum { K_TICKER, K_DEPTH, K_TRADES, K_KLINES, K_PREMIUM, K_OI, K_FUNDING_HIST };
static const char *const kind_names[] = {"ticker/24hr", "depth", "trades", "klines", "premiumIndex", "openInterest",
                                         "fundingRate"};

static unsigned depth_limit(const bn *b, unsigned *weight)
{
    unsigned d = (unsigned)b->cfg->depth;
    if (b->api->futures) {
        static const unsigned ok[] = {5, 10, 20, 50, 100, 500, 1000};
        unsigned lim = 1000;
        for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
            if (ok[i] >= d) {
                lim = ok[i];
                break;
            }
        *weight = lim <= 50 ? 2 : lim <= 100 ? 5 : lim <= 500 ? 10 : 20;
        return lim;
    }
    unsigned lim = d < 5 ? 5 : d;
    *weight = lim <= 100 ? 5 : lim <= 500 ? 25 : lim <= 1000 ? 50 : 250;
    return lim;
}

static unsigned kline_weight(const bn *b, size_t limit)
{
    if (!b->api->futures)
        return 2;
    return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
}

void bn_ohlcv_key(const bn *b, size_t i, char *key, size_t len)
{
    snprintf(key, len, "ohlcv/%s/%s", b->sym[i].native, b->cfg->kline_interval);
}

static bool add_klines(bn *b, su_reqs *q, size_t i, int64_t start, int64_t end, size_t limit)
{
    cp_buf u = {0};
    cp_buf_printf(&u, "%s%s/klines?symbol=%s&interval=%s", b->base, b->api->prefix, b->sym[i].native,
                  b->cfg->kline_interval);
    if (start >= 0)
        cp_buf_printf(&u, "&startTime=%" PRId64, start);
    if (end > 0)
        cp_buf_printf(&u, "&endTime=%" PRId64, end - 1);
    cp_buf_printf(&u, "&limit=%zu", limit);
    su_req r = {K_KLINES, i, start >= 0 ? start : INT64_MIN, end > 0 ? end : INT64_MAX, limit};
    bool ok = su_reqs_add(q, r, kline_weight(b, limit), &u);
    cp_buf_free(&u);
    return ok;
}

/* symbols=["A","B"] percent-encoded, for spot's multi-symbol ticker */
static void symbols_param(const bn *b, size_t from, size_t to, cp_buf *u)
{
    cp_buf arr = {0};
    cp_buf_printf(&arr, "[");
    for (size_t i = from; i < to; i++)
        cp_buf_printf(&arr, "%s\"%s\"", i > from ? "," : "", b->sym[i].native);
    cp_buf_printf(&arr, "]");
    char *enc = arr.p ? su_urlencode(arr.p) : NULL;
    if (enc)
        cp_buf_printf(u, "symbols=%s", enc);
    else
        u->oom = true;
    free(enc);
    cp_buf_free(&arr);
}

/* last[i]: the series' checkpoint (newest closed open_time collected), INT64_MIN when none,
 * INT64_MAX to leave the series out; want: the streams of this cycle */
static bool build_cycle(bn *b, su_reqs *q, const int64_t *last, const bool *want)
{
    bool ok = true;
    const char *base = b->base, *pre = b->api->prefix;
    /* candles first: they are most of the rows, so the sinks get their first chunk soonest */
    if (want[BN_ST_OHLCV]) {
        for (size_t i = 0; i < b->n && ok; i++) {
            if (last[i] == INT64_MAX)
                continue;
            if (last[i] != INT64_MIN)
                ok = add_klines(b, q, i, last[i] + b->interval_ms, 0, (size_t)b->cfg->ohlcv_limit);
            else /* first poll of this series: the latest `warmup` closed candles (+ the open one) */
                ok = add_klines(b, q, i, -1, 0, (size_t)b->cfg->warmup + 1);
        }
    }
    if (want[BN_ST_TICKER]) {
        if (!b->api->futures) {
            for (size_t i = 0; i < b->n && ok; i += 100) {
                size_t to = i + 100 < b->n ? i + 100 : b->n, cnt = to - i;
                cp_buf u = {0};
                cp_buf_printf(&u, "%s%s/ticker/24hr?", base, pre);
                symbols_param(b, i, to, &u);
                ok = su_reqs_add(q, (su_req){K_TICKER, SIZE_MAX, 0, 0, 0}, cnt <= 20 ? 2 : cnt <= 100 ? 40 : 80, &u);
                cp_buf_free(&u);
            }
        } else if (b->n > 20) { /* all symbols in one request (weight 40) beats n requests */
            cp_buf u = {0};
            cp_buf_printf(&u, "%s%s/ticker/24hr", base, pre);
            ok = su_reqs_add(q, (su_req){K_TICKER, SIZE_MAX, 0, 0, 0}, 40, &u);
            cp_buf_free(&u);
        } else {
            for (size_t i = 0; i < b->n && ok; i++) {
                cp_buf u = {0};
                cp_buf_printf(&u, "%s%s/ticker/24hr?symbol=%s", base, pre, b->sym[i].native);
                ok = su_reqs_add(q, (su_req){K_TICKER, i, 0, 0, 0}, 1, &u);
                cp_buf_free(&u);
            }
        }
    }
    if (want[BN_ST_BOOK_TOP] || want[BN_ST_BOOK_LEVEL]) {
        unsigned w;
        unsigned lim = depth_limit(b, &w);
        for (size_t i = 0; i < b->n && ok; i++) {
            cp_buf u = {0};
            cp_buf_printf(&u, "%s%s/depth?symbol=%s&limit=%u", base, pre, b->sym[i].native, lim);
            ok = su_reqs_add(q, (su_req){K_DEPTH, i, 0, 0, lim}, w, &u);
            cp_buf_free(&u);
        }
    }
    if (want[BN_ST_TRADE]) {
        for (size_t i = 0; i < b->n && ok; i++) {
            cp_buf u = {0};
            cp_buf_printf(&u, "%s%s/trades?symbol=%s&limit=%" PRId64, base, pre, b->sym[i].native,
                          b->cfg->trade_limit);
            ok = su_reqs_add(q, (su_req){K_TRADES, i, 0, 0, 0}, b->api->futures ? 5 : 25, &u);
            cp_buf_free(&u);
        }
    }
    if (want[BN_ST_FUNDING]) {
        cp_buf u = {0};
        if (b->n > 10) {
            cp_buf_printf(&u, "%s%s/premiumIndex", base, pre);
            ok = ok && su_reqs_add(q, (su_req){K_PREMIUM, SIZE_MAX, 0, 0, 0}, 10, &u);
        } else {
            for (size_t i = 0; i < b->n && ok; i++) {
                cp_buf_free(&u);
                cp_buf_printf(&u, "%s%s/premiumIndex?symbol=%s", base, pre, b->sym[i].native);
                ok = su_reqs_add(q, (su_req){K_PREMIUM, i, 0, 0, 0}, 1, &u);
            }
        }
        cp_buf_free(&u);
    }
    if (want[BN_ST_OI]) {
        for (size_t i = 0; i < b->n && ok; i++) {
            cp_buf u = {0};
            cp_buf_printf(&u, "%s%s/openInterest?symbol=%s", base, pre, b->sym[i].native);
            ok = su_reqs_add(q, (su_req){K_OI, i, 0, 0, 0}, 1, &u);
            cp_buf_free(&u);
        }
    }
    return ok;
}

static bool outs_new(bn *b, cp_ctx *ctx, su_outs *o, const bool *want)
{
    size_t hint = b->n < SU_CHUNK_ROWS ? b->n : SU_CHUNK_ROWS;
    return su_outs_new(ctx, o, stream_schemas, want ? want : b->want, BN_ST_COUNT, hint);
}

/* Parses response i of q into o. For klines, last_closed and count tell whether to page on. */
static cp_status dispatch(bn *b, cp_ctx *ctx, su_reqs *q, size_t i, su_outs *o, int64_t now, int64_t *last_closed,
                          size_t *count)
{
    const su_req *r = &q->r[i];
    const cp_http_response *rs = &q->s[i];
    cp_status st = su_check(ctx, kind_names[r->kind], rs);
    if (st != CP_OK)
        return st;
    const bn_sym *s = r->sym == SIZE_MAX ? NULL : &b->sym[r->sym];
    switch (r->kind) {
    case K_TICKER:
        return bn_parse_ticker(ctx, b->api, rs, s ? s : b->sym, s ? 1 : b->n, o->b[BN_ST_TICKER]);
    case K_DEPTH:
        return bn_parse_depth(ctx, b->api, rs, s, (size_t)b->cfg->depth, o->b[BN_ST_BOOK_TOP], o->b[BN_ST_BOOK_LEVEL]);
    case K_TRADES:
        return bn_parse_trades(ctx, b->api, rs, s, o->b[BN_ST_TRADE]);
    case K_KLINES:
        return bn_parse_klines(ctx, b->api, rs, s, b->cfg->kline_interval, now, b->cfg->include_open_candle,
                               r->min_ts, r->max_ts, o->b[BN_ST_OHLCV], last_closed, count);
    case K_PREMIUM:
        return bn_parse_premium(ctx, b->api, rs, s ? s : b->sym, s ? 1 : b->n, o->b[BN_ST_FUNDING]);
    case K_OI:
        return bn_parse_open_interest(ctx, b->api, rs, s, o->b[BN_ST_OI]);
    case K_FUNDING_HIST:
        return bn_parse_funding_history(ctx, b->api, rs, s, r->min_ts, r->max_ts, o->b[BN_ST_FUNDING], last_closed,
                                        count);
    }
    return CP_ERR_INTERNAL;
}

/* A cycle, or a round of backfill, while its responses arrive: each is parsed as soon as it and
 * those asked before it are final, and its body freed; rows leave in chunks of SU_CHUNK_ROWS per
 * stream, so memory is bounded by a chunk and the requests in flight, and the sinks write while
 * we fetch. */
typedef struct run {
    bn *b;
    cp_ctx *ctx;
    su_outs o;
    su_reqs next; /* collect: the next round (further kline pages) */
    int64_t now, page;
    int64_t *last;          /* collect: per series, newest closed open_time (INT64_MIN none) */
    int64_t *adv;           /* backfill: per series, where the next page starts (0 none, -1 failed) */
    int64_t from_ms, to_ms; /* backfill range */
    cp_status ret;
    bool ok; /* false once out of memory */
} run;

static void run_fail(run *c, cp_status st)
{
    if (st != CP_OK && c->ret == CP_OK)
        c->ret = st;
}

static void collect_done(void *user, su_reqs *q, size_t i)
{
    run *c = user;
    bn *b = c->b;
    const su_req *r = &q->r[i];
    size_t count = 0, si = r->sym;
    int64_t lc = r->kind == K_KLINES ? c->last[si] : 0;
    cp_status st = dispatch(b, c->ctx, q, i, &c->o, c->now, &lc, &count);
    cp_http_response_clear(c->ctx, &q->s[i]);
    run_fail(c, st);
    if (st == CP_OK && r->kind == K_KLINES) {
        if (lc != c->last[si]) {
            char key[160];
            c->last[si] = lc;
            bn_ohlcv_key(b, si, key, sizeof key);
            c->ok = su_outs_checkpoint(c->ctx, &c->o, BN_ST_OHLCV, key, lc) && c->ok;
        }
        /* a full page that ends in closed candles: there may be more to catch up on */
        if (count >= r->limit && r->min_ts != INT64_MIN && lc != INT64_MIN && lc + 2 * b->interval_ms <= c->now &&
            c->page + 1 < b->cfg->max_pages && c->ok)
            c->ok = add_klines(b, &c->next, si, lc + b->interval_ms, 0, (size_t)b->cfg->ohlcv_limit);
    }
    run_fail(c, su_outs_flush(c->ctx, &c->o, SU_CHUNK_ROWS, true));
}

/* One cycle of the streams in want (candles: from last[], which gets the newest closed). */
static cp_status collect_streams(bn *b, cp_ctx *ctx, const bool *want, int64_t *last, uint64_t *rows)
{
    run c = {.b = b, .ctx = ctx, .now = cp_now_ms(ctx), .ok = true, .last = last};
    if (!outs_new(b, ctx, &c.o, want)) {
        su_outs_free(ctx, &c.o);
        return CP_ERR_NOMEM;
    }
    su_reqs q = {0};
    c.ok = build_cycle(b, &q, c.last, want);
    for (c.page = 0; c.ok && q.n > 0; c.page++) {
        c.ok = su_reqs_perform_each(ctx, &q, collect_done, &c) && c.ok;
        su_reqs_free(ctx, &q);
        q = c.next;
        memset(&c.next, 0, sizeof c.next);
    }
    su_reqs_free(ctx, &q);
    su_reqs_free(ctx, &c.next);
    if (!c.ok)
        run_fail(&c, CP_ERR_NOMEM);
    run_fail(&c, su_outs_emit(ctx, &c.o)); /* the rest, then the checkpoints still pending */
    if (rows)
        *rows = c.o.rows_emitted;
    su_outs_free(ctx, &c.o);
    return c.ret;
}

cp_status bn_collect(bn *b, cp_ctx *ctx)
{
    if (b->cfg->mode && strcmp(b->cfg->mode, "stream") == 0) {
        cp_log_error(ctx, "mode = \"stream\" runs continuously: remove the pipeline's interval and schedule");
        return CP_ERR_CONFIG;
    }
    if (!b->resolved || b->top) { /* a rule: resolved again when it is due */
        cp_status st = bn_resolve(b, ctx);
        if (st != CP_OK)
            return st;
    }
    int64_t *last = calloc(b->n ? b->n : 1, sizeof *last);
    if (!last)
        return CP_ERR_NOMEM;
    for (size_t i = 0; i < b->n; i++) {
        char key[160];
        bn_ohlcv_key(b, i, key, sizeof key);
        if (!b->want[BN_ST_OHLCV] || !su_state_get_i64(ctx, key, &last[i]))
            last[i] = INT64_MIN;
    }
    cp_status st = collect_streams(b, ctx, b->want, last, NULL);
    free(last);
    return st;
}

cp_status bn_catch_up_candles(bn *b, cp_ctx *ctx, int64_t *last, uint64_t *rows)
{
    bool want[BN_ST_COUNT] = {0};
    want[BN_ST_OHLCV] = true;
    return collect_streams(b, ctx, want, last, rows);
}

/* ---- candle series (for `coinpipe gaps`) ------------------------------------------------------ */

cp_status bn_candle_series(bn *b, cp_ctx *ctx, cp_series_fn fn, void *user)
{
    /* offline only the native symbols are known; exchangeInfo gives the normalized ones (and drops
     * the unknown) */
    size_t n = b->resolved ? b->n : b->cfg->symbols.n;
    for (size_t i = 0; b->want[BN_ST_OHLCV] && i < n; i++) {
        char nat[64];
        if (!b->resolved)
            native_of(b->cfg->symbols.v[i], b->api->futures, nat, sizeof nat);
        cp_series s = CP_SERIES(.exchange = b->api->exchange, .symbol = b->resolved ? b->sym[i].norm : NULL,
                                .native_symbol = b->resolved ? b->sym[i].native : nat,
                                .interval = b->cfg->kline_interval);
        if (!fn(user, &s))
            break;
    }
    return CP_OK;
}

/* ---- backfill ----------------------------------------------------------------------------- */

/* series s: kind k = s / n (0 klines, 1 funding history), symbol i = s % n */
static void backfill_key(const bn *b, size_t k, size_t i, int64_t from_ms, int64_t to_ms, char *key, size_t len)
{
    snprintf(key, len, "backfill/%s/%s/%s/%" PRId64 "-%" PRId64, k ? "funding" : "ohlcv", b->sym[i].native,
             k ? "8h" : b->cfg->kline_interval, from_ms, to_ms);
}

static void backfill_done(void *user, su_reqs *q, size_t j)
{
    run *c = user;
    bn *b = c->b;
    size_t i = q->r[j].sym, k = q->r[j].kind == K_FUNDING_HIST, s = k * b->n + i;
    size_t count = 0;
    int64_t lc = INT64_MIN;
    cp_status st = dispatch(b, c->ctx, q, j, &c->o, c->now, &lc, &count);
    cp_http_response_clear(c->ctx, &q->s[j]);
    run_fail(c, st);
    if (st != CP_OK) {
        c->adv[s] = -1;
        return;
    }
    /* past the newest row; nothing returned means the range holds no more */
    int64_t nx = lc != INT64_MIN && count >= q->r[j].limit ? lc + (k ? 1 : b->interval_ms) : c->to_ms;
    char key[224];
    c->adv[s] = nx;
    backfill_key(b, k, i, c->from_ms, c->to_ms, key, sizeof key);
    c->ok = su_outs_checkpoint(c->ctx, &c->o, k ? BN_ST_FUNDING : BN_ST_OHLCV, key, nx >= c->to_ms ? c->to_ms : nx) &&
            c->ok;
    run_fail(c, su_outs_flush(c->ctx, &c->o, SU_CHUNK_ROWS, true));
}

cp_status bn_backfill(bn *b, cp_ctx *ctx, int64_t from_ms, int64_t to_ms)
{
    if (!b->resolved) {
        cp_status st = bn_resolve(b, ctx);
        if (st != CP_OK)
            return st;
    }
    bool do_k = b->want[BN_ST_OHLCV], do_f = b->api->futures && b->want[BN_ST_FUNDING];
    if (!do_k && !do_f) {
        cp_log_error(ctx, "backfill: nothing to do (streams need ohlcv%s)", b->api->futures ? " or funding" : "");
        return CP_ERR_UNSUPPORTED;
    }
    if (to_ms <= from_ms)
        return CP_OK;
    /* one series per (symbol, kind): next start, checkpointed under a key naming the range */
    size_t ns = b->n * 2;
    bool want[BN_ST_COUNT] = {0};
    want[BN_ST_OHLCV] = do_k;
    want[BN_ST_FUNDING] = do_f;
    run c = {.b = b, .ctx = ctx, .now = cp_now_ms(ctx), .from_ms = from_ms, .to_ms = to_ms, .ok = true};
    int64_t *next = calloc(ns, sizeof *next);
    c.adv = calloc(ns, sizeof *c.adv);
    if (!next || !c.adv || !outs_new(b, ctx, &c.o, want)) {
        su_outs_free(ctx, &c.o);
        free(next);
        free(c.adv);
        return CP_ERR_NOMEM;
    }
    char key[224];
    for (size_t s = 0; s < ns; s++) {
        size_t i = s % b->n, k = s / b->n;
        bool on = k ? do_f : do_k;
        next[s] = on ? from_ms : to_ms;
        int64_t v;
        backfill_key(b, k, i, from_ms, to_ms, key, sizeof key);
        if (on && su_state_get_i64(ctx, key, &v) && v > from_ms && v <= to_ms) {
            next[s] = v;
            cp_log_info(ctx, "backfill: %s %s resumes at checkpoint %" PRId64, k ? "funding" : "ohlcv",
                        b->sym[i].native, v);
        }
    }
    for (;;) {
        if (cp_stopping(ctx)) {
            run_fail(&c, CP_ERR_STOPPED);
            break;
        }
        su_reqs q = {0};
        bool ok = true;
        for (size_t s = 0; s < ns && ok; s++) {
            if (next[s] >= to_ms)
                continue;
            size_t i = s % b->n;
            if (s < b->n) {
                ok = add_klines(b, &q, i, next[s], to_ms, (size_t)b->cfg->ohlcv_limit);
            } else {
                cp_buf u = {0};
                cp_buf_printf(&u, "%s%s/fundingRate?symbol=%s&startTime=%" PRId64 "&endTime=%" PRId64 "&limit=1000",
                              b->base, b->api->prefix, b->sym[i].native, next[s], to_ms - 1);
                ok = su_reqs_add(&q, (su_req){K_FUNDING_HIST, i, next[s], to_ms, 1000}, 1, &u);
                cp_buf_free(&u);
            }
        }
        if (!ok || q.n == 0) {
            if (!ok)
                run_fail(&c, CP_ERR_NOMEM);
            su_reqs_free(ctx, &q);
            break;
        }
        memset(c.adv, 0, ns * sizeof *c.adv);
        c.ok = su_reqs_perform_each(ctx, &q, backfill_done, &c) && c.ok;
        su_reqs_free(ctx, &q);
        cp_status est = su_outs_flush(ctx, &c.o, 0, true); /* the round's rows, then its checkpoints */
        if (!c.ok || est != CP_OK || c.o.failed) {
            run_fail(&c, !c.ok ? CP_ERR_NOMEM : est != CP_OK ? est : CP_ERR_STOPPED);
            break;
        }
        bool failed = false;
        for (size_t s = 0; s < ns; s++) {
            if (c.adv[s] < 0)
                failed = true;
            else if (c.adv[s] > 0)
                next[s] = c.adv[s];
        }
        double done = 0;
        size_t active = 0;
        for (size_t s = 0; s < ns; s++) {
            bool on = s < b->n ? do_k : do_f;
            if (!on)
                continue;
            active++;
            done += (double)((next[s] < to_ms ? next[s] : to_ms) - from_ms) / (double)(to_ms - from_ms);
        }
        cp_progress(ctx, active ? done / (double)active : 1.0, c.o.rows_emitted);
        if (failed)
            break; /* the checkpoints keep what was done: a rerun resumes */
    }
    if (c.ret == CP_OK) { /* finished: the range's checkpoints are no longer needed */
        for (size_t s = 0; s < ns; s++) {
            backfill_key(b, s / b->n, s % b->n, from_ms, to_ms, key, sizeof key);
            cp_state_set(ctx, key, NULL);
        }
    }
    su_outs_free(ctx, &c.o);
    free(next);
    free(c.adv);
    return c.ret;
}
