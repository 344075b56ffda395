/* A small Parquet file encoder for the object-store sinks (issue 19).
 * SPDX-License-Identifier: MIT
 *
 * Turns a table (columns described by cp_pq_column, cells row-major as cp_pq_value) into a
 * complete Parquet file in memory: "PAR1", one or more row groups of one data page (v1) per
 * column, PLAIN or DELTA_BINARY_PACKED values, definition levels (RLE runs of the RLE/bit-packed hybrid, bit width 1)
 * for nullable columns, column statistics (min_value/max_value, null_count), zstd, snappy or no
 * compression, and the Thrift compact-protocol FileMetaData footer.
 *
 * String columns are dictionary-encoded: a PLAIN dictionary page, then a data page of
 * RLE_DICTIONARY indices (one byte of bit width, then the RLE/bit-packed hybrid). A chunk falls
 * back to PLAIN when its dictionary would exceed dict_max_bytes, or when it has 16 or more values
 * of which more than half are distinct (a dictionary of unique ids only adds bytes).
 *
 * INT32 and INT64 columns (integers, timestamps, decimals of precision 18 or less) are
 * DELTA_BINARY_PACKED (blocks of 128 values, 4 miniblocks of 32, deltas wrapping in two's
 * complement) unless PLAIN is smaller, i.e. when the deltas need more than 60 bits (INT64) or
 * 28 bits (INT32), or the options ask for PLAIN.
 *
 * A file is written whole (cp_parquet_encode) or a row group at a time (cp_pq_writer), so a
 * sink keeps only the encoded bytes and the cells of the row group it is filling.
 *
 * Types (the data contract's):
 *   CP_PQ_INT64   INT64
 *   CP_PQ_DOUBLE  DOUBLE
 *   CP_PQ_BOOL    BOOLEAN
 *   CP_PQ_STRING  BYTE_ARRAY, logical type STRING (converted type UTF8)
 *   CP_PQ_TS      INT64, TIMESTAMP(isAdjustedToUTC = true, unit = MILLIS)
 *   CP_PQ_DEC     DECIMAL(precision, scale) of the column, stored as its unscaled value: INT32
 *                 for precision 1-9, INT64 for 10-18, else FIXED_LEN_BYTE_ARRAY(16) (a 128-bit
 *                 big-endian two's complement integer), as the format's LogicalTypes.md says.
 *                 The decimal text (plain or with an exponent: "43123.45", "-1.5e-7") is
 *                 converted exactly; a value with non-zero digits beyond the scale or more than
 *                 precision - scale integer digits is an error naming its row and column, never
 *                 rounded. CP_PQ_DEC_SCALE (18) at precision 38 holds 20 integer and 18 fraction
 *                 digits; precision 18 at scale 8 (Binance's 8 decimals) holds values below 10^10.
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
/** The largest decimal precision (and that of a column whose precision is 0). */
#define CP_PQ_DEC_PRECISION 38

/** One column of the schema (borrowed: strings must outlive the encode call). */
typedef struct cp_pq_column {
    const char *name;  /**< column name (UTF-8) */
    cp_pq_type type;   /**< value type */
    bool nullable;     /**< OPTIONAL (definition levels written) rather than REQUIRED */
    int scale;         /**< CP_PQ_DEC only: digits after the point, 0..precision */
    int precision;     /**< CP_PQ_DEC only: significant digits, 1..38 (0 = 38); sets the physical type */
} cp_pq_column;

/** One cell. Which member is read depends on the column's type; i, d and s share their storage
 * (24 bytes a cell: a sink staging a row group of 20,000 rows of 16 columns holds 7.7 MB). */
typedef struct cp_pq_value {
    bool null;     /**< SQL NULL (an error in a column that is not nullable) */
    bool b;        /**< CP_PQ_BOOL */
    bool unscaled; /**< CP_PQ_DEC: converted by cp_pq_decimal (i, or the 16 bytes at s), not text */
    size_t len;    /**< bytes in s */
    union {
        int64_t i;     /**< CP_PQ_INT64, CP_PQ_TS (UTC milliseconds since the epoch), CP_PQ_DEC of precision <= 18 once unscaled */
        double d;      /**< CP_PQ_DOUBLE */
        const char *s; /**< CP_PQ_STRING bytes, CP_PQ_DEC decimal text or 16 unscaled bytes (borrowed) */
    };
} cp_pq_value;

/** Page compression; the values are parquet.thrift's CompressionCodec. */
typedef enum cp_pq_codec {
    CP_PQ_UNCOMPRESSED = 0,
    CP_PQ_SNAPPY = 1,
    CP_PQ_ZSTD = 6,
} cp_pq_codec;

