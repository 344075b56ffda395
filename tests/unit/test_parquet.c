/* The Parquet encoder (plugins/sinks/common/parquet.c) against the format specification: page
 * and footer bytes worked out by hand from parquet.thrift and the Thrift compact protocol,
 * definition levels, decimals, statistics, row groups, zstd and snappy, dictionary pages and their
 * RLE/bit-packed indices, the incremental writer, errors naming row and column.
 * `test_parquet --write DIR` writes the files that tests/integration/parquet_reader.sh reads
 * back with an independent reader (hyparquet), with the expected cells in DIR/expected.json.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "../../plugins/sinks/common/parquet.h"

#include <stdio.h>
#include <string.h>
#include <snappy-c.h>
#include <zstd.h>

typedef unsigned __int128 u128;

static const unsigned char *find(const cp_buf *b, const void *needle, size_t n)
{
    for (size_t i = 0; b->len >= n && i <= b->len - n; i++)
        if (memcmp(b->p + i, needle, n) == 0)
            return (const unsigned char *)b->p + i;
    return NULL;
}

static void check_ok(const cp_buf *b, int64_t rows, int64_t groups)
{
    char err[256] = "";
    int64_t r = -1, g = -1;
    assert_int_equal(cp_parquet_check((const unsigned char *)b->p, b->len, &r, &g, err, sizeof err), 0);
    assert_int_equal(r, rows);
    assert_int_equal(g, groups);
}

/* PLAIN integers (DELTA_BINARY_PACKED is tested below) */
static const cp_pq_options plain_ints = {.plain_ints = true};

/* One REQUIRED INT64 column of 1, 2, 3: the data page header byte for byte. */
static void test_page_header_bytes(void **state)
{
    (void)state;
    cp_pq_column col = {.name = "n", .type = CP_PQ_INT64};
    cp_pq_value v[3] = {{.i = 1}, {.i = 2}, {.i = 3}};
    cp_buf b = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(&col, 1, v, 3, &plain_ints, &b, err, sizeof err), 0);
    static const unsigned char want[] = {
        'P', 'A', 'R', '1',
        0x15, 0x00,       /* 1: type = DATA_PAGE (i32, zigzag 0) */
        0x15, 0x30,       /* 2: uncompressed_page_size = 24 */
        0x15, 0x30,       /* 3: compressed_page_size = 24 */
        0x2c,             /* 5: data_page_header (struct, delta 2) */
        0x15, 0x06,       /*   1: num_values = 3 */
        0x15, 0x00,       /*   2: encoding = PLAIN */
        0x15, 0x06,       /*   3: definition_level_encoding = RLE */
        0x15, 0x06,       /*   4: repetition_level_encoding = RLE */
        0x00, 0x00,       /* stops */
        1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
    };
    assert_true(b.len > sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    assert_memory_equal(b.p + b.len - 4, "PAR1", 4);
    /* FileMetaData starts with version = 1 and a schema list of 2 structs */
    uint32_t flen = (uint32_t)(unsigned char)b.p[b.len - 8] | (uint32_t)(unsigned char)b.p[b.len - 7] << 8;
    const unsigned char *f = (const unsigned char *)b.p + b.len - 8 - flen;
    static const unsigned char meta[] = {0x15, 0x02, 0x19, 0x2c};
    assert_memory_equal(f, meta, sizeof meta);
    /* statistics: null_count 0, max_value 3, min_value 1 (8-byte little-endian) */
    static const unsigned char st[] = {0x36, 0x00, 0x28, 0x08, 3, 0, 0, 0, 0, 0, 0, 0, 0x18, 0x08, 1, 0, 0, 0, 0, 0, 0, 0, 0x00};
    assert_non_null(find(&b, st, sizeof st));
    check_ok(&b, 3, 1);
    cp_buf_free(&b);
}

/* Nullable column 5, NULL, NULL, 7: RLE runs of definition levels, then only the two values. */
static void test_definition_levels(void **state)
{
    (void)state;
    cp_pq_column col = {.name = "n", .type = CP_PQ_INT64, .nullable = true};
    cp_pq_value v[4] = {{.i = 5}, {.null = true}, {.null = true}, {.i = 7}};
    cp_buf b = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(&col, 1, v, 4, &plain_ints, &b, err, sizeof err), 0);
    static const unsigned char body[] = {6, 0, 0, 0, 0x02, 1, 0x04, 0, 0x02, 1, 5, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0};
    assert_non_null(find(&b, body, sizeof body));
    static const unsigned char nulls[] = {0x36, 0x04, 0x28}; /* null_count = 2, then max_value */
    assert_non_null(find(&b, nulls, sizeof nulls));
    check_ok(&b, 4, 1);
    cp_buf_free(&b);
}

