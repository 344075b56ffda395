/* Sink "azure-blob": writes every stream as Hive-partitioned CSV or Parquet block blobs to an
 * Azure Blob Storage container.
 * SPDX-License-Identifier: MIT
 *
 * The layout, formats, buffering, content-named keys and DDL are the object-store sinks' shared
 * ones (plugins/sinks/common/objstore.c, docs/objstore.md): s3-csv writes the same objects to S3.
 * A blob up to block_size goes up with one Put Blob (PUT <endpoint>/<container>/<name>,
 * x-ms-blob-type: BlockBlob); a larger one as Put Block requests of block_size and a Put Block
 * List that commits them (block ids are the blocks' numbers, so a retried upload commits the
 * same blocks under the same name). Requests go through the core's HTTP service
 * (cp_http_perform), authorised by Shared Key (an HMAC-SHA256 of the canonical request under the
 * account key, libcrypto) or by a SAS token appended to the URL. Both are secret options, never
 * logged; the service does not log these requests' URLs (no_log) and this file logs names only.
 * endpoint defaults to https://<account>.blob.core.windows.net; a path-style endpoint (Azurite:
 * http://127.0.0.1:10000/<account>) works the same, the account being part of its path.
 */
#include "common/objstore.h"

#include <coinpipe/coinpipe.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AZ_API_VERSION "2021-08-06"

typedef struct az_config {
    char *account;
    char *container;
    cp_obj_config obj;
    char *endpoint;
    char *account_key;
    char *sas_token;
    int64_t block_size;
    int64_t timeout;
} az_config;

static const cp_option az_options[] = {
    {.name = "account", .type = CP_OPT_STRING, .def = "\"\"", .offset = offsetof(az_config, account),
     .doc = "Storage account name; empty uses AZURE_STORAGE_ACCOUNT."},
    {.name = "container", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(az_config, container),
     .doc = "Container the blobs are written to (it must exist)."},
    CP_OBJ_OPTIONS(az_config, obj),
    {.name = "endpoint", .type = CP_OPT_STRING, .def = "\"\"", .offset = offsetof(az_config, endpoint),
     .doc = "Blob service URL; empty is https://<account>.blob.core.windows.net (Azurite: "
            "http://127.0.0.1:10000/<account>)."},
    {.name = "account_key", .type = CP_OPT_STRING, .def = "\"\"", .flags = CP_OPT_SECRET,
     .offset = offsetof(az_config, account_key),
     .doc = "Account key (base64) for Shared Key authorisation; empty uses AZURE_STORAGE_KEY."},
    {.name = "sas_token", .type = CP_OPT_STRING, .def = "\"\"", .flags = CP_OPT_SECRET,
     .offset = offsetof(az_config, sas_token),
     .doc = "Shared access signature (the query string, with or without '?') used instead of a key; empty uses "
            "AZURE_STORAGE_SAS_TOKEN."},
    {.name = "block_size", .type = CP_OPT_SIZE, .def = "\"8M\"", .min = 1024, .max = 4000.0 * 1024 * 1024,
     .offset = offsetof(az_config, block_size),
     .doc = "Blobs up to this size go up in one Put Blob, larger ones in blocks of this size."},
    {.name = "timeout", .type = CP_OPT_DURATION, .def = "\"2m\"", .min = 1000, .max = 3600000,
     .offset = offsetof(az_config, timeout), .doc = "Time limit of one request."},
    CP_OPTION_END,
};

typedef struct az {
    const az_config *cfg;
    char *account, *endpoint, *sas; /* sas: without the leading '?' */
    unsigned char key[128];         /* the decoded account key */
    int keylen;                     /* 0: SAS */
    char *path;                     /* the endpoint URL's path (Azurite: /<account>) */
    cp_obj obj;
} az;

/* ---- requests ----------------------------------------------------------------------------- */

/* "Authorization: SharedKey account:signature" over the canonical request (Shared Key for the
 * Blob service, version 2009-09-19 and later); `query` is the request's sorted "name:value" lines */
