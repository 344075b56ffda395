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
 * - Stored rows (/api/v1/candles, /api/v1/rows: up to 10^5 rows, 32 MB of JSON) are read and
 *   rendered on a thread of their own (at most LIMIT_READS at once, beyond that on the
 *   listener's thread as before) while the connection waits suspended; the answer leaves in
 *   pieces of READ_CHUNK bytes as they are rendered (chunked), so its first bytes are sent
 *   while SQLite is still stepping, the listener's thread stays free for /health and the
 *   live clients, and the pieces' memory is reused instead of one buffer of the whole answer.
 *   An answer that fits one piece is sent whole with its length, errors included; an error
 *   after pieces were sent ends the chunked answer without its last chunk (the client sees a
 *   truncated transfer, never a short array that looks complete).
 */
#include "api.h"
#include "latest.h"
#include "listener.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <arpa/inet.h>
#include <coinpipe/buf.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef COINPIPE_WEB_DIR
#define COINPIPE_WEB_DIR "/usr/local/share/coinpipe/web"
#endif

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
    LIMIT_EVENT_BYTES = 4 << 20, /* events not yet sent to one live client */
    LIMIT_LIVE_CLIENTS = 500,  /* live (event stream) clients at once */
    LIMIT_READS = 8,           /* reads of stored rows on threads of their own at once */
    READ_CHUNK = 256 << 10,    /* a read's answer leaves in pieces of about this size */
    EVENT_POLL_MS = 200,       /* how often the latest-rows table is looked at for changes */
    HEARTBEAT_MS = 15000,      /* a comment to every live client: finds the ones gone */
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
    __typeof__(MHD_create_response_from_callback) *create_response_from_callback;
    __typeof__(MHD_suspend_connection) *suspend_connection;
    __typeof__(MHD_resume_connection) *resume_connection;
} mhd;

static struct MHD_Daemon *daemon_;
static char *auth_token; /* global.http_auth_token, or NULL: no token needed */

struct core_listener_req {
    struct MHD_Connection *conn;
    const char *url;
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
        {"MHD_create_response_from_callback", (void **)&mhd.create_response_from_callback},
        {"MHD_suspend_connection", (void **)&mhd.suspend_connection},
        {"MHD_resume_connection", (void **)&mhd.resume_connection},
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

/* adds the headers every answer has, queues r and releases it */
static enum MHD_Result send_response(struct MHD_Connection *conn, unsigned code, const char *type,
                                     struct MHD_Response *r)
{
    mhd.add_response_header(r, "Content-Type", type);
    mhd.add_response_header(r, "Cache-Control", "no-store");
    mhd.add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (code == MHD_HTTP_UNAUTHORIZED)
        mhd.add_response_header(r, "WWW-Authenticate", "Bearer realm=\"coinpipe\"");
    enum MHD_Result ret = mhd.queue_response(conn, code, r);
    mhd.destroy_response(r);
    return ret;
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
    return send_response(conn, code, type, r);
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

/* ---- the page and its assets ------------------------------------------------------------ */

static char *web_dir; /* where index.html was found at start, or NULL */

/* the first directory holding index.html: $COINPIPE_WEB_DIR, <dir of the executable>/web (the
 * build tree), <dir of the executable>/../share/coinpipe/web (a relocated install), the install
 * directory */
static void find_web_dir(void)
{
    char cand[4][PATH_MAX + 64];
    size_t n = 0;
    const char *env = getenv("COINPIPE_WEB_DIR");
    if (env && *env)
        snprintf(cand[n++], sizeof cand[0], "%s", env);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = len > 0 ? (exe[len] = '\0', strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = '\0';
        snprintf(cand[n++], sizeof cand[0], "%s/web", exe);
        snprintf(cand[n++], sizeof cand[0], "%s/../share/coinpipe/web", exe);
    }
    snprintf(cand[n++], sizeof cand[0], "%s", COINPIPE_WEB_DIR);
    for (size_t i = 0; i < n; i++) {
        char f[sizeof cand[0] + 16];
        snprintf(f, sizeof f, "%.*s/index.html", (int)sizeof cand[0], cand[i]);
        if (access(f, R_OK) == 0) {
            web_dir = core_util_strdup(cand[i]);
            return;
        }
    }
}

static unsigned serve_file(const char *name, cp_buf *body, const char **type)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
                 {".png", "image/png"},                 {".txt", "text/plain; charset=utf-8"}};
    const char *ext = strrchr(name, '.');
    *type = NULL;
    for (size_t i = 0; ext && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(ext, types[i].ext))
            *type = types[i].type;
    bool safe = *type && name[0] != '.' && strlen(name) < 128;
    for (const char *p = name; safe && *p; p++) /* one file name: no '/', no ".." */
        safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
               *p == '_' || (*p == '.' && p[1] != '.');
    size_t len = 0;
    char path[PATH_MAX + 200];
    char *data = NULL;
    if (safe && web_dir) {
        snprintf(path, sizeof path, "%s/%s", web_dir, name);
        data = core_util_read_file(path, &len);
    }
    if (!data) {
        *type = "text/plain";
        cp_buf_puts(body, web_dir ? "not found\n"
                                  : "the dashboard's files are not installed (set COINPIPE_WEB_DIR to the web/ "
                                    "directory of the source tree)\n");
        return MHD_HTTP_NOT_FOUND;
    }
    cp_buf_put(body, data, len);
    free(data);
    return MHD_HTTP_OK;
}

