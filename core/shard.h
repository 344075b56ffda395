/* Sharding a source's symbols over N collectors: `shard = "I/N"` on any source.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_SHARD_H
#define COINPIPE_CORE_SHARD_H

#include <coinpipe/coinpipe.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Shard I of N (0 <= I < N); N == 0: no sharding, every symbol is kept. */
typedef struct core_shard {
    uint32_t index, count;
} core_shard;

/* Parses "I/N" (0 <= I < N <= 65536) into *out. False, with a one-line reason in err, when
 * the text is anything else. */
bool core_shard_parse(const char *text, core_shard *out, char *err, size_t errlen);
/* True when `symbol` (the normalized symbol, e.g. "BTC-USDT", `len` bytes) belongs to the shard:
 * FNV-1a (32 bit) of its bytes, modulo N, equals I. Always true without sharding. */
bool core_shard_keep(const core_shard *s, const char *symbol, size_t len);
/* Drops the rows of `b` whose `symbol` column belongs to another shard (rows without one, or
 * with it NULL, stay); returns how many rows remain. A batch without a `symbol` column is left
 * as it is. */
size_t core_shard_filter(const core_shard *s, cp_batch *b);

#endif /* COINPIPE_CORE_SHARD_H */