static bool shared_key(const az *a, cp_buf *auth, const char *method, size_t len, const char *type,
                       const char *xms, const char *resource, const char *query)
{
    cp_buf s = {0};
    char clen[32] = "";
    if (len)
        snprintf(clen, sizeof clen, "%zu", len);
    /* VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since, If-Match,
     * If-None-Match, If-Unmodified-Since, Range, then the x-ms- headers and the resource */
    cp_buf_printf(&s, "%s\n\n\n%s\n\n%s\n\n\n\n\n\n\n%s/%s%s%s%s", method, clen, type, xms, a->account,
                  a->path, resource, query);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    bool ok = !s.oom && HMAC(EVP_sha256(), a->key, a->keylen, (const unsigned char *)s.p, s.len, mac, &maclen);
    cp_buf_free(&s);
    if (!ok)
        return false;
    unsigned char b64[EVP_MAX_MD_SIZE * 2];
    EVP_EncodeBlock(b64, mac, (int)maclen);
    cp_buf_printf(auth, "Authorization: SharedKey %s:%s", a->account, (const char *)b64);
    return !auth->oom;
}

/*
 * One PUT on the blob `name`: `query` is the URL's query ("comp=block&blockid=..."), `canon` the
 * same parameters as Shared Key wants them ("\nblockid:...\ncomp:block"), `xh` an x-ms- header
 * sorting before x-ms-date ("x-ms-blob-type", "x-ms-blob-content-type") with value `xv`, or NULL.
 * Every request names its Content-Type (libcurl would add a form type to a body otherwise).
 * Returns CP_OK (2xx), CP_RETRY (no response, 5xx, 408, 429) or CP_REJECT (logged with the
 * container's name).
 */
static cp_status request(az *a, cp_ctx *ctx, const char *name, const char *query, const char *canon,
                         const char *data, size_t len, const char *type, const char *xh, const char *xv)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cp_buf url = {0}, resource = {0}, xms = {0}, auth = {0}, ct = {0}, hd = {0}, hv = {0}, hx = {0};
    cp_buf_printf(&resource, "/%s/%s", a->cfg->container, name);
    cp_buf_printf(&url, "%s%s%s%s%s%s", a->endpoint, resource.p ? resource.p : "", query || a->sas ? "?" : "",
                  query ? query : "", query && a->sas ? "&" : "", a->sas ? a->sas : "");
    /* canonical x-ms- headers: lower-case, sorted */
    if (xh) {
        cp_buf_printf(&xms, "%s:%s\n", xh, xv);
        cp_buf_printf(&hx, "%s: %s", xh, xv);
    }
    cp_buf_printf(&xms, "x-ms-date:%s\nx-ms-version:%s\n", date, AZ_API_VERSION);
    cp_buf_printf(&hd, "x-ms-date: %s", date);
    cp_buf_printf(&hv, "x-ms-version: %s", AZ_API_VERSION);
    cp_buf_printf(&ct, "Content-Type: %s", type);
    bool ok = !url.oom && !resource.oom && !xms.oom && !hd.oom && !hv.oom && !ct.oom && !hx.oom;
    if (ok && a->keylen)
        ok = shared_key(a, &auth, "PUT", len, type, xms.p, resource.p, canon ? canon : "");
    const char *headers[8];
    size_t h = 0;
    headers[h++] = hd.p;
    headers[h++] = hv.p;
    headers[h++] = ct.p;
    if (hx.p)
        headers[h++] = hx.p;
    if (auth.p)
        headers[h++] = auth.p;
    headers[h++] = "Expect:"; /* no 100-continue round trip */
    headers[h] = NULL;
    cp_status st;
    if (!ok) {
        cp_log_warn(ctx, "azure-blob: %s/%s: out of memory", a->cfg->container, name);
        st = CP_RETRY;
        goto out;
    }
    cp_http_request rq = CP_HTTP_REQUEST(.method = "PUT", .url = url.p, .headers = headers, .body = data ? data : "",
                                         .body_len = len, .timeout_ms = (long)a->cfg->timeout, .max_attempts = 1,
                                         .no_log = 1);
    cp_http_response rs;
    cp_status rc = cp_http_perform(ctx, &rq, &rs, 1);
    (void)rc;
    char why[96];
    cp_obj_error_code(rs.body, why, sizeof why);
    if (rs.status != CP_OK) {
        cp_log_warn(ctx, "azure-blob: PUT %s/%s: %s", a->cfg->container, name, rs.error);
        st = CP_RETRY;
    } else if (rs.code >= 200 && rs.code < 300) {
        st = CP_OK;
    } else if (rs.code == 403) {
        cp_log_error(ctx,
                     "azure-blob: access to container %s of account %s denied (HTTP 403 %s): check the %s "
                     "(it needs write permission on the container)",
                     a->cfg->container, a->account, why, a->keylen ? "account key" : "SAS token");
        st = CP_REJECT;
    } else if (rs.code >= 500 || rs.code == 408 || rs.code == 429) {
        cp_log_warn(ctx, "azure-blob: PUT %s/%s: HTTP %ld %s, will retry", a->cfg->container, name, rs.code, why);
        st = CP_RETRY;
    } else {
        cp_log_error(ctx, "azure-blob: PUT %s/%s: HTTP %ld %s%s", a->cfg->container, name, rs.code, why,
                     !strcmp(why, "ContainerNotFound") ? " (create the container or fix `container`)" : "");
        st = CP_REJECT;
    }
    cp_http_response_clear(ctx, &rs);
