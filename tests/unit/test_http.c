/* The HTTP service alone against the mock exchange: backoff bounds, Retry-After (seconds, HTTP date, overflow,
 * retry_after_max), 418 ban, concurrency limit, budgets per (host, plugin), stop per call, the memory
 * budget, error formatters.
 * SPDX-License-Identifier: MIT
 *
 * Timings are read from the mock's request log (arrival times), so they are what the server
 * saw. The base backoff is 200 ms here: attempt n waits a uniformly random 0 .. 200·2^(n-1) ms.
 */
#include "core/http.h"
#include "core/util.h"
#include "testkit.h"
#include "mockex.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SLACK_MS 250 /* scheduling and the mock's own latency on a loaded machine */

/* Arrival times (ms) of the requests whose path starts with `prefix`, in order; returns how many. */
static size_t arrivals(const char *prefix, double *t, size_t max)
{
    json_object *root, *a = mockex_requests(&root);
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(a) && n < max; i++) {
        json_object *r = json_object_array_get_idx(a, i), *p, *tm;
        if (json_object_object_get_ex(r, "path", &p) && strncmp(json_object_get_string(p), prefix, strlen(prefix)) == 0 &&
            json_object_object_get_ex(r, "t_ms", &tm))
            t[n++] = json_object_get_double(tm);
    }
    json_object_put(root);
    return n;
}

static cp_status get(const char *path, cp_http_response *rs)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", mockex_base, path);
    cp_http_request rq = {.url = url};
    return core_http_perform(NULL, NULL, &rq, rs, 1);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=status&status=503&count=3");
    cp_http_response rs;
    assert_int_equal(get("/api/v3/depth?symbol=BNBBTC", &rs), CP_OK);
    assert_int_equal(rs.code, 200);
    assert_int_equal(rs.attempts, 4);
    core_http_response_clear(&rs);
    double t[8];
    assert_int_equal(arrivals("/api/v3/depth", t, 8), 4);
    for (int i = 1; i < 4; i++) { /* full jitter: 0 .. base·2^(i-1), never more */
        double gap = t[i] - t[i - 1], cap = 200.0 * (1 << (i - 1));
        assert_true(gap >= 0);
        if (gap > cap + SLACK_MS)
            fail_msg("retry %d came after %.0f ms, above its cap %.0f ms", i, gap, cap);
    }

    /* 429 with Retry-After: 1 waits at least that second, even though the backoff would be shorter */
    mockex_ctl("/_mock/reset");
    mockex_ctl("/_mock/fault?path=/api/v3/trades&kind=status&status=429&retry_after=1&count=1");
    assert_int_equal(get("/api/v3/trades?symbol=BNBBTC", &rs), CP_OK);
    assert_int_equal(rs.code, 200);
    core_http_response_clear(&rs);
    assert_int_equal(arrivals("/api/v3/trades", t, 8), 2);
    if (t[1] - t[0] < 1000 || t[1] - t[0] > 1000 + SLACK_MS)
        fail_msg("Retry-After: 1 gave a gap of %.0f ms", t[1] - t[0]);

    /* attempts are bounded: a 500 that never ends fails after 4 with the server's message */
    mockex_ctl("/_mock/reset");
    mockex_ctl("/_mock/fault?path=/api/v3/ticker&kind=status&status=500&count=-1");
    assert_int_equal(get("/api/v3/ticker/24hr?symbol=BNBBTC", &rs), CP_OK);
    assert_int_equal(rs.code, 500);
    assert_int_equal(rs.attempts, 4);
    assert_non_null(strstr(rs.error, "Internal error"));
    core_http_response_clear(&rs);
    assert_int_equal(mockex_count("/api/v3/ticker/24hr"), 4);
}

