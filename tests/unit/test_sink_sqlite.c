/* Tests of the sqlite sink on real database files: rows, keys, upserts, WAL readers, schema evolution.
 * SPDX-License-Identifier: MIT
 */
#include "sink_fixtures.h"
#include "sqlite_read.h"

#include <coinpipe/buf.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_path[512];
static char g_sqlite_tmp[512]; /* SQLite's directory for temporary files (SQLITE_TMPDIR, set in main) */

static tk_instance *open_sink(const char *extra, const char *sub)
{
    if (sub) /* NULL: the same file as last time */
        snprintf(g_path, sizeof g_path, "%s/%s/coinpipe.db", tk_tmpdir(), sub);
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "path = \"%s\"; %s", g_path, extra ? extra : "");
    return tk_create("sqlite", cfg);
}

static sqlite3 *reader(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

static char *scalar_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *v = strdup(t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
    return v;
}

static void assert_text(sqlite3 *db, const char *sql, const char *want)
{
    char *got = scalar_text(db, sql);
    assert_string_equal(got, want);
    free(got);
}

static void test_rows_keys_and_upsert(void **state)
{
    tk_instance *t = open_sink(NULL, "nested/dirs"); /* parent directories are created */
    cp_batch *b = fx_candles(FX_T0, 3);
    assert_int_equal(tk_write(t, b), CP_OK);
    assert_int_equal(tk_write(t, b), CP_OK); /* re-delivery: no duplicates */
    sqlite3 *db = reader();
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 3);
    assert_text(db, "PRAGMA journal_mode", "wal");
    assert_int_equal(scalar_int(db, "PRAGMA page_size"), 65536); /* a new database's pages */
    assert_text(db, "SELECT group_concat(name) FROM pragma_table_info('ohlcv') WHERE pk > 0 ORDER BY pk",
                "exchange,symbol,interval,open_time");
    assert_int_equal(scalar_int(db, "SELECT open_time FROM ohlcv ORDER BY open_time LIMIT 1"), FX_T0);
    assert_int_equal(scalar_int(db, "SELECT quote_volume IS NULL FROM ohlcv LIMIT 1"), 1);
    assert_int_equal(scalar_int(db, "SELECT typeof(close) = 'real' FROM ohlcv LIMIT 1"), 1);

    /* the still-open candle comes again with a new close: the latest wins for ohlcv */
    cp_batch *moved = tk_batch_new(&cp_ohlcv_schema);
    fx_add_candle(moved, FX_T0 + 2 * 60000, "99999.25");
    assert_int_equal(tk_write(t, moved), CP_OK);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 3);
    assert_text(db, "SELECT close FROM ohlcv ORDER BY open_time DESC LIMIT 1", "99999.25");
    sqlite3_close(db);
    tk_batch_free(moved);
    tk_batch_free(b);
    tk_destroy(t);
}

