/* The object-store layout shared by the s3-csv and azure-blob sinks: see objstore.h.
 * SPDX-License-Identifier: MIT
 */
#include "objstore.h"
#include "rawobj.h"

#include <coinpipe/csv.h>
#include <coinpipe/schema.h>
#include <coinpipe/sql.h>
#include <coinpipe/utc.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cp_obj_formats[] = {"csv", "parquet", NULL};
const char *const cp_obj_codecs[] = {"zstd", "snappy", "none", NULL};

/* rows of one stream and UTC day: CSV text without the header, or a Parquet file being written */
struct cp_obj_part {
    cp_schema *schema;
    int64_t day;
    int64_t first_ts; /* event time of its first row */
    size_t rows;
    cp_buf csv;
    cp_buf keys;        /* the rows' key cells: the object's name follows from them */
    cp_pq_writer *pw;   /* parquet: the row groups encoded so far */
    cp_pq_value *cells; /* parquet: the rows of the group being filled, column-major (column c at
                         * cells + c * cap); texts as offsets into `text` */
    const cp_pq_value **columns; /* column c's first cell, for the encoder */
    size_t staged, cap;
    cp_buf text;
};

static bool parquet(const cp_obj_config *cfg) { return cfg && cfg->format && !strcmp(cfg->format, "parquet"); }

/* the decimal columns' precision (0, a config built without the option, reads as 38) */
static int dec_precision(const cp_obj_config *cfg)
{
    return cfg && cfg->decimal_precision > 0 ? (int)cfg->decimal_precision : CP_PQ_DEC_PRECISION;
}

const char *cp_obj_key_prefix(const char *prefix, size_t *len)
{
    prefix = prefix ? prefix : "";
    while (*prefix == '/')
        prefix++;
    size_t n = strlen(prefix);
    while (n && prefix[n - 1] == '/')
        n--;
    *len = n;
    return prefix;
}

bool cp_obj_endpoint(cp_buf *b, const char *endpoint)
{
    if (!endpoint || !*endpoint)
        return false;
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        n--;
    cp_buf_put(b, endpoint, n);
    return true;
}

void cp_obj_error_code(const char *body, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *cs = body ? strstr(body, "<Code>") : NULL;
    const char *ce = cs ? strstr(cs, "</Code>") : NULL;
    if (ce && (size_t)(ce - cs - 6) < outlen)
        snprintf(out, outlen, "%.*s", (int)(ce - cs - 6), cs + 6);
}

bool cp_obj_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return false;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return true;
}

cp_status cp_obj_init(cp_obj *o, cp_ctx *ctx, const cp_obj_config *cfg, const char *sink)
{
    memset(o, 0, sizeof *o);
    o->cfg = cfg;
    o->sink = sink;
    if (parquet(cfg) && cfg->decimal_scale > dec_precision(cfg)) {
        cp_log_error(ctx, "%s: decimal_scale = %lld exceeds decimal_precision = %lld", sink,
                     (long long)cfg->decimal_scale, (long long)dec_precision(cfg));
        return CP_ERR_CONFIG;
    }
    if (parquet(cfg) && cfg->gzip) {
        cp_log_error(ctx, "%s: gzip = true applies to CSV; Parquet pages are compressed by `compression` (zstd, snappy "
                          "or none)",
                     sink);
        return CP_ERR_CONFIG;
    }
    return CP_OK;
}

/* ---- buffering ---------------------------------------------------------------------------- */

/* the column whose value places a row in time: a key timestamp, else "ts", else any timestamp */
static int time_column(const cp_schema *s)
{
    int any = -1, ts = -1;
    for (size_t i = 0; i < s->nfields; i++) {
        const cp_field *f = cp_schema_field(s, i);
        if (f->type != CP_T_TIMESTAMP)
            continue;
        if (f->flags & CP_FIELD_KEY)
            return (int)i;
        if (!strcmp(f->name, "ts"))
            ts = (int)i;
        if (any < 0)
            any = (int)i;
    }
    return ts >= 0 ? ts : any;
}

