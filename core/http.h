/* The HTTP service plugins reach through cp_http_*: rate limits, retries, parallel requests.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_HTTP_H
#define COINPIPE_CORE_HTTP_H

#include "log.h"

#include <coinpipe/coinpipe.h>
#include <stdatomic.h>

int core_http_init(void);
void core_http_shutdown(void);
cp_status core_http_limits(const char *host, const cp_http_limits *limits);
cp_status core_http_perform(const core_log_tag *tag, const cp_http_request *reqs, cp_http_response *resps,
                            size_t n);
/* the same, calling done(user, i, &resps[i]) on this thread as each request becomes final */
cp_status core_http_perform_each(const core_log_tag *tag, const cp_http_request *reqs, cp_http_response *resps,
                                 size_t n, cp_http_done_fn done, void *user);
void core_http_response_clear(cp_http_response *r);
const char *core_http_header(const cp_http_response *r, const char *name, size_t *len);
void core_http_set_stop(atomic_bool *stop); /* requests end early with CP_ERR_STOPPED */

#endif /* COINPIPE_CORE_HTTP_H */