/* Zero and NULL cells of every type stay apart (the sink reads a NULL as 0 or NaN first) */
static void test_zero_is_not_null(void **state)
{
    tk_instance *t = open_sink(NULL, "zero");
    const cp_host *h = tk_host();
    cp_batch *b = fx_candles(FX_T0, 2);
    h->batch_set_int(b, 0, CP_OHLCV_TRADE_COUNT, 0);
    h->batch_set_null(b, 1, CP_OHLCV_TRADE_COUNT);
    h->batch_set_decimal(b, 0, CP_OHLCV_QUOTE_VOLUME, "0", 1);
    h->batch_set_int(b, 0, CP_OHLCV_CLOSE_TIME, -1);
    assert_int_equal(tk_write(t, b), CP_OK);
    sqlite3 *db = reader();
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT quote(trade_count) || ',' || quote(quote_volume) || ',' || close_time FROM ohlcv "
             "WHERE open_time = %lld", (long long)FX_T0);
    assert_text(db, sql, "0,0.0,-1");
    snprintf(sql, sizeof sql, "SELECT quote(trade_count) || ',' || quote(quote_volume) FROM ohlcv WHERE open_time = %lld",
             (long long)FX_T0 + 60000);
    assert_text(db, sql, "NULL,NULL");
    sqlite3_close(db);
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_decimal_as_text_is_exact(void **state)
{
    tk_instance *t = open_sink("decimal_as = \"text\";", "text");
    cp_batch *b = fx_candles(FX_T0, 1);
    assert_int_equal(tk_write(t, b), CP_OK);
    sqlite3 *db = reader();
    assert_text(db, "SELECT volume FROM ohlcv", "12.345678901234567890123");
    assert_text(db, "SELECT taker_buy_quote_volume FROM ohlcv", "1e-8");
    assert_text(db, "SELECT typeof(volume) FROM ohlcv", "text");
    sqlite3_close(db);
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_reader_reads_while_writing(void **state)
{
    tk_instance *t = open_sink(NULL, "wal");
    cp_batch *b1 = fx_candles(FX_T0, 2), *b2 = fx_candles(FX_T0 + 3600000, 5);
    assert_int_equal(tk_write(t, b1), CP_OK);
    sqlite3 *db = reader();
    /* an open read transaction (a dashboard's long query) does not block the writer */
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 2);
    assert_int_equal(tk_write(t, b2), CP_OK);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 2); /* its snapshot */
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 7);

    /* another writer holding the lock past busy_timeout: the batch is retried, not lost */
    tk_destroy(t);
    t = open_sink("busy_timeout = \"100ms\";", NULL);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    cp_batch *b3 = fx_candles(FX_T0 + 7200000, 1);
    assert_int_equal(tk_write(t, b3), CP_RETRY);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(tk_write(t, b3), CP_OK);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 8);
    sqlite3_close(db);
    tk_batch_free(b1);
    tk_batch_free(b2);
    tk_batch_free(b3);
    tk_destroy(t);
}

static void test_schema_evolution_and_conflict(void **state)
{
    tk_instance *t = open_sink(NULL, "evo");
    cp_batch *b2 = fx_evo(2, "a"), *b4 = fx_evo(4, "b");
    assert_int_equal(tk_write(t, b2), CP_OK);
    assert_int_equal(tk_write(t, b4), CP_OK); /* qty and px are added */
    assert_int_equal(tk_write(t, b2), CP_OK); /* an older batch still fits */
    sqlite3 *db = reader();
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM evo"), 2);
    assert_int_equal(scalar_int(db, "SELECT qty FROM evo WHERE id = 'b'"), 7);
    assert_text(db, "SELECT note FROM evo WHERE id = 'a'", FX_NOTE);
    sqlite3_close(db);

    /* "note" turning into an integer is a permanent conflict, named clearly */
    static const cp_field bad_fields[] = {{"id", CP_T_STRING, CP_FIELD_KEY}, {"note", CP_T_INT64, 0}};
    cp_schema bad = {.stream = "evo", .nfields = 2, .fields = bad_fields};
    cp_batch *b = tk_batch_new(&bad);
    size_t r = tk_host()->batch_add_row(b);
    tk_host()->batch_set_string(b, r, 0, "c", 1);
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_REJECT);
    tk_assert_log_contains("column \\\"note\\\" is TEXT");
    tk_batch_free(b);
    tk_batch_free(b2);
    tk_batch_free(b4);
    tk_destroy(t);
}