static cp_pq_type pq_type(cp_type t)
{
    switch (t) {
    case CP_T_INT64:
        return CP_PQ_INT64;
    case CP_T_DOUBLE:
        return CP_PQ_DOUBLE;
    case CP_T_DECIMAL:
        return CP_PQ_DEC;
    case CP_T_TIMESTAMP:
        return CP_PQ_TS;
    case CP_T_BOOL:
        return CP_PQ_BOOL;
    default:
        return CP_PQ_STRING;
    }
}

static cp_pq_codec pq_codec(const cp_obj_config *cfg)
{
    if (cfg->compression && !strcmp(cfg->compression, "snappy"))
        return CP_PQ_SNAPPY;
    if (cfg->compression && !strcmp(cfg->compression, "none"))
        return CP_PQ_UNCOMPRESSED;
    return CP_PQ_ZSTD;
}

static void part_free(cp_obj_part *p)
{
    free(p->schema);
    cp_buf_free(&p->csv);
    cp_buf_free(&p->keys);
    cp_pq_writer_free(p->pw);
    free(p->cells);
    free(p->columns);
    cp_buf_free(&p->text);
}

static cp_obj_part *part_for(cp_obj *o, cp_ctx *ctx, const cp_schema *schema, int64_t day, int64_t ts)
{
    for (size_t i = 0; i < o->nparts; i++)
        if (o->parts[i].day == day && cp_schema_equal(o->parts[i].schema, schema))
            return &o->parts[i];
    cp_obj_part *n = realloc(o->parts, (o->nparts + 1) * sizeof *n);
    if (!n)
        return NULL;
    o->parts = n;
    cp_obj_part *p = &n[o->nparts];
    memset(p, 0, sizeof *p);
    if (!(p->schema = cp_schema_copy(schema)))
        return NULL;
    if (parquet(o->cfg)) {
        cp_pq_column *cols = calloc(schema->nfields, sizeof *cols);
        if (!cols) {
            part_free(p);
            return NULL;
        }
        for (size_t c = 0; c < schema->nfields; c++) {
            const cp_field *f = cp_schema_field(schema, c);
            cols[c] = (cp_pq_column){.name = f->name, .type = pq_type(f->type), .nullable = true,
                                     .scale = (int)o->cfg->decimal_scale, .precision = dec_precision(o->cfg)};
        }
        /* zstd level 1 by default: as small as the library's default level on these columns, faster */
        cp_pq_options opt = {.row_group_rows = (size_t)o->cfg->row_group_rows, .codec = pq_codec(o->cfg),
                             .zstd_level = o->cfg->zstd_level ? (int)o->cfg->zstd_level : 1};
        char err[256];
        p->pw = cp_pq_writer_new(cols, schema->nfields, &opt, err, sizeof err);
        free(cols);
        if (!p->pw) {
            cp_log_error(ctx, "%s: stream %s: %s", o->sink, schema->stream, err);
            part_free(p);
            return NULL;
        }
        if (!(p->columns = calloc(schema->nfields, sizeof *p->columns))) {
            part_free(p);
            return NULL;
        }
    }
    p->day = day;
    p->first_ts = ts;
    o->nparts++;
    return p;
}

static void discard_all(cp_obj *o)
{
    for (size_t i = 0; i < o->nparts; i++)
        part_free(&o->parts[i]);
    free(o->parts);
    o->parts = NULL;
    o->nparts = 0;
    o->pending_bytes = 0;
    o->pending_since_ms = 0;
}

void cp_obj_free(cp_obj *o)
{
    discard_all(o);
    cp_buf_free(&o->body);
    cp_buf_free(&o->gz);
}

