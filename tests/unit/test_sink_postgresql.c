/* Tests of the postgresql sink against a real server (tests/services/start-postgres.sh).
 * SPDX-License-Identifier: MIT
 *
 * Needs COINPIPE_TEST_PG (a libpq conninfo); `make test` sets it. Restarting the server uses
 * COINPIPE_TEST_PG_BIN, COINPIPE_TEST_PG_DATA and COINPIPE_TEST_PG_RUNAS from the same script.
 */
#include "sink_fixtures.h"

#include <coinpipe/buf.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
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

/* rows i = from .. from + n - 1 of the fx_types schema at ts = t0 + i (ms): the decimals of
 * fx_decimals in turn, every tenth row NULL but its keys */
static cp_batch *fx_many(const char *stream, int64_t t0, size_t from, size_t n)
{
    cp_schema s = {.stream = stream, .nfields = 7, .fields = fx_types_fields};
    cp_batch *b = tk_batch_new(&s);
    const cp_host *h = tk_host();
    size_t nd = sizeof fx_decimals / sizeof *fx_decimals;
    for (size_t i = from; i < from + n; i++) {
        size_t r = h->batch_add_row(b);
        h->batch_set_string(b, r, 0, "many", 4);
        h->batch_set_int(b, r, 1, t0 + (int64_t)i);
        if (i % 10 == 9)
            continue;
        const char *d = fx_decimals[i % nd];
        assert_int_equal(h->batch_set_decimal(b, r, 2, d, strlen(d)), CP_OK);
        h->batch_set_double(b, r, 3, (double)i / 3);
        h->batch_set_bool(b, r, 4, i % 3 == 0);
        h->batch_set_int(b, r, 5, i % 2 ? INT64_MAX - (int64_t)i : INT64_MIN + (int64_t)i);
        char txt[64];
        snprintf(txt, sizeof txt, "r%zu\t\"%zu\"", i, i);
        h->batch_set_string(b, r, 6, txt, strlen(txt));
    }
    return b;
}

/* every row of fx_many(stream, t0, n) read back; each decimal as the server's own parse of its text */
static void check_many(PGconn *c, const char *stream, int64_t t0, size_t n)
{
    size_t nd = sizeof fx_decimals / sizeof *fx_decimals;
    cp_buf sql = {0};
    cp_buf_printf(&sql, "SELECT i, v::text IS NOT DISTINCT FROM (ARRAY[");
    for (size_t k = 0; k < nd; k++)
        cp_buf_printf(&sql, "%s'%s'", k ? ", " : "", fx_decimals[k]);
    cp_buf_printf(
        &sql,
        "])[i %% %zu + 1]::numeric::text, concat_ws('|', dbl = i::float8 / 3, flag, n, txt) "
        "FROM (SELECT *, (extract(epoch FROM ts) * 1000)::int8 - %lld AS i FROM %s%s WHERE name = 'many') "
        "s WHERE i >= 0 ORDER BY i",
        nd, (long long)t0, g_prefix, stream);
    PGresult *res = PQexec(c, sql.p);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql.p, PQerrorMessage(c));
    cp_buf_free(&sql);
    assert_int_equal(PQntuples(res), (int)n);
    char want[256];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strtoll(PQgetvalue(res, (int)i, 0), NULL, 10), (long long)i);
        bool null = i % 10 == 9;
        if (strcmp(PQgetvalue(res, (int)i, 1), null ? "f" : "t"))
            fail_msg("%s row %zu: decimal %s read back differently", stream, i, fx_decimals[i % nd]);
        if (null)
            snprintf(want, sizeof want, "%s", "");
        else
            snprintf(want, sizeof want, "t|%s|%lld|r%zu\t\"%zu\"", i % 3 == 0 ? "t" : "f",
                     i % 2 ? (long long)(INT64_MAX - (int64_t)i) : (long long)(INT64_MIN + (int64_t)i), i, i);
        if (strcmp(PQgetvalue(res, (int)i, 2), want))
            fail_msg("%s row %zu: %s, expected %s", stream, i, PQgetvalue(res, (int)i, 2), want);
    }
    PQclear(res);
}

/* Batches above 250 rows go in several COPY statements of one transaction: every value of every
 * type still round-trips; a bad value in a later statement rejects the whole batch. */