static void test_without_rowid_and_batch_order(void **state)
{
    tk_instance *t = open_sink(NULL, "layout");
    /* rows out of key order and a key twice in one batch: the later delivery wins for ohlcv */
    cp_batch *b = tk_batch_new(&cp_ohlcv_schema);
    fx_add_candle(b, FX_T0 + 2 * 60000, "3.5");
    fx_add_candle(b, FX_T0, "1.1");
    fx_add_candle(b, FX_T0 + 60000, "2.5");
    fx_add_candle(b, FX_T0, "2.2");
    assert_int_equal(tk_write(t, b), CP_OK);
    assert_int_equal(tk_write(t, b), CP_OK); /* re-delivery */
    sqlite3 *db = reader();
    assert_int_equal(scalar_int(db, "SELECT sql LIKE '%WITHOUT ROWID' FROM sqlite_master WHERE name = 'ohlcv'"), 1);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"), 0);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 3);
    assert_text(db, "SELECT group_concat(close) FROM (SELECT close FROM ohlcv ORDER BY open_time)", "2.2,2.5,3.5");
    /* the batch reader lives in the writer's temp schema: nothing of it in the file */
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'coinpipe%'"), 0);

    /* streams without "latest wins" keep the first delivery, also inside one batch */
    static const cp_field f[] = {{"id", CP_T_STRING, CP_FIELD_KEY}, {"ts", CP_T_TIMESTAMP, CP_FIELD_KEY},
                                 {"v", CP_T_STRING, CP_FIELD_NULLABLE}};
    cp_schema first = {.stream = "first_wins", .nfields = 3, .fields = f};
    cp_batch *fb = tk_batch_new(&first);
    const cp_host *h = tk_host();
    for (int i = 0; i < 3; i++) {
        size_t r = h->batch_add_row(fb);
        h->batch_set_string(fb, r, 0, "a", 1);
        h->batch_set_int(fb, r, 1, i == 2 ? 1 : 5);
        h->batch_set_string(fb, r, 2, i == 0 ? "x" : i == 1 ? "y" : "z", 1);
    }
    assert_int_equal(tk_write(t, fb), CP_OK);
    assert_text(db, "SELECT group_concat(v) FROM (SELECT v FROM first_wins ORDER BY ts)", "z,x");
    sqlite3_close(db);
    tk_batch_free(fb);
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_old_rowid_table_still_written(void **state)
{
    /* a table of the same stream made beforehand as a rowid table with a separate key index */
    char dir[400];
    snprintf(dir, sizeof dir, "%.380s/rowid", tk_tmpdir());
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(g_path, sizeof g_path, "%s/coinpipe.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(g_path, &db), SQLITE_OK);
    static const char old_ddl[] =
        "CREATE TABLE ohlcv (exchange TEXT NOT NULL, symbol TEXT NOT NULL, native_symbol TEXT, "
        "interval TEXT NOT NULL, open_time INTEGER NOT NULL, close_time INTEGER, open REAL, high REAL, low REAL, "
        "close REAL, volume REAL, quote_volume REAL, trade_count INTEGER, taker_buy_base_volume REAL, "
        "taker_buy_quote_volume REAL, received_at INTEGER, PRIMARY KEY (exchange, symbol, interval, open_time))";
    assert_int_equal(sqlite3_exec(db, old_ddl, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    tk_instance *t = open_sink(NULL, NULL);
    cp_batch *b = fx_candles(FX_T0, 3), *moved = tk_batch_new(&cp_ohlcv_schema);
    fx_add_candle(moved, FX_T0 + 60000, "7.25");
    assert_int_equal(tk_write(t, b), CP_OK);
    assert_int_equal(tk_write(t, b), CP_OK);
    assert_int_equal(tk_write(t, moved), CP_OK);
    db = reader();
    assert_int_equal(scalar_int(db, "SELECT sql LIKE '%WITHOUT ROWID' FROM sqlite_master WHERE name = 'ohlcv'"), 0);
    assert_int_equal(scalar_int(db, "PRAGMA page_size"), 4096); /* an existing database keeps its pages */
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 3);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT close FROM ohlcv WHERE open_time = %lld", (long long)FX_T0 + 60000);
    assert_text(db, sql, "7.25");
    sqlite3_close(db);
    tk_batch_free(b);
    tk_batch_free(moved);
    tk_destroy(t);
}

static void test_failed_batch_leaves_nothing(void **state)
{
    tk_instance *t = open_sink(NULL, "failed");
    /* the first batch of a stream fails on its third row: nothing of it stays, not even the
     * table, and the next batch creates it again */
    cp_batch *b = fx_candles(FX_T0, 3);
    tk_host()->batch_set_null(b, 2, CP_OHLCV_SYMBOL);
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_REJECT);
    tk_assert_log_contains("(row 3 of 3)");
    tk_assert_log_contains("NOT NULL constraint failed");
    sqlite3 *db = reader();
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'ohlcv'"), 0);
    cp_batch *good = fx_candles(FX_T0, 2);
    assert_int_equal(tk_write(t, good), CP_OK);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 2);
    /* and on an existing table */
    assert_int_equal(tk_write(t, b), CP_REJECT);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 2);
    sqlite3_close(db);
    tk_batch_free(b);
    tk_batch_free(good);
    tk_destroy(t);
}

