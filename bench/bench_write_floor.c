/* Write floor: the rows of one database inserted into a fresh one by a minimal SQLite program.
 * SPDX-License-Identifier: MIT
 *
 * Usage: bench_write_floor FROM.db TO.db [ROWS_PER_TRANSACTION]
 * Reads every table of FROM (the database a benchmark cycle wrote) into memory, creates the same
 * tables in a new TO with coinpipe's settings (FROM's page size, WAL, synchronous = NORMAL), then times the least
 * any collector writing these rows to SQLite does: one transaction, per table one prepared
 * INSERT of positional parameters, per row the binds, one step and a reset, then COMMIT and the
 * close (which checkpoints the WAL into the database, as coinpipe's exit does). Rows go in FROM's
 * key order (the B-tree's most favourable order). Only that part is timed; prints
 * "rows N wall W cpu C txns T" (seconds; cpu is user+sys of this process meanwhile). Not run by ctest.
 * ROWS_PER_TRANSACTION (the streaming benchmark's micro-batches: 10000) commits every that many
 * rows instead of once, each transaction taking every table's share of them in turn (a stream's
 * micro-batch holds rows of each of its tables), so the commits' cost is counted as a stream pays it.
 */
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct table {
    char *name, *sql;
    int ncols;
    size_t nrows;
    sqlite3_value **cells; /* nrows * ncols */
} table;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench_write_floor: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    exit(1);
}

static void load(sqlite3 *db, table *t)
{
    char *q = sqlite3_mprintf("SELECT * FROM \"%w\"", t->name);
    sqlite3_stmt *st = NULL;
    if (!q || sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
        die(db, t->name);
    sqlite3_free(q);
    t->ncols = sqlite3_column_count(st);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (t->nrows == cap) {
            cap = cap ? cap * 2 : 1024;
            t->cells = realloc(t->cells, cap * (size_t)t->ncols * sizeof *t->cells);
            if (!t->cells)
                die(NULL, "load");
        }
        for (int c = 0; c < t->ncols; c++)
            if (!(t->cells[t->nrows * (size_t)t->ncols + (size_t)c] = sqlite3_value_dup(sqlite3_column_value(st, c))))
                die(NULL, "load");
        t->nrows++;
    }
    sqlite3_finalize(st);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: bench_write_floor FROM.db TO.db [ROWS_PER_TRANSACTION]\n");
        return 2;
    }
    long per_txn = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    sqlite3 *src = NULL, *dst = NULL;
    if (sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(src, argv[1]);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(src, "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                "ORDER BY name", -1, &st, NULL) != SQLITE_OK)
        die(src, "sqlite_master");
    table *tabs = NULL;
    size_t ntabs = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        tabs = realloc(tabs, (ntabs + 1) * sizeof *tabs);
        if (!tabs)
            die(NULL, "tables");
        tabs[ntabs] = (table){strdup((const char *)sqlite3_column_text(st, 0)),
                              strdup((const char *)sqlite3_column_text(st, 1)), 0, 0, NULL};
        ntabs++;
    }
    sqlite3_finalize(st);
    int page_size = 4096;
    if (sqlite3_prepare_v2(src, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        page_size = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    for (size_t i = 0; i < ntabs; i++)
        load(src, &tabs[i]);
    sqlite3_close(src);

    remove(argv[2]);
    if (sqlite3_open(argv[2], &dst) != SQLITE_OK)
        die(dst, argv[2]);
    char pragmas[128];
    snprintf(pragmas, sizeof pragmas, "PRAGMA page_size = %d; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL",
             page_size);
    if (sqlite3_exec(dst, pragmas, NULL, NULL, NULL) != SQLITE_OK)
        die(dst, "pragmas");
    sqlite3_stmt **ins = calloc(ntabs ? ntabs : 1, sizeof *ins);
    for (size_t i = 0; i < ntabs; i++) {
        if (sqlite3_exec(dst, tabs[i].sql, NULL, NULL, NULL) != SQLITE_OK)
            die(dst, tabs[i].sql);
        char *q = sqlite3_mprintf("INSERT INTO \"%w\" VALUES (?", tabs[i].name);
        for (int c = 1; c < tabs[i].ncols; c++)
            q = sqlite3_mprintf("%z, ?", q);
        q = sqlite3_mprintf("%z)", q);
        if (!q || sqlite3_prepare_v2(dst, q, -1, &ins[i], NULL) != SQLITE_OK)
            die(dst, q ? q : "insert");
        sqlite3_free(q);
    }

    size_t total = 0, rows = 0, txns = 0;
    for (size_t i = 0; i < ntabs; i++)
        total += tabs[i].nrows;
    size_t *done = calloc(ntabs ? ntabs : 1, sizeof *done);
    if (!done)
        die(NULL, "rows");
    double w0 = now_s(), c0 = cpu_s();
    while (rows < total) {
        if (sqlite3_exec(dst, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            die(dst, "BEGIN");
        for (size_t i = 0; i < ntabs; i++) {
            const table *t = &tabs[i];
            size_t end = t->nrows; /* this table's share of the transaction */
            if (per_txn > 0 && total > (size_t)per_txn)
                end = done[i] + (t->nrows * (size_t)per_txn + total - 1) / total;
            if (end > t->nrows)
                end = t->nrows;
            for (size_t r = done[i]; r < end; r++) {
                for (int c = 0; c < t->ncols; c++)
                    sqlite3_bind_value(ins[i], c + 1, t->cells[r * (size_t)t->ncols + (size_t)c]);
                if (sqlite3_step(ins[i]) != SQLITE_DONE)
                    die(dst, t->name);
                sqlite3_reset(ins[i]);
            }
            rows += end - done[i];
            done[i] = end;
        }
        if (sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            die(dst, "COMMIT");
        txns++;
    }
    free(done);
    for (size_t i = 0; i < ntabs; i++)
        sqlite3_finalize(ins[i]);
    if (sqlite3_close(dst) != SQLITE_OK) /* the WAL checkpointed into the database, as any writer's exit does */
        die(dst, "close");
    double wall = now_s() - w0, cpu = cpu_s() - c0;

    for (size_t i = 0; i < ntabs; i++) {
        for (size_t k = 0; k < tabs[i].nrows * (size_t)tabs[i].ncols; k++)
            sqlite3_value_free(tabs[i].cells[k]);
        free(tabs[i].cells);
        free(tabs[i].name);
        free(tabs[i].sql);
    }
    free(tabs);
    free(ins);
    printf("rows %zu wall %.6f cpu %.6f txns %zu\n", rows, wall, cpu, txns);
    return 0;
}
