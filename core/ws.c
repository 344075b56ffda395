/* WebSocket service: the client side of continuous sources, over libwebsockets.
 * SPDX-License-Identifier: MIT
 *
 * One service thread runs one lws context for every connection of the process. Plugins never
 * see it: a connection's events (open, each complete text message, closed) are queued in the
 * inbox of the instance that opened it, and cp_ws_poll() delivers them to the plugin's callback
 * on the plugin's own thread, so a source keeps the rule that its callbacks never run
 * concurrently. Requests from other threads (connect, send, close) are queued under the one
 * lock and the service thread is woken with lws_cancel_service(), the only lws call that is
 * safe from another thread.
 *
 * Bounds: a message (fragments joined) larger than the connection's max_message closes it with
 * 1009 before it is buffered further, so a hostile or broken peer costs at most that much
 * memory per connection; an inbox holds at most INBOX_MAX_BYTES of undelivered messages, past
 * which the connection is closed as too slow (the source reconnects and repairs what it lost).
 * Every connection's buffers together (messages being assembled, messages waiting in inboxes)
 * count against the process's one memory budget (http_memory_budget, shared with the HTTP
 * bodies): a message that would pass it closes its connection (1008) with an error naming the
 * host and the budget.
 * Idle connections are pinged by lws's retry-and-idle policy and dropped when the pong does not
 * come; TLS verification is libwebsockets' default against the system CAs, as libcurl's.
 */
#include "ws.h"

#include "http.h"
#include "log.h"
#include "util.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_MESSAGE (1u << 20)
#define INBOX_MAX_BYTES (64u << 20)
#define BLOCK_BYTES (64u << 10) /* an inbox's events are laid out in blocks of this size */
#define SPARE_BLOCKS 2          /* delivered blocks an inbox keeps for the next ones */
#define SERVICE_BUF (256u << 10) /* what lws reads from a socket at once (its default is 4 KiB) */

/* An event, laid out in a block after the one before it; ws NULL: dropped by core_ws_close. */
typedef struct event {
    cp_ws *ws;
    cp_ws_event type;
    size_t len;
    char data[]; /* NUL-terminated */
} event;

/* Events in the order they came, packed: a flood of small messages costs no allocation each,
 * and the poller takes every block at once. A message bigger than a block has a block of its own. */
typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(16) char data[];
} block;

typedef struct inbox {
    struct inbox *next;
    cp_ctx *ctx;
    pthread_cond_t cv;
    block *head, *tail;
    block *spare; /* delivered blocks of BLOCK_BYTES kept for reuse (at most SPARE_BLOCKS) */
    size_t nspare;
    size_t bytes;  /* message bytes waiting */
    int sleepers;  /* pollers waiting on cv: only they need a signal, and only when it was empty */
    int refs;      /* connections + pollers */
} inbox;

typedef struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes, then the text */
} out_msg;

enum { WS_NEW, WS_CONNECTING, WS_OPEN, WS_CLOSED };

struct cp_ws {
    struct cp_ws *next_pending; /* the service thread's to-do list */
    inbox *in;
    cp_ws_fn fn;
    void *user;
    char *host, *path;
    int port;
    bool tls;
    size_t max_message;
    lws_retry_bo_t retry;
    int state;
    bool user_closed;           /* cp_ws_close called: deliver nothing more */
    bool close_wanted;          /* the service thread should close the wsi */
    bool pending;               /* on the to-do list */
    int refs;                   /* user + service side while connecting/open + queued events */
    struct lws *wsi;            /* service thread only */
    out_msg *out_head, *out_tail;
    char *rx;                   /* the message being assembled (service thread only) */
    size_t rx_len, rx_cap;
};

static struct {
    pthread_mutex_t lock;
    pthread_t thread;
    bool started, quit;
    struct lws_context *lws;
    inbox *inboxes;
    cp_ws *pending;
} g = {.lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP}; /* connect may call back at once */

/* ---- under g.lock ------------------------------------------------------------------ */