/* Every row of `table` as text, in key order: typeof and value of each column (quote()), rows
 * apart by newlines. The caller frees it. */
static char *dump(const char *table)
{
    sqlite3 *db = reader();
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    cp_buf out = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            static const char *const types[] = {"?", "int", "real", "text", "blob", "null"};
            const unsigned char *v = sqlite3_column_text(st, i); /* after the type: it may convert */
            cp_buf_printf(&out, "%s%s:", i ? "," : "", types[sqlite3_column_type(st, i)]);
            cp_buf_puts(&out, v ? (const char *)v : "NULL");
        }
        cp_buf_putc(&out, '\n');
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_non_null(out.p);
    return out.p;
}

/* Cells read in place (cp_batch_column, a core of ABI 2.1) and one host call at a time (a core
 * without it: the table the sink gets says so) store the same values and types, NULLs and zeros
 * of every type, decimals as REAL and as TEXT. */
static void test_cells_in_place_and_asked_agree(void **state)
{
    static const cp_field f[] = {{"id", CP_T_STRING, CP_FIELD_KEY},     {"n", CP_T_INT64, CP_FIELD_NULLABLE},
                                 {"ts", CP_T_TIMESTAMP, CP_FIELD_NULLABLE}, {"ok", CP_T_BOOL, CP_FIELD_NULLABLE},
                                 {"x", CP_T_DOUBLE, CP_FIELD_NULLABLE},     {"px", CP_T_DECIMAL, CP_FIELD_NULLABLE},
                                 {"note", CP_T_STRING, CP_FIELD_NULLABLE}};
    cp_schema every = {.stream = "every", .nfields = CP_COUNTOF(f), .fields = f};
    const cp_host *h = tk_host();
    cp_batch *b = tk_batch_new(&every);
    for (size_t r = 0; r < 12; r++) {
        char id[16];
        int n = snprintf(id, sizeof id, "k%02zu", r);
        h->batch_add_row(b);
        h->batch_set_string(b, r, 0, id, (size_t)n);
        if (r % 4 == 3)
            continue; /* a row of NULLs */
        bool zero = r % 4 == 0;
        h->batch_set_int(b, r, 1, zero ? 0 : -(int64_t)r);
        h->batch_set_int(b, r, 2, zero ? 0 : FX_T0 + (int64_t)r);
        h->batch_set_bool(b, r, 3, !zero);
        h->batch_set_double(b, r, 4, zero ? 0.0 : r * -0.5);
        h->batch_set_decimal(b, r, 5, zero ? "0" : "0.00012300", zero ? 1 : 10);
        h->batch_set_string(b, r, 6, zero ? "" : FX_NOTE, zero ? 0 : strlen(FX_NOTE));
    }
    cp_host old = *h;
    old.size = offsetof(cp_host, batch_column); /* a core before ABI 2.1 */
    const char *const modes[] = {"", "decimal_as = \"text\";"};
    for (int m = 0; m < 2; m++) {
        char *got[2];
        for (int k = 0; k < 2; k++) {
            char sub[32];
            snprintf(sub, sizeof sub, "agree-%d-%d", m, k);
            tk_instance *t = open_sink(modes[m], sub);
            if (k)
                tk_ctx(t)->host = &old;
            cp_batch *candles = fx_candles(FX_T0, 3);
            assert_int_equal(tk_write(t, b), CP_OK);
            assert_int_equal(tk_write(t, candles), CP_OK);
            tk_batch_free(candles);
            tk_destroy(t);
            cp_buf both = {0};
            char *e = dump("every"), *o = dump("ohlcv");
            cp_buf_printf(&both, "%s%s", e, o);
            free(e);
            free(o);
            got[k] = both.p;
        }
        assert_string_equal(got[0], got[1]);
        /* and what they agree on is right */
        assert_non_null(strstr(got[0], "text:k00,int:0,int:0,int:0,real:0.0,"));
        assert_non_null(strstr(got[0], "text:k03,null:NULL,null:NULL,null:NULL,null:NULL,null:NULL,null:NULL\n"));
        assert_non_null(strstr(got[0], m ? "text:k01,int:-1,int:1795258544124,int:1,real:-0.5,text:0.00012300,text:a, \"quoted\"\nnote\n"
                                         : "text:k01,int:-1,int:1795258544124,int:1,real:-0.5,real:0.000123,text:a, \"quoted\"\nnote\n"));
        free(got[0]);
        free(got[1]);
    }
    tk_batch_free(b);
}

