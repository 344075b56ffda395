/* Benchmark of the indicators transform: candle-updates per second for the default indicator set.
 * SPDX-License-Identifier: MIT
 *
 * Usage: bench_indicators [candles]   (default 2000000; not run by ctest)
 * Prints one line per scenario: the math alone (ta_update on one series, and round-robin
 * over 1000 series so the state is not always in L1).
 */
#define _GNU_SOURCE
#include "ta.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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
    printf("%-48s %12.0f candle-updates/s  (%zu in %.3f s, checksum %.6g)\n", what, (double)updates / secs, updates,
           secs, checksum);
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
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        ta_update(&e, s, c[i].high, c[i].low, c[i].close, out);
        sum += isnan(out[0]) ? 0 : out[0];
    }
    report("ta_update, default set (22 columns), 1 series", n, now_s() - t0, sum);
    free(s);

    /* 1000 series round-robin */
    enum { NS = 1000 };
    ta_series **ss = calloc(NS, sizeof *ss);
    for (size_t k = 0; k < NS; k++)
        ss[k] = ta_series_new(&e);
    sum = 0;
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        ta_update(&e, ss[i % NS], c[i].high, c[i].low, c[i].close, out);
        sum += isnan(out[0]) ? 0 : out[0];
    }
    report("ta_update, default set, 1000 series round-robin", n, now_s() - t0, sum);
    for (size_t k = 0; k < NS; k++)
        free(ss[k]);
    free(ss);
    free(c);
    return 0;
}