static void blocks_free(block *b)
{
    for (block *n; b; b = n) {
        n = b->next;
        free(b);
    }
}

/* an inbox lives while a connection or a poller holds it */
static void inbox_unref(inbox *in)
{
    if (--in->refs > 0)
        return;
    for (inbox **pp = &g.inboxes; *pp; pp = &(*pp)->next)
        if (*pp == in) {
            *pp = in->next;
            break;
        }
    blocks_free(in->head);
    blocks_free(in->spare);
    pthread_cond_destroy(&in->cv);
    free(in);
}

__attribute__((noinline)) static void ws_unref(cp_ws *ws) /* not inlined: GCC 12 then sees frees that the references rule out */
{
    if (--ws->refs > 0)
        return;
    for (out_msg *m = ws->out_head, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    inbox_unref(ws->in);
    core_http_budget_release(ws->rx_cap);
    free(ws->rx);
    free(ws->host);
    free(ws->path);
    free(ws);
}

static inbox *inbox_of(cp_ctx *ctx, bool create)
{
    for (inbox *in = g.inboxes; in; in = in->next)
        if (in->ctx == ctx)
            return in;
    if (!create)
        return NULL;
    inbox *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->ctx = ctx;
    pthread_cond_init(&in->cv, NULL);
    in->next = g.inboxes;
    g.inboxes = in;
    return in;
}

/* the room an event with `len` bytes of data takes in a block */
static size_t event_size(size_t len)
{
    return (offsetof(event, data) + len + 1 + 15) & ~(size_t)15;
}

/* why a message could not be queued */
enum { POSTED, INBOX_FULL, OVER_BUDGET };

/* room for `need` bytes at the end of the inbox: the last block, a spare one or a new one */
static event *inbox_room(inbox *in, size_t need)
{
    block *t = in->tail;
    if (!t || t->cap - t->used < need) {
        if (need <= BLOCK_BYTES && in->spare) {
            t = in->spare;
            in->spare = t->next;
            in->nspare--;
        } else {
            size_t cap = need > BLOCK_BYTES ? need : BLOCK_BYTES;
            if (!(t = malloc(sizeof *t + cap)))
                return NULL;
            t->cap = cap;
        }
        t->next = NULL;
        t->used = 0;
        if (in->tail)
            in->tail->next = t;
        else
            in->head = t;
        in->tail = t;
    }
    event *e = (event *)(t->data + t->used);
    t->used += need;
    return e;
}

/* queues an event for the plugin; a message counts against the inbox's bound and the memory budget */
static int post(cp_ws *ws, cp_ws_event type, const char *data, size_t len)
{
    if (ws->user_closed)
        return POSTED;
    inbox *in = ws->in;
    if (type == CP_WS_MESSAGE && in->bytes + len > INBOX_MAX_BYTES)
        return INBOX_FULL;
    if (type == CP_WS_MESSAGE && !core_http_budget_take(len))
        return OVER_BUDGET;
    bool was_empty = !in->head;
    event *e = inbox_room(in, event_size(len));
    if (!e) {
        if (type == CP_WS_MESSAGE)
            core_http_budget_release(len);
        return INBOX_FULL;
    }
    e->ws = ws;
    e->type = type;
    e->len = len;
    if (len)
        memcpy(e->data, data, len);
    e->data[len] = '\0';
    ws->refs++;
    in->bytes += len;
    if (was_empty && in->sleepers) /* a poller finds what came after the first when it wakes */
        pthread_cond_signal(&in->cv);
    return POSTED;
}

/* the next event of the blocks from *b on (*at: its offset in *b, 0 to begin); NULL after the last */
static event *next_event(block **b, size_t *at)
{
    while (*b && *at >= (*b)->used) {
        *b = (*b)->next;
        *at = 0;
    }
    if (!*b)
        return NULL;
    event *e = (event *)((*b)->data + *at);
    *at += event_size(e->len);
    return e;
}

static void wake_service(cp_ws *ws)
{
    if (!ws->pending) {
        ws->pending = true;
        ws->refs++;
        ws->next_pending = g.pending;
        g.pending = ws;
    }
    if (g.lws)
        lws_cancel_service(g.lws);
}

/* the connection is gone: tell the plugin once and drop the service side's reference */
static void closed(cp_ws *ws, struct lws *wsi, const char *why)
{
    if (ws->state == WS_CLOSED)
        return;
    ws->state = WS_CLOSED;
    if (wsi) /* later callbacks of this wsi must not reach ws, which may be freed */
        lws_set_opaque_user_data(wsi, NULL);
    ws->wsi = NULL;
    post(ws, CP_WS_CLOSED, why, strlen(why));
    ws_unref(ws);
}

/* closes the connection because its next `len` bytes would pass the memory budget */
static void close_over_budget(cp_ws *ws, struct lws *wsi, size_t len)
{
    char b[64], why[300];
    core_http_budget_describe(b, sizeof b);
    snprintf(why, sizeof why,
             "%zu more bytes from %.80s would exceed the memory budget (%s; %zu KiB held): connection closed", len,
             ws->host, b, core_http_budget_used() >> 10);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"memory", 6);
    closed(ws, wsi, why);
}