/* 700 rows of `runs` (below) with keys ("k", seq0 + row): ex is the same everywhere (each row's
 * copy of its own, so equal texts are compared by their bytes), sym changes
 * every 100 rows and is NULL on rows 300-399, grp every 150 and is NULL from row 600, px and n on
 * every row; row `null_id`'s key is NULL (none when it is 700 or more). */
static cp_batch *runs_batch(int64_t seq0, size_t null_id)
{
    static const cp_field f[] = {{"id", CP_T_STRING, CP_FIELD_KEY},       {"seq", CP_T_INT64, CP_FIELD_KEY},
                                 {"ex", CP_T_STRING, 0},                  {"sym", CP_T_STRING, CP_FIELD_NULLABLE},
                                 {"grp", CP_T_INT64, CP_FIELD_NULLABLE},  {"px", CP_T_DECIMAL, CP_FIELD_NULLABLE},
                                 {"n", CP_T_INT64, CP_FIELD_NULLABLE}};
    static const cp_schema runs = {.stream = "runs", .nfields = CP_COUNTOF(f), .fields = f};
    const cp_host *h = tk_host();
    cp_batch *b = tk_batch_new(&runs);
    for (size_t r = 0; r < 700; r++) {
        char sym[16], px[32];
        h->batch_add_row(b);
        if (r != null_id)
            h->batch_set_string(b, r, 0, "k", 1);
        h->batch_set_int(b, r, 1, seq0 + (int64_t)r);
        if (r / 100 != 3)
            h->batch_set_string(b, r, 3, sym, (size_t)snprintf(sym, sizeof sym, "S%zu", r / 100));
        if (r < 600)
            h->batch_set_int(b, r, 4, (int64_t)(r / 150));
        h->batch_set_decimal(b, r, 5, px, (size_t)snprintf(px, sizeof px, "%zu.25", r));
        h->batch_set_int(b, r, 6, (int64_t)r * 7);
    }
    for (size_t r = 700; r-- > 0;) /* bottom up: no row shares its text with the row above */
        h->batch_set_string(b, r, 2, "binance", 7);
    return b;
}

/* Columns that keep their value over runs of rows are bound once per run (one execution of the
 * INSERT each) instead of being read cell by cell: the rows stored are those of the cell-by-cell
 * reading of an older core, NULL runs and their edges included, and a run that fails takes the
 * runs before it back with it (one transaction per batch). */
