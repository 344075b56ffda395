/* Sink "postgresql": writes every stream into a table of a PostgreSQL database over libpq.
 * SPDX-License-Identifier: MIT
 *
 * Connects with `conninfo` (keyword/value or URI; empty uses the PG* environment and service
 * files). One table per stream, `<schema>.<table_prefix><stream>`, created from the batch schema
 * (decimal NUMERIC, ts TIMESTAMPTZ, int BIGINT, dbl DOUBLE PRECISION, text TEXT, bool BOOLEAN)
 * with the key columns as PRIMARY KEY; new columns are added. A batch is one transaction:
 * COPY ... FROM STDIN into a temporary staging table, then INSERT ... SELECT ... ON CONFLICT DO
 * NOTHING (DO UPDATE for ohlcv and indicator, whose latest delivery wins). A lost connection
 * is re-opened with backoff and the batch returned for retry: committed or not, never half.
 * Credentials are never logged (passwords in conninfo are redacted).
 */
#include "common/sinkutil.h"

#include <coinpipe/coinpipe.h>

#include <libpq-fe.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct pg_config {
    char *conninfo;
    char *schema;
    char *table_prefix;
    bool create_tables;
    bool timescaledb;
} pg_config;

static const cp_option pg_options[] = {
    {"conninfo", CP_OPT_STRING, "\"\"", CP_OPT_SECRET, 0, 0, offsetof(pg_config, conninfo), NULL,
     "libpq connection string or URI; empty uses the PG* environment variables and service files."},
    {"schema", CP_OPT_STRING, "\"public\"", 0, 0, 0, offsetof(pg_config, schema), NULL,
     "Database schema the tables live in (created when missing and create_tables is on)."},
    {"table_prefix", CP_OPT_STRING, "\"\"", 0, 0, 0, offsetof(pg_config, table_prefix), NULL,
     "Prefix of every table name (the stream name follows it)."},
    {"create_tables", CP_OPT_BOOL, "true", 0, 0, 0, offsetof(pg_config, create_tables), NULL,
     "Create missing tables and add missing columns; off expects them to exist."},
    {"timescaledb", CP_OPT_BOOL, "false", 0, 0, 0, offsetof(pg_config, timescaledb), NULL,
     "Make each table a TimescaleDB hypertable on its time key when the extension is installed."},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
};

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define COPY_CHUNK (256 * 1024)

typedef struct pg_table {
    char *stream;
    cp_schema *schema;  /* what the statements below were built for, NULL = rebuild */
    char *copy_sql;     /* COPY staging (...) FROM STDIN */
    char *insert_sql;   /* INSERT INTO target ... SELECT ... FROM staging ... */
} pg_table;

typedef struct pg {
    const pg_config *cfg;
    char redacted[512]; /* conninfo with passwords replaced, for messages */
    PGconn *conn;
    int64_t next_connect_ms; /* backoff: no connection attempt before this */
    int64_t backoff_ms;
    size_t ntables;
    pg_table *tables;
    sk_buf copy;
    bool warned_timescale;
} pg;

static void ignore_notice(void *arg, const char *message) {}

static void table_reset(pg_table *t)
{
    free(t->schema);
    free(t->copy_sql);
    free(t->insert_sql);
    t->schema = NULL;
    t->copy_sql = t->insert_sql = NULL;
}

static void disconnect(pg *p)
{
    if (p->conn)
        PQfinish(p->conn);
    p->conn = NULL;
    for (size_t i = 0; i < p->ntables; i++)
        table_reset(&p->tables[i]); /* staging tables are per connection */
}

/* one line of the server's or libpq's error, without the trailing newline */
static const char *errline(pg *p, char *buf, size_t len)
{
    snprintf(buf, len, "%s", p->conn ? PQerrorMessage(p->conn) : "no connection");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == '\n')
            *c = ' ';
    return buf;
}