/* ---- the service thread ------------------------------------------------------------- */

/* a complete message into the inbox; -1 (the connection closed) when it cannot wait there */
static int deliver(cp_ws *ws, struct lws *wsi, const void *data, size_t len)
{
    int posted = post(ws, CP_WS_MESSAGE, data, len);
    if (posted == OVER_BUDGET) {
        close_over_budget(ws, wsi, len);
        return -1;
    }
    if (posted == INBOX_FULL) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
        closed(ws, wsi, "messages not read fast enough (inbox full): connection closed");
        return -1;
    }
    return 0;
}

static void connect_now(cp_ws *ws)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = g.lws;
    ci.address = ws->host;
    ci.port = ws->port;
    ci.path = ws->path;
    ci.host = ws->host;
    ci.origin = ws->host;
    ci.ssl_connection = ws->tls ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "coinpipe-ws";
    ci.opaque_user_data = ws;
    ci.retry_and_idle_policy = &ws->retry;
    ws->state = WS_CONNECTING;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    if (wsi && ws->state == WS_CONNECTING)
        ws->wsi = wsi;
    if (!wsi) {
        char why[300];
        snprintf(why, sizeof why, "cannot connect to %s:%d", ws->host, ws->port);
        closed(ws, NULL, why);
    }
}

/* the to-do list: new connections, messages to send, closes (under g.lock) */
static void run_pending(void)
{
    cp_ws *list = g.pending;
    g.pending = NULL;
    while (list) {
        cp_ws *ws = list;
        list = ws->next_pending;
        ws->pending = false;
        if (ws->state == WS_NEW) {
            if (ws->close_wanted)
                closed(ws, NULL, "closed before connecting");
            else
                connect_now(ws);
        } else if (ws->wsi && (ws->close_wanted || ws->out_head)) {
            lws_callback_on_writable(ws->wsi);
        }
        ws_unref(ws);
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    cp_ws *ws = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    int rc = 0;
    pthread_mutex_lock(&g.lock);
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        run_pending();
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!ws)
            break;
        ws->state = WS_OPEN;
        ws->wsi = wsi;
        post(ws, CP_WS_OPEN, NULL, 0);
        if (ws->out_head || ws->close_wanted)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!ws || ws->state != WS_OPEN)
            break;
        if (lws_frame_is_binary(wsi))
            break; /* the streams we speak are text; binary frames are ignored */
        if (lws_is_first_fragment(wsi))
            ws->rx_len = 0;
        if (ws->rx_len == 0 && len <= ws->max_message && lws_is_final_fragment(wsi) &&
            !lws_remaining_packet_payload(wsi)) { /* a whole message in one piece (most are): no assembly */
            rc = deliver(ws, wsi, in, len);
            break;
        }
        if (ws->rx_len + len > ws->max_message) {
            char why[200];
            snprintf(why, sizeof why, "message larger than %zu bytes: connection closed (1009)", ws->max_message);
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too big", 7);
            ws->rx_len = 0;
            closed(ws, wsi, why);
            rc = -1;
            break;
        }
        if (ws->rx_len + len > ws->rx_cap) {
            size_t cap = ws->rx_cap ? ws->rx_cap : 4096;
            while (cap < ws->rx_len + len)
                cap *= 2;
            if (!core_http_budget_take(cap - ws->rx_cap)) {
                close_over_budget(ws, wsi, cap - ws->rx_cap);
                ws->rx_len = 0;
                rc = -1;
                break;
            }
            char *p = realloc(ws->rx, cap);
            if (!p) {
                core_http_budget_release(cap - ws->rx_cap);
                closed(ws, wsi, "out of memory assembling a message");
                rc = -1;
                break;
            }
            ws->rx = p;
            ws->rx_cap = cap;
        }
        memcpy(ws->rx + ws->rx_len, in, len);
        ws->rx_len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            rc = deliver(ws, wsi, ws->rx, ws->rx_len);
            ws->rx_len = 0;
            if (ws->rx_cap > 65536) { /* one big message does not pin its buffer */
                core_http_budget_release(ws->rx_cap);
                free(ws->rx);
                ws->rx = NULL;
                ws->rx_cap = 0;
            }
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!ws)
            break;
        if (ws->close_wanted) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            closed(ws, wsi, "closed by us");
            rc = -1;
            break;
        }
        if (ws->out_head) {
            out_msg *m = ws->out_head;
            ws->out_head = m->next;
            if (!ws->out_head)
                ws->out_tail = NULL;
            int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
            free(m);
            if (n < 0) {
                closed(ws, wsi, "write failed");
                rc = -1;
                break;
            }
            if (ws->out_head)
                lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (ws) {
            char why[300];
            snprintf(why, sizeof why, "connection to %s:%d failed: %s", ws->host, ws->port,
                     in && len ? (const char *)in : "no reason given");
            if (in && !len)
                snprintf(why, sizeof why, "connection to %s:%d failed: %s", ws->host, ws->port, (const char *)in);
            closed(ws, wsi, why);
        }
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (ws && ws->state == WS_OPEN) {
            unsigned code = len >= 2 ? ((unsigned)((unsigned char *)in)[0] << 8) | ((unsigned char *)in)[1] : 1005;
            char why[100];
            snprintf(why, sizeof why, "closed by the server (%u)", code);
            closed(ws, wsi, why);
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (ws)
            closed(ws, wsi, "connection lost");
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        if (ws && ws->state != WS_CLOSED && ws->state != WS_NEW)
            closed(ws, wsi, "connection lost");
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&g.lock);
    return rc;
}