/* Encodes the staged rows of a Parquet part as row groups. False (logged) on failure. */
static bool encode_staged(cp_obj *o, cp_ctx *ctx, cp_obj_part *p)
{
    if (!p->staged)
        return true;
    size_t ncols = p->schema->nfields;
    for (size_t c = 0; c < ncols; c++) {
        cp_pq_value *col = p->cells + c * p->cap;
        p->columns[c] = col;
        cp_type t = cp_schema_field(p->schema, c)->type;
        if (t != CP_T_STRING && !(t == CP_T_DECIMAL && dec_precision(o->cfg) > 18))
            continue;
        for (size_t r = 0; r < p->staged; r++)
            if (!col[r].null)
                col[r].s = p->text.p + col[r].i;
    }
    char err[256];
    int rc = cp_pq_writer_add_columns(p->pw, p->columns, p->staged, err, sizeof err);
    if (rc != 0)
        cp_log_error(ctx, "%s: stream %s: %s", o->sink, p->schema->stream, err);
    p->staged = 0;
    cp_buf_reset(&p->text);
    return rc == 0;
}

/* The row's key columns as "name=value, ..." for a log line. */
static void key_text(cp_buf *b, cp_ctx *ctx, const cp_batch *batch, size_t r, const cp_schema *s)
{
    for (size_t c = 0; c < s->nfields; c++) {
        const cp_field *f = cp_schema_field(s, c);
        if (!(f->flags & CP_FIELD_KEY))
            continue;
        cp_buf_printf(b, "%s%s=", b->len ? ", " : "", f->name);
        cp_csv_cell(b, ctx, batch, r, c, f->type);
    }
}

/* Stages one row of a Parquet part (decimals converted here, once, so that a value that does not
 * fit refuses its row before anything of it is buffered); false when the row cannot be written
 * exactly (logged, counted) or on no memory (*oom). */
static bool stage_row(cp_obj *o, cp_ctx *ctx, cp_obj_part *p, const cp_batch *batch, size_t r, bool *oom)
{
    const cp_schema *s = p->schema;
    size_t ncols = s->nfields;
    if (p->staged == p->cap) { /* room for a whole row group: move each column to its new place */
        size_t group = (size_t)o->cfg->row_group_rows, cap = p->cap ? group : group < 256 ? group : 256;
        cp_pq_value *n = realloc(p->cells, cap * ncols * sizeof *n);
        if (!n) {
            *oom = true;
            return false;
        }
        for (size_t c = ncols; c-- > 1;)
            memmove(n + c * cap, n + c * p->cap, p->staged * sizeof *n);
        p->cells = n;
        p->cap = cap;
    }
    size_t before = p->text.len;
    for (size_t c = 0; c < ncols; c++) {
        const cp_field *f = cp_schema_field(s, c);
        cp_pq_value *v = &p->cells[c * p->cap + p->staged];
        *v = (cp_pq_value){0};
        size_t len = 0;
        const char *t = NULL;
        if (f->type == CP_T_DECIMAL || f->type == CP_T_STRING) { /* NULL text: a NULL cell */
            if (!(t = cp_batch_get_text(ctx, batch, r, c, &len))) {
                v->null = true;
                continue;
            }
        } else if ((v->null = cp_batch_is_null(ctx, batch, r, c))) {
            continue;
        }
        switch (f->type) {
        case CP_T_INT64:
        case CP_T_TIMESTAMP:
            v->i = cp_batch_get_int(ctx, batch, r, c);
            break;
        case CP_T_DOUBLE:
            v->d = cp_batch_get_double(ctx, batch, r, c);
            break;
        case CP_T_BOOL:
            v->b = cp_batch_get_bool(ctx, batch, r, c);
            break;
        case CP_T_DECIMAL: {
            unsigned char q[16];
            const char *why = NULL;
            cp_pq_column col = {.type = CP_PQ_DEC, .scale = (int)o->cfg->decimal_scale,
                                .precision = dec_precision(o->cfg)};
            if (cp_pq_decimal(&col, t, len, v, q, &why) != 0) {
                cp_buf k = {0};
                key_text(&k, ctx, batch, r, s);
                cp_log_error(ctx,
                             "%s: stream %s, row %zu (%s), column %s: decimal %.*s %s (DECIMAL(%d, %d)): row not "
                             "written to Parquet",
                             o->sink, s->stream, r, k.p ? k.p : "", f->name, len > 60 ? 60 : (int)len, t, why,
                             col.precision, col.scale);
                cp_buf_free(&k);
                cp_stream_count(ctx, CP_ROWS_INVALID, 1);
                p->text.len = before;
                return false;
            }
            if (col.precision > 18) { /* the 16 bytes of a large precision, kept with the texts */
                v->i = (int64_t)p->text.len;
                cp_buf_put(&p->text, (const char *)q, sizeof q);
            }
            break;
        }
        default:
            v->i = (int64_t)p->text.len;
            v->len = len;
            cp_buf_put(&p->text, t, len);
            break;
        }
    }
    if (p->text.oom) {
        *oom = true;
        return false;
    }
    o->pending_bytes += p->text.len - before + 8 * ncols;
    if (++p->staged >= (size_t)o->cfg->row_group_rows && !encode_staged(o, ctx, p))
        *oom = true;
    return true;
}

