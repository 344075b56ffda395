/* The WebSocket service's memory bounds against a local server that floods text messages.
 * SPDX-License-Identifier: MIT
 *
 * The server (Debian's python3 with python3-websockets, on 127.0.0.1) sends COUNT messages of SIZE bytes to each
 * connection at once and keeps it open. Nobody polls while they arrive, so they wait in the
 * instance's inbox: with http_memory_budget at 1 MiB the connection is closed once the
 * buffered messages would pass it, naming the host and the budget, and every byte is given
 * back when the connection is released.
 */
#include "core/host.h"
#include "core/http.h"
#include "core/ws.h"
#include "testkit.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define COUNT 24
#define SIZE (128 * 1024)

static const char server_py[] =
    "import asyncio, sys, websockets\n"
    "async def flood(ws, *args):\n"
    "    for i in range(int(sys.argv[2])):\n"
    "        await ws.send(str(i % 10) * int(sys.argv[3]))\n"
    "    await asyncio.sleep(3600)\n"
    "async def main():\n"
    "    async with websockets.serve(flood, '127.0.0.1', 0, max_size=None) as s:\n"
    "        port = s.sockets[0].getsockname()[1]\n"
    "        open(sys.argv[1] + '.tmp', 'w').write(str(port))\n"
    "        import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "        await asyncio.Future()\n"
    "asyncio.run(main())\n";

static pid_t server_pid;
static int server_port;

static void server_start(void)
{
    char pf[256], count[16], size[16];
    snprintf(pf, sizeof pf, "%s/ws-port", tk_tmpdir());
    snprintf(count, sizeof count, "%d", COUNT);
    snprintf(size, sizeof size, "%d", SIZE);
    unlink(pf);
    char *argv[] = {"/usr/bin/python3", "-c", (char *)server_py, pf, count, size, NULL};
    assert_int_equal(posix_spawn(&server_pid, "/usr/bin/python3", NULL, NULL, argv, environ), 0);
    for (int i = 0; i < 200 && !server_port; i++) {
        FILE *f = fopen(pf, "r");
        if (f) {
            if (fscanf(f, "%d", &server_port) != 1)
                server_port = 0;
            fclose(f);
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(server_port > 0);
}

typedef struct seen {
    int messages;
    bool closed;
    char why[400];
} seen;

static void on_event(void *user, cp_ws *ws, cp_ws_event type, const char *data, size_t len)
{
    (void)ws;
    seen *s = user;
    if (type == CP_WS_MESSAGE) {
        assert_int_equal(len, SIZE);
        s->messages++;
    } else if (type == CP_WS_CLOSED) {
        s->closed = true;
        snprintf(s->why, sizeof s->why, "%.*s", (int)len, data);
    }
}

static void test_inbox_within_budget(void **state)
{
    (void)state;
    core_http_configure(1u << 20, 0, false);
    core_ctx c;
    core_ctx_init(&c, "ws", CP_SOURCE, "test", "ws");
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/flood", server_port);
    cp_ws_options o = {.size = sizeof o, .url = url, .max_message = 2 * SIZE};
    cp_ws *ws = NULL;
    seen s = {0};
    assert_int_equal(core_ws_open(&c.pub, &o, on_event, &s, &ws), CP_OK);
    struct timespec ts = {2, 0}; /* everything arrives (or the budget closes the connection) unread */
    nanosleep(&ts, NULL);
    assert_true(core_http_budget_used() <= (1u << 20));
    for (int i = 0; i < 100 && !s.closed; i++)
        core_ws_poll(&c.pub, 100);
    assert_true(s.closed);
    assert_true(s.messages < COUNT);
    assert_true(s.messages >= 4); /* the budget, not something else, ended it */
    if (!strstr(s.why, "from 127.0.0.1 would exceed the memory budget (http_memory_budget = 1 MiB"))
        fail_msg("closed for another reason: %s", s.why);
    core_ws_close(ws);
    core_ws_shutdown();
    assert_int_equal(core_http_budget_used(), 0);
    core_http_configure(0, 0, false);
}

static int group_setup(void **state)
{
    (void)state;
    server_start();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inbox_within_budget),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
