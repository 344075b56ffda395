/* Tests of the azure-blob sink against Azurite, Microsoft's emulator (tests/services/start-azurite.sh).
 * SPDX-License-Identifier: MIT
 *
 * Needs the COINPIPE_TEST_AZURE_* variables; `make test` sets them. Blobs are listed and read back
 * with tests/services/azure_blob.py (Shared Key written independently of the sink).
 */
#include "sink_fixtures.h"

#include "../../plugins/sinks/common/parquet.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char g_prefix[64];

#define env fx_env
#define sh fx_sh
#define count_lines fx_count_lines

static char *client(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/services/azure_blob.py' %s", env("COINPIPE_SRC"), args);
    return sh(cmd);
}

static char *list_blobs(void)
{
    char args[256];
    snprintf(args, sizeof args, "list '%s' '%s/'", env("COINPIPE_TEST_AZURE_CONTAINER"), g_prefix);
    return client(args);
}

/* the blob's bytes (malloc'd, *len of them) */
static unsigned char *get_blob(const char *name, size_t *len)
{
    char fetch[1024];
    snprintf(fetch, sizeof fetch, "python3 '%s/tests/services/azure_blob.py' get '%s' '%s'", env("COINPIPE_SRC"),
             env("COINPIPE_TEST_AZURE_CONTAINER"), name);
    return fx_fetch_file(fetch, len);
}

static tk_instance *open_sink(const char *auth, const char *extra)
{
    char cfg[2048];
    snprintf(cfg, sizeof cfg, "account = \"%s\"; container = \"%s\"; endpoint = \"%s\"; prefix = \"%s\"; %s %s",
             env("COINPIPE_TEST_AZURE_ACCOUNT"), env("COINPIPE_TEST_AZURE_CONTAINER"),
             env("COINPIPE_TEST_AZURE_ENDPOINT"), g_prefix, auth, extra ? extra : "");
    return tk_create("azure-blob", cfg);
}

static const char *key_auth(void)
{
    static char b[256];
    snprintf(b, sizeof b, "account_key = \"%s\";", env("COINPIPE_TEST_AZURE_KEY"));
    return b;
}

#define CANDLE_ROW(open, close_, recv, close)                                                                      \
    "binance,BTC-USDT,BTCUSDT,1m," open "," close_ ",91234.56000000,91234.56000000,91234.56000000," close          \
    ",12.345678901234567890123,,1234,0.00000001,1e-8," recv "\r\n"

/* CSV with Shared Key: one Put Blob per stream and day, the shared layout's names, the bytes. */
static void test_csv_blobs_shared_key(void **state)
{
    snprintf(g_prefix, sizeof g_prefix, "t%ld-csv", (long)getpid());
    tk_pin_clock(FX_T0 + 1000);
    tk_instance *t = open_sink(key_auth(), NULL);
    cp_batch *b = fx_candles(FX_T0, 2);
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_OK);
    char *names = list_blobs();
    assert_int_equal(count_lines(names), 1);
    char want[256];
    snprintf(want, sizeof want, "%s/ohlcv/year=2026/month=11/day=21/test-20261121T105544123Z-", g_prefix);
    assert_non_null(strstr(names, want));
    assert_non_null(strstr(names, ".csv\n"));
    *strchr(names, '\n') = '\0';
    size_t len;
    unsigned char *csv = get_blob(names, &len);
    assert_string_equal((char *)csv,
                        "exchange,symbol,native_symbol,interval,open_time,close_time,open,high,low,close,volume,"
                        "quote_volume,trade_count,taker_buy_base_volume,taker_buy_quote_volume,received_at\r\n" //
                        CANDLE_ROW("2026-11-21T10:55:44.123Z", "2026-11-21T10:56:44.122Z", "2026-11-21T10:56:44.623Z",
                                   "100.5") //
                        CANDLE_ROW("2026-11-21T10:56:44.123Z", "2026-11-21T10:57:44.122Z", "2026-11-21T10:57:44.623Z",
                                   "101.5"));
    free(csv);
    char args[512];
    snprintf(args, sizeof args, "props '%s' '%s'", env("COINPIPE_TEST_AZURE_CONTAINER"), names);
    char *props = client(args);
    assert_string_equal(props, "text/csv BlockBlob\n");
    free(props);
    /* the same rows again (a retry): the same name, still one blob */
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_OK);
    char *again = list_blobs();
    assert_int_equal(count_lines(again), 1);
    free(again);
    free(names);
    tk_batch_free(b);
    tk_destroy(t);
    tk_pin_clock(0);
}

/* Parquet with a SAS token and blocks of 1 KiB: Put Block per KiB and Put Block List; the blob
 * reads back as a whole Parquet file with its content type. */
