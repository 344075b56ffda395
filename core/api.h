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
unsigned core_api_candles(const core_listener_req *r, cp_buf *body);   /* GET /api/v1/candles */
unsigned core_api_rows(const core_listener_req *r, cp_buf *body);      /* GET /api/v1/rows */
unsigned core_api_latest(const core_listener_req *r, cp_buf *body);    /* GET /api/v1/latest */
unsigned core_api_symbols(const core_listener_req *r, cp_buf *body);   /* GET /api/v1/symbols */
unsigned core_api_pipelines(const core_listener_req *r, cp_buf *body); /* GET /api/v1/pipelines */

#endif /* COINPIPE_CORE_API_H */
