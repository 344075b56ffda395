/* Sink "s3-csv": writes every stream as Hive-partitioned CSV or Parquet objects to an S3 bucket.
 * SPDX-License-Identifier: MIT
 *
 * (The name predates `format = "parquet"`; `plugin = "s3"` is not a separate plugin: use s3-csv
 * with format.) Rows are buffered per (stream, UTC day of the row's own event time) by the layout
 * shared with azure-blob (plugins/sinks/common/objstore.c) and uploaded with a path-style PUT
 * <endpoint>/<bucket>/<prefix>/<stream>/year=YYYY/month=MM/day=DD/<pipeline>-<first row time>-
 * <key hash>.csv[.gz]|.parquet when max_rows or max_bytes is reached, when flush_interval has
 * passed, and at shutdown. The name follows from the rows' keys, so a retried upload or a re-run
 * of the same backfill overwrites its object. CSV per RFC 4180 with a header row, decimals verbatim, times ISO-8601 UTC with
 * milliseconds, NULL empty; Parquet as objstore.h describes. Uploads go through the core's HTTP service
 * (cp_http_perform: shared connections, per-request stop), signed there by libcurl's AWS SigV4
 * over exactly the headers sent (no empty "Expect:", which libcurl 7.88 would sign although it
 * sends no such header); the payload's SHA-256 comes from libcrypto; credentials come from the options, the AWS_*
 * environment or the shared credentials file (AWS_PROFILE).
 */
#include "common/objstore.h"

#include <coinpipe/coinpipe.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s3_config {
    char *bucket;
    cp_obj_config obj;
    char *region;
    char *endpoint;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    int64_t timeout;
} s3_config;

static const cp_option s3_options[] = {
    {.name = "bucket", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(s3_config, bucket),
     .doc = "Bucket the objects are written to."},
    CP_OBJ_OPTIONS(s3_config, obj),
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
    {.name = "timeout", .type = CP_OPT_DURATION, .def = "\"2m\"", .min = 1000, .max = 3600000,
     .offset = offsetof(s3_config, timeout),
     .doc = "Time limit of one upload."},
    CP_OPTION_END,
};

typedef struct s3 {
    const s3_config *cfg;
    char *region, *endpoint, *key_id, *secret, *token;
    char *userpwd, *sigv4;
    cp_obj obj; /* the buffered rows */
} s3;

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

/* ---- upload ------------------------------------------------------------------------------- */

/* cp_obj_put_fn: one signed PUT */
static cp_status put_object(void *user, cp_ctx *ctx, const char *key, const char *data, size_t len,
                            const char *content_type)
{
    s3 *s = user;
    char hash[65];
    if (!cp_obj_sha256_hex(data, len, hash))
        return CP_ERR_INTERNAL;
    cp_buf url = {0}, sha = {0}, tok = {0}, ct = {0};
    cp_buf_printf(&url, "%s/%s/%s", s->endpoint, s->cfg->bucket, key);
    cp_buf_printf(&sha, "x-amz-content-sha256: %s", hash);
    cp_buf_printf(&ct, "Content-Type: %s", content_type);
    if (s->token)
        cp_buf_printf(&tok, "x-amz-security-token: %s", s->token);
    const char *headers[] = {sha.p, ct.p, tok.p, NULL};
    cp_http_request rq = CP_HTTP_REQUEST(.method = "PUT", .url = url.p, .headers = headers, .body = data,
                                         .body_len = len, .timeout_ms = (long)s->cfg->timeout, .max_attempts = 1,
                                         .aws_sigv4 = s->sigv4, .userpwd = s->userpwd, .no_log = 1);
    cp_http_response rs;
    cp_status rc = url.oom || sha.oom || tok.oom || ct.oom ? CP_ERR_NOMEM : cp_http_perform(ctx, &rq, &rs, 1);
    long code = rc == CP_ERR_NOMEM ? 0 : rs.code;
    const char *resp = rc == CP_ERR_NOMEM ? NULL : rs.body;
    cp_status st;
    /* the S3 error code, e.g. <Code>AccessDenied</Code>, names the cause */
    char why[96];
    cp_obj_error_code(resp, why, sizeof why);
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
                     s->cfg->bucket, why, s->cfg->bucket, s->cfg->obj.prefix);
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
    cp_buf_free(&ct);
    return st;
}

static cp_status s3_write(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    s3 *s = instance;
    return cp_obj_write(&s->obj, ctx, batch, put_object, s);
}

static cp_status s3_flush(void *instance, cp_ctx *ctx, unsigned flags)
{
    s3 *s = instance;
    return cp_obj_flush(&s->obj, ctx, flags, put_object, s);
}

static void s3_destroy(void *instance)
{
    s3 *s = instance;
    if (!s)
        return;
    cp_obj_free(&s->obj);
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
    if (cp_obj_init(&s->obj, ctx, &cfg->obj, "s3-csv") != CP_OK) {
        free(s);
        return CP_ERR_CONFIG;
    }
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
    if (!cp_obj_endpoint(&b, cfg->endpoint))
        cp_buf_printf(&b, "https://s3.%s.amazonaws.com", s->region);
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
    cp_log_debug(ctx, "s3-csv: writing %s to %s/%s/%s (region %s)", cfg->obj.format, s->endpoint, cfg->bucket,
                 cfg->obj.prefix, s->region);
    *instance = s;
    return CP_OK;
}

/* ---- `coinpipe ddl`: Athena and Snowflake tables over the objects ------------------------- */

static const char *const s3_dialects[] = {"athena", "snowflake", NULL};

/* s3://bucket/prefix/ of the sink (placeholders when not configured) */
static void s3_location(cp_buf *b, const s3_config *cfg)
{
    size_t plen;
    const char *prefix = cp_obj_key_prefix(cfg ? cfg->obj.prefix : "crypto/tabular", &plen);
    cp_buf_printf(b, "s3://%s/", cfg && cfg->bucket && *cfg->bucket ? cfg->bucket : "YOUR-BUCKET");
    if (plen) {
        cp_buf_put(b, prefix, plen);
        cp_buf_putc(b, '/');
    }
}

/* Athena tables or Snowflake pipes over the objects, in the format the sink writes */
static cp_status s3_ddl(cp_ctx *ctx, const void *config, const char *dialect, const cp_schema *const *schemas,
                        size_t n, cp_text_fn fn, void *user)
{
    (void)ctx;
    const s3_config *cfg = config;
    bool athena = !strcmp(dialect, "athena");
    if (!athena && strcmp(dialect, "snowflake"))
        return CP_ERR_UNSUPPORTED;
    cp_buf root = {0};
    s3_location(&root, cfg);
    cp_status st = root.oom ? CP_ERR_NOMEM
                            : cp_obj_ddl(cfg ? &cfg->obj : NULL, athena, root.p, "coinpipe_s3", schemas, n, fn, user);
    cp_buf_free(&root);
    return st;
}

CP_PLUGIN_DEFINE(.name = "s3-csv", .kind = CP_SINK, .version = "0.1.0",
                 .description = "Writes each stream as Hive-partitioned CSV or Parquet objects to S3",
                 .options = s3_options, .config_size = sizeof(s3_config), .create = s3_create,
                 .destroy = s3_destroy, .write = s3_write, .flush = s3_flush, .ddl_dialects = s3_dialects,
                 .ddl = s3_ddl);
