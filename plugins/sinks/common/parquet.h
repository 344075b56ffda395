/* A small Parquet file encoder for the object-store sinks (issue 19).
 * SPDX-License-Identifier: MIT
 *
 * Turns a table (columns described by cp_pq_column, cells row-major as cp_pq_value) into a
 * complete Parquet file in memory: "PAR1", one or more row groups of one data page (v1) per
 * column, PLAIN values, definition levels (RLE runs of the RLE/bit-packed hybrid, bit width 1)
 * for nullable columns, column statistics (min_value/max_value, null_count), zstd or no
 * compression, and the Thrift compact-protocol FileMetaData footer.
 *
 * Types (the data contract's):
 *   CP_PQ_INT64   INT64
 *   CP_PQ_DOUBLE  DOUBLE
 *   CP_PQ_BOOL    BOOLEAN
 *   CP_PQ_STRING  BYTE_ARRAY, logical type STRING (converted type UTF8)
 *   CP_PQ_TS      INT64, TIMESTAMP(isAdjustedToUTC = true, unit = MILLIS)
 *   CP_PQ_DEC     FIXED_LEN_BYTE_ARRAY(16), DECIMAL(precision 38, scale = column's scale):
 *                 the unscaled value as a 128-bit big-endian two's complement integer. The
 *                 decimal text (plain or with an exponent: "43123.45", "-1.5e-7") is converted
 *                 exactly; a value with non-zero digits beyond the scale or more than
 *                 38 - scale integer digits is an error naming its row and column, never rounded.
 *                 CP_PQ_DEC_SCALE (18) holds 20 integer and 18 fraction digits.
 */
#ifndef COINPIPE_SINKS_PARQUET_H
#define COINPIPE_SINKS_PARQUET_H

#include <coinpipe/buf.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Column types; see the file comment for their Parquet mapping. */
typedef enum cp_pq_type {
    CP_PQ_INT64,
    CP_PQ_DOUBLE,
    CP_PQ_BOOL,
    CP_PQ_STRING,
    CP_PQ_TS,
    CP_PQ_DEC,
} cp_pq_type;

/** The default decimal scale: DECIMAL(38, 18). */
#define CP_PQ_DEC_SCALE 18
/** The decimal precision of every CP_PQ_DEC column. */
#define CP_PQ_DEC_PRECISION 38

/** One column of the schema (borrowed: strings must outlive the encode call). */
typedef struct cp_pq_column {
    const char *name;  /**< column name (UTF-8) */
    cp_pq_type type;   /**< value type */
    bool nullable;     /**< OPTIONAL (definition levels written) rather than REQUIRED */
    int scale;         /**< CP_PQ_DEC only: digits after the point, 0..38 */
} cp_pq_column;

/** One cell. Which member is read depends on the column's type. */
typedef struct cp_pq_value {
    bool null;     /**< SQL NULL (an error in a column that is not nullable) */
    int64_t i;     /**< CP_PQ_INT64, CP_PQ_TS (UTC milliseconds since the epoch) */
    double d;      /**< CP_PQ_DOUBLE */
    bool b;        /**< CP_PQ_BOOL */
    const char *s; /**< CP_PQ_STRING bytes, CP_PQ_DEC decimal text (borrowed) */
    size_t len;    /**< bytes in s */
} cp_pq_value;

/** Encoder options; zero-initialised means one row group, no compression. */
typedef struct cp_pq_options {
    size_t row_group_rows; /**< rows per row group; 0 = all rows in one */
    bool zstd;             /**< compress pages with zstd (else UNCOMPRESSED) */
    int zstd_level;        /**< zstd level; 0 = zstd's default */
} cp_pq_options;

/**
 * Appends a complete Parquet file holding `nrows` rows of `ncols` columns to `out`.
 * `cells` is row-major (cells[row * ncols + col]) and borrowed. Returns 0, or -1 with a
 * one-line message in `err` (e.g. "row 3, column price: decimal 1.0000000000000000001 has
 * more than 18 digits after the point") and `out` restored to its length on entry.
 */
int cp_parquet_encode(const cp_pq_column *cols, size_t ncols, const cp_pq_value *cells, size_t nrows,
                      const cp_pq_options *opt, cp_buf *out, char *err, size_t errlen);

/**
 * Checks a Parquet file's frame and footer: both magics, the footer length, a well-formed
 * Thrift compact FileMetaData whose row groups add up to its num_rows and whose column
 * chunks' pages lie inside the file. Sets *nrows and *ngroups (either may be NULL).
 * Returns 0, or -1 with a one-line message in `err`.
 */
int cp_parquet_check(const unsigned char *p, size_t len, int64_t *nrows, int64_t *ngroups, char *err,
                     size_t errlen);

#endif