out:
    cp_buf_free(&url);
    cp_buf_free(&resource);
    cp_buf_free(&xms);
    cp_buf_free(&auth);
    cp_buf_free(&ct);
    cp_buf_free(&hd);
    cp_buf_free(&hv);
    cp_buf_free(&hx);
    return st;
}

/* cp_obj_put_fn: one Put Blob, or Put Block per block_size and a Put Block List */
static cp_status put_blob(void *user, cp_ctx *ctx, const char *name, const char *data, size_t len,
                          const char *content_type)
{
    az *a = user;
    size_t bs = (size_t)a->cfg->block_size;
    if (len <= bs) {
        cp_status st = request(a, ctx, name, NULL, NULL, data, len, content_type, "x-ms-blob-type", "BlockBlob");
        if (st == CP_OK)
            cp_log_debug(ctx, "azure-blob: wrote %s/%s (%zu bytes)", a->cfg->container, name, len);
        return st;
    }
    size_t nblocks = (len + bs - 1) / bs;
    cp_buf list = {0}, q = {0}, c = {0};
    cp_buf_puts(&list, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    cp_status st = CP_OK;
    for (size_t i = 0; i < nblocks && st == CP_OK; i++) {
        /* 12 bytes of id text -> 16 base64 characters, no padding and no '+', '/' or '=' to escape */
        char raw[32], id[32];
        snprintf(raw, sizeof raw, "blk%09u", (unsigned)(i % 1000000000u)); /* Azure allows 50,000 blocks */
        EVP_EncodeBlock((unsigned char *)id, (const unsigned char *)raw, 12);
        cp_buf_reset(&q);
        cp_buf_reset(&c);
        cp_buf_printf(&q, "comp=block&blockid=%s", id);
        cp_buf_printf(&c, "\nblockid:%s\ncomp:block", id);
        cp_buf_printf(&list, "<Latest>%s</Latest>", id);
        size_t off = i * bs, n = len - off < bs ? len - off : bs;
        st = q.oom || c.oom ? CP_RETRY
                            : request(a, ctx, name, q.p, c.p, data + off, n, "application/octet-stream", NULL, NULL);
    }
    cp_buf_puts(&list, "</BlockList>");
    if (st == CP_OK)
        st = list.oom ? CP_RETRY
                      : request(a, ctx, name, "comp=blocklist", "\ncomp:blocklist", list.p, list.len,
                                "application/xml", "x-ms-blob-content-type", content_type);
    if (st == CP_OK)
        cp_log_debug(ctx, "azure-blob: wrote %s/%s (%zu bytes in %zu blocks)", a->cfg->container, name, len, nblocks);
    cp_buf_free(&list);
    cp_buf_free(&q);
    cp_buf_free(&c);
    return st;
}

/* ---- the sink ----------------------------------------------------------------------------- */

static cp_status az_write(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    az *a = instance;
    return cp_obj_write(&a->obj, ctx, batch, put_blob, a);
}

static cp_status az_flush(void *instance, cp_ctx *ctx, unsigned flags)
{
    az *a = instance;
    return cp_obj_flush(&a->obj, ctx, flags, put_blob, a);
}

static void az_destroy(void *instance)
{
    az *a = instance;
    if (!a)
        return;
    cp_obj_free(&a->obj);
    free(a->account);
    free(a->endpoint);
    free(a->sas);
    free(a->path);
    memset(a->key, 0, sizeof a->key);
    free(a);
}

static char *first_set(const char *opt, const char *env)
{
    const char *v = opt && *opt ? opt : getenv(env);
    return v && *v ? strdup(v) : NULL;
}

static cp_status az_create(cp_ctx *ctx, const void *config, void **instance)
{
    const az_config *cfg = config;
    if (!cfg->container || !*cfg->container || strchr(cfg->container, '/')) {
        cp_log_error(ctx, "azure-blob: container must be a container name (no '/'), got '%s'",
                     cfg->container ? cfg->container : "");
        return CP_ERR_CONFIG;
    }
    az *a = calloc(1, sizeof *a);
    if (!a)
        return CP_ERR_NOMEM;
    a->cfg = cfg;
    if (cp_obj_init(&a->obj, ctx, &cfg->obj, "azure-blob") != CP_OK) {
        free(a);
        return CP_ERR_CONFIG;
    }
    a->account = first_set(cfg->account, "AZURE_STORAGE_ACCOUNT");
    if (!a->account) {
        cp_log_error(ctx, "azure-blob: no storage account for container %s: set account or AZURE_STORAGE_ACCOUNT",
                     cfg->container);
        az_destroy(a);
        return CP_ERR_CONFIG;
    }
    char *key = first_set(cfg->account_key, "AZURE_STORAGE_KEY");
    char *sas = first_set(cfg->sas_token, "AZURE_STORAGE_SAS_TOKEN");
    if (key) {
        size_t n = strlen(key);
        int got = n % 4 == 0 && n / 4 * 3 <= sizeof a->key
                      ? EVP_DecodeBlock(a->key, (const unsigned char *)key, (int)n)
                      : -1;
        if (got > 0) /* EVP_DecodeBlock counts the padding's bytes too */
            got -= (n && key[n - 1] == '=') + (n > 1 && key[n - 2] == '=');
        free(key);
        if (got <= 0) {
            cp_log_error(ctx, "azure-blob: the account key of %s is not base64 (account_key or AZURE_STORAGE_KEY)",
                         a->account);
            free(sas);
            az_destroy(a);
            return CP_ERR_CONFIG;
        }
        a->keylen = got;
        free(sas);
    } else if (sas) {
        a->sas = strdup(sas + (*sas == '?'));
        free(sas);
    } else {
        cp_log_error(ctx,
                     "azure-blob: no credentials for container %s: set account_key or sas_token (or "
                     "AZURE_STORAGE_KEY / AZURE_STORAGE_SAS_TOKEN)",
                     cfg->container);
        az_destroy(a);
        return CP_ERR_CONFIG;
    }
    cp_buf b = {0};
    if (!cp_obj_endpoint(&b, cfg->endpoint))
        cp_buf_printf(&b, "https://%s.blob.core.windows.net", a->account);
    a->endpoint = b.p;
    /* the endpoint's path takes part in Shared Key's canonical resource */
    const char *scheme = a->endpoint ? strstr(a->endpoint, "://") : NULL;
    const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
    a->path = strdup(path ? path : "");
    if (!a->endpoint || !a->path) {
        az_destroy(a);
        return CP_ERR_NOMEM;
    }
    cp_log_debug(ctx, "azure-blob: writing %s to %s/%s/%s (%s)", cfg->obj.format, a->endpoint, cfg->container,
                 cfg->obj.prefix, a->keylen ? "shared key" : "SAS");
    *instance = a;
    return CP_OK;
}

/* ---- `coinpipe ddl snowflake`: a stage on the container ----------------------------------- */

static const char *const az_dialects[] = {"snowflake", NULL};

static cp_status az_ddl(cp_ctx *ctx, const void *config, const char *dialect, const cp_schema *const *schemas,
                        size_t n, cp_text_fn fn, void *user)
{
    (void)ctx;
    if (strcmp(dialect, "snowflake"))
        return CP_ERR_UNSUPPORTED;
    const az_config *cfg = config;
    /* no template without a configured sink: s3-csv's template creates the same tables and pipes,
     * and a second stage of the same name beside it would only conflict */
    if (!cfg)
        return CP_OK;
    size_t plen;
    const char *prefix = cp_obj_key_prefix(cfg->obj.prefix, &plen);
    cp_buf root = {0};
    cp_buf_printf(&root, "azure://%s.blob.core.windows.net/%s/",
                  cfg->account && *cfg->account ? cfg->account : "YOUR-ACCOUNT", cfg->container);
    if (plen) {
        cp_buf_put(&root, prefix, plen);
        cp_buf_putc(&root, '/');
    }
    cp_status st = root.oom ? CP_ERR_NOMEM
                            : cp_obj_ddl(&cfg->obj, false, root.p, "coinpipe_azure", schemas, n, fn, user);
    cp_buf_free(&root);
    return st;
}

CP_PLUGIN_DEFINE(.name = "azure-blob", .kind = CP_SINK, .version = "0.1.0",
                 .description = "Writes each stream as Hive-partitioned CSV or Parquet block blobs to Azure Blob Storage",
                 .options = az_options, .config_size = sizeof(az_config), .create = az_create,
                 .destroy = az_destroy, .write = az_write, .flush = az_flush, .ddl_dialects = az_dialects,
                 .ddl = az_ddl);
