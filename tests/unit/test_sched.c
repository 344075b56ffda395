/* Unit tests for schedules: aligned intervals and cron (core/sched.c).
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/sched.h"
#include "core/util.h"

#include <string.h>
#include <time.h>

static int64_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) * 1000;
}

static void test_interval_aligned_no_drift(void **state)
{
    int64_t five = 5 * 60000;
    int64_t t = at(2026, 11, 21, 10, 2) + 12345;
    assert_int_equal(core_sched_interval_next(five, t), at(2026, 11, 21, 10, 5));
    assert_int_equal(core_sched_interval_next(five, at(2026, 11, 21, 10, 5)), at(2026, 11, 21, 10, 10));
    /* 24 hours of ticks: every one on the grid, none lost or doubled */
    int64_t now = at(2026, 11, 21, 0, 0);
    for (int i = 0; i < 288; i++) {
        int64_t next = core_sched_interval_next(five, now + 17); /* fired a little late */
        assert_int_equal(next % five, 0);
        assert_int_equal(next, at(2026, 11, 21, 0, 0) + (int64_t)(i + 1) * five);
        now = next;
    }
}

static void test_cron(void **state)
{
    core_cron c;
    char err[256];
    assert_int_equal(core_sched_cron_parse("*/5 * * * *", &c, err, sizeof err), 0);
    assert_int_equal(core_sched_cron_next(&c, at(2026, 11, 21, 10, 2)), at(2026, 11, 21, 10, 5));
    assert_int_equal(core_sched_cron_next(&c, at(2026, 11, 21, 10, 5)), at(2026, 11, 21, 10, 10));
    assert_int_equal(core_sched_cron_parse("30 2 * * mon-fri", &c, err, sizeof err), 0);
    /* 2026-11-21 is a Saturday: next weekday 02:30 is Monday the 23rd */
    assert_int_equal(core_sched_cron_next(&c, at(2026, 11, 21, 10, 0)), at(2026, 11, 23, 2, 30));
    assert_int_equal(core_sched_cron_parse("0 0 1 jan *", &c, err, sizeof err), 0);
    assert_int_equal(core_sched_cron_next(&c, at(2026, 11, 21, 10, 0)), at(2027, 1, 1, 0, 0));
    assert_int_equal(core_sched_cron_parse("0 12 29 2 *", &c, err, sizeof err), 0);
    assert_int_equal(core_sched_cron_next(&c, at(2026, 11, 21, 0, 0)), at(2028, 2, 29, 12, 0));
    assert_int_equal(core_sched_cron_parse("0,15,30,45 8-9 * * 7", &c, err, sizeof err), 0);
    assert_int_equal(core_sched_cron_next(&c, at(2026, 11, 21, 23, 0)), at(2026, 11, 22, 8, 0));
    /* errors name the field */
    assert_int_equal(core_sched_cron_parse("61 * * * *", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "minute"));
    assert_int_equal(core_sched_cron_parse("* * *", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "5 fields"));
    assert_int_equal(core_sched_cron_parse("* * * foo *", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "month"));
}

static void test_durations_and_sizes(void **state)
{
    int64_t v;
    assert_int_equal(core_util_parse_duration("250ms", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(core_util_parse_duration("30s", &v), 0);
    assert_int_equal(v, 30000);
    assert_int_equal(core_util_parse_duration("5m", &v), 0);
    assert_int_equal(v, 300000);
    assert_int_equal(core_util_parse_duration("1h", &v), 0);
    assert_int_equal(v, 3600000);
    assert_int_equal(core_util_parse_duration("1.5s", &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(core_util_parse_duration("5 parsecs", &v), -1);
    assert_int_equal(core_util_parse_duration("-1s", &v), -1);
    assert_int_equal(core_util_parse_size("4M", &v), 0);
    assert_int_equal(v, 4 * 1048576);
    assert_int_equal(core_util_parse_size("1G", &v), 0);
    assert_int_equal(v, 1073741824);
    assert_int_equal(core_util_parse_size("64k", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(core_util_parse_size("4X", &v), -1);
    char buf[40];
    core_util_iso8601(1732186544123, buf, sizeof buf);
    assert_string_equal(buf, "2024-11-21T10:55:44.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_aligned_no_drift),
        cmocka_unit_test(test_cron),
        cmocka_unit_test(test_durations_and_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