static void dec_value(const char *text, int scale, const unsigned char want[16])
{
    cp_pq_column col = {.name = "price", .type = CP_PQ_DEC, .scale = scale};
    cp_pq_value v = {.s = text, .len = strlen(text)};
    cp_buf b = {0};
    char err[256] = "";
    int rc = cp_parquet_encode(&col, 1, &v, 1, NULL, &b, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", text, err);
    if (!find(&b, want, 16))
        fail_msg("%s at scale %d: unscaled bytes not found", text, scale);
    cp_buf_free(&b);
}

/* FIXED_LEN_BYTE_ARRAY(16): big-endian two's complement of the unscaled value. */
static void test_decimal_bytes(void **state)
{
    (void)state;
    unsigned char w[16];
    memset(w, 0xff, 16);
    w[15] = 0x6a; /* -150 */
    dec_value("-1.5", 2, w);
    dec_value("-1.50", 2, w);
    dec_value("-15e-1", 2, w);
    memset(w, 0, 16);
    w[13] = 0x41, w[14] = 0xcd, w[15] = 0x19; /* 4312345 */
    dec_value("43123.45", 2, w);
    dec_value("0043123.4500000", 2, w);
    memset(w, 0, 16);
    w[15] = 15;
    dec_value("1.5E-7", 8, w);
    /* 10^38 - 1 at scale 18: 0x4B3B4CA85A86C47A098A223FFFFFFFFF */
    static const unsigned char max[16] = {0x4b, 0x3b, 0x4c, 0xa8, 0x5a, 0x86, 0xc4, 0x7a,
                                          0x09, 0x8a, 0x22, 0x3f, 0xff, 0xff, 0xff, 0xff};
    dec_value("99999999999999999999.999999999999999999", 18, max);
}

static void expect_error(const cp_pq_column *cols, size_t ncols, const cp_pq_value *v, size_t nrows, const char *msg)
{
    cp_buf b = {0};
    cp_buf_puts(&b, "keep");
    char err[256] = "";
    assert_int_equal(cp_parquet_encode(cols, ncols, v, nrows, NULL, &b, err, sizeof err), -1);
    if (!strstr(err, msg))
        fail_msg("error '%s' lacks '%s'", err, msg);
    assert_int_equal(b.len, 4); /* the buffer is restored */
    assert_string_equal(b.p, "keep");
    cp_buf_free(&b);
}

/* A value that does not fit is rejected with its row and column, never rounded. */
static void test_errors(void **state)
{
    (void)state;
    cp_pq_column cols[2] = {{.name = "n", .type = CP_PQ_INT64}, {.name = "price", .type = CP_PQ_DEC, .scale = 2}};
    cp_pq_value v[4] = {{.i = 1}, {.s = "1.00", .len = 4}, {.i = 2}, {.s = "1.005", .len = 5}};
    expect_error(cols, 2, v, 2, "row 1, column price: decimal 1.005 has more digits after the point");
    v[3] = (cp_pq_value){.s = "1e36", .len = 4};
    expect_error(cols, 2, v, 2, "row 1, column price: decimal 1e36 has more digits before the point than the "
                                "column's precision leaves (DECIMAL(38, 2))");
    v[3] = (cp_pq_value){.s = "12abc", .len = 5};
    expect_error(cols, 2, v, 2, "row 1, column price: decimal 12abc is not a decimal number");
    v[3] = (cp_pq_value){.s = "", .len = 0};
    expect_error(cols, 2, v, 2, "is not a decimal number");
    v[3] = (cp_pq_value){.s = "1.2", .len = 3};
    v[2] = (cp_pq_value){.null = true};
    expect_error(cols, 2, v, 2, "row 1, column n: NULL in a column that is not nullable");
    cp_pq_column bad = {.name = "x", .type = CP_PQ_DEC, .scale = 39};
    expect_error(&bad, 1, v, 0, "column x: scale 39 is outside 0..38");
    expect_error(cols, 0, v, 0, "at least one column");
}

/* Strings: min/max by unsigned bytes, logical type STRING in the schema; bools bit-packed. */
static void test_strings_bools_stats(void **state)
{
    (void)state;
    cp_pq_column cols[2] = {{.name = "s", .type = CP_PQ_STRING}, {.name = "b", .type = CP_PQ_BOOL}};
    cp_pq_value v[6] = {{.s = "b", .len = 1}, {.b = true}, {.s = "\xc3\xa9", .len = 2}, {.b = false},
                        {.s = "a", .len = 1}, {.b = true}};
    cp_buf b = {0};
    char err[256];
    cp_pq_options o = {.plain_strings = true};
    assert_int_equal(cp_parquet_encode(cols, 2, v, 3, &o, &b, err, sizeof err), 0);
    static const unsigned char plain[] = {1, 0, 0, 0, 'b', 2, 0, 0, 0, 0xc3, 0xa9, 1, 0, 0, 0, 'a'};
    assert_non_null(find(&b, plain, sizeof plain));
    static const unsigned char st[] = {0x36, 0x00, 0x28, 0x02, 0xc3, 0xa9, 0x18, 0x01, 'a', 0x00};
    assert_non_null(find(&b, st, sizeof st));
    /* bool page: header (num_values 3) then one byte 0b101 */
    static const unsigned char bools[] = {0x15, 0x06, 0x15, 0x06, 0x00, 0x00, 0x05};
    assert_non_null(find(&b, bools, sizeof bools));
    /* schema element of s: BYTE_ARRAY, REQUIRED, name, converted UTF8, logicalType {1: STRING {}} */
    static const unsigned char sch[] = {0x15, 0x0c, 0x25, 0x00, 0x18, 0x01, 's', 0x25, 0x00, 0x4c, 0x1c, 0x00, 0x00, 0x00};
    assert_non_null(find(&b, sch, sizeof sch));
    check_ok(&b, 3, 1);
    cp_buf_free(&b);
}

/* Several row groups with zstd: each page decompresses to the PLAIN values. */
static void test_row_groups_zstd(void **state)
{
    (void)state;
    enum { N = 1000 };
    cp_pq_column col = {.name = "ts", .type = CP_PQ_TS};
    cp_pq_value *v = calloc(N, sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < N; i++)
        v[i].i = 1764846000000 + i;
    cp_pq_options o = {.row_group_rows = 300, .codec = CP_PQ_ZSTD, .plain_ints = true};
    cp_buf z = {0}, p = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(&col, 1, v, N, &o, &z, err, sizeof err), 0);
    o.codec = CP_PQ_UNCOMPRESSED;
    assert_int_equal(cp_parquet_encode(&col, 1, v, N, &o, &p, err, sizeof err), 0);
    check_ok(&z, N, 4);
    check_ok(&p, N, 4);
    assert_true(z.len < p.len / 2);
    /* the first page: header (compressed size = zstd frame), then a frame holding 300 values */
    const unsigned char *frame = find(&z, "\x28\xb5\x2f\xfd", 4);
    assert_non_null(frame);
    unsigned char out[300 * 8];
    /* the page's frame is followed by the next page: decompress exactly one frame */
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer in = {frame, z.len - (size_t)(frame - (const unsigned char *)z.p), 0};
    ZSTD_outBuffer ob = {out, sizeof out, 0};
    size_t rc = ZSTD_decompressStream(d, &ob, &in);
    ZSTD_freeDCtx(d);
    assert_false(ZSTD_isError(rc));
    assert_int_equal(ob.pos, sizeof out);
    int64_t first = 0, last = 0;
    memcpy(&first, out, 8);
    memcpy(&last, out + 299 * 8, 8);
    assert_int_equal(first, 1764846000000);
    assert_int_equal(last, 1764846000299);
    /* TIMESTAMP(isAdjustedToUTC = true, MILLIS) in the schema */
    static const unsigned char ts[] = {0x8c, 0x11, 0x1c, 0x1c, 0x00, 0x00, 0x00, 0x00};
    assert_non_null(find(&z, ts, sizeof ts));
    cp_buf_free(&z);
    cp_buf_free(&p);
    free(v);
}

