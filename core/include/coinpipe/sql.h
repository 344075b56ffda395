/* coinpipe SDK: SQL text for the SQL sinks (types, identifiers, CREATE TABLE, upserts, reads).
 * SPDX-License-Identifier: MIT
 *
 * Header-only (static inline): the sqlite and postgresql sinks build their statements and their
 * `coinpipe ddl` output with it, and a third-party SQL sink may too without any core symbol.
 * Dialects are named as `coinpipe ddl` names them: "postgresql", "sqlite", "athena",
 * "snowflake". Schemas are read through cp_schema_field(), so one built with another ABI 2.x
 * layout is read right. Identifiers are always double-quoted. Nothing allocates except the cp_buf
 * (coinpipe/buf.h) appended to; check its `oom` once at the end.
 */
#ifndef COINPIPE_SQL_H
#define COINPIPE_SQL_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>

#include <stdbool.h>
#include <string.h>


/** Column type of `t` in a SQL dialect: "postgresql", "sqlite" (decimal as REAL unless
 *  decimal_text), "athena" or "snowflake"; another dialect name is taken as "postgresql".
 *  A static string, never NULL. */
static inline const char *cp_sql_type(cp_type t, const char *dialect, bool decimal_text)
{
    enum { PG, LITE, ATHENA, SNOW } d = PG;
    if (!strcmp(dialect, "sqlite"))
        d = LITE;
    else if (!strcmp(dialect, "athena"))
        d = ATHENA;
    else if (!strcmp(dialect, "snowflake"))
        d = SNOW;
    static const char *const names[4][7] = {
        /*            -, INT64,     DOUBLE,             DECIMAL,          STRING,    TIMESTAMP,      BOOL */
        [PG] = {"TEXT", "BIGINT", "DOUBLE PRECISION", "NUMERIC", "TEXT", "TIMESTAMPTZ", "BOOLEAN"},
        [LITE] = {"TEXT", "INTEGER", "REAL", "REAL", "TEXT", "INTEGER", "INTEGER"},
        /* OpenCSVSerde does not parse ISO-8601 times: they stay strings (from_iso8601_timestamp) */
        [ATHENA] = {"string", "bigint", "double", "decimal(38,18)", "string", "string", "boolean"},
        [SNOW] = {"VARCHAR", "NUMBER(19,0)", "FLOAT", "NUMBER(38,18)", "VARCHAR", "TIMESTAMP_TZ", "BOOLEAN"},
    };
    if (d == LITE && t == CP_T_DECIMAL && decimal_text)
        return "TEXT";
    if (t < CP_T_INT64 || t > CP_T_BOOL)
        return names[d][0];
    return names[d][t];
}

/** Appends `name` as a double-quoted SQL identifier (quotes doubled). */
static inline void cp_sql_ident(cp_buf *b, const char *name)
{
    cp_buf_putc(b, '"');
    for (; *name; name++) {
        if (*name == '"')
            cp_buf_putc(b, '"');
        cp_buf_putc(b, *name);
    }
    cp_buf_putc(b, '"');
}

/** Appends the comma-separated quoted names of the key columns; returns how many. */
static inline size_t cp_sql_keys(cp_buf *b, const cp_schema *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nfields; i++)
        if (cp_schema_field(s, i)->flags & CP_FIELD_KEY) {
            if (k++)
                cp_buf_puts(b, ", ");
            cp_sql_ident(b, cp_schema_field(s, i)->name);
        }
    return k;
}

/**
 * Appends "CREATE TABLE IF NOT EXISTS <qualified> (cols..., PRIMARY KEY (keys))" for a
 * schema in `dialect` ("postgresql" or "sqlite"). `qualified` is already quoted.
 */