static unsigned route_root(const core_listener_req *r, cp_buf *body, const char **type)
{
    (void)r;
    return serve_file("index.html", body, type);
}

static unsigned route_asset(const core_listener_req *r, cp_buf *body, const char **type)
{
    return serve_file(r->url + strlen("/assets/"), body, type);
}

#define API_ROUTE(fn)                                                                                                  \
    static unsigned route_##fn(const core_listener_req *r, cp_buf *body, const char **type)                           \
    {                                                                                                                  \
        *type = "application/json";                                                                                    \
        return core_api_##fn(r, body);                                                                                 \
    }
API_ROUTE(latest)
API_ROUTE(symbols)
API_ROUTE(pipelines)

/* ---- live clients: Server-Sent Events ----------------------------------------------------- */

typedef struct live {
    struct MHD_Connection *conn;
    cp_buf out;      /* events not yet sent, from `off` */
    size_t off;
    uint64_t seq;    /* latest-rows sequence the client has */
    bool suspended, closed;
    struct live *next;
} live;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    live *head;
    size_t n;
    uint64_t seq;    /* sequence of the last event published */
    bool quit, running;
    pthread_t thread;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Under S.lock: queues text for one client (closing it when it is too far behind); returns its
 * connection when it is suspended and must be resumed. The caller resumes it after unlocking:
 * libmicrohttpd takes its own lock there, and calls live_free with that lock held. A suspended
 * connection cannot close, so it stays valid until resumed. */
static struct MHD_Connection *live_push(live *c, const char *text, size_t len)
{
    if (!c->closed && c->out.len - c->off + len > LIMIT_EVENT_BYTES)
        c->closed = true; /* the page reconnects and reloads what it missed */
    else if (!c->closed)
        cp_buf_put(&c->out, text, len);
    if (c->out.oom)
        c->closed = true;
    if (!c->suspended)
        return NULL;
    c->suspended = false;
    return c->conn;
}

/* resumes the n connections of v (S.lock not held) and frees v */
static void live_resume(struct MHD_Connection **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mhd.resume_connection(v[i]);
    free(v);
}

static ssize_t live_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    live *c = cls;
    pthread_mutex_lock(&S.lock);
    size_t avail = c->out.len - c->off;
    ssize_t n;
    if (c->closed && !avail) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (!avail) { /* nothing to send: off the event loop until live_push */
        c->suspended = true;
        mhd.suspend_connection(c->conn);
        n = 0;
    } else {
        n = (ssize_t)(avail < max ? avail : max);
        memcpy(buf, c->out.p + c->off, (size_t)n);
        c->off += (size_t)n;
        if (c->off == c->out.len) {
            c->off = 0;
            c->out.len = 0;
        }
    }
    pthread_mutex_unlock(&S.lock);
    return n;
}