static void test_runs_bind_repeated_columns(void **state)
{
    cp_host old = *tk_host();
    old.size = offsetof(cp_host, batch_column); /* a core before ABI 2.1: no runs */
    cp_batch *b = runs_batch(0, 700);
    char *got[2];
    for (int k = 1; k >= 0; k--) {
        tk_instance *t = open_sink(NULL, k ? "runs-asked" : "runs");
        if (k)
            tk_ctx(t)->host = &old;
        tk_log_clear();
        assert_int_equal(tk_write(t, b), CP_OK);
        if (!k)
            tk_assert_log_contains("\\\"id\\\", \\\"ex\\\", \\\"sym\\\", \\\"grp\\\" bound once per run of rows");
        else
            assert_null(strstr(tk_log(), "bound once per run"));
        tk_destroy(t);
        got[k] = dump("runs");
    }
    assert_string_equal(got[0], got[1]);
    free(got[0]);
    free(got[1]);
    sqlite3 *db = reader(); /* the in-place one: "runs" */
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM runs"), 700);
    assert_text(db, "SELECT group_concat(coalesce(sym, '-') || ':' || coalesce(grp, '-') || ':' || n, ' ') FROM runs "
                    "WHERE seq IN (0, 99, 100, 149, 150, 299, 300, 399, 400, 599, 600, 699)",
                "S0:0:0 S0:0:693 S1:0:700 S1:0:1043 S1:1:1050 S2:1:2093 -:2:2100 -:2:2793 S4:2:2800 S5:3:4193 "
                "S6:-:4200 S6:-:4893");
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM runs WHERE ex = 'binance' AND id = 'k'"), 700);

    /* a NULL key in the eighth run: nothing of the batch stays, not the seven runs before it */
    tk_instance *t = open_sink(NULL, NULL);
    cp_batch *bad = runs_batch(1000, 650);
    tk_log_clear();
    assert_int_equal(tk_write(t, bad), CP_REJECT);
    tk_assert_log_contains("(row 651 of 700)");
    tk_assert_log_contains("NOT NULL constraint failed");
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM runs"), 700);
    cp_batch *more = runs_batch(1000, 700); /* and the connection writes on */
    assert_int_equal(tk_write(t, more), CP_OK);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM runs"), 1400);
    sqlite3_close(db);
    tk_destroy(t);
    tk_batch_free(more);
    tk_batch_free(bad);
    tk_batch_free(b);
}

/* Size of a file, 0 when it is not there. */
static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* The WAL is checkpointed while the sink writes, beside it, not only when it closes: the
 * database file takes the rows' pages with the sink still open, readers see every row all
 * along, and the close leaves no WAL behind. */
static void test_checkpoints_while_writing(void **state)
{
    tk_instance *t = open_sink(NULL, "checkpoint");
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", g_path);
    sqlite3 *db = reader();
    int64_t rows = 0;
    for (int i = 0; i < 48; i++) { /* about 300 KB of pages a batch, 14 MB in all: past 8 MiB */
        cp_batch *b = fx_candles(FX_T0 + (int64_t)i * 2000 * 60000, 2000);
        assert_int_equal(tk_write(t, b), CP_OK);
        tk_batch_free(b);
        rows += 2000;
        assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), rows);
    }
    /* the checkpoints run on their own thread: give the last one time to finish */
    for (int i = 0; i < 500 && file_size(g_path) < 8000000; i++)
        usleep(10000);
    assert_true(file_size(g_path) >= 8000000); /* without them: 64 KiB until the close */
    sqlite3_close(db);
    tk_destroy(t);
    assert_int_equal(file_size(wal), 0);
    db = reader();
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), rows);
    assert_text(db, "PRAGMA integrity_check", "ok");
    sqlite3_close(db);
}

/* read back (ABI 2.0) */
typedef struct got {
    size_t n;
    int64_t first, last;
    char close[8][32], low[32], tbq[32];
} got;

static bool collect(void *user, const cp_batch *b)
{
    got *g = user;
    for (size_t r = 0; r < tk_host()->batch_rows(b); r++, g->n++) {
        int64_t t = tk_int(b, r, "open_time");
        if (!g->n)
            g->first = t;
        g->last = t;
        if (g->n < 8)
            snprintf(g->close[g->n], sizeof g->close[0], "%s", tk_text(b, r, "close"));
        snprintf(g->low, sizeof g->low, "%s", tk_is_null(b, r, "low") ? "NULL" : tk_text(b, r, "low"));
        snprintf(g->tbq, sizeof g->tbq, "%s", tk_text(b, r, "taker_buy_quote_volume"));
    }
    return true;
}

