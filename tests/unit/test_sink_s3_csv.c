/* Tests of the s3-csv sink against a real S3-compatible server (tests/services/start-s3.sh).
 * SPDX-License-Identifier: MIT
 *
 * Needs COINPIPE_TEST_S3_ENDPOINT, COINPIPE_TEST_S3_BUCKET and the AWS_* credentials; `make
 * test` sets them. Objects are read back with the AWS command line client (awscli); Parquet
 * objects are checked here by their frame and footer, cell by cell in integration/objstore_parquet.
 */
#include "sink_fixtures.h"

#include "../../plugins/sinks/common/parquet.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char g_prefix[64];

#define env fx_env

static tk_instance *open_sink(const char *extra)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "bucket = \"%s\"; endpoint = \"%s\"; prefix = \"%s\"; %s",
             env("COINPIPE_TEST_S3_BUCKET"), env("COINPIPE_TEST_S3_ENDPOINT"), g_prefix, extra ? extra : "");
    return tk_create("s3-csv", cfg);
}

#define sh fx_sh

/* the keys under the test prefix, one per line, sorted */
static char *list_keys(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "aws --endpoint-url '%s' s3 ls --recursive 's3://%s/%s/' | awk '{print $4}' | sort",
             env("COINPIPE_TEST_S3_ENDPOINT"), env("COINPIPE_TEST_S3_BUCKET"), g_prefix);
    return sh(cmd);
}

static char *get_object(const char *key, bool gunzip)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "aws --endpoint-url '%s' s3 cp 's3://%s/%s' - %s", env("COINPIPE_TEST_S3_ENDPOINT"),
             env("COINPIPE_TEST_S3_BUCKET"), key, gunzip ? "| gzip -dc" : "");
    return sh(cmd);
}

#define count_lines fx_count_lines

static void setup_prefix(const char *name)
{
    snprintf(g_prefix, sizeof g_prefix, "t%ld-%s", (long)getpid(), name);
}

#define CANDLE_ROW(open, close_, recv, close)                                                                      \
    "binance,BTC-USDT,BTCUSDT,1m," open "," close_ ",91234.56000000,91234.56000000,91234.56000000," close          \
    ",12.345678901234567890123,,1234,0.00000001,1e-8," recv "\r\n"

static void test_pending_then_upload_bytes_and_keys(void **state)
{
    setup_prefix("bytes");
    tk_pin_clock(FX_T0 + 1000);
    tk_instance *t = open_sink(NULL);
    cp_batch *b = fx_candles(FX_T0, 2);
    assert_int_equal(tk_write(t, b), CP_PENDING); /* buffered, not durable yet */
    assert_int_equal(tk_flush(t, 0), CP_OK);      /* a new sink's first rows go out at once */
    assert_int_equal(tk_flush(t, 0), CP_OK);      /* nothing pending */

    char *keys = list_keys();
    assert_int_equal(count_lines(keys), 1);
    char want[256];
    snprintf(want, sizeof want, "%s/ohlcv/year=2026/month=11/day=21/test-20261121T105544123Z-", g_prefix);
    assert_non_null(strstr(keys, want));
    assert_non_null(strstr(keys, ".csv\n"));
    *strchr(keys, '\n') = '\0';
    char *csv = get_object(keys, false);
    assert_string_equal(csv, "exchange,symbol,native_symbol,interval,open_time,close_time,open,high,low,close,volume,"
                             "quote_volume,trade_count,taker_buy_base_volume,taker_buy_quote_volume,received_at\r\n" //
                             CANDLE_ROW("2026-11-21T10:55:44.123Z", "2026-11-21T10:56:44.122Z",
                                        "2026-11-21T10:56:44.623Z", "100.5") //
                             CANDLE_ROW("2026-11-21T10:56:44.123Z", "2026-11-21T10:57:44.122Z",
                                        "2026-11-21T10:57:44.623Z", "101.5"));
    free(csv);

    /* the same rows again (a retry): buffered until flush_interval (5m), then on the same key */
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, 0), CP_PENDING); /* flush_interval not reached */
    tk_pin_clock(FX_T0 + 1000 + 5 * 60000);
    assert_int_equal(tk_flush(t, 0), CP_OK); /* interval passed: uploaded */
    char *again = list_keys();
    assert_int_equal(count_lines(again), 1);
    assert_non_null(strstr(again, keys));
    free(again);
    free(keys);

    /* RFC 4180 quoting of commas, quotes and newlines */
    cp_batch *e = fx_evo(4, "b");
    assert_int_equal(tk_write(t, e), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_OK);
    keys = list_keys();
    char *evo = strstr(keys, "/evo/");
    assert_non_null(evo);
    while (evo > keys && evo[-1] != '\n')
        evo--;
    *strchr(evo, '\n') = '\0';
    csv = get_object(evo, false);
    assert_string_equal(csv, "id,note,qty,px\r\nb,\"a, \"\"quoted\"\"\nnote\",7,0.123456789012345678901\r\n");
    free(csv);
    free(keys);
    tk_batch_free(e);
    tk_batch_free(b);
    tk_destroy(t);
    tk_pin_clock(0);
}

