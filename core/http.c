/* HTTP service: concurrent libcurl-multi requests with per-host limits, retries, backoff and 418 bans.
 * SPDX-License-Identifier: MIT
 *
 * Every plugin reaches the network through core_http_perform() (cp_http_perform in the SDK):
 *  - one curl multi handle per call, so several pipelines may call it at once; every easy
 *    handle joins one curl share handle, so connections, DNS answers and TLS sessions live on
 *    from one cycle to the next; a call's easy handles go from one request to the next (a plain
 *    GET after a plain GET with the same timeout keeps the handle's options, any other request
 *    gets a handle reset to libcurl's defaults), with a 128 KiB receive buffer;
 *  - the per-host state (concurrency, weight budget, pauses, bans) is keyed by (host name,
 *    budget owner: the plugin that sends), so one source's budget never throttles another
 *    source behind the same host; it is shared under one mutex;
 *  - stop is per call: a source's requests end with CP_ERR_STOPPED once its context stops,
 *    a sink's uploads run on while the daemon drains (bounded by their own timeouts);
 *  - redirects are not followed, except same-host https ones when http_redirects says so
 *    (the headers and credentials never leave their origin);
 *  - every response body alive in the process counts against one memory budget (decompressed
 *    bytes), from its first byte until the caller releases the response
 *    (cp_http_response_clear); a body that would pass it fails with a clear error naming the
 *    host and the budget. WebSocket messages the core buffers count against the same budget;
 *  - per-host weight budget: a sliding window of the weights sent in the last minute (never
 *    more than `weight_per_minute` in any window, which also bounds Binance's calendar-minute
 *    count), tightened by the server's own count when the host reports one in a header such
 *    as X-MBX-USED-WEIGHT-1m;
 *  - retries of timeouts, connection errors, 5xx and 429 with exponential backoff and full
 *    jitter, never sooner than the server's Retry-After (seconds or an HTTP date); a 429 also
 *    pauses the whole host for that long;
 *  - 418 (IP ban): every request to the host fails fast with CP_ERR_BANNED until the ban's
 *    Retry-After has passed; logged once at error level;
 *  - Retry-After is read with overflow checks; one longer than retry_after_max is not waited
 *    for: the request fails (CP_ERR_BANNED), the host is paused for that owner and the log
 *    says until when, so the source skips its cycles meanwhile instead of blocking;
 *  - the final failure is logged with host, path, status and the server's error message
 *    (formatted by the request's error_message callback: the sources know their exchanges).
 * Environment (tests): COINPIPE_HTTP_BACKOFF_MS (base backoff, default 500),
 * COINPIPE_HTTP_RATE_WINDOW_MS (length of the weight window, default 60000).
 */
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <curl/curl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_ATTEMPTS 4
#define DEFAULT_CONCURRENCY 4
#define DEFAULT_BAN_MS 120000
#define MAX_BACKOFF_MS 30000
#define MAX_BODY (64u << 20)
#define RECV_BUFFER (128L << 10)
#define POLL_SLICE_MS 50
#define MAX_REDIRECTS 3
#define DEFAULT_BUDGET ((size_t)256 << 20)
#define DEFAULT_RETRY_AFTER_MAX_MS 300000
#define RETRY_AFTER_CEIL_S ((int64_t)366 * 86400) /* larger values saturate here: no overflow */

struct sent {
    int64_t at; /* mono ms */
    unsigned weight;
};

