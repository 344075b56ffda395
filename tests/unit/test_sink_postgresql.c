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

/* decimals as the sink sends them (binary NUMERIC built from the text) read back exactly as the
 * server's own parse of the same text: scale, sign, exponents, many digits */
static const char *const fx_decimals[] = {
    "0", "-0", "0.000", "-0.00", "1", "-1.50", "+.5", "5.", "00012.3400", "1e-8", "1E-8", "1.5E+20", "-2.5e-3",
    "12345678901234567890.123456789012345678901234", "0.000000000000000000000000000001", "99999999999999999999",
    "9999e131068", "1e131071", "1e-16383", "0e1000000", "0.00001e131076", "-123.456e-7", "1e0", "7e+0",
    "1234567890123456789012345678901234567890123456789012345678901234"};

static const cp_field fx_types_fields[] = {
    {"name", CP_T_STRING, CP_FIELD_KEY},  {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY}, {"v", CP_T_DECIMAL, CP_FIELD_NULLABLE},
    {"dbl", CP_T_DOUBLE, CP_FIELD_NULLABLE}, {"flag", CP_T_BOOL, CP_FIELD_NULLABLE},
    {"n", CP_T_INT64, CP_FIELD_NULLABLE},  {"txt", CP_T_STRING, CP_FIELD_NULLABLE},
};

/* one row per decimal (ts = 1, 2, ...), then a row of NULLs; `repeat` adds the first key again */
static cp_batch *fx_types(const char *stream, bool repeat)
{
    cp_schema s = {.stream = stream, .nfields = 7, .fields = fx_types_fields};
    cp_batch *b = tk_batch_new(&s);
    const cp_host *h = tk_host();
    size_t n = sizeof fx_decimals / sizeof *fx_decimals;
    for (size_t i = 0; i <= n; i++) {
        size_t r = h->batch_add_row(b);
        h->batch_set_string(b, r, 0, "k", 1);
        h->batch_set_int(b, r, 1, FX_T0 + (int64_t)i);
        if (i == n)
            continue; /* every other column NULL */
        assert_int_equal(h->batch_set_decimal(b, r, 2, fx_decimals[i], strlen(fx_decimals[i])), CP_OK);
        h->batch_set_double(b, r, 3, i == 0 ? -0.1 : 1e300 / (double)(i + 1));
        h->batch_set_bool(b, r, 4, i % 2 == 0);
        h->batch_set_int(b, r, 5, i == 0 ? INT64_MIN : (int64_t)i * -1000000007LL);
        const char *txt = i == 0 ? "tab\there\\ \"q\" 'a' \xc3\xa9" : "x";
        h->batch_set_string(b, r, 6, txt, strlen(txt));
    }
    if (repeat) {
        size_t r = h->batch_add_row(b);
        h->batch_set_string(b, r, 0, "k", 1);
        h->batch_set_int(b, r, 1, FX_T0);
        h->batch_set_decimal(b, r, 2, "42", 2);
    }
    return b;
}

/* the row of fx_types at ts = FX_T0 + i ms, in a query of q() (which fills in the prefix) */
#define AT_ROW " FROM %%s%s WHERE ts = to_timestamp(0) + %lld * interval '1 ms'"

static void check_types(PGconn *c, const char *stream)
{
    char sql[512];
    size_t n = sizeof fx_decimals / sizeof *fx_decimals;
    for (size_t i = 0; i < n; i++) {
        snprintf(sql, sizeof sql, "SELECT (v::text = '%s'::numeric::text)::text" AT_ROW, fx_decimals[i], stream,
                 (long long)(FX_T0 + (int64_t)i));
        if (strcmp(q(c, sql), "true"))
            fail_msg("%s: decimal %s read back differently", stream, fx_decimals[i]);
    }
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %%s%s", stream);
    assert_string_equal(q(c, sql), "26");
    snprintf(sql, sizeof sql, "SELECT concat_ws('|', v, dbl, flag, n, txt)" AT_ROW, stream, (long long)FX_T0);
    assert_string_equal(q(c, sql), "0|-0.1|t|-9223372036854775808|tab\there\\ \"q\" 'a' \xc3\xa9");
    snprintf(sql, sizeof sql, "SELECT concat_ws('|', dbl = 1e300::float8 / 3, flag, n)" AT_ROW, stream,
             (long long)FX_T0 + 2);
    assert_string_equal(q(c, sql), "t|t|-2000000014");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %%s%s WHERE num_nulls(v, dbl, flag, n, txt) = 5", stream);
    assert_string_equal(q(c, sql), "1");
    snprintf(sql, sizeof sql, "SELECT count(*)" AT_ROW, stream, (long long)FX_T0 + 25);
    assert_string_equal(q(c, sql), "1");
}

