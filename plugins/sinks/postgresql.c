/* Sink "postgresql": writes every stream into a table of a PostgreSQL database over libpq.
 * SPDX-License-Identifier: MIT
 *
 * Connects with `conninfo` (keyword/value or URI; empty uses the PG* environment and service
 * files). One table per stream, `<schema>.<table_prefix><stream>`, created from the batch schema
 * (decimal NUMERIC, ts TIMESTAMPTZ, int BIGINT, dbl DOUBLE PRECISION, text TEXT, bool BOOLEAN)
 * with the key columns as PRIMARY KEY; new columns are added. A batch is one transaction, sent
 * with binary COPY (NUMERIC built from the decimal's exact text, times as microseconds) in
 * statements of at most 250 rows (see send_copy):
 * - when no key repeats inside the batch and none of its keys is in the table yet (one query
 *   per batch looks up, per key prefix, the range the batch spans in the last key column),
 *   the batch is copied straight into the table: new time-series rows, the usual case. After
 *   a batch went in so, the next one of the table goes straight in without the lookup when a
 *   unique index on key columns guards the table: a key already stored fails that COPY (unique
 *   violation, nothing of it kept) and the batch takes the staging path, the next the lookup;
 * - otherwise it is copied into a temporary staging table, then INSERT ... SELECT ... ON
 *   CONFLICT DO NOTHING (DO UPDATE for ohlcv and indicator, whose latest delivery wins).
 * Either way re-delivery never duplicates a row. A lost connection is re-opened with backoff
 * and the batch returned for retry: committed or not, never half. Credentials are never
 * logged (passwords in conninfo are redacted). The COPY encoder is postgresql_copy.h.
 */
#include "postgresql_copy.h"

#include <coinpipe/csv.h>
#include <coinpipe/schema.h>
#include <coinpipe/sql.h>
#include <coinpipe/utc.h>

#include <coinpipe/coinpipe.h>

#include <libpq-fe.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct pg_config {
    char *conninfo;
    char *schema;
    char *table_prefix;
    bool create_tables;
    bool timescaledb;
    int64_t statement_timeout_ms;
} pg_config;

static const cp_option pg_options[] = {
    {.name = "conninfo", .type = CP_OPT_STRING, .def = "\"\"", .flags = CP_OPT_SECRET,
     .offset = offsetof(pg_config, conninfo),
     .doc = "libpq connection string or URI; empty uses the PG* environment variables and service files."},
    {.name = "schema", .type = CP_OPT_STRING, .def = "\"public\"", .offset = offsetof(pg_config, schema),
     .doc = "Database schema the tables live in (created when missing and create_tables is on)."},
    {.name = "table_prefix", .type = CP_OPT_STRING, .def = "\"\"", .offset = offsetof(pg_config, table_prefix),
     .doc = "Prefix of every table name (the stream name follows it)."},
    {.name = "create_tables", .type = CP_OPT_BOOL, .def = "true", .offset = offsetof(pg_config, create_tables),
     .doc = "Create missing tables and add missing columns (in one transaction under the advisory lock 7165061455223025765, so that collectors sharing a database do not race); off expects them to exist."},
    {.name = "timescaledb", .type = CP_OPT_BOOL, .def = "false", .offset = offsetof(pg_config, timescaledb),
     .doc = "Make each table a TimescaleDB hypertable on its time key when the extension is installed."},
    {.name = "statement_timeout", .type = CP_OPT_DURATION, .def = "\"60s\"", .max = 86400000,
     .offset = offsetof(pg_config, statement_timeout_ms),
     .doc = "Longest a statement may run (a lock held elsewhere, a stalled server) before the server cancels it and "
     "the batch is retried; 0 = no limit."},
    CP_OPTION_END,
};

/* the advisory lock key every coinpipe takes around its CREATE/ALTER TABLE (the bytes of
 * "coinpipe" as a bigint); documented in docs and the man page for DBAs who see it held */
#define PG_DDL_LOCK "7165061455223025765"
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define COPY_CHUNK (64 * 1024) /* the server parses one chunk while the next is encoded */
#define COPY_ROWS 250          /* rows per COPY statement (see send_copy) */
#define RANGES_KEEP 1024 /* key-prefix slots kept between batches; a bigger table is freed */
#define RANGES_LOOKUP 10000 /* more key prefixes than this in a batch: staging, no lookup query */

typedef struct pg_table {
    char *stream;
    cp_schema *schema;         /* what the statements below were built for, NULL = rebuild */
    char *copy_sql;            /* COPY staging (...) FROM STDIN (FORMAT binary) */
    char *insert_sql;          /* INSERT INTO target ... SELECT ... FROM staging ... */
    char *insert_unique_sql;   /* the same without DISTINCT ON, for a batch without repeated keys */
    char *direct_sql;          /* COPY target (...) FROM STDIN (FORMAT binary); NULL: staging only */
    char *check_head, *check_tail; /* SELECT 1 FROM target JOIN (VALUES ... ) ...: keys already there */
    size_t nkeys;
    size_t last_key;           /* the last key column (its range is looked up per key prefix) */
    bool guarded;              /* a unique index on key columns: a direct COPY meeting a stored key fails */
    bool probe;                /* look the keys up before the next direct COPY (see write_direct) */
} pg_table;

/* the keys of one batch, per key prefix (the key columns but the last): the range of the last
 * key column its rows span; an open-addressing hash table */
typedef struct pg_range {
    uint64_t hash;
    size_t row; /* a row with this prefix, 0 = free slot (rows are stored + 1) */
    int64_t lo, hi;
} pg_range;

typedef struct pg {
    const pg_config *cfg;
    char redacted[512]; /* conninfo with passwords replaced, for messages */
    PGconn *conn;
    int64_t next_connect_ms; /* backoff: no connection attempt before this */
    int64_t backoff_ms;
    size_t ntables;
    pg_table *tables;
    cp_buf copy;
    cp_buf check;
    pg_range *ranges;
    size_t ranges_cap, nranges;
    bool warned_timescale;
} pg;

