/* Shared scaffolding of the libFuzzer targets: a quiet plugin context and JSON bodies from fuzz input.
 * SPDX-License-Identifier: MIT
 *
 * A target that compiles a plugin's .c file in (to reach its static parsers) includes this
 * first: FUZZ_HIDE_PLUGIN turns that file's CP_PLUGIN_DEFINE into an unused local descriptor,
 * so the plugin needs no fuzz-only code.
 */
#ifndef COINPIPE_FUZZ_H
#define COINPIPE_FUZZ_H

#include "core/instance.h"
#include "common/srcutil.h"

#include <coinpipe/coinpipe.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#undef CP_PLUGIN_DEFINE
#define CP_PLUGIN_DEFINE(...) __attribute__((unused)) static const cp_plugin fuzz_unused_plugin = {__VA_ARGS__}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long fuzz_log_hash; /* of every line logged: a target may compare two runs' */

__attribute__((format(printf, 3, 0))) static void fuzz_logv(cp_ctx *ctx, cp_log_level level, const char *fmt, va_list ap)
{
    char buf[512]; /* format anyway: the parsers' messages are part of what is fuzzed */
    vsnprintf(buf, sizeof buf, fmt, ap);
    for (const char *p = buf; *p; p++)
        fuzz_log_hash = fuzz_log_hash * 31 + (unsigned char)*p;
    fuzz_log_hash = fuzz_log_hash * 31 + (unsigned)level;
}

static bool fuzz_log_enabled(cp_ctx *ctx, cp_log_level level) { return false; }

/* A context whose logging goes nowhere and whose batches are the core's. */
static inline cp_ctx *fuzz_ctx(void)
{
    static core_instance in; /* a bare context: no plugin instance, no state store */
    static cp_host host;
    if (!in.ctx.pub.host) {
        core_instance_init(&in, &(core_instance_opts){.pipeline = "fuzz", .kind = CP_SOURCE, .name = "fuzz"});
        host = core_host;
        host.logv = fuzz_logv;
        host.log_enabled = fuzz_log_enabled;
        in.ctx.pub.host = &host;
    }
    return &in.ctx.pub;
}

/* Parses the input as a response body the way sources do (su_parse); NULL when it is not JSON. */
static inline json_object *fuzz_json(cp_ctx *ctx, const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1);
    if (!body)
        return NULL;
    if (size)
        memcpy(body, data, size);
    body[size] = 0;
    cp_http_response r = {.status = CP_OK, .code = 200, .body = body, .body_len = size};
    json_object *root = su_parse(ctx, "fuzz", &r);
    free(body);
    return root;
}

/* The input as an HTTP 200 response (body copied exactly, with no NUL after it, so reading
 * past the end is caught); release with fuzz_response_free. */
static inline cp_http_response fuzz_response(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    if (!body)
        abort();
    if (size)
        memcpy(body, data, size);
    return (cp_http_response){.status = CP_OK, .code = 200, .body = body, .body_len = size,
                              .received_at = 1700000000000LL};
}

static inline void fuzz_response_free(cp_http_response *r) { free(r->body); }

/* A new batch of `schema`; aborts when out of memory. */
static inline cp_batch *fuzz_batch(cp_ctx *ctx, const cp_schema *schema)
{
    cp_batch *b = cp_batch_new(ctx, schema, 4);
    if (!b)
        abort();
    return b;
}

/* Reads every cell of every row; a decimal's text has no NUL, and with check_keys a key column
 * is never NULL (what a parser appends must be a whole row). */
static inline void fuzz_drain_cells(cp_batch *b, bool check_keys)
{
    cp_ctx *ctx = fuzz_ctx();
    const cp_schema *s = cp_batch_schema(ctx, b);
    for (size_t r = 0; r < cp_batch_rows(ctx, b); r++) {
        for (size_t c = 0; c < s->nfields; c++) {
            if (cp_batch_is_null(ctx, b, r, c)) {
                if (check_keys && (s->fields[c].flags & CP_FIELD_KEY))
                    abort();
                continue;
            }
            size_t len;
            const char *t = cp_batch_get_text(ctx, b, r, c, &len);
            if (t && strlen(t) != len && s->fields[c].type == CP_T_DECIMAL)
                abort();
            (void)cp_batch_get_int(ctx, b, r, c);
            (void)cp_batch_get_double(ctx, b, r, c);
        }
    }
}

/* True when batches a and b of one schema hold the same rows: NULLs, texts byte for byte, integers,
 * doubles bit for bit. */
static inline bool fuzz_same_rows(cp_ctx *ctx, const cp_batch *a, const cp_batch *b)
{
    const cp_schema *s = cp_batch_schema(ctx, a);
    if (cp_batch_rows(ctx, a) != cp_batch_rows(ctx, b))
        return false;
    for (size_t r = 0; r < cp_batch_rows(ctx, a); r++)
        for (size_t c = 0; c < s->nfields; c++) {
            bool na = cp_batch_is_null(ctx, a, r, c);
            if (na != cp_batch_is_null(ctx, b, r, c))
                return false;
            if (na)
                continue;
            size_t la = 0, lb = 0;
            const char *ta = cp_batch_get_text(ctx, a, r, c, &la), *tb = cp_batch_get_text(ctx, b, r, c, &lb);
            double da = cp_batch_get_double(ctx, a, r, c), db = cp_batch_get_double(ctx, b, r, c);
            if (!ta != !tb || la != lb || (ta && memcmp(ta, tb, la) != 0) ||
                cp_batch_get_int(ctx, a, r, c) != cp_batch_get_int(ctx, b, r, c) || memcmp(&da, &db, sizeof da) != 0)
                return false;
        }
    return true;
}

/* fuzz_drain_cells, then frees the batch; NULL is a no-op. */
static inline void fuzz_drain(cp_ctx *ctx, cp_batch *b)
{
    if (!b)
        return;
    fuzz_drain_cells(b, true);
    cp_batch_free(ctx, b);
}

#endif