static void test_retry_after_http_date(void **state)
{
    (void)state;
    /* an HTTP date 2 s ahead (whole seconds): the retry comes 1-2 s later, not after the ~0-200 ms backoff */
    char date[64], ctl[256];
    time_t when = time(NULL) + 2;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%a,%%20%d%%20%b%%20%Y%%20%H:%M:%S%%20GMT", &tm);
    snprintf(ctl, sizeof ctl, "/_mock/fault?path=/api/v3/depth&kind=status&status=503&retry_after=%s&count=1", date);
    mockex_ctl(ctl);
    cp_http_response rs;
    assert_int_equal(get("/api/v3/depth?symbol=BNBBTC", &rs), CP_OK);
    assert_int_equal(rs.code, 200);
    core_http_response_clear(&rs);
    double t[4];
    assert_int_equal(arrivals("/api/v3/depth", t, 4), 2);
    if (t[1] - t[0] < 900 || t[1] - t[0] > 2000 + SLACK_MS)
        fail_msg("Retry-After as an HTTP date gave a gap of %.0f ms", t[1] - t[0]);
}

static void test_ban_418(void **state)
{
    (void)state;
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=status&status=418&retry_after=1&count=1");
    tk_log_clear();
    cp_http_response rs;
    assert_int_equal(get("/api/v3/depth?symbol=BNBBTC", &rs), CP_ERR_BANNED);
    assert_int_equal(rs.code, 418);
    assert_int_equal(rs.attempts, 1); /* a ban is never retried */
    core_http_response_clear(&rs);
    /* every path on the host now fails fast without a request */
    assert_int_equal(get("/api/v3/trades?symbol=BNBBTC", &rs), CP_ERR_BANNED);
    core_http_response_clear(&rs);
    assert_int_equal(get("/api/v3/depth?symbol=BNBBTC", &rs), CP_ERR_BANNED);
    core_http_response_clear(&rs);
    json_object *root, *a = mockex_requests(&root);
    assert_int_equal(json_object_array_length(a), 1);
    json_object_put(root);
    const char *first = strstr(tk_log(), "has banned this IP (HTTP 418)");
    assert_non_null(first);
    assert_null(strstr(first + 1, "has banned this IP")); /* said once */
    struct timespec ts = {1, 100 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(get("/api/v3/trades?symbol=BNBBTC", &rs), CP_OK); /* the ban has passed */
    assert_int_equal(rs.code, 200);
    core_http_response_clear(&rs);
}

static void test_concurrency_limit(void **state)
{
    (void)state;
    /* 8 slow requests (300 ms each) with at most 2 in flight: they reach the server in pairs */
    cp_http_limits lim = {.size = sizeof lim, .max_concurrent = 2};
    assert_int_equal(core_http_limits(NULL, "127.0.0.1", &lim), CP_OK);
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=slow&delay_ms=300&count=-1");
    char urls[8][256];
    cp_http_request rq[8];
    cp_http_response rs[8];
    for (int i = 0; i < 8; i++) {
        snprintf(urls[i], sizeof urls[i], "%s/api/v3/depth?symbol=BNBBTC&n=%d", mockex_base, i);
        rq[i] = (cp_http_request){.url = urls[i]};
    }
    int64_t t0 = core_util_mono_ms();
    assert_int_equal(core_http_perform(NULL, NULL, rq, rs, 8), CP_OK);
    int64_t took = core_util_mono_ms() - t0;
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rs[i].code, 200);
        core_http_response_clear(&rs[i]);
    }
    assert_true(took >= 4 * 300 - 50); /* 4 rounds of 2 */
    double t[8];
    assert_int_equal(arrivals("/api/v3/depth", t, 8), 8);
    for (int i = 2; i < 8; i++) /* the third request only starts when one of the first two is done */
        if (t[i] - t[i - 2] < 300 - 50)
            fail_msg("requests %d and %d were %.0f ms apart: more than 2 in flight", i - 2, i, t[i] - t[i - 2]);
}

/* What the callback of core_http_perform_each saw, in call order. */
typedef struct seen {
    cp_http_response *base;
    size_t order[8], n;
    int calls[8];
    long code[8];
    cp_status status[8];
} seen;