static const struct lws_protocols protocols[] = {
    {"coinpipe-ws", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_logger(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        LOG_DEBUG("libwebsockets: %.*s", (int)n, line); /* its errors reach the plugin as CP_WS_CLOSED */
}

static void *service_thread(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&g.lock);
        bool quit = g.quit;
        pthread_mutex_unlock(&g.lock);
        if (quit)
            break;
        lws_service(g.lws, 0);
    }
    return NULL;
}

/* under g.lock */
static int start_service(void)
{
    if (g.started)
        return 0;
    lws_set_log_level(LLL_ERR, lws_logger);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.timeout_secs = 10;
    info.connect_timeout_secs = 10;
    info.fd_limit_per_thread = 1024;
    info.pt_serv_buf_size = SERVICE_BUF; /* fewer, larger reads of a busy connection */
    g.lws = lws_create_context(&info);
    if (!g.lws)
        return -1;
    g.quit = false;
    if (pthread_create(&g.thread, NULL, service_thread, NULL) != 0) {
        lws_context_destroy(g.lws);
        g.lws = NULL;
        return -1;
    }
    g.started = true;
    return 0;
}

/* ---- the plugin side ---------------------------------------------------------------- */

/* ws://host[:port]/path → parts; -1 when it is not a WebSocket URL */
static int parse_url(const char *url, bool *tls, char **host, int *port, char **path)
{
    const char *p;
    if (strncmp(url, "ws://", 5) == 0) {
        *tls = false;
        p = url + 5;
    } else if (strncmp(url, "wss://", 6) == 0) {
        *tls = true;
        p = url + 6;
    } else {
        return -1;
    }
    size_t hl = strcspn(p, ":/?");
    if (hl == 0)
        return -1;
    *port = *tls ? 443 : 80;
    const char *rest = p + hl;
    if (*rest == ':') {
        char *end;
        long v = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || v < 1 || v > 65535)
            return -1;
        *port = (int)v;
        rest = end;
    }
    if (*rest && *rest != '/' && *rest != '?')
        return -1;
    *host = strndup(p, hl);
    size_t pl = strlen(rest);
    *path = malloc(pl + 2);
    if (!*host || !*path) {
        free(*host);
        free(*path);
        return -2;
    }
    if (*rest == '/')
        memcpy(*path, rest, pl + 1);
    else {
        (*path)[0] = '/';
        memcpy(*path + 1, rest, pl + 1);
    }
    return 0;
}

