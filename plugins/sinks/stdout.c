/* stdout sink: prints every batch to standard output as an aligned table, CSV or JSON lines.
 * SPDX-License-Identifier: MIT
 *
 * Writes: any stream. Formats: `table` (aligned, for people; times ISO-8601), `csv`
 * (RFC 4180, a header row whenever the stream changes; times ISO-8601 UTC; NULL empty),
 * `jsonl` (one object per row: "stream" first, then every column by name; decimals as
 * JSON strings holding the exact text, times as integer milliseconds, NULL as null).
 * Decimals are always printed verbatim. Cell formatting is the sinks' shared one
 * (coinpipe/csv.h), so stdout's CSV is byte-for-byte the S3 sink's.
 */
#include <coinpipe/coinpipe.h>

#include <coinpipe/csv.h>
#include <coinpipe/utc.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct stdout_config {
    char *format;
    bool header;
} stdout_config;

static const char *const formats[] = {"table", "csv", "jsonl", NULL};

static const cp_option options[] = {
    {.name = "format", .type = CP_OPT_ENUM, .def = "\"table\"", .offset = offsetof(stdout_config, format),
     .choices = formats,
     .doc = "Output format: table (aligned, for people), csv (RFC 4180) or jsonl (one JSON object per row)."},
    {.name = "header", .type = CP_OPT_BOOL, .def = "true", .offset = offsetof(stdout_config, header),
     .doc = "Print a header row (table and csv) whenever the stream changes."},
    CP_OPTION_END,
};

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSONL };

typedef struct stdout_sink {
    enum fmt fmt;
    bool header;
    char last_stream[64];
    cp_buf out; /* a batch's output, written with one fwrite */
} stdout_sink;

/* A cell as text for table and jsonl: "" for NULL; `tmp` holds formatted numbers and times. */
static const char *cell_text(cp_ctx *ctx, const cp_batch *b, size_t r, size_t c, cp_type t, char tmp[32])
{
    if (cp_batch_is_null(ctx, b, r, c))
        return "";
    switch (t) {
    case CP_T_DECIMAL:
    case CP_T_STRING:
        return cp_batch_get_text(ctx, b, r, c, NULL);
    case CP_T_TIMESTAMP:
        cp_utc_iso8601(cp_batch_get_int(ctx, b, r, c), tmp);
        return tmp;
    case CP_T_INT64:
        cp_csv_int(cp_batch_get_int(ctx, b, r, c), tmp);
        return tmp;
    case CP_T_DOUBLE:
        cp_csv_double(cp_batch_get_double(ctx, b, r, c), tmp);
        return tmp;
    case CP_T_BOOL:
        return cp_batch_get_bool(ctx, b, r, c) ? "true" : "false";
    }
    return "";
}

static void put_json_string(cp_buf *o, const char *v)
{
    cp_buf_putc(o, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            cp_buf_putc(o, '\\');
            cp_buf_putc(o, (char)*p);
        } else if (*p < 0x20) {
            cp_buf_printf(o, "\\u%04x", *p);
        } else {
            cp_buf_putc(o, (char)*p);
        }
    }
    cp_buf_putc(o, '"');
}

static void write_csv(stdout_sink *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t rows)
{
    if (s->header && strcmp(s->last_stream, sc->stream) != 0) {
        for (size_t c = 0; c < sc->nfields; c++) {
            if (c)
                cp_buf_putc(&s->out, ',');
            cp_csv_text(&s->out, sc->fields[c].name, strlen(sc->fields[c].name));
        }
        cp_buf_puts(&s->out, "\r\n");
    }
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < sc->nfields; c++) {
            if (c)
                cp_buf_putc(&s->out, ',');
            cp_csv_cell(&s->out, ctx, b, r, c, sc->fields[c].type);
        }
        cp_buf_puts(&s->out, "\r\n");
    }
}

