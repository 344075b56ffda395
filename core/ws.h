/* The WebSocket service: client connections for continuous sources (libwebsockets).
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_WS_H
#define COINPIPE_CORE_WS_H

#include "host.h"

#include <coinpipe/coinpipe.h>

/* Opens a connection for the instance behind `ctx` (host table ws_open): starts the one service
 * thread on first use. Events queue in the instance's inbox until core_ws_poll delivers them. */
cp_status core_ws_open(cp_ctx *ctx, const cp_ws_options *o, cp_ws_fn fn, void *user, cp_ws **out);
/* Queues a text message (copied) for sending; CP_ERR_IO when the connection is closed. */
cp_status core_ws_send(cp_ws *ws, const char *text, size_t len);
/* Delivers the instance's queued events to their callbacks on the calling thread, waiting up
 * to timeout_ms for the first; CP_ERR_TIMEOUT when none came, CP_ERR_STOPPED when stopping. */
cp_status core_ws_poll(cp_ctx *ctx, int64_t timeout_ms);
/* Closes (close frame 1000) and releases the connection; no callback of it runs afterwards. */
void core_ws_close(cp_ws *ws);
/* Ends the service thread after closing what is left; at shutdown, after every instance. */
void core_ws_shutdown(void);

#endif /* COINPIPE_CORE_WS_H */