cp_status core_ws_open(cp_ctx *ctx, const cp_ws_options *o, cp_ws_fn fn, void *user, cp_ws **out)
{
    *out = NULL;
    if (!o || !o->url || !fn)
        return CP_ERR_INVALID;
    cp_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return CP_ERR_NOMEM;
    int r = parse_url(o->url, &ws->tls, &ws->host, &ws->port, &ws->path);
    if (r != 0) {
        free(ws);
        if (r == -1)
            cp_log_error(ctx, "'%s' is not a WebSocket URL (ws://host[:port]/path or wss://...)", o->url);
        return r == -1 ? CP_ERR_CONFIG : CP_ERR_NOMEM;
    }
    ws->fn = fn;
    ws->user = user;
    ws->max_message = o->max_message ? o->max_message : DEFAULT_MAX_MESSAGE;
    long ping = o->ping_interval_ms > 0 ? o->ping_interval_ms : 20000;
    ws->retry.secs_since_valid_ping = (uint16_t)((ping + 999) / 1000);
    ws->retry.secs_since_valid_hangup = (uint16_t)(2 * ws->retry.secs_since_valid_ping);
    ws->state = WS_NEW;
    ws->refs = 2; /* the caller's handle, the service side until closed() */
    pthread_mutex_lock(&g.lock);
    if (start_service() != 0) {
        pthread_mutex_unlock(&g.lock);
        free(ws->host);
        free(ws->path);
        free(ws);
        cp_log_error(ctx, "cannot start the WebSocket service (libwebsockets context)");
        return CP_ERR_INTERNAL;
    }
    ws->in = inbox_of(ctx, true);
    if (!ws->in) {
        pthread_mutex_unlock(&g.lock);
        free(ws->host);
        free(ws->path);
        free(ws);
        return CP_ERR_NOMEM;
    }
    ws->in->refs++;
    wake_service(ws);
    pthread_mutex_unlock(&g.lock);
    *out = ws;
    return CP_OK;
}

cp_status core_ws_send(cp_ws *ws, const char *text, size_t len)
{
    if (!ws || (!text && len))
        return CP_ERR_INVALID;
    if (len > ws->max_message)
        return CP_ERR_INVALID;
    out_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return CP_ERR_NOMEM;
    m->next = NULL;
    m->len = len;
    if (len)
        memcpy(m->buf + LWS_PRE, text, len);
    pthread_mutex_lock(&g.lock);
    if (ws->state == WS_CLOSED || ws->close_wanted) {
        pthread_mutex_unlock(&g.lock);
        free(m);
        return CP_ERR_IO;
    }
    if (ws->out_tail)
        ws->out_tail->next = m;
    else
        ws->out_head = m;
    ws->out_tail = m;
    if (ws->state == WS_OPEN)
        wake_service(ws);
    pthread_mutex_unlock(&g.lock);
    return CP_OK;
}

