/* The object-store layout shared by the s3-csv and azure-blob sinks (issue 19).
 * SPDX-License-Identifier: MIT
 *
 * Rows are buffered per (stream, UTC day of the row's own event time) and rendered as one object
 * per stream, day and flush under <prefix>/<stream>/year=YYYY/month=MM/day=DD/
 * <pipeline>-<first row time>-<key hash>.<csv|csv.gz|parquet>: the name follows from the rows'
 * key columns (every column but received_at for a stream without keys), so a retried upload
 * overwrites itself and so does a re-run of the same backfill. Formats:
 *   csv      RFC 4180 with a header row, decimals verbatim, times ISO-8601 UTC with milliseconds,
 *            NULL empty; gzip optional (fixed header, so the same rows give the same bytes).
 *   parquet  plugins/sinks/common/parquet.h: every column OPTIONAL, decimals
 *            DECIMAL(decimal_precision, decimal_scale) (INT64 at precision 18 or less), times TIMESTAMP(MILLIS, UTC), strings dictionary-encoded, row groups
 *            of row_group_rows, zstd, snappy or no page compression. A row whose decimal does not
 *            fit the column is dropped (logged with stream, row, column and value, counted as
 *            coinpipe_rows_invalid_total) before it is buffered; the rest of its batch is written.
 * The sinks embed cp_obj_config in their config struct (options from CP_OBJ_OPTIONS), keep a
 * cp_obj, and upload what cp_obj_upload_all hands to their put function.
 */
#ifndef COINPIPE_SINKS_OBJSTORE_H
#define COINPIPE_SINKS_OBJSTORE_H

#include <coinpipe/coinpipe.h>

#include "parquet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The layout and format options of an object-store sink (filled by the core from CP_OBJ_OPTIONS). */
typedef struct cp_obj_config {
    char *prefix;
    char *format;      /* "csv" | "parquet" */
    bool gzip;         /* csv only */
    char *compression; /* parquet only: "zstd" | "snappy" | "none" */
    int64_t row_group_rows;
    int64_t decimal_scale;
    int64_t decimal_precision;
    int64_t zstd_level;
    int64_t max_rows;
    int64_t max_bytes;
    int64_t flush_interval;
} cp_obj_config;

extern const char *const cp_obj_formats[];
extern const char *const cp_obj_codecs[];

/** The option table entries of cp_obj_config member `m` of config struct `T` (in this order). */
#define CP_OBJ_OPTIONS(T, m)                                                                                         \
    {.name = "prefix", .type = CP_OPT_STRING, .def = "\"crypto/tabular\"", .offset = offsetof(T, m.prefix),          \
     .doc = "Key prefix; objects go to <prefix>/<stream>/year=YYYY/month=MM/day=DD/."},                             \
        {.name = "format", .type = CP_OPT_ENUM, .def = "\"csv\"", .offset = offsetof(T, m.format),                  \
         .choices = cp_obj_formats,                                                                                  \
         .doc = "Object format: csv (RFC 4180, header row) or parquet (typed columns, statistics)."},               \
        {.name = "gzip", .type = CP_OPT_BOOL, .def = "false", .offset = offsetof(T, m.gzip),                        \
         .doc = "Compress CSV objects with gzip (.csv.gz); Parquet uses `compression`."},                           \
        {.name = "compression", .type = CP_OPT_ENUM, .def = "\"zstd\"", .offset = offsetof(T, m.compression),       \
         .choices = cp_obj_codecs, .doc = "Parquet page compression: zstd, snappy or none."},                       \
        {.name = "row_group_rows", .type = CP_OPT_INT, .def = "20000", .min = 1, .max = 10000000,                    \
         .offset = offsetof(T, m.row_group_rows),                                                                    \
         .doc = "Rows per Parquet row group (the rows of one group are held in memory until it is encoded)."},     \
        {.name = "decimal_scale", .type = CP_OPT_INT, .def = "18", .min = 0, .max = 38,                              \
         .offset = offsetof(T, m.decimal_scale),                                                                     \
         .doc = "Digits after the point of Parquet's DECIMAL(decimal_precision, scale) columns; a row with a value "  \
                "that does not fit is dropped and logged."},                                                         \
        {.name = "decimal_precision", .type = CP_OPT_INT, .def = "38", .min = 1, .max = 38,                          \
         .offset = offsetof(T, m.decimal_precision),                                                                 \
         .doc = "Significant digits of Parquet's decimal columns: 18 or less stores them as INT64 (9 or less: "      \
                "INT32), far smaller than the 16 bytes of a larger precision; at least decimal_scale."},             \
        {.name = "zstd_level", .type = CP_OPT_INT, .def = "1", .min = -7, .max = 22,                                 \
         .offset = offsetof(T, m.zstd_level), .doc = "Parquet zstd compression level (1 is fast and as small as "   \
                                                     "higher levels on market data)."},                              \
        {.name = "max_rows", .type = CP_OPT_INT, .def = "1000000", .min = 1, .max = 1e9,                             \
         .offset = offsetof(T, m.max_rows), .doc = "Upload once one object would hold this many rows."},            \
        {.name = "max_bytes", .type = CP_OPT_SIZE, .def = "\"64M\"", .min = 1024, .max = 4294967296.0,               \
         .offset = offsetof(T, m.max_bytes), .doc = "Upload once the buffered rows reach about this size."},        \
        {.name = "flush_interval", .type = CP_OPT_DURATION, .def = "\"5m\"", .offset = offsetof(T, m.flush_interval), \
         .doc = "Upload buffered rows at the latest this long after the first of them arrived (a new sink's "       \
                "first rows are uploaded at once, so its first objects appear within seconds)."}

