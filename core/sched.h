/* Schedules: cron expressions and fixed intervals.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_SCHED_H
#define COINPIPE_CORE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct core_cron {
    uint64_t minute;   /* bit per minute 0-59 */
    uint32_t hour;     /* 0-23 */
    uint32_t dom;      /* 1-31 */
    uint16_t month;    /* 1-12 */
    uint8_t dow;       /* 0-6, Sunday 0 */
    bool dom_star, dow_star;
} core_cron;

int core_sched_cron_parse(const char *text, core_cron *out, char *err, size_t errlen);
int64_t core_sched_cron_next(const core_cron *c, int64_t after_ms); /* first match > after_ms */
int64_t core_sched_interval_next(int64_t interval_ms, int64_t after_ms);

#endif /* COINPIPE_CORE_SCHED_H */
