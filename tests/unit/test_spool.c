/* Unit tests for the spool (core/spool.c) and batch serialisation: replay, torn and corrupt records.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/batch.h"
#include "core/log.h"
#include "core/spool.h"
#include "core/util.h"

#include <coinpipe/buf.h>
#include <coinpipe/schema.h>
#include <coinpipe/streams.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static cp_batch *make(int first, int rows)
{
    cp_batch *b = core_batch_new(&cp_trade_schema, 0);
    char t[32];
    for (int i = 0; i < rows; i++) {
        size_t r = core_batch_add_row(b);
        int n = snprintf(t, sizeof t, "%d", first + i);
        core_batch_set_string(b, r, CP_TRADE_EXCHANGE, "x", 1);
        core_batch_set_string(b, r, CP_TRADE_SYMBOL, "BTC-USDT", 8);
        core_batch_set_string(b, r, CP_TRADE_TRADE_ID, t, (size_t)n);
        core_batch_set_int(b, r, CP_TRADE_TS, 1700000000000 + first + i);
        core_batch_set_decimal(b, r, CP_TRADE_PRICE, "0.000100000000000000001", 23);
        if (i % 2)
            core_batch_set_string(b, r, CP_TRADE_SIDE, "sell", 4);
    }
    return b;
}

static int first_id(cp_batch *b) { return atoi(core_batch_get_text(b, 0, CP_TRADE_TRADE_ID, NULL)); }

static void test_roundtrip_serialisation(void **state)
{
    cp_batch *b = make(7, 3);
    cp_buf o = {0};
    assert_int_equal(core_batch_serialize(b, &o), CP_OK);
    cp_batch *c = NULL;
    assert_int_equal(core_batch_deserialize(o.p, o.len, &c), CP_OK);
    assert_true(cp_schema_equal(core_batch_schema(b), core_batch_schema(c)));
    assert_int_equal(core_batch_rows(c), 3);
    assert_string_equal(core_batch_get_text(c, 2, CP_TRADE_TRADE_ID, NULL), "9");
    assert_string_equal(core_batch_get_text(c, 0, CP_TRADE_PRICE, NULL), "0.000100000000000000001");
    assert_true(core_batch_is_null(c, 0, CP_TRADE_SIDE));
    assert_string_equal(core_batch_get_text(c, 1, CP_TRADE_SIDE, NULL), "sell");
    assert_int_equal(core_batch_get_int(c, 2, CP_TRADE_TS), 1700000000009);
    /* every truncation is refused, never read past the end */
    for (size_t n = 0; n < o.len; n++) {
        cp_batch *t = NULL;
        assert_int_not_equal(core_batch_deserialize(o.p, n, &t), CP_OK);
        assert_null(t);
    }
    core_batch_unref(c);
    core_batch_unref(b);
    cp_buf_free(&o);
}

static core_log_tag tag = {"p", "sink", "test", "s"};

static void test_replay_in_order_after_reopen(void **state)
{
    const char *dir = tk_tmpdir();
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    uint64_t seq[5];
    for (int i = 0; i < 5; i++) {
        cp_batch *b = make(i * 10, 2);
        assert_int_equal(core_spool_append(s, b, &seq[i], NULL), CP_OK);
        core_batch_unref(b);
    }
    assert_int_equal(core_spool_sync(s), CP_OK);
    core_spool_done(s, seq[0]);
    core_spool_done(s, seq[2]); /* out of order: the cursor stays after seq[0] */
    core_spool_close(s);
    s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    /* seq[2] was confirmed out of order but the cursor only covers seq[0]: 4 replayed */
    assert_int_equal(core_spool_pending(s), 4);
    assert_int_equal(core_spool_replay_seq(s, 0), seq[1]);
    cp_batch *b = NULL;
    assert_int_equal(core_spool_read(s, seq[1], NULL, &b), CP_OK);
    assert_int_equal(first_id(b), 10);
    core_batch_unref(b);
    core_spool_close(s);
}

/* records of different sizes in a row, a sync between them (the record buffer is kept from one
 * append to the next and given back at a sync): each reads back as it was */
