/* Helpers shared by the exchange sources: response checks, JSON to exact decimal text, rows, checkpoints.
 * SPDX-License-Identifier: MIT
 *
 * Compiled into each source plugin (a static helper, not a library of its own). Every row
 * setter keeps the exchange's exact text: strings are taken as they are, JSON numbers by
 * their original token text, so no digit is lost on the way to a DECIMAL column. The setters
 * take values from the strict scanner (jscan.h: the hot responses, read in place without a
 * tree) or, through su_jval, from json-c (json-c keeps the token text of doubles; an integer it
 * saturated is left NULL: better no value than a wrong one).
 */
#ifndef COINPIPE_SRCUTIL_H
#define COINPIPE_SRCUTIL_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>
#include <coinpipe/streams.h>
#include <coinpipe/utc.h>

#include "jscan.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Checks that a response arrived with a 2xx code. Otherwise returns why: the response's
 * status, or CP_ERR_HTTP for a non-2xx code (logged at debug level only: the core has already
 * logged host, path, status and the server's message, and a ban only once). */
cp_status su_check(cp_ctx *ctx, const char *endpoint, const cp_http_response *r);

/* Parses the whole body as one JSON value. A truncated or malformed body, or trailing
 * garbage, logs an error naming the endpoint and returns NULL. The caller puts the result.
 * A member whose key the body repeats in its object (json-c would keep the last silently) has a
 * marker as its value: su_jval gives it `dup`, and every row setter and su_require refuse it as
 * a duplicate key naming the field. A repeated key whose value is an object or array (structure:
 * "symbols" twice in exchangeInfo) refuses the whole response: logged as "ENDPOINT: duplicate key
 * 'symbols' in the object at $; response ignored" (a path such as $.data or $[2]), NULL. */
json_object *su_parse(cp_ctx *ctx, const char *endpoint, const cp_http_response *r);

/* Member `key` of object `o`, or NULL when `o` is not an object, the key is absent or null. */
json_object *su_get(json_object *o, const char *key);

/* A json-c value as the row setters take it (an integer json-c saturated is `lossy`). The
 * text points into the json-c object: valid as long as it. NULL gives SJ_NONE. */
sj_val su_jval(json_object *o);

/* Starts reading a response body with the scanner (jscan.h): its top-level value in *v, a
 * container entered. False when the body is empty or malformed (logged as su_parse does). */
bool su_json_begin(cp_ctx *ctx, const char *endpoint, const cp_http_response *r, sj *j, sj_val *v);
/* Logs the scanner's error the way su_parse logs json-c's ("malformed or truncated JSON ...",
 * "trailing data ..."); returns CP_ERR_PARSE. */
cp_status su_json_error(cp_ctx *ctx, const char *endpoint, const cp_http_response *r, const sj *j);

/* A row being filled from one JSON element. `ok` turns false on the first bad value (a
 * repeated key, an integer beyond int64, a number that is not a finite decimal, a wrong type);
 * the caller then drops that row (su_row_drop), not the response's other rows. */
typedef struct su_row {
    cp_ctx *ctx;
    cp_batch *b;
    size_t row;
    bool ok;
    const char *bad; /* name of the first bad field, for the log */
    const char *why; /* what was wrong with it (NULL: unexpected value) */
} su_row;

/* Starts a row in `b`; ok is false when out of memory. */
su_row su_row_add(cp_ctx *ctx, cp_batch *b);
/* Takes back the row r was filling (the last of its batch) and logs an error naming endpoint,
 * symbol, field and reason ("ticker/24hr ETHBTC: field 'lastPrice': not a finite decimal number;
 * row dropped ..."); error lines are counted per pipeline in the metrics (errors), the row in
 * coinpipe_rows_invalid_total (CP_ROWS_INVALID). */
void su_row_drop(su_row *r, const char *endpoint, const char *symbol);
/* The same log line for an element that never became a row (why NULL: unexpected value). */
void su_bad_element(cp_ctx *ctx, const char *endpoint, const char *symbol, const char *field, const char *why);
/* DECIMAL from a JSON number (its exact token) or numeric string; NULL when absent/null/"" or
 * an integer json-c saturated; a failure for anything else that is not a decimal. */
void su_vdec(su_row *r, size_t col, const sj_val *v, const char *field);
/* INT64/TIMESTAMP from a JSON integer or integer string; NULL when absent/null. */
void su_vint(su_row *r, size_t col, const sj_val *v, const char *field);
/* STRING from a JSON string (up to a NUL) or integer; NULL when absent/null. */
void su_vstr(su_row *r, size_t col, const sj_val *v, const char *field);
/* Fails the row when a required value is absent or null (key columns). */
void su_vrequire(su_row *r, const sj_val *v, const char *field);
/* The same from json-c values. */
void su_dec(su_row *r, size_t col, json_object *v, const char *field);
void su_int(su_row *r, size_t col, json_object *v, const char *field);
/* TIMESTAMP from a JSON integer of UNIX seconds; NULL when absent, a failure when out of range. */
void su_unix_s(su_row *r, size_t col, json_object *v, const char *field);
/* TIMESTAMP from an ISO-8601 UTC text ("2024-04-07T15:24:51.021Z"); NULL when absent. */
void su_iso_ts(su_row *r, size_t col, json_object *v, const char *field);
/* STRING from a JSON string; NULL when absent. */
void su_str(su_row *r, size_t col, json_object *v, const char *field);
/* STRING / INT64 constants. */
void su_cstr(su_row *r, size_t col, const char *s);
void su_i64(su_row *r, size_t col, int64_t v);
/* Fails the row when a required value is missing (key columns). */
void su_require(su_row *r, json_object *v, const char *field);

/* One level of a book side, an array [price, size, ...]: ok when it is an array of at least
 * two elements whose first two are not null. */
typedef struct su_level {
    sj_val price, size;
    bool ok;
} su_level;
/* An order book snapshot's rows: what identifies it and its levels, best first (bids[i] for
 * i < min(nb, max(levels, 1)), the same for asks; nb and na count every level). */
typedef struct su_book {
    const char *exchange, *symbol, *native; /* native NULL: same as symbol */
    const su_level *bids, *asks;
    size_t nb, na;
    sj_val sequence; /* the exchange's update id */
    int64_t ts, received_at;
} su_book;
/* The first `max` levels of a json-c side array into a malloc'd array (*n gets the side's
 * length); NULL when out of memory (or for an empty side, with *n 0). */
su_level *su_levels_json(json_object *side, size_t max, size_t *n);
/* Appends a book_top row to `top` and up to `levels` book_level rows per side to `lvl` (either
 * may be NULL). Returns false with *bad naming the field on a malformed level; the caller
 * truncates both batches back. */
bool su_book_rows(cp_ctx *ctx, const su_book *bk, size_t levels, cp_batch *top, cp_batch *lvl, const char **bad);

/* Starts an ohlcv row with its identity and times filled (native NULL: same as symbol). */
su_row su_ohlcv_row(cp_ctx *ctx, cp_batch *out, const char *exchange, const char *symbol, const char *native,
                    const char *interval, int64_t open_time, int64_t close_time, int64_t received_at);

/* The raw archive (a source's archive_raw option, docs/streams.md `raw`): appends a row for
 * response `r` of the request for `url` (source: the exchange, endpoint: the API endpoint) to
 * *raw, creating the batch on first use. The body is copied byte for byte. Nothing when no
 * response arrived (r->status not CP_OK). Out of memory: the row is left out and logged. The
 * caller emits *raw (su_emit) after the cycle's other batches. */
void su_raw_add(cp_ctx *ctx, cp_batch **raw, const char *source, const char *endpoint, const char *url,
                const cp_http_response *r);
/* cp_plugin.schemas of a source with an archive_raw option: su_schemas, then the raw stream when
 * archive_raw is set. */
cp_status su_schemas_raw(cp_ctx *ctx, const cp_strlist *streams, const char *const *supported, bool archive_raw,
                         cp_schema_fn fn, void *user);

/* Drops rows of `b` back to `nrows` (the rows of a response that turned out bad). */
void su_truncate(cp_ctx *ctx, cp_batch *b, size_t nrows);
/* One row per key in a micro-batch for a stream whose key time can repeat (a receive clock in
 * milliseconds, an exchange's event time in milliseconds): called after a symbol's row was
 * completed as the last row of `b`, with `*last` the symbol's own index of its previous row
 * (SIZE_MAX before the first; the caller keeps one per symbol and stream). When that previous
 * row is in `b` and has the same symbol (column sym_col) and key time (ts_col), the new row is
 * copied over it and dropped from the end: the last update of a millisecond is the one kept, in
 * the place of the first. Otherwise *last becomes the new row's index. False when out of memory
 * (the new row is then dropped as well). Only the symbol's previous row is compared: exchange
 * times that go back within a batch are left to the sinks (latest wins, cp_sql_latest_wins). */
bool su_keep_last(cp_ctx *ctx, cp_batch *b, size_t sym_col, size_t ts_col, size_t *last);
/* Emits `b` if it has rows, else frees it; NULL is a no-op. */
cp_status su_emit(cp_ctx *ctx, cp_batch *b);

/* Candle interval "1m" "5m" "1h" "1d" "1w" … → ms; -1 if unknown. */
int64_t su_interval_ms(const char *s);
/* Percent-encodes `s` for a query string into a malloc'd string (NULL on OOM). */
char *su_urlencode(const char *s);
/* Host part of an absolute URL into buf ("" if none). */
void su_url_host(const char *url, char *buf, size_t len);

/* Checkpoints in the state store as int64 text. get returns false when absent or bad. */
bool su_state_get_i64(cp_ctx *ctx, const char *key, int64_t *v);
cp_status su_state_set_i64(cp_ctx *ctx, const char *key, int64_t v);

/* Whether `name` is in the list. */
bool su_list_has(const cp_strlist *l, const char *name);
/* ---- the sources' check callbacks (cp_plugin.check): offline, each problem reported with its option ---- */

/* Reports every entry of `streams` not in `supported` (NULL-terminated) on option 'streams', saying
 * what the source collects; `hints` (NULL or pairs {name, text, ..., NULL}) add a reason for names
 * users reach for ("depth" on Binance, "stats" on Coinbase). A close spelling gets "did you mean".
 * Returns false when anything was reported. */
bool su_check_streams(cp_check *chk, const cp_strlist *streams, const char *const *supported,
                      const char *const *hints);
/* Reports (on 'kline_interval') an interval that is not one of `allowed` (NULL-terminated, the
 * exact spellings the exchange uses), naming `exchange` and listing them; when it means the
 * same length as one of them ("60m" for "1h") says which to write. `granularity` (may be NULL)
 * is appended to the list, e.g. "i.e. 60 300 900 seconds". Returns false when reported. */
bool su_check_interval(cp_check *chk, const char *interval, const char *const *allowed, const char *exchange,
                       const char *granularity);
/* The host root a base_url option names: `url` without trailing slashes and without a trailing
 * `api_path` (e.g. "/api/v3"; NULL or "" for none), so "https://h", "https://h/" and
 * "https://h/api/v3/" all give "https://h" and the source appends its API path to it.
 * Returns a malloc'd string the caller frees, NULL when out of memory. */
char *su_base_root(const char *url, const char *api_path);
/* Reports `option` unless `url` is an absolute URL (scheme://host...). Returns false when reported. */
bool su_check_url(cp_check *chk, const char *option, const char *url);
/* cp_plugin.schemas of a source whose `streams` option lists catalog streams out of `supported`:
 * declares their catalog schemas in the order of the option; CP_ERR_CONFIG (logged) for a
 * stream it does not collect. */
cp_status su_schemas(cp_ctx *ctx, const cp_strlist *streams, const char *const *supported, cp_schema_fn fn,
                     void *user);


/* The requests of one round: what each is for (plugin-defined kind, symbol index, time range,
 * page size), the HTTP requests and, after su_reqs_perform, their responses. */
typedef struct su_req {
    int kind;
    size_t sym;     /* SIZE_MAX: several symbols */
    int64_t min_ts; /* time-ranged requests: first open_time/ts wanted */
    int64_t max_ts; /* exclusive upper bound */
    size_t limit;   /* rows asked for */
} su_req;
typedef struct su_reqs {
    size_t n, cap;
    su_req *r;
    cp_http_request *h;
    cp_http_response *s;
    char **urls;
} su_reqs;
/* The exchange's error message in a JSON error body, for cp_http_request.error_message: the
 * string (or JSON text) at the first of `paths` present ("msg", or "status.error_message" one
 * level down), followed by " (code C)" when the object has a top-level "code"; nothing written
 * when the body is not such an object (the core then logs its first line). */
void su_error_json(const char *body, size_t len, char *out, size_t outlen, const char *const *paths);
/* The error formatter su_reqs_add puts in every request of this plugin (set in create()). */
void su_reqs_error_format(void (*fn)(const char *body, size_t len, char *out, size_t outlen));
/* Appends a request for url's text (taken over: url is emptied). False when out of memory. */
bool su_reqs_add(su_reqs *q, su_req r, unsigned weight, cp_buf *url);
/* Performs every request concurrently (cp_http_perform); false when out of memory. */
bool su_reqs_perform(cp_ctx *ctx, su_reqs *q);
/* Performs every request concurrently and calls fn(user, q, i) for each as it becomes final
 * (cp_http_perform_each), in request order while the bodies waiting behind a slower request
 * stay under 4 MiB (then as they come): parse q->s[i] there and clear it, so bodies never pile
 * up. False (no request made) when out of memory. */
typedef void (*su_done_fn)(void *user, su_reqs *q, size_t i);
bool su_reqs_perform_each(cp_ctx *ctx, su_reqs *q, su_done_fn fn, void *user);
void su_reqs_free(cp_ctx *ctx, su_reqs *q);

/* The batches a source fills, one per stream (NULL where the stream is not wanted), emitted in
 * chunks while a cycle runs, with the checkpoints that describe their rows: a checkpoint given
 * to su_outs_checkpoint() is set in the state store only once every row appended to its stream
 * before it has been emitted (the state store persists it after those rows reach the spool). */
#define SU_MAX_STREAMS 8
#define SU_CHUNK_ROWS 4096 /* rows of one stream emitted at once while a cycle runs */
typedef struct su_pending {
    size_t stream;
    char *key;
    int64_t v;
} su_pending;
typedef struct su_outs {
    cp_batch *b[SU_MAX_STREAMS];
    const cp_schema *const *schemas;
    size_t rows_hint[SU_MAX_STREAMS];
    su_pending *pend; /* checkpoints waiting for their stream's next emit */
    size_t npend, cappend;
    uint64_t rows_emitted;
    bool failed; /* an emit failed: no checkpoint is set any more */
} su_outs;
/* Creates a batch for each i < n with want[i]; false when out of memory (su_outs_free then). */
bool su_outs_new(cp_ctx *ctx, su_outs *o, const cp_schema *const *schemas, const bool *want, size_t n,
                 size_t rows_hint);
/* Emits the batch of each stream holding at least min_rows rows (every batch, and empty ones
 * count as emitted, when min_rows is 0) and sets that stream's pending checkpoints. With refill
 * an emitted batch is replaced by an empty one, else it leaves `o`. Returns the first failure
 * (CP_ERR_NOMEM when a replacement cannot be made: that stream's batch is NULL then). */
cp_status su_outs_flush(cp_ctx *ctx, su_outs *o, size_t min_rows, bool refill);
/* su_outs_flush(ctx, o, 0, false): the end of a cycle. */
cp_status su_outs_emit(cp_ctx *ctx, su_outs *o);
/* Sets int64 checkpoint `key` = v once the rows appended to stream so far are emitted (at once
 * when the stream has none waiting). False when out of memory (the checkpoint is not set). */
bool su_outs_checkpoint(cp_ctx *ctx, su_outs *o, size_t stream, const char *key, int64_t v);
/* Frees the batches and forgets pending checkpoints (their rows were not emitted). */
void su_outs_free(cp_ctx *ctx, su_outs *o);

/* The wait before a streaming source reconnects: exponential backoff from 250 ms to 30 s, the wait
 * a random point in the upper half of the step. `*backoff` keeps the step between calls (0 at
 * first); `lived` (the lost connection lasted a minute) starts it over. */
int64_t su_reconnect_wait(int64_t *backoff, bool lived);

#endif