typedef struct cp_obj_part cp_obj_part;

/** A sink's buffered rows. Zero-initialise, then cp_obj_init. */
typedef struct cp_obj {
    const cp_obj_config *cfg;
    const char *sink; /* the plugin's name for log lines, e.g. "s3-csv" */
    size_t nparts;
    cp_obj_part *parts;
    size_t pending_bytes;
    int64_t pending_since_ms; /* when the oldest buffered row arrived; 0 = nothing buffered */
    cp_buf body;              /* the object being uploaded */
    cp_buf gz;
    bool uploaded;            /* an upload succeeded: later rows wait for flush_interval */
} cp_obj;

/**
 * Uploads one object: `key` (relative to the container or bucket), `len` bytes at `data`,
 * `content_type`; all borrowed for the call. Returns CP_OK, CP_RETRY or CP_REJECT.
 */
typedef cp_status (*cp_obj_put_fn)(void *user, cp_ctx *ctx, const char *key, const char *data, size_t len,
                                   const char *content_type);

/** Checks the options (e.g. gzip with parquet is refused with a line naming both) and sets up `o`. */
cp_status cp_obj_init(cp_obj *o, cp_ctx *ctx, const cp_obj_config *cfg, const char *sink);

/** Buffers the batch's rows (borrowed). CP_PENDING while rows wait, CP_OK when none do,
 * or whatever the upload returned when a bound was reached (see cp_obj_upload_all). */
cp_status cp_obj_write(cp_obj *o, cp_ctx *ctx, const cp_batch *batch, cp_obj_put_fn put, void *user);

/** The sink's flush: uploads when forced, when nothing was uploaded yet (a new sink's first rows
 * go out at once) or when flush_interval has passed; CP_PENDING otherwise. */
cp_status cp_obj_flush(cp_obj *o, cp_ctx *ctx, unsigned flags, cp_obj_put_fn put, void *user);

/**
 * Renders every buffered part and hands it to `put`, stopping at the first failure; afterwards
 * nothing stays buffered, whatever the outcome (the core's spool keeps the batches of a failed
 * delivery and writes them again). Returns CP_OK or the first failure.
 */
cp_status cp_obj_upload_all(cp_obj *o, cp_ctx *ctx, cp_obj_put_fn put, void *user);

/** Frees what `o` holds. */
void cp_obj_free(cp_obj *o);

/** The key prefix without leading and trailing slashes: `*len` bytes at the result. */
const char *cp_obj_key_prefix(const char *prefix, size_t *len);

/** Appends the `endpoint` option without trailing slashes to `b`; false (nothing appended) when it is
 * empty, for the caller to append the service's default. */
bool cp_obj_endpoint(cp_buf *b, const char *endpoint);

/** The service's error code from an XML error body (<Code>AccessDenied</Code>) into `out`, "" when
 * there is none (or it does not fit). */
void cp_obj_error_code(const char *body, char *out, size_t outlen);

/** Lower-case hex SHA-256 of the data into hex (65 bytes). False on a libcrypto failure. */
bool cp_obj_sha256_hex(const void *data, size_t len, char hex[65]);

/**
 * The body of an object-store sink's `ddl` callback: external tables over the sink's objects
 * in the format it writes (`cfg` NULL: CSV). Athena (when `athena` is true): one CREATE EXTERNAL TABLE per stream
 * with partition projection, OpenCSVSerde or STORED AS PARQUET; "snowflake": a file format and a
 * stage at `root` (e.g. s3://bucket/prefix/) through `integration`, then a table and a pipe per
 * stream (Parquet: MATCH_BY_COLUMN_NAME). Each statement goes to fn. CP_OK or CP_ERR_NOMEM.
 */
cp_status cp_obj_ddl(const cp_obj_config *cfg, bool athena, const char *root,
                     const char *integration, const cp_schema *const *schemas, size_t n, cp_text_fn fn, void *user);

#endif