static void test_records_of_mixed_sizes(void **state)
{
    const char *dir = tk_tmpdir();
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    const int rows[] = {3000, 1, 40, 2, 3000, 5};
    uint64_t seq[6];
    for (int i = 0; i < 6; i++) {
        cp_batch *b = make(i * 10000, rows[i]);
        assert_int_equal(core_spool_append(s, b, &seq[i], NULL), CP_OK);
        core_batch_unref(b);
        if (i == 3)
            assert_int_equal(core_spool_sync(s), CP_OK);
    }
    assert_int_equal(core_spool_sync(s), CP_OK);
    for (int i = 0; i < 6; i++) {
        cp_batch *b = NULL;
        assert_int_equal(core_spool_read(s, seq[i], NULL, &b), CP_OK);
        assert_int_equal(core_batch_rows(b), rows[i]);
        assert_int_equal(first_id(b), i * 10000);
        assert_int_equal(atoi(core_batch_get_text(b, (size_t)rows[i] - 1, CP_TRADE_TRADE_ID, NULL)),
                         i * 10000 + rows[i] - 1);
        core_batch_unref(b);
    }
    core_spool_close(s);
}

/* files of dir whose names end in ext: "[.]r\\?seg" for segments, new or reused */
static int files_ending(const char *dir, const char *ext)
{
    char cmd[4300], line[64];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c '%s$'", dir, ext);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = fgets(line, sizeof line, p) ? atoi(line) : -1;
    pclose(p);
    return n;
}

static int segment_files(const char *dir) { return files_ending(dir, "[.]r\\?seg"); }

/* A full segment whose records the sink has all confirmed becomes a spare when the next one
 * starts (nothing left to sync or replay), written over by the segment after; one with
 * unconfirmed records is synced at the next sync and replays after a restart. */
static void test_full_segments(void **state)
{
    const char *dir = tk_tmpdir();
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    core_spool_set_limit(s, 4 * 65536); /* segments of 64 KiB: one record of 2500 rows each */
    uint64_t seq[4];
    const int files[4] = {1, 2, 2, 3}; /* after each append */
    int64_t bytes[4];
    for (int i = 0; i < 4; i++) {
        cp_batch *b = make(i * 10000, 2500);
        assert_int_equal(core_spool_append(s, b, &seq[i], &bytes[i]), CP_OK);
        core_batch_unref(b);
        if (i == 1)
            core_spool_done(s, seq[1]); /* its segment, the current one, has nothing left to deliver */
        assert_int_equal(segment_files(dir), files[i]); /* seq[1]'s went when seq[2]'s started */
        assert_int_equal(files_ending(dir, "[.]spare"), i == 2);    /* and seq[3]'s took its file */
        assert_int_equal(files_ending(dir, "[.]rseg"), i == 3);
    }
    core_spool_done(s, seq[2]);             /* an earlier segment confirmed before the sync */
    assert_int_equal(segment_files(dir), 2); /* seq[0]'s and seq[3]'s */
    /* not kept as a spare: with the two records not yet confirmed it would pass the bound */
    assert_true(bytes[0] + bytes[2] + bytes[3] > 4 * 65536);
    assert_int_equal(files_ending(dir, "[.]spare"), 0);
    assert_int_equal(core_spool_sync(s), CP_OK);
    core_spool_close(s);
    assert_int_equal(files_ending(dir, "[.]spare"), 0); /* spares go at close */
    s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(core_spool_pending(s), 2);
    for (int k = 0; k < 2; k++) {
        cp_batch *b = NULL;
        assert_int_equal(core_spool_replay_seq(s, (size_t)k), seq[3 * k]);
        assert_int_equal(core_spool_read(s, seq[3 * k], NULL, &b), CP_OK);
        assert_int_equal(core_batch_rows(b), 2500);
        assert_int_equal(first_id(b), 3 * k * 10000);
        core_batch_unref(b);
    }
    core_spool_close(s);
}

static char *only_segment(const char *dir)
{
    static char path[4200];
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "ls %s/*.seg", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(path, sizeof path, p));
    pclose(p);
    path[strcspn(path, "\n")] = '\0';
    return path;
}

