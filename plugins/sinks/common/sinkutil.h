/* Helpers shared by the sinks and `coinpipe ddl`: buffers, ISO-8601, CSV cells, SQL types.
 * SPDX-License-Identifier: MIT
 *
 * Header-only (static inline) so that each sink .so and the core's ddl.c compile the one
 * copy without a shared library between them. Nothing here allocates except the cp_buf (coinpipe/buf.h) it appends to.
 */
#ifndef COINPIPE_SINKUTIL_H
#define COINPIPE_SINKUTIL_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schema copies (sinks keep the schema they prepared statements for) ---------------- */

/** A deep copy of a cp_schema in one allocation; free with free(). NULL when out of memory. */
static inline cp_schema *sk_schema_copy(const cp_schema *s)
{
    size_t len = sizeof(cp_schema) + s->nfields * sizeof(cp_field) + strlen(s->stream) + 1;
    for (size_t i = 0; i < s->nfields; i++)
        len += strlen(s->fields[i].name) + 1;
    cp_schema *c = malloc(len);
    if (!c)
        return NULL;
    cp_field *f = (cp_field *)(c + 1);
    char *p = (char *)(f + s->nfields);
    size_t n = strlen(s->stream) + 1;
    memcpy(p, s->stream, n);
    c->stream = p;
    p += n;
    for (size_t i = 0; i < s->nfields; i++) {
        n = strlen(s->fields[i].name) + 1;
        memcpy(p, s->fields[i].name, n);
        f[i] = s->fields[i];
        f[i].name = p;
        p += n;
    }
    c->nfields = s->nfields;
    c->fields = f;
    return c;
}

/** True when both schemas have the same columns (names, types, flags) in the same order. */
static inline bool sk_schema_same(const cp_schema *a, const cp_schema *b)
{
    if (!a || !b || a->nfields != b->nfields)
        return false;
    for (size_t i = 0; i < a->nfields; i++)
        if (a->fields[i].type != b->fields[i].type || a->fields[i].flags != b->fields[i].flags ||
            strcmp(a->fields[i].name, b->fields[i].name))
            return false;
    return true;
}

/* ---- time ------------------------------------------------------------------------------ */

/** UTC calendar date of a day number (days since 1970-01-01), Howard Hinnant's algorithm. */
static inline void sk_civil(int64_t days, int *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/** Floor division of epoch milliseconds into UTC days. */
static inline int64_t sk_day_of(int64_t ms)
{
    return ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
}

static inline void sk_put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/** Writes `ms` as "2026-11-21T10:55:44.123Z" (24 chars + NUL) into out[25]. Years 0-9999. */
static inline size_t sk_iso8601(int64_t ms, char out[25])
{
    int64_t day = sk_day_of(ms);
    int64_t rem = ms - day * 86400000;
    int y, mo, d;
    sk_civil(day, &y, &mo, &d);
    if (y < 0 || y > 9999)
        return (size_t)snprintf(out, 25, "%lld", (long long)ms);
    int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), s = (int)(rem / 1000 % 60);
    int msec = (int)(rem % 1000);
    sk_put2(out, y / 100);
    sk_put2(out + 2, y % 100);
    out[4] = '-';
    sk_put2(out + 5, mo);
    out[7] = '-';
    sk_put2(out + 8, d);
    out[10] = 'T';
    sk_put2(out + 11, h);
    out[13] = ':';
    sk_put2(out + 14, mi);
    out[16] = ':';
    sk_put2(out + 17, s);
    out[19] = '.';
    out[20] = (char)('0' + msec / 100);
    sk_put2(out + 21, msec % 100);
    out[23] = 'Z';
    out[24] = '\0';
    return 24;
}

/* ---- numbers and CSV cells ------------------------------------------------------------- */

/** Decimal digits of an int64 into out[21]; returns the length. */
static inline size_t sk_i64(int64_t v, char out[21])
{
    char tmp[21];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = '\0';
    return o;
}