struct host {
    char *name;
    char *owner; /* the budget owner (a plugin name, "" for the core) */
    int max_concurrent;
    int in_flight;
    double budget;            /* weight per window; 0 = unlimited */
    char *used_header;
    struct sent *log;         /* requests sent within the window, oldest first */
    size_t nlog, caplog;
    double server_used;       /* the server's count from its header ... */
    int64_t server_at;        /* ... reported at this mono time (0 = none) */
    double sent_since_report; /* weight we sent after that report */
    int64_t pause_until;      /* mono: 429 Retry-After */
    int64_t ban_until;        /* mono: 418 */
    int64_t ban_until_wall;
    long ban_code; /* 418, or the code whose Retry-After passed retry_after_max */
    bool ban_logged;
    bool wait_logged;  /* a budget wait over a second was logged at info (later ones at debug) */
    struct host *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct host *g_hosts;
static CURLSH *g_share;
static pthread_mutex_t g_share_locks[CURL_LOCK_DATA_LAST];
static int64_t g_backoff_ms = 500;
static int64_t g_retry_after_max_ms = DEFAULT_RETRY_AFTER_MAX_MS;
static bool g_redirect_same_host_https;
static atomic_size_t g_budget = DEFAULT_BUDGET;
static atomic_size_t g_held_bytes;
/* the bodies handed to callers, with the bytes they hold against the budget until released */
struct held {
    const char *p;
    size_t n;
};
static pthread_mutex_t g_held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *g_held;
static size_t g_nheld, g_capheld;
static int64_t g_window_ms = 60000;
static bool g_inited;

static int64_t env_ms(const char *name, int64_t def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long long x = strtoll(v, &end, 10);
    return (*end || x < 0) ? def : (int64_t)x;
}

/* libcurl's global init (OpenSSL, libssh2...) maps and touches about 2 MB of library pages
 * and heap: it runs before the first request, not at start-up, so a collector that waits for
 * its first tick stays small. libcurl 7.84.0 and later make curl_global_init thread-safe
 * (CURL_VERSION_THREADSAFE, any build with C11 atomics; asking curl_version_info would itself
 * touch 0.6 MB of pages), so a plugin may call it from its own thread meanwhile. Under g_lock;
 * false if it failed. */
static void share_lock(CURL *e, curl_lock_data d, curl_lock_access a, void *u)
{
    (void)e, (void)a, (void)u;
    pthread_mutex_lock(&g_share_locks[d < CURL_LOCK_DATA_LAST ? d : 0]);
}

static void share_unlock(CURL *e, curl_lock_data d, void *u)
{
    (void)e, (void)u;
    pthread_mutex_unlock(&g_share_locks[d < CURL_LOCK_DATA_LAST ? d : 0]);
}

static bool curl_ready(void)
{
    if (!g_inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            LOG_ERROR("http: curl_global_init failed");
            return false;
        }
        g_inited = true;
        /* connections, DNS and TLS sessions outlive each call's multi handle; without the share
         * every request still works, only slower */
        g_share = curl_share_init();
        if (g_share) {
            for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
                pthread_mutex_init(&g_share_locks[i], NULL);
            curl_share_setopt(g_share, CURLSHOPT_LOCKFUNC, share_lock);
            curl_share_setopt(g_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
            curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
            curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
            curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
        }
    }
    return true;
}

void core_http_configure(size_t memory_budget, int64_t retry_after_max_ms, bool redirect_same_host_https)
{
    pthread_mutex_lock(&g_lock);
    atomic_store(&g_budget, memory_budget ? memory_budget : DEFAULT_BUDGET);
    g_retry_after_max_ms = retry_after_max_ms > 0 ? retry_after_max_ms : DEFAULT_RETRY_AFTER_MAX_MS;
    g_redirect_same_host_https = redirect_same_host_https;
    pthread_mutex_unlock(&g_lock);
}

bool core_http_budget_take(size_t n)
{
    size_t cur = atomic_load(&g_held_bytes);
    do {
        if (n > atomic_load(&g_budget) || cur > atomic_load(&g_budget) - n)
            return false;
    } while (!atomic_compare_exchange_weak(&g_held_bytes, &cur, cur + n));
    return true;
}

void core_http_budget_release(size_t n)
{
    size_t cur = atomic_load(&g_held_bytes);
    do {
        if (n > cur)
            n = cur; /* never below zero, whatever a caller releases */
    } while (!atomic_compare_exchange_weak(&g_held_bytes, &cur, cur - n));
}

size_t core_http_budget(void) { return atomic_load(&g_budget); }

size_t core_http_budget_used(void) { return atomic_load(&g_held_bytes); }

void core_http_budget_describe(char *out, size_t outlen)
{
    size_t b = core_http_budget();
    if (b % (1u << 20) == 0)
        snprintf(out, outlen, "http_memory_budget = %zu MiB", b >> 20);
    else if (b % 1024 == 0)
        snprintf(out, outlen, "http_memory_budget = %zu KiB", b >> 10);
    else
        snprintf(out, outlen, "http_memory_budget = %zu bytes", b);
}

/* A body handed to the caller keeps its n bytes taken until core_http_response_clear. When the
 * list cannot grow, the bytes are given back at once: the budget turns approximate, never wrong
 * the other way round (a body counted twice, or forever). */
static void held_add(const char *p, size_t n)
{
    if (!p || !n)
        return;
    pthread_mutex_lock(&g_held_lock);
    if (g_nheld == g_capheld) {
        size_t cap = g_capheld ? g_capheld * 2 : 16;
        struct held *a = realloc(g_held, cap * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&g_held_lock);
            core_http_budget_release(n);
            return;
        }
        g_held = a;
        g_capheld = cap;
    }
    g_held[g_nheld++] = (struct held){p, n};
    pthread_mutex_unlock(&g_held_lock);
}

/* The body is being freed: its bytes go back to the budget. */
static void held_drop(const char *p)
{
    if (!p)
        return;
    size_t n = 0;
    pthread_mutex_lock(&g_held_lock);
    for (size_t i = g_nheld; i-- > 0;)
        if (g_held[i].p == p) {
            n = g_held[i].n;
            g_held[i] = g_held[--g_nheld];
            break;
        }
    pthread_mutex_unlock(&g_held_lock);
    core_http_budget_release(n);
}

int core_http_init(void)
{
    pthread_mutex_lock(&g_lock);
    g_backoff_ms = env_ms("COINPIPE_HTTP_BACKOFF_MS", 500);
    g_window_ms = env_ms("COINPIPE_HTTP_RATE_WINDOW_MS", 60000);
    if (g_window_ms < 100)
        g_window_ms = 100;
    bool ok = true;
#if LIBCURL_VERSION_NUM < 0x075400
    ok = curl_ready(); /* before 7.84.0 its global init is not thread-safe: on the main thread, now */
#endif
    pthread_mutex_unlock(&g_lock);
    return ok ? 0 : -1;
}

void core_http_shutdown(void)
{
    pthread_mutex_lock(&g_lock);
    while (g_hosts) {
        struct host *h = g_hosts;
        g_hosts = h->next;
        free(h->name);
        free(h->owner);
        free(h->used_header);
        free(h->log);
        free(h);
    }
    if (g_share) {
        curl_share_cleanup(g_share);
        g_share = NULL;
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&g_share_locks[i]);
    }
    if (g_inited)
        curl_global_cleanup();
    g_inited = false;
    atomic_store(&g_held_bytes, 0);
    pthread_mutex_unlock(&g_lock);
    pthread_mutex_lock(&g_held_lock);
    free(g_held);
    g_held = NULL;
    g_nheld = g_capheld = 0;
    pthread_mutex_unlock(&g_held_lock);
}

static bool stopping(const atomic_bool *stop) { return stop && atomic_load(stop); }

static const char *owner_of(const core_log_tag *tag) { return tag && tag->plugin ? tag->plugin : ""; }

