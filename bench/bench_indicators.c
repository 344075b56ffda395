/* Benchmark of the indicators transform: candle-updates per second for the default indicator set.
 * SPDX-License-Identifier: MIT
 *
 * Usage: bench_indicators [candles]   (default 2000000; not run by ctest)
 * Prints one line per scenario: the math alone (ta_update on one series, and round-robin
 * over 1000 series so the state is not always in L1), then the whole plugin loaded through
 * the core (process(): reading the ohlcv batch, sorting, the math, building and emitting the
 * indicator batch, saving the state): backfill-like batches of 1000 candles of one series,
 * and live-like batches with one new candle for each of 100 series (100 fsync'd state
 * writes per batch: the state store's cost shows).
 */
#include "bench_transforms.h"
#include "ta.h"

#include "core/batch.h"

#include <coinpipe/streams.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct candle {
    double high, low, close;
} candle;

/* A deterministic random walk around 43000 with 2-decimal prices. */
static candle *make_candles(size_t n)
{
    candle *c = malloc(n * sizeof *c);
    if (!c)
        return NULL;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    double close = 43000;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0 - 0.5;
        double o = close;
        close = round(o * (1 + u * 0.004) * 100) / 100;
        c[i].close = close;
        c[i].high = fmax(o, close) + 5;
        c[i].low = fmin(o, close) - 5;
    }
    return c;
}

static void report(const char *what, size_t updates, double secs, double checksum)
{
    printf("%-56s %12.0f candle-updates/s  (%zu in %.3f s, checksum %.6g)\n", what, (double)updates / secs, updates,
           secs, checksum);
}

/* An ohlcv batch of candles [from, from + n) of series `series`, each candle's open_time = index. */
static cp_batch *ohlcv_batch(const candle *c, size_t from, size_t n, int nseries)
{
    cp_batch *b = core_batch_new(&cp_ohlcv_schema, n * (size_t)nseries);
    char txt[64];
    for (size_t i = from; i < from + n; i++)
        for (int s = 0; s < nseries; s++) {
            size_t r = core_batch_add_row(b);
            snprintf(txt, sizeof txt, "SYM%d-USDT", s);
            bench_set(b, r, CP_OHLCV_EXCHANGE, "binance");
            bench_set(b, r, CP_OHLCV_SYMBOL, txt);
            bench_set(b, r, CP_OHLCV_INTERVAL, "1m");
            core_batch_set_int(b, r, CP_OHLCV_OPEN_TIME, (int64_t)i * 60000);
            core_batch_set_int(b, r, CP_OHLCV_CLOSE_TIME, (int64_t)i * 60000 + 59999);
            snprintf(txt, sizeof txt, "%.2f", c[i].close);
            bench_set(b, r, CP_OHLCV_OPEN, txt);
            bench_set(b, r, CP_OHLCV_CLOSE, txt);
            snprintf(txt, sizeof txt, "%.2f", c[i].high);
            bench_set(b, r, CP_OHLCV_HIGH, txt);
            snprintf(txt, sizeof txt, "%.2f", c[i].low);
            bench_set(b, r, CP_OHLCV_LOW, txt);
        }
    return b;
}

/* Feeds nbatches batches of per_batch candles x nseries series through the plugin. */
static void run_plugin(const char *what, const candle *c, size_t nbatches, size_t per_batch, int nseries)
{
    bench_plugin bp;
    bench_plugin_open(&bp, "indicators");
    cp_batch **in = malloc(nbatches * sizeof *in);
    for (size_t k = 0; k < nbatches; k++)
        in[k] = ohlcv_batch(c, k * per_batch, per_batch, nseries);
    double t0 = bench_now();
    for (size_t k = 0; k < nbatches; k++)
        bench_plugin_process(&bp, in[k]);
    double secs = bench_now() - t0;
    size_t updates = nbatches * per_batch * (size_t)nseries;
    if (bp.rows_out != updates)
        fprintf(stderr, "%s: %zu rows out for %zu candles in\n", what, bp.rows_out, updates);
    report(what, updates, secs, (double)bp.rows_out);
    for (size_t k = 0; k < nbatches; k++)
        core_batch_unref(in[k]);
    free(in);
    bench_plugin_close(&bp);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    candle *c = make_candles(n);
    ta_config cfg;
    ta_config_default(&cfg);
    ta_engine e;
    char err[256];
    if (!c || ta_engine_init(&e, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "setup failed: %s\n", c ? err : "out of memory");
        return 1;
    }
    double out[TA_MAX_COLS], sum = 0;

    /* one series */
    ta_series *s = ta_series_new(&e);
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        ta_update(&e, s, c[i].high, c[i].low, c[i].close, out);
        sum += isnan(out[0]) ? 0 : out[0];
    }
    report("ta_update, default set (22 columns), 1 series", n, bench_now() - t0, sum);
    free(s);

    /* 1000 series round-robin */
    enum { NS = 1000 };
    ta_series **ss = calloc(NS, sizeof *ss);
    for (size_t k = 0; k < NS; k++)
        ss[k] = ta_series_new(&e);
    sum = 0;
    t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        ta_update(&e, ss[i % NS], c[i].high, c[i].low, c[i].close, out);
        sum += isnan(out[0]) ? 0 : out[0];
    }
    report("ta_update, default set, 1000 series round-robin", n, bench_now() - t0, sum);
    for (size_t k = 0; k < NS; k++)
        free(ss[k]);
    free(ss);

    size_t nb = n / 1000 < 200 ? n / 1000 : 200;
    run_plugin("plugin process(), 1000 candles x 1 series per batch", c, nb, 1000, 1);
    run_plugin("plugin process(), 1 candle x 100 series per batch", c, 50, 1, 100);
    free(c);
    return 0;
}
