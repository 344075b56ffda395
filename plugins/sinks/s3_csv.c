/* Sink "s3-csv": writes every stream as Hive-partitioned CSV objects to an S3 bucket.
 * SPDX-License-Identifier: MIT
 *
 * Rows are buffered per (stream, UTC day of the row's own event time) and uploaded with a
 * path-style PUT <endpoint>/<bucket>/<prefix>/<stream>/year=YYYY/month=MM/day=DD/
 * <pipeline>-<first row time>-<content hash>.csv[.gz] when max_rows or max_bytes is reached,
 * when flush_interval has passed, and at shutdown. The key follows from the content, so a
 * retried upload overwrites itself. CSV per RFC 4180 with a header row, decimals verbatim,
 * times ISO-8601 UTC with milliseconds, NULL empty. Uploads go through the core's HTTP service
 * (cp_http_perform: shared connections, per-request stop), signed there by libcurl's AWS SigV4
 * over exactly the headers sent (no empty "Expect:", which libcurl 7.88 would sign although it
 * sends no such header); the payload's SHA-256 comes from libcrypto; credentials come from the options, the AWS_*
 * environment or the shared credentials file (AWS_PROFILE).
 */
#include <coinpipe/csv.h>
#include <coinpipe/schema.h>
#include <coinpipe/sql.h>
#include <coinpipe/utc.h>

#include <coinpipe/coinpipe.h>

#include <openssl/evp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct s3_config {
    char *bucket;
    char *prefix;
    char *region;
    char *endpoint;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    bool gzip;
    int64_t max_rows;
    int64_t max_bytes;
    int64_t flush_interval;
    int64_t timeout;
} s3_config;

static const cp_option s3_options[] = {
    {.name = "bucket", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(s3_config, bucket),
     .doc = "Bucket the objects are written to."},
    {.name = "prefix", .type = CP_OPT_STRING, .def = "\"crypto/tabular\"", .offset = offsetof(s3_config, prefix),
     .doc = "Key prefix; objects go to <prefix>/<stream>/year=YYYY/month=MM/day=DD/."},
    {.name = "region", .type = CP_OPT_STRING, .def = "\"\"", .offset = offsetof(s3_config, region),
     .doc = "AWS region; empty uses AWS_REGION, AWS_DEFAULT_REGION, else us-east-1."},
    {.name = "endpoint", .type = CP_OPT_STRING, .def = "\"\"", .offset = offsetof(s3_config, endpoint),
     .doc = "Base URL of an S3-compatible store (path-style addressing); empty is AWS S3 of the region."},
    {.name = "access_key_id", .type = CP_OPT_STRING, .def = "\"\"", .flags = CP_OPT_SECRET,
     .offset = offsetof(s3_config, access_key_id),
     .doc = "Access key id; empty uses AWS_ACCESS_KEY_ID or the credentials file."},
    {.name = "secret_access_key", .type = CP_OPT_STRING, .def = "\"\"", .flags = CP_OPT_SECRET,
     .offset = offsetof(s3_config, secret_access_key),
     .doc = "Secret access key; empty uses AWS_SECRET_ACCESS_KEY or the credentials file."},
    {.name = "session_token", .type = CP_OPT_STRING, .def = "\"\"", .flags = CP_OPT_SECRET,
     .offset = offsetof(s3_config, session_token),
     .doc = "Session token of temporary credentials; empty uses AWS_SESSION_TOKEN or the credentials file."},
    {.name = "gzip", .type = CP_OPT_BOOL, .def = "false", .offset = offsetof(s3_config, gzip),
     .doc = "Compress objects with gzip (.csv.gz)."},
    {.name = "max_rows", .type = CP_OPT_INT, .def = "1000000", .min = 1, .max = 1e9,
     .offset = offsetof(s3_config, max_rows),
     .doc = "Upload once one object would hold this many rows."},
    {.name = "max_bytes", .type = CP_OPT_SIZE, .def = "\"64M\"", .min = 1024, .max = 4294967296.0,
     .offset = offsetof(s3_config, max_bytes),
     .doc = "Upload once the buffered CSV reaches this size."},
    {.name = "flush_interval", .type = CP_OPT_DURATION, .def = "\"5m\"",
     .offset = offsetof(s3_config, flush_interval),
     .doc = "Upload buffered rows at the latest this long after the first of them arrived."},
    {.name = "timeout", .type = CP_OPT_DURATION, .def = "\"2m\"", .min = 1000, .max = 3600000,
     .offset = offsetof(s3_config, timeout),
     .doc = "Time limit of one upload."},
    CP_OPTION_END,
};