static inline void cp_sql_create_table(cp_buf *b, const char *qualified, const cp_schema *s, const char *dialect,
                                       bool decimal_text)
{
    cp_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s (\n", qualified);
    size_t nkeys = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const cp_field *f = cp_schema_field(s, i);
        cp_buf_puts(b, "    ");
        cp_sql_ident(b, f->name);
        cp_buf_putc(b, ' ');
        cp_buf_puts(b, cp_sql_type(f->type, dialect, decimal_text));
        if (f->flags & CP_FIELD_KEY) {
            cp_buf_puts(b, " NOT NULL");
            nkeys++;
        }
        cp_buf_puts(b, i + 1 < s->nfields || nkeys ? ",\n" : "\n");
    }
    if (nkeys) {
        cp_buf_puts(b, "    PRIMARY KEY (");
        cp_sql_keys(b, s);
        cp_buf_puts(b, ")\n");
    }
    /* SQLite: one B-tree keyed by the primary key instead of a rowid table plus an index */
    cp_buf_puts(b, nkeys && !strcmp(dialect, "sqlite") ? ") WITHOUT ROWID" : ")");
}

/** Appends the quoted, qualified table name of `stream` (for cp_sql_ddl_tables). */
typedef void (*cp_sql_table_fn)(cp_buf *b, const void *arg, const char *stream);

/**
 * The body of a SQL sink's `ddl` callback: passes "CREATE TABLE IF NOT EXISTS <table> (...);"
 * and a blank line for each of the `n` schemas to fn (one text per table), the table named by
 * table(b, arg, stream) and built by cp_sql_create_table in `dialect`. CP_OK, or CP_ERR_NOMEM
 * (the tables before the failure were passed).
 */
static inline cp_status cp_sql_ddl_tables(const cp_schema *const *schemas, size_t n, const char *dialect,
                                          bool decimal_text, cp_sql_table_fn table, const void *arg, cp_text_fn fn,
                                          void *user)
{
    cp_buf b = {0}, name = {0};
    for (size_t i = 0; i < n && !b.oom && !name.oom; i++) {
        cp_buf_reset(&b);
        cp_buf_reset(&name);
        table(&name, arg, schemas[i]->stream);
        cp_sql_create_table(&b, name.p ? name.p : "", schemas[i], dialect, decimal_text);
        cp_buf_puts(&b, ";\n\n");
        if (!b.oom && !name.oom)
            fn(user, b.p, b.len);
    }
    cp_status st = b.oom || name.oom ? CP_ERR_NOMEM : CP_OK;
    cp_buf_free(&b);
    cp_buf_free(&name);
    return st;
}

/** Appends the comma-separated quoted column names of a schema, each preceded by `prefix`
 *  (e.g. "s.") when not NULL. */
static inline void cp_sql_columns(cp_buf *b, const cp_schema *s, const char *prefix)
{
    for (size_t i = 0; i < s->nfields; i++) {
        if (i)
            cp_buf_puts(b, ", ");
        if (prefix)
            cp_buf_puts(b, prefix);
        cp_sql_ident(b, cp_schema_field(s, i)->name);
    }
}

/**
 * Appends the conflict clause for a schema: "ON CONFLICT (keys) DO UPDATE SET c = excluded.c, ...
 * WHERE <the stored row differs>" when `latest_wins`, else "ON CONFLICT DO NOTHING". No keys:
 * nothing appended. The WHERE leaves a row that comes again unchanged alone (no write, no new
 * row version). `existing` qualifies the stored row's columns in it (PostgreSQL: the alias of
 * "INSERT INTO t AS alias"; NULL for SQLite, where bare names are the stored row). `dialect`
 * "postgresql" compares with IS DISTINCT FROM and decimals as text (1.50 is not 1.5 there),
 * "sqlite" with IS NOT.
 */