static void test_torn_tail_and_flipped_byte(void **state)
{
    const char *dir = tk_tmpdir();
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    uint64_t seq[3];
    for (int i = 0; i < 3; i++) {
        cp_batch *b = make(i * 100, 3);
        assert_int_equal(core_spool_append(s, b, &seq[i], NULL), CP_OK);
        core_batch_unref(b);
    }
    core_spool_sync(s);
    /* simulate a crash: no close (the test leaks nothing: close after copying the file) */
    char *seg = strdup(only_segment(dir));
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    core_spool_close(s);
    /* torn tail: cut the last record in half */
    assert_int_equal(truncate(seg, st.st_size - 25), 0);
    tk_log_clear();
    s = core_spool_open(dir, &tag, err, sizeof err);
    assert_int_equal(core_spool_pending(s), 2);
    tk_assert_log_contains("torn record at the end of");
    cp_batch *b = NULL;
    assert_int_equal(core_spool_read(s, seq[1], NULL, &b), CP_OK);
    assert_int_equal(first_id(b), 100);
    core_batch_unref(b);
    core_spool_close(s);
    /* flip one byte inside the first record's payload: it is skipped, the second survives */
    int fd = open(seg, O_RDWR);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, 40), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, 40), 1);
    close(fd);
    tk_log_clear();
    s = core_spool_open(dir, &tag, err, sizeof err);
    assert_int_equal(core_spool_pending(s), 1);
    assert_int_equal(core_spool_replay_seq(s, 0), seq[1]);
    tk_assert_log_contains("corrupt data in");
    tk_assert_log_contains("checksum mismatch");
    assert_int_equal(core_spool_read(s, seq[1], NULL, &b), CP_OK);
    assert_int_equal(first_id(b), 100);
    core_batch_unref(b);
    /* new appends continue after the highest sequence number seen */
    b = make(900, 1);
    uint64_t next;
    assert_int_equal(core_spool_append(s, b, &next, NULL), CP_OK);
    assert_true(next > seq[2] || next > seq[1]);
    core_batch_unref(b);
    core_spool_close(s);
    /* the first record's length made to run past the end of the file: a record follows it, so
     * it is corrupt, not torn (nothing is cut); the next opens find the same */
    fd = open(seg, O_RDWR);
    uint32_t huge = 1u << 24;
    assert_int_equal(pwrite(fd, &huge, 4, 4), 4);
    close(fd);
    assert_int_equal(stat(seg, &st), 0);
    for (int again = 0; again < 2; again++) {
        tk_log_clear();
        s = core_spool_open(dir, &tag, err, sizeof err);
        assert_int_equal(core_spool_pending(s), 2); /* and the record appended above */
        assert_int_equal(core_spool_replay_seq(s, 0), seq[1]);
        assert_int_equal(core_spool_replay_seq(s, 1), next);
        tk_assert_log_contains("corrupt data in");
        struct stat now;
        assert_int_equal(stat(seg, &now), 0);
        assert_int_equal(now.st_size, st.st_size);
        core_spool_close(s);
    }
    free(seg);
}

static void test_segments_deleted_when_confirmed(void **state)
{
    const char *dir = tk_tmpdir();
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    uint64_t seq;
    cp_batch *b = make(1, 1);
    assert_int_equal(core_spool_append(s, b, &seq, NULL), CP_OK);
    core_batch_unref(b);
    assert_true(core_spool_bytes(s) > 0);
    core_spool_done(s, seq);
    core_spool_close(s);
    s = core_spool_open(dir, &tag, err, sizeof err);
    assert_int_equal(core_spool_pending(s), 0);
    assert_int_equal(core_spool_bytes(s), 0);
    core_spool_close(s);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "ls %s/*.seg >/dev/null 2>&1", dir);
    assert_int_not_equal(system(cmd), 0); /* no segment file left */
}

static void test_crc32c(void **state)
{
    (void)state;
    /* long runs take three lanes at once, joined by polynomial arithmetic: the table agrees at
     * every length around the blocks' (12 KiB) and from every alignment */
    static unsigned char big[100000];
    srand(3);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)rand();
    const size_t lens[] = {12287, 12288, 12289, 24575, 24576, 24583, 36864 + 5, 99990};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++)
        for (size_t off = 0; off < 9; off += 4) {
            uint32_t want = core_util_crc32c_sw(0x1234u, big + off, lens[k]);
            assert_int_equal(core_util_crc32c(0x1234u, big + off, lens[k]), want);
        }
    assert_int_equal(core_util_crc32c(0, "123456789", 9), 0xE3069283u); /* the standard check value */
    assert_int_equal(core_util_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    unsigned char buf[300];
    srand(7);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rand();
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += 13) {
            uint32_t a = core_util_crc32c(0, buf + off, n), b = core_util_crc32c_sw(0, buf + off, n);
            assert_int_equal(a, b);
            /* continuing from a CRC is the CRC of the concatenation */
            assert_int_equal(core_util_crc32c(core_util_crc32c(0, buf + off, n / 2), buf + off + n / 2, n - n / 2), a);
        }
}