cp_status core_ws_poll(cp_ctx *ctx, int64_t timeout_ms)
{
    core_ctx *c = (core_ctx *)ctx;
    int64_t deadline = core_util_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    bool delivered = false;
    pthread_mutex_lock(&g.lock);
    inbox *in = inbox_of(ctx, true);
    if (!in) {
        pthread_mutex_unlock(&g.lock);
        return CP_ERR_NOMEM;
    }
    in->refs++;
    for (;;) {
        if (c->stopping && atomic_load(c->stopping))
            break;
        if (in->head) { /* what is queued now, taken at once: one lock for many messages */
            block *list = in->head, *b = list;
            in->head = in->tail = NULL;
            in->bytes = 0;
            pthread_mutex_unlock(&g.lock);
            size_t at = 0, held = 0;
            for (event *e; (e = next_event(&b, &at));) { /* user_closed is set on this thread (cp_ws_close) */
                if (!e->ws)
                    continue;
                if (e->type == CP_WS_MESSAGE)
                    held += e->len;
                if (!e->ws->user_closed)
                    e->ws->fn(e->ws->user, e->ws, e->type, e->type == CP_WS_OPEN ? NULL : e->data, e->len);
            }
            core_http_budget_release(held); /* the messages' bytes, at once */
            pthread_mutex_lock(&g.lock);
            b = list;
            at = 0;
            for (event *e; (e = next_event(&b, &at));)
                if (e->ws)
                    ws_unref(e->ws);
            while (list) { /* a few blocks kept for the next messages, the rest freed */
                block *n = list->next;
                if (list->cap == BLOCK_BYTES && in->nspare < SPARE_BLOCKS) {
                    list->next = in->spare;
                    in->spare = list;
                    in->nspare++;
                } else {
                    free(list);
                }
                list = n;
            }
            delivered = true;
            break; /* back to the source, which emits what it made of them */
        }
        int64_t left = deadline - core_util_mono_ms();
        if (left <= 0)
            break;
        if (left > 200) /* look at the stop flag now and then */
            left = 200;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        in->sleepers++;
        pthread_cond_timedwait(&in->cv, &g.lock, &ts);
        in->sleepers--;
    }
    bool stopping = c->stopping && atomic_load(c->stopping);
    inbox_unref(in);
    pthread_mutex_unlock(&g.lock);
    if (stopping)
        return CP_ERR_STOPPED;
    return delivered ? CP_OK : CP_ERR_TIMEOUT;
}

void core_ws_close(cp_ws *ws)
{
    if (!ws)
        return;
    pthread_mutex_lock(&g.lock);
    ws->user_closed = true;
    inbox *in = ws->in;
    block *b = in->head;
    size_t at = 0;
    for (event *e; (e = next_event(&b, &at));) { /* its undelivered events go now (skipped by the poller) */
        if (e->ws != ws)
            continue;
        e->ws = NULL;
        in->bytes -= e->len;
        if (e->type == CP_WS_MESSAGE)
            core_http_budget_release(e->len);
        ws->refs--; /* never the last: the caller's reference is dropped below */
    }
    if (ws->state != WS_CLOSED) {
        ws->close_wanted = true;
        wake_service(ws);
    }
    ws_unref(ws);
    pthread_mutex_unlock(&g.lock);
}

void core_ws_shutdown(void)
{
    pthread_mutex_lock(&g.lock);
    if (!g.started) {
        pthread_mutex_unlock(&g.lock);
        return;
    }
    g.quit = true;
    lws_cancel_service(g.lws);
    pthread_mutex_unlock(&g.lock);
    pthread_join(g.thread, NULL);
    lws_context_destroy(g.lws); /* closes what is left: the callbacks drop their references */
    pthread_mutex_lock(&g.lock);
    g.lws = NULL;
    g.started = false;
    while (g.pending) {
        cp_ws *ws = g.pending;
        g.pending = ws->next_pending;
        ws->pending = false;
        if (ws->state == WS_NEW)
            closed(ws, NULL, "shutting down");
        ws_unref(ws);
    }
    pthread_mutex_unlock(&g.lock);
}
