/* ctor-marker (tests only): a sink whose library constructor and check callback try to leave
 * traces, for integration/check_confined.
 * SPDX-License-Identifier: MIT
 *
 * The constructor appends "constructor\n" to $COINPIPE_TEST_CTOR_MARKER (when set); the check
 * callback appends "check\n" to the option `marker` and opens a TCP connection to
 * 127.0.0.1:$COINPIPE_TEST_CTOR_PORT (when set). Writes never fail the plugin: what got out is
 * what the test looks at. Batches are accepted and dropped.
 */
#include <coinpipe/coinpipe.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct cm_config {
    char *marker;
} cm_config;

static const cp_option options[] = {
    {.name = "marker", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(cm_config, marker),
     .doc = "File the check callback appends a line to."},
    CP_OPTION_END,
};

static void leave(const char *path, const char *line)
{
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (f) {
        fputs(line, f);
        fclose(f);
    }
}

__attribute__((constructor)) static void cm_loaded(void) { leave(getenv("COINPIPE_TEST_CTOR_MARKER"), "constructor\n"); }

static cp_status cm_check(const void *config, cp_check *chk)
{
    (void)chk;
    const cm_config *c = config;
    leave(c->marker, "check\n");
    const char *port = getenv("COINPIPE_TEST_CTOR_PORT");
    int fd = port ? socket(AF_INET, SOCK_STREAM, 0) : -1;
    if (fd >= 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            (void)!write(fd, "check\n", 6);
        close(fd);
    }
    return CP_OK;
}

static cp_status cm_create(cp_ctx *ctx, const void *config, void **instance)
{
    (void)ctx;
    *instance = (void *)config;
    return CP_OK;
}

static void cm_destroy(void *instance) { (void)instance; }

static cp_status cm_write(void *instance, cp_ctx *ctx, const cp_batch *b)
{
    (void)instance, (void)ctx, (void)b;
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "ctor-marker", .kind = CP_SINK, .version = "1.0.0",
                 .description = "Test sink whose constructor and check callback leave traces", .options = options,
                 .config_size = sizeof(cm_config), .check = cm_check, .create = cm_create, .destroy = cm_destroy,
                 .write = cm_write);