static void test_parquet_blocks_sas(void **state)
{
    snprintf(g_prefix, sizeof g_prefix, "t%ld-pq", (long)getpid());
    tk_pin_clock(FX_T0 + 1000);
    char auth[512];
    snprintf(auth, sizeof auth, "sas_token = \"?%s\";", env("COINPIPE_TEST_AZURE_SAS"));
    tk_instance *t = open_sink(auth, "format = \"parquet\"; compression = \"none\"; decimal_scale = 21; "
                                     "block_size = \"1K\"; row_group_rows = 3;");
    cp_batch *b = fx_candles(FX_T0, 7);
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_OK);
    tk_assert_log_contains(" blocks)");
    char *names = list_blobs();
    assert_int_equal(count_lines(names), 1);
    assert_non_null(strstr(names, ".parquet\n"));
    *strchr(names, '\n') = '\0';
    size_t len;
    unsigned char *pq = get_blob(names, &len);
    assert_true(len > 2048); /* three blocks at least */
    char err[256];
    int64_t rows = 0, groups = 0;
    assert_int_equal(cp_parquet_check(pq, len, &rows, &groups, err, sizeof err), 0);
    assert_int_equal(rows, 7);
    assert_int_equal(groups, 3);
    free(pq);
    char args[512];
    snprintf(args, sizeof args, "props '%s' '%s'", env("COINPIPE_TEST_AZURE_CONTAINER"), names);
    char *props = client(args);
    assert_string_equal(props, "application/vnd.apache.parquet BlockBlob\n");
    free(props);
    free(names);
    assert_null(strstr(tk_log(), "sig="));
    tk_batch_free(b);
    tk_destroy(t);
    tk_pin_clock(0);
}

/* A wrong key: HTTP 403, rejected, the container named, the key never logged. */
static void test_wrong_key_names_container(void **state)
{
    snprintf(g_prefix, sizeof g_prefix, "t%ld-denied", (long)getpid());
    /* a well-formed key that is not the account's */
    tk_instance *t = open_sink("account_key = \"bm90LXRoZS1rZXktbm90LXRoZS1rZXktbm90LXRoZS1rZXk=\";", NULL);
    cp_batch *b = fx_candles(FX_T0, 1);
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_REJECT);
    char want[256];
    snprintf(want, sizeof want, "access to container %s of account %s denied (HTTP 403",
             env("COINPIPE_TEST_AZURE_CONTAINER"), env("COINPIPE_TEST_AZURE_ACCOUNT"));
    tk_assert_log_contains(want);
    assert_null(strstr(tk_log(), "bm90LXRoZS1rZXkt"));
    char *names = list_blobs();
    assert_int_equal(count_lines(names), 0);
    free(names);
    tk_batch_free(b);
    tk_destroy(t);
}

/* Nothing listening: a retry, not a rejection (the core's spool keeps the batch). A missing
 * container is refused with a hint; a bad key or no credentials at all fail create(). */
static void test_down_missing_container_and_config(void **state)
{
    snprintf(g_prefix, sizeof g_prefix, "t%ld-down", (long)getpid());
    char cfg[1024], *why = NULL;
    snprintf(cfg, sizeof cfg, "account = \"a\"; container = \"c\"; endpoint = \"http://127.0.0.1:9/a\"; %s "
                              "timeout = \"2s\";",
             key_auth());
    tk_instance *t = tk_create("azure-blob", cfg);
    cp_batch *b = fx_candles(FX_T0, 1);
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_RETRY);
    tk_destroy(t);
    snprintf(cfg, sizeof cfg, "account = \"%s\"; container = \"no-such-container\"; endpoint = \"%s\"; %s",
             env("COINPIPE_TEST_AZURE_ACCOUNT"), env("COINPIPE_TEST_AZURE_ENDPOINT"), key_auth());
    t = tk_create("azure-blob", cfg);
    tk_log_clear();
    assert_int_equal(tk_write(t, b), CP_PENDING);
    assert_int_equal(tk_flush(t, CP_FLUSH_FORCE), CP_REJECT);
    tk_assert_log_contains("ContainerNotFound (create the container or fix `container`)");
    tk_destroy(t);
    tk_batch_free(b);
    tk_instance *bad = NULL;
    tk_log_clear();
    assert_int_equal(tk_try_create("azure-blob", "account = \"a\"; container = \"c\"; account_key = \"%%%\";", NULL,
                                   &bad, &why),
                     CP_ERR_CONFIG);
    tk_assert_log_contains("the account key of a is not base64");
    free(why);
    why = NULL;
    unsetenv("AZURE_STORAGE_KEY");
    unsetenv("AZURE_STORAGE_SAS_TOKEN");
    assert_int_equal(tk_try_create("azure-blob", "account = \"a\"; container = \"c\";", NULL, &bad, &why),
                     CP_ERR_CONFIG);
    tk_assert_log_contains("no credentials for container c");
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_blobs_shared_key),
        cmocka_unit_test(test_parquet_blocks_sas),
        cmocka_unit_test(test_wrong_key_names_container),
        cmocka_unit_test(test_down_missing_container_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