static void on_done(void *user, size_t i, cp_http_response *r)
{
    seen *s = user;
    assert_true(i < 8);
    assert_ptr_equal(r, &s->base[i]); /* the caller's own response, final */
    s->calls[i]++;
    s->order[s->n++] = i;
    s->code[i] = r->code;
    s->status[i] = r->status;
    if (i != 1)
        core_http_response_clear(r); /* released early; 1 is left for the caller */
}

static void test_perform_each(void **state)
{
    (void)state;
    /* ETHBTC answers after 600 ms, BTCUSDT times out, the others come at once, 503 retried once */
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=slow&delay_ms=600&count=-1&symbol=ETHBTC");
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=slow&delay_ms=600&count=-1&symbol=BTCUSDT");
    mockex_ctl("/_mock/fault?path=/api/v3/trades&kind=status&status=503&count=1");
    const char *paths[4] = {"/api/v3/depth?symbol=ETHBTC", "/api/v3/depth?symbol=BNBBTC",
                            "/api/v3/depth?symbol=BTCUSDT", "/api/v3/trades?symbol=BNBBTC"};
    char urls[4][256];
    cp_http_request rq[4];
    cp_http_response rs[4];
    for (int i = 0; i < 4; i++) {
        snprintf(urls[i], sizeof urls[i], "%s%s", mockex_base, paths[i]);
        rq[i] = (cp_http_request){.url = urls[i]};
    }
    rq[2].timeout_ms = 200;
    rq[2].max_attempts = 1;
    seen s = {.base = rs};
    /* the first failure by request index, although its response was cleared in the callback */
    assert_int_equal(core_http_perform_each(NULL, NULL, rq, rs, 4, on_done, &s), CP_ERR_TIMEOUT);
    assert_int_equal(s.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.calls[i], 1);
    assert_int_equal(s.code[0], 200);
    assert_int_equal(s.code[1], 200);
    assert_int_equal(s.status[2], CP_ERR_TIMEOUT);
    assert_int_equal(s.code[3], 200); /* after its retry: only the final answer is delivered */
    assert_int_equal(s.order[3], 0);  /* the slow one comes last: no waiting for the batch */
    assert_int_equal(rs[1].code, 200); /* what the callback left stays for the caller */
    assert_non_null(rs[1].body);
    assert_null(rs[0].body);
    core_http_response_clear(&rs[1]);

    /* the SDK wrapper takes the same path */
    const cp_host *h = tk_host();
    assert_true(CP_HOST_HAS(h, http_perform_each));
}

/* Retry-After values that overflowed a signed multiplication (UBSan aborted) saturate at a
 * year; a long one is not waited for: the request fails at once and the host pauses. */
static void test_retry_after_overflow_and_cap(void **state)
{
    (void)state;
    int64_t year = (int64_t)366 * 86400 * 1000 + 1;
    assert_int_equal(core_http_retry_after_parse("9223372036854775807"), year);
    assert_int_equal(core_http_retry_after_parse("99999999999999999999999999"), year);
    assert_int_equal(core_http_retry_after_parse("  5 "), 5001);
    assert_int_equal(core_http_retry_after_parse("0"), 1);
    assert_int_equal(core_http_retry_after_parse("5x"), -1);
    assert_int_equal(core_http_retry_after_parse("Fri, 31 Dec 9999 23:59:59 GMT"), year);

    core_http_configure(0, 2000, false); /* retry_after_max = 2 s */
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=status&status=429&retry_after=999999&count=-1");
    core_log_tag paused = {.pipeline = "p", .kind = "source", .plugin = "paused-owner", .instance = "a"};
    char url[256];
    snprintf(url, sizeof url, "%s/api/v3/depth?symbol=BNBBTC", mockex_base);
    cp_http_request rq = {.url = url};
    cp_http_response rs;
    int64_t t0 = core_util_mono_ms();
    tk_log_clear();
    assert_int_equal(core_http_perform(&paused, NULL, &rq, &rs, 1), CP_ERR_BANNED);
    assert_int_equal(rs.code, 429);
    core_http_response_clear(&rs);
    /* the next request of that owner to the host is not sent at all while the pause lasts */
    assert_int_equal(core_http_perform(&paused, NULL, &rq, &rs, 1), CP_ERR_BANNED);
    assert_non_null(strstr(rs.error, "asked for a pause (HTTP 429, Retry-After) until"));
    core_http_response_clear(&rs);
    assert_true(core_util_mono_ms() - t0 < 2000);
    tk_assert_log_contains("longer than retry_after_max (2 s)");
    core_http_configure(0, 0, false);
}