cp_status cp_obj_write(cp_obj *o, cp_ctx *ctx, const cp_batch *batch, cp_obj_put_fn put, void *user)
{
    const cp_schema *schema = cp_batch_schema(ctx, batch);
    if (cp_raw_is(schema)) { /* the raw archive: an object per response, written at once (rawobj.h) */
        cp_status st = cp_raw_write(ctx, batch, o->cfg->prefix, put, user);
        return st != CP_OK ? st : o->nparts ? CP_PENDING : CP_OK; /* CP_OK would confirm the pending parts */
    }
    size_t rows = cp_batch_rows(ctx, batch);
    int tcol = time_column(schema);
    int64_t now = cp_now_ms(ctx);
    cp_obj_part *p = NULL;
    bool full = false, pq = parquet(o->cfg), keyed = false;
    for (size_t c = 0; c < schema->nfields; c++)
        keyed |= (cp_schema_field(schema, c)->flags & CP_FIELD_KEY) != 0;
    for (size_t r = 0; r < rows; r++) {
        int64_t ts = tcol >= 0 && !cp_batch_is_null(ctx, batch, r, (size_t)tcol)
                         ? cp_batch_get_int(ctx, batch, r, (size_t)tcol)
                         : now;
        int64_t day = cp_utc_day(ts);
        if (!p || p->day != day)
            p = part_for(o, ctx, schema, day, ts);
        if (!p) {
            discard_all(o);
            return CP_ERR_NOMEM;
        }
        if (pq) {
            bool oom = false;
            if (!stage_row(o, ctx, p, batch, r, &oom)) {
                if (oom) {
                    discard_all(o);
                    return CP_ERR_NOMEM;
                }
                continue;
            }
        } else {
            size_t before = p->csv.len;
            for (size_t c = 0; c < schema->nfields; c++) {
                if (c)
                    cp_buf_putc(&p->csv, ',');
                cp_csv_cell(&p->csv, ctx, batch, r, c, cp_schema_field(schema, c)->type);
            }
            cp_buf_put(&p->csv, "\r\n", 2);
            if (p->csv.oom) {
                discard_all(o);
                return CP_ERR_NOMEM;
            }
            o->pending_bytes += p->csv.len - before;
        }
        /* the name's hash: the key columns (every column but received_at without keys), so that
         * a retry and a re-run of the same backfill, whose rows differ in received_at, replace
         * the object instead of adding one */
        for (size_t c = 0; c < schema->nfields; c++) {
            const cp_field *f = cp_schema_field(schema, c);
            if (keyed ? !(f->flags & CP_FIELD_KEY) : !strcmp(f->name, "received_at"))
                continue;
            cp_csv_cell(&p->keys, ctx, batch, r, c, f->type);
            cp_buf_putc(&p->keys, ',');
        }
        cp_buf_putc(&p->keys, '\n');
        if (p->keys.oom) {
            discard_all(o);
            return CP_ERR_NOMEM;
        }
        p->rows++;
        full = full || p->rows >= (size_t)o->cfg->max_rows;
    }
    if (rows && !o->pending_since_ms)
        o->pending_since_ms = now;
    if (full || o->pending_bytes >= (size_t)o->cfg->max_bytes)
        return cp_obj_upload_all(o, ctx, put, user);
    return o->nparts ? CP_PENDING : CP_OK;
}

