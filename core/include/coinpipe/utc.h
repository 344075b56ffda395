/* coinpipe SDK: UTC calendar arithmetic and ISO-8601 times, header-only.
 * SPDX-License-Identifier: MIT
 *
 * The one implementation of civil dates and ISO-8601 text in the tree: the core's log and
 * status lines, the sinks' CSV cells and S3 partitions, the sources' request parameters and
 * parsed exchange times all use it, and a third-party plugin may too (every function is static
 * inline: no core symbol needed). Times are UTC milliseconds since the epoch, like every `ts`
 * column (docs/streams.md). Nothing here allocates, reads the clock or the time zone, or fails on
 * any int64 input. Calendar arithmetic is Howard Hinnant's proleptic Gregorian algorithms.
 */
#ifndef COINPIPE_UTC_H
#define COINPIPE_UTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CP_UTC_MS_PER_DAY 86400000LL
/** Bytes of cp_utc_iso8601()'s output including the NUL ("2026-11-21T10:55:44.123Z"). */
#define CP_UTC_ISO8601_SIZE 25

/** The UTC day (days since 1970-01-01, negative before) that epoch milliseconds `ms` fall in. */
static inline int64_t cp_utc_day(int64_t ms)
{
    return ms >= 0 ? ms / CP_UTC_MS_PER_DAY : -((-(ms + 1)) / CP_UTC_MS_PER_DAY) - 1;
}

/** The calendar date of day number `days` (since 1970-01-01): year, month 1-12, day 1-31. */
static inline void cp_utc_civil(int64_t days, int *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/** The day number (since 1970-01-01) of calendar date y-m-d (m 1-12, d 1-31); the inverse of
 *  cp_utc_civil. Out-of-range months or days give a meaningless number, never undefined behaviour. */
static inline int64_t cp_utc_days(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static inline void cp_utc_put2_(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/**
 * Writes `ms` as "2026-11-21T10:55:44.123Z" (24 characters and a NUL) into out (at least
 * CP_UTC_ISO8601_SIZE bytes) and returns the length. A time outside the years 0-9999 has no
 * such form: it is written as its decimal milliseconds instead.
 */
static inline size_t cp_utc_iso8601(int64_t ms, char out[CP_UTC_ISO8601_SIZE])
{
    int64_t day = cp_utc_day(ms);
    int64_t rem = ms - day * CP_UTC_MS_PER_DAY;
    int y, mo, d;
    cp_utc_civil(day, &y, &mo, &d);
    if (y < 0 || y > 9999)
        return (size_t)snprintf(out, CP_UTC_ISO8601_SIZE, "%lld", (long long)ms);
    int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), s = (int)(rem / 1000 % 60);
    int msec = (int)(rem % 1000);
    cp_utc_put2_(out, y / 100);
    cp_utc_put2_(out + 2, y % 100);
    out[4] = '-';
    cp_utc_put2_(out + 5, mo);
    out[7] = '-';
    cp_utc_put2_(out + 8, d);
    out[10] = 'T';
    cp_utc_put2_(out + 11, h);
    out[13] = ':';
    cp_utc_put2_(out + 14, mi);
    out[16] = ':';
    cp_utc_put2_(out + 17, s);
    out[19] = '.';
    out[20] = (char)('0' + msec / 100);
    cp_utc_put2_(out + 21, msec % 100);
    out[23] = 'Z';
    out[24] = '\0';
    return 24;
}

/** cp_utc_iso8601() to whole seconds, rounded down: "2026-11-21T10:55:44Z" (20 characters). */
static inline size_t cp_utc_iso8601_seconds(int64_t ms, char out[CP_UTC_ISO8601_SIZE])
{
    size_t n = cp_utc_iso8601(ms, out);
    if (n != 24)
        return n;
    out[19] = 'Z';
    out[20] = '\0';
    return 20;
}

/**
 * Parses "YYYY-MM-DDTHH:MM:SS" with optional fraction (digits past milliseconds are dropped)
 * and a zone of "Z", "+HH:MM" or "-HH:MM" (none: UTC), as exchanges write times, into epoch
 * milliseconds. -1 for anything else, for a field out of range and for years before 1970.
 */
static inline int64_t cp_utc_parse_iso8601(const char *s)
{
    if (!s)
        return -1;
    int v[6] = {0};
    static const char seps[6] = {'-', '-', 'T', ':', ':', '\0'};
    static const int widths[6] = {4, 2, 2, 2, 2, 2};
    const char *p = s;
    for (int k = 0; k < 6; k++) {
        for (int i = 0; i < widths[k]; i++, p++) {
            if (*p < '0' || *p > '9')
                return -1;
            v[k] = v[k] * 10 + (*p - '0');
        }
        if (k < 5 && *p++ != seps[k])
            return -1;
    }
    int Y = v[0], M = v[1], D = v[2], h = v[3], mi = v[4], sec = v[5];
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60 || Y < 1970)
        return -1;
    int64_t ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (!digits)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        /* exactly "+HH:MM": a shorter offset must not move p past the terminator */
        for (int i = 1; i <= 5; i++)
            if (i == 3 ? p[i] != ':' : (p[i] < '0' || p[i] > '9'))
                return -1;
        int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
        if (oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * 60000LL * (*p == '+' ? 1 : -1);
        p += 6;
    }
    if (*p)
        return -1;
    int64_t days = cp_utc_days(Y, (unsigned)M, (unsigned)D);
    return ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + ms - off;
}

#endif /* COINPIPE_UTC_H */
