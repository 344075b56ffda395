/* The HTTP listener on global.http_listen: GET /metrics, /health, the dashboard page and its
 * assets, the JSON API and its live event stream, all read-only, served by libmicrohttpd.
 * SPDX-License-Identifier: MIT
 *
 * Why it is shaped this way:
 * - libmicrohttpd is opened by core/loader.c when a listener is configured, not linked: its
 *   constructor runs gnutls_global_init (about 0.9 MB resident that a collector without
 *   http_listen never uses).
 * - One thread (libmicrohttpd's internal epoll loop) serves every connection. Limits keep it
 *   available to /metrics and /health when clients misbehave: at most LIMIT_CONNECTIONS
 *   connections, LIMIT_PER_IP from one address, IDLE_TIMEOUT_S without traffic closes a
 *   connection (slow or idle clients cannot hold slots), request headers bounded by
 *   LIMIT_REQUEST_BYTES (431 beyond), no request body accepted, GET and HEAD only.
 * - With http_auth_token set, every path but /health needs the token: an `Authorization:
 *   Bearer` header, the `access_token` query argument (RFC 6750; the browser's EventSource
 *   cannot send headers), or the cookie the page gets when opened with that argument.
 * - Live clients (/api/v1/events, Server-Sent Events) are suspended connections: each holds a
 *   bounded buffer of events not yet sent; a client that falls LIMIT_EVENT_BYTES behind is
 *   disconnected (the page reconnects and reloads what it missed).
 */
#include "listener.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <arpa/inet.h>
#include <coinpipe/buf.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int core_listener_parse(const char *text, struct sockaddr_storage *ss, size_t *sslen, char *err, size_t errlen)
{
    char host[256];
    const char *port;
    const char *colon = strrchr(text, ':');
    if (text[0] == '[') { /* [::1]:9273 */
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') {
            snprintf(err, errlen, "\"%s\" is not HOST:PORT (IPv6 as [::1]:9273)", text);
            return -1;
        }
        snprintf(host, sizeof host, "%.*s", (int)(close - text - 1), text + 1);
        port = close + 2;
    } else if (colon) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - text), text);
        port = colon + 1;
    } else {
        snprintf(err, errlen, "\"%s\" is not HOST:PORT (e.g. \"127.0.0.1:9273\")", text);
        return -1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535) {
        snprintf(err, errlen, "\"%s\": bad port", text);
        return -1;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(err, errlen, "\"%s\": the host must be a numeric IP address (%s)", text, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sslen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}


int core_listener_url(const char *listen, const char *path, char *url, size_t len, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    size_t sslen;
    if (core_listener_parse(listen, &ss, &sslen, err, errlen) != 0)
        return -1;
    char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1"; /* a wildcard bind is reached on loopback */
    int port;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(host, sizeof host, "[%s]", IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr) ? "::1" : ip);
        port = ntohs(a->sin6_port);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        if (a->sin_addr.s_addr != htonl(INADDR_ANY))
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    }
    snprintf(url, len, "http://%s:%d%s", host, port, path);
    return 0;
}

#ifdef COINPIPE_HAVE_MICROHTTPD
#include <microhttpd.h>

enum {
    LIMIT_CONNECTIONS = 1000,  /* all clients (epoll: no FD_SETSIZE bound) */
    LIMIT_PER_IP = 250,        /* one address (200 live pages from one host fit) */
    IDLE_TIMEOUT_S = 3,        /* no traffic for this long closes a connection */
    LIMIT_REQUEST_BYTES = 16384, /* request line and headers, per connection */
};

static struct {
    void *so;
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
} mhd;

static struct MHD_Daemon *daemon_;
static char *auth_token; /* global.http_auth_token, or NULL: no token needed */

struct core_listener_req {
    struct MHD_Connection *conn;
};

const char *core_listener_arg(const core_listener_req *r, const char *name)
{
    return mhd.lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int mhd_load(char *err, size_t errlen)
{
    if (mhd.so)
        return 0;
    const core_loader_sym syms[] = {
        {"MHD_start_daemon", (void **)&mhd.start_daemon},
        {"MHD_stop_daemon", (void **)&mhd.stop_daemon},
        {"MHD_create_response_from_buffer", (void **)&mhd.create_response_from_buffer},
        {"MHD_add_response_header", (void **)&mhd.add_response_header},
        {"MHD_queue_response", (void **)&mhd.queue_response},
        {"MHD_destroy_response", (void **)&mhd.destroy_response},
        {"MHD_lookup_connection_value", (void **)&mhd.lookup_connection_value},
    };
    char why[400];
    mhd.so = core_loader_open_library(COINPIPE_MHD_SONAME, syms, sizeof syms / sizeof syms[0], why, sizeof why);
    if (!mhd.so)
        snprintf(err, errlen, "http_listen is set but %s", why);
    return mhd.so ? 0 : -1;
}

/* compares in time independent of where the texts differ */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

static bool authorized(struct MHD_Connection *c)
{
    if (!auth_token)
        return true;
    const char *h = mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0 && same_secret(h + 7, auth_token))
        return true;
    const char *q = mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "access_token");
    return q && same_secret(q, auth_token);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type, cp_buf *body)
{
    struct MHD_Response *r = mhd.create_response_from_buffer(
        body->len, body->p ? body->p : (void *)"", body->p ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        cp_buf_free(body);
        return MHD_NO;
    }
    *body = (cp_buf){0};
    mhd.add_response_header(r, "Content-Type", type);
    mhd.add_response_header(r, "Cache-Control", "no-store");
    mhd.add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (code == MHD_HTTP_UNAUTHORIZED)
        mhd.add_response_header(r, "WWW-Authenticate", "Bearer realm=\"coinpipe\"");
    enum MHD_Result ret = mhd.queue_response(conn, code, r);
    mhd.destroy_response(r);
    return ret;
}