static cp_status connect_db(pg *p, cp_ctx *ctx)
{
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return CP_OK;
    int64_t now = cp_now_ms(ctx);
    if (now < p->next_connect_ms)
        return CP_RETRY;
    disconnect(p);
    /* our defaults come first so that the user's conninfo (expanded from dbname) overrides them */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {"10", "coinpipe", p->cfg->conninfo ? p->cfg->conninfo : "", NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        char err[512];
        p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (p->backoff_ms > BACKOFF_MAX_MS)
            p->backoff_ms = BACKOFF_MAX_MS;
        p->next_connect_ms = now + p->backoff_ms;
        cp_log_warn(ctx, "postgresql: cannot connect (%s): %s; next attempt in %lld ms", p->redacted,
                    errline(p, err, sizeof err), (long long)p->backoff_ms);
        disconnect(p);
        return CP_RETRY;
    }
    PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
    if (p->backoff_ms)
        cp_log_info(ctx, "postgresql: connected again to %s", p->redacted);
    p->backoff_ms = 0;
    p->next_connect_ms = 0;
    return CP_OK;
}

/* transient (connection, resources, locks, shutdown) vs permanent (data, schema, SQL) */
static cp_status classify(pg *p, const PGresult *res)
{
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK)
        return CP_RETRY;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return CP_RETRY;
    if (!strncmp(state, "22", 2) || !strncmp(state, "23", 2) || (!strncmp(state, "42", 2) && strcmp(state, "42501")))
        return CP_REJECT;
    return CP_RETRY;
}

/* runs one command; on failure logs `what` with the server's message and classifies it */
static cp_status run(pg *p, cp_ctx *ctx, const char *sql, ExecStatusType want, const char *what)
{
    PGresult *res = PQexec(p->conn, sql);
    if (res && PQresultStatus(res) == want) {
        PQclear(res);
        return CP_OK;
    }
    char err[512];
    cp_status st = classify(p, res);
    cp_log_error(ctx, "postgresql: %s failed: %s", what, errline(p, err, sizeof err));
    PQclear(res);
    return st;
}

static void qualified(sk_buf *b, const pg_config *cfg, const char *stream)
{
    sk_sql_ident(b, cfg->schema && *cfg->schema ? cfg->schema : "public");
    sk_buf_putc(b, '.');
    sk_buf *tmp = &(sk_buf){0};
    sk_buf_printf(tmp, "%s%s", cfg->table_prefix ? cfg->table_prefix : "", stream);
    sk_sql_ident(b, tmp->oom ? stream : tmp->p);
    sk_buf_free(tmp);
}

static void timescale(pg *p, cp_ctx *ctx, const char *target, const cp_schema *s)
{
    const char *tcol = NULL;
    for (size_t i = 0; i < s->nfields && !tcol; i++)
        if (s->fields[i].type == CP_T_TIMESTAMP && (s->fields[i].flags & CP_FIELD_KEY))
            tcol = s->fields[i].name;
    PGresult *res = PQexec(p->conn, "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'");
    bool have = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    if (!have || !tcol) {
        if (!p->warned_timescale)
            cp_log_warn(ctx, "postgresql: timescaledb is on but %s; %s stays a plain table",
                        have ? "the stream has no time key" : "the extension is not installed", target);
        p->warned_timescale = true;
        return;
    }
    const char *params[2] = {target, tcol};
    res = PQexecParams(p->conn, "SELECT create_hypertable($1::regclass, $2::name, if_not_exists => TRUE, "
                                "migrate_data => TRUE)",
                       2, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        char err[512];
        cp_log_warn(ctx, "postgresql: create_hypertable(%s): %s", target, errline(p, err, sizeof err));
    }
    PQclear(res);
}

/* creates or evolves the target table (outside the batch's transaction), the staging table,
 * and the COPY and INSERT statements for `s` */