/** Shortest of %.15g / %.17g that reads back as `v`. */
static inline size_t sk_dbl(double v, char out[32])
{
    int n = snprintf(out, 32, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = snprintf(out, 32, "%.17g", v);
    return n < 0 ? 0 : (size_t)n;
}

/** Appends a text cell, quoted per RFC 4180 when it holds a comma, quote, CR or LF. */
static inline void sk_csv_text(cp_buf *b, const char *s, size_t n)
{
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
        cp_buf_put(b, s, n);
        return;
    }
    cp_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            cp_buf_putc(b, '"');
        cp_buf_putc(b, s[i]);
    }
    cp_buf_putc(b, '"');
}

/**
 * Appends one cell of a batch as CSV (decimals verbatim, times ISO-8601 UTC with ms, bools
 * true/false, NULL empty). The batch is borrowed.
 */
static inline void sk_csv_cell(cp_buf *b, cp_ctx *ctx, const cp_batch *batch, size_t row, size_t col,
                               cp_type type)
{
    if (cp_batch_is_null(ctx, batch, row, col))
        return;
    char tmp[32];
    size_t n;
    switch (type) {
    case CP_T_INT64:
        n = sk_i64(cp_batch_get_int(ctx, batch, row, col), tmp);
        cp_buf_put(b, tmp, n);
        break;
    case CP_T_TIMESTAMP:
        n = sk_iso8601(cp_batch_get_int(ctx, batch, row, col), tmp);
        cp_buf_put(b, tmp, n);
        break;
    case CP_T_DOUBLE:
        n = sk_dbl(cp_batch_get_double(ctx, batch, row, col), tmp);
        cp_buf_put(b, tmp, n);
        break;
    case CP_T_BOOL:
        cp_buf_puts(b, cp_batch_get_bool(ctx, batch, row, col) ? "true" : "false");
        break;
    case CP_T_DECIMAL:
    case CP_T_STRING: {
        const char *s = cp_batch_get_text(ctx, batch, row, col, &n);
        if (s)
            sk_csv_text(b, s, n);
        break;
    }
    }
}

/* ---- SQL ------------------------------------------------------------------------------- */

/** Column type of `t` in a SQL dialect: "postgresql", "sqlite" (decimal as REAL unless
 *  decimal_text), "athena" or "snowflake". Never NULL. */
static inline const char *sk_sql_type(cp_type t, const char *dialect, bool decimal_text)
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
static inline void sk_sql_ident(cp_buf *b, const char *name)
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
static inline size_t sk_sql_keys(cp_buf *b, const cp_schema *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nfields; i++)
        if (s->fields[i].flags & CP_FIELD_KEY) {
            if (k++)
                cp_buf_puts(b, ", ");
            sk_sql_ident(b, s->fields[i].name);
        }
    return k;
}

/**
 * Appends "CREATE TABLE IF NOT EXISTS <qualified> (cols..., PRIMARY KEY (keys))" for a
 * schema in `dialect` ("postgresql" or "sqlite"). `qualified` is already quoted.
 */
static inline void sk_sql_create_table(cp_buf *b, const char *qualified, const cp_schema *s, const char *dialect,
                                       bool decimal_text)
{
    cp_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s (\n", qualified);
    size_t nkeys = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const cp_field *f = &s->fields[i];
        cp_buf_puts(b, "    ");
        sk_sql_ident(b, f->name);
        cp_buf_putc(b, ' ');
        cp_buf_puts(b, sk_sql_type(f->type, dialect, decimal_text));
        if (f->flags & CP_FIELD_KEY) {
            cp_buf_puts(b, " NOT NULL");
            nkeys++;
        }
        cp_buf_puts(b, i + 1 < s->nfields || nkeys ? ",\n" : "\n");
    }
    if (nkeys) {
        cp_buf_puts(b, "    PRIMARY KEY (");
        sk_sql_keys(b, s);
        cp_buf_puts(b, ")\n");
    }
    /* SQLite: one B-tree keyed by the primary key instead of a rowid table plus an index */
    cp_buf_puts(b, nkeys && !strcmp(dialect, "sqlite") ? ") WITHOUT ROWID" : ")");
}