/* A record written by an earlier version ("CPR1", zlib's CRC-32) is replayed. */
static void test_v1_record_replayed(void **state)
{
    (void)state;
    const char *dir = tk_tmpdir();
    cp_batch *b = make(42, 2);
    cp_buf rec = {0};
    cp_buf_put(&rec, "CPR1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    assert_int_equal(core_batch_serialize(b, &rec), CP_OK);
    core_batch_unref(b);
    uint32_t plen = (uint32_t)(rec.len - 20);
    uint64_t seq = 1;
    uLong c = crc32(crc32(crc32(0L, Z_NULL, 0), (const Bytef *)&seq, 8), (const Bytef *)rec.p + 20, plen);
    uint32_t crc = (uint32_t)c;
    memcpy(rec.p + 4, &plen, 4);
    memcpy(rec.p + 8, &seq, 8);
    memcpy(rec.p + 16, &crc, 4);
    char path[4200];
    snprintf(path, sizeof path, "%s/0000000000000001.seg", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(rec.p, 1, rec.len, f), rec.len);
    fclose(f);
    cp_buf_free(&rec);
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(core_spool_pending(s), 1);
    cp_batch *r = NULL;
    assert_int_equal(core_spool_read(s, 1, NULL, &r), CP_OK);
    assert_int_equal(first_id(r), 42);
    core_batch_unref(r);
    /* new records after it are current ones, and both kinds read back */
    b = make(7, 1);
    uint64_t next;
    assert_int_equal(core_spool_append(s, b, &next, NULL), CP_OK);
    core_batch_unref(b);
    assert_int_equal(next, 2);
    assert_int_equal(core_spool_read(s, next, NULL, &r), CP_OK);
    assert_int_equal(first_id(r), 7);
    core_batch_unref(r);
    core_spool_sync(s);
    core_spool_close(s);
    s = core_spool_open(dir, &tag, err, sizeof err);
    assert_int_equal(core_spool_pending(s), 2);
    core_spool_close(s);
}

/* A spool written by the release before the compact payload (tests/fixtures/spool/v1-payloads.seg:
 * a "CPR1" record and two "CPR2" ones, all with the v1 payload) replays after an upgrade: every
 * cell as that release built it (the generator is the same code as fixture_batch below), and
 * records appended after them in the compact form read back next to them. */
static const cp_field fixture_fields[] = {
    {"name", CP_T_STRING, CP_FIELD_KEY},       {"seq", CP_T_INT64, 0},
    {"at", CP_T_TIMESTAMP, CP_FIELD_KEY},      {"ratio", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"price", CP_T_DECIMAL, CP_FIELD_NULLABLE}, {"ok", CP_T_BOOL, CP_FIELD_NULLABLE},
    {"note", CP_T_STRING, CP_FIELD_NULLABLE},
};
static const cp_schema fixture_schema = {.stream = "fixture", .nfields = 7, .fields = fixture_fields};

static cp_batch *fixture_batch(int first, int rows)
{
    static const char *const prices[] = {"43123.45000000",          "-0.00012300",     "1.5e-7",
                                         "123456789012345678901234567890", "0.000100000000000000001",
                                         "9007199254740993",         "0"};
    cp_batch *b = core_batch_new(&fixture_schema, 0);
    for (int i = 0; i < rows; i++) {
        size_t r = core_batch_add_row(b);
        core_batch_set_string(b, r, 0, i < rows / 2 ? "BTC-USDT" : "ETH-USDT", 8);
        core_batch_set_int(b, r, 1, (first + i) * (i % 2 ? -1 : 1) * 1000003LL);
        core_batch_set_int(b, r, 2, 1700000000000LL + 60000LL * (first + i));
        if (i % 3)
            core_batch_set_double(b, r, 3, (first + i) / 7.0);
        if (i % 4 != 3)
            core_batch_set_decimal(b, r, 4, prices[(first + i) % 7], strlen(prices[(first + i) % 7]));
        if (i % 5)
            core_batch_set_bool(b, r, 5, i % 2);
        if (i % 2)
            core_batch_set_string(b, r, 6, i % 4 == 1 ? "" : "a \"note\"\n", i % 4 == 1 ? 0 : 10);
    }
    return b;
}

static void test_earlier_release_spool_replayed(void **state)
{
    (void)state;
    const char *dir = tk_tmpdir(), *src = getenv("COINPIPE_SRC");
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/tests/fixtures/spool/v1-payloads.seg", src ? src : ".");
    snprintf(to, sizeof to, "%s/0000000000000001.seg", dir);
    size_t len = 0;
    char *seg = core_util_read_file(from, &len);
    assert_non_null(seg);
    assert_memory_equal(seg, "CPR1", 4);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(seg, 1, len, f), len);
    fclose(f);
    free(seg);
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(core_spool_pending(s), 3);
    const int first[] = {0, 3, 43}, rows[] = {3, 40, 1};
    for (int i = 0; i < 3; i++) {
        cp_batch *got = NULL, *want = fixture_batch(first[i], rows[i]);
        assert_int_equal(core_spool_replay_seq(s, (size_t)i), i + 1);
        assert_int_equal(core_spool_read(s, (uint64_t)i + 1, NULL, &got), CP_OK);
        tk_assert_same_batch(want, got);
        core_batch_unref(want);
        core_batch_unref(got);
    }
    cp_batch *b = fixture_batch(44, 25), *got = NULL;
    uint64_t seq;
    assert_int_equal(core_spool_append(s, b, &seq, NULL), CP_OK);
    assert_int_equal(seq, 4);
    assert_int_equal(core_spool_sync(s), CP_OK);
    core_spool_done(s, 1);
    core_spool_close(s);
    s = core_spool_open(dir, &tag, err, sizeof err);
    assert_int_equal(core_spool_pending(s), 3);
    assert_int_equal(core_spool_read(s, 4, NULL, &got), CP_OK);
    tk_assert_same_batch(b, got);
    core_batch_unref(got);
    got = NULL;
    assert_int_equal(core_spool_read(s, 2, NULL, &got), CP_OK);
    assert_int_equal(core_batch_rows(got), 40);
    core_batch_unref(got);
    core_batch_unref(b);
    core_spool_close(s);
}