/* The footer check rejects what is not a Parquet file. */
static void test_check_rejects(void **state)
{
    (void)state;
    cp_pq_column col = {.name = "n", .type = CP_PQ_INT64};
    cp_pq_value v = {.i = 1};
    cp_buf b = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(&col, 1, &v, 1, NULL, &b, err, sizeof err), 0);
    assert_int_equal(cp_parquet_check((const unsigned char *)b.p, 8, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "PAR1"));
    b.p[b.len - 8] = (char)0xff; /* footer length beyond the file */
    assert_int_equal(cp_parquet_check((const unsigned char *)b.p, b.len, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "footer length"));
    cp_buf_free(&b);
    assert_int_equal(cp_parquet_encode(&col, 1, &v, 1, NULL, &b, err, sizeof err), 0);
    uint32_t flen = (uint32_t)(unsigned char)b.p[b.len - 8];
    b.p[b.len - 8 - flen + 1] = 0x04; /* num_rows... version's value now zigzag 2 -> still fine; break the list */
    b.p[b.len - 8 - flen + 2] = 0x1f;
    assert_int_equal(cp_parquet_check((const unsigned char *)b.p, b.len, NULL, NULL, err, sizeof err), -1);
    cp_buf_free(&b);
    /* zero rows: a valid file with no row group */
    assert_int_equal(cp_parquet_encode(&col, 1, &v, 0, NULL, &b, err, sizeof err), 0);
    check_ok(&b, 0, 0);
    cp_buf_free(&b);
}

/* A string column of repeated values: a PLAIN dictionary page, then RLE_DICTIONARY indices. */
static void test_dictionary_pages(void **state)
{
    (void)state;
    cp_pq_column col = {.name = "s", .type = CP_PQ_STRING, .nullable = true};
    /* 12 values: a a a a a a a a a b NULL c -> dictionary [a, b, c], indices 0 x9, 1, 2 */
    cp_pq_value v[12];
    for (int i = 0; i < 12; i++)
        v[i] = (cp_pq_value){.s = "a", .len = 1};
    v[9] = (cp_pq_value){.s = "b", .len = 1};
    v[10] = (cp_pq_value){.null = true};
    v[11] = (cp_pq_value){.s = "cc", .len = 2};
    cp_buf b = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(&col, 1, v, 12, NULL, &b, err, sizeof err), 0);
    static const unsigned char want[] = {
        'P', 'A', 'R', '1',
        0x15, 0x04,       /* 1: type = DICTIONARY_PAGE (2) */
        0x15, 0x20,       /* 2: uncompressed_page_size = 16 */
        0x15, 0x20,       /* 3: compressed_page_size = 16 */
        0x4c,             /* 7: dictionary_page_header (struct, delta 4) */
        0x15, 0x06,       /*   1: num_values = 3 */
        0x15, 0x00,       /*   2: encoding = PLAIN */
        0x00, 0x00,       /* stops */
        1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b', 2, 0, 0, 0, 'c', 'c',
        /* the data page: DATA_PAGE, 16 bytes, 12 values, RLE_DICTIONARY (8), levels RLE */
        0x15, 0x00, 0x15, 0x20, 0x15, 0x20, 0x2c, 0x15, 0x18, 0x15, 0x10, 0x15, 0x06, 0x15, 0x06, 0x00, 0x00,
        /* definition levels: length 6, 10 defined, 1 null, 1 defined */
        6, 0, 0, 0, 0x14, 1, 0x02, 0, 0x02, 1,
        /* bit width 2; an RLE run of 9 zeros; one bit-packed group: 1, 2 and 6 zeros of padding */
        2, 0x12, 0x00, 0x03, 0x09, 0x00,
    };
    assert_true(b.len > sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    /* ColumnMetaData: encodings [PLAIN, RLE, RLE_DICTIONARY], dictionary_page_offset = 4 */
    static const unsigned char enc[] = {0x19, 0x35, 0x00, 0x06, 0x10};
    assert_non_null(find(&b, enc, sizeof enc));
    static const unsigned char dpo[] = {0x26, 0x08}; /* field 11 (delta 2 from 9), i64 4 */
    assert_non_null(find(&b, dpo, sizeof dpo));
    /* statistics over the values: min "a", max "cc", one null */
    static const unsigned char st[] = {0x36, 0x02, 0x28, 0x02, 'c', 'c', 0x18, 0x01, 'a', 0x00};
    assert_non_null(find(&b, st, sizeof st));
    check_ok(&b, 12, 1);
    cp_buf_free(&b);
}

/* The hybrid's runs: long repeats become RLE runs, the rest bit-packed in whole groups of 8. */
static void test_dictionary_hybrid_runs(void **state)
{
    (void)state;
    enum { N = 40 };
    cp_pq_column col = {.name = "s", .type = CP_PQ_STRING};
    static const char *const words[] = {"w0", "w1", "w2", "w3", "w4"};
    cp_pq_value v[N];
    /* 0 1 2 3 4 0 1 2 3 4 0 1 | 3 x 20 | 0 1 2 3 4 0 1 2 */
    for (int i = 0; i < N; i++) {
        int k = i < 12 ? i % 5 : i < 32 ? 3 : (i - 32) % 5;
        v[i] = (cp_pq_value){.s = words[k], .len = 2};
    }
    cp_buf b = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(&col, 1, v, N, NULL, &b, err, sizeof err), 0);
    /* bit width 3; 12 literals padded with 4 of the run to 16 (2 groups: header 0x05), then an RLE run
     * of 16 threes (header 32 = 0x20, value 3), then 8 literals (1 group: header 0x03) */
    static const unsigned char idx[] = {3,    0x05, 0x88, 0x46, 0x44, 0x23, 0xb2, 0x6d, /* 0 1 2 3 4 0 1 2 | 3 4 0 1 3 3 3 3 */
                                        0x20, 0x03,                               /* 16 x 3 */
                                        0x03, 0x88, 0x46, 0x44};                  /* 0 1 2 3 4 0 1 2 */
    const unsigned char *at = find(&b, idx, sizeof idx);
    assert_non_null(at);
    check_ok(&b, N, 1);
    cp_buf_free(&b);
}

