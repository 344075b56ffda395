/* Sink "sqlite": writes every stream into a table of one SQLite database file (`path`).
 * SPDX-License-Identifier: MIT
 *
 * One table per stream, created from the batch schema as a WITHOUT ROWID table whose PRIMARY
 * KEY is the stream's key columns (one B-tree, one insert per row); a table that already exists
 * is used as it is (a rowid table made by hand or by another tool keeps working), and a column
 * that appears in a later batch is added with ALTER TABLE ADD COLUMN. Each batch is one
 * transaction of a prepared INSERT ... SELECT ... ON CONFLICT DO NOTHING (DO UPDATE for ohlcv and
 * indicator, whose still-moving rows are re-delivered with newer values) that reads the batch
 * through a virtual table (module "coinpipe_batch", in the connection's temp schema only): rows
 * in key order append without a search from the B-tree's root each. Columns that keep one value
 * over runs of rows (exchange, symbol, interval...) are bound as parameters, one execution per
 * run, instead of being read cell by cell (see plan_runs).
 * Times are stored as INTEGER UTC milliseconds, decimals as REAL (or their exact TEXT with
 * decimal_as = "text"). WAL by default so readers (sqlite3 shell, dashboards) read while it writes;
 * a thread of the sink's own checkpoints the WAL beside the writer once a commit leaves 8 MiB in
 * it (checkpoints_apart). A database the sink creates has 64 KiB pages.
 */
#include <coinpipe/schema.h>
#include <coinpipe/sql.h>

#include <coinpipe/coinpipe.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sq_config {
    char *path;
    char *journal_mode;
    char *synchronous;
    int64_t busy_timeout;
    char *decimal_as;
} sq_config;

static const char *const journal_modes[] = {"wal", "delete", "truncate", "persist", "memory", "off", NULL};
static const char *const sync_modes[] = {"off", "normal", "full", "extra", NULL};
static const char *const decimal_modes[] = {"real", "text", NULL};

static const cp_option sq_options[] = {
    {.name = "path", .type = CP_OPT_STRING, .def = "\"data/coinpipe.db\"", .offset = offsetof(sq_config, path),
     .doc = "Database file; its parent directory is created when missing."},
    {.name = "journal_mode", .type = CP_OPT_ENUM, .def = "\"wal\"", .offset = offsetof(sq_config, journal_mode),
     .choices = journal_modes,
     .doc = "SQLite journal mode; wal lets readers read while coinpipe writes."},
    {.name = "synchronous", .type = CP_OPT_ENUM, .def = "\"normal\"", .offset = offsetof(sq_config, synchronous),
     .choices = sync_modes,
     .doc = "SQLite synchronous setting (normal is durable across crashes of coinpipe in WAL mode)."},
    {.name = "busy_timeout", .type = CP_OPT_DURATION, .def = "\"5s\"", .max = 3600000,
     .offset = offsetof(sq_config, busy_timeout),
     .doc = "How long a write waits for another connection's lock before the batch is retried."},
    {.name = "decimal_as", .type = CP_OPT_ENUM, .def = "\"real\"", .offset = offsetof(sq_config, decimal_as),
     .choices = decimal_modes,
     .doc = "Store decimals as REAL (easy to compute with) or as their exact TEXT."},
    CP_OPTION_END,
};

/* how a column's cells go to SQLite */
typedef enum sq_as { SQ_INT, SQ_REAL, SQ_TEXT } sq_as;

/* a column of the batch being written, read in place (cp_batch_column) */
typedef struct sq_col {
    cp_column v;
    sq_as as;
} sq_col;

/* Statements kept per table: the INSERT reading every column from the batch, and variants binding
 * some columns as parameters (see plan_runs). */
#define SQ_VARIANTS 4

/* an INSERT of a table: columns whose bit is set in `bound` are parameters (?<column + 1>) */
typedef struct sq_insert {
    uint64_t bound;
    sqlite3_stmt *stmt;
} sq_insert;

/* a stream's table and the INSERTs prepared for the schema last seen on it; ins[0] binds nothing */
typedef struct sq_table {
    char *stream;
    cp_schema *schema; /* copy of the schema the statements were prepared for */
    sq_insert ins[SQ_VARIANTS];
    unsigned evict; /* the variant replaced next when all are taken */
} sq_table;

/* the thread that checkpoints the WAL beside the writer (see checkpoints_apart) */
typedef struct sq_ckpt {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool running, want, stop, alone; /* alone: no thread (it could not start): the writer checkpoints */
    const char *path, *synchronous;
    int frames; /* a commit that leaves this many frames in the WAL asks for a checkpoint */
} sq_ckpt;

typedef struct sq {
    const sq_config *cfg;
    sqlite3 *db;
    sq_ckpt *ck; /* a file database in WAL mode */
    bool decimal_text;
    size_t ntables;
    sq_table *tables;
    /* the batch being written, read by the virtual table during sq_write only */
    cp_ctx *ctx;
    const cp_batch *batch;
    const cp_schema *schema;
    size_t rows;
    size_t begin, end; /* the rows the virtual table shows: the run being inserted */
    size_t at;         /* the row the virtual table is on (error messages) */
    sq_col *cols;  /* with a core of ABI 2.1 or later: the batch's columns, schema->nfields of them */
    size_t ncols;  /* allocated */
    bool in_place; /* cols hold the batch's columns (else each cell is asked for: an older core) */
    size_t *cuts;  /* the first row of each run, then `rows` (plan_runs) */
    size_t ncuts;  /* allocated */
    sqlite3_stmt *do_begin, *do_commit; /* BEGIN IMMEDIATE and COMMIT of sq_write, prepared on first use */
    bool temp_memory;             /* temp_store = MEMORY set (the writer's first table) */
} sq;

/* ---- the batch being written, read by SQLite as a virtual table ------------------------
 *
 * One INSERT ... SELECT ... FROM temp."coinpipe_batch_<n>" per batch instead of one
 * statement execution per row: the table's B-tree cursor stays open across the batch, so
 * rows in key order append without a descent from the root each, and binding, resetting
 * and halting a statement per row disappear. Cells are handed to SQLite in xColumn with the
 * same types the binds had (text as SQLITE_STATIC: the batch outlives the statement), read in
 * place from views of the batch's columns (cp_batch_column: no host call per cell, and 1.6
 * million cells make a poll cycle of 200 symbols). */

typedef struct sq_vtab {
    sqlite3_vtab base;
    sq *s;
} sq_vtab;

typedef struct sq_cursor {
    sqlite3_vtab_cursor base;
    size_t row;
} sq_cursor;

/* xCreate and xConnect: argv[3] is the column count; the columns are c0, c1, ... */
static int vt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
    long n = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    if (n < 1 || n > 2000) {
        *err = sqlite3_mprintf("coinpipe_batch: expected a column count");
        return SQLITE_ERROR;
    }
    cp_buf decl = {0};
    cp_buf_puts(&decl, "CREATE TABLE x(");
    for (long i = 0; i < n; i++)
        cp_buf_printf(&decl, i ? ", c%ld" : "c%ld", i);
    cp_buf_putc(&decl, ')');
    int rc = decl.oom ? SQLITE_NOMEM : sqlite3_declare_vtab(db, decl.p);
    cp_buf_free(&decl);
    if (rc != SQLITE_OK)
        return rc;
#ifdef SQLITE_VTAB_DIRECTONLY
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY); /* not from triggers or views */
#endif
    sq_vtab *v = sqlite3_malloc(sizeof *v);
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    v->s = aux;
    *out = &v->base;
    return SQLITE_OK;
}

static int vt_create(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
    return vt_connect(db, aux, argc, argv, out, err);
}

static int vt_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