/* The compact payload brings every cell back as it was, about a third of v1's bytes for candles. */
static void test_compact_payload_roundtrip(void **state)
{
    (void)state;
    cp_batch *b = fixture_batch(5, 300);
    cp_buf o = {0};
    assert_int_equal(core_batch_serialize(b, &o), CP_OK);
    assert_memory_equal(o.p, "CPB2", 4);
    cp_batch *c = NULL;
    assert_int_equal(core_batch_deserialize_checked(o.p, o.len, false, &c), CP_OK);
    tk_assert_same_batch(b, c);
    core_batch_unref(c);
    cp_buf_free(&o);
    core_batch_unref(b);
    /* candles: repeated strings a byte, times a minute apart 4 bytes, decimals their text + 1 */
    b = core_batch_new(&cp_ohlcv_schema, 0);
    for (int i = 0; i < 1000; i++) {
        size_t r = core_batch_add_row(b);
        core_batch_set_string(b, r, CP_OHLCV_EXCHANGE, "binance", 7);
        core_batch_set_string(b, r, CP_OHLCV_SYMBOL, "BTC-USDT", 8);
        core_batch_set_string(b, r, CP_OHLCV_NATIVE_SYMBOL, "BTCUSDT", 7);
        core_batch_set_string(b, r, CP_OHLCV_INTERVAL, "1m", 2);
        core_batch_set_int(b, r, CP_OHLCV_OPEN_TIME, 1700000000000LL + 60000LL * i);
        core_batch_set_int(b, r, CP_OHLCV_CLOSE_TIME, 1700000059999LL + 60000LL * i);
        core_batch_set_int(b, r, CP_OHLCV_RECEIVED_AT, 1700060000123LL);
        core_batch_set_int(b, r, CP_OHLCV_TRADE_COUNT, 1000 + i % 50);
        for (size_t c2 = CP_OHLCV_OPEN; c2 <= CP_OHLCV_TAKER_BUY_QUOTE_VOLUME; c2++)
            if (core_batch_schema(b)->fields[c2].type == CP_T_DECIMAL)
                core_batch_set_decimal(b, r, c2, "43123.45000000", 14);
    }
    assert_int_equal(core_batch_serialize(b, &o), CP_OK);
    /* a row: 4 strings, 2 times, received_at, trade_count, 8 decimals (v1: 286 bytes); the
     * first row and the stream's header are the rest */
    size_t row = 4 * 1 + 2 * 4 + 1 + 1 + 8 * (1 + 14);
    assert_int_equal(row, 134);
    assert_true(o.len > 1000 * row && o.len < 1000 * row + 400);
    assert_int_equal(core_batch_deserialize(o.p, o.len, &c), CP_OK);
    tk_assert_same_batch(b, c);
    core_batch_unref(c);
    cp_buf_free(&o);
    core_batch_unref(b);
}