/* Fallback to PLAIN: unique values (16 or more, over half distinct) and a dictionary over its bound. */
static void test_dictionary_fallback(void **state)
{
    (void)state;
    enum { N = 20 };
    cp_pq_column col = {.name = "id", .type = CP_PQ_STRING};
    char ids[N][8];
    cp_pq_value v[N];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "t%02d", i);
        v[i] = (cp_pq_value){.s = ids[i], .len = 3};
    }
    cp_buf b = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(&col, 1, v, N, NULL, &b, err, sizeof err), 0);
    static const unsigned char plain[] = {3, 0, 0, 0, 't', '0', '0', 3, 0, 0, 0, 't', '0', '1'};
    assert_non_null(find(&b, plain, sizeof plain));
    assert_true(memcmp(b.p + 4, "\x15\x04", 2) != 0); /* the first page is no dictionary page */
    static const unsigned char enc2[] = {0x19, 0x25, 0x00, 0x06};
    assert_non_null(find(&b, enc2, sizeof enc2)); /* encodings [PLAIN, RLE] only */
    cp_buf_free(&b);
    /* repeated values, but the dictionary's bound is 8 bytes: "aaaa" + "bbbb" = 16 > 8 */
    for (int i = 0; i < N; i++)
        v[i] = (cp_pq_value){.s = i % 2 ? "aaaa" : "bbbb", .len = 4};
    cp_pq_options o = {.dict_max_bytes = 8};
    assert_int_equal(cp_parquet_encode(&col, 1, v, N, &o, &b, err, sizeof err), 0);
    static const unsigned char plain2[] = {4, 0, 0, 0, 'b', 'b', 'b', 'b', 4, 0, 0, 0, 'a', 'a', 'a', 'a',
                                           4, 0, 0, 0, 'b', 'b', 'b', 'b'}; /* not in a dictionary of two */
    assert_non_null(find(&b, plain2, sizeof plain2));
    check_ok(&b, N, 1);
    cp_buf_free(&b);
    o.dict_max_bytes = 0; /* within the default bound: a dictionary of two */
    assert_int_equal(cp_parquet_encode(&col, 1, v, N, &o, &b, err, sizeof err), 0);
    assert_null(find(&b, plain2, sizeof plain2));
    assert_memory_equal(b.p + 4, "\x15\x04", 2);
    cp_buf_free(&b);
}

/* Snappy pages: the page holds a snappy block that decompresses to the PLAIN values. */
static void test_snappy(void **state)
{
    (void)state;
    enum { N = 256 };
    cp_pq_column col = {.name = "n", .type = CP_PQ_INT64};
    cp_pq_value v[N];
    for (int i = 0; i < N; i++)
        v[i] = (cp_pq_value){.i = 7};
    cp_pq_options o = {.codec = CP_PQ_SNAPPY, .plain_ints = true};
    cp_buf b = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(&col, 1, v, N, &o, &b, err, sizeof err), 0);
    check_ok(&b, N, 1);
    /* header: DATA_PAGE, uncompressed 2048 (zigzag 4096 = 0x80 0x20), then the compressed size */
    assert_memory_equal(b.p + 4, "\x15\x00\x15\x80\x20\x15", 6);
    const unsigned char *h = (const unsigned char *)b.p + 10;
    uint32_t z = 0;
    int sh = 0;
    while (*h & 0x80) {
        z |= (uint32_t)(*h++ & 0x7f) << sh;
        sh += 7;
    }
    z |= (uint32_t)*h++ << sh;
    size_t clen = z >> 1;
    h += 12; /* the data page header (0x2c, num_values 512 as 0x80 0x04, three more i32) and two stops */
    assert_true(clen < 200);
    char out[N * 8];
    size_t olen = sizeof out;
    assert_int_equal(snappy_uncompress((const char *)h, clen, out, &olen), SNAPPY_OK);
    assert_int_equal(olen, N * 8);
    assert_memory_equal(out, "\x07\0\0\0\0\0\0\0", 8);
    /* ColumnMetaData codec = SNAPPY (1) */
    static const unsigned char codec[] = {0x15, 0x02, 0x16};
    assert_non_null(find(&b, codec, sizeof codec));
    cp_buf_free(&b);
}

/* DELTA_BINARY_PACKED pages against Encodings.md: its two worked examples, INT64's extremes (deltas
 * that wrap), a 64-bit miniblock, INT32 decimals, and PLAIN where the deltas would be larger. */
static void expect_delta(const cp_pq_column *col, const int64_t *x, size_t n, const unsigned char *want, size_t wlen,
                         int encoding)
{
    cp_pq_value v[200];
    for (size_t i = 0; i < n; i++)
        v[i] = (cp_pq_value){.i = x[i], .unscaled = true};
    cp_buf b = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(col, 1, v, n, NULL, &b, err, sizeof err), 0);
    check_ok(&b, (int64_t)n, 1);
    /* the data page header: uncompressed = compressed = wlen, num_values n, encoding */
    unsigned char hdr[16];
    size_t h = 0;
    hdr[h++] = 0x15, hdr[h++] = 0x00;
    hdr[h++] = 0x15;
    for (uint32_t z = (uint32_t)wlen << 1; ; z >>= 7) {
        hdr[h++] = (unsigned char)(z & 0x7f) | (z > 0x7f ? 0x80 : 0);
        if (z <= 0x7f)
            break;
    }
    assert_memory_equal(b.p + 4, hdr, h);
    assert_non_null(find(&b, want, wlen));
    const unsigned char enc[] = {0x15, (unsigned char)(encoding << 1), 0x15, 0x06, 0x15, 0x06, 0x00, 0x00};
    assert_non_null(find(&b, enc, sizeof enc));
    cp_buf_free(&b);
}