static inline void cp_sql_on_conflict(cp_buf *b, const cp_schema *s, bool latest_wins, const char *dialect,
                                      const char *existing)
{
    size_t nkeys = 0;
    for (size_t i = 0; i < s->nfields; i++)
        nkeys += (cp_schema_field(s, i)->flags & CP_FIELD_KEY) != 0;
    if (!nkeys)
        return;
    if (!latest_wins || nkeys == s->nfields) {
        cp_buf_puts(b, " ON CONFLICT DO NOTHING");
        return;
    }
    bool pg = !strcmp(dialect, "postgresql");
    cp_buf_puts(b, " ON CONFLICT (");
    cp_sql_keys(b, s);
    cp_buf_puts(b, ") DO UPDATE SET ");
    for (int where = 0; where < 2; where++) {
        size_t k = 0;
        for (size_t i = 0; i < s->nfields; i++) {
            const cp_field *f = cp_schema_field(s, i);
            if (f->flags & CP_FIELD_KEY)
                continue;
            const char *cast = pg && f->type == CP_T_DECIMAL ? "::text" : "";
            if (k++)
                cp_buf_puts(b, where ? " OR " : ", ");
            if (where && existing) {
                cp_buf_puts(b, existing);
                cp_buf_putc(b, '.');
            }
            cp_sql_ident(b, f->name);
            cp_buf_puts(b, where ? cast : "");
            cp_buf_puts(b, where ? (pg ? " IS DISTINCT FROM excluded." : " IS NOT excluded.") : " = excluded.");
            cp_sql_ident(b, f->name);
            cp_buf_puts(b, where ? cast : "");
        }
        cp_buf_puts(b, where ? "" : " WHERE ");
    }
}

/**
 * Streams whose latest delivery of a key wins instead of the first: rows updated in place while
 * they are still moving (the open candle, indicators computed from it), and the market's state at
 * a millisecond (ticker, book_top), of which a stream can bring several updates within one
 * millisecond, split over two micro-batches: the last update is the state of that millisecond.
 */
static inline bool cp_sql_latest_wins(const char *stream)
{
    return !strcmp(stream, "ohlcv") || !strcmp(stream, "indicator") || !strcmp(stream, "ticker") ||
           !strcmp(stream, "book_top");
}

/** The first of the query's series and time columns the table lacks (have[i] false for
 *  column i of q->schema), or NULL when it has them all. */
static inline const char *cp_sql_read_missing(const cp_read_query *q, const bool *have)
{
    for (size_t k = 0; k < q->nseries + 1; k++) {
        const char *c = k < q->nseries ? q->series[k] : q->time_column;
        bool found = false;
        for (size_t i = 0; i < q->schema->nfields && !found; i++)
            found = have[i] && !strcmp(cp_schema_field(q->schema, i)->name, c);
        if (!found)
            return c;
    }
    return NULL;
}

/** Appends column i of the query's schema as selected: the column (qualified by `alias` when
 *  not NULL), NULL when the table lacks it (have[i] false); with `pg` PostgreSQL timestamps as
 *  integer UTC ms and numerics as text. */
static inline void cp_sql_read_col(cp_buf *b, const cp_read_query *q, size_t i, const bool *have, bool pg,
                                   const char *alias)
{
    const cp_field *f = cp_schema_field(q->schema, i);
    if (!have[i]) {
        cp_buf_puts(b, "NULL");
        return;
    }
    if (pg && f->type == CP_T_TIMESTAMP)
        cp_buf_puts(b, "(extract(epoch from ");
    if (alias)
        cp_buf_printf(b, "%s.", alias);
    cp_sql_ident(b, f->name);
    if (pg && f->type == CP_T_TIMESTAMP)
        cp_buf_puts(b, ") * 1000)::int8");
    else if (pg && f->type == CP_T_DECIMAL)
        cp_buf_puts(b, "::text");
}

/** Appends a time bound "<alias>.<col> <op> <param><n>" (PostgreSQL, `pg`: the parameter,
 *  int64 UTC ms, converted to timestamptz). */
static inline void cp_sql_read_time(cp_buf *b, const char *alias, const char *col, const char *op, char param,
                                    size_t n, bool pg)
{
    if (alias)
        cp_buf_printf(b, "%s.", alias);
    cp_sql_ident(b, col);
    if (pg)
        cp_buf_printf(b, " %s to_timestamp(%c%zu::int8 / 1000.0)", op, param, n);
    else
        cp_buf_printf(b, " %s %c%zu", op, param, n);
}