static void test_midnight_split_gzip_and_max_rows(void **state)
{
    setup_prefix("gz");
    tk_instance *t = open_sink("gzip = true; max_rows = 3;");
    int64_t midnight = 1795305600000LL; /* 2026-11-22T00:00:00.000Z */
    cp_batch *b = tk_batch_new(&cp_ohlcv_schema);
    fx_add_candle(b, midnight - 60000, "1.5");
    fx_add_candle(b, midnight, "2.5");
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_OK);
    char *keys = list_keys();
    assert_int_equal(count_lines(keys), 2);
    char want[256];
    snprintf(want, sizeof want, "%s/ohlcv/year=2026/month=11/day=21/test-20261121T235900000Z-", g_prefix);
    assert_non_null(strstr(keys, want));
    snprintf(want, sizeof want, "%s/ohlcv/year=2026/month=11/day=22/test-20261122T000000000Z-", g_prefix);
    char *second = strstr(keys, want);
    assert_non_null(second);
    *strchr(second, '\n') = '\0';
    assert_non_null(strstr(second, ".csv.gz"));
    char *csv = get_object(second, true);
    assert_int_equal(count_lines(csv), 2);
    assert_non_null(strstr(csv, CANDLE_ROW("2026-11-22T00:00:00.000Z", "2026-11-22T00:00:59.999Z",
                                           "2026-11-22T00:01:00.500Z", "2.5")));
    free(csv);
    free(keys);

    /* max_rows reached inside write(): uploaded at once, CP_OK confirms everything pending */
    cp_batch *big = fx_candles(midnight + 3600000, 3);
    assert_int_equal(tk_write(t, big), CP_OK);
    keys = list_keys();
    assert_int_equal(count_lines(keys), 3);
    free(keys);
    tk_batch_free(big);
    tk_batch_free(b);
    tk_destroy(t);
}

static void test_denied_names_bucket(void **state)
{
    setup_prefix("denied");
    /* the test server checks the key id (its signature check is lax): an unknown one is a 403 */
    tk_instance *t = open_sink("access_key_id = \"NOBODY\"; secret_access_key = \"not-a-secret-xyz\";");
    cp_batch *b = fx_candles(FX_T0, 1);
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_REJECT);
    tk_assert_log_contains("access to bucket coinpipe-test denied (HTTP 403");
    assert_null(strstr(tk_log(), "not-a-secret-xyz"));
    tk_batch_free(b);
    tk_destroy(t);
}

/* the object at `key` in a malloc'd buffer of *len bytes */
static unsigned char *get_bytes(const char *key, size_t *len)
{
    char fetch[1024];
    snprintf(fetch, sizeof fetch, "aws --endpoint-url '%s' s3 cp 's3://%s/%s'",
             env("COINPIPE_TEST_S3_ENDPOINT"), env("COINPIPE_TEST_S3_BUCKET"), key);
    return fx_fetch_file(fetch, len);
}

/* format = "parquet": a .parquet object per stream and day, a content-named key (a retry lands on
 * it again), and a row whose decimal does not fit the scale refused with its row and column. */