static void test_delta_binary_packed(void **state)
{
    (void)state;
    cp_pq_column i64 = {.name = "n", .type = CP_PQ_INT64};
    /* Example 1: 1..5, deltas all 1: minimum 1, bit widths 0, no miniblock bodies */
    static const int64_t e1[] = {1, 2, 3, 4, 5};
    static const unsigned char w1[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
    /* PLAIN is 40 bytes: 10 are smaller */
    expect_delta(&i64, e1, 5, w1, sizeof w1, 5);
    /* Example 2: 7 5 3 1 2 3 4 5: deltas -2 -2 -2 1 1 1 1, minimum -2, residuals 0 0 0 3 3 3 3 at
     * width 2 in the first miniblock, padded to 32 values (8 bytes) */
    static const int64_t e2[] = {7, 5, 3, 1, 2, 3, 4, 5};
    static const unsigned char w2[] = {0x80, 0x01, 0x04, 0x08, 0x0e, 0x03, 2, 0, 0, 0,
                                       0xc0, 0x3f, 0, 0, 0, 0, 0, 0};
    expect_delta(&i64, e2, 8, w2, sizeof w2, 5);
    /* INT64 min, max, min, max: deltas -1, 1, -1 in two's complement (max - min wraps to -1) */
    static const int64_t e3[] = {INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX};
    static const unsigned char w3[] = {0x80, 0x01, 0x04, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0x01, 0x01, 2, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0};
    expect_delta(&i64, e3, 4, w3, sizeof w3, 5);
    /* two values min, max: 19 bytes of deltas against 16 of PLAIN: PLAIN */
    static const unsigned char p4[] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    expect_delta(&i64, e3, 2, p4, sizeof p4, 0);
    /* 130 values: a full block of 128 deltas (4 miniblocks), then a block of one delta whose
     * unused miniblocks keep their width bytes but have no bodies */
    int64_t e5[130];
    for (int i = 0; i < 130; i++)
        e5[i] = i < 129 ? 100 + i * 3 : 1000;
    static const unsigned char w5[] = {0x80, 0x01, 0x04, 0x82, 0x01, 0xc8, 0x01, /* header: 130 values, 100 */
                                       0x06, 0, 0, 0, 0,                         /* block 1: min 3, widths 0 */
                                       0x88, 0x08, 0, 0, 0, 0};                  /* block 2: min 516, widths 0 */
    expect_delta(&i64, e5, 130, w5, sizeof w5, 5);
    /* DECIMAL(9, 2) is INT32: its smallest value, then deltas 1, 1, -2, 0 x4: minimum -2,
     * residuals 3 3 0 2 2 2 2 at width 2; the same cells in 4 bytes each (PLAIN) for 2 rows */
    cp_pq_column d9 = {.name = "q", .type = CP_PQ_DEC, .precision = 9, .scale = 2};
    static const int64_t e6[] = {-999999999, -999999998, -999999997, -999999999,
                                 -999999999, -999999999, -999999999, -999999999};
    static const unsigned char w6[] = {0x80, 0x01, 0x04, 0x08, 0xfd, 0xa7, 0xd6, 0xb9, 0x07, 0x03, 2, 0, 0, 0,
                                       0x8f, 0x2a, 0, 0, 0, 0, 0, 0};
    expect_delta(&d9, e6, 8, w6, sizeof w6, 5);
    static const unsigned char p6[] = {0x01, 0x36, 0x65, 0xc4, 0x02, 0x36, 0x65, 0xc4};
    expect_delta(&d9, e6, 2, p6, sizeof p6, 0);
}

/* The unscaled value of [-]int[.frac] at (precision, scale) worked out on the digits as text:
 * false when it does not fit; else its decimal digits (with '-') in out. */
static bool ref_unscaled(const char *s, int precision, int scale, char *out)
{
    bool neg = *s == '-';
    s += neg;
    const char *dot = strchr(s, '.');
    size_t ni = dot ? (size_t)(dot - s) : strlen(s);
    const char *fr = dot ? dot + 1 : "";
    size_t nf = strlen(fr);
    while (nf > (size_t)scale && fr[nf - 1] == '0')
        nf--;
    if (nf > (size_t)scale)
        return false;
    char digits[128];
    size_t n = 0;
    for (size_t k = 0; k < ni; k++)
        digits[n++] = s[k];
    for (size_t k = 0; k < (size_t)scale; k++)
        digits[n++] = k < nf ? fr[k] : '0';
    size_t lead = 0;
    while (lead < n && digits[lead] == '0')
        lead++;
    if (n - lead > (size_t)precision)
        return false;
    if (lead == n)
        return strcpy(out, "0"), true;
    snprintf(out, 128, "%s%.*s", neg ? "-" : "", (int)(n - lead), digits + lead);
    return true;
}

/* cp_pq_decimal (its one-pass path for up to 18 significant digits and its general path) agrees
 * with the digit-by-digit reference on 20,000 random decimals: leading and trailing zeros, signs,
 * points without digits on one side, 0 to 24 digits a side, every precision and scale. */
static void test_decimal_reference(void **state)
{
    (void)state;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int fits = 0;
    for (int it = 0; it < 20000; it++) {
        char text[96], ref[128], got[128];
        size_t n = 0;
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        uint64_t x = rng;
        if (x & 1)
            text[n++] = '-';
        int ni = (int)((x >> 1) % 25), nf = (int)((x >> 6) % 25), zl = (int)((x >> 11) % 4), zt = (int)((x >> 13) % 12);
        for (int k = 0; k < zl; k++)
            text[n++] = '0';
        for (int k = 0; k < ni; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            text[n++] = (char)('0' + rng % 10);
        }
        bool point = nf || zt || (x >> 17) % 2;
        if (point)
            text[n++] = '.';
        for (int k = 0; k < nf; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            text[n++] = (char)('0' + rng % 10);
        }
        for (int k = 0; point && k < zt; k++)
            text[n++] = '0';
        text[n] = '\0';
        if (n == (size_t)(x & 1) || (n == (size_t)(x & 1) + 1 && point))
            continue; /* no digit at all */
        int precision = 1 + (int)((x >> 18) % 38), scale = (int)((x >> 24) % (unsigned)(precision + 1));
        if ((x >> 30) % 2) /* half of them at the sinks' settings */
            precision = (x >> 31) % 2 ? 18 : 38, scale = precision == 18 ? 8 : 18;
        cp_pq_column col = {.type = CP_PQ_DEC, .precision = precision, .scale = scale};
        cp_pq_value v;
        unsigned char q[16];
        const char *why = NULL;
        bool ok = cp_pq_decimal(&col, text, n, &v, q, &why) == 0;
        bool want = ref_unscaled(text, precision, scale, ref);
        if (ok != want)
            fail_msg("%s at DECIMAL(%d, %d): encoder %s, reference %s", text, precision, scale, ok ? "fits" : why,
                     want ? ref : "does not fit");
        if (!ok)
            continue;
        fits++;
        u128 u = 0;
        bool neg = false;
        if (precision <= 18) {
            neg = v.i < 0;
            u = neg ? (u128)(-(unsigned __int128)v.i) : (u128)v.i;
        } else {
            for (int k = 0; k < 16; k++)
                u = u << 8 | q[k];
            neg = q[0] & 0x80;
            if (neg)
                u = -u;
        }
        char rev[64];
        int m = 0;
        do
            rev[m++] = (char)('0' + (int)(u % 10));
        while ((u /= 10));
        int g = 0;
        if (neg && !(m == 1 && rev[0] == '0'))
            got[g++] = '-';
        while (m)
            got[g++] = rev[--m];
        got[g] = '\0';
        if (strcmp(got, ref) && !(strcmp(ref, "0") == 0 && strcmp(got, "0") == 0))
            fail_msg("%s at DECIMAL(%d, %d): encoder %s, reference %s", text, precision, scale, got, ref);
    }
    assert_true(fits > 5000);
}

/* The incremental writer gives the same bytes as a whole-file encode of the same row groups; a
 * failed add leaves the file as it was. */
static void test_writer_incremental(void **state)
{
    (void)state;
    cp_pq_column cols[2] = {{.name = "s", .type = CP_PQ_STRING}, {.name = "p", .type = CP_PQ_DEC, .scale = 2}};
    cp_pq_value v[8] = {{.s = "x", .len = 1}, {.s = "1.25", .len = 4}, {.s = "y", .len = 1}, {.s = "2", .len = 1},
                        {.s = "x", .len = 1}, {.s = "-3.5", .len = 4}, {.s = "x", .len = 1}, {.s = "0.01", .len = 4}};
    cp_pq_options o = {.row_group_rows = 2, .codec = CP_PQ_ZSTD};
    cp_buf whole = {0}, inc = {0};
    char err[256];
    assert_int_equal(cp_parquet_encode(cols, 2, v, 4, &o, &whole, err, sizeof err), 0);
    cp_pq_writer *w = cp_pq_writer_new(cols, 2, &o, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(cp_pq_writer_add(w, v, 2, err, sizeof err), 0);
    size_t before = cp_pq_writer_bytes(w);
    cp_pq_value bad[2] = {{.s = "z", .len = 1}, {.s = "0.001", .len = 5}};
    assert_int_equal(cp_pq_writer_add(w, bad, 1, err, sizeof err), -1);
    assert_string_equal(err, "row 0, column p: decimal 0.001 has more digits after the point than the column's "
                             "scale (DECIMAL(38, 2))");
    assert_int_equal(cp_pq_writer_bytes(w), before);
    assert_int_equal(cp_pq_writer_rows(w), 2);
    assert_int_equal(cp_pq_writer_add(w, v + 4, 2, err, sizeof err), 0);
    cp_buf_put(&inc, "xyz", 3); /* offsets are the file's own, whatever precedes it in the buffer */
    assert_int_equal(cp_pq_writer_finish(w, &inc, err, sizeof err), 0);
    cp_pq_writer_free(w);
    assert_int_equal(inc.len, whole.len + 3);
    assert_memory_equal(inc.p + 3, whole.p, whole.len);
    check_ok(&whole, 4, 2);
    cp_buf_free(&whole);
    cp_buf_free(&inc);
    unsigned char q[16];
    const char *why = NULL;
    cp_pq_value dv;
    cp_pq_column d2 = {.type = CP_PQ_DEC, .scale = 2}, d0 = {.type = CP_PQ_DEC}, d18 = {.type = CP_PQ_DEC,
                                                                                          .scale = 2, .precision = 18};
    assert_int_equal(cp_pq_decimal(&d2, "12.340", 6, &dv, q, &why), 0);
    assert_true(dv.unscaled && dv.s == (const char *)q && dv.len == 16);
    assert_int_equal(q[15], 1234 & 0xff);
    assert_int_equal(q[14], 1234 >> 8);
    assert_int_equal(cp_pq_decimal(&d0, "1e38", 4, &dv, q, &why), -1);
    assert_string_equal(why, "has more digits before the point than the column's precision leaves");
    /* precision 18: the unscaled value in i, 16 integer digits at most */
    assert_int_equal(cp_pq_decimal(&d18, "-12.340", 7, &dv, q, &why), 0);
    assert_true(dv.unscaled && dv.len == 0 && dv.i == -1234);
    assert_int_equal(cp_pq_decimal(&d18, "9999999999999999.99", 19, &dv, q, &why), 0);
    assert_int_equal(dv.i, 999999999999999999LL);
    assert_int_equal(cp_pq_decimal(&d18, "10000000000000000", 17, &dv, q, &why), -1);
    /* cells holding cp_pq_decimal's bytes (unscaled) encode as their text does */
    unsigned char qs[4][16];
    cp_pq_value u[8];
    memcpy(u, v, sizeof u);
    for (int r = 0; r < 4; r++) {
        assert_int_equal(cp_pq_decimal(&d2, v[2 * r + 1].s, v[2 * r + 1].len, &u[2 * r + 1], qs[r], &why), 0);
    }
    cp_buf ub = {0};
    assert_int_equal(cp_parquet_encode(cols, 2, u, 4, &o, &ub, err, sizeof err), 0);
    cp_buf_free(&whole);
    assert_int_equal(cp_parquet_encode(cols, 2, v, 4, &o, &whole, err, sizeof err), 0);
    assert_int_equal(ub.len, whole.len);
    assert_memory_equal(ub.p, whole.p, whole.len);
    cp_buf_free(&ub);
    /* the same rows column-major through cp_pq_writer_add_columns: the same file */
    cp_pq_value c0[4], c1[4];
    for (int r = 0; r < 4; r++) {
        c0[r] = v[2 * r];
        c1[r] = v[2 * r + 1];
    }
    const cp_pq_value *columns[2] = {c0, c1};
    w = cp_pq_writer_new(cols, 2, &o, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(cp_pq_writer_add_columns(w, columns, 4, err, sizeof err), 0);
    assert_int_equal(cp_pq_writer_finish(w, &ub, err, sizeof err), 0);
    cp_pq_writer_free(w);
    assert_int_equal(ub.len, whole.len);
    assert_memory_equal(ub.p, whole.p, whole.len);
    cp_buf_free(&ub);
    cp_buf_free(&whole);
}

/* ---- --write DIR: files for the independent reader ---- */

enum { WCOLS = 8, WROWS = 10 };
static const cp_pq_column wcols[WCOLS] = {
    {.name = "exchange", .type = CP_PQ_STRING},
    {.name = "ts", .type = CP_PQ_TS},
    {.name = "price", .type = CP_PQ_DEC, .nullable = true, .scale = 8},
    {.name = "supply", .type = CP_PQ_DEC, .nullable = true, .scale = CP_PQ_DEC_SCALE},
    {.name = "trade_count", .type = CP_PQ_INT64, .nullable = true},
    {.name = "mid", .type = CP_PQ_DOUBLE, .nullable = true},
    {.name = "maker", .type = CP_PQ_BOOL, .nullable = true},
    {.name = "side", .type = CP_PQ_STRING, .nullable = true},
};
/* per row: exchange, ts, price text, its canonical text, supply text, canonical, count, mid, maker, side */
static const struct wrow {
    const char *ex;
    int64_t ts;
    const char *price, *price_want, *supply, *supply_want;
    int64_t count;
    double mid;
    int maker; /* -1 NULL */
    const char *side;
} wrows[WROWS] = {
    {"binance", 1764846000123, "43123.45", "43123.45000000", "21000000", "21000000.000000000000000000", 5, 43123.5, 1, "buy"},
    {"binance", 1764846001000, "-0.00000015", "-0.00000015", NULL, NULL, -7, -2.25, 0, "sell"},
    {"coinbase", 0, NULL, NULL, "2e-18", "0.000000000000000002", 0, 0.5, -1, NULL},
    {"coinbase", -1000, "0", "0.00000000", "99999999999999999999.999999999999999999",
     "99999999999999999999.999999999999999999", INT64_MAX, 1e300, 1, ""},
    {"\xc3\xa9xchange", 253402300799999, "1E+3", "1000.00000000", "-123456789012345678.9",
     "-123456789012345678.900000000000000000", INT64_MIN, -0.0, 0, "\xe2\x82\xbf"},
    {"binance-futures", 1, "9999999999.99999999", "9999999999.99999999", "0.000000000000000001", "0.000000000000000001",
     42, 3.0, 1, "buy"},
    {"x", 2, NULL, NULL, NULL, NULL, 1, 1234.5, -1, NULL},
    {"y", 3, "1.10000000000", "1.10000000", "7", "7.000000000000000000", 2, 0.125, 0, "sell"},
    {"z", 4, "-42", "-42.00000000", "-0", "0.000000000000000000", 3, -1e-5, 1, "a,b\"c"},
    {"", 5, ".5", "0.50000000", "5.", "5.000000000000000000", 4, 2.5, 0, "buy"},
};

static void json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Encodes the cells with `o` into DIR/name and adds its entry to the expectations `ej` (its
 * name, row groups, codec, and `flag` = whether `on`). 0, or 1 with a message. */
static int write_one(const char *dir, const char *name, const cp_pq_column *cols, size_t ncols,
                     const cp_pq_value *cells, size_t nrows, const cp_pq_options *o, FILE *ej, bool first,
                     const char *flag, bool on)
{
    cp_buf b = {0};
    char err[256], path[4096];
    if (cp_parquet_encode(cols, ncols, cells, nrows, o, &b, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(b.p, 1, b.len, f) == b.len;
    cp_buf_free(&b);
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    size_t per = o->row_group_rows ? o->row_group_rows : nrows;
    fprintf(ej, "%s{\"name\": \"%s\", \"row_groups\": %zu, \"codec\": \"%s\", \"%s\": %s}", first ? "" : ", ",
            name, (nrows + per - 1) / per, cp_pq_codec_name(o->codec), flag, on ? "true" : "false");
    return 0;
}

static int write_files(const char *dir)
{
    cp_pq_value cells[WROWS * WCOLS];
    memset(cells, 0, sizeof cells);
    for (int r = 0; r < WROWS; r++) {
        const struct wrow *w = &wrows[r];
        cp_pq_value *c = &cells[r * WCOLS];
        c[0] = (cp_pq_value){.s = w->ex, .len = strlen(w->ex)};
        c[1] = (cp_pq_value){.i = w->ts};
        c[2] = w->price ? (cp_pq_value){.s = w->price, .len = strlen(w->price)} : (cp_pq_value){.null = true};
        c[3] = w->supply ? (cp_pq_value){.s = w->supply, .len = strlen(w->supply)} : (cp_pq_value){.null = true};
        c[4] = r == 6 ? (cp_pq_value){.null = true} : (cp_pq_value){.i = w->count};
        c[5] = r == 2 ? (cp_pq_value){.null = true} : (cp_pq_value){.d = w->mid};
        c[6] = w->maker < 0 ? (cp_pq_value){.null = true} : (cp_pq_value){.b = w->maker == 1};
        c[7] = w->side ? (cp_pq_value){.s = w->side, .len = strlen(w->side)} : (cp_pq_value){.null = true};
    }
    static const struct {
        const char *name;
        cp_pq_options o;
    } files[] = {
        {"plain.parquet", {0}},
        {"zstd_groups.parquet", {.row_group_rows = 3, .codec = CP_PQ_ZSTD}},
        {"one_row_groups.parquet", {.row_group_rows = 1, .codec = CP_PQ_ZSTD, .zstd_level = 19}},
        {"snappy_groups.parquet", {.row_group_rows = 4, .codec = CP_PQ_SNAPPY}},
        {"plain_strings.parquet", {.plain_strings = true}},
    };
    char path[4096];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    FILE *ej = fopen(path, "w");
    if (!ej)
        return 1;
    fputs("{\"columns\": [", ej);
    for (int c = 0; c < WCOLS; c++) {
        fprintf(ej, "%s", c ? ", " : "");
        json_str(ej, wcols[c].name);
    }
    fputs("],\n \"rows\": [\n", ej);
    for (int r = 0; r < WROWS; r++) {
        const struct wrow *w = &wrows[r];
        char ts[32], cnt[32], mid[48];
        snprintf(ts, sizeof ts, "%lld", (long long)w->ts);
        snprintf(cnt, sizeof cnt, "%lld", (long long)w->count);
        snprintf(mid, sizeof mid, "%.17g", w->mid);
        fputs(r ? ",\n  [" : "  [", ej);
        json_str(ej, w->ex);
        fputs(", ", ej);
        json_str(ej, ts);
        fputs(", ", ej);
        json_str(ej, w->price_want);
        fputs(", ", ej);
        json_str(ej, w->supply_want);
        fputs(", ", ej);
        json_str(ej, r == 6 ? NULL : cnt);
        fputs(", ", ej);
        json_str(ej, r == 2 ? NULL : mid);
        fputs(", ", ej);
        json_str(ej, w->maker < 0 ? NULL : w->maker ? "true" : "false");
        fputs(", ", ej);
        json_str(ej, w->side);
        fputs("]", ej);
    }
    fputs("\n ],\n \"files\": [", ej);
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
        if (write_one(dir, files[k].name, wcols, WCOLS, cells, WROWS, &files[k].o, ej, k == 0, "dictionary",
                      !files[k].o.plain_strings)) {
            fclose(ej);
            return 1;
        }
    fputs("]}\n", ej);
    return fclose(ej) != 0;
}

/* The integer columns' files for the independent reader (DIR/ints.json): INT64 with its extremes
 * (deltas that wrap), runs of one value, NULLs and jumps; a timestamp a minute apart (zero-width
 * miniblocks); DECIMAL(18, 8) as INT64 and DECIMAL(9, 2) as INT32 with their largest values; as
 * DELTA_BINARY_PACKED in one page, across row groups of 129 (block and miniblock boundaries), of
 * one row (a single value), with zstd and snappy, and PLAIN. */
enum { IROWS = 1000 };
static int write_int_files(const char *dir)
{
    static const cp_pq_column cols[4] = {
        {.name = "a", .type = CP_PQ_INT64, .nullable = true},
        {.name = "t", .type = CP_PQ_TS, .nullable = true},
        {.name = "p", .type = CP_PQ_DEC, .nullable = true, .precision = 18, .scale = 8},
        {.name = "q", .type = CP_PQ_DEC, .nullable = true, .precision = 9, .scale = 2},
    };
    static cp_pq_value cells[IROWS * 4];
    static char text[IROWS * 2][32];
    static char want[IROWS][4][32];
    uint64_t rng = 88172645463325252ull;
    int64_t a = 0, p = 4312345000000, q = 100;
    for (int r = 0; r < IROWS; r++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if (r == 0 || r == 2)
            a = INT64_MIN;
        else if (r == 1 || r == 4)
            a = INT64_MAX;
        else if (r == 3)
            a = 0;
        else if (r % 200 < 40)
            a = a; /* a run of one value: zero deltas */
        else if (r % 500 >= 450 && r % 500 < 455)
            a = (int64_t)rng; /* jumps over the whole range */
        else
            a = (int64_t)((uint64_t)a + rng % 2001 - 1000);
        p = r == 10 ? 999999999999999999LL
            : r == 11 ? -999999999999999999LL
            : (r == 12 ? 4312345000000 : p) + (int64_t)(rng % 200001) - 100000;
        q = r == 20 ? 999999999 : r == 21 ? -999999999 : (int64_t)(rng % 2000000) - 1000000;
        cp_pq_value *c = &cells[r * 4];
        bool na = r % 17 == 5, np = r % 23 == 7;
        c[0] = na ? (cp_pq_value){.null = true} : (cp_pq_value){.i = a};
        c[1] = r == 500 ? (cp_pq_value){.null = true} : (cp_pq_value){.i = 1764846000000 + 60000LL * r};
        uint64_t up = p < 0 ? -(uint64_t)p : (uint64_t)p, uq = q < 0 ? -(uint64_t)q : (uint64_t)q;
        snprintf(text[2 * r], sizeof text[0], "%s%llu.%08llu", p < 0 ? "-" : "", (unsigned long long)(up / 100000000),
                 (unsigned long long)(up % 100000000));
        snprintf(text[2 * r + 1], sizeof text[0], "%s%llu.%02llu", q < 0 ? "-" : "", (unsigned long long)(uq / 100),
                 (unsigned long long)(uq % 100));
        c[2] = np ? (cp_pq_value){.null = true} : (cp_pq_value){.s = text[2 * r], .len = strlen(text[2 * r])};
        c[3] = (cp_pq_value){.s = text[2 * r + 1], .len = strlen(text[2 * r + 1])};
        snprintf(want[r][0], 32, "%lld", (long long)a);
        snprintf(want[r][1], 32, "%lld", (long long)(1764846000000 + 60000LL * r));
        snprintf(want[r][2], 32, "%s", text[2 * r]);
        snprintf(want[r][3], 32, "%s", text[2 * r + 1]);
        if (na)
            want[r][0][0] = '\0';
        if (r == 500)
            want[r][1][0] = '\0';
        if (np)
            want[r][2][0] = '\0';
    }
    static const struct {
        const char *name;
        cp_pq_options o;
    } files[] = {
        {"ints_delta.parquet", {0}},
        {"ints_groups_zstd.parquet", {.row_group_rows = 129, .codec = CP_PQ_ZSTD}},
        {"ints_one_row.parquet", {.row_group_rows = 1}},
        {"ints_snappy.parquet", {.row_group_rows = 300, .codec = CP_PQ_SNAPPY}},
        {"ints_plain.parquet", {.plain_ints = true, .codec = CP_PQ_ZSTD}},
    };
    char path[4096];
    snprintf(path, sizeof path, "%s/ints.json", dir);
    FILE *ej = fopen(path, "w");
    if (!ej)
        return 1;
    fputs("{\"columns\": [\"a\", \"t\", \"p\", \"q\"], \"rows\": [\n", ej);
    for (int r = 0; r < IROWS; r++) {
        fputs(r ? ",\n  [" : "  [", ej);
        for (int c = 0; c < 4; c++) {
            fputs(c ? ", " : "", ej);
            json_str(ej, want[r][c][0] ? want[r][c] : NULL);
        }
        fputs("]", ej);
    }
    fputs("\n ],\n \"files\": [", ej);
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
        if (write_one(dir, files[k].name, cols, 4, cells, IROWS, &files[k].o, ej, k == 0, "delta",
                      !files[k].o.plain_ints)) {
            fclose(ej);
            return 1;
        }
    fputs("]}\n", ej);
    return fclose(ej) != 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0)
        return write_files(argv[2]) || write_int_files(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_header_bytes),
        cmocka_unit_test(test_definition_levels),
        cmocka_unit_test(test_decimal_bytes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_strings_bools_stats),
        cmocka_unit_test(test_row_groups_zstd),
        cmocka_unit_test(test_check_rejects),
        cmocka_unit_test(test_dictionary_pages),
        cmocka_unit_test(test_dictionary_hybrid_runs),
        cmocka_unit_test(test_dictionary_fallback),
        cmocka_unit_test(test_snappy),
        cmocka_unit_test(test_writer_incremental),
        cmocka_unit_test(test_delta_binary_packed),
        cmocka_unit_test(test_decimal_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
