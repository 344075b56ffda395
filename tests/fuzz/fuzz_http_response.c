/* libFuzzer target: the HTTP service's response path, headers included (core/http.c).
 * SPDX-License-Identifier: MIT
 *
 * Each input is the raw byte stream a server answers with (status line, header block, body in
 * any framing: Content-Length, chunked, gzip, garbage). A thread of this process serves it on
 * 127.0.0.1 to one real core_http_perform() request, so libcurl's parser and everything the
 * core does with the answer run: the header callback, the body and its memory budget, the
 * used-weight header, Retry-After (overflow, retry_after_max), 418 bans and 429 pauses,
 * redirects (refused or judged), the error formatter of a source (Binance's, through
 * su_error_json) and core_http_header() on the final header block. Requests carry a custom
 * header, so a followed redirect would also exercise what goes where. Any crash, leak or UB
 * aborts. The host state is reset after every input: a ban, a pause or a used-weight header
 * reporting more than the budget would otherwise hold the next input back for up to a minute
 * (a libFuzzer timeout that depends on the order of inputs, not on the one it names).
 */
#include "common/srcutil.h"
#include "core/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_listen = -1;
static int g_port;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *g_data; /* a copy of the current input: the server may still send after it returns */
static size_t g_size;

/* accepts connections for ever: reads the request head, writes the current input, closes */
static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(g_listen, NULL, NULL);
        if (c < 0)
            continue;
        char buf[4096];
        size_t got = 0;
        while (got < sizeof buf - 1) {
            ssize_t n = recv(c, buf + got, sizeof buf - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = 0;
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        pthread_mutex_lock(&g_mu);
        size_t off = 0;
        while (off < g_size) {
            ssize_t n = send(c, g_data + off, g_size - off, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        pthread_mutex_unlock(&g_mu);
        close(c);
    }
    return NULL;
}

static void start(void)
{
    core_http_init();
    core_http_configure(8u << 20, 1000, true);
    g_listen = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (g_listen < 0 || bind(g_listen, (struct sockaddr *)&a, sizeof a) != 0 || listen(g_listen, 16) != 0 ||
        getsockname(g_listen, (struct sockaddr *)&a, &len) != 0)
        abort();
    g_port = ntohs(a.sin_port);
    pthread_t t;
    if (pthread_create(&t, NULL, serve, NULL) != 0)
        abort();
    pthread_detach(t);
}

static void binance_error(const char *body, size_t len, char *out, size_t outlen)
{
    static const char *const paths[] = {"msg", "status.error_message", NULL};
    su_error_json(body, len, out, outlen, paths);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_listen < 0)
        start();
    if (size > 60000) /* what one send fills without the client reading ahead of it */
        return 0;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    pthread_mutex_lock(&g_mu);
    free(g_data);
    g_data = copy;
    g_size = size;
    pthread_mutex_unlock(&g_mu);

    core_log_tag tag = {.pipeline = "fuzz", .kind = "source", .plugin = "fuzz", .instance = "fuzz"};
    cp_http_limits lim = {.size = sizeof lim, .max_concurrent = 1, .weight_per_minute = 1e9,
                          .used_weight_header = "X-MBX-USED-WEIGHT-1m"};
    core_http_limits(&tag, "127.0.0.1", &lim);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v3/depth?symbol=X", g_port);
    static const char *const headers[] = {"X-Key: secret", NULL};
    cp_http_request rq = {.url = url, .headers = headers, .timeout_ms = 2000, .max_attempts = 1,
                          .error_message = binance_error, .no_log = 1};
    cp_http_response rs;
    core_http_perform(&tag, NULL, &rq, &rs, 1);
    size_t n;
    const char *v = core_http_header(&rs, "Retry-After", &n);
    if (v && n)
        (void)core_http_retry_after_parse(v);
    core_http_response_clear(&rs);
    core_http_shutdown(); /* each input starts from a fresh host: no ban, pause or reported weight */
    core_http_init();
    core_http_configure(8u << 20, 1000, true);
    return 0;
}