/* Budgets are keyed by (host, plugin): one source's exhausted budget never holds another's
 * requests to the same host back. */
static void test_budget_per_owner(void **state)
{
    (void)state;
    core_log_tag gecko = {.pipeline = "p", .kind = "source", .plugin = "gecko-like", .instance = "a"};
    core_log_tag other = {.pipeline = "p", .kind = "source", .plugin = "other-like", .instance = "b"};
    cp_http_limits lim = {.size = sizeof lim, .weight_per_minute = 2};
    assert_int_equal(core_http_limits(&gecko, "127.0.0.1", &lim), CP_OK);
    char url[256];
    snprintf(url, sizeof url, "%s/api/v3/depth?symbol=BNBBTC", mockex_base);
    cp_http_request rq = {.url = url, .weight = 2};
    cp_http_response rs;
    assert_int_equal(core_http_perform(&gecko, NULL, &rq, &rs, 1), CP_OK); /* gecko's minute is used up */
    core_http_response_clear(&rs);
    int64_t t0 = core_util_mono_ms();
    assert_int_equal(core_http_perform(&other, NULL, &rq, &rs, 1), CP_OK);
    core_http_response_clear(&rs);
    assert_true(core_util_mono_ms() - t0 < 5000); /* before: it waited for gecko's window (60 s) */
}

/* A stopped context ends its requests; a NULL stop (a sink draining) does not. */
static void test_stop_per_call(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "%s/api/v3/depth?symbol=BNBBTC", mockex_base);
    cp_http_request rq = {.url = url};
    cp_http_response rs;
    atomic_bool stop;
    atomic_init(&stop, true);
    assert_int_equal(core_http_perform(NULL, &stop, &rq, &rs, 1), CP_ERR_STOPPED);
    core_http_response_clear(&rs);
    assert_int_equal(core_http_perform(NULL, NULL, &rq, &rs, 1), CP_OK);
    assert_int_equal(rs.code, 200);
    core_http_response_clear(&rs);
}

/* One call's requests share a few curl handles, one after the other (at most max_concurrent
 * at a time): nothing of a request stays on the handle for the next one (its headers, its
 * timeout), and a body larger than the receive buffer (128 KiB) arrives whole. */