static void live_free(void *cls)
{
    live *c = cls;
    pthread_mutex_lock(&S.lock);
    for (live **p = &S.head; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            S.n--;
            break;
        }
    pthread_mutex_unlock(&S.lock);
    cp_buf_free(&c->out);
    free(c);
}

/* appends "id: SEQ\nevent: rows\ndata: [rows changed after `after`]\n\n"; the new sequence */
static uint64_t render_rows(cp_buf *b, uint64_t after)
{
    cp_buf data = {0};
    uint64_t seq = after;
    size_t n = core_latest_json(&data, NULL, NULL, after, &seq);
    if (n)
        cp_buf_printf(b, "id: %llu\nevent: rows\ndata: %s\n\n", (unsigned long long)seq, data.p);
    cp_buf_free(&data);
    return seq;
}

/* publishes the latest-rows table's changes to every live client a few times a second */
static void *publisher(void *arg)
{
    (void)arg;
    int64_t last_beat = core_util_mono_ms();
    pthread_mutex_lock(&S.lock);
    while (!S.quit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += EVENT_POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&S.wake, &S.lock, &until);
        if (S.quit)
            break;
        uint64_t cur = core_latest_seq();
        bool beat = core_util_mono_ms() - last_beat >= HEARTBEAT_MS;
        if (cur == S.seq && !beat)
            continue;
        uint64_t from = S.seq;
        pthread_mutex_unlock(&S.lock); /* rendered without holding up the clients */
        cp_buf ev = {0};
        uint64_t seq = cur != from ? render_rows(&ev, from) : from;
        if (beat)
            cp_buf_puts(&ev, ": ping\n\n");
        pthread_mutex_lock(&S.lock);
        S.seq = seq;
        if (beat)
            last_beat = core_util_mono_ms();
        struct MHD_Connection **wake = calloc(S.n + 1, sizeof *wake);
        size_t nwake = 0;
        for (live *c = S.head; wake && c && ev.len && !ev.oom; c = c->next)
            if (c->seq < seq || beat) {
                struct MHD_Connection *w = live_push(c, ev.p, ev.len);
                if (w)
                    wake[nwake++] = w;
                if (c->seq < seq)
                    c->seq = seq;
            }
        cp_buf_free(&ev);
        pthread_mutex_unlock(&S.lock);
        live_resume(wake, nwake);
        pthread_mutex_lock(&S.lock);
    }
    pthread_mutex_unlock(&S.lock);
    return NULL;
}

/* GET /api/v1/events[?after=SEQ]: a Server-Sent Events stream of the rows that change */
static enum MHD_Result live_start(struct MHD_Connection *conn)
{
    const char *a = mhd.lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
    const char *last = mhd.lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    unsigned long long after = strtoull(last ? last : a ? a : "0", NULL, 10);
    if (after > core_latest_seq()) /* a sequence of an earlier run (the daemon restarted): everything */
        after = 0;
    live *c = calloc(1, sizeof *c);
    if (!c)
        return MHD_NO;
    c->conn = conn;
    cp_buf_puts(&c->out, "retry: 2000\n\n");
    c->seq = render_rows(&c->out, after); /* what changed since the page loaded, or everything */
    pthread_mutex_lock(&S.lock);
    bool room = S.n < LIMIT_LIVE_CLIENTS && !S.quit && !c->out.oom && c->out.len <= LIMIT_EVENT_BYTES;
    if (room) {
        c->next = S.head;
        S.head = c;
        S.n++;
    }
    pthread_mutex_unlock(&S.lock);
    if (!room) {
        cp_buf_free(&c->out);
        free(c);
        cp_buf b = {0};
        cp_buf_puts(&b, "{\"error\":\"too many live clients\"}\n");
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", &b);
    }
    struct MHD_Response *r = mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, live_read, c, live_free);
    if (!r) {
        live_free(c);
        return MHD_NO;
    }
    mhd.add_response_header(r, "X-Accel-Buffering", "no");
    return send_response(conn, MHD_HTTP_OK, "text/event-stream", r);
}