static void test_many_rows_in_statements(void **state)
{
    tk_instance *t = open_sink();
    const int64_t t0 = FX_T0 + 40 * 86400000LL;
    cp_batch *b = fx_many("many", t0, 0, 1001), *b2 = fx_many("many", t0, 1001, 600);
    assert_int_equal(tk_write(t, b), CP_OK);  /* new table, new keys: COPY straight into it */
    assert_int_equal(tk_write(t, b2), CP_OK); /* new keys again */
    assert_int_equal(tk_write(t, b), CP_OK);  /* re-delivery: through staging, nothing doubled */
    PGconn *c = db();
    check_many(c, "many", t0, 1601);

    /* year 10000 in row 700 (the third statement): nothing of the batch is stored */
    cp_batch *bad = fx_many("many", t0, 5000, 1001);
    tk_host()->batch_set_int(bad, 699, 1, 253402300800000LL);
    tk_log_clear();
    assert_int_equal(tk_write(t, bad), CP_REJECT);
    tk_assert_log_contains("COPY of 1001 many rows failed: row 700 column");
    tk_assert_log_contains("time 253402300800000 ms is outside the years 1-9999");
    assert_string_equal(q(c, "SELECT count(*) FROM %smany"), "1601");
    /* and the same in the staging path (a key repeats inside the batch) */
    tk_host()->batch_set_int(bad, 699, 1, t0 + 5000);
    tk_host()->batch_set_decimal(bad, 900, 2, "1e131072", 8);
    tk_log_clear();
    assert_int_equal(tk_write(t, bad), CP_REJECT);
    tk_assert_log_contains("COPY of 1001 many rows failed: row 901 column");
    tk_assert_log_contains("1e131072 is outside NUMERIC's range");
    assert_string_equal(q(c, "SELECT count(*) FROM %smany"), "1601");
    PQfinish(c);
    tk_batch_free(bad);
    tk_batch_free(b);
    tk_batch_free(b2);
    tk_destroy(t);
}

/* ohlcv (latest delivery wins) in batches of several statements: keys repeated inside a batch and
 * across batches, and a batch of new keys but its last, after one of only new keys (written
 * straight into the table without looking its keys up first: the COPY meets the stored key) */
static void test_upsert_across_statements(void **state)
{
    tk_instance *t = open_sink();
    const int64_t t0 = FX_T0 + 50 * 86400000LL;
    cp_batch *a = fx_candles(t0, 600), *b = tk_batch_new(&cp_ohlcv_schema);
    for (size_t i = 300; i < 900; i++) {
        char close[32];
        snprintf(close, sizeof close, "%zu.25", 1000 + i);
        fx_add_candle(b, t0 + (int64_t)i * 60000, close);
    }
    fx_add_candle(b, t0 + 450 * 60000LL, "7.75"); /* a key twice in the batch: the later wins */
    assert_int_equal(tk_write(t, a), CP_OK);
    assert_int_equal(tk_write(t, b), CP_OK);
    PGconn *c = db();
    const char *sum = "SELECT concat_ws('|', count(*), sum(close), min(close), max(close)) FROM %sohlcv "
                      "WHERE open_time >= '2027-01-10'";
    /* 0..299 from a (100.5 ..), 300..899 from b (1300.25 ..) but 450 = 7.75 */
    double want_sum = 0;
    for (int i = 0; i < 300; i++)
        want_sum += 100.5 + i;
    for (int i = 300; i < 900; i++)
        want_sum += i == 450 ? 7.75 : 1000.25 + i;
    char want[128];
    snprintf(want, sizeof want, "900|%.2f|7.75|1899.25", want_sum);
    assert_string_equal(q(c, sum), want);

    cp_batch *fresh = fx_candles(t0 + 1000 * 60000LL, 300), *last = tk_batch_new(&cp_ohlcv_schema);
    fx_add_candle(fresh, t0 + 1899 * 60000LL, "9.5");
    for (size_t i = 1300; i < 1900; i++) /* in key order, 1899 (the last row) already stored */
        fx_add_candle(last, t0 + (int64_t)i * 60000, i == 1899 ? "6.5" : "5.5");
    assert_int_equal(tk_write(t, fresh), CP_OK);
    tk_log_clear();
    assert_int_equal(tk_write(t, last), CP_OK);
    assert_null(strstr(tk_log(), "level=error"));
    for (int i = 1000; i < 1300; i++)
        want_sum += 100.5 + (i - 1000);
    want_sum += 599 * 5.5 + 6.5;
    snprintf(want, sizeof want, "1800|%.2f", want_sum);
    assert_string_equal(
        q(c, "SELECT concat_ws('|', count(*), sum(close)) FROM %sohlcv WHERE open_time >= '2027-01-10'"),
        want);
    assert_string_equal(
        q(c, "SELECT close::text FROM %sohlcv WHERE open_time = '2027-01-10 10:55:44.123+00'::timestamptz "
             "+ interval '1899 minutes'"),
        "6.5");
    PQfinish(c);
    tk_batch_free(a);
    tk_batch_free(b);
    tk_batch_free(fresh);
    tk_batch_free(last);
    tk_destroy(t);
}