static void test_handles_reused_within_a_call(void **state)
{
    (void)state;
    cp_http_limits lim = {.size = sizeof lim, .max_concurrent = 1};
    assert_int_equal(core_http_limits(NULL, "127.0.0.1", &lim), CP_OK);
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=slow&delay_ms=400&count=1&symbol=ETHBTC");
    static const char *const key[] = {"x-cg-demo-api-key: first-request-only", NULL};
    char urls[5][256];
    snprintf(urls[0], sizeof urls[0], "%s/api/v3/trades?symbol=BNBBTC&n=0", mockex_base);
    snprintf(urls[1], sizeof urls[1], "%s/api/v3/trades?symbol=BNBBTC&n=1", mockex_base);
    snprintf(urls[2], sizeof urls[2], "%s/api/v3/depth?symbol=ETHBTC", mockex_base);
    snprintf(urls[3], sizeof urls[3], "%s/api/v3/depth?symbol=BNBBTC", mockex_base);
    snprintf(urls[4], sizeof urls[4], "%s/api/v3/klines?symbol=BNBBTC&interval=1m&limit=1000", mockex_base);
    cp_http_request rq[5] = {{.url = urls[0], .headers = key},
                             {.url = urls[1]},
                             {.url = urls[2], .timeout_ms = 150, .max_attempts = 1},
                             {.url = urls[3]},
                             {.url = urls[4]}};
    cp_http_response rs[5];
    assert_int_equal(core_http_perform(NULL, NULL, rq, rs, 5), CP_ERR_TIMEOUT);
    assert_int_equal(rs[0].code, 200);
    assert_int_equal(rs[1].code, 200);
    assert_int_equal(rs[2].status, CP_ERR_TIMEOUT);
    assert_int_equal(rs[3].code, 200); /* the 150 ms timeout of the request before did not stay */
    assert_int_equal(rs[4].code, 200);
    assert_true(rs[4].body_len > (size_t)(128 << 10));
    /* 1000 candles, the whole JSON array: the body ends where the server's did */
    assert_int_equal(rs[4].body[0], '[');
    assert_int_equal(rs[4].body[rs[4].body_len - 1], ']');
    size_t opens = 0;
    for (size_t i = 1; i < rs[4].body_len; i++)
        opens += rs[4].body[i] == '[';
    assert_int_equal(opens, 1000);
    for (int i = 0; i < 5; i++)
        core_http_response_clear(&rs[i]);

    /* the header went with the first request only */
    json_object *root, *a = mockex_requests(&root);
    int with_key = 0, trades = 0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *r = json_object_array_get_idx(a, i), *p, *h, *k;
        if (!json_object_object_get_ex(r, "path", &p) || strcmp(json_object_get_string(p), "/api/v3/trades") != 0)
            continue;
        trades++;
        json_object *q;
        assert_true(json_object_object_get_ex(r, "query", &q));
        bool first = strstr(json_object_get_string(q), "n=0") != NULL;
        bool has = json_object_object_get_ex(r, "headers", &h) && json_object_object_get_ex(h, "x-cg-demo-api-key", &k);
        if (has) {
            with_key++;
            assert_string_equal(json_object_get_string(k), "first-request-only");
        }
        assert_int_equal(has, first);
    }
    json_object_put(root);
    assert_int_equal(trades, 2);
    assert_int_equal(with_key, 1);
}

/* A handle whose last request was a plain GET keeps its options for the next plain GET with the
 * same timeout; any other request, and a plain GET after one, starts from reset options: a HEAD
 * (no body read) between plain GETs leaves no trace on the GET after it, and each GET on a
 * handle that kept its options gets its own URL's body and its own timeout. */
static void test_plain_gets_keep_options(void **state)
{
    (void)state;
    cp_http_limits lim = {.size = sizeof lim, .max_concurrent = 1};
    assert_int_equal(core_http_limits(NULL, "127.0.0.1", &lim), CP_OK);
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=slow&delay_ms=400&count=1&symbol=LTCBTC");
    char urls[6][256];
    snprintf(urls[0], sizeof urls[0], "%s/api/v3/depth?symbol=BNBBTC", mockex_base);
    snprintf(urls[1], sizeof urls[1], "%s/api/v3/depth?symbol=ETHBTC", mockex_base);
    snprintf(urls[2], sizeof urls[2], "%s/api/v3/trades?symbol=BNBBTC", mockex_base);
    snprintf(urls[3], sizeof urls[3], "%s/api/v3/klines?symbol=BNBBTC&interval=1m&limit=3", mockex_base);
    snprintf(urls[4], sizeof urls[4], "%s/api/v3/depth?symbol=LTCBTC", mockex_base);
    snprintf(urls[5], sizeof urls[5], "%s/api/v3/trades?symbol=ETHBTC", mockex_base);
    cp_http_request rq[6] = {{.url = urls[0]},
                             {.url = urls[1], .method = "HEAD", .max_attempts = 1},
                             {.url = urls[2]},
                             {.url = urls[3]},
                             {.url = urls[4], .timeout_ms = 150, .max_attempts = 1},
                             {.url = urls[5]}};
    cp_http_response rs[6];
    assert_int_equal(core_http_perform(NULL, NULL, rq, rs, 6), CP_ERR_TIMEOUT);
    assert_int_equal(rs[0].code, 200);
    assert_non_null(strstr(rs[0].body, "\"bids\""));
    assert_int_equal(rs[1].status, CP_OK); /* the mock answers HEAD with 501 and no body is read */
    assert_int_equal(rs[1].body_len, 0);
    assert_int_equal(rs[2].code, 200); /* a GET again after the HEAD: the whole body */
    assert_true(rs[2].body_len > 0);
    assert_non_null(strstr(rs[2].body, "\"id\""));
    assert_int_equal(rs[3].code, 200); /* the handle kept its options: the body of its own URL */
    assert_int_equal(rs[3].body[0], '[');
    assert_int_equal(rs[3].body[1], '[');
    assert_null(strstr(rs[3].body, "\"id\""));
    assert_int_equal(rs[4].status, CP_ERR_TIMEOUT); /* its own 150 ms, not the kept 10 s */
    assert_int_equal(rs[5].code, 200);              /* and the 150 ms did not stay either */
    assert_non_null(strstr(rs[5].body, "\"id\""));
    for (int i = 0; i < 6; i++)
        core_http_response_clear(&rs[i]);
    assert_int_equal(mockex_count("/api/v3/trades"), 2);
}

