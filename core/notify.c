/* Service manager notifications: sd_notify READY/RELOADING/STOPPING/STATUS and the watchdog keep-alive.
 * SPDX-License-Identifier: MIT
 *
 * Without libsystemd at build time, or when not started by systemd ($NOTIFY_SOCKET unset),
 * every function here does nothing.
 */
#include "core.h"

#include <time.h>

#ifdef COINPIPE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static int64_t watchdog_every_ms = -1; /* -1: not asked yet, 0: no watchdog */
static int64_t watchdog_last_ms;

void core_notify_ready(size_t npipelines)
{
#ifdef COINPIPE_HAVE_SYSTEMD
    sd_notifyf(0, "READY=1\nSTATUS=running %zu pipelines", npipelines);
#else
    (void)npipelines;
#endif
}

void core_notify_reloading(void)
{
#ifdef COINPIPE_HAVE_SYSTEMD
    /* MONOTONIC_USEC lets systemd (Type=notify-reload, v253+) match this to its own reload request */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
               (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
#endif
}

void core_notify_stopping(void)
{
#ifdef COINPIPE_HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing cycles, draining sinks");
#endif
}

int64_t core_notify_watchdog_ms(void)
{
#ifdef COINPIPE_HAVE_SYSTEMD
    if (watchdog_every_ms < 0) {
        uint64_t usec = 0;
        watchdog_every_ms = sd_watchdog_enabled(0, &usec) > 0 ? (int64_t)(usec / 2000) : 0;
        if (watchdog_every_ms)
            LOG_DEBUG("systemd watchdog: keep-alive every %lld ms", (long long)watchdog_every_ms);
    }
    return watchdog_every_ms;
#else
    return 0;
#endif
}

void core_notify_watchdog(void)
{
#ifdef COINPIPE_HAVE_SYSTEMD
    if (!core_notify_watchdog_ms())
        return;
    int64_t now = core_util_mono_ms();
    if (now - watchdog_last_ms >= watchdog_every_ms) {
        sd_notify(0, "WATCHDOG=1");
        watchdog_last_ms = now;
    }
#endif
}
