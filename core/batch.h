/* Columnar batches: building, reading, decimals, and the spool's binary form.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_BATCH_H
#define COINPIPE_CORE_BATCH_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>

cp_batch *core_batch_new(const cp_schema *schema, size_t rows_hint);
cp_status core_batch_reserve(cp_batch *b, size_t rows);
void core_batch_ref(cp_batch *b);
void core_batch_unref(cp_batch *b); /* frees at zero; this is cp_batch_free */
cp_batch *core_batch_copy(const cp_batch *b);
/* Appends every row of `src` to `dst` (the same column types; src is left as it was): cells,
 * nulls and text copied in bulk, no value parsed again. CP_ERR_INVALID for other columns or an
 * arena past 4 GiB, CP_ERR_NOMEM (dst then holds its own rows, maybe more capacity). */
cp_status core_batch_append(cp_batch *dst, const cp_batch *src);
size_t core_batch_add_row(cp_batch *b);
void core_batch_drop_last_row(cp_batch *b);
/* keeps the rows for which keep() is true, in order, in place (text stays in the arena);
 * returns how many remain */
size_t core_batch_keep_rows(cp_batch *b, bool (*keep)(void *user, const cp_batch *b, size_t row), void *user);
/* cp_host.batch_fill_down (see cp_batch_fill_down): rows from + 1 .. to - 1 of column col get
 * row from's cell (value, text, NULL or not); CP_ERR_INVALID unless from < to <= rows */
cp_status core_batch_fill_down(cp_batch *b, size_t col, size_t from, size_t to);
cp_status core_batch_set_int(cp_batch *b, size_t row, size_t col, int64_t v);
cp_status core_batch_set_double(cp_batch *b, size_t row, size_t col, double v);
cp_status core_batch_set_decimal(cp_batch *b, size_t row, size_t col, const char *text, size_t len);
/* cp_host.batch_set_decimal_until (see cp_batch_set_decimal_until): the decimal at text that
 * ends before the byte `term`, validated, converted and stored in one pass */
cp_status core_batch_set_decimal_until(cp_batch *b, size_t row, size_t col, const char *text, size_t avail, char term,
                                       size_t *len, double *value);
/* cp_host.batch_set_json_elements (see cp_batch_set_json_elements): JSON array elements of the
 * usual forms (kinds: 'i' an integer, 'd' a decimal in a string) into the columns cols of a row */
cp_status core_batch_set_json_elements(cp_batch *b, size_t row, const char *kinds, const size_t *cols, const char *text,
                                       size_t avail, size_t *len);
cp_status core_batch_set_string(cp_batch *b, size_t row, size_t col, const char *text, size_t len);
cp_status core_batch_set_bool(cp_batch *b, size_t row, size_t col, bool v);
cp_status core_batch_set_null(cp_batch *b, size_t row, size_t col);
const cp_schema *core_batch_schema(const cp_batch *b);
size_t core_batch_rows(const cp_batch *b);
int core_batch_col(const cp_batch *b, const char *name);
bool core_batch_is_null(const cp_batch *b, size_t row, size_t col);
int64_t core_batch_get_int(const cp_batch *b, size_t row, size_t col);
double core_batch_get_double(const cp_batch *b, size_t row, size_t col);
const char *core_batch_get_text(const cp_batch *b, size_t row, size_t col, size_t *len);
bool core_batch_get_bool(const cp_batch *b, size_t row, size_t col);
/* cp_host.batch_column (see cp_batch_column): a view of column col in place, the batch's own
 * cell array and null bytes; CP_ERR_INVALID for a bad index or an out->size below ABI 2.1's */
cp_status core_batch_column(const cp_batch *b, size_t col, cp_column *out);
/* appends cell (row, col) as a JSON value: null, a number (a decimal as its text when JSON's
 * grammar allows, else its double), true/false, or a string */
void core_batch_json_value(cp_buf *out, const cp_batch *b, size_t row, size_t col);
/* appends every row of b as a JSON object of its columns in schema order, each after "\n{"
 * (",\n{" once *count is above 0; *count counts the rows written), with the values of
 * core_batch_json_value; false when out of memory (out->oom) */
bool core_batch_json_rows(cp_buf *out, const cp_batch *b, size_t *count);
bool core_decimal_valid(const char *s, size_t len);
size_t core_batch_mem_bytes(const cp_batch *b); /* memory the batch holds (cells, text), about */
void core_batch_compact(cp_batch *b); /* gives back the text arena's unused capacity (when emitted) */
/* validates like core_decimal_valid and, in the same pass, sets *out (if not NULL) to the
 * double strtod would give, bit for bit (Clinger's fast path, else strtod); false also when
 * out of memory for a text of 72 bytes or more */
bool core_decimal_parse(const char *s, size_t len, double *out);
/* Binary form for the spool, appended to out (CP_ERR_NOMEM: out is incomplete). The compact
 * layout (batch.c) keeps a DECIMAL's text only: reading it back computes the double again with
 * core_decimal_parse, so a DECIMAL cell's double must be what core_decimal_parse gives for its
 * text (core_batch_set_decimal's). */
cp_status core_batch_serialize(const cp_batch *b, cp_buf *out);
/* A new batch (*out, the caller's) from a payload of either layout, the compact one or v1 of
 * earlier releases' spools; every length is checked (fuzzed): CP_ERR_PARSE for anything else,
 * CP_ERR_NOMEM. */
cp_status core_batch_deserialize(const void *data, size_t len, cp_batch **out);
/* the same; without check_decimals a v1 DECIMAL's text is taken as it is (a record whose
 * checksum proved it is what core_batch_serialize wrote from a valid batch); the compact layout
 * parses every decimal for its double anyway */
cp_status core_batch_deserialize_checked(const void *data, size_t len, bool check_decimals, cp_batch **out);
/* the same, into the memory of `reuse` when it can: reuse (NULL, or a batch of the caller's that
 * nothing else holds) is taken either way: refilled and returned in *out when its schema is the
 * record's (its cells and text storage grown if need be, never shrunk), else freed */
cp_status core_batch_deserialize_into(const void *data, size_t len, bool check_decimals, cp_batch *reuse,
                                      cp_batch **out);

#endif /* COINPIPE_CORE_BATCH_H */
