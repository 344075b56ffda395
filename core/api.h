/* The dashboard's JSON API (GET /api/v1/...): documented for users in docs/dashboard.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_API_H
#define COINPIPE_CORE_API_H

#include "config.h"
#include "listener.h"

#include <coinpipe/buf.h>

/* core_api_open (main thread, at start and after each reload, before the previous config is
 * freed) opens a read-only instance of every sink with read callbacks in cfg's pipelines (cfg
 * must outlive them) and seeds the latest-rows table from them; core_api_close frees them.
 * Each route appends its JSON answer to body and returns the HTTP status (4xx with
 * {"error": "..."}). Called by the listener's thread only. */
void core_api_open(const core_config *cfg);
void core_api_reload(const core_config *cfg); /* core_api_open when open (the runtime's reload) */
void core_api_close(void);

/* The two routes that read stored rows (candles, rows) in two steps, so the listener can run
 * the read on a thread of its own and send the answer while it is rendered:
 * core_api_read_new checks the request's arguments (stream "ohlcv" for candles, NULL: the
 * `stream` argument) and copies them into *out, which the caller frees with core_api_read_free;
 * a bad request gives *out NULL, the status (400) and the error JSON in body, else it returns 0.
 * core_api_read_run (any thread; the stores are read under the API's lock) appends the JSON
 * array to body; with flush set, whenever body holds `chunk` bytes or more it calls
 * flush(user, body), which takes what it wants of body (leaving it empty or not) and returns
 * false to stop the read (the client left). Returns the status: 200, or 404/500/503 with body
 * reset to the error JSON (rows flushed before such an error were already handed over). */
typedef struct core_api_read core_api_read;
unsigned core_api_read_new(const core_listener_req *r, const char *stream, cp_buf *body, core_api_read **out);
unsigned core_api_read_run(core_api_read *rd, cp_buf *body, size_t chunk, bool (*flush)(void *user, cp_buf *body),
                           void *user);
void core_api_read_free(core_api_read *rd);
unsigned core_api_latest(const core_listener_req *r, cp_buf *body);    /* GET /api/v1/latest */
unsigned core_api_symbols(const core_listener_req *r, cp_buf *body);   /* GET /api/v1/symbols */
unsigned core_api_pipelines(const core_listener_req *r, cp_buf *body); /* GET /api/v1/pipelines */

#endif /* COINPIPE_CORE_API_H */