/* under g_lock */
static struct host *host_find(const char *name, const char *owner)
{
    for (struct host *h = g_hosts; h; h = h->next)
        if (strcasecmp(h->name, name) == 0 && strcmp(h->owner, owner) == 0)
            return h;
    return NULL;
}

/* under g_lock */
static struct host *host_get(const char *name, const char *owner)
{
    struct host *h = host_find(name, owner);
    if (h)
        return h;
    h = calloc(1, sizeof *h);
    if (!h || !(h->name = core_util_strdup(name)) || !(h->owner = core_util_strdup(owner))) {
        if (h)
            free(h->name);
        free(h);
        return NULL;
    }
    h->max_concurrent = DEFAULT_CONCURRENCY;
    h->next = g_hosts;
    g_hosts = h;
    return h;
}

cp_status core_http_limits(const core_log_tag *tag, const char *hostname, const cp_http_limits *limits)
{
    if (!hostname || !*hostname || !limits || limits->size < offsetof(cp_http_limits, used_weight_header))
        return CP_ERR_INVALID;
    pthread_mutex_lock(&g_lock);
    bool fresh = !host_find(hostname, owner_of(tag));
    struct host *h = host_get(hostname, owner_of(tag));
    if (!h) {
        pthread_mutex_unlock(&g_lock);
        return CP_ERR_NOMEM;
    }
    if (limits->max_concurrent > 0 && (fresh || limits->max_concurrent < h->max_concurrent))
        h->max_concurrent = limits->max_concurrent;
    if (limits->weight_per_minute > 0 && (h->budget <= 0 || limits->weight_per_minute < h->budget))
        h->budget = limits->weight_per_minute;
    if (limits->size >= sizeof(cp_http_limits) && limits->used_weight_header && !h->used_header)
        h->used_header = core_util_strdup(limits->used_weight_header);
    pthread_mutex_unlock(&g_lock);
    return CP_OK;
}

/* ---- weight budget (under g_lock) ---------------------------------------------------- */

static double window_used(struct host *h, int64_t now)
{
    size_t drop = 0;
    while (drop < h->nlog && h->log[drop].at <= now - g_window_ms)
        drop++;
    if (drop) {
        memmove(h->log, h->log + drop, (h->nlog - drop) * sizeof *h->log);
        h->nlog -= drop;
    }
    double sum = 0;
    for (size_t i = 0; i < h->nlog; i++)
        sum += h->log[i].weight;
    return sum;
}

/* Can `w` be sent now? If not, *wake gets the mono time worth looking again. */
static bool budget_admits(struct host *h, unsigned w, int64_t now, int64_t *wake)
{
    if (h->budget <= 0)
        return true;
    double need = w > h->budget ? h->budget : w; /* a request heavier than the budget still goes alone */
    double used = window_used(h, now);
    if (used + need > h->budget) {
        /* wait until enough old entries leave the window */
        double freed = used;
        int64_t t = now + g_window_ms;
        for (size_t i = 0; i < h->nlog; i++) {
            freed -= h->log[i].weight;
            if (freed + need <= h->budget) {
                t = h->log[i].at + g_window_ms + 1;
                break;
            }
        }
        if (t < *wake)
            *wake = t;
        return false;
    }
    if (h->server_at && now - h->server_at < g_window_ms) {
        if (h->server_used + h->sent_since_report + need > h->budget) {
            int64_t t = h->server_at + g_window_ms + 1;
            if (t < *wake)
                *wake = t;
            return false;
        }
    }
    return true;
}

static void budget_record(struct host *h, unsigned w, int64_t now)
{
    if (h->budget <= 0)
        return;
    if (h->nlog == h->caplog) {
        size_t cap = h->caplog ? h->caplog * 2 : 64;
        struct sent *p = realloc(h->log, cap * sizeof *p);
        if (!p)
            return; /* out of memory: the budget becomes approximate, never a crash */
        h->log = p;
        h->caplog = cap;
    }
    h->log[h->nlog++] = (struct sent){now, w};
    if (h->server_at)
        h->sent_since_report += w;
}

/* ---- responses ------------------------------------------------------------------------ */

const char *core_http_header(const cp_http_response *r, const char *name, size_t *len)
{
    if (!r || !r->headers || !name)
        return NULL;
    size_t nl = strlen(name);
    const char *p = r->headers;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *e = eol;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (len)
                *len = (size_t)(e - v);
            return v;
        }
        p = *eol ? eol + 1 : eol;
    }
    return NULL;
}