static void live_stop(void)
{
    pthread_mutex_lock(&S.lock);
    S.quit = true;
    pthread_cond_signal(&S.wake);
    pthread_mutex_unlock(&S.lock);
    if (S.running)
        pthread_join(S.thread, NULL);
    S.running = false;
    pthread_mutex_lock(&S.lock); /* libmicrohttpd must not be stopped with a connection suspended */
    struct MHD_Connection **wake = calloc(S.n + 1, sizeof *wake);
    size_t nwake = 0;
    for (live *c = S.head; c; c = c->next) {
        c->closed = true;
        if (c->suspended && wake) {
            c->suspended = false;
            wake[nwake++] = c->conn;
        }
    }
    pthread_mutex_unlock(&S.lock);
    live_resume(wake, nwake);
}

/* ---- reads of stored rows: a thread each, the answer streamed --------------------------- */

static int request_marker; /* a request's con_cls between its calls (a read's: its reading) */

typedef struct piece {
    struct piece *next;
    cp_buf b;   /* JSON text; sent from `off` */
    size_t off;
} piece;

typedef struct reading {
    core_api_read *rd;
    struct MHD_Connection *conn;
    piece *head, *tail; /* rendered, not yet sent */
    piece *spare;       /* sent pieces kept for the next ones (at most 2) */
    size_t nspare;
    cp_buf rest;        /* when done without pieces: the whole answer (or the error) */
    unsigned code;
    int refs;           /* the thread and the connection */
    bool streamed;      /* pieces were handed over: the answer is a stream */
    bool done, suspended, gone;
} reading;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    size_t running; /* reads on their own thread */
    bool quit;
} R = {.lock = PTHREAD_MUTEX_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER};

static void reading_free(reading *g)
{
    core_api_read_free(g->rd);
    for (piece *lists[2] = {g->head, g->spare}, **l = lists; l < lists + 2; l++)
        for (piece *p = *l, *next; p; p = next) {
            next = p->next;
            cp_buf_free(&p->b);
            free(p);
        }
    cp_buf_free(&g->rest);
    free(g);
}

/* under R.lock: the connection to resume (after unlocking) when it waits suspended */
static struct MHD_Connection *reading_wake(reading *g)
{
    if (!g->suspended)
        return NULL;
    g->suspended = false;
    return g->conn;
}

/* drops one reference (R.lock not held) */
static void reading_unref(reading *g)
{
    pthread_mutex_lock(&R.lock);
    bool last = --g->refs == 0;
    pthread_mutex_unlock(&R.lock);
    if (last)
        reading_free(g);
}

/* the read's thread hands over a piece of the answer: body's memory goes to the queue and body
 * gets a spare one back; false when nobody will send it (the client left, the listener stops) */
static bool reading_flush(void *user, cp_buf *body)
{
    reading *g = user;
    pthread_mutex_lock(&R.lock);
    piece *p = NULL;
    if (!g->gone && !R.quit) {
        p = g->spare;
        if (p)
            g->spare = p->next, g->nspare--;
        else
            p = calloc(1, sizeof *p);
    }
    struct MHD_Connection *wake = NULL;
    if (p) {
        cp_buf empty = p->b; /* a spare's memory, or none */
        p->b = *body;
        p->off = 0;
        p->next = NULL;
        if (g->tail)
            g->tail->next = p;
        else
            g->head = p;
        g->tail = p;
        *body = empty;
        cp_buf_reset(body);
        g->streamed = true;
        wake = reading_wake(g);
    }
    pthread_mutex_unlock(&R.lock);
    if (wake)
        mhd.resume_connection(wake);
    return p != NULL;
}