/** Appends the comma-separated quoted column names of a schema. */
static inline void sk_sql_columns(cp_buf *b, const cp_schema *s, const char *prefix)
{
    for (size_t i = 0; i < s->nfields; i++) {
        if (i)
            cp_buf_puts(b, ", ");
        if (prefix)
            cp_buf_puts(b, prefix);
        sk_sql_ident(b, s->fields[i].name);
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
static inline void sk_sql_on_conflict(cp_buf *b, const cp_schema *s, bool latest_wins, const char *dialect,
                                      const char *existing)
{
    size_t nkeys = 0;
    for (size_t i = 0; i < s->nfields; i++)
        nkeys += (s->fields[i].flags & CP_FIELD_KEY) != 0;
    if (!nkeys)
        return;
    if (!latest_wins || nkeys == s->nfields) {
        cp_buf_puts(b, " ON CONFLICT DO NOTHING");
        return;
    }
    bool pg = !strcmp(dialect, "postgresql");
    cp_buf_puts(b, " ON CONFLICT (");
    sk_sql_keys(b, s);
    cp_buf_puts(b, ") DO UPDATE SET ");
    for (int where = 0; where < 2; where++) {
        size_t k = 0;
        for (size_t i = 0; i < s->nfields; i++) {
            const cp_field *f = &s->fields[i];
            if (f->flags & CP_FIELD_KEY)
                continue;
            const char *cast = pg && f->type == CP_T_DECIMAL ? "::text" : "";
            if (k++)
                cp_buf_puts(b, where ? " OR " : ", ");
            if (where && existing) {
                cp_buf_puts(b, existing);
                cp_buf_putc(b, '.');
            }
            sk_sql_ident(b, f->name);
            cp_buf_puts(b, where ? cast : "");
            cp_buf_puts(b, where ? (pg ? " IS DISTINCT FROM excluded." : " IS NOT excluded.") : " = excluded.");
            sk_sql_ident(b, f->name);
            cp_buf_puts(b, where ? cast : "");
        }
        cp_buf_puts(b, where ? "" : " WHERE ");
    }
}

/**
 * Streams whose rows are updated in place while they are still moving (the open candle,
 * indicators computed from it): the latest delivery wins instead of the first.
 */
static inline bool sk_latest_wins(const char *stream)
{
    return !strcmp(stream, "ohlcv") || !strcmp(stream, "indicator");
}

/** Copies a libpq conninfo into out with every password value replaced by "***". */
static inline void sk_redact_conninfo(const char *in, char *out, size_t outlen)
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

/* ---- reading back (read_range, read_latest: since ABI 2.0) ------------------------------ */

/** The first of the query's series and time columns the table lacks (have[i] false), or NULL. */
static inline const char *sk_read_missing(const cp_read_query *q, const bool *have)
{
    for (size_t k = 0; k < q->nseries + 1; k++) {
        const char *c = k < q->nseries ? q->series[k] : q->time_column;
        bool found = false;
        for (size_t i = 0; i < q->schema->nfields && !found; i++)
            found = have[i] && !strcmp(q->schema->fields[i].name, c);
        if (!found)
            return c;
    }
    return NULL;
}

/* appends column i of the query's schema as selected: the column, NULL when the table lacks it
 * (have[i] false); PostgreSQL timestamps as integer UTC ms */
static inline void sk_sql_read_col(cp_buf *b, const cp_read_query *q, size_t i, const bool *have, bool pg,
                                   const char *alias)
{
    const cp_field *f = &q->schema->fields[i];
    if (!have[i]) {
        cp_buf_puts(b, "NULL");
        return;
    }
    if (pg && f->type == CP_T_TIMESTAMP)
        cp_buf_puts(b, "(extract(epoch from ");
    if (alias)
        cp_buf_printf(b, "%s.", alias);
    sk_sql_ident(b, f->name);
    if (pg && f->type == CP_T_TIMESTAMP)
        cp_buf_puts(b, ") * 1000)::int8");
    else if (pg && f->type == CP_T_DECIMAL)
        cp_buf_puts(b, "::text");
}

/* appends a time bound "<col> >= <param>" in the dialect (PostgreSQL compares timestamptz) */
static inline void sk_sql_read_time(cp_buf *b, const char *alias, const char *col, const char *op, char param,
                                    size_t n, bool pg)
{
    if (alias)
        cp_buf_printf(b, "%s.", alias);
    sk_sql_ident(b, col);
    if (pg)
        cp_buf_printf(b, " %s to_timestamp(%c%zu::int8 / 1000.0)", op, param, n);
    else
        cp_buf_printf(b, " %s %c%zu", op, param, n);
}

/**
 * Appends the SELECT of a read_range (latest false) or read_latest (true) query on the table
 * `qtable` (quoted), in the columns of q->schema (those without have[i] as NULL). Parameters,
 * numbered from 1 with `param` ('?' for SQLite, '$' for PostgreSQL): read_range binds the
 * series values, then from_ms, to_ms, limit (int64 each); read_latest binds nothing. `pg`
 * selects PostgreSQL's types (timestamptz as ms, numeric as text).
 */
static inline void sk_sql_read(cp_buf *b, const char *qtable, const cp_read_query *q, const bool *have, bool latest,
                               char param, bool pg)
{
    cp_buf_puts(b, "SELECT ");
    for (size_t i = 0; i < q->schema->nfields; i++) {
        if (i)
            cp_buf_puts(b, ", ");
        sk_sql_read_col(b, q, i, have, pg, "t");
    }
    if (latest) { /* one group per series (a scan along the primary key), joined back */
        cp_buf_printf(b, " FROM %s AS t JOIN (SELECT ", qtable);
        for (size_t k = 0; k < q->nseries; k++) {
            sk_sql_ident(b, q->series[k]);
            cp_buf_puts(b, ", ");
        }
        cp_buf_puts(b, "max(");
        sk_sql_ident(b, q->time_column);
        cp_buf_printf(b, ") AS coinpipe_newest FROM %s GROUP BY ", qtable);
        for (size_t k = 0; k < q->nseries; k++) {
            if (k)
                cp_buf_puts(b, ", ");
            sk_sql_ident(b, q->series[k]);
        }
        cp_buf_puts(b, ") AS g ON ");
        for (size_t k = 0; k < q->nseries; k++) {
            cp_buf_puts(b, "t.");
            sk_sql_ident(b, q->series[k]);
            cp_buf_puts(b, " = g.");
            sk_sql_ident(b, q->series[k]);
            cp_buf_puts(b, " AND ");
        }
        cp_buf_puts(b, "t.");
        sk_sql_ident(b, q->time_column);
        cp_buf_puts(b, " = g.coinpipe_newest");
        return;
    }
    /* the newest `limit` rows of the range (backwards along the primary key), then ascending */
    cp_buf_printf(b, " FROM (SELECT * FROM %s AS i WHERE ", qtable);
    size_t n = 1;
    for (size_t k = 0; k < q->nseries; k++, n++) {
        cp_buf_puts(b, "i.");
        sk_sql_ident(b, q->series[k]);
        cp_buf_printf(b, " = %c%zu AND ", param, n);
    }
    sk_sql_read_time(b, "i", q->time_column, ">=", param, n, pg);
    cp_buf_puts(b, " AND ");
    sk_sql_read_time(b, "i", q->time_column, "<", param, n + 1, pg);
    cp_buf_puts(b, " ORDER BY i.");
    sk_sql_ident(b, q->time_column);
    cp_buf_printf(b, " DESC LIMIT %c%zu) AS t ORDER BY t.", param, n + 2);
    sk_sql_ident(b, q->time_column);
}

#endif /* COINPIPE_SINKUTIL_H */