static void write_jsonl(stdout_sink *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t rows)
{
    char tmp[32];
    for (size_t r = 0; r < rows; r++) {
        cp_buf_puts(&s->out, "{\"stream\":");
        put_json_string(&s->out, sc->stream);
        for (size_t c = 0; c < sc->nfields; c++) {
            cp_buf_putc(&s->out, ',');
            put_json_string(&s->out, sc->fields[c].name);
            cp_buf_putc(&s->out, ':');
            cp_type t = sc->fields[c].type;
            if (cp_batch_is_null(ctx, b, r, c))
                cp_buf_puts(&s->out, "null");
            else if (t == CP_T_DECIMAL || t == CP_T_STRING)
                put_json_string(&s->out, cp_batch_get_text(ctx, b, r, c, NULL));
            else if (t == CP_T_TIMESTAMP) /* integer milliseconds, not ISO text */
                cp_buf_put(&s->out, tmp, cp_csv_int(cp_batch_get_int(ctx, b, r, c), tmp));
            else
                cp_buf_puts(&s->out, cell_text(ctx, b, r, c, t, tmp));
        }
        cp_buf_puts(&s->out, "}\n");
    }
}

static void pad(cp_buf *o, size_t n)
{
    for (size_t k = 0; k < n; k++)
        cp_buf_putc(o, ' ');
}

static bool write_table(stdout_sink *s, cp_ctx *ctx, const cp_batch *b, const cp_schema *sc, size_t rows)
{
    size_t nf = sc->nfields;
    size_t *w = calloc(nf, sizeof *w);
    if (!w)
        return false;
    char tmp[32];
    for (size_t c = 0; c < nf; c++) {
        w[c] = strlen(sc->fields[c].name);
        for (size_t r = 0; r < rows; r++) {
            size_t l = strlen(cell_text(ctx, b, r, c, sc->fields[c].type, tmp));
            if (l > w[c])
                w[c] = l;
        }
    }
    cp_buf_printf(&s->out, "-- %s (%zu row%s)\n", sc->stream, rows, rows == 1 ? "" : "s");
    if (s->header) {
        for (size_t c = 0; c < nf; c++) {
            cp_buf_puts(&s->out, sc->fields[c].name);
            if (c + 1 < nf)
                pad(&s->out, w[c] + 2 - strlen(sc->fields[c].name));
        }
        cp_buf_putc(&s->out, '\n');
    }
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < nf; c++) {
            cp_type t = sc->fields[c].type;
            const char *v = cell_text(ctx, b, r, c, t, tmp);
            if (!*v && cp_batch_is_null(ctx, b, r, c))
                v = "NULL";
            bool right = t == CP_T_DECIMAL || t == CP_T_INT64 || t == CP_T_DOUBLE;
            size_t l = strlen(v);
            if (right)
                pad(&s->out, w[c] > l ? w[c] - l : 0);
            cp_buf_puts(&s->out, v);
            if (c + 1 < nf)
                pad(&s->out, (right ? 0 : (w[c] > l ? w[c] - l : 0)) + 2);
        }
        cp_buf_putc(&s->out, '\n');
    }
    free(w);
    return true;
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
    cp_buf_free(&s->out);
    free(s);
}

static cp_status stdout_write(void *instance, cp_ctx *ctx, const cp_batch *b)
{
    stdout_sink *s = instance;
    const cp_schema *sc = cp_batch_schema(ctx, b);
    size_t rows = cp_batch_rows(ctx, b);
    cp_buf_reset(&s->out);
    bool ok = true;
    if (s->fmt == FMT_CSV)
        write_csv(s, ctx, b, sc, rows);
    else if (s->fmt == FMT_JSONL)
        write_jsonl(s, ctx, b, sc, rows);
    else
        ok = write_table(s, ctx, b, sc, rows);
    if (!ok || s->out.oom) {
        cp_log_error(ctx, "out of memory formatting %zu rows of '%s'", rows, sc->stream);
        cp_buf_reset(&s->out);
        return CP_ERR_NOMEM;
    }
    snprintf(s->last_stream, sizeof s->last_stream, "%s", sc->stream);
    if ((s->out.len && fwrite(s->out.p, 1, s->out.len, stdout) != s->out.len) || fflush(stdout) != 0) {
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
