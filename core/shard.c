/* Sharding a source's symbols over N collectors: `shard = "I/N"` on any source.
 * SPDX-License-Identifier: MIT
 *
 * N collectors with the same configuration and shards 0/N .. N-1/N split a universe of symbols
 * with no coordination: each keeps the symbols whose FNV-1a hash (32 bit, of the normalized
 * symbol's bytes, e.g. "BTC-USDT") modulo N is its I. The hash is stable across versions,
 * machines and exchanges (documented in docs/scale-out.md, so that other tools can compute
 * it). Sources that know their symbols ask cp_shard_keep() before fetching; whatever a source
 * emits anyway is filtered on the way out (core_shard_filter), so the split holds for every
 * source, third-party ones included.
 */
#include "shard.h"

#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool core_shard_parse(const char *text, core_shard *out, char *err, size_t errlen)
{
    char *end;
    unsigned long i = strtoul(text, &end, 10), n = 0;
    bool ok = end != text && *end == '/' && text[0] >= '0' && text[0] <= '9';
    if (ok) {
        const char *p = end + 1;
        n = strtoul(p, &end, 10);
        ok = end != p && *end == '\0' && *p >= '0' && *p <= '9';
    }
    if (!ok || n < 1 || n > 65536 || i >= n) {
        snprintf(err, errlen, "'%s' is not a shard I/N with 0 <= I < N <= 65536 (e.g. \"0/3\", \"1/3\", \"2/3\")",
                 text);
        return false;
    }
    out->index = (uint32_t)i;
    out->count = (uint32_t)n;
    return true;
}

static uint32_t fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

bool core_shard_keep(const core_shard *s, const char *symbol, size_t len)
{
    return !s || s->count == 0 || fnv1a(symbol, len) % s->count == s->index;
}

typedef struct keep_ctx {
    const core_shard *s;
    size_t col;
} keep_ctx;

static bool keep_row(void *user, const cp_batch *b, size_t row)
{
    const keep_ctx *k = user;
    size_t len;
    const char *t = core_batch_get_text(b, row, k->col, &len);
    return !t || core_shard_keep(k->s, t, len);
}

size_t core_shard_filter(const core_shard *s, cp_batch *b)
{
    int col = core_batch_col(b, "symbol");
    if (!s || s->count == 0 || col < 0 || core_batch_schema(b)->fields[col].type != CP_T_STRING)
        return core_batch_rows(b);
    keep_ctx k = {s, (size_t)col};
    return core_batch_keep_rows(b, keep_row, &k);
}