void core_http_response_clear(cp_http_response *r)
{
    if (!r)
        return;
    held_drop(r->body);
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

/* Retry-After as ms from now: delta seconds or an HTTP date; -1 when absent or unreadable.
 * One ms more than asked: the mono clock's ms are truncated, so "now + 1000" could come
 * 999.x ms after the response, sooner than the server allowed. */
static int64_t retry_after_ms(const cp_http_response *r)
{
    size_t len;
    const char *v = core_http_header(r, "Retry-After", &len);
    if (!v || !len || len > 63)
        return -1;
    char buf[64];
    memcpy(buf, v, len);
    buf[len] = 0;
    return core_http_retry_after_parse(buf);
}

int64_t core_http_retry_after_parse(const char *v)
{
    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v >= '0' && *v <= '9') {
        int64_t s = 0;
        for (; *v >= '0' && *v <= '9'; v++) {
            if (s > (RETRY_AFTER_CEIL_S - (*v - '0')) / 10) {
                s = RETRY_AFTER_CEIL_S; /* saturate: "forever" is as good as a year here */
                while (*v >= '0' && *v <= '9')
                    v++;
                break;
            }
            s = s * 10 + (*v - '0');
        }
        while (*v == ' ' || *v == '\t')
            v++;
        return *v ? -1 : s * 1000 + 1;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t now = core_util_now_ms();
    if ((int64_t)t > (now / 1000) + RETRY_AFTER_CEIL_S)
        return RETRY_AFTER_CEIL_S * 1000 + 1;
    int64_t d = (int64_t)t * 1000 - now;
    return d <= 0 ? 0 : d + 1;
}

/* The server's error message when the request names no formatter (or it wrote nothing): the
 * body's first readable 120 bytes on one line (an HTML error page, a proxy's text, JSON). */
static void error_message(const char *body, size_t len, char *out, size_t outlen)
{
    out[0] = 0;
    if (!body || !len)
        return;
    size_t j = 0;
    bool space = false;
    for (size_t i = 0; i < len && j + 1 < outlen && j < 120; i++) {
        unsigned char ch = (unsigned char)body[i];
        if (ch < 0x20 || ch == 0x7f) {
            if (!space && j)
                out[j++] = ' ';
            space = true;
            continue;
        }
        space = false;
        out[j++] = (char)ch;
    }
    out[j] = 0;
}

/* ---- requests ------------------------------------------------------------------------- */

struct job {
    const cp_http_request *rq;
    char *url;       /* the URL of the next attempt: rq->url, or a followed redirect's (owned) */
    int redirects;
    size_t counted;  /* bytes of the body being received, taken from the memory budget */
    bool over_budget;
    cp_http_response *rs;
    struct host *h;
    char hostname[256];
    char path[512];
    CURL *easy;
    long plain; /* what its handle is set up for (struct easy) */
    struct curl_slist *hl;
    cp_buf body, hdrs;
    bool too_big;
    bool active, done;
    cp_status status; /* the final status, kept when the caller's callback clears the response */
    int attempts, max_attempts;
    int64_t next_at; /* mono */
    int64_t waiting_since; /* mono, while the weight budget holds the job back (metrics) */
    unsigned weight;
    char cerr[CURL_ERROR_SIZE];
};

static size_t on_body(char *p, size_t sz, size_t n, void *user)
{
    struct job *j = user;
    size_t len = sz * n;
    if (j->body.len + len > MAX_BODY) {
        j->too_big = true;
        return 0;
    }
    if (!core_http_budget_take(len)) {
        j->over_budget = true;
        return 0;
    }
    j->counted += len;
    curl_off_t cl = -1;
    if (!j->body.cap && len && curl_easy_getinfo(j->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
        cl > (curl_off_t)len && cl <= (curl_off_t)MAX_BODY)
        cp_buf_reserve(&j->body, (size_t)cl); /* the whole body at once, not by doubling */
    cp_buf_put(&j->body, p, len);
    return j->body.oom ? 0 : len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *user)
{
    struct job *j = user;
    size_t len = sz * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        j->hdrs.len = 0; /* a new response (after 100-continue or a redirect): keep only the last */
    cp_buf_put(&j->hdrs, p, len);
    return j->hdrs.oom ? 0 : len;
}

/* The end of the URL's origin ("scheme://authority"): where its path starts, or 0 if none. */
static size_t origin_len(const char *url)
{
    const char *a = strstr(url, "://");
    return a ? strcspn(a + 3, "/?#") + (size_t)(a + 3 - url) : 0;
}

/* The host (the budget's key) and path (for logs) of the job's URL as libcurl parses them.
 * When `prev` (the call's request before, NULL for none) has the same origin and this path is
 * plain (printable ASCII without dot segments, escapes or backslashes, and the rest of the URL
 * printable ASCII), they are taken without parsing again: the host is prev's, the path the
 * URL's text up to its query or fragment. */
static void split_url(struct job *j, const struct job *prev)
{
    const char *url = j->rq->url;
    if (prev && prev->hostname[0] != '?') {
        size_t o = origin_len(prev->rq->url);
        if (o && url[o] == '/' && strncmp(url, prev->rq->url, o) == 0) {
            size_t n = strcspn(url + o, "?#");
            bool plain = n < sizeof j->path;
            for (size_t i = 0; plain && i < n; i++) {
                unsigned char c = (unsigned char)url[o + i];
                plain = c > 0x20 && c < 0x7f && c != '%' && c != '\\' && !(c == '.' && url[o + i - 1] == '/');
            }
            for (const char *q = url + o + n; plain && *q; q++)
                plain = (unsigned char)*q > 0x20 && (unsigned char)*q < 0x7f;
            if (plain) {
                memcpy(j->hostname, prev->hostname, sizeof j->hostname);
                memcpy(j->path, url + o, n);
                j->path[n] = 0;
                return;
            }
        }
    }
    snprintf(j->hostname, sizeof j->hostname, "?");
    snprintf(j->path, sizeof j->path, "?");
    CURLU *u = curl_url();
    if (!u)
        return;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        char *s = NULL;
        if (curl_url_get(u, CURLUPART_HOST, &s, 0) == CURLUE_OK && s) {
            snprintf(j->hostname, sizeof j->hostname, "%s", s);
            curl_free(s);
        }
        s = NULL;
        if (curl_url_get(u, CURLUPART_PATH, &s, 0) == CURLUE_OK && s) {
            snprintf(j->path, sizeof j->path, "%s", s);
            curl_free(s);
        }
    }
    curl_url_cleanup(u);
}

static void finish(struct job *j, cp_status st, long code)
{
    j->done = true;
    j->status = st;
    j->rs->status = st;
    j->rs->code = code;
    j->rs->attempts = j->attempts;
    j->rs->received_at = core_util_now_ms();
}

static void budget_return(struct job *j)
{
    core_http_budget_release(j->counted);
    j->counted = 0;
}

static void job_reset_buffers(struct job *j)
{
    cp_buf_free(&j->body);
    cp_buf_free(&j->hdrs);
    budget_return(j);
    j->too_big = false;
    j->over_budget = false;
}

/* Sets every option of a handle just reset (or new) for the job's request; false when out of
 * memory. */
static bool setup(CURL *e, struct job *j, long timeout)
{
    const cp_http_request *rq = j->rq;
    if (g_share)
        curl_easy_setopt(e, CURLOPT_SHARE, g_share);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* a response of up to 128 KiB (500 klines are 80) in one read instead of 16 KiB at a time */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, RECV_BUFFER);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "coinpipe/" COINPIPE_VERSION);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout < DEFAULT_CONNECT_TIMEOUT_MS ? timeout
                                                                                       : DEFAULT_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* redirects are judged in completed() */
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    if (rq->method && strcmp(rq->method, "GET") != 0) {
        if (strcmp(rq->method, "HEAD") == 0)
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        else
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    if (rq->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)rq->body);
    }
    if (!j->hl && rq->headers) {
        for (size_t i = 0; rq->headers[i]; i++) {
            struct curl_slist *n = curl_slist_append(j->hl, rq->headers[i]);
            if (!n)
                return false;
            j->hl = n;
        }
    }
    if (j->hl)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hl);
    if (rq->aws_sigv4) {
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
        if (rq->userpwd)
            curl_easy_setopt(e, CURLOPT_USERPWD, rq->userpwd);
    }
    return true;
}