static int vt_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    info->estimatedCost = 1000;
    info->estimatedRows = 1000;
    return SQLITE_OK;
}

static int vt_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    sq_cursor *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int vt_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

static int vt_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxstr, int argc, sqlite3_value **argv)
{
    sq_cursor *c = (sq_cursor *)cur;
    sq *s = ((sq_vtab *)cur->pVtab)->s;
    c->row = s->at = s->begin;
    return SQLITE_OK;
}

/* Rows ahead of the one SQLite reads whose cells are fetched into the cache on the way. The batch
 * was written by the source's thread (on the other core, or long enough ago to be out of this
 * one's caches), and its columns are 16 arrays read in step: without this, about half of
 * vt_column's time was spent waiting for those loads (the N = 200 cycle of bench/: CPU -2 to
 * -5 % in paired runs). A cell is 16 bytes, so a new cache line of each column every 4 rows,
 * of its null bytes every 64. */
#define SQ_AHEAD 16

static int vt_next(sqlite3_vtab_cursor *cur)
{
    sq_cursor *c = (sq_cursor *)cur;
    sq *s = ((sq_vtab *)cur->pVtab)->s;
    size_t row = s->at = ++c->row;
    if (s->in_place && (row & 3) == 0 && row + SQ_AHEAD < s->rows)
        for (size_t i = 0; i < s->schema->nfields; i++) {
            const cp_column *v = &s->cols[i].v;
            const char *cell = v->values ? (const char *)v->values : (const char *)v->text_off;
            __builtin_prefetch(cell + (row + SQ_AHEAD) * v->stride);
            if ((row & 63) == 0 && row + 64 < s->rows)
                __builtin_prefetch(v->null + row + 64);
        }
    return SQLITE_OK;
}

static int vt_eof(sqlite3_vtab_cursor *cur)
{
    const sq *s = ((sq_vtab *)cur->pVtab)->s;
    return ((sq_cursor *)cur)->row >= s->end;
}

/* Cell (row, col) from the batch through the host, one call per cell where the value itself
 * tells a NULL apart: a NULL reads as 0 (ints, so only a 0 asks again), NaN (a double or decimal
 * cell never holds NaN) or no text. For a core older than ABI 2.1; not inlined, so that
 * vt_column's own path stays a leaf. */
__attribute__((noinline)) static void column_asked(const sq *s, size_t row, size_t col, sqlite3_context *out)
{
    cp_ctx *ctx = s->ctx;
    const cp_batch *b = s->batch;
    switch (s->schema->fields[col].type) {
    case CP_T_INT64:
    case CP_T_TIMESTAMP:
    case CP_T_BOOL: {
        int64_t v = cp_batch_get_int(ctx, b, row, col);
        if (v != 0 || !cp_batch_is_null(ctx, b, row, col))
            sqlite3_result_int64(out, v);
        break;
    }
    case CP_T_DOUBLE: {
        double d = cp_batch_get_double(ctx, b, row, col);
        if (d == d)
            sqlite3_result_double(out, d);
        break;
    }
    case CP_T_DECIMAL:
        if (!s->decimal_text) {
            double d = cp_batch_get_double(ctx, b, row, col);
            if (d == d)
                sqlite3_result_double(out, d);
            break;
        }
        /* fall through */
    case CP_T_STRING: {
        size_t n = 0;
        const char *text = cp_batch_get_text(ctx, b, row, col, &n); /* NULL for a NULL cell */
        if (text)
            sqlite3_result_text(out, text, (int)n, SQLITE_STATIC);
        break;
    }
    }
}

/* no result set: NULL */
static int vt_column(sqlite3_vtab_cursor *cur, sqlite3_context *out, int i)
{
    const sq *s = ((sq_vtab *)cur->pVtab)->s;
    size_t row = ((sq_cursor *)cur)->row, col = (size_t)i;
    if (!s->batch || col >= s->schema->nfields)
        return SQLITE_OK;
    if (!s->in_place) {
        column_asked(s, row, col, out);
        return SQLITE_OK;
    }
    const sq_col *c = &s->cols[col];
    if (cp_column_is_null(&c->v, row))
        return SQLITE_OK;
    size_t n;
    const char *text;
    switch (c->as) {
    case SQ_INT: sqlite3_result_int64(out, cp_column_int(&c->v, row)); break;
    case SQ_REAL: sqlite3_result_double(out, cp_column_double(&c->v, row)); break;
    case SQ_TEXT:
        text = cp_column_text(&c->v, row, &n);
        sqlite3_result_text(out, text, (int)n, SQLITE_STATIC);
        break;
    }
    return SQLITE_OK;
}

static int vt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((sq_cursor *)cur)->row;
    return SQLITE_OK;
}

static const sqlite3_module batch_module = {
    .iVersion = 1,
    .xCreate = vt_create,
    .xConnect = vt_connect,
    .xBestIndex = vt_best_index,
    .xDisconnect = vt_disconnect,
    .xDestroy = vt_disconnect,
    .xOpen = vt_open,
    .xClose = vt_close,
    .xFilter = vt_filter,
    .xNext = vt_next,
    .xEof = vt_eof,
    .xColumn = vt_column,
    .xRowid = vt_rowid,
};

/* transient (disk, locks, memory) vs permanent (the data or schema can never fit) */
static cp_status classify(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_ERROR:
        return CP_REJECT;
    default:
        return CP_RETRY;
    }
}

static int mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int make_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return -1;
    int rc = mkdirs(dir);
    free(dir);
    return rc;
}

static cp_status exec(cp_ctx *ctx, sq *s, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        cp_log_error(ctx, "sqlite %s: %s (%s)", s->cfg->path, err ? err : sqlite3_errstr(rc), sql);
        sqlite3_free(err);
        return classify(rc);
    }
    return CP_OK;
}

/* Runs BEGIN IMMEDIATE or COMMIT through a statement prepared once (*kept): sqlite3_exec would
 * parse it again for each of the 52 transactions of an N = 200 cycle. Errors as exec(). */
static cp_status exec_kept(cp_ctx *ctx, sq *s, sqlite3_stmt **kept, const char *sql)
{
    int rc = *kept ? SQLITE_OK : sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, kept, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(*kept)) == SQLITE_DONE)
        rc = SQLITE_OK;
    if (rc != SQLITE_OK)
        cp_log_error(ctx, "sqlite %s: %s (%s)", s->cfg->path, sqlite3_errmsg(s->db), sql);
    if (*kept)
        sqlite3_reset(*kept);
    return rc == SQLITE_OK ? CP_OK : classify(rc);
}

static void table_clear(sq_table *t)
{
    for (size_t i = 0; i < SQ_VARIANTS; i++) {
        sqlite3_finalize(t->ins[i].stmt);
        t->ins[i] = (sq_insert){0};
    }
    free(t->schema);
    t->schema = NULL;
}

/* The INSERT of `schema`'s rows into its table from the virtual table, the columns in `bound` taken
 * from parameters instead (?<column + 1>). OR ROLLBACK: a row that breaks a constraint (a NULL
 * key) fails the whole batch, as the sink wants anyway, so SQLite keeps no statement journal for
 * an execution that could otherwise stop halfway (with several executions in one transaction it
 * would copy every page the run before had touched). */