/* Host and path of each request, as the logs and the budgets see them: a request with the
 * same origin as the one before takes its host; a path libcurl would normalise (a dot segment)
 * is parsed by libcurl, so the log names the path that was sent. */
static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_host_and_path_per_request(void **state)
{
    (void)state;
    mockex_ctl("/_mock/fault?path=/api/v3/trades&kind=status&status=500&count=-1");
    char urls[4][256];
    snprintf(urls[0], sizeof urls[0], "%s/api/v3/depth?symbol=BNBBTC", mockex_base);
    snprintf(urls[1], sizeof urls[1], "%s/api/v3/trades?symbol=BNBBTC", mockex_base);
    snprintf(urls[2], sizeof urls[2], "%s/api/v3/./trades?symbol=ETHBTC", mockex_base);
    snprintf(urls[3], sizeof urls[3], "%s/api/v3/trades#part", mockex_base);
    cp_http_request rq[4] = {{.url = urls[0]},
                             {.url = urls[1], .max_attempts = 1},
                             {.url = urls[2], .max_attempts = 1},
                             {.url = urls[3], .max_attempts = 1}};
    cp_http_response rs[4];
    tk_log_clear();
    assert_int_equal(core_http_perform(NULL, NULL, rq, rs, 4), CP_OK);
    assert_int_equal(rs[0].code, 200);
    for (int i = 1; i < 4; i++)
        assert_int_equal(rs[i].code, 500);
    for (int i = 0; i < 4; i++)
        core_http_response_clear(&rs[i]);
    assert_int_equal(count_of(tk_log(), "http: GET 127.0.0.1/api/v3/trades failed: HTTP 500 after 1 attempt"), 3);
    assert_null(strstr(tk_log(), "/./"));
    assert_null(strstr(tk_log(), "#part"));
    assert_int_equal(mockex_count("/api/v3/trades"), 3);
}

/* The memory budget: takes beyond it are refused whole, releases give back. */
static void test_memory_budget(void **state)
{
    (void)state;
    core_http_configure(4u << 20, 0, false);
    assert_int_equal(core_http_budget(), 4u << 20);
    assert_true(core_http_budget_take(3u << 20));
    assert_false(core_http_budget_take(2u << 20));
    assert_false(core_http_budget_take(SIZE_MAX));
    assert_true(core_http_budget_take(1u << 20));
    core_http_budget_release(4u << 20);
    assert_true(core_http_budget_take(4u << 20));
    core_http_budget_release(4u << 20);
    core_http_configure(0, 0, false);
    assert_int_equal(core_http_budget(), (size_t)256 << 20);
}

/* One budget covers every body alive: a body the caller still holds (not cleared) counts, so a
 * second response that would pass the budget fails naming the host and the budget; clearing
 * the first gives its bytes back. */
