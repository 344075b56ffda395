/* libFuzzer target: random schemas and values through the Parquet encoder. The input's bytes
 * choose the column count, types, nullability, decimal scales and precisions (INT32, INT64 and
 * 16-byte decimals), options (PLAIN or DELTA_BINARY_PACKED integers, row groups past a delta block)
 * and every cell (decimal cells get arbitrary text, integers small steps or any 64-bit value). Encoding either fails with a message or yields a file that the
 * module's own footer check accepts with the right row count; nothing crashes or leaks.
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>

#include "../../plugins/sinks/common/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static uint8_t byte(rd *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t u64(rd *r)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | byte(r);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd r = {data, size};
    size_t ncols = byte(&r) % 9;
    size_t nrows = byte(&r) % 64;
    if (nrows >= 60) /* sometimes more than a DELTA_BINARY_PACKED block */
        nrows = 60 + (size_t)byte(&r) * 2;
    unsigned char how = byte(&r);
    static const cp_pq_codec codecs[] = {CP_PQ_UNCOMPRESSED, CP_PQ_ZSTD, CP_PQ_SNAPPY, CP_PQ_UNCOMPRESSED};
    uint8_t g = byte(&r); /* rows per group: 0 (one group) to 7, or 129 to 256 */
    cp_pq_options o = {.row_group_rows = g & 0x80 ? 129u + (g & 0x7f) : g % 8u,
                       .codec = codecs[how & 3], .zstd_level = 1, .plain_strings = how & 4,
                       .dict_max_bytes = how & 8 ? 16 : 0, .plain_ints = how & 16};
    cp_pq_column cols[8];
    static const char *const names[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (size_t c = 0; c < ncols; c++) {
        uint8_t t = byte(&r);
        uint8_t sp = byte(&r);
        /* precision: 38 (0), or 1..38 from the byte: INT32, INT64 and 16-byte decimals */
        cols[c] = (cp_pq_column){.name = names[c], .type = (cp_pq_type)(t % 6), .nullable = t & 0x80,
                                 .scale = sp % 41, .precision = t & 0x40 ? 1 + byte(&r) % 38 : 0};
    }
    cp_pq_value *cells = calloc(nrows * ncols + 1, sizeof *cells);
    if (!cells)
        return 0;
    for (size_t i = 0; i < nrows * ncols; i++) {
        cp_pq_value *v = &cells[i];
        uint8_t k = byte(&r);
        v->null = (k & 0x0f) == 0;
        v->b = k & 0x10;
        cp_pq_type t = cols[i % ncols].type;
        if (t == CP_PQ_INT64 || t == CP_PQ_TS) {
            /* small steps (delta blocks of narrow widths), or any 64-bit value */
            v->i = k & 0x20 ? (int64_t)(i / ncols) * (int8_t)byte(&r) : (int64_t)u64(&r);
        } else if (t == CP_PQ_DOUBLE) {
            uint64_t bits = u64(&r);
            memcpy(&v->d, &bits, sizeof v->d);
        } else if (t != CP_PQ_BOOL) {
            size_t len = byte(&r) % 48;
            if (len > r.n)
                len = r.n;
            v->s = (const char *)r.p; /* borrowed from the input */
            v->len = len;
            r.p += len;
            r.n -= len;
        }
    }
    cp_buf b = {0};
    char err[256] = "";
    if (cp_parquet_encode(cols, ncols, cells, nrows, &o, &b, err, sizeof err) == 0) {
        int64_t rows = -1, groups = -1;
        if (cp_parquet_check((const unsigned char *)b.p, b.len, &rows, &groups, err, sizeof err) != 0) {
            fprintf(stderr, "own file rejected: %s\n", err);
            abort();
        }
        if (rows != (int64_t)nrows)
            abort();
        /* the same cells column-major, decimals given as cp_pq_decimal's bytes: the same file */
        cp_pq_value *colm = calloc(nrows * ncols + 1, sizeof *colm);
        unsigned char(*q)[16] = calloc(nrows * ncols + 1, 16);
        const cp_pq_value *columns[8];
        for (size_t c = 0; colm && q && c < ncols; c++) {
            columns[c] = colm + c * nrows;
            for (size_t i = 0; i < nrows; i++) {
                cp_pq_value v = cells[i * ncols + c];
                const char *why = NULL;
                if (cols[c].type == CP_PQ_DEC && !v.null) {
                    if (cp_pq_decimal(&cols[c], v.s, v.len, &v, q[c * nrows + i], &why) != 0)
                        abort(); /* the file was written: every decimal converts */
                }
                colm[c * nrows + i] = v;
            }
        }
        cp_pq_writer *w = colm && q ? cp_pq_writer_new(cols, ncols, &o, err, sizeof err) : NULL;
        cp_buf b2 = {0};
        if (w && (cp_pq_writer_add_columns(w, columns, nrows, err, sizeof err) != 0 ||
                  cp_pq_writer_finish(w, &b2, err, sizeof err) != 0 || b2.len != b.len || memcmp(b2.p, b.p, b.len))) {
            fprintf(stderr, "column-major file differs: %s\n", err);
            abort();
        }
        cp_pq_writer_free(w);
        cp_buf_free(&b2);
        free(colm);
        free(q);
    } else if (!err[0]) {
        abort(); /* an error always says why */
    }
    /* the footer check on the raw input never crashes either */
    cp_parquet_check(data, size, NULL, NULL, err, sizeof err);
    cp_buf_free(&b);
    free(cells);
    return 0;
}
