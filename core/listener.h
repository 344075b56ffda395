/* The HTTP listener on global.http_listen: /metrics, /health and the dashboard's paths.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_LISTENER_H
#define COINPIPE_CORE_LISTENER_H

#include <stddef.h>

struct sockaddr_storage;
/* core_listener_parse: "127.0.0.1:9273", "[::1]:9273", "0.0.0.0:9273", ":9273" (every
 * interface); 0 ok, -1 with a reason in err. core_listener_url: the URL at which a client on
 * this host reaches `path` of that listener (a wildcard bind becomes loopback); 0 ok. */
int core_listener_parse(const char *text, struct sockaddr_storage *ss, size_t *sslen, char *err, size_t errlen);
int core_listener_url(const char *listen, const char *path, char *url, size_t len, char *err, size_t errlen);
/* starts serving in a thread of its own; `token` (global.http_auth_token, copied; NULL or "" for
 * none) is then needed for every path but /health. Warns when the address is not loopback and
 * logs the dashboard's URL. No-op for a NULL or empty `listen`; 0 ok, -1 with a reason in err. */
int core_listener_start(const char *listen, const char *token, char *err, size_t errlen);
void core_listener_stop(void); /* closes every connection and joins the thread; idempotent */
/* a request being answered (valid during the route's call); its query argument `name`
 * (URL-decoded, owned by the listener), or NULL when absent */
typedef struct core_listener_req core_listener_req;
const char *core_listener_arg(const core_listener_req *r, const char *name);

#endif /* COINPIPE_CORE_LISTENER_H */
