/* Schedules: wall-clock-aligned intervals and 5-field cron expressions in UTC.
 * SPDX-License-Identifier: MIT
 */
#include "sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t core_sched_interval_next(int64_t interval_ms, int64_t after_ms)
{
    if (interval_ms <= 0)
        return after_ms + 1000;
    return (after_ms / interval_ms + 1) * interval_ms;
}

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static int parse_value(const char **p, int lo, int hi, const char *const *names, int name_base, int *out)
{
    const char *s = *p;
    if (names) {
        for (int i = 0; names[i]; i++)
            if (strncasecmp(s, names[i], 3) == 0) {
                *out = i + name_base;
                *p = s + 3;
                return 0;
            }
    }
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    long v = strtol(s, &end, 10);
    *out = (int)v;
    *p = end;
    return 0;
}

/* Parses one field into a bitmask; returns 0 or -1 with err. */
static int parse_field(const char *text, int lo, int hi, const char *const *names, int name_base, uint64_t *mask,
                       bool *star, const char *what, char *err, size_t errlen)
{
    *mask = 0;
    *star = strcmp(text, "*") == 0;
    const char *p = text;
    while (*p) {
        int a, b, step = 1;
        if (*p == '*') {
            a = lo;
            b = hi;
            p++;
        } else {
            if (parse_value(&p, lo, hi, names, name_base, &a) != 0)
                goto bad;
            b = a;
            if (*p == '-') {
                p++;
                if (parse_value(&p, lo, hi, names, name_base, &b) != 0)
                    goto bad;
            }
        }
        if (*p == '/') {
            p++;
            char *end;
            step = (int)strtol(p, &end, 10);
            if (end == p || step <= 0)
                goto bad;
            p = end;
            if (a == b && text[0] != '*')
                b = hi; /* "5/15" means 5-hi/15 */
        }
        if (a < lo || b > hi || a > b) {
            snprintf(err, errlen, "%s value out of range %d-%d", what, lo, hi);
            return -1;
        }
        for (int v = a; v <= b; v += step)
            *mask |= 1ull << v;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    if (!*mask)
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "cannot parse %s field \"%s\"", what, text);
    return -1;
}

int core_sched_cron_parse(const char *text, core_cron *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    char *fields[6] = {0}, *save = NULL;
    int n = 0;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 5) {
            n++;
            break;
        }
        fields[n++] = t;
    }
    if (n != 5) {
        snprintf(err, errlen, "expected 5 fields (minute hour day-of-month month day-of-week), got %d", n);
        return -1;
    }
    uint64_t m;
    bool star;
    if (parse_field(fields[0], 0, 59, NULL, 0, &m, &star, "minute", err, errlen))
        return -1;
    out->minute = m;
    if (parse_field(fields[1], 0, 23, NULL, 0, &m, &star, "hour", err, errlen))
        return -1;
    out->hour = (uint32_t)m;
    if (parse_field(fields[2], 1, 31, NULL, 0, &m, &out->dom_star, "day-of-month", err, errlen))
        return -1;
    out->dom = (uint32_t)m;
    if (parse_field(fields[3], 1, 12, month_names, 1, &m, &star, "month", err, errlen))
        return -1;
    out->month = (uint16_t)m;
    if (parse_field(fields[4], 0, 7, dow_names, 0, &m, &out->dow_star, "day-of-week", err, errlen))
        return -1;
    if (m & (1u << 7))
        m |= 1u; /* 7 is Sunday too */
    out->dow = (uint8_t)(m & 0x7f);
    return 0;
}

static bool day_matches(const core_cron *c, const struct tm *tm)
{
    bool dom = (c->dom >> tm->tm_mday) & 1u;
    bool dow = (c->dow >> tm->tm_wday) & 1u;
    if (c->dom_star && c->dow_star)
        return true;
    if (c->dom_star)
        return dow;
    if (c->dow_star)
        return dom;
    return dom || dow; /* Vixie cron: either restricted field may match */
}

int64_t core_sched_cron_next(const core_cron *c, int64_t after_ms)
{
    time_t t = (time_t)(after_ms / 1000);
    t = t - t % 60 + 60; /* next whole minute strictly after */
    struct tm tm;
    gmtime_r(&t, &tm);
    /* bounded search: at most ~5 years of days, hours and minutes */
    for (int guard = 0; guard < 5 * 366 * 24 * 60; guard++) {
        if (!((c->month >> (tm.tm_mon + 1)) & 1u)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!day_matches(c, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!((c->hour >> tm.tm_hour) & 1u)) {
            tm.tm_hour++;
            tm.tm_min = 0;
        } else if (!((c->minute >> tm.tm_min) & 1ull)) {
            tm.tm_min++;
        } else {
            return (int64_t)timegm(&tm) * 1000;
        }
        tm.tm_sec = 0;
        time_t norm = timegm(&tm); /* normalise overflowed fields */
        gmtime_r(&norm, &tm);
    }
    return -1;
}
