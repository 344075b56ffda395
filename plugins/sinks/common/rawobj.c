/* The raw archive in an object store: each row of the `raw` stream as its own gzipped object (see rawobj.h).
 * SPDX-License-Identifier: MIT
 */
#include "rawobj.h"

#include <coinpipe/buf.h>
#include <coinpipe/streams.h>
#include <coinpipe/utc.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

bool cp_raw_is(const cp_schema *schema)
{
    return strcmp(schema->stream, "raw") == 0 && schema->nfields > CP_RAW_BODY &&
           strcmp(cp_schema_field(schema, CP_RAW_BODY)->name, "body") == 0;
}

bool cp_gzip_fixed(cp_buf *out, const char *in, size_t len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    cp_buf_reset(out);
    if (!cp_buf_reserve(out, deflateBound(&z, (uLong)len))) {
        deflateEnd(&z);
        return false;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->p;
    z.avail_out = (uInt)(out->cap - 1);
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

void cp_key_safe(cp_buf *b, const char *s)
{
    for (; s && *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        cp_buf_putc(b, ok ? c : '_');
    }
}

/* "<prefix>/raw/<source>/year=/month=/day=/<compact time>-<endpoint>-<hash16>.gz" into key */
static bool raw_key(cp_buf *key, const char *prefix, const char *source, const char *endpoint, int64_t at,
                    const char *body, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (!EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 8)
        return false;
    while (*prefix == '/')
        prefix++;
    size_t plen = strlen(prefix);
    while (plen && prefix[plen - 1] == '/')
        plen--;
    int y, m, d;
    cp_utc_civil(cp_utc_day(at), &y, &m, &d);
    char iso[CP_UTC_ISO8601_SIZE], compact[CP_UTC_ISO8601_SIZE];
    cp_utc_iso8601(at, iso);
    size_t o = 0;
    for (const char *c = iso; *c; c++) /* 2026-11-21T10:55:44.123Z -> 20261121T105544123Z */
        if (*c != '-' && *c != ':' && *c != '.')
            compact[o++] = *c;
    compact[o] = 0;
    cp_buf_reset(key);
    if (plen)
        cp_buf_printf(key, "%.*s/", (int)plen, prefix);
    cp_buf_puts(key, "raw/");
    cp_key_safe(key, source);
    cp_buf_printf(key, "/year=%04d/month=%02d/day=%02d/%s-", y, m, d, compact);
    cp_key_safe(key, endpoint);
    cp_buf_putc(key, '-');
    for (unsigned i = 0; i < 8; i++)
        cp_buf_printf(key, "%02x", md[i]);
    cp_buf_puts(key, ".gz");
    return !key->oom;
}

cp_status cp_raw_write(cp_ctx *ctx, const cp_batch *b, const char *prefix, cp_raw_put_fn put, void *user)
{
    cp_buf key = {0}, gz = {0};
    cp_status st = CP_OK;
    for (size_t r = 0; r < cp_batch_rows(ctx, b) && st == CP_OK; r++) {
        size_t len = 0;
        const char *source = cp_batch_get_text(ctx, b, r, CP_RAW_SOURCE, NULL);
        const char *endpoint = cp_batch_get_text(ctx, b, r, CP_RAW_ENDPOINT, NULL);
        const char *body = cp_batch_get_text(ctx, b, r, CP_RAW_BODY, &len);
        if (!source || !body || cp_batch_is_null(ctx, b, r, CP_RAW_RECEIVED_AT)) {
            cp_log_error(ctx, "raw row %zu: no source, received_at or body; not archived", r);
            continue;
        }
        int64_t at = cp_batch_get_int(ctx, b, r, CP_RAW_RECEIVED_AT);
        if (!raw_key(&key, prefix ? prefix : "", source, endpoint, at, body, len) || !cp_gzip_fixed(&gz, body, len))
            st = CP_ERR_NOMEM;
        else
            st = put(user, ctx, key.p, gz.p, gz.len, "application/gzip");
    }
    cp_buf_free(&key);
    cp_buf_free(&gz);
    return st;
}