/* copies a libpq conninfo into out with every password value replaced by "***". */
static void redact_conninfo(const char *in, char *out, size_t outlen)
{
    if (!outlen)
        return;
    size_t o = 0;
    const char *p = in ? in : "";
    while (*p && o + 1 < outlen) {
        /* keyword form: password=value or password = 'va lue'; URI form: user:pass@ */
        if (!strncmp(p, "password", 8) && (p == in || p[-1] == ' ' || p[-1] == '?' || p[-1] == '&')) {
            const char *q = p + 8;
            while (*q == ' ')
                q++;
            if (*q == '=') {
                q++;
                while (*q == ' ')
                    q++;
                if (*q == '\'') {
                    for (q++; *q && *q != '\''; q++)
                        if (*q == '\\' && q[1])
                            q++;
                    if (*q)
                        q++;
                } else {
                    while (*q && *q != ' ' && *q != '&')
                        q++;
                }
                const char *rep = "password=***";
                for (const char *r = rep; *r && o + 1 < outlen; r++)
                    out[o++] = *r;
                p = q;
                continue;
            }
        }
        if (!strncmp(p, "://", 3)) {
            /* scheme://user:secret@host → scheme://user:***@host */
            const char *at = strchr(p + 3, '@');
            const char *slash = strchr(p + 3, '/');
            const char *colon = strchr(p + 3, ':');
            if (at && (!slash || at < slash) && colon && colon < at) {
                for (const char *r = p; r <= colon && o + 1 < outlen; r++)
                    out[o++] = *r;
                for (const char *r = "***"; *r && o + 1 < outlen; r++)
                    out[o++] = *r;
                p = at;
                continue;
            }
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

static void ignore_notice(void *arg, const char *message) {}

static void table_reset(pg_table *t)
{
    free(t->schema);
    free(t->copy_sql);
    free(t->insert_sql);
    free(t->insert_unique_sql);
    free(t->direct_sql);
    free(t->check_head);
    free(t->check_tail);
    t->schema = NULL;
    t->copy_sql = t->insert_sql = t->insert_unique_sql = t->direct_sql = t->check_head = t->check_tail = NULL;
    t->guarded = false;
    t->probe = true;
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

static cp_status run(pg *p, cp_ctx *ctx, const char *sql, ExecStatusType want, const char *what);

static cp_status connect_db(pg *p, cp_ctx *ctx)
{
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return CP_OK;
    int64_t now = cp_now_ms(ctx);
    if (now < p->next_connect_ms)
        return CP_RETRY;
    disconnect(p);
    /* our defaults come first so that the user's conninfo (expanded from dbname) overrides them;
     * TCP keepalives and a user timeout notice a peer that vanished without closing (a cut
     * network) within about a minute instead of the kernel's two hours */
    const char *const keys[] = {"connect_timeout", "application_name", "keepalives", "keepalives_idle",
                                "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname", NULL};
    const char *const vals[] = {"10", "coinpipe", "1", "30", "10", "3", "60000",
                                p->cfg->conninfo ? p->cfg->conninfo : "", NULL};
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
    char set[64];
    snprintf(set, sizeof set, "SET statement_timeout = %lld", (long long)p->cfg->statement_timeout_ms);
    if (run(p, ctx, set, PGRES_COMMAND_OK, "setting statement_timeout") != CP_OK) {
        disconnect(p);
        return CP_RETRY;
    }
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

static void qualified(cp_buf *b, const pg_config *cfg, const char *stream)
{
    cp_sql_ident(b, cfg->schema && *cfg->schema ? cfg->schema : "public");
    cp_buf_putc(b, '.');
    cp_buf *tmp = &(cp_buf){0};
    cp_buf_printf(tmp, "%s%s", cfg->table_prefix ? cfg->table_prefix : "", stream);
    cp_sql_ident(b, tmp->oom ? stream : tmp->p);
    cp_buf_free(tmp);
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

/* true when binary COPY can go straight into the target: a plain (or partitioned) table
 * without rules whose columns have exactly the types we send (a table made by hand with
 * other types keeps going through the staging table, whose INSERT casts) */
static bool target_takes_binary(pg *p, const char *target, const cp_schema *s)
{
    const char *params[1] = {target};
    PGresult *res = PQexecParams(p->conn,
                                 "SELECT a.attname, a.atttypid::int, c.relkind::text, c.relhasrules::int "
                                 "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                                 "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                                 1, NULL, params, NULL, NULL, 0);
    bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
    for (size_t i = 0; ok && i < s->nfields; i++) {
        bool found = false;
        for (int r = 0; r < PQntuples(res) && !found; r++) {
            if (strcmp(PQgetvalue(res, r, 0), s->fields[i].name))
                continue;
            found = true;
            unsigned oid = (unsigned)strtoul(PQgetvalue(res, r, 1), NULL, 10);
            ok = oid == pgcopy_type_oid(s->fields[i].type) || (s->fields[i].type == CP_T_STRING && oid == OID_VARCHAR);
            const char *kind = PQgetvalue(res, r, 2);
            ok = ok && (!strcmp(kind, "r") || !strcmp(kind, "p")) && !strcmp(PQgetvalue(res, r, 3), "0");
        }
        ok = ok && found;
    }
    PQclear(res);
    return ok;
}

/* true when the target has a valid, immediate, unique index whose columns are all key columns
 * of `s`: a COPY that meets a key already stored then fails (unique violation) instead of
 * storing it twice */
static bool keys_guarded(pg *p, const char *target, const cp_schema *s)
{
    const char *params[1] = {target};
    PGresult *res = PQexecParams(p->conn,
                                 "SELECT x.indexrelid, a.attname FROM pg_index x JOIN pg_attribute a "
                                 "ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey) "
                                 "WHERE x.indrelid = to_regclass($1) AND x.indisunique AND x.indimmediate "
                                 "AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL ORDER BY 1",
                                 1, NULL, params, NULL, NULL, 0);
    int n = res && PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    bool found = false;
    for (int r = 0, end; r < n && !found; r = end) { /* the rows of one index, then the next */
        found = true;
        for (end = r; end < n && !strcmp(PQgetvalue(res, end, 0), PQgetvalue(res, r, 0)); end++) {
            bool key = false;
            for (size_t i = 0; i < s->nfields && !key; i++)
                key = (s->fields[i].flags & CP_FIELD_KEY) &&
                      !strcmp(PQgetvalue(res, end, 1), s->fields[i].name);
            found = found && key;
        }
    }
    PQclear(res);
    return found;
}

/* creates or evolves the target table (outside the batch's transaction), the staging table,
 * and the COPY, INSERT and key-lookup statements for `s` */
static cp_status prepare_table(pg *p, cp_ctx *ctx, pg_table *t, const cp_schema *s)
{
    table_reset(t);
    const pg_config *cfg = p->cfg;
    cp_buf target = {0}, stage = {0}, sql = {0};
    qualified(&target, cfg, s->stream);
    cp_buf_puts(&stage, "pg_temp.");
    cp_buf *sname = &(cp_buf){0};
    cp_buf_printf(sname, "cp_stage_%s", s->stream);
    cp_sql_ident(&stage, sname->p ? sname->p : "cp_stage");
    cp_buf_free(sname);
    cp_status st = CP_OK;

    if (cfg->create_tables) {
        /* CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE of the same name
         * (two pipelines, or two collectors, sharing a database: the second fails with a
         * unique violation in pg_type or pg_namespace); every coinpipe's DDL runs in one
         * transaction holding this advisory lock, so the second sees the first's table */
        st = run(p, ctx, "BEGIN", PGRES_COMMAND_OK, "BEGIN");
        if (st == CP_OK)
            st = run(p, ctx, "SELECT pg_advisory_xact_lock(" PG_DDL_LOCK ")", PGRES_TUPLES_OK, "DDL lock");
        if (st == CP_OK && cfg->schema && *cfg->schema && strcmp(cfg->schema, "public")) {
            cp_buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS ");
            cp_sql_ident(&sql, cfg->schema);
            st = run(p, ctx, sql.p, PGRES_COMMAND_OK, "CREATE SCHEMA");
        }
        if (st == CP_OK) {
            cp_buf_reset(&sql);
            cp_sql_create_table(&sql, target.p, s, "postgresql", false);
            st = run(p, ctx, sql.p, PGRES_COMMAND_OK, "CREATE TABLE");
        }
        if (st == CP_OK) {
            cp_buf_reset(&sql);
            cp_buf_printf(&sql, "ALTER TABLE %s", target.p);
            for (size_t i = 0; i < s->nfields; i++) {
                cp_buf_puts(&sql, i ? ", ADD COLUMN IF NOT EXISTS " : " ADD COLUMN IF NOT EXISTS ");
                cp_sql_ident(&sql, s->fields[i].name);
                cp_buf_printf(&sql, " %s", cp_sql_type(s->fields[i].type, "postgresql", false));
            }
            st = run(p, ctx, sql.p, PGRES_COMMAND_OK, "ALTER TABLE ADD COLUMN");
        }
        if (st == CP_OK)
            st = run(p, ctx, "COMMIT", PGRES_COMMAND_OK, "COMMIT");
        else if (PQtransactionStatus(p->conn) != PQTRANS_IDLE)
            PQclear(PQexec(p->conn, "ROLLBACK"));
        if (st == CP_OK && cfg->timescaledb) /* its failure is a warning: outside the DDL's transaction */
            timescale(p, ctx, target.p, s);
    }
    /* staging: the batch's columns plus an ordinal (the latest duplicate wins in DO UPDATE) */
    if (st == CP_OK) {
        cp_buf_reset(&sql);
        cp_buf_printf(&sql, "DROP TABLE IF EXISTS %s; CREATE TEMP TABLE %s (", stage.p, stage.p);
        for (size_t i = 0; i < s->nfields; i++) {
            cp_sql_ident(&sql, s->fields[i].name);
            cp_buf_printf(&sql, " %s, ", cp_sql_type(s->fields[i].type, "postgresql", false));
        }
        cp_buf_puts(&sql, "cp_ord BIGSERIAL) ON COMMIT DELETE ROWS");
        st = run(p, ctx, sql.p, PGRES_COMMAND_OK, "CREATE TEMP TABLE");
    }
    if (st == CP_OK) {
        cp_buf copy = {0}, ins = {0}, uniq = {0}, direct = {0}, head = {0}, tail = {0};
        cp_buf_printf(&copy, "COPY %s (", stage.p);
        cp_sql_columns(&copy, s, NULL);
        cp_buf_puts(&copy, ") FROM STDIN (FORMAT binary)");
        bool latest = cp_sql_latest_wins(s->stream);
        for (int pass = 0; pass < 2; pass++) {
            /* pass 0: DISTINCT ON keeps the latest of repeated keys; pass 1: no key repeats */
            cp_buf *b = pass ? &uniq : &ins;
            bool distinct = latest && !pass;
            cp_buf_printf(b, "INSERT INTO %s AS cp_t (", target.p);
            cp_sql_columns(b, s, NULL);
            cp_buf_puts(b, ") SELECT ");
            if (distinct) {
                cp_buf_puts(b, "DISTINCT ON (");
                cp_sql_keys(b, s);
                cp_buf_puts(b, ") ");
            }
            cp_sql_columns(b, s, NULL);
            cp_buf_printf(b, " FROM %s", stage.p);
            if (distinct) {
                cp_buf_puts(b, " ORDER BY ");
                cp_sql_keys(b, s);
                cp_buf_puts(b, ", cp_ord DESC");
            }
            cp_sql_on_conflict(b, s, latest, "postgresql", "cp_t");
        }
        /* keys: the last one's range is looked up per prefix of the others */
        t->nkeys = 0;
        for (size_t i = 0; i < s->nfields; i++)
            if (s->fields[i].flags & CP_FIELD_KEY) {
                t->nkeys++;
                t->last_key = i;
            }
        bool ranged = !t->nkeys || s->fields[t->last_key].type == CP_T_INT64 ||
                      s->fields[t->last_key].type == CP_T_TIMESTAMP;
        if (ranged && target_takes_binary(p, target.p, s)) {
            cp_buf_printf(&direct, "COPY %s (", target.p);
            cp_sql_columns(&direct, s, NULL);
            cp_buf_puts(&direct, ") FROM STDIN (FORMAT binary)");
        }
        t->guarded = direct.p && t->nkeys && keys_guarded(p, target.p, s);
        if (direct.p && t->nkeys) {
            cp_buf_printf(&head, "SELECT 1 FROM %s t JOIN (VALUES ", target.p);
            cp_buf_puts(&tail, ") AS g(");
            size_t k = 0;
            for (size_t i = 0; i < s->nfields; i++)
                if ((s->fields[i].flags & CP_FIELD_KEY) && i != t->last_key)
                    cp_buf_printf(&tail, "k%zu, ", k++);
            cp_buf_puts(&tail, "lo, hi) ON ");
            k = 0;
            for (size_t i = 0; i < s->nfields; i++)
                if ((s->fields[i].flags & CP_FIELD_KEY) && i != t->last_key) {
                    cp_buf_puts(&tail, "t.");
                    cp_sql_ident(&tail, s->fields[i].name);
                    cp_buf_printf(&tail, " = g.k%zu AND ", k++);
                }
            cp_buf_puts(&tail, "t.");
            cp_sql_ident(&tail, s->fields[t->last_key].name);
            cp_buf_puts(&tail, " BETWEEN g.lo AND g.hi LIMIT 1");
        }
        t->copy_sql = copy.p;
        t->insert_sql = ins.p;
        t->insert_unique_sql = uniq.p;
        t->direct_sql = direct.p;
        t->check_head = head.p;
        t->check_tail = tail.p;
        t->schema = cp_schema_copy(s);
        if (copy.oom || ins.oom || uniq.oom || direct.oom || head.oom || tail.oom || !t->schema) {
            table_reset(t);
            st = CP_ERR_NOMEM;
        }
    }
    if (sql.oom || target.oom || stage.oom)
        st = CP_ERR_NOMEM;
    cp_buf_free(&target);
    cp_buf_free(&stage);
    cp_buf_free(&sql);
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

/* the outcome of a COPY or a query, for the caller to log or act on */
typedef struct pg_err {
    char msg[512];
    char state[6]; /* SQLSTATE, "" when none */
    bool value;    /* a value of the batch cannot be sent (the batch is rejected) */
} pg_err;

static void err_from(pg *p, const PGresult *res, pg_err *e)
{
    errline(p, e->msg, sizeof e->msg);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(e->state, sizeof e->state, "%s", state ? state : "");
}

/* appends rows *r.. of a COPY statement that ends before row `end` to b until it holds
 * COPY_CHUNK bytes (the trailer after the last row); false when a value cannot be sent: its
 * column in *badcol, its row in *r */
static bool encode_chunk(cp_buf *b, cp_ctx *ctx, const cp_batch *batch, const cp_schema *s, size_t *r,
                         size_t end, size_t *badcol)
{
    while (*r < end && b->len < COPY_CHUNK && !b->oom) {
        if (!pgcopy_row(b, ctx, batch, *r, s, badcol))
            return false;
        if (++*r == end)
            pgcopy_end(b);
    }
    return true;
}

/*
 * COPY (`sql`, FORMAT binary) of the whole batch; on failure *e says why, unlogged.
 *
 * The rows go in COPY statements of at most COPY_ROWS rows, all in one query string (one
 * transaction: the implicit one of the string, or the caller's). The server creates a tuple
 * slot per row it buffers before writing (up to 1000) and registers each with the statement's
 * resource owner, whose hash degrades to a linear scan when they all point at the same row
 * type: a 1000-row COPY spent about a fifth of the server's time there, four of 250 rows a
 * twentieth. The first rows of each statement are encoded while the server writes the previous
 * one.
 */
static cp_status send_copy(pg *p, cp_ctx *ctx, const char *sql, const pg_table *t, const cp_batch *batch,
                           pg_err *e)
{
    const cp_schema *s = t->schema;
    size_t rows = cp_batch_rows(ctx, batch);
    /* statement k (of parts) ends before row (k + 1) * rows / parts */
    size_t parts = (rows + COPY_ROWS - 1) / COPY_ROWS;
    cp_buf *b = &p->copy;
    cp_buf_reset(b);
    for (size_t i = 0; i < parts; i++)
        cp_buf_printf(b, "%s%s", i ? "; " : "", sql);
    bool sent = !b->oom && PQsendQuery(p->conn, b->p) == 1;
    cp_status st = b->oom ? CP_ERR_NOMEM : CP_OK;
    cp_buf_reset(b);
    if (!sent && st == CP_OK) {
        st = classify(p, NULL);
        err_from(p, NULL, e);
    }
    size_t r = 0, badcol = 0;
    bool bad = false;
    if (sent) {
        pgcopy_begin(b);
        bad = !encode_chunk(b, ctx, batch, s, &r, rows / parts, &badcol);
    }
    for (size_t part = 0; sent && st == CP_OK && part < parts; part++) {
        size_t end = (part + 1) * rows / parts;
        PGresult *res = PQgetResult(p->conn);
        if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
            st = classify(p, res);
            err_from(p, res, e);
            PQclear(res);
            break;
        }
        PQclear(res);
        bool ok = true;
        while (ok && !bad && !b->oom && b->len) {
            ok = PQputCopyData(p->conn, b->p, (int)b->len) == 1;
            cp_buf_reset(b);
            if (r < end)
                bad = !encode_chunk(b, ctx, batch, s, &r, end, &badcol);
        }
        bool oom = b->oom, abort = !ok || oom || bad;
        cp_buf_reset(b);
        ok = PQputCopyEnd(p->conn, abort ? "coinpipe: aborted" : NULL) == 1 && ok;
        if (!abort && part + 1 < parts) { /* ahead: the next statement's first rows */
            pgcopy_begin(b);
            bad = !encode_chunk(b, ctx, batch, s, &r, (part + 2) * rows / parts, &badcol);
        }
        res = PQgetResult(p->conn);
        if (abort && bad && !oom) {
            pgcopy_bad_value(e->msg, sizeof e->msg, ctx, batch, s, r, badcol);
            e->value = true;
            st = CP_REJECT;
        } else if (!res || PQresultStatus(res) != PGRES_COMMAND_OK || !ok) {
            st = oom ? CP_ERR_NOMEM : classify(p, res);
            err_from(p, res, e);
        }
        PQclear(res);
    }
    cp_buf_reset(b);
    PGresult *res;
    /* the end of the string, its commit when it is its own transaction */
    while ((res = PQgetResult(p->conn))) {
        if (st == CP_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
            st = classify(p, res);
            err_from(p, res, e);
        }
        PQclear(res);
    }
    return st;
}

/* ---- are the batch's keys new? -------------------------------------------------------- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}

/* a key cell's bytes: the text, or the number's in `buf` */
static const void *key_bytes(cp_ctx *ctx, const cp_batch *batch, size_t row, size_t col, cp_type type, char buf[8],
                             size_t *n)
{
    if (type == CP_T_STRING || type == CP_T_DECIMAL)
        return cp_batch_get_text(ctx, batch, row, col, n);
    if (type == CP_T_DOUBLE) {
        double d = cp_batch_get_double(ctx, batch, row, col);
        memcpy(buf, &d, 8);
    } else {
        int64_t v = cp_batch_get_int(ctx, batch, row, col);
        memcpy(buf, &v, 8);
    }
    *n = 8;
    return buf;
}

/* hash of the key prefix (key columns but the last) of a row whose keys are not NULL */
static uint64_t prefix_hash(cp_ctx *ctx, const cp_batch *batch, const pg_table *t, size_t row)
{
    const cp_schema *s = t->schema;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t c = 0; c < s->nfields; c++) {
        if (!(s->fields[c].flags & CP_FIELD_KEY) || c == t->last_key)
            continue;
        char buf[8];
        size_t n = 0;
        const void *k = key_bytes(ctx, batch, row, c, s->fields[c].type, buf, &n);
        h = hash_bytes(h, k, n) * 31 + n;
    }
    return h;
}

static bool prefix_equal(cp_ctx *ctx, const cp_batch *batch, const pg_table *t, size_t a, size_t b)
{
    const cp_schema *s = t->schema;
    for (size_t c = 0; c < s->nfields; c++) {
        if (!(s->fields[c].flags & CP_FIELD_KEY) || c == t->last_key)
            continue;
        char ba[8], bb[8];
        size_t na = 0, nb = 0;
        const void *ka = key_bytes(ctx, batch, a, c, s->fields[c].type, ba, &na);
        const void *kb = key_bytes(ctx, batch, b, c, s->fields[c].type, bb, &nb);
        if (na != nb || memcmp(ka, kb, na))
            return false;
    }
    return true;
}

/* adds the run of rows [.., row] with one prefix and last keys lo..hi to its prefix's range;
 * false when it overlaps a range of the same prefix seen before (a key may repeat) or when
 * out of memory */
static bool add_run(pg *p, cp_ctx *ctx, const cp_batch *batch, const pg_table *t, size_t row, int64_t lo, int64_t hi)
{
    if ((p->nranges + 1) * 2 > p->ranges_cap) {
        size_t cap = p->ranges_cap ? p->ranges_cap * 2 : 64;
        pg_range *n = calloc(cap, sizeof *n);
        if (!n)
            return false;
        for (size_t i = 0; i < p->ranges_cap; i++) {
            if (!p->ranges[i].row)
                continue;
            size_t j = p->ranges[i].hash & (cap - 1);
            while (n[j].row)
                j = (j + 1) & (cap - 1);
            n[j] = p->ranges[i];
        }
        free(p->ranges);
        p->ranges = n;
        p->ranges_cap = cap;
    }
    uint64_t h = prefix_hash(ctx, batch, t, row);
    size_t j = h & (p->ranges_cap - 1);
    for (;; j = (j + 1) & (p->ranges_cap - 1)) {
        pg_range *g = &p->ranges[j];
        if (!g->row) {
            *g = (pg_range){h, row + 1, lo, hi};
            p->nranges++;
            return true;
        }
        if (g->hash != h || !prefix_equal(ctx, batch, t, g->row - 1, row))
            continue;
        if (hi < g->lo)
            g->lo = lo;
        else if (lo > g->hi)
            g->hi = hi;
        else
            return false;
        return true;
    }
}

/* true when no key repeats inside the batch; p->ranges then holds, per key prefix, the range
 * of the last key column (which must be an integer or a time) */
static bool keys_unique(pg *p, cp_ctx *ctx, const cp_batch *batch, const pg_table *t)
{
    const cp_schema *s = t->schema;
    cp_type lt = s->fields[t->last_key].type;
    if (!t->nkeys || (lt != CP_T_INT64 && lt != CP_T_TIMESTAMP))
        return false;
    if (p->ranges_cap > RANGES_KEEP) {
        free(p->ranges);
        p->ranges = NULL;
        p->ranges_cap = 0;
    } else if (p->ranges) {
        memset(p->ranges, 0, p->ranges_cap * sizeof *p->ranges);
    }
    p->nranges = 0;
    size_t rows = cp_batch_rows(ctx, batch), start = 0;
    int64_t lo = 0, prev = 0;
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < s->nfields; c++)
            if ((s->fields[c].flags & CP_FIELD_KEY) && cp_batch_is_null(ctx, batch, r, c))
                return false; /* the staging INSERT reports it */
        int64_t v = cp_batch_get_int(ctx, batch, r, t->last_key);
        if (r && prefix_equal(ctx, batch, t, r - 1, r)) {
            if (v <= prev)
                return false; /* not ascending within the run: a key may repeat */
        } else if (r) {
            if (!add_run(p, ctx, batch, t, start, lo, prev))
                return false;
            start = r;
            lo = v;
        } else {
            lo = v;
        }
        prev = v;
    }
    return add_run(p, ctx, batch, t, start, lo, prev);
}

/* appends one key cell as a SQL literal cast to its column type; false if it cannot be one */
static bool put_literal(pg *p, cp_buf *b, cp_ctx *ctx, const cp_batch *batch, size_t row, size_t col, cp_type type,
                        const int64_t *v)
{
    char tmp[32];
    size_t n = 0;
    const char *text = tmp;
    switch (type) {
    case CP_T_STRING:
    case CP_T_DECIMAL:
        text = cp_batch_get_text(ctx, batch, row, col, &n);
        break;
    case CP_T_TIMESTAMP:
        n = cp_utc_iso8601(v ? *v : cp_batch_get_int(ctx, batch, row, col), tmp);
        if (n != 24)
            return false;
        break;
    case CP_T_DOUBLE:
        n = cp_csv_double(cp_batch_get_double(ctx, batch, row, col), tmp);
        break;
    case CP_T_BOOL:
        n = (size_t)snprintf(tmp, sizeof tmp, "%s", cp_batch_get_bool(ctx, batch, row, col) ? "true" : "false");
        break;
    case CP_T_INT64:
        n = cp_csv_int(v ? *v : cp_batch_get_int(ctx, batch, row, col), tmp);
        break;
    }
    if (!cp_buf_reserve(b, 2 * n + 3))
        return false;
    int err = 0;
    b->p[b->len++] = '\'';
    b->len += PQescapeStringConn(p->conn, b->p + b->len, text, n, &err);
    b->p[b->len++] = '\'';
    b->p[b->len] = '\0';
    cp_buf_printf(b, "::%s", cp_sql_type(type, "postgresql", false));
    return !err && !b->oom;
}

/* 1 when a key of the batch may already be in the table, 0 when none is, -1 on error (in *e;
 * the transaction is aborted) */
static int keys_present(pg *p, cp_ctx *ctx, const pg_table *t, const cp_batch *batch, pg_err *e)
{
    const cp_schema *s = t->schema;
    if (p->nranges > RANGES_LOOKUP)
        return 1;
    cp_buf *b = &p->check;
    cp_buf_reset(b);
    cp_buf_puts(b, t->check_head);
    size_t k = 0;
    for (size_t j = 0; j < p->ranges_cap; j++) {
        const pg_range *g = &p->ranges[j];
        if (!g->row)
            continue;
        cp_buf_puts(b, k++ ? ", (" : "(");
        for (size_t c = 0; c < s->nfields; c++)
            if ((s->fields[c].flags & CP_FIELD_KEY) && c != t->last_key) {
                if (!put_literal(p, b, ctx, batch, g->row - 1, c, s->fields[c].type, NULL))
                    return 1;
                cp_buf_puts(b, ", ");
            }
        cp_type lt = s->fields[t->last_key].type;
        if (!put_literal(p, b, ctx, batch, 0, t->last_key, lt, &g->lo))
            return 1;
        cp_buf_puts(b, ", ");
        if (!put_literal(p, b, ctx, batch, 0, t->last_key, lt, &g->hi))
            return 1;
        cp_buf_putc(b, ')');
    }
    cp_buf_puts(b, t->check_tail);
    if (b->oom)
        return 1;
    PGresult *res = PQexec(p->conn, b->p);
    if (b->cap > 64 * 1024)
        cp_buf_free(b); /* a rare big batch does not keep its query text */
    int found = -1;
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
        found = PQntuples(res) > 0;
    else
        err_from(p, res, e);
    PQclear(res);
    return found;
}

/* ---- one batch, one transaction ------------------------------------------------------ */

static bool connected(const pg *p) { return p->conn && PQstatus(p->conn) == CONNECTION_OK; }

/* The batch straight into the target table when its keys are new: the lookup, then one query
 * string of COPY statements that is its own transaction (committed when the server answers it).
 * The lookup is skipped after a batch of the table went in so (t->probe off) when a unique index
 * guards the keys: appending new rows, the usual case, then costs the server no query to parse
 * and plan and the batch one round trip less; a key met anyway fails the COPY with a unique
 * violation (the rows it wrote are dead, as after any failed COPY) and the batch goes through
 * staging, the next ones through the lookup until one is new again. CP_OK (committed),
 * CP_PENDING (not done: a transaction is open for the staging path) or a failure. */
static cp_status write_direct(pg *p, cp_ctx *ctx, pg_table *t, const cp_batch *batch)
{
    pg_err e = {{0}, {0}, false};
    int present = t->nkeys && (t->probe || !t->guarded) ? keys_present(p, ctx, t, batch, &e) : 0;
    cp_status st = CP_OK;
    if (present > 0) {
        st = run(p, ctx, "BEGIN", PGRES_COMMAND_OK, "BEGIN");
        return st == CP_OK ? CP_PENDING : st;
    }
    if (present == 0 && (st = send_copy(p, ctx, t->direct_sql, t, batch, &e)) == CP_OK) {
        t->probe = false;
        return CP_OK;
    }
    t->probe = true;
    if (!connected(p) || e.value || st == CP_ERR_NOMEM) {
        if (e.value)
            cp_log_error(ctx, "postgresql: COPY of %zu %s rows failed: %s", cp_batch_rows(ctx, batch), t->stream,
                         e.msg);
        return st == CP_OK ? CP_RETRY : st;
    }
    /* a key written meanwhile by another session (23505) or bad data: the staging path
     * decides, in a new transaction; a table that does not take the direct COPY after all
     * (a view, a column of another type...) goes through the staging table from now on */
    if (strncmp(e.state, "22", 2) && strncmp(e.state, "23", 2)) {
        cp_log_info(ctx, "postgresql: %s: writing through the staging table from now on (%s)", t->stream, e.msg);
        free(t->direct_sql);
        t->direct_sql = NULL;
    } else {
        cp_log_debug(ctx, "postgresql: %s: direct COPY refused, using the staging table (%s)", t->stream, e.msg);
    }
    st = run(p, ctx, "BEGIN", PGRES_COMMAND_OK, "BEGIN"); /* the failed COPY left no transaction behind */
    return st == CP_OK ? CP_PENDING : st;
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
    if (!cp_schema_equal(t->schema, s) && (st = prepare_table(p, ctx, t, s)) != CP_OK) {
        table_reset(t);
        return st;
    }
    bool unique = keys_unique(p, ctx, batch, t);
    if (t->direct_sql && (unique || !t->nkeys)) {
        st = write_direct(p, ctx, t, batch);
        if (st == CP_OK)
            return CP_OK;
        st = st == CP_PENDING ? CP_OK : st;
    } else {
        st = run(p, ctx, "BEGIN", PGRES_COMMAND_OK, "BEGIN");
    }
    pg_err e = {{0}, {0}, false};
    if (st == CP_OK && (st = send_copy(p, ctx, t->copy_sql, t, batch, &e)) != CP_OK)
        cp_log_error(ctx, "postgresql: COPY of %zu %s rows failed: %s", cp_batch_rows(ctx, batch), t->stream, e.msg);
    if (st == CP_OK)
        st = run(p, ctx, unique ? t->insert_unique_sql : t->insert_sql, PGRES_COMMAND_OK,
                 "INSERT from the staging table");
    if (st == CP_OK)
        st = run(p, ctx, "COMMIT", PGRES_COMMAND_OK, "COMMIT");
    if (st != CP_OK && connected(p)) {
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
    cp_buf_free(&p->copy);
    cp_buf_free(&p->check);
    free(p->ranges);
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
        redact_conninfo(cfg->conninfo, p->redacted, sizeof p->redacted);
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

/* ---- what `coinpipe gaps` reads (ABI 1.1) ------------------------------------------------- */

/* a failed read: logged; a lost connection is transient, anything else an I/O error */
static cp_status read_failed(pg *p, cp_ctx *ctx, const PGresult *res, const char *what)
{
    char err[512];
    cp_log_error(ctx, "postgresql: %s failed: %s", what, errline(p, err, sizeof err));
    return classify(p, res) == CP_RETRY ? CP_RETRY : CP_ERR_IO;
}

/* connects, then opens a read-only snapshot with the qualified table's name of `stream` in
 * *table; *exists false (and no transaction) when there is no such table */
static cp_status read_begin_stream(pg *p, cp_ctx *ctx, const char *stream, cp_buf *table, bool *exists)
{
    *exists = false;
    cp_status st = connect_db(p, ctx);
    if (st != CP_OK)
        return st;
    qualified(table, p->cfg, stream);
    if (table->oom)
        return CP_ERR_NOMEM;
    const char *param[1] = {table->p};
    PGresult *res = PQexecParams(p->conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, param, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        st = read_failed(p, ctx, res, "looking for a table");
    else
        *exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (st == CP_OK && *exists)
        st = run(p, ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", PGRES_COMMAND_OK, "BEGIN");
    if (st != CP_OK)
        *exists = false;
    return st;
}

static cp_status read_begin(pg *p, cp_ctx *ctx, cp_buf *table, bool *exists)
{
    return read_begin_stream(p, ctx, "ohlcv", table, exists);
}

static void read_end(pg *p)
{
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        PQclear(PQexec(p->conn, "ROLLBACK")); /* read only: nothing to keep */
}

/* Lists the series of the ohlcv table: one primary-key seek per series (row comparison with the
 * previous key), so a table of 10^8 rows costs as much as its number of series. */
static cp_status pg_stored_series(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user)
{
    pg *p = instance;
    cp_buf table = {0}, first = {0}, next = {0};
    bool exists = false;
    cp_status st = read_begin(p, ctx, &table, &exists);
    if (st != CP_OK || !exists) {
        cp_buf_free(&table);
        return st;
    }
    const char *cols = "SELECT exchange, symbol, \"interval\", native_symbol FROM ";
    const char *order = " ORDER BY exchange, symbol, \"interval\" LIMIT 1";
    cp_buf_printf(&first, "%s%s%s", cols, table.p, order);
    cp_buf_printf(&next, "%s%s WHERE (exchange, symbol, \"interval\") > ($1, $2, $3)%s", cols, table.p, order);
    if (first.oom || next.oom)
        st = CP_ERR_NOMEM;
    PGresult *res = NULL;
    for (bool more = st == CP_OK; more;) {
        const char *key[3] = {NULL, NULL, NULL};
        if (res)
            for (int i = 0; i < 3; i++)
                key[i] = PQgetvalue(res, 0, i);
        PGresult *r = res ? PQexecParams(p->conn, next.p, 3, NULL, key, NULL, NULL, 0) : PQexec(p->conn, first.p);
        PQclear(res);
        res = r;
        if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
            st = read_failed(p, ctx, res, "listing the candle series");
            break;
        }
        if (PQntuples(res) != 1)
            break;
        cp_series ser = CP_SERIES(.exchange = PQgetvalue(res, 0, 0), .symbol = PQgetvalue(res, 0, 1),
                                  .native_symbol = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3),
                                  .interval = PQgetvalue(res, 0, 2));
        more = fn(user, &ser);
    }
    PQclear(res);
    read_end(p);
    cp_buf_free(&table);
    cp_buf_free(&first);
    cp_buf_free(&next);
    return st;
}

/* Reports the holes of one series with LAG() over the primary key's order, computed by the
 * server: only the rows after a hole cross the network, one at a time (single-row mode). */
static cp_status pg_candle_gaps(void *instance, cp_ctx *ctx, const cp_series *series, int64_t step_ms,
                                int64_t from_ms, int64_t to_ms, cp_gap_fn fn, void *user)
{
    pg *p = instance;
    if (!series || !series->exchange || !series->symbol || !series->interval || step_ms <= 0)
        return CP_ERR_INVALID;
    cp_buf table = {0}, holes = {0}, last = {0};
    bool exists = false;
    cp_status st = read_begin(p, ctx, &table, &exists);
    if (st != CP_OK || !exists) {
        cp_buf_free(&table);
        return st;
    }
    const char *range = " WHERE exchange = $1 AND symbol = $2 AND \"interval\" = $3 AND open_time >= $4::timestamptz "
                        "AND open_time < $5::timestamptz";
#define PG_MS(t) "(extract(epoch FROM " t ") * 1000)::int8"
    /* milliseconds only for the rows that come back: the comparison stays on timestamps */
    cp_buf_printf(&holes,
                  "SELECT " PG_MS("prev") ", " PG_MS("open_time") " FROM (SELECT open_time, lag(open_time) OVER "
                  "(ORDER BY open_time) AS prev FROM %s%s) s WHERE prev IS NULL OR "
                  "open_time - prev > $6::int8 * interval '1 millisecond'",
                  table.p, range);
    cp_buf_printf(&last, "SELECT " PG_MS("open_time") " FROM %s%s ORDER BY open_time DESC LIMIT 1", table.p, range);
#undef PG_MS
    char from[32], to[32], step[24];
    if (from_ms == INT64_MIN)
        snprintf(from, sizeof from, "-infinity");
    else
        cp_utc_iso8601(from_ms, from);
    if (to_ms == INT64_MAX)
        snprintf(to, sizeof to, "infinity");
    else
        cp_utc_iso8601(to_ms, to);
    snprintf(step, sizeof step, "%lld", (long long)step_ms);
    const char *params[6] = {series->exchange, series->symbol, series->interval, from, to, step};
    if (holes.oom || last.oom)
        st = CP_ERR_NOMEM;
    else if (!PQsendQueryParams(p->conn, holes.p, 6, NULL, params, NULL, NULL, 0) || !PQsetSingleRowMode(p->conn))
        st = read_failed(p, ctx, NULL, "reading the candles");
    bool more = true, any = false;
    PGresult *res;
    while (st == CP_OK && (res = PQgetResult(p->conn))) {
        ExecStatusType rs = PQresultStatus(res);
        if (rs == PGRES_SINGLE_TUPLE && more) {
            int64_t prev = PQgetisnull(res, 0, 0) ? INT64_MIN : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            more = fn(user, prev, strtoll(PQgetvalue(res, 0, 1), NULL, 10));
            any = true;
        } else if (rs != PGRES_SINGLE_TUPLE && rs != PGRES_TUPLES_OK) {
            st = read_failed(p, ctx, res, "reading the candles");
        }
        PQclear(res);
    }
    while (st != CP_OK && p->conn && (res = PQgetResult(p->conn))) /* drain after an error */
        PQclear(res);
    if (st == CP_OK && more && any) {
        res = PQexecParams(p->conn, last.p, 5, NULL, params, NULL, NULL, 0);
        if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
            st = read_failed(p, ctx, res, "reading the last candle");
        else if (PQntuples(res) == 1)
            fn(user, strtoll(PQgetvalue(res, 0, 0), NULL, 10), INT64_MAX);
        PQclear(res);
    }
    read_end(p);
    cp_buf_free(&table);
    cp_buf_free(&holes);
    cp_buf_free(&last);
    return st;
}

/* ---- reading back for the dashboard (ABI 2.0) ------------------------------------------ */

/* which of the query's columns the table has, inside read_begin_stream's snapshot */
static cp_status read_columns(pg *p, cp_ctx *ctx, const cp_read_query *q, bool *have)
{
    cp_buf name = {0};
    cp_buf_printf(&name, "%s%s", p->cfg->table_prefix ? p->cfg->table_prefix : "", q->schema->stream);
    const char *params[2] = {p->cfg->schema && *p->cfg->schema ? p->cfg->schema : "public", name.p};
    PGresult *res = name.oom ? NULL
                             : PQexecParams(p->conn, "SELECT column_name FROM information_schema.columns "
                                                     "WHERE table_schema = $1 AND table_name = $2",
                                            2, NULL, params, NULL, NULL, 0);
    cp_status st = CP_OK;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
        st = read_failed(p, ctx, res, "reading a table's columns");
    for (int r = 0; st == CP_OK && r < PQntuples(res); r++)
        for (size_t i = 0; i < q->schema->nfields; i++)
            if (!strcmp(q->schema->fields[i].name, PQgetvalue(res, r, 0)))
                have[i] = true;
    PQclear(res);
    cp_buf_free(&name);
    const char *missing = st == CP_OK ? cp_sql_read_missing(q, have) : NULL;
    if (missing) {
        cp_log_error(ctx, "postgresql: table of stream \"%s\" has no column \"%s\"", q->schema->stream, missing);
        st = CP_ERR_INVALID;
    }
    return st;
}

/* sets cell (r, i) of b from the text of a result's field */
static void read_cell(cp_ctx *ctx, cp_batch *b, size_t r, size_t i, const PGresult *res, int row)
{
    if (PQgetisnull(res, row, (int)i)) {
        cp_batch_set_null(ctx, b, r, i);
        return;
    }
    const char *t = PQgetvalue(res, row, (int)i);
    size_t n = (size_t)PQgetlength(res, row, (int)i);
    switch (cp_batch_schema(ctx, b)->fields[i].type) {
    case CP_T_INT64:
    case CP_T_TIMESTAMP: cp_batch_set_int(ctx, b, r, i, strtoll(t, NULL, 10)); break;
    case CP_T_BOOL: cp_batch_set_bool(ctx, b, r, i, t[0] == 't'); break;
    case CP_T_DOUBLE: cp_batch_set_double(ctx, b, r, i, strtod(t, NULL)); break;
    case CP_T_DECIMAL:
        if (cp_batch_set_decimal(ctx, b, r, i, t, n) != CP_OK)
            cp_batch_set_null(ctx, b, r, i); /* NaN: no decimal */
        break;
    case CP_T_STRING: cp_batch_set_string(ctx, b, r, i, t, n); break;
    }
}

/* one statement in a read-only snapshot, rows streamed (single-row mode) into batches of 1024 */
static cp_status pg_read(void *instance, cp_ctx *ctx, const cp_read_query *q, bool latest, cp_batch_fn fn, void *user)
{
    pg *p = instance;
    if (!q || !q->schema || !q->time_column || (q->nseries && !q->series) || (!latest && q->nseries && !q->values) ||
        q->nseries > 16)
        return CP_ERR_INVALID;
    bool *have = calloc(q->schema->nfields + 1, sizeof *have);
    if (!have)
        return CP_ERR_NOMEM;
    cp_buf table = {0}, sql = {0};
    bool exists = false;
    cp_status st = read_begin_stream(p, ctx, q->schema->stream, &table, &exists);
    if (st == CP_OK && exists)
        st = read_columns(p, ctx, q, have);
    if (st == CP_OK && exists) {
        cp_sql_read(&sql, table.p, q, have, latest, '$', true);
        if (sql.oom)
            st = CP_ERR_NOMEM;
    }
    /* timestamps PostgreSQL can represent: years 1 to 9999 */
    const int64_t lo = -62135596800000LL, hi = 253402300799999LL;
    char num[3][24];
    const char *params[19];
    int np = 0;
    if (!latest) {
        for (size_t k = 0; k < q->nseries; k++)
            params[np++] = q->values[k] ? q->values[k] : "";
        snprintf(num[0], sizeof num[0], "%lld", (long long)(q->from_ms < lo ? lo : q->from_ms > hi ? hi : q->from_ms));
        snprintf(num[1], sizeof num[1], "%lld", (long long)(q->to_ms < lo ? lo : q->to_ms > hi ? hi : q->to_ms));
        snprintf(num[2], sizeof num[2], "%lld", (long long)(q->limit ? q->limit - 1 : 0));
        for (int k = 0; k < 3; k++)
            params[np++] = num[k];
    }
    if (st == CP_OK && exists && !latest && q->limit) { /* the newest `limit` rows start at the cutoff's time */
        cp_buf cutoff = {0};
        cp_sql_read_cutoff(&cutoff, table.p, q, '$', true);
        PGresult *res = cutoff.oom ? NULL : PQexecParams(p->conn, cutoff.p, np, NULL, params, NULL, NULL, 0);
        if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
            st = read_failed(p, ctx, res, "reading back");
        else if (PQntuples(res) == 1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) > strtoll(num[0], NULL, 10))
            snprintf(num[0], sizeof num[0], "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        cp_buf_free(&cutoff);
    }
    snprintf(num[2], sizeof num[2], "%lld", (long long)INT64_MAX);
    if (st == CP_OK && exists &&
        (!PQsendQueryParams(p->conn, sql.p, np, NULL, params, NULL, NULL, 0) || !PQsetSingleRowMode(p->conn)))
        st = read_failed(p, ctx, NULL, "reading back");
    bool more = true;
    cp_batch *b = NULL;
    PGresult *res;
    while (st == CP_OK && exists && (res = PQgetResult(p->conn))) {
        ExecStatusType rs = PQresultStatus(res);
        if (rs == PGRES_SINGLE_TUPLE && more) {
            if (!b && !(b = cp_batch_new(ctx, q->schema, 1024)))
                st = CP_ERR_NOMEM;
            size_t r = b ? cp_batch_add_row(ctx, b) : 0;
            for (size_t i = 0; b && i < q->schema->nfields; i++)
                read_cell(ctx, b, r, i, res, 0);
            if (b && cp_batch_rows(ctx, b) == 1024) {
                more = fn(user, b);
                cp_batch_free(ctx, b);
                b = NULL;
            }
        } else if (rs != PGRES_SINGLE_TUPLE && rs != PGRES_TUPLES_OK) {
            st = read_failed(p, ctx, res, "reading back");
        }
        PQclear(res);
    }
    while (st != CP_OK && p->conn && (res = PQgetResult(p->conn))) /* drain after an error */
        PQclear(res);
    if (st == CP_OK && more && b && cp_batch_rows(ctx, b))
        fn(user, b);
    if (b)
        cp_batch_free(ctx, b);
    if (exists)
        read_end(p);
    cp_buf_free(&table);
    cp_buf_free(&sql);
    free(have);
    return st;
}

static cp_status pg_read_range(void *instance, cp_ctx *ctx, const cp_read_query *q, cp_batch_fn fn, void *user)
{
    return pg_read(instance, ctx, q, false, fn, user);
}

static cp_status pg_read_latest(void *instance, cp_ctx *ctx, const cp_read_query *q, cp_batch_fn fn, void *user)
{
    return pg_read(instance, ctx, q, true, fn, user);
}

/* ---- `coinpipe ddl postgresql`: the statements prepare_table runs when create_tables is on -- */

static const char *const pg_dialects[] = {"postgresql", NULL};

static void pg_table_name(cp_buf *b, const void *cfg, const char *stream) { qualified(b, cfg, stream); }

static cp_status pg_ddl(cp_ctx *ctx, const void *config, const char *dialect, const cp_schema *const *schemas,
                        size_t n, cp_text_fn fn, void *user)
{
    if (strcmp(dialect, "postgresql"))
        return CP_ERR_UNSUPPORTED;
    const pg_config defaults = {.schema = "public", .table_prefix = ""};
    const pg_config *cfg = config ? config : &defaults;
    if (n && cfg->schema && *cfg->schema && strcmp(cfg->schema, "public")) {
        cp_buf b = {0};
        cp_buf_puts(&b, "CREATE SCHEMA IF NOT EXISTS ");
        cp_sql_ident(&b, cfg->schema);
        cp_buf_puts(&b, ";\n\n");
        bool oom = b.oom;
        if (!oom)
            fn(user, b.p, b.len);
        cp_buf_free(&b);
        if (oom)
            return CP_ERR_NOMEM;
    }
    return cp_sql_ddl_tables(schemas, n, "postgresql", false, pg_table_name, cfg, fn, user);
}

CP_PLUGIN_DEFINE(.name = "postgresql", .kind = CP_SINK, .version = "0.1.0",
                 .description = "Writes each stream into a PostgreSQL table (COPY, idempotent upsert)",
                 .options = pg_options, .config_size = sizeof(pg_config), .create = pg_create,
                 .destroy = pg_destroy, .write = pg_write, .stored_series = pg_stored_series,
                 .candle_gaps = pg_candle_gaps, .read_range = pg_read_range, .read_latest = pg_read_latest,
                 .ddl_dialects = pg_dialects, .ddl = pg_ddl);