static void test_read_back(void **state)
{
    tk_instance *w = open_sink(NULL, "read");
    cp_batch *b = fx_candles(FX_T0, 3000); /* closes 100.5 .. 3099.5 */
    assert_int_equal(tk_write(w, b), CP_OK);
    tk_batch_free(b);
    b = tk_batch_new(&cp_ohlcv_schema);
    fx_add_candle(b, FX_T0 + 3000 * 60000, "0.000000012345"); /* a tiny price in a REAL column */
    assert_int_equal(tk_write(w, b), CP_OK);
    tk_batch_free(b);
    tk_instance *t = open_sink(NULL, NULL); /* the dashboard's own instance */
    const cp_plugin *d = tk_plugin(t);
    assert_non_null(d->read_range);
    assert_non_null(d->read_latest);
    const char *series[] = {"exchange", "symbol", "interval"}, *values[] = {"binance", "BTC-USDT", "1m"};
    cp_read_query q = {.size = sizeof q, .schema = &cp_ohlcv_schema, .nseries = 3, .series = series,
                       .values = values, .time_column = "open_time", .from_ms = INT64_MIN, .to_ms = INT64_MAX};
    got g = {0};
    assert_int_equal(d->read_range(tk_instance_data(t), tk_ctx(t), &q, collect, &g), CP_OK);
    assert_int_equal(g.n, 3001); /* batches of 1024 and the rest */
    assert_int_equal(g.first, FX_T0);
    assert_string_equal(g.close[0], "100.5");
    assert_string_equal(g.low, "91234.56");   /* REAL decimals: the shortest text that reads back */
    assert_string_equal(g.tbq, "0.00000001");
    /* the newest `limit`, ascending; a window [from, to) */
    q.limit = 5;
    g = (got){0};
    assert_int_equal(d->read_range(tk_instance_data(t), tk_ctx(t), &q, collect, &g), CP_OK);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.first, FX_T0 + 2996 * 60000);
    assert_int_equal(g.last, FX_T0 + 3000 * 60000);
    assert_string_equal(g.close[4], "0.000000012345");
    q.limit = 0;
    q.from_ms = FX_T0 + 60000;
    q.to_ms = FX_T0 + 3 * 60000;
    g = (got){0};
    assert_int_equal(d->read_range(tk_instance_data(t), tk_ctx(t), &q, collect, &g), CP_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.close[0], "101.5");
    values[2] = "1h"; /* no such series */
    g = (got){0};
    assert_int_equal(d->read_range(tk_instance_data(t), tk_ctx(t), &q, collect, &g), CP_OK);
    assert_int_equal(g.n, 0);
    /* the newest row per series */
    g = (got){0};
    assert_int_equal(d->read_latest(tk_instance_data(t), tk_ctx(t), &q, collect, &g), CP_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.first, FX_T0 + 3000 * 60000);
    /* a stream with no table: no call; the reading connection stays read-only */
    cp_read_query none = q;
    none.schema = &cp_ticker_schema;
    none.nseries = 2;
    none.time_column = "ts";
    g = (got){0};
    assert_int_equal(d->read_latest(tk_instance_data(t), tk_ctx(t), &none, collect, &g), CP_OK);
    assert_int_equal(g.n, 0);
    b = fx_candles(FX_T0 + 5000 * 60000, 1);
    assert_int_not_equal(tk_write(t, b), CP_OK);
    tk_batch_free(b);
    sqlite3 *db = reader();
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 3001);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'ticker'"), 0);
    sqlite3_close(db);
    tk_destroy(t);
    tk_destroy(w);
}

/* REAL decimals read back as the shortest text that reads back as the stored double: the
 * fast path (at most 8 decimals below 10^7) and the general one agree with printf's digits */