static void test_memory_budget_held_bodies(void **state)
{
    (void)state;
    const char *path = "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000";
    cp_http_response a, b;
    assert_int_equal(get(path, &a), CP_OK);
    size_t len = a.body_len;
    assert_true(len > 64 * 1024);
    assert_int_equal(core_http_budget_used(), len); /* held until cleared, decompressed bytes */
    core_http_response_clear(&a);
    assert_int_equal(core_http_budget_used(), 0);

    core_http_configure(len + len / 2, 0, false); /* room for one body, not two */
    assert_int_equal(get(path, &a), CP_OK);
    assert_int_equal(a.code, 200);
    assert_int_equal(get(path, &b), CP_ERR_HTTP); /* `a` is still held */
    assert_int_equal(b.code, 0);
    assert_non_null(strstr(b.error, "the body from 127.0.0.1 would exceed the memory budget (http_memory_budget = "));
    assert_int_equal(b.attempts, 1); /* not retried */
    core_http_response_clear(&b);
    assert_int_equal(core_http_budget_used(), len);
    core_http_response_clear(&a);
    assert_int_equal(get(path, &b), CP_OK);
    assert_int_equal(b.body_len, len);
    core_http_response_clear(&b);
    assert_int_equal(core_http_budget_used(), 0);
    core_http_configure(0, 0, false);
}

/* The server's error text comes from the request's formatter; without one the body's first line. */
static void fmt_error(const char *body, size_t len, char *out, size_t outlen)
{
    snprintf(out, outlen, "formatted %zu bytes", len);
    (void)body;
}

static void test_error_formatter(void **state)
{
    (void)state;
    mockex_ctl("/_mock/fault?path=/api/v3/depth&kind=unknown_symbol&count=2");
    char url[256];
    snprintf(url, sizeof url, "%s/api/v3/depth?symbol=NOPE", mockex_base);
    cp_http_request rq = {.url = url, .error_message = fmt_error};
    cp_http_response rs;
    assert_int_equal(core_http_perform(NULL, NULL, &rq, &rs, 1), CP_OK);
    assert_int_equal(rs.code, 400);
    assert_string_equal(rs.error, "formatted 41 bytes");
    core_http_response_clear(&rs);
    rq.error_message = NULL;
    assert_int_equal(core_http_perform(NULL, NULL, &rq, &rs, 1), CP_OK);
    assert_string_equal(rs.error, "{\"code\": -1121, \"msg\": \"Invalid symbol.\"}");
    core_http_response_clear(&rs);
}

static int group_setup(void **state)
{
    setenv("COINPIPE_HTTP_BACKOFF_MS", "200", 1);
    core_http_init();
    mockex_start();
    (void)state;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_concurrency_limit, mockex_test_setup),
        cmocka_unit_test_setup(test_backoff_bounds, mockex_test_setup),
        cmocka_unit_test_setup(test_retry_after_http_date, mockex_test_setup),
        cmocka_unit_test_setup(test_ban_418, mockex_test_setup),
        cmocka_unit_test_setup(test_perform_each, mockex_test_setup),
        cmocka_unit_test_setup(test_retry_after_overflow_and_cap, mockex_test_setup),
        cmocka_unit_test_setup(test_budget_per_owner, mockex_test_setup),
        cmocka_unit_test_setup(test_stop_per_call, mockex_test_setup),
        cmocka_unit_test_setup(test_memory_budget, mockex_test_setup),
        cmocka_unit_test_setup(test_memory_budget_held_bodies, mockex_test_setup),
        cmocka_unit_test_setup(test_error_formatter, mockex_test_setup),
        cmocka_unit_test_setup(test_handles_reused_within_a_call, mockex_test_setup),
        cmocka_unit_test_setup(test_plain_gets_keep_options, mockex_test_setup),
        cmocka_unit_test_setup(test_host_and_path_per_request, mockex_test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, mockex_group_teardown);
}