static void test_binary_copy_round_trips(void **state)
{
    tk_instance *t = open_sink();
    /* new keys go straight into the table; a batch with a key twice goes through staging */
    cp_batch *direct = fx_types("types_direct", false), *staged = fx_types("types_staged", true);
    assert_int_equal(tk_write(t, direct), CP_OK);
    assert_int_equal(tk_write(t, staged), CP_OK);
    assert_int_equal(tk_write(t, direct), CP_OK); /* re-delivery: keys present, staging */
    PGconn *c = db();
    check_types(c, "types_direct");
    check_types(c, "types_staged"); /* first delivery wins: the repeated key kept "0" */
    PQfinish(c);

    /* what the server refused as text is refused, naming the value */
    static const char *const bad[] = {"1e131072", "1e-16384", "0e-16384", "1e1073741823", "1e-131072"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cp_batch *b = fx_candles(FX_T0 + 7 * 86400000, 2);
        tk_host()->batch_set_decimal(b, 1, CP_OHLCV_VOLUME, bad[i], strlen(bad[i]));
        tk_log_clear();
        assert_int_equal(tk_write(t, b), CP_REJECT);
        tk_assert_log_contains("outside NUMERIC's range");
        tk_assert_log_contains(bad[i]);
        tk_batch_free(b);
    }
    cp_batch *b = fx_candles(FX_T0 + 8 * 86400000, 1);
    tk_host()->batch_set_int(b, 0, CP_OHLCV_RECEIVED_AT, 253402300800000LL); /* year 10000 */
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_REJECT);
    tk_assert_log_contains("outside the years 1-9999");
    c = db();
    assert_string_equal(q(c, "SELECT count(*) FROM %sohlcv WHERE open_time >= '2026-11-28'"), "0");
    PQfinish(c);
    tk_batch_free(b);
    tk_batch_free(direct);
    tk_batch_free(staged);
    tk_destroy(t);
}

static void test_keys_written_meanwhile(void **state)
{
    tk_instance *t = open_sink();
    cp_batch *b1 = fx_candles(FX_T0 + 19 * 86400000, 1), *b3 = fx_candles(FX_T0 + 20 * 86400000, 3);
    assert_int_equal(tk_write(t, b1), CP_OK); /* the table exists, no key of b3 in it */
    /* another session inserts the second candle and commits only while our COPY waits for it:
     * the direct COPY meets the key (unique violation) and the batch goes through staging */
    PGconn *other = db();
    char sql[1024];
    snprintf(sql, sizeof sql,
             "BEGIN; INSERT INTO %sohlcv (exchange, symbol, \"interval\", open_time, close) VALUES "
             "('binance', 'BTC-USDT', '1m', to_timestamp(0) + %lld * interval '1 ms', 1)",
             g_prefix, (long long)(FX_T0 + 20 * 86400000 + 60000));
    PQclear(PQexec(other, sql));
    assert_int_equal(PQsendQuery(other, "SELECT pg_sleep(0.5); COMMIT"), 1);
    tk_log_clear();
    assert_int_equal(tk_write(t, b3), CP_OK);
    assert_null(strstr(tk_log(), "level=error"));
    for (PGresult *r; (r = PQgetResult(other));)
        PQclear(r);
    PQfinish(other);
    PGconn *c = db();
    assert_string_equal(q(c, "SELECT count(*) FROM %sohlcv WHERE open_time >= '2026-12-11'"), "3");
    assert_string_equal(q(c, "SELECT string_agg(close::text, ',' ORDER BY open_time) FROM %sohlcv "
                             "WHERE open_time >= '2026-12-11'"),
                        "100.5,101.5,102.5"); /* latest wins for ohlcv */
    PQfinish(c);
    tk_batch_free(b1);
    tk_batch_free(b3);
    tk_destroy(t);
}

/* A table locked by another session: the statement is cancelled after statement_timeout and
 * the batch retried, and written once the lock is gone. */
