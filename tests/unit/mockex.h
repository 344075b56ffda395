/* Test helper: starts the mock exchange (tests/mock_exchange/server.py) on 127.0.0.1 and talks to its control API.
 * SPDX-License-Identifier: MIT
 *
 * Header-only so that each tests/unit/test_src_*.c can include it. mockex_start() spawns
 * python3 with a port file, waits for it and returns the base URL; mockex_stop() ends that
 * process by its pid.
 */
#ifndef COINPIPE_TEST_MOCKEX_H
#define COINPIPE_TEST_MOCKEX_H

#include "core/http.h"
#include "testkit.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static pid_t mockex_pid;
static char mockex_base[64];

static inline size_t mockex_write(char *p, size_t sz, size_t n, void *user)
{
    FILE *f = user;
    return fwrite(p, sz, n, f);
}

/* GET base+path; returns the malloc'd body (NULL on failure). */
static inline char *mockex_get(const char *path)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", mockex_base, path);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mockex_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    fclose(f);
    if (rc != CURLE_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static inline void mockex_ctl(const char *path)
{
    char *b = mockex_get(path);
    if (!b) {
        fprintf(stderr, "mock control %s failed\n", path);
        abort();
    }
    free(b);
}

static inline const char *mockex_start(void)
{
    char pf[256];
    snprintf(pf, sizeof pf, "%s/mock-port", tk_tmpdir());
    unlink(pf);
    const char *src = getenv("COINPIPE_SRC");
    char script[1024];
    snprintf(script, sizeof script, "%s/tests/mock_exchange/server.py", src ? src : "../..");
    char *argv[] = {"python3", script, "--port-file", pf, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&mockex_pid, "python3", &fa, NULL, argv, environ) != 0) {
        fprintf(stderr, "cannot start python3 %s\n", script);
        abort();
    }
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(pf, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0) {
            snprintf(mockex_base, sizeof mockex_base, "http://127.0.0.1:%d", port);
            return mockex_base;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "mock exchange did not start\n");
    kill(mockex_pid, SIGTERM);
    abort();
}

static inline void mockex_stop(void)
{
    if (mockex_pid > 0) {
        kill(mockex_pid, SIGTERM);
        waitpid(mockex_pid, NULL, 0);
        mockex_pid = 0;
    }
}

/* The recorded requests as a json-c array (caller puts the root it gets in *root). */
static inline json_object *mockex_requests(json_object **root)
{
    char *b = mockex_get("/_mock/requests");
    *root = b ? json_tokener_parse(b) : NULL;
    free(b);
    json_object *a = NULL;
    if (!*root || !json_object_object_get_ex(*root, "requests", &a))
        abort();
    return a;
}

/* How many requests had exactly this path. */
static inline size_t mockex_count(const char *path)
{
    json_object *root, *a = mockex_requests(&root);
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *r = json_object_array_get_idx(a, i), *p;
        if (json_object_object_get_ex(r, "path", &p) && strcmp(json_object_get_string(p), path) == 0)
            n++;
    }
    json_object_put(root);
    return n;
}

/* Query string of the nth request with this path (malloc'd), or NULL. */
static inline char *mockex_query(const char *path, size_t nth)
{
    json_object *root, *a = mockex_requests(&root);
    char *out = NULL;
    for (size_t i = 0; i < json_object_array_length(a) && !out; i++) {
        json_object *r = json_object_array_get_idx(a, i), *p, *q;
        if (json_object_object_get_ex(r, "path", &p) && strcmp(json_object_get_string(p), path) == 0 &&
            nth-- == 0 && json_object_object_get_ex(r, "query", &q))
            out = strdup(json_object_get_string(q));
    }
    json_object_put(root);
    return out;
}

/* CMocka group fixtures: start the HTTP service with a short retry backoff and the mock; stop it. */
static inline int mockex_group_setup(void **state)
{
    (void)state;
    setenv("COINPIPE_HTTP_BACKOFF_MS", "20", 1);
    core_http_init();
    mockex_start();
    return 0;
}

static inline int mockex_group_teardown(void **state)
{
    (void)state;
    mockex_stop();
    return 0;
}

/* Per-test fixture: forget the mock's requests and faults, unpin the clock, clear the log. */
static inline int mockex_test_setup(void **state)
{
    (void)state;
    mockex_ctl("/_mock/reset");
    tk_pin_clock(0);
    tk_log_clear();
    return 0;
}

/* Asserts row `row` of `b` is the recorded Binance 24hr ticker fixture (spot and futures share
 * it; futures has no book fields: with_book false expects NULL bid/ask). */
static inline void mockex_assert_binance_ticker(const cp_batch *b, size_t row, bool with_book)
{
    assert_int_equal(tk_int(b, row, "ts"), 1499869899040LL);
    assert_true(tk_int(b, row, "received_at") > 1700000000000LL);
    tk_assert_text(b, row, "last", "4.00000200");
    tk_assert_text(b, row, "bid", with_book ? "4.00000000" : NULL);
    tk_assert_text(b, row, "bid_size", with_book ? "100.00000000" : NULL);
    tk_assert_text(b, row, "ask", with_book ? "4.00000200" : NULL);
    tk_assert_text(b, row, "ask_size", with_book ? "100.00000000" : NULL);
    tk_assert_text(b, row, "open", "99.00000000");
    tk_assert_text(b, row, "high", "100.00000000");
    tk_assert_text(b, row, "low", "0.10000000");
    tk_assert_text(b, row, "prev_close", with_book ? "0.10002000" : NULL);
    tk_assert_text(b, row, "change", "-94.99999800");
    tk_assert_text(b, row, "change_pct", "-95.960");
    tk_assert_text(b, row, "vwap", "0.29628482");
    tk_assert_text(b, row, "base_volume", "8913.30000000");
    tk_assert_text(b, row, "quote_volume", "15.30000000");
    assert_int_equal(tk_int(b, row, "open_time"), 1499783499040LL);
    assert_int_equal(tk_int(b, row, "close_time"), 1499869899040LL);
    assert_int_equal(tk_int(b, row, "trade_count"), 76);
}

#endif