/* rows of one stream and UTC day, as CSV without the header */
typedef struct s3_part {
    cp_schema *schema;
    int64_t day;
    int64_t first_ts; /* event time of its first row */
    size_t rows;
    cp_buf csv;
} s3_part;

typedef struct s3 {
    const s3_config *cfg;
    char *region, *endpoint, *key_id, *secret, *token;
    char *userpwd, *sigv4;
    size_t nparts;
    s3_part *parts;
    size_t pending_bytes;
    int64_t pending_since_ms; /* when the oldest buffered row arrived; 0 = nothing buffered */
    cp_buf body;              /* the object being uploaded */
    cp_buf gz;
} s3;

/* the `prefix` option without leading and trailing slashes: `*len` bytes at the result */
static const char *key_prefix(const char *prefix, size_t *len)
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

/* ---- credentials ------------------------------------------------------------------------ */

static char *dup_nonempty(const char *a, const char *b)
{
    if (a && *a)
        return strdup(a);
    if (b && *b)
        return strdup(b);
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* reads key id, secret and token of `profile` from the shared credentials file */
static void read_credentials_file(s3 *s, cp_ctx *ctx)
{
    const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    char path[1024];
    if (!file || !*file) {
        const char *home = getenv("HOME");
        if (!home)
            return;
        snprintf(path, sizeof path, "%s/.aws/credentials", home);
        file = path;
    }
    FILE *f = fopen(file, "r");
    if (!f)
        return;
    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    char line[2048];
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        char *l = trim(line);
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (end)
                *end = '\0';
            in = !strcmp(trim(l + 1), profile);
            continue;
        }
        char *eq = strchr(l, '=');
        if (!in || !eq || *l == '#' || *l == ';')
            continue;
        *eq = '\0';
        char *k = trim(l), *v = trim(eq + 1);
        char **dst = !strcmp(k, "aws_access_key_id")       ? &s->key_id
                     : !strcmp(k, "aws_secret_access_key") ? &s->secret
                     : !strcmp(k, "aws_session_token")     ? &s->token
                                                           : NULL;
        if (dst && !*dst)
            *dst = strdup(v);
    }
    fclose(f);
    cp_log_debug(ctx, "s3-csv: credentials of profile %s from %s", profile, file);
}

/* ---- buffering ---------------------------------------------------------------------------- */

/* the column whose value places a row in time: a key timestamp, else "ts", else any timestamp */
static int time_column(const cp_schema *s)
{
    int any = -1, ts = -1;
    for (size_t i = 0; i < s->nfields; i++) {
        if (s->fields[i].type != CP_T_TIMESTAMP)
            continue;
        if (s->fields[i].flags & CP_FIELD_KEY)
            return (int)i;
        if (!strcmp(s->fields[i].name, "ts"))
            ts = (int)i;
        if (any < 0)
            any = (int)i;
    }
    return ts >= 0 ? ts : any;
}

static s3_part *part_for(s3 *s, const cp_schema *schema, int64_t day, int64_t ts)
{
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i].day == day && cp_schema_equal(s->parts[i].schema, schema))
            return &s->parts[i];
    s3_part *n = realloc(s->parts, (s->nparts + 1) * sizeof *n);
    if (!n)
        return NULL;
    s->parts = n;
    s3_part *p = &n[s->nparts];
    memset(p, 0, sizeof *p);
    if (!(p->schema = cp_schema_copy(schema)))
        return NULL;
    p->day = day;
    p->first_ts = ts;
    s->nparts++;
    return p;
}

static void discard_all(s3 *s)
{
    for (size_t i = 0; i < s->nparts; i++) {
        free(s->parts[i].schema);
        cp_buf_free(&s->parts[i].csv);
    }
    free(s->parts);
    s->parts = NULL;
    s->nparts = 0;
    s->pending_bytes = 0;
    s->pending_since_ms = 0;
}

/* ---- upload ------------------------------------------------------------------------------- */

static bool sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return false;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return true;
}