cp_status cp_obj_flush(cp_obj *o, cp_ctx *ctx, unsigned flags, cp_obj_put_fn put, void *user)
{
    if (!o->nparts)
        return CP_OK;
    /* the first rows go out at once (a new daemon shows its first objects within seconds);
     * afterwards rows wait up to flush_interval, for fewer and larger objects */
    if ((flags & CP_FLUSH_FORCE) || !o->uploaded || cp_now_ms(ctx) - o->pending_since_ms >= o->cfg->flush_interval) {
        cp_status st = cp_obj_upload_all(o, ctx, put, user);
        o->uploaded |= st == CP_OK;
        return st;
    }
    return CP_PENDING;
}

/* ---- rendering ---------------------------------------------------------------------------- */

/* the object's key: <prefix>/<stream>/year=/month=/day=/<pipeline>-<first row time>-<hash>.<ext> */
static void object_key(cp_obj *o, cp_ctx *ctx, const cp_obj_part *p, const char *hash, const char *ext, cp_buf *key)
{
    int y, m, d;
    cp_utc_civil(p->day, &y, &m, &d);
    char iso[25];
    cp_utc_iso8601(p->first_ts, iso);
    /* 2026-11-21T10:55:44.123Z -> 20261121T105544123Z: no ':' in keys */
    char compact[25];
    size_t n = 0;
    for (const char *c = iso; *c; c++)
        if (*c != '-' && *c != ':' && *c != '.')
            compact[n++] = *c;
    compact[n] = '\0';
    size_t plen;
    const char *prefix = cp_obj_key_prefix(o->cfg->prefix, &plen);
    cp_buf_reset(key);
    if (plen) {
        cp_buf_put(key, prefix, plen);
        cp_buf_putc(key, '/');
    }
    cp_buf_printf(key, "%s/year=%04d/month=%02d/day=%02d/", p->schema->stream, y, m, d);
    cp_key_safe(key, cp_pipeline_name(ctx));
    cp_buf_printf(key, "-%s-%.16s.%s", compact, hash, ext);
}

/* Builds one part's object and its key; false when out of memory (or the encoder failed, logged). */
static bool render(cp_obj *o, cp_ctx *ctx, cp_obj_part *p, cp_buf *key, const char **data, size_t *len,
                   const char **type)
{
    cp_buf *b = &o->body;
    cp_buf_reset(b);
    const char *ext;
    if (p->pw) {
        char err[256];
        if (!encode_staged(o, ctx, p))
            return false;
        if (cp_pq_writer_finish(p->pw, b, err, sizeof err) != 0) {
            cp_log_error(ctx, "%s: stream %s: %s", o->sink, p->schema->stream, err);
            return false;
        }
        ext = "parquet";
        *type = "application/vnd.apache.parquet";
    } else {
        for (size_t i = 0; i < p->schema->nfields; i++) {
            if (i)
                cp_buf_putc(b, ',');
            cp_buf_puts(b, cp_schema_field(p->schema, i)->name);
        }
        cp_buf_put(b, "\r\n", 2);
        cp_buf_put(b, p->csv.p, p->csv.len);
        ext = o->cfg->gzip ? "csv.gz" : "csv";
        *type = o->cfg->gzip ? "application/gzip" : "text/csv";
    }
    char hash[65];
    if (b->oom || !cp_obj_sha256_hex(p->keys.p ? p->keys.p : "", p->keys.len, hash))
        return false;
    object_key(o, ctx, p, hash, ext, key);
    if (key->oom)
        return false;
    if (!p->pw && o->cfg->gzip) {
        if (!cp_gzip_fixed(&o->gz, b->p, b->len)) /* the same CSV always gives the same bytes */
            return false;
        *data = o->gz.p;
        *len = o->gz.len;
    } else {
        *data = b->p;
        *len = b->len;
    }
    return true;
}

