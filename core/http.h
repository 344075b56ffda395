/* The HTTP service plugins reach through cp_http_*: rate limits, retries, parallel requests.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_HTTP_H
#define COINPIPE_CORE_HTTP_H

#include "log.h"

#include <coinpipe/coinpipe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Reads the test environment (COINPIPE_HTTP_BACKOFF_MS, COINPIPE_HTTP_RATE_WINDOW_MS); 0, or -1
 * when libcurl cannot be initialised. */
int core_http_init(void);
/* Frees the per-host state and libcurl's shared caches; no request may be running. */
void core_http_shutdown(void);
/* The global options: memory_budget (bytes of response bodies and WebSocket messages the process holds, all together;
 * 0 = 256 MiB), retry_after_max_ms (a longer Retry-After fails the request and pauses the host
 * for its owner instead of waiting; 0 = 5 minutes), redirect_same_host_https (follow redirects
 * to https on the same host and port; otherwise none is followed). */
void core_http_configure(size_t memory_budget, int64_t retry_after_max_ms, bool redirect_same_host_https);
/* Declares limits for (host, the tag's plugin): each plugin has its own budget per host. */
cp_status core_http_limits(const core_log_tag *tag, const char *host, const cp_http_limits *limits);
/* Performs the requests (see cp_http_perform); tag names the caller in logs and owns the rate
 * budgets; once *stop is true (stop may be NULL: never) the requests still pending end with
 * CP_ERR_STOPPED. */
cp_status core_http_perform(const core_log_tag *tag, const atomic_bool *stop, const cp_http_request *reqs,
                            cp_http_response *resps, size_t n);
/* the same, calling done(user, i, &resps[i]) on this thread as each request becomes final */
cp_status core_http_perform_each(const core_log_tag *tag, const atomic_bool *stop, const cp_http_request *reqs,
                                 cp_http_response *resps, size_t n, cp_http_done_fn done, void *user);
/* Frees the response's body and headers and gives the body's bytes back to the memory budget. */
void core_http_response_clear(cp_http_response *r);
const char *core_http_header(const cp_http_response *r, const char *name, size_t *len);
/* A Retry-After value (delta seconds or an HTTP date) as ms from now, one more than asked;
 * values beyond a year saturate there (no overflow); -1 when unreadable. */
int64_t core_http_retry_after_parse(const char *value);

/* The memory budget of what servers sent that the process holds: HTTP bodies from their first
 * byte until the caller clears the response, WebSocket messages being assembled or waiting in
 * an inbox. take reserves n bytes: false, reserving nothing, when the total would pass the
 * budget (the caller fails that response or closes that connection with a clear error);
 * release returns bytes taken earlier. Thread-safe. */
bool core_http_budget_take(size_t n);
void core_http_budget_release(size_t n);
/* the configured budget in bytes, and the bytes taken now */
size_t core_http_budget(void);
size_t core_http_budget_used(void);
/* "http_memory_budget = 32 MiB" (or KiB, bytes), for error messages */
void core_http_budget_describe(char *out, size_t outlen);

#endif /* COINPIPE_CORE_HTTP_H */