/* The easy handles of one core_http_perform_each call that have finished a transfer: the next
 * request of the call takes one instead of making and freeing a handle per request. A handle
 * whose last request was a plain GET (no method, body, headers or signing of its own) keeps
 * its options for the next plain GET with the same timeout: only the URL and the job change,
 * as libcurl means a handle to be reused. Any other request takes a handle reset to libcurl's
 * defaults (curl_easy_reset) and sets every option again, so nothing of one request stays on
 * the handle for the next. */
struct easy {
    CURL *e;
    long plain; /* the timeout of the plain GET it is set up for; 0 = not set up */
};

struct easy_pool {
    struct easy *v;
    size_t n, cap;
};

static bool plain_get(const cp_http_request *rq)
{
    return (!rq->method || strcmp(rq->method, "GET") == 0) && !rq->body && !rq->headers && !rq->aws_sigv4;
}

/* A handle for a request; *ready when it is set up for a plain GET with this timeout (plain 0:
 * the request is not a plain GET) and needs only the URL and the job. */
static CURL *easy_take(struct easy_pool *ep, long plain, bool *ready)
{
    *ready = false;
    if (!ep->n)
        return curl_easy_init();
    size_t i = ep->n;
    while (plain && i-- > 0)
        if (ep->v[i].plain == plain)
            break;
    if (!plain || i >= ep->n)
        i = ep->n - 1;
    struct easy x = ep->v[i];
    ep->v[i] = ep->v[--ep->n];
    *ready = plain && x.plain == plain;
    if (!*ready)
        curl_easy_reset(x.e);
    return x.e;
}

/* e has left its multi handle; plain: what it is set up for (see struct easy) */
static void easy_give(struct easy_pool *ep, CURL *e, long plain)
{
    if (ep->n == ep->cap) {
        size_t cap = ep->cap ? ep->cap * 2 : 16;
        struct easy *v = realloc(ep->v, cap * sizeof *v);
        if (!v) {
            curl_easy_cleanup(e);
            return;
        }
        ep->v = v;
        ep->cap = cap;
    }
    ep->v[ep->n++] = (struct easy){e, plain};
}

static void easy_pool_free(struct easy_pool *ep)
{
    for (size_t i = 0; i < ep->n; i++)
        curl_easy_cleanup(ep->v[i].e);
    free(ep->v);
    *ep = (struct easy_pool){0};
}

static bool start(struct job *j, CURLM *multi, struct easy_pool *ep)
{
    const cp_http_request *rq = j->rq;
    job_reset_buffers(j);
    j->cerr[0] = 0;
    long timeout = rq->timeout_ms > 0 ? rq->timeout_ms : DEFAULT_TIMEOUT_MS;
    long plain = plain_get(rq) ? timeout : 0;
    bool ready;
    CURL *e = easy_take(ep, plain, &ready);
    if (!e)
        return false;
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->cerr);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    if (!ready && !setup(e, j, timeout)) {
        curl_easy_cleanup(e);
        return false;
    }
    if (curl_multi_add_handle(multi, e) != CURLM_OK) {
        easy_give(ep, e, 0);
        return false;
    }
    j->easy = e;
    j->plain = plain;
    j->active = true;
    j->attempts++;
    return true;
}

static bool retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static int64_t backoff_ms(int attempt)
{
    int64_t cap = g_backoff_ms;
    for (int i = 1; i < attempt && cap < MAX_BACKOFF_MS; i++)
        cap *= 2;
    if (cap > MAX_BACKOFF_MS)
        cap = MAX_BACKOFF_MS;
    return (int64_t)(core_util_random() * (double)(cap + 1)); /* full jitter */
}

static const char *method_of(const struct job *j) { return j->rq->method ? j->rq->method : "GET"; }

static void log_final(const core_log_tag *tag, struct job *j)
{
    cp_http_response *r = j->rs;
    if (j->rq->no_log)
        return;
    if (r->code)
        core_log_tagged(tag, CP_LOG_ERROR, "http: %s %s%s failed: HTTP %ld after %d attempt%s: %s", method_of(j),
                        j->hostname, j->path, r->code, j->attempts, j->attempts == 1 ? "" : "s", r->error);
    else
        core_log_tagged(tag, CP_LOG_ERROR, "http: %s %s%s failed after %d attempt%s: %s", method_of(j), j->hostname,
                        j->path, j->attempts, j->attempts == 1 ? "" : "s", r->error);
}