cp_status cp_obj_upload_all(cp_obj *o, cp_ctx *ctx, cp_obj_put_fn put, void *user)
{
    cp_status st = CP_OK;
    cp_buf key = {0};
    size_t rows = 0, objects = 0;
    for (size_t i = 0; i < o->nparts && st == CP_OK; i++) {
        if (!o->parts[i].rows)
            continue; /* every row of it was refused */
        const char *data, *type;
        size_t len;
        if (!render(o, ctx, &o->parts[i], &key, &data, &len, &type)) {
            st = CP_ERR_NOMEM;
            break;
        }
        st = put(user, ctx, key.p, data, len, type);
        rows += o->parts[i].rows;
        objects++;
    }
    if (st == CP_OK && objects)
        cp_log_debug(ctx, "%s: uploaded %zu rows in %zu objects", o->sink, rows, objects);
    cp_buf_free(&key);
    discard_all(o);
    /* keep the big buffers' memory modest between uploads */
    cp_buf_free(&o->body);
    cp_buf_free(&o->gz);
    return st;
}

/* ---- `coinpipe ddl`: Athena and Snowflake tables over the objects ------------------------- */

/* a column's type in the dialect for the sink's format (Parquet: native times, the decimal scale) */
static void col_type(cp_buf *b, const cp_field *f, bool athena, bool pq, int precision, int scale)
{
    if (f->type == CP_T_DECIMAL)
        cp_buf_printf(b, athena ? "decimal(%d,%d)" : "NUMBER(%d,%d)", precision, scale);
    else if (athena && pq && f->type == CP_T_TIMESTAMP)
        cp_buf_puts(b, "timestamp");
    else
        cp_buf_puts(b, cp_sql_type(f->type, athena ? "athena" : "snowflake", false));
}

