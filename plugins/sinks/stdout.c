/* stdout sink: prints every batch to standard output as an aligned table, CSV or JSON lines.
 * SPDX-License-Identifier: MIT
 *
 * Writes: any stream. Formats: `table` (aligned, for people; times ISO-8601), `csv`
 * (RFC 4180, a header row whenever the stream changes; times ISO-8601 UTC; NULL empty),
 * `jsonl` (one object per row: "stream" first, then every column by name; decimals as
 * JSON strings holding the exact text, times as integer milliseconds, NULL as null).
 * Decimals are always printed verbatim.
 */
#include <coinpipe/coinpipe.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct stdout_config {
    char *format;
    bool header;
} stdout_config;

static const char *const formats[] = {"table", "csv", "jsonl", NULL};

static const cp_option options[] = {
    {"format", CP_OPT_ENUM, "\"table\"", 0, 0, 0, offsetof(stdout_config, format), formats,
     "Output format: table (aligned, for people), csv (RFC 4180) or jsonl (one JSON object per row)."},
    {"header", CP_OPT_BOOL, "true", 0, 0, 0, offsetof(stdout_config, header), NULL,
     "Print a header row (table and csv) whenever the stream changes."},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
};

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSONL };

typedef struct stdout_sink {
    enum fmt fmt;
    bool header;
    char last_stream[64];
    char *buf; /* output assembled per batch, written with one fwrite */
    size_t len, cap;
} stdout_sink;

static bool put(stdout_sink *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return false;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return true;
}

static bool puts_(stdout_sink *s, const char *p) { return put(s, p, strlen(p)); }

static void iso8601(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)t * 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* Formats one cell as text for table/csv: NULL → "" ; returns pointer into tmp or the batch */
static const char *cell_text(cp_ctx *ctx, const cp_batch *b, size_t r, size_t c, cp_type t, char *tmp, size_t n)
{
    if (cp_batch_is_null(ctx, b, r, c))
        return "";
    switch (t) {
    case CP_T_DECIMAL:
    case CP_T_STRING:
        return cp_batch_get_text(ctx, b, r, c, NULL);
    case CP_T_TIMESTAMP:
        iso8601(cp_batch_get_int(ctx, b, r, c), tmp, n);
        return tmp;
    case CP_T_INT64:
        snprintf(tmp, n, "%lld", (long long)cp_batch_get_int(ctx, b, r, c));
        return tmp;
    case CP_T_DOUBLE:
        snprintf(tmp, n, "%.17g", cp_batch_get_double(ctx, b, r, c));
        return tmp;
    case CP_T_BOOL:
        return cp_batch_get_bool(ctx, b, r, c) ? "true" : "false";
    }
    return "";
}

static bool put_csv_field(stdout_sink *s, const char *v)
{
    if (!strpbrk(v, ",\"\r\n"))
        return puts_(s, v);
    bool ok = put(s, "\"", 1);
    for (const char *p = v; *p; p++)
        ok = ok && (*p == '"' ? put(s, "\"\"", 2) : put(s, p, 1));
    return ok && put(s, "\"", 1);
}

static bool put_json_string(stdout_sink *s, const char *v)
{
    bool ok = put(s, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)v; *p && ok; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            ok = put(s, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            ok = puts_(s, esc);
        } else {
            ok = put(s, (const char *)p, 1);
        }
    }
    return ok && put(s, "\"", 1);
}

static bool write_csv(stdout_sink *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t rows)
{
    bool ok = true;
    if (s->header && strcmp(s->last_stream, sc->stream) != 0) {
        for (size_t c = 0; c < sc->nfields; c++)
            ok = ok && (c ? put(s, ",", 1) : true) && put_csv_field(s, sc->fields[c].name);
        ok = ok && put(s, "\r\n", 2);
    }
    char tmp[64];
    for (size_t r = 0; r < rows && ok; r++) {
        for (size_t c = 0; c < sc->nfields; c++)
            ok = ok && (c ? put(s, ",", 1) : true) &&
                 put_csv_field(s, cell_text(ctx, b, r, c, sc->fields[c].type, tmp, sizeof tmp));
        ok = ok && put(s, "\r\n", 2);
    }
    return ok;
}

