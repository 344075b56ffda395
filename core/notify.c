/* Service manager notifications: sd_notify READY/RELOADING/STOPPING/STATUS and the watchdog keep-alive.
 * SPDX-License-Identifier: MIT
 *
 * The sd_notify protocol spoken directly, as sd_notify(3) documents it for programs that do
 * not link libsystemd: one datagram of "KEY=value" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for an abstract socket). The watchdog interval is
 * $WATCHDOG_USEC, meant for this process if $WATCHDOG_PID is unset or names it. Linking
 * libsystemd for this cost about 0.9 MB of resident pages (it pulls libgcrypt, libgpg-error,
 * liblz4, liblzma and libcap into every process). When not started by systemd
 * ($NOTIFY_SOCKET unset), every function here does nothing.
 */
#include "log.h"
#include "notify.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t watchdog_every_ms = -1; /* -1: not asked yet, 0: no watchdog */
static int64_t watchdog_last_ms;

/* sends one notification; false if $NOTIFY_SOCKET is unset, unsupported or unreachable */
static bool notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@'))
        return false; /* not under systemd, or an address family other than AF_UNIX */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t plen = strlen(path);
    if (plen < 2 || plen >= sizeof sa.sun_path)
        return false;
    memcpy(sa.sun_path, path, plen);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    size_t len = strlen(msg);
    ssize_t sent;
    do
        sent = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen));
    while (sent < 0 && errno == EINTR);
    close(fd);
    return sent == (ssize_t)len;
}

/* half of $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises; 0 when there is no watchdog for
 * this process */
static int64_t watchdog_interval_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (!getenv("NOTIFY_SOCKET") || !usec || !*usec)
        return 0;
    char *end;
    if (pid && *pid) {
        long long p = strtoll(pid, &end, 10);
        if (*end || p != (long long)getpid())
            return 0;
    }
    unsigned long long us = strtoull(usec, &end, 10);
    if (*end || us == 0)
        return 0;
    int64_t ms = (int64_t)(us / 2000);
    return ms > 0 ? ms : 1;
}

void core_notify_ready(size_t npipelines)
{
    char msg[96];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=running %zu pipelines", npipelines);
    notify(msg);
}

void core_notify_reloading(void)
{
    /* MONOTONIC_USEC lets systemd (Type=notify-reload, v253+) match this to its own reload request */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char msg[128];
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
    notify(msg);
}

void core_notify_stopping(void) { notify("STOPPING=1\nSTATUS=stopping: finishing cycles, draining sinks"); }

int64_t core_notify_watchdog_ms(void)
{
    if (watchdog_every_ms < 0) {
        watchdog_every_ms = watchdog_interval_ms();
        if (watchdog_every_ms)
            LOG_DEBUG("systemd watchdog: keep-alive every %lld ms", (long long)watchdog_every_ms);
    }
    return watchdog_every_ms;
}

void core_notify_watchdog(void)
{
    if (!core_notify_watchdog_ms())
        return;
    int64_t now = core_util_mono_ms();
    if (now - watchdog_last_ms >= watchdog_every_ms) {
        notify("WATCHDOG=1");
        watchdog_last_ms = now;
    }
}