static cp_status prepare_table(pg *p, cp_ctx *ctx, pg_table *t, const cp_schema *s)
{
    table_reset(t);
    const pg_config *cfg = p->cfg;
    sk_buf target = {0}, stage = {0}, sql = {0};
    qualified(&target, cfg, s->stream);
    sk_buf_puts(&stage, "pg_temp.");
    sk_buf *sname = &(sk_buf){0};
    sk_buf_printf(sname, "cp_stage_%s", s->stream);
    sk_sql_ident(&stage, sname->p ? sname->p : "cp_stage");
    sk_buf_free(sname);
    cp_status st = CP_OK;

    if (cfg->create_tables) {
        if (cfg->schema && *cfg->schema && strcmp(cfg->schema, "public")) {
            sk_buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS ");
            sk_sql_ident(&sql, cfg->schema);
            st = run(p, ctx, sql.p, PGRES_COMMAND_OK, "CREATE SCHEMA");
        }
        if (st == CP_OK) {
            sk_buf_reset(&sql);
            sk_sql_create_table(&sql, target.p, s, "postgresql", false);
            st = run(p, ctx, sql.p, PGRES_COMMAND_OK, "CREATE TABLE");
        }
        if (st == CP_OK) {
            sk_buf_reset(&sql);
            sk_buf_printf(&sql, "ALTER TABLE %s", target.p);
            for (size_t i = 0; i < s->nfields; i++) {
                sk_buf_puts(&sql, i ? ", ADD COLUMN IF NOT EXISTS " : " ADD COLUMN IF NOT EXISTS ");
                sk_sql_ident(&sql, s->fields[i].name);
                sk_buf_printf(&sql, " %s", sk_sql_type(s->fields[i].type, "postgresql", false));
            }
            st = run(p, ctx, sql.p, PGRES_COMMAND_OK, "ALTER TABLE ADD COLUMN");
        }
        if (st == CP_OK && cfg->timescaledb)
            timescale(p, ctx, target.p, s);
    }
    /* staging: the batch's columns plus an ordinal (the latest duplicate wins in DO UPDATE) */
    if (st == CP_OK) {
        sk_buf_reset(&sql);
        sk_buf_printf(&sql, "DROP TABLE IF EXISTS %s; CREATE TEMP TABLE %s (", stage.p, stage.p);
        for (size_t i = 0; i < s->nfields; i++) {
            sk_sql_ident(&sql, s->fields[i].name);
            sk_buf_printf(&sql, " %s, ", sk_sql_type(s->fields[i].type, "postgresql", false));
        }
        sk_buf_puts(&sql, "cp_ord BIGSERIAL) ON COMMIT DELETE ROWS");
        st = run(p, ctx, sql.p, PGRES_COMMAND_OK, "CREATE TEMP TABLE");
    }
    if (st == CP_OK) {
        sk_buf copy = {0}, ins = {0};
        sk_buf_printf(&copy, "COPY %s (", stage.p);
        sk_sql_columns(&copy, s, NULL);
        sk_buf_puts(&copy, ") FROM STDIN");
        bool latest = sk_latest_wins(s->stream);
        sk_buf_printf(&ins, "INSERT INTO %s (", target.p);
        sk_sql_columns(&ins, s, NULL);
        sk_buf_puts(&ins, ") SELECT ");
        if (latest) {
            sk_buf_puts(&ins, "DISTINCT ON (");
            sk_sql_keys(&ins, s);
            sk_buf_puts(&ins, ") ");
        }
        sk_sql_columns(&ins, s, NULL);
        sk_buf_printf(&ins, " FROM %s", stage.p);
        if (latest) {
            sk_buf_puts(&ins, " ORDER BY ");
            sk_sql_keys(&ins, s);
            sk_buf_puts(&ins, ", cp_ord DESC");
        }
        sk_sql_on_conflict(&ins, s, latest);
        t->copy_sql = copy.p;
        t->insert_sql = ins.p;
        t->schema = sk_schema_copy(s);
        if (copy.oom || ins.oom || !t->schema) {
            table_reset(t);
            st = CP_ERR_NOMEM;
        }
    }
    if (sql.oom || target.oom || stage.oom)
        st = CP_ERR_NOMEM;
    sk_buf_free(&target);
    sk_buf_free(&stage);
    sk_buf_free(&sql);
    return st;
}