static void test_parquet_objects(void **state)
{
    setup_prefix("pq");
    tk_pin_clock(FX_T0 + 1000);
    tk_instance *t = open_sink("format = \"parquet\"; compression = \"snappy\"; decimal_scale = 23; "
                               "row_group_rows = 2;");
    cp_batch *b = fx_candles(FX_T0, 3);
    fx_add_candle(b, FX_T0 + 3 * 60000, "0.000000000000000000000001"); /* 24 digits after the point */
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_PENDING);
    tk_assert_log_contains("stream ohlcv, row 3 (exchange=binance, symbol=BTC-USDT, interval=1m, "
                           "open_time=2026-11-21T10:58:44.123Z), column close: decimal 0.000000000000000000000001 has "
                           "more digits after the point than the column's scale (DECIMAL(38, 23)): row not written "
                           "to Parquet");
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_OK);
    char *keys = list_keys();
    assert_int_equal(count_lines(keys), 1);
    char want[256];
    snprintf(want, sizeof want, "%s/ohlcv/year=2026/month=11/day=21/test-20261121T105544123Z-", g_prefix);
    assert_non_null(strstr(keys, want));
    assert_non_null(strstr(keys, ".parquet\n"));
    *strchr(keys, '\n') = '\0';
    size_t len;
    unsigned char *pq = get_bytes(keys, &len);
    char err[256];
    int64_t rows = 0, groups = 0;
    assert_int_equal(cp_parquet_check(pq, len, &rows, &groups, err, sizeof err), 0);
    assert_int_equal(rows, 3); /* the refused row is not in it */
    assert_int_equal(groups, 2);
    free(pq);
    /* the same rows again (a retry): the same key */
    cp_batch *again = fx_candles(FX_T0, 3);
    assert_int_equal(tk_write(t, again), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_OK);
    char *keys2 = list_keys();
    assert_int_equal(count_lines(keys2), 1);
    assert_non_null(strstr(keys2, keys));
    free(keys2);
    free(keys);
    tk_batch_free(again);
    tk_batch_free(b);
    tk_destroy(t);
    tk_pin_clock(0);
    /* gzip belongs to CSV */
    char cfg[512], *why = NULL;
    snprintf(cfg, sizeof cfg, "bucket = \"%s\"; endpoint = \"%s\"; format = \"parquet\"; gzip = true;",
             env("COINPIPE_TEST_S3_BUCKET"), env("COINPIPE_TEST_S3_ENDPOINT"));
    tk_instance *bad = NULL;
    tk_log_clear();
    assert_int_equal(tk_try_create("s3-csv", cfg, NULL, &bad, &why), CP_ERR_CONFIG);
    assert_null(bad);
    tk_assert_log_contains("s3-csv: gzip = true applies to CSV; Parquet pages are compressed by `compression`");
    free(why);
    why = NULL;
    /* a scale the precision cannot hold */
    snprintf(cfg, sizeof cfg, "bucket = \"%s\"; endpoint = \"%s\"; format = \"parquet\"; decimal_precision = 9; "
             "decimal_scale = 10;", env("COINPIPE_TEST_S3_BUCKET"), env("COINPIPE_TEST_S3_ENDPOINT"));
    tk_log_clear();
    assert_int_equal(tk_try_create("s3-csv", cfg, NULL, &bad, &why), CP_ERR_CONFIG);
    tk_assert_log_contains("s3-csv: decimal_scale = 10 exceeds decimal_precision = 9");
    free(why);
}

/* decimal_precision = 9 at scale 4: INT32 decimals; a price with more than 5 digits before the
 * point is refused with its row and column, the other rows written. */
static void test_parquet_precision(void **state)
{
    (void)state;
    setup_prefix("p9");
    tk_pin_clock(FX_T0 + 1000);
    tk_instance *t = open_sink("format = \"parquet\"; decimal_precision = 9; decimal_scale = 4;");
    cp_schema s = {.stream = "evo", .nfields = 4, .fields = fx_evo_fields};
    cp_batch *b = tk_batch_new(&s);
    const cp_host *h = tk_host();
    static const char *const px[3] = {"12.5", "-99999.9999", "123456.5"};
    for (size_t r = 0; r < 3; r++) {
        h->batch_add_row(b);
        h->batch_set_string(b, r, 0, px[r], 1);
        h->batch_set_int(b, r, 2, 7);
        h->batch_set_decimal(b, r, 3, px[r], strlen(px[r]));
    }
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_PENDING);
    tk_assert_log_contains("stream evo, row 2 (id=1), column px: decimal 123456.5 has more digits before the point "
                           "than the column's precision leaves (DECIMAL(9, 4)): row not written to Parquet");
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_OK);
    char *keys = list_keys();
    assert_int_equal(count_lines(keys), 1);
    *strchr(keys, '\n') = '\0';
    size_t len;
    unsigned char *pq = get_bytes(keys, &len);
    char err[256];
    int64_t rows = 0;
    assert_int_equal(cp_parquet_check(pq, len, &rows, NULL, err, sizeof err), 0);
    assert_int_equal(rows, 2);
    /* the schema element: converted_type DECIMAL (5), scale 4, precision 9 */
    static const unsigned char dec9[] = {0x25, 0x0a, 0x15, 0x08, 0x15, 0x12};
    bool found = false;
    for (size_t i = 0; i + sizeof dec9 <= len && !found; i++)
        found = memcmp(pq + i, dec9, sizeof dec9) == 0;
    assert_true(found);
    free(pq);
    free(keys);
    tk_batch_free(b);
    tk_destroy(t);
    tk_pin_clock(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_then_upload_bytes_and_keys),
        cmocka_unit_test(test_midnight_split_gzip_and_max_rows),
        cmocka_unit_test(test_denied_names_bucket),
        cmocka_unit_test(test_parquet_objects),
        cmocka_unit_test(test_parquet_precision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