static void *reading_thread(void *arg)
{
    reading *g = arg;
    cp_buf body = {0};
    unsigned code = core_api_read_run(g->rd, &body, READ_CHUNK, reading_flush, g);
    /* the rest of a streamed answer as its last piece (g->streamed is written by this thread only) */
    if (code == MHD_HTTP_OK && g->streamed && body.len && !reading_flush(g, &body))
        code = MHD_HTTP_INTERNAL_SERVER_ERROR; /* nobody sends it */
    pthread_mutex_lock(&R.lock);
    g->code = code;
    g->done = true;
    if (!g->streamed) {
        g->rest = body;
        body = (cp_buf){0};
    }
    struct MHD_Connection *wake = reading_wake(g);
    pthread_mutex_unlock(&R.lock);
    cp_buf_free(&body);
    if (wake) /* before `running` drops: the daemon is not stopped under a resume */
        mhd.resume_connection(wake);
    reading_unref(g);
    pthread_mutex_lock(&R.lock);
    R.running--;
    pthread_cond_broadcast(&R.idle);
    pthread_mutex_unlock(&R.lock);
    return NULL;
}

/* libmicrohttpd asks for the next bytes of a streamed answer */
static ssize_t reading_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    reading *g = cls;
    ssize_t n = 0;
    pthread_mutex_lock(&R.lock);
    while (g->head && (size_t)n < max) {
        piece *p = g->head;
        size_t k = p->b.len - p->off < max - (size_t)n ? p->b.len - p->off : max - (size_t)n;
        memcpy(buf + n, p->b.p + p->off, k);
        n += (ssize_t)k;
        p->off += k;
        if (p->off < p->b.len)
            break;
        g->head = p->next;
        if (!g->head)
            g->tail = NULL;
        if (g->nspare < 2) { /* its memory renders a later piece */
            cp_buf_reset(&p->b);
            p->next = g->spare;
            g->spare = p;
            g->nspare++;
        } else {
            cp_buf_free(&p->b);
            free(p);
        }
    }
    if (!n && g->done) {
        n = g->code == MHD_HTTP_OK ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (!n) { /* nothing rendered yet: off the event loop until reading_flush */
        g->suspended = true;
        mhd.suspend_connection(g->conn);
    }
    pthread_mutex_unlock(&R.lock);
    return n;
}

/* GET /api/v1/candles, /api/v1/rows: the arguments are checked here, the read runs on a thread
 * of its own while the connection waits suspended; reading_answer answers when it is resumed */
static enum MHD_Result reading_start(struct MHD_Connection *conn, const core_listener_req *req, const char *stream,
                                     void **con_cls)
{
    cp_buf body = {0};
    core_api_read *rd;
    unsigned code = core_api_read_new(req, stream, &body, &rd);
    reading *g = rd ? calloc(1, sizeof *g) : NULL;
    pthread_mutex_lock(&R.lock);
    bool room = g && R.running < LIMIT_READS && !R.quit;
    if (room)
        R.running++;
    pthread_mutex_unlock(&R.lock);
    if (!room) { /* on this thread, as a whole */
        free(g);
        if (rd)
            code = core_api_read_run(rd, &body, 0, NULL, NULL);
        core_api_read_free(rd);
        return reply(conn, code, "application/json", &body);
    }
    *g = (reading){.rd = rd, .conn = conn, .refs = 2, .suspended = true};
    *con_cls = g;
    mhd.suspend_connection(conn);
    pthread_attr_t attr;
    pthread_t t;
    bool started = pthread_attr_init(&attr) == 0;
    if (started) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&t, &attr, reading_thread, g) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) { /* no thread: read here, answered once resumed */
        g->code = core_api_read_run(rd, &g->rest, 0, NULL, NULL);
        pthread_mutex_lock(&R.lock);
        g->done = true;
        g->refs--;
        R.running--;
        struct MHD_Connection *wake = reading_wake(g);
        pthread_mutex_unlock(&R.lock);
        mhd.resume_connection(wake);
    }
    return MHD_YES;
}

/* the connection of a read is resumed: its first piece is ready or the read is done */
static enum MHD_Result reading_answer(struct MHD_Connection *conn, reading *g)
{
    pthread_mutex_lock(&R.lock);
    bool streamed = g->streamed;
    cp_buf body = g->rest;
    g->rest = (cp_buf){0};
    unsigned code = g->code;
    pthread_mutex_unlock(&R.lock);
    if (!streamed)
        return reply(conn, code, "application/json", &body);
    struct MHD_Response *r = mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, READ_CHUNK, reading_read, g, NULL);
    return r ? send_response(conn, MHD_HTTP_OK, "application/json", r) : MHD_NO;
}