/* A table whose primary key was dropped: its keys are looked up before every COPY, as ever,
 * so a re-delivered batch of candles is refused (the upsert has no key to use) and never
 * stored twice */
static void test_table_without_key_index(void **state)
{
    tk_instance *t = open_sink();
    const int64_t t0 = FX_T0 + 60 * 86400000LL;
    cp_batch *a = fx_candles(t0 - 86400000, 300), *b = fx_candles(t0, 300),
             *c2 = fx_candles(t0 + 86400000, 300);
    assert_int_equal(tk_write(t, a), CP_OK); /* makes the table */
    tk_destroy(t);
    PGconn *c = db();
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER TABLE %sohlcv DROP CONSTRAINT %sohlcv_pkey", g_prefix, g_prefix);
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    t = open_sink();
    assert_int_equal(tk_write(t, b), CP_OK);
    assert_int_equal(tk_write(t, c2), CP_OK);
    assert_int_equal(tk_write(t, c2), CP_REJECT); /* ON CONFLICT (keys) DO UPDATE needs the index */
    assert_string_equal(q(c, "SELECT count(*) FROM %sohlcv WHERE open_time >= '2027-01-19'"), "900");
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    snprintf(sql, sizeof sql, "DROP TABLE %sohlcv", g_prefix); /* the other tests' candles need the key */
    PQclear(PQexec(c, sql));
    PQfinish(c);
    tk_batch_free(a);
    tk_batch_free(b);
    tk_batch_free(c2);
    tk_destroy(t);
}

/* Two coinpipes creating the same table at once (two pipelines or two collectors sharing a
 * database; seen in CI: "CREATE TABLE failed: duplicate key value violates unique constraint
 * pg_type_typname_nsp_index"). A child process plays the other coinpipe: it takes the DDL lock,
 * creates the table and commits a second later; the sink's CREATE TABLE IF NOT EXISTS must wait
 * for it and then find the table, not fail on the catalog's unique index. */
static void test_concurrent_create_table(void **state)
{
    tk_instance *t = open_sink();
    cp_batch *b = fx_candles(FX_T0 - 400 * 86400000LL, 3); /* before every other test's candles */
    assert_int_equal(tk_write(t, b), CP_OK); /* <prefix>ohlcv: the template of the raced table */
    tk_destroy(t);
    char race[96], sql[512];
    snprintf(race, sizeof race, "%srace_", g_prefix);
    PGconn *c = db();
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %sohlcv", race);
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PQclear(PQexec(c, sql));
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        PGconn *o = PQconnectdb(conninfo());
        snprintf(sql, sizeof sql,
                 "BEGIN; SELECT pg_advisory_xact_lock(7165061455223025765); "
                 "CREATE TABLE %sohlcv (LIKE %sohlcv INCLUDING ALL)", race, g_prefix);
        PGresult *r = PQexec(o, sql);
        int ok = PQstatus(o) == CONNECTION_OK && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (write(ready[1], ok ? "y" : "n", 1) != 1)
            ok = 0;
        usleep(1500 * 1000); /* the sink starts its DDL meanwhile */
        r = PQexec(o, "COMMIT");
        ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        PQfinish(o);
        _exit(ok ? 0 : 1);
    }
    char got = 0;
    assert_int_equal(read(ready[0], &got, 1), 1);
    assert_int_equal(got, 'y');
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "conninfo = \"%s\"; table_prefix = \"%s\";", conninfo(), race);
    t = tk_create("postgresql", cfg);
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_OK);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %sohlcv", race);
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "3");
    PQclear(r);
    snprintf(sql, sizeof sql, "DROP TABLE %sohlcv", race);
    PQclear(PQexec(c, sql));
    PQfinish(c);
    close(ready[0]);
    close(ready[1]);
    tk_batch_free(b);
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
        cmocka_unit_test(test_many_rows_in_statements),
        cmocka_unit_test(test_upsert_across_statements),
        cmocka_unit_test(test_concurrent_create_table),
        cmocka_unit_test(test_table_without_key_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