/* appends "t.s1 = P1 AND t.s2 = P2 AND t.time >= Pn AND t.time < Pn+1" (series, then the range) */
static inline void cp_sql_read_where(cp_buf *b, const cp_read_query *q, char param, bool pg)
{
    size_t n = 1;
    for (size_t k = 0; k < q->nseries; k++, n++) {
        cp_buf_puts(b, "t.");
        cp_sql_ident(b, q->series[k]);
        cp_buf_printf(b, " = %c%zu AND ", param, n);
    }
    cp_sql_read_time(b, "t", q->time_column, ">=", param, n, pg);
    cp_buf_puts(b, " AND ");
    cp_sql_read_time(b, "t", q->time_column, "<", param, n + 1, pg);
}

/**
 * Appends the SELECT of a read_range (latest false) or read_latest (true) query on the table
 * `qtable` (quoted), in the columns of q->schema (those without have[i] as NULL). Parameters,
 * numbered from 1 with `param` ('?' for SQLite, '$' for PostgreSQL): read_range binds the
 * series values, then from_ms, to_ms, limit (int64 each); read_latest binds nothing. `pg`
 * selects PostgreSQL's types (timestamptz as ms, numeric as text). read_range reads forwards
 * along the primary key with no sort: to honour `limit` (the newest rows), raise from_ms first
 * to what cp_sql_read_cutoff finds.
 */
static inline void cp_sql_read(cp_buf *b, const char *qtable, const cp_read_query *q, const bool *have, bool latest,
                               char param, bool pg)
{
    cp_buf_puts(b, "SELECT ");
    for (size_t i = 0; i < q->schema->nfields; i++) {
        if (i)
            cp_buf_puts(b, ", ");
        cp_sql_read_col(b, q, i, have, pg, "t");
    }
    if (latest) { /* one group per series (a scan along the primary key), joined back */
        cp_buf_printf(b, " FROM %s AS t JOIN (SELECT ", qtable);
        for (size_t k = 0; k < q->nseries; k++) {
            cp_sql_ident(b, q->series[k]);
            cp_buf_puts(b, ", ");
        }
        cp_buf_puts(b, "max(");
        cp_sql_ident(b, q->time_column);
        cp_buf_printf(b, ") AS coinpipe_newest FROM %s GROUP BY ", qtable);
        for (size_t k = 0; k < q->nseries; k++) {
            if (k)
                cp_buf_puts(b, ", ");
            cp_sql_ident(b, q->series[k]);
        }
        cp_buf_puts(b, ") AS g ON ");
        for (size_t k = 0; k < q->nseries; k++) {
            cp_buf_puts(b, "t.");
            cp_sql_ident(b, q->series[k]);
            cp_buf_puts(b, " = g.");
            cp_sql_ident(b, q->series[k]);
            cp_buf_puts(b, " AND ");
        }
        cp_buf_puts(b, "t.");
        cp_sql_ident(b, q->time_column);
        cp_buf_puts(b, " = g.coinpipe_newest");
        return;
    }
    cp_buf_printf(b, " FROM %s AS t WHERE ", qtable);
    cp_sql_read_where(b, q, param, pg);
    cp_buf_puts(b, " ORDER BY t.");
    cp_sql_ident(b, q->time_column);
    cp_buf_printf(b, " LIMIT %c%zu", param, q->nseries + 3);
}

/**
 * Appends the query that finds where the newest `limit` rows of a read_range start: the time
 * (UTC ms) of the limit-th row counting back from to_ms, or no row when fewer match. Binds as
 * cp_sql_read does, the limit being the OFFSET (bind limit - 1). One backwards seek along the
 * primary key.
 */
static inline void cp_sql_read_cutoff(cp_buf *b, const char *qtable, const cp_read_query *q, char param, bool pg)
{
    cp_buf_puts(b, "SELECT ");
    if (pg)
        cp_buf_puts(b, "(extract(epoch from t.");
    else
        cp_buf_puts(b, "t.");
    cp_sql_ident(b, q->time_column);
    if (pg)
        cp_buf_puts(b, ") * 1000)::int8");
    cp_buf_printf(b, " FROM %s AS t WHERE ", qtable);
    cp_sql_read_where(b, q, param, pg);
    cp_buf_puts(b, " ORDER BY t.");
    cp_sql_ident(b, q->time_column);
    cp_buf_printf(b, " DESC LIMIT 1 OFFSET %c%zu", param, q->nseries + 3);
}

#endif /* COINPIPE_SQL_H */