/* an external table over a stream's objects, partitions found by projection */
static void athena_table(cp_buf *b, const cp_schema *s, const char *root, bool pq, int precision, int scale)
{
    if (!pq)
        cp_buf_puts(b, "-- times are ISO-8601 UTC text (OpenCSVSerde): from_iso8601_timestamp(col) to compute with them\n");
    cp_buf_printf(b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n", s->stream);
    for (size_t i = 0; i < s->nfields; i++) {
        const cp_field *f = cp_schema_field(s, i);
        cp_buf_printf(b, "  `%s` ", f->name);
        col_type(b, f, true, pq, precision, scale);
        cp_buf_puts(b, i + 1 < s->nfields ? ",\n" : "\n");
    }
    cp_buf_puts(b, ")\nPARTITIONED BY (`year` string, `month` string, `day` string)\n");
    if (pq)
        cp_buf_puts(b, "STORED AS PARQUET\n");
    else
        cp_buf_puts(b, "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
                       "WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\\\\')\n"
                       "STORED AS TEXTFILE\n");
    cp_buf_printf(b, "LOCATION '%s%s/'\nTBLPROPERTIES (\n%s", root, s->stream,
                  pq ? "" : "  'skip.header.line.count' = '1',\n");
    cp_buf_printf(b,
                  "  'projection.enabled' = 'true',\n"
                  "  'projection.year.type' = 'integer', 'projection.year.range' = '2009,2099', "
                  "'projection.year.digits' = '4',\n"
                  "  'projection.month.type' = 'integer', 'projection.month.range' = '1,12', "
                  "'projection.month.digits' = '2',\n"
                  "  'projection.day.type' = 'integer', 'projection.day.range' = '1,31', "
                  "'projection.day.digits' = '2',\n"
                  "  'storage.location.template' = '%s%s/year=${year}/month=${month}/day=${day}/'\n);\n\n",
                  root, s->stream);
}

/* the file format and stage every Snowflake pipe of the sink reads through */
static void snowflake_stage(cp_buf *b, const char *root, const char *integration, bool pq)
{
    if (pq)
        cp_buf_puts(b, "CREATE FILE FORMAT IF NOT EXISTS coinpipe_parquet TYPE = PARQUET;\n");
    else
        cp_buf_puts(b, "CREATE FILE FORMAT IF NOT EXISTS coinpipe_csv TYPE = CSV SKIP_HEADER = 1\n"
                       "  FIELD_OPTIONALLY_ENCLOSED_BY = '\"' EMPTY_FIELD_AS_NULL = TRUE COMPRESSION = AUTO\n"
                       "  TIMESTAMP_FORMAT = AUTO;\n");
    cp_buf_printf(b, "-- replace %s with your storage integration for the %s\n"
                     "CREATE STAGE IF NOT EXISTS coinpipe_stage URL = '%s'\n"
                     "  STORAGE_INTEGRATION = %s FILE_FORMAT = %s;\n\n",
                  integration, !strncmp(root, "azure:", 6) ? "container" : "bucket", root, integration,
                  pq ? "coinpipe_parquet" : "coinpipe_csv");
}

/* a table with the stream's key and a pipe that loads its objects as they arrive */
static void snowflake_table(cp_buf *b, const cp_schema *s, bool pq, int precision, int scale)
{
    cp_buf q = {0};
    cp_sql_ident(&q, s->stream);
    cp_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s (\n", q.p ? q.p : "");
    for (size_t i = 0; i < s->nfields; i++) {
        cp_buf_puts(b, "    ");
        const cp_field *f = cp_schema_field(s, i);
        cp_sql_ident(b, f->name);
        cp_buf_putc(b, ' ');
        col_type(b, f, false, pq, precision, scale);
        cp_buf_puts(b, f->flags & CP_FIELD_KEY ? " NOT NULL,\n" : ",\n");
    }
    cp_buf_puts(b, "    PRIMARY KEY (");
    cp_sql_keys(b, s);
    cp_buf_puts(b, ")\n);\n");
    if (pq)
        cp_buf_printf(b, "CREATE PIPE IF NOT EXISTS \"%s_pipe\" AUTO_INGEST = TRUE AS\n"
                         "  COPY INTO %s FROM @coinpipe_stage/%s/ FILE_FORMAT = (FORMAT_NAME = 'coinpipe_parquet')\n"
                         "  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE;\n\n",
                      s->stream, q.p ? q.p : "", s->stream);
    else
        cp_buf_printf(b, "CREATE PIPE IF NOT EXISTS \"%s_pipe\" AUTO_INGEST = TRUE AS\n"
                         "  COPY INTO %s FROM @coinpipe_stage/%s/ FILE_FORMAT = (FORMAT_NAME = 'coinpipe_csv');\n\n",
                      s->stream, q.p ? q.p : "", s->stream);
    cp_buf_free(&q);
}

cp_status cp_obj_ddl(const cp_obj_config *cfg, bool athena, const char *root,
                     const char *integration, const cp_schema *const *schemas, size_t n, cp_text_fn fn, void *user)
{
    bool pq = parquet(cfg);
    int scale = cfg ? (int)cfg->decimal_scale : CP_PQ_DEC_SCALE, precision = dec_precision(cfg);
    if (!pq) { /* CSV keeps the text: the tables' NUMBER(38,18) as before */
        scale = CP_PQ_DEC_SCALE;
        precision = CP_PQ_DEC_PRECISION;
    }
    cp_buf b = {0};
    if (!athena && n) {
        snowflake_stage(&b, root, integration, pq);
        if (!b.oom)
            fn(user, b.p, b.len);
    }
    for (size_t i = 0; i < n && !b.oom; i++) {
        if (cp_raw_is(schemas[i]))
            continue; /* gzipped bodies, not rows: no table over them */
        cp_buf_reset(&b);
        if (athena)
            athena_table(&b, schemas[i], root, pq, precision, scale);
        else
            snowflake_table(&b, schemas[i], pq, precision, scale);
        if (!b.oom)
            fn(user, b.p, b.len);
    }
    cp_status st = b.oom ? CP_ERR_NOMEM : CP_OK;
    cp_buf_free(&b);
    return st;
}
