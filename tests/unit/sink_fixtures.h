/* Batches the sink tests write: ohlcv candles with exact decimals, and small custom schemas; and
 * the object-store tests' helpers (environment, shell commands, files read back).
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_SINK_FIXTURES_H
#define COINPIPE_SINK_FIXTURES_H

#include "testkit.h"

#include <coinpipe/streams.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FX_T0 1795258544123LL /* 2026-11-21T10:55:44.123Z */

/* Appends one 1m BTC-USDT candle opening at `open_time` with close price `close` (exact text). */
static inline void fx_add_candle(cp_batch *b, int64_t open_time, const char *close)
{
    const cp_host *h = tk_host();
    size_t r = h->batch_add_row(b);
    assert_int_equal(h->batch_set_string(b, r, CP_OHLCV_EXCHANGE, "binance", 7), CP_OK);
    h->batch_set_string(b, r, CP_OHLCV_SYMBOL, "BTC-USDT", 8);
    h->batch_set_string(b, r, CP_OHLCV_NATIVE_SYMBOL, "BTCUSDT", 7);
    h->batch_set_string(b, r, CP_OHLCV_INTERVAL, "1m", 2);
    h->batch_set_int(b, r, CP_OHLCV_OPEN_TIME, open_time);
    h->batch_set_int(b, r, CP_OHLCV_CLOSE_TIME, open_time + 59999);
    const char *p = "91234.56000000";
    for (int c = CP_OHLCV_OPEN; c <= CP_OHLCV_LOW; c++)
        h->batch_set_decimal(b, r, (size_t)c, p, strlen(p));
    assert_int_equal(h->batch_set_decimal(b, r, CP_OHLCV_CLOSE, close, strlen(close)), CP_OK);
    h->batch_set_decimal(b, r, CP_OHLCV_VOLUME, "12.345678901234567890123", 24);
    /* quote_volume stays NULL */
    h->batch_set_int(b, r, CP_OHLCV_TRADE_COUNT, 1234);
    h->batch_set_decimal(b, r, CP_OHLCV_TAKER_BUY_BASE_VOLUME, "0.00000001", 10);
    h->batch_set_decimal(b, r, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME, "1e-8", 4);
    h->batch_set_int(b, r, CP_OHLCV_RECEIVED_AT, open_time + 60500);
}

/* A batch of `n` consecutive candles from `t0`, closes "100.5", "101.5", ... */
static inline cp_batch *fx_candles(int64_t t0, size_t n)
{
    cp_batch *b = tk_batch_new(&cp_ohlcv_schema);
    for (size_t i = 0; i < n; i++) {
        char close[32];
        snprintf(close, sizeof close, "%zu.5", 100 + i);
        fx_add_candle(b, t0 + (int64_t)i * 60000, close);
    }
    return b;
}

#define FX_NOTE "a, \"quoted\"\nnote"

/* A stream "evo" with key "id" (text) and the first `ncols` of: note text, qty int, px dec. */
static const cp_field fx_evo_fields[] = {
    {"id", CP_T_STRING, CP_FIELD_KEY},
    {"note", CP_T_STRING, CP_FIELD_NULLABLE},
    {"qty", CP_T_INT64, CP_FIELD_NULLABLE},
    {"px", CP_T_DECIMAL, CP_FIELD_NULLABLE},
};

static inline cp_batch *fx_evo(size_t ncols, const char *id)
{
    cp_schema s = {.stream = "evo", .nfields = ncols, .fields = fx_evo_fields};
    cp_batch *b = tk_batch_new(&s);
    const cp_host *h = tk_host();
    size_t r = h->batch_add_row(b);
    h->batch_set_string(b, r, 0, id, strlen(id));
    if (ncols > 1)
        h->batch_set_string(b, r, 1, FX_NOTE, strlen(FX_NOTE));
    if (ncols > 2)
        h->batch_set_int(b, r, 2, 7);
    if (ncols > 3)
        h->batch_set_decimal(b, r, 3, "0.123456789012345678901", 23);
    return b;
}

/* The environment variable `name`; fails the test when it is not set. */
static inline const char *fx_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set: run under tests/services/run.sh (make test), which starts the test services", name);
    return v;
}

/* Output of a shell command (malloc'd, NUL-terminated); fails the test on a non-zero exit. */
static inline char *fx_sh(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 1 << 16, len = 0, n;
    char *out = malloc(cap);
    while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap)
            out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    if (pclose(f) != 0)
        fail_msg("command failed: %s", cmd);
    return out;
}

static inline size_t fx_count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Runs `fetch` with the path of a fresh temp file appended (a command that writes the file), and
 * returns the file's bytes (malloc'd, NUL-terminated, *len of them); the file is removed. */
static inline unsigned char *fx_fetch_file(const char *fetch, size_t *len)
{
    char path[] = "/tmp/coinpipe-obj-XXXXXX", cmd[2048];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s '%s' > /dev/null", fetch, path);
    free(fx_sh(cmd));
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *p = malloc(*len + 1);
    assert_int_equal(fread(p, 1, *len, f), *len);
    p[*len] = '\0';
    fclose(f);
    unlink(path);
    return p;
}

#endif