/* A record's decimal is read in place, the record's next bytes standing in for the zeros the
 * usual form's 8-byte runs may read: a decimal followed by bytes that look like more of it (the
 * next text's length byte is a digit from 48 to 57 bytes on, or a point at 46) still gets the
 * double of its own text, as core_decimal_parse gives it, and so do decimals at the record's end. */
static void test_decimals_read_in_place(void **state)
{
    (void)state;
    char longtext[64];
    const char *texts[] = {"0.5", NULL, "1234567", NULL, "12.25", "7", "0.00000001", "9.87654321", "-3.5"};
    size_t n = sizeof texts / sizeof *texts;
    cp_batch *b = core_batch_new(&cp_trade_schema, 0);
    for (size_t i = 0; i < n; i++) {
        size_t r = core_batch_add_row(b);
        core_batch_set_string(b, r, CP_TRADE_EXCHANGE, "x", 1);
        core_batch_set_string(b, r, CP_TRADE_SYMBOL, "BTC-USDT", 8);
        core_batch_set_string(b, r, CP_TRADE_TRADE_ID, "1", 1);
        core_batch_set_int(b, r, CP_TRADE_TS, 1700000000000);
        const char *t = texts[i];
        if (!t) { /* 1.000...0 of 50 bytes (length byte '2'), then of 46 (length byte '.') */
            size_t len = i == 1 ? 50 : 46;
            memset(longtext, '0', len);
            memcpy(longtext, "1.", 2);
            longtext[len] = '\0';
            t = longtext;
        }
        assert_int_equal(core_batch_set_decimal(b, r, CP_TRADE_PRICE, t, strlen(t)), CP_OK);
        /* the last decimal column: only the side's null bytes follow it to the record's end */
        assert_int_equal(core_batch_set_decimal(b, r, CP_TRADE_QUOTE_SIZE, t, strlen(t)), CP_OK);
    }
    cp_buf o = {0};
    assert_int_equal(core_batch_serialize(b, &o), CP_OK);
    cp_batch *c = NULL;
    assert_int_equal(core_batch_deserialize_checked(o.p, o.len, false, &c), CP_OK);
    tk_assert_same_batch(b, c);
    for (size_t r = 0; r < n; r++) {
        size_t len;
        const char *t = core_batch_get_text(c, r, CP_TRADE_PRICE, &len);
        double want;
        assert_true(core_decimal_parse(t, len, &want));
        assert_true(core_batch_get_double(c, r, CP_TRADE_PRICE) == want);
        assert_true(core_batch_get_double(c, r, CP_TRADE_QUOTE_SIZE) == want);
    }
    assert_true(core_batch_get_double(c, 0, CP_TRADE_PRICE) == 0.5);
    assert_true(core_batch_get_double(c, 2, CP_TRADE_PRICE) == 1234567.0);
    core_batch_unref(c);
    cp_buf_free(&o);
    core_batch_unref(b);
}

/* A record read into a batch read back before: the same batch, refilled (grown when the record
 * has more rows, its text storage kept when it has fewer), every cell as a fresh decoding gives
 * it; a batch of another stream, or one someone else still holds, is not refilled; on a bad
 * record the batch given is freed (ASan: nothing leaks) and nothing is returned. */