/* Takes the body and headers of the finished attempt into the response (an earlier attempt's
 * body goes, and its bytes with it); the body keeps its bytes of the memory budget until the
 * caller clears the response. */
static void take_buffers(struct job *j)
{
    held_drop(j->rs->body);
    free(j->rs->body);
    free(j->rs->headers);
    if (j->body.p) {
        j->rs->body = j->body.p;
        held_add(j->body.p, j->counted);
        j->counted = 0;
    } else {
        j->rs->body = calloc(1, 1);
        budget_return(j);
    }
    j->rs->body_len = j->body.len;
    j->rs->headers = j->hdrs.p ? j->hdrs.p : calloc(1, 1);
    memset(&j->body, 0, sizeof j->body);
    memset(&j->hdrs, 0, sizeof j->hdrs);
}

/* Is a redirect from `from` to `to` one to follow? Only with http_redirects = "same-host-https",
 * only to https on the same host and port. *why names the target's origin when not. */
static bool redirect_allowed(const char *from, const char *to, char *why, size_t whylen)
{
    char *fs = NULL, *fh = NULL, *fp = NULL, *ts = NULL, *th = NULL, *tp = NULL;
    CURLU *fu = curl_url(), *tu = curl_url();
    bool ok = false;
    if (fu && tu && curl_url_set(fu, CURLUPART_URL, from, 0) == CURLUE_OK &&
        curl_url_set(tu, CURLUPART_URL, to, 0) == CURLUE_OK) {
        curl_url_get(fu, CURLUPART_SCHEME, &fs, 0);
        curl_url_get(fu, CURLUPART_HOST, &fh, 0);
        curl_url_get(fu, CURLUPART_PORT, &fp, CURLU_DEFAULT_PORT);
        curl_url_get(tu, CURLUPART_SCHEME, &ts, 0);
        curl_url_get(tu, CURLUPART_HOST, &th, 0);
        curl_url_get(tu, CURLUPART_PORT, &tp, CURLU_DEFAULT_PORT);
        ok = g_redirect_same_host_https && ts && fh && th && fp && tp && strcmp(ts, "https") == 0 &&
             strcasecmp(fh, th) == 0 && strcmp(fp, tp) == 0;
    }
    if (!ok)
        snprintf(why, whylen, "redirect to %s://%s%s%s refused (%s)", ts ? ts : "?", th ? th : "?",
                 tp ? ":" : "", tp ? tp : "",
                 g_redirect_same_host_https ? "only same-host https redirects are followed"
                                            : "http_redirects = \"none\"");
    curl_free(fs), curl_free(fh), curl_free(fp), curl_free(ts), curl_free(th), curl_free(tp);
    curl_url_cleanup(fu);
    curl_url_cleanup(tu);
    return ok;
}

/* An attempt completed: decide done, redirect or retry. Called without g_lock. */
static void completed(const core_log_tag *tag, const atomic_bool *stop, struct job *j, CURLcode rc, int64_t now)
{
    long code = 0;
    char *location = NULL;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
        char *u = NULL;
        if (code >= 300 && code < 400 && curl_easy_getinfo(j->easy, CURLINFO_REDIRECT_URL, &u) == CURLE_OK && u)
            location = core_util_strdup(u);
    }
    take_buffers(j);
    core_metrics_http_request(j->hostname, rc == CURLE_OK ? (int)code : 0);
    cp_http_response *r = j->rs;
    r->error[0] = 0;
    int64_t ra = rc == CURLE_OK ? retry_after_ms(r) : -1;

    pthread_mutex_lock(&g_lock);
    struct host *h = j->h;
    h->in_flight--;
    if (rc == CURLE_OK && h->used_header) {
        size_t len;
        const char *v = core_http_header(r, h->used_header, &len);
        if (v && len && len < 32) {
            char buf[32];
            memcpy(buf, v, len);
            buf[len] = 0;
            char *end;
            double used = strtod(buf, &end);
            if (end != buf && isfinite(used)) {
                h->server_used = used;
                h->server_at = now;
                h->sent_since_report = 0;
            }
        }
    }
    /* a 418, or a Retry-After longer than retry_after_max: requests to the host fail fast until then */
    bool long_wait = ra > g_retry_after_max_ms && (code == 429 || code >= 500);
    bool banned_now = false;
    if (code == 418 || long_wait) {
        int64_t d = ra >= 0 ? ra : DEFAULT_BAN_MS;
        if (now + d > h->ban_until) {
            banned_now = !h->ban_logged || h->ban_until <= now;
            h->ban_until = now + d;
            h->ban_until_wall = core_util_now_ms() + d;
            h->ban_code = code;
            h->ban_logged = true;
        }
    }
    if (code == 429 && ra > 0 && !long_wait && now + ra > h->pause_until)
        h->pause_until = now + ra;
    int64_t ban_wall = h->ban_until_wall;
    pthread_mutex_unlock(&g_lock);

    if (rc != CURLE_OK) {
        if (j->over_budget) {
            char b[64];
            core_http_budget_describe(b, sizeof b);
            int w = snprintf(r->error, sizeof r->error, "the body from %.80s would exceed the memory budget (%s; ",
                             j->hostname, b);
            snprintf(r->error + w, sizeof r->error - (size_t)w, "%zu KiB held by other bodies and WebSocket messages)",
                     core_http_budget_used() >> 10);
        } else
            snprintf(r->error, sizeof r->error, "%s", j->too_big ? "response body larger than 64 MiB"
                                                      : j->cerr[0] ? j->cerr
                                                                   : curl_easy_strerror(rc));
    } else if (code >= 400) {
        if (j->rq->error_message)
            j->rq->error_message(r->body, r->body_len, r->error, sizeof r->error);
        if (!r->error[0])
            error_message(r->body, r->body_len, r->error, sizeof r->error);
        if (!r->error[0])
            snprintf(r->error, sizeof r->error, "(empty body)");
    }

    if (location) {
        if (j->redirects < MAX_REDIRECTS && redirect_allowed(j->url, location, r->error, sizeof r->error)) {
            free(j->url);
            j->url = location;
            j->redirects++;
            j->attempts--; /* a followed redirect is not a failed attempt */
            j->next_at = now;
            return;
        }
        if (j->redirects >= MAX_REDIRECTS)
            snprintf(r->error, sizeof r->error, "more than %d redirects", MAX_REDIRECTS);
        free(location);
        finish(j, CP_ERR_HTTP, code);
        log_final(tag, j);
        return;
    }

    if (code == 418 || long_wait) {
        if (banned_now) {
            char iso[40];
            core_util_iso8601(ban_wall, iso, sizeof iso);
            if (code == 418)
                core_log_tagged(tag, CP_LOG_ERROR,
                                "http: %s has banned this IP (HTTP 418): no requests to it until %s (%s)",
                                j->hostname, iso, r->error);
            else
                core_log_tagged(tag, CP_LOG_ERROR,
                                "http: %s asks for a pause of %lld s (HTTP %ld, Retry-After), longer than "
                                "retry_after_max (%lld s): its requests fail until %s instead of waiting",
                                j->hostname, (long long)(ra / 1000), code, (long long)(g_retry_after_max_ms / 1000),
                                iso);
        }
        finish(j, CP_ERR_BANNED, code);
        return;
    }
    bool retry = rc != CURLE_OK ? retryable_curl(rc) && !j->too_big && !j->over_budget
                                : (code == 429 || code >= 500);
    if (retry && j->attempts < j->max_attempts && !stopping(stop)) {
        int64_t d = backoff_ms(j->attempts);
        if (ra > d)
            d = ra;
        char what[280];
        if (code)
            snprintf(what, sizeof what, "HTTP %ld %s", code, r->error);
        else
            snprintf(what, sizeof what, "%s", r->error);
        core_log_tagged(tag, CP_LOG_WARN, "http: %s %s%s: %s; retry %d/%d in %lld ms", method_of(j), j->hostname,
                        j->path, what, j->attempts + 1, j->max_attempts, (long long)d);
        core_metrics_http_retry(j->hostname);
        j->next_at = now + d;
        return;
    }
    if (rc != CURLE_OK) {
        finish(j, rc == CURLE_OPERATION_TIMEDOUT ? CP_ERR_TIMEOUT : CP_ERR_HTTP, 0);
        log_final(tag, j);
        return;
    }
    finish(j, CP_OK, code);
    if (code >= 400)
        log_final(tag, j);
}