static pg_table *table_for(pg *p, const char *stream)
{
    for (size_t i = 0; i < p->ntables; i++)
        if (!strcmp(p->tables[i].stream, stream))
            return &p->tables[i];
    pg_table *n = realloc(p->tables, (p->ntables + 1) * sizeof *n);
    if (!n)
        return NULL;
    p->tables = n;
    pg_table *t = &n[p->ntables];
    memset(t, 0, sizeof *t);
    if (!(t->stream = strdup(stream)))
        return NULL;
    p->ntables++;
    return t;
}

/* COPY text format: backslash, tab, newline and carriage return escaped; \N is NULL */
static void copy_text(sk_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\' && c != '\t' && c != '\n' && c != '\r')
            continue;
        sk_buf_put(b, s + start, i - start);
        sk_buf_putc(b, '\\');
        sk_buf_putc(b, c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\');
        start = i + 1;
    }
    sk_buf_put(b, s + start, n - start);
}

static void copy_cell(sk_buf *b, cp_ctx *ctx, const cp_batch *batch, size_t row, size_t col, cp_type type)
{
    if (cp_batch_is_null(ctx, batch, row, col)) {
        sk_buf_put(b, "\\N", 2);
        return;
    }
    switch (type) {
    case CP_T_BOOL:
        sk_buf_putc(b, cp_batch_get_bool(ctx, batch, row, col) ? 't' : 'f');
        return;
    case CP_T_STRING: {
        size_t n = 0;
        const char *s = cp_batch_get_text(ctx, batch, row, col, &n);
        copy_text(b, s ? s : "", n);
        return;
    }
    default: /* numbers, decimals verbatim, ISO-8601 times: nothing to escape */
        sk_csv_cell(b, ctx, batch, row, col, type);
        return;
    }
}

static cp_status send_copy(pg *p, cp_ctx *ctx, pg_table *t, const cp_batch *batch)
{
    PGresult *res = PQexec(p->conn, t->copy_sql);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        char err[512];
        cp_status st = classify(p, res);
        cp_log_error(ctx, "postgresql: COPY into the staging table of %s failed: %s", t->stream,
                     errline(p, err, sizeof err));
        PQclear(res);
        return st;
    }
    PQclear(res);
    const cp_schema *s = t->schema;
    size_t rows = cp_batch_rows(ctx, batch);
    sk_buf *b = &p->copy;
    bool ok = true;
    for (size_t r = 0; r < rows && ok; r++) {
        for (size_t c = 0; c < s->nfields; c++) {
            if (c)
                sk_buf_putc(b, '\t');
            copy_cell(b, ctx, batch, r, c, s->fields[c].type);
        }
        sk_buf_putc(b, '\n');
        if (b->oom)
            break;
        if (b->len >= COPY_CHUNK || r + 1 == rows) {
            ok = PQputCopyData(p->conn, b->p, (int)b->len) == 1;
            sk_buf_reset(b);
        }
    }
    bool oom = b->oom;
    sk_buf_reset(b);
    ok = PQputCopyEnd(p->conn, ok && !oom ? NULL : "coinpipe: aborted") == 1 && ok;
    res = PQgetResult(p->conn);
    cp_status st = CP_OK;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK || !ok) {
        char err[512];
        st = oom ? CP_ERR_NOMEM : classify(p, res);
        cp_log_error(ctx, "postgresql: COPY of %zu %s rows failed: %s", rows, t->stream, errline(p, err, sizeof err));
    }
    PQclear(res);
    while ((res = PQgetResult(p->conn)))
        PQclear(res);
    return st;
}

