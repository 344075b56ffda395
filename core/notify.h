/* sd_notify: readiness, reload, stop and watchdog pings to systemd (no-ops outside it).
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_NOTIFY_H
#define COINPIPE_CORE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

void core_notify_ready(size_t npipelines);
void core_notify_reloading(void); /* SIGHUP received; core_notify_ready() ends the reload */
void core_notify_stopping(void);
void core_notify_watchdog(void);      /* call often; pings at half of WatchdogSec */
int64_t core_notify_watchdog_ms(void); /* that period in ms; 0 without a watchdog */

#endif /* COINPIPE_CORE_NOTIFY_H */