/* libmicrohttpd is done with a request (answered, failed or the client left) */
static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    reading *g = *con_cls;
    if (!g || (void *)g == (void *)&request_marker)
        return;
    *con_cls = NULL;
    pthread_mutex_lock(&R.lock);
    g->gone = true; /* the thread stops at its next piece */
    pthread_mutex_unlock(&R.lock);
    reading_unref(g);
}

/* waits for the reads' threads (each resumes its connection before it ends) */
static void reading_stop(void)
{
    pthread_mutex_lock(&R.lock);
    R.quit = true;
    while (R.running)
        pthread_cond_wait(&R.idle, &R.lock);
    pthread_mutex_unlock(&R.lock);
}

typedef unsigned (*route_fn)(const core_listener_req *r, cp_buf *body, const char **type);
static const struct route {
    const char *path; /* ending in '/': a prefix */
    bool open;        /* served without the token */
    route_fn fn;      /* NULL: the live stream or a read */
    const char *read; /* a read of stored rows (answered by reading_start): its stream, "" from ?stream= */
} routes[] = {
    {"/health", true, route_health, NULL},
    {"/metrics", false, route_metrics, NULL},
    {"/", false, route_root, NULL},
    {"/assets/", false, route_asset, NULL},
    {"/api/v1/candles", false, NULL, "ohlcv"},
    {"/api/v1/rows", false, NULL, ""},
    {"/api/v1/latest", false, route_latest, NULL},
    {"/api/v1/symbols", false, route_symbols, NULL},
    {"/api/v1/pipelines", false, route_pipelines, NULL},
    {"/api/v1/events", false, NULL, NULL}, /* answered by live_start */
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version, (void)upload;
    cp_buf body = {0};
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        cp_buf_puts(&body, "only GET\n"); /* answered before any request body is read */
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body);
    }
    if (*upload_size) /* a GET with a body: nothing here reads one */
        return MHD_NO;
    if (!*con_cls) { /* first call: headers only */
        *con_cls = &request_marker;
        return MHD_YES;
    }
    if (*con_cls != &request_marker) /* a read's connection, resumed */
        return reading_answer(conn, *con_cls);
    core_listener_req req = {.conn = conn, .url = url};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        size_t pl = strlen(routes[i].path);
        bool prefix = routes[i].path[pl - 1] == '/' && pl > 1;
        if (prefix ? strncmp(url, routes[i].path, pl) != 0 : strcmp(url, routes[i].path) != 0)
            continue;
        if (!routes[i].open && !authorized(conn)) {
            cp_buf_puts(&body, "{\"error\":\"this listener needs its http_auth_token (Authorization: Bearer)\"}\n");
            return reply(conn, MHD_HTTP_UNAUTHORIZED, "application/json", &body);
        }
        if (routes[i].read)
            return reading_start(conn, &req, *routes[i].read ? routes[i].read : NULL, con_cls);
        if (!routes[i].fn)
            return live_start(conn);
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
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* the logger option must come first, or libmicrohttpd warns on its own stderr */
    daemon_ = mhd.start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
                               (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned)LIMIT_CONNECTIONS,
                               MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)LIMIT_PER_IP,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_REQUEST_BYTES,
                               MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (!daemon_) {
        snprintf(err, errlen, "http_listen \"%s\": cannot listen (address in use or not available)", listen);
        return -1;
    }
    free(auth_token);
    auth_token = token && *token ? core_util_strdup(token) : NULL;
    free(web_dir);
    web_dir = NULL;
    find_web_dir();
    S.quit = false;
    R.quit = false;
    S.seq = core_latest_seq();
    S.running = pthread_create(&S.thread, NULL, publisher, NULL) == 0;
    if (!S.running)
        LOG_WARN("http listener: no thread for live updates: pages poll instead");
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
    if (daemon_) {
        live_stop();
        reading_stop();
        mhd.stop_daemon(daemon_);
    }
    daemon_ = NULL;
    free(auth_token);
    auth_token = NULL;
    free(web_dir);
    web_dir = NULL;
#endif
}