static void test_read_back_real_texts(void **state)
{
    static const char *const closes[] = {"105",        "-0.5",           "9999999.99999999", "0.1",
                                         "12345678.9", "0.000000001234", "123456789012",     "42153.12",
                                         "-7.25",      "1000000",        "0.00000001",       "3e-12"};
    static const char *const want[] = {"105",        "-0.5",           "9999999.99999999", "0.1",
                                       "12345678.9", "0.000000001234", "123456789012",     "42153.12",
                                       "-7.25",      "1000000",        "0.00000001",       "0.000000000003"};
    size_t n = sizeof closes / sizeof closes[0];
    tk_instance *w = open_sink(NULL, "texts");
    cp_batch *b = tk_batch_new(&cp_ohlcv_schema);
    for (size_t i = 0; i < n; i++)
        fx_add_candle(b, FX_T0 + (int64_t)i * 60000, closes[i]);
    assert_int_equal(tk_write(w, b), CP_OK);
    tk_batch_free(b);
    tk_instance *t = open_sink(NULL, NULL);
    const char *series[] = {"exchange", "symbol", "interval"}, *values[] = {"binance", "BTC-USDT", "1m"};
    cp_read_query q = {.size = sizeof q, .schema = &cp_ohlcv_schema, .nseries = 3, .series = series,
                       .values = values, .time_column = "open_time", .from_ms = FX_T0, .to_ms = FX_T0 + 8 * 60000};
    got g = {0};
    assert_int_equal(tk_plugin(t)->read_range(tk_instance_data(t), tk_ctx(t), &q, collect, &g), CP_OK);
    assert_int_equal(g.n, 8);
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(g.close[i], want[i]);
    q.from_ms = FX_T0 + 8 * 60000, q.to_ms = INT64_MAX;
    g = (got){0};
    assert_int_equal(tk_plugin(t)->read_range(tk_instance_data(t), tk_ctx(t), &q, collect, &g), CP_OK);
    assert_int_equal(g.n, n - 8);
    for (size_t i = 8; i < n; i++)
        assert_string_equal(g.close[i - 8], want[i]);
    tk_destroy(t);
    tk_destroy(w);
}

/* The writer keeps its temp schema (the virtual tables) and its statement journals in memory: the
 * first batch of a stream runs DDL statements inside its transaction, and with 64 KiB pages each
 * of their statement journals passed SQLite's 64 KiB spill threshold and became a new file in
 * the temp directory (eight files in an N = 200 cycle). An instance that only reads keeps the
 * default. */
static void test_no_temp_files(void **state)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(fd >= 0);
    assert_true(inotify_add_watch(fd, g_sqlite_tmp, IN_CREATE) >= 0);
    tk_instance *t = open_sink(NULL, "tempfiles");
    cp_batch *c = fx_candles(FX_T0, 3000), *e2 = fx_evo(2, "a"), *e4 = fx_evo(4, "b");
    assert_int_equal(tk_write(t, c), CP_OK);  /* CREATE TABLE, its view, the virtual table */
    assert_int_equal(tk_write(t, e2), CP_OK); /* a second stream */
    assert_int_equal(tk_write(t, e4), CP_OK); /* ALTER TABLE ADD COLUMN twice, the view again */
    char ev[4096];
    assert_int_equal(read(fd, ev, sizeof ev), -1); /* nothing was created there */
    assert_int_equal(errno, EAGAIN);
    sqlite3 *db = reader();
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM ohlcv"), 3000);
    assert_int_equal(scalar_int(db, "SELECT count(*) FROM evo WHERE qty = 7"), 1);
    assert_int_equal(scalar_int(db, "PRAGMA page_size"), 65536);
    sqlite3_close(db);
    close(fd);
    tk_batch_free(c);
    tk_batch_free(e2);
    tk_batch_free(e4);
    tk_destroy(t);
}

int main(void)
{
    /* before SQLite reads it (at its initialisation, the process's first SQLite call) */
    snprintf(g_sqlite_tmp, sizeof g_sqlite_tmp, "%s", tk_tmpdir());
    setenv("SQLITE_TMPDIR", g_sqlite_tmp, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_keys_and_upsert),
        cmocka_unit_test(test_zero_is_not_null),
        cmocka_unit_test(test_decimal_as_text_is_exact),
        cmocka_unit_test(test_reader_reads_while_writing),
        cmocka_unit_test(test_schema_evolution_and_conflict),
        cmocka_unit_test(test_without_rowid_and_batch_order),
        cmocka_unit_test(test_old_rowid_table_still_written),
        cmocka_unit_test(test_failed_batch_leaves_nothing),
        cmocka_unit_test(test_cells_in_place_and_asked_agree),
        cmocka_unit_test(test_runs_bind_repeated_columns),
        cmocka_unit_test(test_checkpoints_while_writing),
        cmocka_unit_test(test_read_back),
        cmocka_unit_test(test_read_back_real_texts),
        cmocka_unit_test(test_no_temp_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
