/* The raw archive in an object store: each row of the `raw` stream as its own gzipped object.
 * SPDX-License-Identifier: MIT
 *
 * A source with archive_raw emits every response body as a row of the raw stream
 * (docs/streams.md). An object-store sink writes the body's bytes, gzipped with a fixed header (no
 * name, no time: the same body always gives the same object), to
 *   <prefix>/raw/<source>/year=YYYY/month=MM/day=DD/<received_at>-<endpoint>-<hash>.gz
 * (the day and time of received_at, UTC; <hash> the first 16 hex digits of the body's SHA-256), so a
 * re-delivered row overwrites its own object. Compiled into each object-store sink.
 */
#ifndef COINPIPE_SINKS_RAWOBJ_H
#define COINPIPE_SINKS_RAWOBJ_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>

/* Uploads one object; the sink's own PUT. Returns as the sink's write() does (CP_OK, CP_RETRY, an
 * error). */
typedef cp_status (*cp_raw_put_fn)(void *user, cp_ctx *ctx, const char *key, const char *data, size_t len,
                                   const char *content_type);

/* gzip of `len` bytes into `out` (reset first) with a fixed header (no name, no time): the same
 * input always gives the same bytes. False when out of memory or zlib fails. */
bool cp_gzip_fixed(cp_buf *out, const char *in, size_t len);

/* Appends `s` to an object key: letters, digits, '-', '_' and '.' as they are, anything else
 * (/ { } ? :) as '_'. */
void cp_key_safe(cp_buf *b, const char *s);

/* Whether `schema` is the raw stream's (by name and by its body column). */
bool cp_raw_is(const cp_schema *schema);

/* Writes every row of the raw batch `b` as its object under `prefix` (the sink's key prefix, may
 * be "" or end in '/') through `put`, in row order, stopping at the first failure, which it
 * returns (CP_ERR_NOMEM when a key or the gzip could not be made). A row without source, time or
 * body is skipped with an error logged. */
cp_status cp_raw_write(cp_ctx *ctx, const cp_batch *b, const char *prefix, cp_raw_put_fn put, void *user);

#endif