static cp_status insert_prepare(cp_ctx *ctx, sq *s, const cp_schema *schema, uint64_t bound, sqlite3_stmt **out)
{
    cp_buf sql = {0};
    cp_buf_puts(&sql, "INSERT OR ROLLBACK INTO ");
    cp_sql_ident(&sql, schema->stream);
    cp_buf_puts(&sql, " (");
    cp_sql_columns(&sql, schema, NULL);
    cp_buf_puts(&sql, ") SELECT ");
    for (size_t i = 0; i < schema->nfields; i++) {
        bool param = i < 64 && (bound >> i & 1);
        cp_buf_printf(&sql, param ? "%s?%zu" : "%sc%zu", i ? ", " : "", param ? i + 1 : i);
    }
    cp_buf_printf(&sql, " FROM temp.coinpipe_batch_%zu WHERE true", schema->nfields);
    cp_sql_on_conflict(&sql, schema, cp_sql_latest_wins(schema->stream), "sqlite", NULL);
    int rc = sql.oom ? SQLITE_NOMEM : sqlite3_prepare_v3(s->db, sql.p, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    cp_buf_free(&sql);
    if (rc == SQLITE_OK)
        return CP_OK;
    cp_log_error(ctx, "sqlite %s: cannot prepare the insert into \"%s\": %s", s->cfg->path, schema->stream,
                 sqlite3_errmsg(s->db));
    return classify(rc);
}

/* declared SQLite types a column of type `t` may already have */
static bool type_fits(cp_type t, const char *declared)
{
    switch (t) {
    case CP_T_INT64:
    case CP_T_TIMESTAMP:
    case CP_T_BOOL:
        return !strcasecmp(declared, "INTEGER");
    case CP_T_DOUBLE:
        return !strcasecmp(declared, "REAL");
    case CP_T_DECIMAL: /* decimal_as may have changed since the table was made */
        return !strcasecmp(declared, "REAL") || !strcasecmp(declared, "TEXT") || !strcasecmp(declared, "NUMERIC");
    case CP_T_STRING:
        return !strcasecmp(declared, "TEXT");
    }
    return false;
}

/* The view "<stream>_iso": the table with every timestamp column as ISO-8601 UTC text
 * (2026-11-21T10:55:44.123Z, exact to the millisecond), for people who query by hand; made
 * again with the table's columns whenever the table is prepared (a column may have been added). */
static cp_status iso_view(cp_ctx *ctx, sq *s, const cp_schema *schema)
{
    cp_buf sql = {0}, view = {0};
    cp_buf_printf(&view, "%s_iso", schema->stream);
    cp_buf_puts(&sql, "DROP VIEW IF EXISTS ");
    cp_sql_ident(&sql, view.p ? view.p : "");
    cp_buf_puts(&sql, "; CREATE VIEW ");
    cp_sql_ident(&sql, view.p ? view.p : "");
    cp_buf_puts(&sql, " AS SELECT ");
    for (size_t i = 0; i < schema->nfields; i++) {
        const cp_field *f = cp_schema_field(schema, i);
        cp_buf_puts(&sql, i ? ", " : "");
        if (f->type == CP_T_TIMESTAMP) { /* integer arithmetic: no double rounding of the ms */
            cp_buf_puts(&sql, "strftime('%Y-%m-%dT%H:%M:%S', ");
            cp_sql_ident(&sql, f->name);
            cp_buf_puts(&sql, " / 1000, 'unixepoch') || printf('.%03dZ', ");
            cp_sql_ident(&sql, f->name);
            cp_buf_puts(&sql, " % 1000) AS ");
        }
        cp_sql_ident(&sql, f->name);
    }
    cp_buf_puts(&sql, " FROM ");
    cp_sql_ident(&sql, schema->stream);
    cp_status st = sql.oom || view.oom ? CP_ERR_NOMEM : exec(ctx, s, sql.p);
    cp_buf_free(&sql);
    cp_buf_free(&view);
    return st;
}

/* creates or evolves the table of `schema`, then prepares its INSERT */
static cp_status prepare_table(cp_ctx *ctx, sq *s, sq_table *t, const cp_schema *schema)
{
    table_clear(t);
    cp_buf sql = {0};
    cp_buf qname = {0};
    cp_sql_ident(&qname, schema->stream);
    cp_sql_create_table(&sql, qname.p, schema, "sqlite", s->decimal_text);
    cp_status st = sql.oom || qname.oom ? CP_ERR_NOMEM : exec(ctx, s, sql.p);

    /* existing columns: add the missing ones, refuse a type conflict */
    sqlite3_stmt *info = NULL;
    if (st == CP_OK) {
        cp_buf_reset(&sql);
        cp_buf_printf(&sql, "PRAGMA table_info(%s)", qname.p);
        int rc = sqlite3_prepare_v2(s->db, sql.p, -1, &info, NULL);
        if (rc != SQLITE_OK) {
            cp_log_error(ctx, "sqlite %s: %s", s->cfg->path, sqlite3_errmsg(s->db));
            st = classify(rc);
        }
    }
    bool *have = calloc(schema->nfields, sizeof *have);
    if (!have)
        st = CP_ERR_NOMEM;
    int rc = SQLITE_DONE;
    while (st == CP_OK && (rc = sqlite3_step(info)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(info, 1);
        const char *decl = (const char *)sqlite3_column_text(info, 2);
        for (size_t i = 0; name && i < schema->nfields; i++) {
            const cp_field *f = &schema->fields[i];
            if (strcmp(f->name, name))
                continue;
            have[i] = true;
            if (!type_fits(f->type, decl ? decl : "")) {
                cp_log_error(ctx,
                             "sqlite %s: table \"%s\" column \"%s\" is %s but the stream now has it as %s; "
                             "rename or drop the column (or the table) to go on",
                             s->cfg->path, schema->stream, name, decl ? decl : "untyped",
                             cp_sql_type(f->type, "sqlite", s->decimal_text));
                st = CP_REJECT;
            }
        }
    }
    if (st == CP_OK && rc != SQLITE_DONE) {
        cp_log_error(ctx, "sqlite %s: %s", s->cfg->path, sqlite3_errmsg(s->db));
        st = classify(rc);
    }
    sqlite3_finalize(info);
    for (size_t i = 0; st == CP_OK && i < schema->nfields; i++) {
        if (have[i])
            continue;
        const cp_field *f = &schema->fields[i];
        cp_buf_reset(&sql);
        cp_buf_printf(&sql, "ALTER TABLE %s ADD COLUMN ", qname.p);
        cp_sql_ident(&sql, f->name);
        cp_buf_printf(&sql, " %s", cp_sql_type(f->type, "sqlite", s->decimal_text));
        st = sql.oom ? CP_ERR_NOMEM : exec(ctx, s, sql.p);
        if (st == CP_OK)
            cp_log_info(ctx, "sqlite %s: added column \"%s\" to table \"%s\"%s", s->cfg->path, f->name,
                        schema->stream, f->flags & CP_FIELD_KEY ? " (not part of the existing primary key)" : "");
    }
    free(have);
    if (st == CP_OK)
        st = iso_view(ctx, s, schema);

    if (st == CP_OK) {
        cp_buf_reset(&sql);
        cp_buf_printf(&sql, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.coinpipe_batch_%zu USING coinpipe_batch(%zu)",
                      schema->nfields, schema->nfields);
        st = sql.oom ? CP_ERR_NOMEM : exec(ctx, s, sql.p);
    }
    if (st == CP_OK && (st = insert_prepare(ctx, s, schema, 0, &t->ins[0].stmt)) == CP_OK &&
        !(t->schema = cp_schema_copy(schema)))
        st = CP_ERR_NOMEM;
    if (st != CP_OK)
        table_clear(t);
    cp_buf_free(&sql);
    cp_buf_free(&qname);
    return st;
}

/* Points s->cols at the batch's columns; false when the core cannot show them in place (older
 * than ABI 2.1) or memory is short: then vt_column asks for each cell. */
static bool columns_in_place(cp_ctx *ctx, sq *s, const cp_batch *batch, const cp_schema *schema)
{
    size_t n = schema->nfields;
    if (n > s->ncols) {
        sq_col *cols = realloc(s->cols, n * sizeof *cols);
        if (!cols)
            return false;
        s->cols = cols;
        s->ncols = n;
    }
    for (size_t i = 0; i < n; i++) {
        sq_col *c = &s->cols[i];
        if (cp_batch_column(ctx, batch, i, &c->v) != CP_OK)
            return false;
        c->as = c->v.type == CP_T_STRING || (c->v.type == CP_T_DECIMAL && s->decimal_text) ? SQ_TEXT
                : c->v.type == CP_T_DOUBLE || c->v.type == CP_T_DECIMAL                      ? SQ_REAL
                                                                                             : SQ_INT;
    }
    return true;
}

static sq_table *table_for(sq *s, const char *stream)
{
    for (size_t i = 0; i < s->ntables; i++)
        if (!strcmp(s->tables[i].stream, stream))
            return &s->tables[i];
    sq_table *n = realloc(s->tables, (s->ntables + 1) * sizeof *n);
    if (!n)
        return NULL;
    s->tables = n;
    sq_table *t = &n[s->ntables];
    memset(t, 0, sizeof *t);
    if (!(t->stream = strdup(stream)))
        return NULL;
    s->ntables++;
    return t;
}

/* Rows a run should have on average for columns to be bound over it (plan_runs): an execution of
 * the statement costs about as much as a few dozen cells read through the virtual table. */
#define SQ_RUN_ROWS 64

/* Writes the rows at which column c (text or integer) differs from the row above into at[] and
 * returns their number, or limit + 1 as soon as there are more than `limit`. A NULL equals a NULL;
 * texts are compared by place first (a text repeated from the row above is stored once). One
 * loop per type, the row above's value kept: 4,096 rows of 5 columns a batch of klines. */
static size_t changes_of(const sq_col *c, size_t rows, size_t limit, size_t *at)
{
    const cp_column *v = &c->v;
    const uint8_t *null = v->null;
    size_t k = 0;
    bool up_null = null[0] != 0;
    if (c->as == SQ_INT) {
        int64_t up = up_null ? 0 : cp_column_int(v, 0); /* a NULL's value: 0 */
        for (size_t r = 1; r < rows; r++) {
            bool is_null = null[r] != 0;
            int64_t x = is_null ? 0 : cp_column_int(v, r);
            if (is_null == up_null && x == up)
                continue;
            if (k == limit)
                return limit + 1;
            at[k++] = r;
            up = x;
            up_null = is_null;
        }
        return k;
    }
    size_t up_len = 0;
    const char *up = up_null ? NULL : cp_column_text(v, 0, &up_len); /* a NULL's text: none */
    for (size_t r = 1; r < rows; r++) {
        bool is_null = null[r] != 0;
        size_t len = 0;
        const char *t = is_null ? NULL : cp_column_text(v, r, &len);
        if (is_null == up_null && (is_null || (len == up_len && (t == up || !memcmp(t, up, len))))) {
            up = t; /* the same text: the next row likely shares this place */
            continue;
        }
        if (k == limit)
            return limit + 1;
        at[k++] = r;
        up = t;
        up_len = len;
        up_null = is_null;
    }
    return k;
}

static int cmp_rows(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Splits the rows of the batch into runs over which some columns keep one value (in a batch of
 * klines: the exchange, symbol, native symbol, interval and time received of each series), and
 * sets those columns' bits in *bound: they are bound as parameters, once per run, and SQLite does
 * not read them from the virtual table row by row (an xColumn call, and for a text
 * sqlite3_result_text, about 170 instructions a cell: 5 of the 16 cells of a kline). A column is
 * bound when it changes at most once every SQ_RUN_ROWS rows on average; decimals and doubles,
 * which rarely repeat, are not looked at, nor are columns after the 64th. Returns the number of
 * runs, whose first rows are s->cuts[0...] with s->cuts[runs] = rows; 1 run and nothing bound
 * when no column qualifies, 0 when memory is short. */
static size_t plan_runs(sq *s, size_t rows, uint64_t *bound)
{
    *bound = 0;
    size_t limit = s->in_place ? rows / SQ_RUN_ROWS : 0;
    size_t want = rows + limit + 2; /* every change of the bound columns, the next column's, 0, rows */
    if (want > s->ncuts) {
        size_t *cuts = realloc(s->cuts, want * sizeof *cuts);
        if (!cuts)
            return 0;
        s->cuts = cuts;
        s->ncuts = want;
    }
    size_t n = s->schema->nfields < 64 ? s->schema->nfields : 64, m = 1; /* s->cuts[1...m - 1]: changes */
    for (size_t i = 0; limit && i < n; i++) {
        const sq_col *c = &s->cols[i];
        if (c->as == SQ_REAL || c->v.type == CP_T_DECIMAL)
            continue;
        size_t k = changes_of(c, rows, limit, s->cuts + m);
        if (k <= limit) {
            *bound |= (uint64_t)1 << i;
            m += k;
        }
    }
    qsort(s->cuts + 1, m - 1, sizeof *s->cuts, cmp_rows);
    size_t runs = 1;
    s->cuts[0] = 0;
    for (size_t j = 1; j < m; j++)
        if (s->cuts[j] != s->cuts[runs - 1])
            s->cuts[runs++] = s->cuts[j];
    s->cuts[runs] = rows;
    return runs;
}

/* the INSERT of t binding the columns in `bound`, prepared on first use; NULL when it cannot be */
static sqlite3_stmt *insert_for(cp_ctx *ctx, sq *s, sq_table *t, uint64_t bound)
{
    for (size_t i = 0; i < SQ_VARIANTS; i++)
        if (t->ins[i].stmt && t->ins[i].bound == bound)
            return t->ins[i].stmt;
    sqlite3_stmt *stmt = NULL;
    if (insert_prepare(ctx, s, t->schema, bound, &stmt) != CP_OK)
        return NULL;
    cp_buf names = {0};
    for (size_t i = 0; bound >> i; i++)
        if (bound >> i & 1) {
            cp_buf_puts(&names, names.len ? ", " : "");
            cp_sql_ident(&names, t->schema->fields[i].name);
        }
    cp_log_debug(ctx, "sqlite %s: \"%s\": %s bound once per run of rows", s->cfg->path, t->stream,
                 names.p ? names.p : "");
    cp_buf_free(&names);
    size_t slot = 1 + t->evict++ % (SQ_VARIANTS - 1); /* ins[0], binding nothing, stays */
    for (size_t i = 1; i < SQ_VARIANTS; i++)
        if (!t->ins[i].stmt) {
            slot = i;
            break;
        }
    sqlite3_finalize(t->ins[slot].stmt);
    t->ins[slot] = (sq_insert){.bound = bound, .stmt = stmt};
    return stmt;
}

/* binds row `row`'s cells of the columns in `bound` (texts in place: the batch outlives the run) */
static void bind_run(const sq *s, sqlite3_stmt *stmt, uint64_t bound, size_t row)
{
    for (size_t i = 0; bound >> i; i++) {
        if (!(bound >> i & 1))
            continue;
        const sq_col *c = &s->cols[i];
        size_t n;
        const char *text;
        if (cp_column_is_null(&c->v, row))
            sqlite3_bind_null(stmt, (int)i + 1);
        else if (c->as == SQ_INT)
            sqlite3_bind_int64(stmt, (int)i + 1, cp_column_int(&c->v, row));
        else {
            text = cp_column_text(&c->v, row, &n);
            sqlite3_bind_text(stmt, (int)i + 1, text, (int)n, SQLITE_STATIC);
        }
    }
}

static cp_status sq_write(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    sq *s = instance;
    const cp_schema *schema = cp_batch_schema(ctx, batch);
    size_t rows = cp_batch_rows(ctx, batch);
    if (!rows)
        return CP_OK;
    sq_table *t = table_for(s, schema->stream);
    if (!t)
        return CP_ERR_NOMEM;

    /* A table made or changed for this batch is one transaction with its rows (a batch that fails
     * leaves no table behind), and so is a batch written in several runs. Otherwise the INSERT
     * runs alone, as its own transaction: no BEGIN and COMMIT to run. */
    bool ready = t->ins[0].stmt && cp_schema_equal(t->schema, schema), txn = !ready;
    cp_status st = CP_OK;
    /* The temp schema (the virtual tables) and statement journals in memory: SQLite spills a
     * statement journal to a new file in /var/tmp once it holds more than 64 KiB, one 64 KiB page,
     * and the first batch of each stream runs DDL statements in its transaction (eight new files
     * an N = 200 cycle). Set here, not in sq_create: an instance that only reads keeps the default. */
    if (!ready && !s->temp_memory)
        s->temp_memory = sqlite3_exec(s->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL) == SQLITE_OK;
    if (!ready && (st = exec_kept(ctx, s, &s->do_begin, "BEGIN IMMEDIATE")) != CP_OK)
        return st == CP_REJECT ? CP_RETRY : st; /* a failed BEGIN is a lock or I/O matter */
    if (!ready && (st = prepare_table(ctx, s, t, schema)) != CP_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    s->ctx = ctx;
    s->batch = batch;
    s->schema = t->schema;
    s->rows = rows;
    s->at = 0;
    s->in_place = columns_in_place(ctx, s, batch, t->schema);
    uint64_t bound = 0;
    size_t runs = plan_runs(s, rows, &bound);
    sqlite3_stmt *ins = bound ? insert_for(ctx, s, t, bound) : NULL;
    if (!ins || runs < 1) { /* one run reading every column */
        ins = t->ins[0].stmt;
        bound = 0;
        runs = 1;
    }
    int rc = SQLITE_OK;
    if (runs > 1 && !txn) {
        if ((st = exec_kept(ctx, s, &s->do_begin, "BEGIN IMMEDIATE")) != CP_OK)
            rc = SQLITE_BUSY; /* retried: a lock or I/O matter */
        txn = true;
    }
    for (size_t k = 0; rc == SQLITE_OK && k < runs; k++) {
        s->begin = runs > 1 ? s->cuts[k] : 0;
        s->end = runs > 1 ? s->cuts[k + 1] : rows;
        bind_run(s, ins, bound, s->begin);
        rc = sqlite3_step(ins);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        else
            cp_log_error(ctx, "sqlite %s: insert into \"%s\" (row %zu of %zu): %s", s->cfg->path, schema->stream,
                         s->at < rows ? s->at + 1 : rows, rows, sqlite3_errmsg(s->db));
        sqlite3_reset(ins);
    }
    sqlite3_clear_bindings(ins); /* they point into the batch */
    s->batch = NULL;
    s->rows = s->begin = s->end = 0;
    s->in_place = false;
    if (rc == SQLITE_OK && (!txn || (st = exec_kept(ctx, s, &s->do_commit, "COMMIT")) == CP_OK))
        return CP_OK;
    if (!sqlite3_get_autocommit(s->db)) /* a statement that broke a constraint rolled back already */
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    table_clear(t); /* the rollback may have undone its CREATE or ALTER: look again next time */
    return rc != SQLITE_OK ? classify(rc) : (st == CP_REJECT ? CP_RETRY : st);
}

/* ---- checkpoints beside the writer ----------------------------------------------------- */

/* WAL bytes after which a commit asks for a checkpoint. Each checkpoint syncs the WAL and the
 * database (two fdatasyncs that write back every page dirtied since the last), so fewer, larger
 * ones cost less CPU: in the N = 200 poll cycle, whose source waits for the sink's memory queue
 * (core/sink.c), 8 MiB took 4-6 % off the cycle's CPU against 1 MiB for a wall 0-4 % longer
 * (4 MiB: 2-4 % less CPU, the same wall; 16 MiB: no less CPU than 8, a longer wall). */
#define SQ_CHECKPOINT_BYTES (8 << 20)

/* The checkpointer: a connection of its own, opened on its first checkpoint, that copies the
 * committed frames into the database file whenever a commit asks (PASSIVE: it waits for no
 * one and leaves the frames a reader still needs), until stop. */
static void *checkpointer(void *arg)
{
    sq_ckpt *c = arg;
    sqlite3 *db = NULL;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        if (!c->want) {
            pthread_cond_wait(&c->wake, &c->lock);
            continue;
        }
        c->want = false;
        pthread_mutex_unlock(&c->lock);
        if (!db) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA synchronous=%s; PRAGMA schema_version", c->synchronous);
            int rc = sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
            if (rc == SQLITE_OK) /* the read opens the WAL: a checkpoint needs it open */
                rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
            if (rc != SQLITE_OK) {
                sqlite3_close_v2(db);
                db = NULL;
            }
        }
        if (db)
            (void)sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->lock);
        if (!db)
            c->alone = true; /* the writer's commits checkpoint from now on */
    }
    pthread_mutex_unlock(&c->lock);
    sqlite3_close_v2(db);
    return NULL;
}

/* the writer's WAL hook, after each commit: `frames` are in the WAL now */
static int wal_committed(void *arg, sqlite3 *db, const char *name, int frames)
{
    sq_ckpt *c = arg;
    if (frames < c->frames)
        return SQLITE_OK;
    pthread_mutex_lock(&c->lock);
    if (!c->running && !c->alone) {
        c->running = pthread_create(&c->thread, NULL, checkpointer, c) == 0;
        c->alone = !c->running;
    }
    c->want = true;
    pthread_cond_signal(&c->wake);
    bool alone = c->alone;
    pthread_mutex_unlock(&c->lock);
    if (alone) /* what SQLite's own hook would do */
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

/* A file database in WAL mode: once a commit leaves SQ_CHECKPOINT_BYTES in the WAL, a thread of
 * the sink's own copies the committed pages into the database file, beside the writer and the
 * source. The writer starts the WAL over when a transaction of its begins after a checkpoint has
 * copied every frame: not while it is behind the source, as it is all through a poll cycle (it
 * begins its next batch before the checkpoint ends), so the WAL grows (19 MB in the N = 200 cycle)
 * and every commit past the threshold asks for a checkpoint. Waiting for one instead, or
 * checkpointing on the writer's thread, saved a few per cent of the cycle's CPU and lengthened
 * its wall by more (bench/README.md, fourth pass). SQLite's own rule (a checkpoint by the
 * committing connection once the WAL holds 1000 pages, 64 MB with 64 KiB pages) checkpointed
 * nothing in the N = 200 poll cycle: the close of the last connection then copied and synced all
 * 15 MB at the cycle's end, alone, a fifth of its wall time; checkpoints on the writer's own
 * thread only moved their syncs onto it. A commit is as durable as before (a checkpoint copies
 * only committed frames, and adds syncs); readers read on (PASSIVE never waits for them). */
static void checkpoints_apart(sq *s)
{
    sq_ckpt *c = s->ck;
    sqlite3_stmt *st = NULL;
    int page = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        page = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    c->frames = page > 0 && SQ_CHECKPOINT_BYTES / page > 1 ? SQ_CHECKPOINT_BYTES / page : 1;
    c->path = s->cfg->path;
    c->synchronous = s->cfg->synchronous ? s->cfg->synchronous : "normal";
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    sqlite3_wal_hook(s->db, wal_committed, c);
}

/* stops and joins the checkpointer: its connection is closed before the writer's, whose close
 * (the last one) then checkpoints what is left and removes the WAL */
static void checkpoints_stop(sq_ckpt *c)
{
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    bool running = c->running;
    pthread_mutex_unlock(&c->lock);
    if (running)
        pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void sq_destroy(void *instance)
{
    sq *s = instance;
    if (!s)
        return;
    if (s->ck)
        checkpoints_stop(s->ck);
    for (size_t i = 0; i < s->ntables; i++) {
        table_clear(&s->tables[i]);
        free(s->tables[i].stream);
    }
    free(s->tables);
    free(s->cols);
    free(s->cuts);
    sqlite3_finalize(s->do_begin);
    sqlite3_finalize(s->do_commit);
    sqlite3_close_v2(s->db);
    free(s);
}

static cp_status sq_create(cp_ctx *ctx, const void *config, void **instance)
{
    const sq_config *cfg = config;
    if (!cfg->path || !*cfg->path) {
        cp_log_error(ctx, "sqlite: path is empty");
        return CP_ERR_CONFIG;
    }
    sq *s = calloc(1, sizeof *s);
    if (!s)
        return CP_ERR_NOMEM;
    s->cfg = cfg;
    s->decimal_text = cfg->decimal_as && !strcmp(cfg->decimal_as, "text");
    bool special = !strcmp(cfg->path, ":memory:") || !strncmp(cfg->path, "file:", 5);
    if (!special && make_parent(cfg->path) != 0) {
        cp_log_error(ctx, "sqlite: cannot create the directory of %s: %s", cfg->path, strerror(errno));
        free(s);
        return CP_ERR_IO;
    }
    bool fresh = false; /* the file was made here, empty */
    if (!special) { /* a new database is 0640 whatever the umask (its -wal and -shm files follow it) */
        int fd = open(cfg->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd >= 0) {
            (void)fchmod(fd, 0640);
            close(fd);
            fresh = true;
        }
    }
    int rc = sqlite3_open_v2(cfg->path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        cp_log_error(ctx, "sqlite: cannot open %s: %s", cfg->path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sq_destroy(s);
        return CP_ERR_IO;
    }
    rc = sqlite3_create_module_v2(s->db, "coinpipe_batch", &batch_module, s, NULL);
    if (rc != SQLITE_OK) {
        cp_log_error(ctx, "sqlite: cannot set up %s: %s", cfg->path, sqlite3_errmsg(s->db));
        sq_destroy(s);
        return CP_ERR_IO;
    }
    sqlite3_busy_timeout(s->db, (int)cfg->busy_timeout);
    sqlite3_extended_result_codes(s->db, 1);
    /* A new database gets 64 KiB pages, SQLite's largest (an existing one keeps its own): rows
     * arrive in key order and append, so larger pages mean fewer B-tree pages, rebalances, frames
     * and write calls per row (the N = 200 cycle of bench/: 12 % less CPU with 32 KiB than with
     * 4 KiB; with 64 KiB about 1 % less again, 40 % fewer pwrite calls). Reading back costs the
     * same: the dashboard's 100,000, 5,000 and 500 candles took the same CPU from 32 and 64 KiB
     * pages (bench/README.md, fourth pass). */
    if (sqlite3_exec(s->db, "PRAGMA page_size=65536", NULL, NULL, NULL) != SQLITE_OK)
        cp_log_warn(ctx, "sqlite %s: cannot set the page size: %s", cfg->path, sqlite3_errmsg(s->db));
    /* Turning an empty new file into a WAL database writes its first page through a rollback
     * journal: four fsyncs (about 10 ms before the first cycle can start). With synchronous =
     * normal (or off) WAL commits are not synced either, so a crash of the machine may lose what
     * they wrote until the first checkpoint anyway; an empty file that lost its first page is a
     * new database again. So that one write goes unsynced; synchronous is set just below. */
    bool wal = !cfg->journal_mode || !strcasecmp(cfg->journal_mode, "wal");
    bool normal = !cfg->synchronous || !strcasecmp(cfg->synchronous, "normal") || !strcasecmp(cfg->synchronous, "off");
    if (fresh && wal && normal)
        (void)sqlite3_exec(s->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", cfg->journal_mode ? cfg->journal_mode : "wal");
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (mode && cfg->journal_mode && strcasecmp(mode, cfg->journal_mode))
            cp_log_warn(ctx, "sqlite %s: journal_mode is %s, not %s", cfg->path, mode, cfg->journal_mode);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", cfg->synchronous ? cfg->synchronous : "normal");
        rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        cp_log_error(ctx, "sqlite: cannot set up %s: %s", cfg->path, sqlite3_errmsg(s->db));
        sq_destroy(s);
        return CP_ERR_IO;
    }
    /* SQLite as Debian and others build it (SQLITE_SECURE_DELETE) zeroes every byte a B-tree
     * frees and every page it makes: a page-sized memset for each of the 17,000 pages the rows of a
     * poll cycle of 200 symbols rebalance, 7 % of the sink's instructions. Nothing the sink
     * frees is secret (an upsert's older values), so this connection leaves those bytes. */
    (void)sqlite3_exec(s->db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL);
    if (wal && !special && (s->ck = calloc(1, sizeof *s->ck)) != NULL)
        checkpoints_apart(s);
    cp_log_debug(ctx, "sqlite: writing to %s", cfg->path);
    *instance = s;
    return CP_OK;
}

/* ---- what `coinpipe gaps` reads (ABI 1.1) ------------------------------------------------- */

#define SQ_SERIES_COLS "SELECT exchange, symbol, \"interval\", native_symbol FROM ohlcv "
#define SQ_SERIES_ORDER " ORDER BY exchange, symbol, \"interval\" LIMIT 1"
#define SQ_RANGE "exchange = ?1 AND symbol = ?2 AND \"interval\" = ?3 AND open_time >= ?4 AND open_time < ?5"

static cp_status read_failed(cp_ctx *ctx, sq *s, int rc, const char *what)
{
    cp_log_error(ctx, "sqlite %s: %s: %s", s->cfg->path, what, sqlite3_errmsg(s->db));
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? CP_RETRY : CP_ERR_IO;
}

/* prepares `sql` after checking that the ohlcv table exists (*stmt NULL and CP_OK when not) */
static cp_status prepare_read(cp_ctx *ctx, sq *s, const char *sql, sqlite3_stmt **stmt)
{
    *stmt = NULL;
    sqlite3_stmt *t = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ohlcv'", -1, &t,
                                NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(t);
    sqlite3_finalize(t);
    if (rc == SQLITE_DONE)
        return CP_OK;
    if (rc != SQLITE_ROW)
        return read_failed(ctx, s, rc, "cannot look for the ohlcv table");
    rc = sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL);
    return rc == SQLITE_OK ? CP_OK : read_failed(ctx, s, rc, "cannot read the ohlcv table");
}

/* Lists the series of the ohlcv table: one primary-key seek per series (row-value comparison
 * with the previous key), so a table of 10^8 rows costs as much as its number of series. */
static cp_status sq_stored_series(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user)
{
    sq *s = instance;
    sqlite3_stmt *first = NULL, *next = NULL;
    cp_status st = exec(ctx, s, "BEGIN"); /* one snapshot for the whole listing */
    if (st != CP_OK)
        return CP_RETRY;
    if ((st = prepare_read(ctx, s, SQ_SERIES_COLS SQ_SERIES_ORDER, &first)) == CP_OK && first)
        st = prepare_read(ctx, s, SQ_SERIES_COLS "WHERE (exchange, symbol, \"interval\") > (?1, ?2, ?3)" SQ_SERIES_ORDER,
                          &next);
    sqlite3_stmt *cur = first;
    char *key[3] = {NULL, NULL, NULL};
    int rc = SQLITE_DONE;
    while (st == CP_OK && cur && (rc = sqlite3_step(cur)) == SQLITE_ROW) {
        char *row[3];
        for (int i = 0; i < 3; i++) {
            const char *v = (const char *)sqlite3_column_text(cur, i);
            row[i] = v ? strdup(v) : NULL;
            if (!row[i])
                st = v ? CP_ERR_NOMEM : CP_ERR_IO; /* key columns are never NULL */
        }
        cp_series ser = CP_SERIES(.exchange = row[0], .symbol = row[1],
                                  .native_symbol = (const char *)sqlite3_column_text(cur, 3), .interval = row[2]);
        bool more = st == CP_OK && fn(user, &ser);
        sqlite3_reset(cur); /* the old key's bindings are not used from here on */
        for (int i = 0; i < 3; i++) {
            free(key[i]);
            key[i] = row[i];
        }
        if (!more)
            break;
        for (int i = 0; i < 3; i++)
            sqlite3_bind_text(next, i + 1, key[i], -1, SQLITE_STATIC);
        cur = next;
    }
    if (st == CP_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        st = read_failed(ctx, s, rc, "cannot list the candle series");
    for (int i = 0; i < 3; i++)
        free(key[i]);
    sqlite3_finalize(first);
    sqlite3_finalize(next);
    sqlite3_exec(s->db, "END", NULL, NULL, NULL);
    return st;
}

/* Reports the holes of one series by walking its open_times in primary-key order and comparing
 * neighbours here: one statement (one snapshot), no sort, one row in memory. Measured on 10^6
 * rows this is 0.15 s where the same with LAG() takes 2.1 s (SQLite runs window functions
 * through a temporary table); the comparison costs nothing, so the plain scan wins. */
static cp_status sq_candle_gaps(void *instance, cp_ctx *ctx, const cp_series *series, int64_t step_ms,
                                int64_t from_ms, int64_t to_ms, cp_gap_fn fn, void *user)
{
    sq *s = instance;
    if (!series || !series->exchange || !series->symbol || !series->interval || step_ms <= 0)
        return CP_ERR_INVALID;
    sqlite3_stmt *scan = NULL;
    cp_status st = prepare_read(ctx, s, "SELECT open_time FROM ohlcv WHERE " SQ_RANGE " ORDER BY open_time", &scan);
    if (st != CP_OK || !scan)
        return st;
    sqlite3_bind_text(scan, 1, series->exchange, -1, SQLITE_STATIC);
    sqlite3_bind_text(scan, 2, series->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(scan, 3, series->interval, -1, SQLITE_STATIC);
    sqlite3_bind_int64(scan, 4, from_ms);
    sqlite3_bind_int64(scan, 5, to_ms);
    int rc = SQLITE_DONE;
    bool more = true, any = false;
    int64_t prev = 0;
    while (more && (rc = sqlite3_step(scan)) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(scan, 0);
        if (!any)
            more = fn(user, INT64_MIN, t);
        else if (t - prev > step_ms)
            more = fn(user, prev, t);
        any = true;
        prev = t;
    }
    if (more && rc != SQLITE_DONE)
        st = read_failed(ctx, s, rc, "cannot read the candles");
    else if (more && any)
        fn(user, prev, INT64_MAX);
    sqlite3_finalize(scan);
    return st;
}

/* ---- reading back for the dashboard (ABI 2.0) ------------------------------------------ */

/* Which of the query's columns the table has (have[i]); false when there is no such table.
 * The connection is made read-only first (query_only): this instance never writes. It reads
 * the file through a memory map (up to 256 MiB): 10^5 candles are 10 MB of pages, which read()
 * would copy out of the page cache on every request. */
static cp_status read_columns(cp_ctx *ctx, sq *s, const cp_read_query *q, bool *have, bool *exists)
{
    *exists = false;
    int rc = sqlite3_exec(s->db, "PRAGMA query_only = 1; PRAGMA mmap_size = 268435456", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return read_failed(ctx, s, rc, "cannot make the connection read-only");
    cp_buf sql = {0};
    cp_buf_puts(&sql, "PRAGMA table_info(");
    cp_sql_ident(&sql, q->schema->stream);
    cp_buf_putc(&sql, ')');
    sqlite3_stmt *info = NULL;
    rc = sql.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, sql.p, -1, &info, NULL);
    cp_buf_free(&sql);
    if (rc != SQLITE_OK)
        return read_failed(ctx, s, rc, "cannot read the table's columns");
    while ((rc = sqlite3_step(info)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(info, 1);
        *exists = true;
        for (size_t i = 0; name && i < q->schema->nfields; i++)
            if (!strcmp(q->schema->fields[i].name, name))
                have[i] = true;
    }
    sqlite3_finalize(info);
    if (rc != SQLITE_DONE)
        return read_failed(ctx, s, rc, "cannot read the table's columns");
    const char *missing = *exists ? cp_sql_read_missing(q, have) : NULL;
    if (missing) {
        cp_log_error(ctx, "sqlite %s: table \"%s\" has no column \"%s\"", s->cfg->path, q->schema->stream, missing);
        return CP_ERR_INVALID;
    }
    return CP_OK;
}

/* u / 10^k (k <= 17) as decimal text at out (48 bytes), at least one digit before the point;
 * returns the length. The digits are written once and the fraction moved byte by byte. */
static size_t fixed_text(uint64_t u, int k, bool neg, char *out)
{
    out[0] = '-';
    char *digits = out + (neg ? 1 : 0), *end = cp_u64_digits(digits, u);
    size_t n = (size_t)(end - digits), uk = (size_t)k;
    if (n > uk) { /* 1234.5678: the fraction one to the right, the point before it */
        if (uk) {
            for (size_t i = n; i > n - uk; i--)
                digits[i] = digits[i - 1];
            digits[n - uk] = '.';
            end++;
        }
    } else { /* 0.00012345: "0.", zeros, the digits */
        for (size_t i = n; i-- > 0;)
            digits[i + uk - n + 2] = digits[i];
        digits[0] = '0';
        digits[1] = '.';
        for (size_t i = 2; i < uk - n + 2; i++)
            digits[i] = '0';
        end = digits + uk + 2;
    }
    *end = '\0';
    return (size_t)(end - out);
}

/* The shortest decimal text of d with at most 17 fraction digits that reads back as d (what a
 * REAL column holds was such a text: the exchange's), else its 17 significant digits. Written
 * here rather than by SQLite's or libc's printf, which took most of the time of reading 10^5
 * candles back. */
static size_t real_text(double d, char out[48])
{
    /* Prices and sizes: at most 8 decimals below 10^7. Then d * 10^8 is within 0.2 of an integer
     * (|d * 10^8| < 2^50), and that integer with its trailing zeros dropped is the shortest text:
     * one multiplication and one division instead of one of each per fraction digit. */
    if (d > -1e7 && d < 1e7) {
        double x = d * 1e8;
        double m = (double)(int64_t)(x + (x < 0 ? -0.5 : 0.5)); /* no libm needed */
        if (m / 1e8 == d) {
            uint64_t u = m < 0 ? (uint64_t)-(int64_t)m : (uint64_t)m;
            int k = 8; /* the trailing zeros: 8 (an integer), else 4, 2 and 1 at a time */
            if (u % 100000000 == 0) {
                u /= 100000000, k = 0;
            } else {
                if (u % 10000 == 0)
                    u /= 10000, k -= 4;
                if (u % 100 == 0)
                    u /= 100, k -= 2;
                if (u % 10 == 0)
                    u /= 10, k -= 1;
            }
            return fixed_text(u, k, m < 0, out);
        }
    }
    double p = 1;
    for (int k = 0; isfinite(d) && k <= 17; k++, p *= 10) {
        double x = d * p;
        if (x >= 9007199254740992.0 || x <= -9007199254740992.0) /* 2^53: no longer exact */
            break;
        double m = (double)(int64_t)(x + (x < 0 ? -0.5 : 0.5));
        if (m / p == d)
            return fixed_text(m < 0 ? (uint64_t)-(int64_t)m : (uint64_t)m, k, m < 0, out);
    }
    return (size_t)snprintf(out, 48, "%.17g", d);
}

/* sets cell (r, i), of type t, of b from column i of the current row (REAL decimals as their
 * text); one sqlite3_column_value per cell, its type and content read from that value */
static void read_cell(cp_ctx *ctx, cp_batch *b, size_t r, size_t i, cp_type t, sqlite3_stmt *st)
{
    sqlite3_value *v = sqlite3_column_value(st, (int)i);
    int ct = sqlite3_value_type(v);
    if (ct == SQLITE_NULL)
        return; /* a new row's cells are NULL */
    switch (t) {
    case CP_T_INT64:
    case CP_T_TIMESTAMP: cp_batch_set_int(ctx, b, r, i, sqlite3_value_int64(v)); break;
    case CP_T_BOOL: cp_batch_set_bool(ctx, b, r, i, sqlite3_value_int64(v) != 0); break;
    case CP_T_DOUBLE: cp_batch_set_double(ctx, b, r, i, sqlite3_value_double(v)); break;
    case CP_T_DECIMAL: {
        char d[48];
        const char *text = d;
        size_t n;
        if (ct == SQLITE_FLOAT) { /* decimal_as = "real" */
            n = real_text(sqlite3_value_double(v), d);
        } else {
            text = (const char *)sqlite3_value_text(v);
            n = text ? (size_t)sqlite3_value_bytes(v) : 0;
        }
        if (!text || cp_batch_set_decimal(ctx, b, r, i, text, n) != CP_OK)
            cp_batch_set_null(ctx, b, r, i);
        break;
    }
    case CP_T_STRING: {
        const char *text = (const char *)sqlite3_value_text(v);
        cp_batch_set_string(ctx, b, r, i, text ? text : "", text ? (size_t)sqlite3_value_bytes(v) : 0);
        break;
    }
    }
}

static cp_status sq_read(void *instance, cp_ctx *ctx, const cp_read_query *q, bool latest, cp_batch_fn fn,
                         void *user)
{
    sq *s = instance;
    if (!q || !q->schema || !q->time_column || (q->nseries && !q->series) || (!latest && q->nseries && !q->values))
        return CP_ERR_INVALID;
    bool *have = calloc(q->schema->nfields + 1, sizeof *have);
    if (!have)
        return CP_ERR_NOMEM;
    bool exists = false;
    cp_status st = read_columns(ctx, s, q, have, &exists);
    sqlite3_stmt *sel = NULL, *cut = NULL;
    bool txn = st == CP_OK && exists && exec(ctx, s, "BEGIN") == CP_OK; /* one snapshot for both statements */
    if (st == CP_OK && exists) {
        cp_buf sql = {0}, qname = {0}, cutoff = {0};
        cp_sql_ident(&qname, q->schema->stream);
        cp_sql_read(&sql, qname.p, q, have, latest, '?', false);
        cp_sql_read_cutoff(&cutoff, qname.p, q, '?', false);
        int rc = sql.oom || qname.oom || cutoff.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(s->db, sql.p, -1, &sel, NULL);
        if (rc == SQLITE_OK && !latest && q->limit)
            rc = sqlite3_prepare_v2(s->db, cutoff.p, -1, &cut, NULL);
        cp_buf_free(&sql);
        cp_buf_free(&qname);
        cp_buf_free(&cutoff);
        if (rc != SQLITE_OK)
            st = read_failed(ctx, s, rc, "cannot read back");
    }
    int64_t from = q->from_ms;
    for (int k = 0; k < 2 && st == CP_OK && !latest; k++) {
        sqlite3_stmt *t = k ? sel : cut;
        if (!t)
            continue;
        int n = 1;
        for (size_t j = 0; j < q->nseries; j++)
            sqlite3_bind_text(t, n++, q->values[j] ? q->values[j] : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(t, n++, from);
        sqlite3_bind_int64(t, n++, q->to_ms);
        sqlite3_bind_int64(t, n, k ? INT64_MAX : (sqlite3_int64)q->limit - 1);
        if (!k) { /* the newest `limit` rows start at the cutoff's time */
            int rc = sqlite3_step(t);
            if (rc == SQLITE_ROW && sqlite3_column_int64(t, 0) > from)
                from = sqlite3_column_int64(t, 0);
            else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                st = read_failed(ctx, s, rc, "cannot read back");
        }
    }
    int rc = SQLITE_DONE;
    bool more = true;
    cp_batch *b = NULL;
    size_t nf = q->schema->nfields;
    cp_type *types = st == CP_OK ? malloc((nf + 1) * sizeof *types) : NULL;
    if (st == CP_OK && !types)
        st = CP_ERR_NOMEM;
    for (size_t i = 0; types && i < nf; i++)
        types[i] = cp_schema_field(q->schema, i)->type;
    while (st == CP_OK && sel && more && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        if (!b && !(b = cp_batch_new(ctx, q->schema, 1024))) {
            st = CP_ERR_NOMEM;
            break;
        }
        size_t r = cp_batch_add_row(ctx, b);
        for (size_t i = 0; i < nf; i++)
            read_cell(ctx, b, r, i, types[i], sel);
        if (cp_batch_rows(ctx, b) == 1024) {
            more = fn(user, b);
            cp_batch_free(ctx, b);
            b = NULL;
        }
    }
    if (st == CP_OK && more && rc != SQLITE_DONE && rc != SQLITE_ROW)
        st = read_failed(ctx, s, rc, "cannot read back");
    if (st == CP_OK && more && b && cp_batch_rows(ctx, b))
        fn(user, b);
    if (b)
        cp_batch_free(ctx, b);
    free(types);
    sqlite3_finalize(sel);
    sqlite3_finalize(cut);
    if (txn)
        sqlite3_exec(s->db, "END", NULL, NULL, NULL);
    free(have);
    return st;
}

static cp_status sq_read_range(void *instance, cp_ctx *ctx, const cp_read_query *q, cp_batch_fn fn, void *user)
{
    return sq_read(instance, ctx, q, false, fn, user);
}

static cp_status sq_read_latest(void *instance, cp_ctx *ctx, const cp_read_query *q, cp_batch_fn fn, void *user)
{
    return sq_read(instance, ctx, q, true, fn, user);
}

/* ---- `coinpipe ddl sqlite`: the tables prepare_table creates ------------------------------- */

static const char *const sq_dialects[] = {"sqlite", NULL};

static void sq_table_name(cp_buf *b, const void *arg, const char *stream) { cp_sql_ident(b, stream); }

static cp_status sq_ddl(cp_ctx *ctx, const void *config, const char *dialect, const cp_schema *const *schemas,
                        size_t n, cp_text_fn fn, void *user)
{
    if (strcmp(dialect, "sqlite"))
        return CP_ERR_UNSUPPORTED;
    const sq_config *cfg = config;
    bool decimal_text = cfg && cfg->decimal_as && !strcmp(cfg->decimal_as, "text");
    return cp_sql_ddl_tables(schemas, n, "sqlite", decimal_text, sq_table_name, NULL, fn, user);
}

CP_PLUGIN_DEFINE(.name = "sqlite", .kind = CP_SINK, .version = "0.1.0",
                 .description = "Writes each stream into a table of a SQLite database file",
                 .options = sq_options, .config_size = sizeof(sq_config), .create = sq_create,
                 .destroy = sq_destroy, .write = sq_write, .stored_series = sq_stored_series,
                 .candle_gaps = sq_candle_gaps, .read_range = sq_read_range, .read_latest = sq_read_latest,
                 .ddl_dialects = sq_dialects, .ddl = sq_ddl);