static cp_status write_once(pg *p, cp_ctx *ctx, const cp_batch *batch)
{
    const cp_schema *s = cp_batch_schema(ctx, batch);
    cp_status st = connect_db(p, ctx);
    if (st != CP_OK)
        return st;
    pg_table *t = table_for(p, s->stream);
    if (!t)
        return CP_ERR_NOMEM;
    if (!sk_schema_same(t->schema, s) && (st = prepare_table(p, ctx, t, s)) != CP_OK) {
        table_reset(t);
        return st;
    }
    st = run(p, ctx, "BEGIN", PGRES_COMMAND_OK, "BEGIN");
    if (st == CP_OK)
        st = send_copy(p, ctx, t, batch);
    if (st == CP_OK)
        st = run(p, ctx, t->insert_sql, PGRES_COMMAND_OK, "INSERT from the staging table");
    if (st == CP_OK)
        st = run(p, ctx, "COMMIT", PGRES_COMMAND_OK, "COMMIT");
    if (st != CP_OK && p->conn && PQstatus(p->conn) == CONNECTION_OK) {
        PGresult *res = PQexec(p->conn, "ROLLBACK");
        PQclear(res);
        table_reset(t); /* a rejected batch may come from a changed table: look again next time */
    }
    return st;
}

static cp_status pg_write(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    pg *p = instance;
    if (!cp_batch_rows(ctx, batch))
        return CP_OK;
    bool had_conn = p->conn != NULL;
    cp_status st = write_once(p, ctx, batch);
    if (st == CP_RETRY && had_conn && (!p->conn || PQstatus(p->conn) != CONNECTION_OK)) {
        /* the connection broke under an existing session (server restart, idle timeout):
         * reconnect at once, once; the failed transaction was rolled back by the server */
        cp_log_warn(ctx, "postgresql: connection lost, reconnecting");
        disconnect(p);
        st = write_once(p, ctx, batch);
    }
    if (st == CP_RETRY && p->conn && PQstatus(p->conn) != CONNECTION_OK)
        disconnect(p);
    return st;
}

static void pg_destroy(void *instance)
{
    pg *p = instance;
    if (!p)
        return;
    disconnect(p);
    for (size_t i = 0; i < p->ntables; i++) {
        table_reset(&p->tables[i]);
        free(p->tables[i].stream);
    }
    free(p->tables);
    sk_buf_free(&p->copy);
    free(p);
}

static cp_status pg_create(cp_ctx *ctx, const void *config, void **instance)
{
    const pg_config *cfg = config;
    pg *p = calloc(1, sizeof *p);
    if (!p)
        return CP_ERR_NOMEM;
    p->cfg = cfg;
    if (cfg->conninfo && *cfg->conninfo)
        sk_redact_conninfo(cfg->conninfo, p->redacted, sizeof p->redacted);
    else
        snprintf(p->redacted, sizeof p->redacted, "PG* environment");
    char *err = NULL;
    if (cfg->conninfo && *cfg->conninfo) {
        PQconninfoOption *o = PQconninfoParse(cfg->conninfo, &err);
        if (!o) {
            /* libpq's message quotes no values, but stay on the safe side: only the gist */
            cp_log_error(ctx, "postgresql: conninfo is not a valid connection string or URI (%s)", p->redacted);
            PQfreemem(err);
            free(p);
            return CP_ERR_CONFIG;
        }
        PQconninfoFree(o);
    }
    /* connect now to report a wrong address early; a server that is down is retried later */
    if (connect_db(p, ctx) == CP_OK)
        cp_log_debug(ctx, "postgresql: connected (%s)", p->redacted);
    *instance = p;
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "postgresql", .kind = CP_SINK, .version = "0.1.0",
                 .description = "Writes each stream into a PostgreSQL table (COPY, idempotent upsert)",
                 .options = pg_options, .config_size = sizeof(pg_config), .create = pg_create,
                 .destroy = pg_destroy, .write = pg_write);