static void test_deserialize_into_a_batch_read_before(void **state)
{
    (void)state;
    const int rows[] = {300, 1200, 40, 1200};
    cp_batch *keep = NULL;
    for (int i = 0; i < 4; i++) {
        cp_batch *b = fixture_batch(i * 1000, rows[i]), *got = NULL;
        cp_buf o = {0};
        assert_int_equal(core_batch_serialize(b, &o), CP_OK);
        assert_int_equal(core_batch_deserialize_into(o.p, o.len, false, keep, &got), CP_OK);
        if (keep)
            assert_ptr_equal(got, keep);
        tk_assert_same_batch(b, got);
        keep = got;
        cp_buf_free(&o);
        core_batch_unref(b);
    }
    /* held by someone else: a new batch, the other holder's cells untouched */
    cp_batch *b = fixture_batch(7, 10), *got = NULL, *held = keep;
    cp_buf o = {0};
    assert_int_equal(core_batch_serialize(b, &o), CP_OK);
    core_batch_ref(held);
    assert_int_equal(core_batch_deserialize_into(o.p, o.len, false, keep, &got), CP_OK);
    assert_ptr_not_equal(got, held);
    assert_int_equal(core_batch_rows(held), 1200);
    tk_assert_same_batch(b, got);
    core_batch_unref(held);
    /* another stream's record: a new batch, the one given freed */
    cp_batch *t = make(1, 3), *got2 = NULL;
    cp_buf o2 = {0};
    assert_int_equal(core_batch_serialize(t, &o2), CP_OK);
    assert_int_equal(core_batch_deserialize_into(o2.p, o2.len, false, got, &got2), CP_OK);
    tk_assert_same_batch(t, got2);
    /* a truncated record: refused, the batch given freed */
    cp_batch *none = got2;
    assert_int_equal(core_batch_deserialize_into(o2.p, o2.len - 1, false, got2, &none), CP_ERR_PARSE);
    assert_null(none);
    cp_buf_free(&o);
    cp_buf_free(&o2);
    core_batch_unref(b);
    core_batch_unref(t);
}

/* core_spool_read refills the batch it is given: the sink reads a run of records back into one */
static void test_read_back_into_a_batch_read_before(void **state)
{
    const char *dir = tk_tmpdir();
    char err[256];
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    uint64_t seq[3];
    for (int i = 0; i < 3; i++) {
        cp_batch *b = make(i * 100, 50 + i);
        assert_int_equal(core_spool_append(s, b, &seq[i], NULL), CP_OK);
        core_batch_unref(b);
    }
    cp_batch *keep = NULL;
    for (int i = 0; i < 3; i++) {
        cp_batch *got = NULL;
        assert_int_equal(core_spool_read(s, seq[i], keep, &got), CP_OK);
        if (keep)
            assert_ptr_equal(got, keep);
        assert_int_equal(core_batch_rows(got), 50 + i);
        assert_int_equal(first_id(got), i * 100);
        keep = got;
    }
    cp_batch *none = keep;
    assert_int_equal(core_spool_read(s, 999, keep, &none), CP_ERR_NOT_FOUND); /* given back: freed */
    assert_null(none);
    core_spool_close(s);
}

/* this process's counter `name` of /proc/self/io (bytes sent to the storage, or dropped dirty
 * before they were), -1 without one */
static long long proc_io(const char *name)
{
    FILE *f = fopen("/proc/self/io", "r");
    char key[64];
    long long v, found = -1;
    while (f && fscanf(f, "%63[^:]: %lld\n", key, &v) == 2)
        if (strcmp(key, name) == 0)
            found = v;
    if (f)
        fclose(f);
    return found;
}

/* A sync writes to the disk only records not yet confirmed: a segment whose records were all
 * confirmed first is not fdatasync'd, and its pages are dropped unwritten when it goes (the
 * kernel counts them in cancelled_write_bytes); an unconfirmed record's are written. */
static void test_sync_skips_confirmed(void **state)
{
    (void)state;
    const char *dir = tk_tmpdir();
    char err[256];
    long long w0 = proc_io("write_bytes");
    core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
    assert_non_null(s);
    cp_batch *b = make(0, 3000);
    uint64_t seq;
    int64_t bytes;
    assert_int_equal(core_spool_append(s, b, &seq, &bytes), CP_OK);
    if (w0 < 0 || proc_io("write_bytes") - w0 < bytes) { /* no such accounting here (tmpfs, no /proc) */
        core_spool_close(s);
        core_batch_unref(b);
        skip();
    }
    core_spool_done(s, seq);
    long long c0 = proc_io("cancelled_write_bytes");
    assert_int_equal(core_spool_sync(s), CP_OK);
    core_spool_close(s); /* the segment, all confirmed, goes: dirty, never written */
    assert_true(proc_io("cancelled_write_bytes") - c0 >= bytes);
    /* unconfirmed at the sync: written, so nothing dropped dirty when it goes after all */
    s = core_spool_open(dir, &tag, err, sizeof err);
    assert_int_equal(core_spool_append(s, b, &seq, &bytes), CP_OK);
    assert_int_equal(core_spool_sync(s), CP_OK);
    core_spool_done(s, seq);
    c0 = proc_io("cancelled_write_bytes");
    core_spool_close(s);
    assert_true(proc_io("cancelled_write_bytes") - c0 < bytes);
    assert_int_equal(segment_files(dir), 0);
    core_batch_unref(b);
}