static bool write_jsonl(stdout_sink *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t rows)
{
    bool ok = true;
    char tmp[64];
    for (size_t r = 0; r < rows && ok; r++) {
        ok = puts_(s, "{\"stream\":") && put_json_string(s, sc->stream);
        for (size_t c = 0; c < sc->nfields && ok; c++) {
            ok = put(s, ",", 1) && put_json_string(s, sc->fields[c].name) && put(s, ":", 1);
            if (!ok)
                break;
            if (cp_batch_is_null(ctx, b, r, c)) {
                ok = puts_(s, "null");
                continue;
            }
            switch (sc->fields[c].type) {
            case CP_T_DECIMAL:
            case CP_T_STRING:
                ok = put_json_string(s, cp_batch_get_text(ctx, b, r, c, NULL));
                break;
            case CP_T_TIMESTAMP:
            case CP_T_INT64:
                snprintf(tmp, sizeof tmp, "%lld", (long long)cp_batch_get_int(ctx, b, r, c));
                ok = puts_(s, tmp);
                break;
            case CP_T_DOUBLE:
                snprintf(tmp, sizeof tmp, "%.17g", cp_batch_get_double(ctx, b, r, c));
                ok = puts_(s, tmp);
                break;
            case CP_T_BOOL:
                ok = puts_(s, cp_batch_get_bool(ctx, b, r, c) ? "true" : "false");
                break;
            }
        }
        ok = ok && put(s, "}\n", 2);
    }
    return ok;
}

static bool write_table(stdout_sink *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t rows)
{
    size_t nf = sc->nfields;
    size_t *w = calloc(nf, sizeof *w);
    if (!w)
        return false;
    char tmp[64];
    for (size_t c = 0; c < nf; c++) {
        w[c] = strlen(sc->fields[c].name);
        for (size_t r = 0; r < rows; r++) {
            size_t l = strlen(cell_text(ctx, b, r, c, sc->fields[c].type, tmp, sizeof tmp));
            if (l > w[c])
                w[c] = l;
        }
    }
    bool ok = true;
    char line[160];
    snprintf(line, sizeof line, "-- %s (%zu row%s)\n", sc->stream, rows, rows == 1 ? "" : "s");
    ok = puts_(s, line);
    if (s->header) {
        for (size_t c = 0; c < nf && ok; c++) {
            ok = puts_(s, sc->fields[c].name);
            for (size_t k = strlen(sc->fields[c].name); ok && c + 1 < nf && k < w[c] + 2; k++)
                ok = put(s, " ", 1);
        }
        ok = ok && put(s, "\n", 1);
    }
    for (size_t r = 0; r < rows && ok; r++) {
        for (size_t c = 0; c < nf && ok; c++) {
            const char *v = cell_text(ctx, b, r, c, sc->fields[c].type, tmp, sizeof tmp);
            if (!*v && cp_batch_is_null(ctx, b, r, c))
                v = "NULL";
            bool right = sc->fields[c].type == CP_T_DECIMAL || sc->fields[c].type == CP_T_INT64 ||
                         sc->fields[c].type == CP_T_DOUBLE;
            size_t l = strlen(v);
            if (right)
                for (size_t k = l; ok && k < w[c]; k++)
                    ok = put(s, " ", 1);
            ok = ok && puts_(s, v);
            if (c + 1 < nf) {
                for (size_t k = right ? w[c] : l; ok && k < w[c] + 2; k++)
                    ok = put(s, " ", 1);
            }
        }
        ok = ok && put(s, "\n", 1);
    }
    free(w);
    return ok;
}

static cp_status stdout_create(cp_ctx *ctx, const void *config, void **instance)
{
    const stdout_config *cfg = config;
    stdout_sink *s = calloc(1, sizeof *s);
    if (!s)
        return CP_ERR_NOMEM;
    s->fmt = strcmp(cfg->format, "csv") == 0 ? FMT_CSV : strcmp(cfg->format, "jsonl") == 0 ? FMT_JSONL : FMT_TABLE;
    s->header = cfg->header;
    *instance = s;
    return CP_OK;
}

static void stdout_destroy(void *instance)
{
    stdout_sink *s = instance;
    free(s->buf);
    free(s);
}

static cp_status stdout_write(void *instance, cp_ctx *ctx, const cp_batch *b)
{
    stdout_sink *s = instance;
    const cp_schema *sc = cp_batch_schema(ctx, b);
    size_t rows = cp_batch_rows(ctx, b);
    s->len = 0;
    bool ok = s->fmt == FMT_CSV     ? write_csv(s, ctx, b, sc, rows)
              : s->fmt == FMT_JSONL ? write_jsonl(s, ctx, b, sc, rows)
                                    : write_table(s, ctx, b, sc, rows);
    if (!ok) {
        cp_log_error(ctx, "out of memory formatting %zu rows of '%s'", rows, sc->stream);
        return CP_ERR_NOMEM;
    }
    snprintf(s->last_stream, sizeof s->last_stream, "%s", sc->stream);
    if (fwrite(s->buf, 1, s->len, stdout) != s->len || fflush(stdout) != 0) {
        cp_log_error(ctx, "cannot write to standard output: %s", strerror(errno));
        clearerr(stdout);
        return CP_REJECT;
    }
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "stdout", .kind = CP_SINK, .version = "1.0.0",
                 .description = "Prints batches to standard output as a table, CSV or JSON lines",
                 .options = options, .config_size = sizeof(stdout_config), .create = stdout_create,
                 .destroy = stdout_destroy, .write = stdout_write);