/** The default bound of one column chunk's dictionary (its PLAIN bytes). */
#define CP_PQ_DICT_MAX_BYTES (1u << 20)

/** Encoder options; zero-initialised means one row group, no compression, dictionaries on. */
typedef struct cp_pq_options {
    size_t row_group_rows; /**< rows per row group; 0 = all rows given at once in one */
    cp_pq_codec codec;     /**< page compression */
    int zstd_level;        /**< zstd level; 0 = zstd's default */
    bool plain_strings;    /**< never dictionary-encode strings */
    size_t dict_max_bytes; /**< 0 = CP_PQ_DICT_MAX_BYTES */
    bool plain_ints;       /**< never DELTA_BINARY_PACKED (INT32/INT64 columns stay PLAIN) */
} cp_pq_options;

/** Returns the codec's name as parquet.thrift spells it ("ZSTD"), or NULL. */
const char *cp_pq_codec_name(cp_pq_codec codec);

/**
 * Appends a complete Parquet file holding `nrows` rows of `ncols` columns to `out`.
 * `cells` is row-major (cells[row * ncols + col]) and borrowed. Returns 0, or -1 with a
 * one-line message in `err` (e.g. "row 3, column price: decimal 1.0000000000000000001 has
 * more than 18 digits after the point") and `out` restored to its length on entry.
 */
int cp_parquet_encode(const cp_pq_column *cols, size_t ncols, const cp_pq_value *cells, size_t nrows,
                      const cp_pq_options *opt, cp_buf *out, char *err, size_t errlen);

/**
 * Converts decimal text to the unscaled cell of CP_PQ_DEC column `col`: `v` becomes a non-null
 * cell with `unscaled` set and, for precision 18 or less, the unscaled value in v->i; for a larger
 * precision its 16 big-endian bytes are written to `buf` and v->s points there (v->len = 16).
 * Returns 0, or -1 with the reason in *why (a static string, e.g. "has more digits after the
 * point than the column's scale") and `v` untouched. Sinks call it to refuse a row before it is
 * buffered.
 */
int cp_pq_decimal(const cp_pq_column *col, const char *s, size_t len, cp_pq_value *v, unsigned char buf[16],
                  const char **why);

/** The column's decimal precision (0 read as CP_PQ_DEC_PRECISION). */
int cp_pq_precision(const cp_pq_column *col);

/** An incremental file writer: row groups are encoded as they are added. Owned by its creator. */
typedef struct cp_pq_writer cp_pq_writer;

/**
 * Starts a file of `ncols` columns (copied: `cols` may go away after the call) with `opt`
 * (copied; NULL = defaults). Returns NULL with a message in `err` for a bad schema or no memory.
 */
cp_pq_writer *cp_pq_writer_new(const cp_pq_column *cols, size_t ncols, const cp_pq_options *opt, char *err,
                               size_t errlen);

/**
 * Encodes `nrows` rows (row-major cells, borrowed for the call only) as row groups of at most
 * row_group_rows rows (one group when it is 0). Returns 0, or -1 with a message naming the row
 * (counted from the first row of this call) and column; the file is then as before the call.
 */
int cp_pq_writer_add(cp_pq_writer *w, const cp_pq_value *cells, size_t nrows, char *err, size_t errlen);

/**
 * The same with the cells column-major: columns[c][row] for c < the writer's column count (each
 * array borrowed for the call). A sink that stages rows this way lets each column chunk read
 * consecutive memory.
 */
int cp_pq_writer_add_columns(cp_pq_writer *w, const cp_pq_value *const *columns, size_t nrows, char *err,
                             size_t errlen);

/** Rows added so far. */
int64_t cp_pq_writer_rows(const cp_pq_writer *w);

/** Bytes the file holds so far (pages; the footer comes at finish). */
size_t cp_pq_writer_bytes(const cp_pq_writer *w);

/**
 * Appends the complete file (pages and footer) to `out`. The writer is spent: only
 * cp_pq_writer_free may follow. Returns 0, or -1 (no memory) with `out` as on entry.
 */
int cp_pq_writer_finish(cp_pq_writer *w, cp_buf *out, char *err, size_t errlen);

/** Frees the writer and what it holds (NULL is fine). */
void cp_pq_writer_free(cp_pq_writer *w);

/**
 * Checks a Parquet file's frame and footer: both magics, the footer length, a well-formed
 * Thrift compact FileMetaData whose row groups add up to its num_rows and whose column
 * chunks' pages lie inside the file. Sets *nrows and *ngroups (either may be NULL).
 * Returns 0, or -1 with a one-line message in `err`.
 */
int cp_parquet_check(const unsigned char *p, size_t len, int64_t *nrows, int64_t *ngroups, char *err,
                     size_t errlen);

#endif