/* gzip with a fixed header (no name, no time): the same CSV always gives the same bytes */
static bool gzip_into(cp_buf *out, const char *in, size_t len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    cp_buf_reset(out);
    if (!cp_buf_reserve(out, deflateBound(&z, (uLong)len))) {
        deflateEnd(&z);
        return false;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->p;
    z.avail_out = (uInt)(out->cap - 1);
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

static void key_safe(cp_buf *b, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        cp_buf_putc(b, ok ? c : '_');
    }
}

static cp_status put_object(s3 *s, cp_ctx *ctx, const char *key, const char *data, size_t len)
{
    char hash[65];
    if (!sha256_hex(data, len, hash))
        return CP_ERR_INTERNAL;
    cp_buf url = {0}, sha = {0}, tok = {0};
    cp_buf_printf(&url, "%s/%s/%s", s->endpoint, s->cfg->bucket, key);
    cp_buf_printf(&sha, "x-amz-content-sha256: %s", hash);
    if (s->token)
        cp_buf_printf(&tok, "x-amz-security-token: %s", s->token);
    const char *headers[] = {sha.p, s->cfg->gzip ? "Content-Type: application/gzip" : "Content-Type: text/csv",
                             tok.p, NULL};
    cp_http_request rq = CP_HTTP_REQUEST(.method = "PUT", .url = url.p, .headers = headers, .body = data,
                                         .body_len = len, .timeout_ms = (long)s->cfg->timeout, .max_attempts = 1,
                                         .aws_sigv4 = s->sigv4, .userpwd = s->userpwd, .no_log = 1);
    cp_http_response rs;
    cp_status rc = url.oom || sha.oom || tok.oom ? CP_ERR_NOMEM : cp_http_perform(ctx, &rq, &rs, 1);
    long code = rc == CP_ERR_NOMEM ? 0 : rs.code;
    const char *resp = rc == CP_ERR_NOMEM ? NULL : rs.body;
    cp_status st;
    /* the S3 error code, e.g. <Code>AccessDenied</Code>, names the cause */
    char why[96] = "";
    const char *cs = resp ? strstr(resp, "<Code>") : NULL;
    if (cs) {
        const char *ce = strstr(cs, "</Code>");
        if (ce && ce - cs - 6 < (long)sizeof why)
            snprintf(why, sizeof why, "%.*s", (int)(ce - cs - 6), cs + 6);
    }
    if (rc == CP_ERR_NOMEM || rs.status != CP_OK) {
        cp_log_warn(ctx, "s3-csv: PUT s3://%s/%s: %s", s->cfg->bucket, key,
                    rc == CP_ERR_NOMEM ? "out of memory" : rs.error);
        st = CP_RETRY;
    } else if (code >= 200 && code < 300) {
        cp_log_debug(ctx, "s3-csv: wrote s3://%s/%s (%zu bytes)", s->cfg->bucket, key, len);
        st = CP_OK;
    } else if (code == 403) {
        cp_log_error(ctx,
                     "s3-csv: access to bucket %s denied (HTTP 403 %s): check the credentials, region and the "
                     "bucket policy (s3:PutObject on %s/%s/*)",
                     s->cfg->bucket, why, s->cfg->bucket, s->cfg->prefix);
        st = CP_REJECT;
    } else if (code >= 500 || code == 408 || code == 429) {
        cp_log_warn(ctx, "s3-csv: PUT s3://%s/%s: HTTP %ld %s, will retry", s->cfg->bucket, key, code, why);
        st = CP_RETRY;
    } else {
        cp_log_error(ctx, "s3-csv: PUT s3://%s/%s: HTTP %ld %s%s", s->cfg->bucket, key, code, why,
                     !strcmp(why, "NoSuchBucket") ? " (create the bucket or fix `bucket`)" : "");
        st = CP_REJECT;
    }
    if (rc != CP_ERR_NOMEM)
        cp_http_response_clear(ctx, &rs);
    cp_buf_free(&url);
    cp_buf_free(&sha);
    cp_buf_free(&tok);
    return st;
}

/** Builds one part's object (header + rows, gzipped when asked) and its key into `key`. */
static bool render(s3 *s, cp_ctx *ctx, const s3_part *p, cp_buf *key, const char **data, size_t *len)
{
    cp_buf *b = &s->body;
    cp_buf_reset(b);
    for (size_t i = 0; i < p->schema->nfields; i++) {
        if (i)
            cp_buf_putc(b, ',');
        cp_buf_puts(b, p->schema->fields[i].name);
    }
    cp_buf_put(b, "\r\n", 2);
    cp_buf_put(b, p->csv.p, p->csv.len);
    if (b->oom)
        return false;
    char hash[65];
    if (!sha256_hex(b->p, b->len, hash))
        return false;
    int y, m, d;
    cp_utc_civil(p->day, &y, &m, &d);
    char iso[25];
    cp_utc_iso8601(p->first_ts, iso);
    /* 2026-11-21T10:55:44.123Z -> 20261121T105544123Z: no ':' in keys */
    char compact[25];
    size_t o = 0;
    for (const char *c = iso; *c; c++)
        if (*c != '-' && *c != ':' && *c != '.')
            compact[o++] = *c;
    compact[o] = '\0';
    size_t plen;
    const char *prefix = key_prefix(s->cfg->prefix, &plen);
    cp_buf_reset(key);
    if (plen) {
        cp_buf_put(key, prefix, plen);
        cp_buf_putc(key, '/');
    }
    cp_buf_printf(key, "%s/year=%04d/month=%02d/day=%02d/", p->schema->stream, y, m, d);
    key_safe(key, cp_pipeline_name(ctx));
    cp_buf_printf(key, "-%s-%.16s.csv%s", compact, hash, s->cfg->gzip ? ".gz" : "");
    if (key->oom)
        return false;
    if (s->cfg->gzip) {
        if (!gzip_into(&s->gz, b->p, b->len))
            return false;
        *data = s->gz.p;
        *len = s->gz.len;
    } else {
        *data = b->p;
        *len = b->len;
    }
    return true;
}

/* uploads every buffered part; on success or failure nothing stays buffered (see write()) */
static cp_status upload_all(s3 *s, cp_ctx *ctx)
{
    cp_status st = CP_OK;
    cp_buf key = {0};
    size_t rows = 0;
    for (size_t i = 0; i < s->nparts && st == CP_OK; i++) {
        const char *data;
        size_t len;
        if (!render(s, ctx, &s->parts[i], &key, &data, &len)) {
            st = CP_ERR_NOMEM;
            break;
        }
        st = put_object(s, ctx, key.p, data, len);
        rows += s->parts[i].rows;
    }
    if (st == CP_OK && s->nparts)
        cp_log_debug(ctx, "s3-csv: uploaded %zu rows in %zu objects", rows, s->nparts);
    cp_buf_free(&key);
    discard_all(s);
    /* keep the big buffers' memory modest between uploads */
    cp_buf_free(&s->body);
    cp_buf_free(&s->gz);
    return st;
}

static cp_status s3_write(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    s3 *s = instance;
    const cp_schema *schema = cp_batch_schema(ctx, batch);
    size_t rows = cp_batch_rows(ctx, batch);
    int tcol = time_column(schema);
    int64_t now = cp_now_ms(ctx);
    s3_part *p = NULL;
    bool full = false;
    for (size_t r = 0; r < rows; r++) {
        int64_t ts = tcol >= 0 && !cp_batch_is_null(ctx, batch, r, (size_t)tcol)
                         ? cp_batch_get_int(ctx, batch, r, (size_t)tcol)
                         : now;
        int64_t day = cp_utc_day(ts);
        if (!p || p->day != day)
            p = part_for(s, schema, day, ts);
        if (!p) {
            discard_all(s);
            return CP_ERR_NOMEM;
        }
        size_t before = p->csv.len;
        for (size_t c = 0; c < schema->nfields; c++) {
            if (c)
                cp_buf_putc(&p->csv, ',');
            cp_csv_cell(&p->csv, ctx, batch, r, c, schema->fields[c].type);
        }
        cp_buf_put(&p->csv, "\r\n", 2);
        if (p->csv.oom) {
            discard_all(s);
            return CP_ERR_NOMEM;
        }
        p->rows++;
        s->pending_bytes += p->csv.len - before;
        full = full || p->rows >= (size_t)s->cfg->max_rows;
    }
    if (rows && !s->pending_since_ms)
        s->pending_since_ms = now;
    if (full || s->pending_bytes >= (size_t)s->cfg->max_bytes)
        return upload_all(s, ctx);
    return s->nparts ? CP_PENDING : CP_OK;
}

static cp_status s3_flush(void *instance, cp_ctx *ctx, unsigned flags)
{
    s3 *s = instance;
    if (!s->nparts)
        return CP_OK;
    if ((flags & CP_FLUSH_FORCE) || cp_now_ms(ctx) - s->pending_since_ms >= s->cfg->flush_interval)
        return upload_all(s, ctx);
    return CP_PENDING;
}

static void s3_destroy(void *instance)
{
    s3 *s = instance;
    if (!s)
        return;
    discard_all(s);
    cp_buf_free(&s->body);
    cp_buf_free(&s->gz);
    free(s->region);
    free(s->endpoint);
    free(s->key_id);
    free(s->secret);
    free(s->token);
    free(s->userpwd);
    free(s->sigv4);
    free(s);
}

static cp_status s3_create(cp_ctx *ctx, const void *config, void **instance)
{
    const s3_config *cfg = config;
    if (!cfg->bucket || !*cfg->bucket || strchr(cfg->bucket, '/')) {
        cp_log_error(ctx, "s3-csv: bucket must be a bucket name (no '/'), got '%s'", cfg->bucket ? cfg->bucket : "");
        return CP_ERR_CONFIG;
    }
    s3 *s = calloc(1, sizeof *s);
    if (!s)
        return CP_ERR_NOMEM;
    s->cfg = cfg;
    s->region = dup_nonempty(cfg->region, getenv("AWS_REGION"));
    if (!s->region)
        s->region = dup_nonempty(getenv("AWS_DEFAULT_REGION"), "us-east-1");
    s->key_id = dup_nonempty(cfg->access_key_id, getenv("AWS_ACCESS_KEY_ID"));
    s->secret = dup_nonempty(cfg->secret_access_key, getenv("AWS_SECRET_ACCESS_KEY"));
    s->token = dup_nonempty(cfg->session_token, getenv("AWS_SESSION_TOKEN"));
    if (!s->key_id || !s->secret)
        read_credentials_file(s, ctx);
    if (!s->key_id || !s->secret) {
        cp_log_error(ctx, "s3-csv: no credentials for bucket %s: set access_key_id/secret_access_key, "
                          "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials",
                     cfg->bucket);
        s3_destroy(s);
        return CP_ERR_CONFIG;
    }
    cp_buf b = {0};
    if (cfg->endpoint && *cfg->endpoint) {
        size_t n = strlen(cfg->endpoint);
        while (n && cfg->endpoint[n - 1] == '/')
            n--;
        cp_buf_put(&b, cfg->endpoint, n);
    } else {
        cp_buf_printf(&b, "https://s3.%s.amazonaws.com", s->region);
    }
    s->endpoint = b.p;
    b = (cp_buf){0};
    cp_buf_printf(&b, "aws:amz:%s:s3", s->region);
    s->sigv4 = b.p;
    b = (cp_buf){0};
    cp_buf_printf(&b, "%s:%s", s->key_id, s->secret);
    s->userpwd = b.p;
    if (!s->endpoint || !s->sigv4 || !s->userpwd) {
        s3_destroy(s);
        return CP_ERR_NOMEM;
    }
    cp_log_debug(ctx, "s3-csv: writing to %s/%s/%s (region %s)", s->endpoint, cfg->bucket, cfg->prefix, s->region);
    *instance = s;
    return CP_OK;
}

/* ---- `coinpipe ddl`: Athena and Snowflake tables over the objects ------------------------- */

static const char *const s3_dialects[] = {"athena", "snowflake", NULL};

/* s3://bucket/prefix/ of the sink (placeholders when not configured) */
static void s3_location(cp_buf *b, const s3_config *cfg)
{
    size_t plen;
    const char *prefix = key_prefix(cfg ? cfg->prefix : "crypto/tabular", &plen);
    cp_buf_printf(b, "s3://%s/", cfg && cfg->bucket && *cfg->bucket ? cfg->bucket : "YOUR-BUCKET");
    if (plen) {
        cp_buf_put(b, prefix, plen);
        cp_buf_putc(b, '/');
    }
}

/* an external table over a stream's CSV objects, partitions found by projection */
static void athena_table(cp_buf *b, const cp_schema *s, const char *root)
{
    cp_buf_puts(b, "-- times are ISO-8601 UTC text (OpenCSVSerde): from_iso8601_timestamp(col) to compute with them\n");
    cp_buf_printf(b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n", s->stream);
    for (size_t i = 0; i < s->nfields; i++) {
        const cp_field *f = cp_schema_field(s, i);
        cp_buf_printf(b, "  `%s` %s%s\n", f->name, cp_sql_type(f->type, "athena", false), i + 1 < s->nfields ? "," : "");
    }
    cp_buf_printf(b,
                  ")\nPARTITIONED BY (`year` string, `month` string, `day` string)\n"
                  "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
                  "WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\\\\')\n"
                  "STORED AS TEXTFILE\nLOCATION '%s%s/'\nTBLPROPERTIES (\n"
                  "  'skip.header.line.count' = '1',\n"
                  "  'projection.enabled' = 'true',\n"
                  "  'projection.year.type' = 'integer', 'projection.year.range' = '2009,2099', "
                  "'projection.year.digits' = '4',\n"
                  "  'projection.month.type' = 'integer', 'projection.month.range' = '1,12', "
                  "'projection.month.digits' = '2',\n"
                  "  'projection.day.type' = 'integer', 'projection.day.range' = '1,31', "
                  "'projection.day.digits' = '2',\n"
                  "  'storage.location.template' = '%s%s/year=${year}/month=${month}/day=${day}/'\n);\n\n",
                  root, s->stream, root, s->stream);
}

/* the file format and stage every Snowflake pipe of the sink reads through */
static void snowflake_stage(cp_buf *b, const char *root)
{
    cp_buf_puts(b, "CREATE FILE FORMAT IF NOT EXISTS coinpipe_csv TYPE = CSV SKIP_HEADER = 1\n"
                   "  FIELD_OPTIONALLY_ENCLOSED_BY = '\"' EMPTY_FIELD_AS_NULL = TRUE COMPRESSION = AUTO\n"
                   "  TIMESTAMP_FORMAT = AUTO;\n");
    cp_buf_printf(b, "-- replace coinpipe_s3 with your storage integration for the bucket\n"
                     "CREATE STAGE IF NOT EXISTS coinpipe_stage URL = '%s'\n"
                     "  STORAGE_INTEGRATION = coinpipe_s3 FILE_FORMAT = coinpipe_csv;\n\n",
                  root);
}

/* a table with the stream's key and a pipe that loads its objects as they arrive */
static void snowflake_table(cp_buf *b, const cp_schema *s)
{
    cp_buf q = {0};
    cp_sql_ident(&q, s->stream);
    cp_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s (\n", q.p ? q.p : "");
    for (size_t i = 0; i < s->nfields; i++) {
        cp_buf_puts(b, "    ");
        const cp_field *f = cp_schema_field(s, i);
        cp_sql_ident(b, f->name);
        cp_buf_printf(b, " %s%s,\n", cp_sql_type(f->type, "snowflake", false), f->flags & CP_FIELD_KEY ? " NOT NULL" : "");
    }
    cp_buf_puts(b, "    PRIMARY KEY (");
    cp_sql_keys(b, s);
    cp_buf_puts(b, ")\n);\n");
    cp_buf_printf(b, "CREATE PIPE IF NOT EXISTS \"%s_pipe\" AUTO_INGEST = TRUE AS\n"
                     "  COPY INTO %s FROM @coinpipe_stage/%s/ FILE_FORMAT = (FORMAT_NAME = 'coinpipe_csv');\n\n",
                  s->stream, q.p ? q.p : "", s->stream);
    cp_buf_free(&q);
}

static cp_status s3_ddl(cp_ctx *ctx, const void *config, const char *dialect, const cp_schema *const *schemas,
                        size_t n, cp_text_fn fn, void *user)
{
    bool athena = !strcmp(dialect, "athena");
    if (!athena && strcmp(dialect, "snowflake"))
        return CP_ERR_UNSUPPORTED;
    cp_buf root = {0}, b = {0};
    s3_location(&root, config);
    if (!athena && n) {
        snowflake_stage(&b, root.p ? root.p : "");
        if (!b.oom)
            fn(user, b.p, b.len);
    }
    for (size_t i = 0; i < n && !b.oom && !root.oom; i++) {
        cp_buf_reset(&b);
        if (athena)
            athena_table(&b, schemas[i], root.p ? root.p : "");
        else
            snowflake_table(&b, schemas[i]);
        if (!b.oom)
            fn(user, b.p, b.len);
    }
    cp_status st = b.oom || root.oom ? CP_ERR_NOMEM : CP_OK;
    cp_buf_free(&b);
    cp_buf_free(&root);
    return st;
}

CP_PLUGIN_DEFINE(.name = "s3-csv", .kind = CP_SINK, .version = "0.1.0",
                 .description = "Writes each stream as Hive-partitioned CSV objects to S3",
                 .options = s3_options, .config_size = sizeof(s3_config), .create = s3_create,
                 .destroy = s3_destroy, .write = s3_write, .flush = s3_flush, .ddl_dialects = s3_dialects,
                 .ddl = s3_ddl);
