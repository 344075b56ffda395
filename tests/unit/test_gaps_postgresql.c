/* Tests of the postgresql sink's candle callbacks (stored_series, candle_gaps) on a real server.
 * SPDX-License-Identifier: MIT
 *
 * Needs COINPIPE_TEST_PG (a libpq conninfo; `make test` starts the server). Tables get a
 * prefix of their own, so this runs in parallel with the other tests using the server.
 */
#include "gaps_fixtures.h"

#include <stdlib.h>
#include <unistd.h>

static void test_postgresql_callbacks(void **state)
{
    const char *c = getenv("COINPIPE_TEST_PG");
    if (!c || !*c)
        fail_msg("COINPIPE_TEST_PG is not set: run under tests/services/run.sh (make test), which starts "
                 "PostgreSQL");
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "conninfo = \"%s\"; table_prefix = \"gaps%ld_\";", c, (long)getpid());
    tk_instance *t = tk_create("postgresql", cfg);
    gx_check_sink(t);
    tk_destroy(t);
}

static void test_postgresql_unreachable(void **state)
{
    /* nobody listens there: the read fails as transient, without a call */
    tk_instance *t = tk_create("postgresql", "conninfo = \"host=127.0.0.1 port=1 connect_timeout=2\";");
    gx_series(t, 0, CP_RETRY);
    tk_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postgresql_callbacks),
        cmocka_unit_test(test_postgresql_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