static void fail_now(const core_log_tag *tag, struct job *j, cp_status st, const char *why)
{
    snprintf(j->rs->error, sizeof j->rs->error, "%s", why);
    finish(j, st, 0);
    if (st != CP_ERR_STOPPED && st != CP_ERR_BANNED)
        log_final(tag, j);
}

/* A job is final: one fewer to wait for, and the caller's callback sees its response. */
#define DELIVER(j)                                                                                             \
    do {                                                                                                       \
        left--;                                                                                                \
        if (done)                                                                                              \
            done(user, (size_t)((j) - jobs), (j)->rs);                                                         \
    } while (0)

cp_status core_http_perform(const core_log_tag *tag, const atomic_bool *stop, const cp_http_request *reqs,
                            cp_http_response *resps, size_t n)
{
    return core_http_perform_each(tag, stop, reqs, resps, n, NULL, NULL);
}

cp_status core_http_perform_each(const core_log_tag *tag, const atomic_bool *stop, const cp_http_request *reqs,
                                 cp_http_response *resps, size_t n, cp_http_done_fn done, void *user)
{
    if (n == 0)
        return CP_OK;
    if (!reqs || !resps)
        return CP_ERR_INVALID;
    pthread_mutex_lock(&g_lock);
    bool ready = curl_ready();
    pthread_mutex_unlock(&g_lock);
    if (!ready) {
        for (size_t i = 0; i < n; i++) {
            memset(&resps[i], 0, sizeof resps[i]);
            resps[i].status = CP_ERR_HTTP;
            snprintf(resps[i].error, sizeof resps[i].error, "libcurl could not be initialised");
        }
        return CP_ERR_HTTP;
    }
    struct job *jobs = calloc(n, sizeof *jobs);
    CURLM *multi = curl_multi_init();
    if (!jobs || !multi) {
        free(jobs);
        if (multi)
            curl_multi_cleanup(multi);
        return CP_ERR_NOMEM;
    }
    size_t left = n;
    struct easy_pool easies = {0};
    int64_t now = core_util_mono_ms();
    const struct job *prev = NULL; /* the request before with a URL */
    for (size_t i = 0; i < n; i++) {
        struct job *j = &jobs[i];
        j->rq = &reqs[i];
        j->rs = &resps[i];
        memset(j->rs, 0, sizeof *j->rs);
        j->max_attempts = reqs[i].max_attempts > 0 ? reqs[i].max_attempts : DEFAULT_ATTEMPTS;
        j->weight = reqs[i].weight ? reqs[i].weight : 1;
        j->next_at = now;
        if (!reqs[i].url) {
            fail_now(tag, j, CP_ERR_INVALID, "no URL");
            continue;
        }
        split_url(j, prev);
        prev = j;
        j->url = core_util_strdup(reqs[i].url);
        pthread_mutex_lock(&g_lock);
        j->h = j->url ? host_get(j->hostname, owner_of(tag)) : NULL;
        pthread_mutex_unlock(&g_lock);
        if (!j->h)
            fail_now(tag, j, CP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) /* every response is initialised before the first callback */
        if (jobs[i].done)
            DELIVER(&jobs[i]);

    while (left > 0) {
        now = core_util_mono_ms();
        if (stopping(stop)) {
            for (size_t i = 0; i < n; i++) {
                struct job *j = &jobs[i];
                if (j->done)
                    continue;
                if (j->active) {
                    curl_multi_remove_handle(multi, j->easy);
                    curl_easy_cleanup(j->easy);
                    j->easy = NULL;
                    j->active = false;
                    pthread_mutex_lock(&g_lock);
                    j->h->in_flight--;
                    pthread_mutex_unlock(&g_lock);
                }
                fail_now(tag, j, CP_ERR_STOPPED, "shutting down");
                DELIVER(j);
            }
            break;
        }
        int64_t wake = now + 1000;
        for (size_t i = 0; i < n; i++) {
            struct job *j = &jobs[i];
            if (j->done || j->active)
                continue;
            if (j->next_at > now) {
                if (j->next_at < wake)
                    wake = j->next_at;
                continue;
            }
            pthread_mutex_lock(&g_lock);
            struct host *h = j->h;
            bool go = false, banned = false;
            int64_t ban_wall = h->ban_until_wall, waited = 0, wait_ms = 0;
            double wait_budget = 0;
            bool wait_first = false;
            long ban_code = h->ban_code;
            if (h->ban_until > now)
                banned = true;
            else if (h->pause_until > now) {
                if (h->pause_until < wake)
                    wake = h->pause_until;
            } else if (h->in_flight < h->max_concurrent && !budget_admits(h, j->weight, now, &wake)) {
                if (!j->waiting_since) {
                    j->waiting_since = now;
                    int64_t until = INT64_MAX;
                    budget_admits(h, j->weight, now, &until);
                    if (until != INT64_MAX && until - now > 1000) { /* a wait users notice: say why, once */
                        wait_ms = until - now;
                        wait_budget = h->budget;
                        wait_first = !h->wait_logged;
                        h->wait_logged = true;
                    }
                }
                if (now + POLL_SLICE_MS < wake)
                    wake = now + POLL_SLICE_MS;
            } else if (h->in_flight < h->max_concurrent) {
                budget_record(h, j->weight, now);
                h->in_flight++;
                go = true;
                if (j->waiting_since) {
                    waited = now - j->waiting_since;
                    j->waiting_since = 0;
                }
            } else if (now + POLL_SLICE_MS < wake) {
                wake = now + POLL_SLICE_MS;
            }
            pthread_mutex_unlock(&g_lock);
            if (wait_ms)
                core_log_tagged(tag, wait_first ? CP_LOG_INFO : CP_LOG_DEBUG,
                                "http: waiting %.1fs for %s: request budget %.0f weight/%s spent%s",
                                (double)wait_ms / 1000.0, j->hostname, wait_budget, g_window_ms == 60000 ? "min" : "window",
                                wait_first ? " (the source's rate-limit option sets it; later waits are logged at debug)"
                                           : "");
            if (waited)
                core_metrics_http_rate_limit_wait(j->hostname, waited);
            if (banned) {
                char iso[40], why[120];
                core_util_iso8601(ban_wall, iso, sizeof iso);
                if (ban_code == 418)
                    snprintf(why, sizeof why, "host banned us (HTTP 418) until %s", iso);
                else
                    snprintf(why, sizeof why, "host asked for a pause (HTTP %ld, Retry-After) until %s", ban_code,
                             iso);
                fail_now(tag, j, CP_ERR_BANNED, why);
                core_log_tagged(tag, CP_LOG_DEBUG, "http: %s %s%s not sent: %s", method_of(j), j->hostname, j->path,
                                why);
                DELIVER(j);
            } else if (go && !start(j, multi, &easies)) {
                pthread_mutex_lock(&g_lock);
                j->h->in_flight--;
                pthread_mutex_unlock(&g_lock);
                fail_now(tag, j, CP_ERR_NOMEM, "cannot create a curl handle");
                DELIVER(j);
            }
        }
        if (left == 0)
            break;

        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int q;
        bool freed = false; /* a transfer ended: its slot can take a waiting job right away */
        while ((m = curl_multi_info_read(multi, &q))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct job *j = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            CURLcode rc = m->data.result;
            completed(tag, stop, j, rc, core_util_mono_ms());
            curl_multi_remove_handle(multi, j->easy);
            easy_give(&easies, j->easy, j->plain);
            j->easy = NULL;
            j->active = false;
            freed = true;
            if (j->done)
                DELIVER(j);
        }
        if (left == 0)
            break;
        if (freed)
            continue; /* start queued jobs now rather than after a poll of up to POLL_SLICE_MS */
        now = core_util_mono_ms();
        int64_t t = wake - now;
        if (t > POLL_SLICE_MS * 2)
            t = POLL_SLICE_MS * 2; /* look at the stop flag and other threads' releases often */
        if (t < 0)
            t = 0;
        if (running > 0 || t > 0)
            curl_multi_poll(multi, NULL, 0, (int)t, NULL);
    }

    cp_status ret = CP_OK;
    for (size_t i = 0; i < n; i++) {
        struct job *j = &jobs[i];
        curl_slist_free_all(j->hl);
        job_reset_buffers(j);
        free(j->url);
        if (ret == CP_OK && j->status != CP_OK)
            ret = j->status;
    }
    easy_pool_free(&easies);
    curl_multi_cleanup(multi);
    free(jobs);
    return ret;
}
#undef DELIVER