static void test_statement_timeout(void **state)
{
    (void)state;
    snprintf(g_prefix, sizeof g_prefix, "t%ld_to_", (long)getpid());
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "conninfo = \"%s\"; table_prefix = \"%s\"; statement_timeout = \"300ms\";",
             conninfo(), g_prefix);
    tk_instance *t = tk_create("postgresql", cfg);
    cp_batch *b1 = fx_candles(FX_T0, 1), *b2 = fx_candles(FX_T0 + 86400000, 2);
    assert_int_equal(tk_write(t, b1), CP_OK); /* creates the table */
    PGconn *other = db();
    char sql[256];
    snprintf(sql, sizeof sql, "BEGIN; LOCK TABLE %sohlcv IN ACCESS EXCLUSIVE MODE", g_prefix);
    PGresult *r = PQexec(other, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    tk_log_clear();
    assert_int_equal(tk_write(t, b2), CP_RETRY);
    assert_non_null(strstr(tk_log(), "statement timeout"));
    PQclear(PQexec(other, "COMMIT"));
    PQfinish(other);
    assert_int_equal(tk_write(t, b2), CP_OK);
    PGconn *c = db();
    assert_string_equal(q(c, "SELECT count(*) FROM %sohlcv"), "3");
    assert_string_equal(q(c, "SHOW statement_timeout"), "0"); /* a session of ours only, not the server's */
    PQfinish(c);
    tk_batch_free(b1);
    tk_batch_free(b2);
    tk_destroy(t);
}

static void test_table_of_other_types(void **state)
{
    /* a table made beforehand with other column types: written through staging, cast */
    snprintf(g_prefix, sizeof g_prefix, "t%ld_", (long)getpid());
    PGconn *c = db();
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %shand (name varchar(10), ts timestamptz, v text, dbl numeric, flag boolean, "
             "n numeric, txt varchar(200), PRIMARY KEY (name, ts))",
             g_prefix);
    PQclear(PQexec(c, sql));
    tk_instance *t = open_sink();
    cp_batch *b = fx_types("hand", false);
    assert_int_equal(tk_write(t, b), CP_OK);
    assert_int_equal(tk_write(t, b), CP_OK);
    assert_string_equal(q(c, "SELECT concat_ws('|', count(*), min(n), min(dbl)) FROM %shand"),
                        "26|-9223372036854775808|-0.1");
    assert_string_equal(q(c, "SELECT v FROM %shand WHERE v LIKE '15%%'"), "150000000000000000000");
    assert_string_equal(q(c, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                             "WHERE attrelid = '%shand'::regclass AND attname = 'v'"),
                        "text");
    PQfinish(c);
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_unchanged_rows_not_rewritten(void **state)
{
    tk_instance *t = open_sink();
    cp_batch *b = fx_candles(FX_T0 + 30 * 86400000LL, 3), *moved = tk_batch_new(&cp_ohlcv_schema);
    fx_add_candle(moved, FX_T0 + 30 * 86400000LL + 60000, "101.50"); /* the same number, written otherwise */
    assert_int_equal(tk_write(t, b), CP_OK);
    PGconn *c = db();
    const char *xmins = "SELECT string_agg(xmin::text, ',' ORDER BY open_time) FROM %sohlcv "
                        "WHERE open_time >= '2026-12-21'";
    char before[256];
    snprintf(before, sizeof before, "%s", q(c, xmins));
    assert_int_equal(tk_write(t, b), CP_OK); /* latest wins, but nothing changed: rows untouched */
    assert_string_equal(q(c, xmins), before);
    assert_int_equal(tk_write(t, moved), CP_OK);
    assert_string_equal(q(c, "SELECT string_agg(close::text, ',' ORDER BY open_time) FROM %sohlcv "
                             "WHERE open_time >= '2026-12-21'"),
                        "100.5,101.50,102.5");
    assert_string_equal(q(c, "SELECT count(*) FROM %sohlcv WHERE open_time >= '2026-12-21'"), "3");
    PQfinish(c);
    tk_batch_free(b);
    tk_batch_free(moved);
    tk_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_types_keys_idempotent),
        cmocka_unit_test(test_reconnects_after_restart),
        cmocka_unit_test(test_password_never_logged),
        cmocka_unit_test(test_binary_copy_round_trips),
        cmocka_unit_test(test_keys_written_meanwhile),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_table_of_other_types),
        cmocka_unit_test(test_unchanged_rows_not_rewritten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