static unsigned route_metrics(const core_listener_req *r, cp_buf *body, const char **type)
{
    (void)r;
    core_metrics_render(body);
    *type = "text/plain; version=0.0.4; charset=utf-8";
    return MHD_HTTP_OK;
}

static unsigned route_health(const core_listener_req *r, cp_buf *body, const char **type)
{
    (void)r;
    *type = "application/json";
    return core_metrics_health(body) ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
}

static unsigned route_root(const core_listener_req *r, cp_buf *body, const char **type)
{
    (void)r;
    cp_buf_puts(body, "coinpipe " COINPIPE_VERSION ": /metrics (Prometheus), /health (JSON)\n");
    *type = "text/plain";
    return MHD_HTTP_OK;
}

typedef unsigned (*route_fn)(const core_listener_req *r, cp_buf *body, const char **type);
static const struct route {
    const char *path;
    bool open; /* served without the token */
    route_fn fn;
} routes[] = {
    {"/health", true, route_health},
    {"/metrics", false, route_metrics},
    {"/", false, route_root},
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version, (void)upload;
    static int marker;
    cp_buf body = {0};
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        cp_buf_puts(&body, "only GET\n"); /* answered before any request body is read */
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body);
    }
    if (*upload_size) /* a GET with a body: nothing here reads one */
        return MHD_NO;
    if (!*con_cls) { /* first call: headers only */
        *con_cls = &marker;
        return MHD_YES;
    }
    core_listener_req req = {.conn = conn};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(url, routes[i].path) != 0)
            continue;
        if (!routes[i].open && !authorized(conn)) {
            cp_buf_puts(&body, "{\"error\":\"this listener needs its http_auth_token (Authorization: Bearer)\"}\n");
            return reply(conn, MHD_HTTP_UNAUTHORIZED, "application/json", &body);
        }
        const char *type = "text/plain";
        unsigned code = routes[i].fn(&req, &body, &type);
        return reply(conn, code, type, &body);
    }
    cp_buf_puts(&body, "not found: try /metrics or /health\n");
    return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", &body);
}

CP_PRINTF(2, 0) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    LOG_WARN("http listener: %s", line);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}
#endif

int core_listener_start(const char *listen, const char *token, char *err, size_t errlen)
{
    if (!listen || !*listen)
        return 0;
#ifdef COINPIPE_HAVE_MICROHTTPD
    struct sockaddr_storage ss;
    size_t len;
    if (core_listener_parse(listen, &ss, &len, err, errlen) != 0 || mhd_load(err, errlen) != 0)
        return -1;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* the logger option must come first, or libmicrohttpd warns on its own stderr */
    daemon_ = mhd.start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
                               (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned)LIMIT_CONNECTIONS,
                               MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)LIMIT_PER_IP,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_REQUEST_BYTES, MHD_OPTION_END);
    if (!daemon_) {
        snprintf(err, errlen, "http_listen \"%s\": cannot listen (address in use or not available)", listen);
        return -1;
    }
    free(auth_token);
    auth_token = token && *token ? core_util_strdup(token) : NULL;
    if (!is_loopback(&ss))
        LOG_WARN("http_listen \"%s\" accepts connections from other hosts%s", listen,
                 auth_token ? "" : " and no http_auth_token is set: anyone who reaches it reads the collected data "
                                   "and the pipeline health (bind 127.0.0.1 or set http_auth_token)");
    char url[160];
    core_listener_url(listen, "/", url, sizeof url, err, errlen);
    LOG_INFO("dashboard on %s (Prometheus metrics at /metrics, health at /health)", url);
    return 0;
#else
    (void)token;
    snprintf(err, errlen, "http_listen is set but this coinpipe was built without libmicrohttpd");
    return -1;
#endif
}

void core_listener_stop(void)
{
#ifdef COINPIPE_HAVE_MICROHTTPD
    if (daemon_)
        mhd.stop_daemon(daemon_);
    daemon_ = NULL;
    free(auth_token);
    auth_token = NULL;
#endif
}
