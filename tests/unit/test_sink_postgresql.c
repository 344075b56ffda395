/* Tests of the postgresql sink against a real server (tests/services/start-postgres.sh).
 * SPDX-License-Identifier: MIT
 *
 * Needs COINPIPE_TEST_PG (a libpq conninfo); `make test` sets it. Restarting the server uses
 * COINPIPE_TEST_PG_BIN, COINPIPE_TEST_PG_DATA and COINPIPE_TEST_PG_RUNAS from the same script.
 */
#include "sink_fixtures.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *conninfo(void)
{
    const char *c = getenv("COINPIPE_TEST_PG");
    if (!c || !*c)
        fail_msg("COINPIPE_TEST_PG is not set: run under tests/services/run.sh (make test), which starts PostgreSQL");
    return c;
}

static char g_prefix[64];

static tk_instance *open_sink(void)
{
    snprintf(g_prefix, sizeof g_prefix, "t%ld_", (long)getpid()); /* release and ASan runs share the server */
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "conninfo = \"%s\"; table_prefix = \"%s\";", conninfo(), g_prefix);
    return tk_create("postgresql", cfg);
}

static PGconn *db(void)
{
    PGconn *c = PQconnectdb(conninfo());
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    return c;
}

/* first cell of a query with %s replaced by the table prefix, as text ("(null)" for NULL) */
static char g_cell[256];
static const char *q(PGconn *c, const char *fmt)
{
    char sql[1024];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(sql, sizeof sql, fmt, g_prefix);
#pragma GCC diagnostic pop
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    snprintf(g_cell, sizeof g_cell, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return g_cell;
}

static void test_rows_types_keys_idempotent(void **state)
{
    tk_instance *t = open_sink();
    cp_batch *b = fx_candles(FX_T0, 3);
    assert_int_equal(tk_write(t, b), CP_OK);
    assert_int_equal(tk_write(t, b), CP_OK); /* the same batch twice: one row each */
    PGconn *c = db();
    assert_string_equal(q(c, "SELECT count(*) FROM %sohlcv"), "3");
    /* NUMERIC keeps every digit, exponent forms included; NULL stays NULL */
    assert_string_equal(q(c, "SELECT volume::text FROM %sohlcv LIMIT 1"), "12.345678901234567890123");
    assert_string_equal(q(c, "SELECT taker_buy_quote_volume::text FROM %sohlcv LIMIT 1"), "0.00000001");
    assert_string_equal(q(c, "SELECT quote_volume IS NULL FROM %sohlcv LIMIT 1"), "t");
    assert_string_equal(q(c, "SELECT min(open_time) AT TIME ZONE 'UTC' FROM %sohlcv"), "2026-11-21 10:55:44.123");
    assert_string_equal(q(c, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                             "WHERE attrelid = '%sohlcv'::regclass AND attname = 'close'"),
                        "numeric");
    assert_string_equal(q(c, "SELECT string_agg(a.attname, ',' ORDER BY k.i) FROM pg_index x "
                             "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY k(n, i) "
                             "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n "
                             "WHERE x.indrelid = '%sohlcv'::regclass AND x.indisprimary"),
                        "exchange,symbol,interval,open_time");

    /* latest wins for the moving candle, also when it repeats inside one batch */
    cp_batch *moved = tk_batch_new(&cp_ohlcv_schema);
    fx_add_candle(moved, FX_T0, "1.1");
    fx_add_candle(moved, FX_T0, "2.2");
    assert_int_equal(tk_write(t, moved), CP_OK);
    assert_string_equal(q(c, "SELECT count(*) FROM %sohlcv"), "3");
    assert_string_equal(q(c, "SELECT close::text FROM %sohlcv ORDER BY open_time LIMIT 1"), "2.2");

    /* a text key with quotes and newlines survives COPY; new columns are added */
    cp_batch *e2 = fx_evo(2, "x\ty\\z"), *e4 = fx_evo(4, "w");
    assert_int_equal(tk_write(t, e2), CP_OK);
    assert_int_equal(tk_write(t, e4), CP_OK);
    assert_string_equal(q(c, "SELECT note FROM %sevo WHERE id = E'x\\ty\\\\z'"), FX_NOTE);
    assert_string_equal(q(c, "SELECT px::text FROM %sevo WHERE id = 'w'"), "0.123456789012345678901");
    PQfinish(c);
    tk_batch_free(moved);
    tk_batch_free(e2);
    tk_batch_free(e4);
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_reconnects_after_restart(void **state)
{
    const char *bin = getenv("COINPIPE_TEST_PG_BIN"), *data = getenv("COINPIPE_TEST_PG_DATA");
    const char *runas = getenv("COINPIPE_TEST_PG_RUNAS");
    if (!bin || !data)
        fail_msg("COINPIPE_TEST_PG_BIN/COINPIPE_TEST_PG_DATA are not set: run under tests/services/run.sh");
    tk_instance *t = open_sink();
    cp_batch *b1 = fx_candles(FX_T0 + 86400000, 2), *b2 = fx_candles(FX_T0 + 2 * 86400000, 4);
    assert_int_equal(tk_write(t, b1), CP_OK);

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s%s%s '%s/pg_ctl' -D '%s' -w -t 60 -m fast restart >/dev/null",
             runas && *runas ? "runuser -u " : "", runas && *runas ? runas : "", runas && *runas ? " --" : "", bin,
             data);
    assert_int_equal(system(cmd), 0);

    /* the old connection is gone: the sink reconnects; at worst the batch is retried */
    cp_status st = CP_RETRY;
    for (int i = 0; i < 20 && st == CP_RETRY; i++) {
        st = tk_write(t, b2);
        if (st == CP_RETRY)
            usleep(500 * 1000);
    }
    assert_int_equal(st, CP_OK);
    assert_int_equal(tk_write(t, b2), CP_OK);
    PGconn *c = db();
    assert_string_equal(q(c, "SELECT count(*) FROM %sohlcv WHERE open_time >= '2026-11-22'"), "6");
    PQfinish(c);
    tk_batch_free(b1);
    tk_batch_free(b2);
    tk_destroy(t);
}

static void test_password_never_logged(void **state)
{
    tk_instance *t = NULL;
    char *err = NULL;
    tk_log_clear();
    /* nothing listens on port 1: connecting fails and is logged, without the password */
    cp_status st = tk_try_create("postgresql",
                                 "conninfo = \"host=127.0.0.1 port=1 user=u password=hunter2 dbname=x "
                                 "connect_timeout=2\";",
                                 NULL, &t, &err);
    assert_int_equal(st, CP_OK);
    cp_batch *b = fx_candles(FX_T0, 1);
    assert_int_equal(tk_write(t, b), CP_RETRY);
    tk_assert_log_contains("password=***");
    assert_null(strstr(tk_log(), "hunter2"));
    free(err);
    tk_batch_free(b);
    tk_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_types_keys_idempotent),
        cmocka_unit_test(test_reconnects_after_restart),
        cmocka_unit_test(test_password_never_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