/* A process killed (here: a child that ends without closing its spool, as kill -9 leaves the
 * files) while a reused segment holds its new records over a spare's older ones: the next open
 * replays every unconfirmed record once and cuts the spare's data off, whether what follows the
 * new records is a whole earlier record (numbered below the segment) or a part of one. */
static void test_reused_segment_after_a_crash(void **state)
{
    (void)state;
    for (int whole = 0; whole < 2; whole++) {
        const char *dir = tk_tmpdir();
        char err[256];
        uint64_t seq[4];
        int64_t size[4];
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) { /* the process that dies */
            core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
            core_spool_set_limit(s, 4 * 65536); /* segments of 64 KiB: one 2500-row record fills one */
            const int rows[4] = {2500, 1, 2500, whole ? 2500 : 3};
            const int first[4] = {10000, 20000, 30000, 40000}; /* ids of one length: sizes alike */
            for (int i = 0; i < 4; i++) {
                cp_batch *b = make(first[i], rows[i]);
                if (core_spool_append(s, b, &seq[i], &size[i]) != CP_OK)
                    _exit(2);
                core_batch_unref(b);
                if (i == 2) { /* the first segment's two records confirmed: it becomes a spare */
                    core_spool_done(s, seq[0]);
                    core_spool_done(s, seq[1]);
                }
            }
            if (write(fds[1], seq, sizeof seq) != (ssize_t)sizeof seq || write(fds[1], size, sizeof size) != (ssize_t)sizeof size)
                _exit(3);
            _exit(0); /* no sync, no close */
        }
        close(fds[1]);
        int st = -1;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_int_equal(st, 0);
        assert_int_equal(read(fds[0], seq, sizeof seq), (ssize_t)sizeof seq);
        assert_int_equal(read(fds[0], size, sizeof size), (ssize_t)sizeof size);
        close(fds[0]);
        assert_int_equal(files_ending(dir, "[.]rseg"), 1); /* the fourth record wrote the spare over */
        if (whole)
            assert_int_equal(size[3], size[0]); /* the spare's second record follows, whole */
        core_spool *s = core_spool_open(dir, &tag, err, sizeof err);
        assert_non_null(s);
        assert_int_equal(core_spool_pending(s), 2);
        for (int k = 0; k < 2; k++) {
            cp_batch *b = NULL;
            assert_int_equal(core_spool_replay_seq(s, (size_t)k), seq[2 + k]);
            assert_int_equal(core_spool_read(s, seq[2 + k], NULL, &b), CP_OK);
            assert_int_equal(first_id(b), 30000 + 10000 * k);
            assert_int_equal(core_batch_rows(b), k == 0 || whole ? 2500 : 3);
            core_batch_unref(b);
        }
        char cmd[4300], line[64];
        snprintf(cmd, sizeof cmd, "stat -c %%s %s/*.rseg", dir);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(fgets(line, sizeof line, p));
        pclose(p);
        assert_int_equal(atoll(line), size[3]); /* the spare's data cut off */
        core_spool_close(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_serialisation),
        cmocka_unit_test(test_replay_in_order_after_reopen),
        cmocka_unit_test(test_records_of_mixed_sizes),
        cmocka_unit_test(test_full_segments),
        cmocka_unit_test(test_reused_segment_after_a_crash),
        cmocka_unit_test(test_torn_tail_and_flipped_byte),
        cmocka_unit_test(test_segments_deleted_when_confirmed),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_v1_record_replayed),
        cmocka_unit_test(test_earlier_release_spool_replayed),
        cmocka_unit_test(test_compact_payload_roundtrip),
        cmocka_unit_test(test_sync_skips_confirmed),
        cmocka_unit_test(test_decimals_read_in_place),
        cmocka_unit_test(test_deserialize_into_a_batch_read_before),
        cmocka_unit_test(test_read_back_into_a_batch_read_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
