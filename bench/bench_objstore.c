/* Object-store serialisation benchmark (issue 19): the rows of one N = 200 cycle rendered as
 * Parquet and as gzipped CSV by the object-store sinks' own code, rows/s and bytes per row.
 * SPDX-License-Identifier: MIT
 *
 * Usage: bench_objstore [ROUNDS] [SYMBOLS] [FORMAT]   (run by bench/run.py, i.e. `make bench`;
 * FORMAT, e.g. "parquet zstd", times that one only, for a profiler)
 * The cycle of bench/README.md: per symbol 500 closed 1m candles (ohlcv), a ticker, a book_top and
 * a spread row: 100,600 rows at N = 200, values drawn the way bench/gen_mock.py draws them (prices
 * around 0.5 + (i * 7919 % 1000) * 1.37 moving up to ±0.2 % a minute, 8 decimals, volumes 1-500).
 * The batches (4096 rows each, as the source emits them) are built first; what is timed is the
 * sinks' path from write() to the finished objects: plugins/sinks/common/objstore.c buffering
 * and rendering (Parquet encoding, or CSV text and gzip) and the key's SHA-256, with an upload
 * function that only counts the bytes. The median of ROUNDS rounds (default 5) is printed.
 */
#include "bench_transforms.h"

#include "../plugins/sinks/common/objstore.h"

#include <coinpipe/streams.h>

#include <math.h>

#define CANDLES 500
#define CHUNK 4096
#define T_END 1767225600000LL /* 2026-01-01T00:00:00Z */
#define MIN 60000LL

/* a small deterministic generator (xorshift64*) standing in for gen_mock.py's random.Random */
static uint64_t g_rng = 88172645463325252ull;
static double uniform(double lo, double hi)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return lo + (hi - lo) * (double)((g_rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void set_d8(cp_batch *b, size_t r, size_t col, double x)
{
    char t[48];
    snprintf(t, sizeof t, "%.8f", x);
    bench_set(b, r, col, t);
}

typedef struct chunks {
    cp_batch **v;
    size_t n, cap, rows;
    cp_batch *cur[4]; /* the batch being filled per stream */
} chunks;

/* the batch of stream `which` (schema s) with room for a row: chunks of CHUNK rows */
static cp_batch *room(chunks *c, int which, const cp_schema *s)
{
    cp_batch *last = c->cur[which];
    if (last && core_batch_rows(last) < CHUNK)
        return last;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
    }
    return c->cur[which] = c->v[c->n++] = core_batch_new(s, CHUNK);
}

static chunks make_cycle(int nsym)
{
    chunks c = {0};
    for (int i = 0; i < nsym; i++) {
        char sym[32], native[32];
        snprintf(native, sizeof native, "S%03dUSDT", i);
        snprintf(sym, sizeof sym, "S%03d-USDT", i);
        double p = 0.5 + (i * 7919 % 1000) * 1.37, base = p;
        for (int k = 0; k < CANDLES; k++) {
            cp_batch *b = room(&c, 0, &cp_ohlcv_schema);
            size_t r = core_batch_add_row(b);
            int64_t t = T_END - (int64_t)(CANDLES - k) * MIN;
            double o = p, cl = fmax(0.0001, o * (1 + uniform(-0.002, 0.002)));
            double h = fmax(o, cl) * (1 + uniform(0, 0.001)), lo = fmin(o, cl) * (1 - uniform(0, 0.001));
            double v = uniform(1, 500), tb = v * uniform(0.3, 0.7);
            bench_set(b, r, CP_OHLCV_EXCHANGE, "binance");
            bench_set(b, r, CP_OHLCV_SYMBOL, sym);
            bench_set(b, r, CP_OHLCV_NATIVE_SYMBOL, native);
            bench_set(b, r, CP_OHLCV_INTERVAL, "1m");
            core_batch_set_int(b, r, CP_OHLCV_OPEN_TIME, t);
            core_batch_set_int(b, r, CP_OHLCV_CLOSE_TIME, t + MIN - 1);
            set_d8(b, r, CP_OHLCV_OPEN, o);
            set_d8(b, r, CP_OHLCV_HIGH, h);
            set_d8(b, r, CP_OHLCV_LOW, lo);
            set_d8(b, r, CP_OHLCV_CLOSE, cl);
            set_d8(b, r, CP_OHLCV_VOLUME, v);
            set_d8(b, r, CP_OHLCV_QUOTE_VOLUME, v * o);
            core_batch_set_int(b, r, CP_OHLCV_TRADE_COUNT, (int64_t)uniform(10, 2000));
            set_d8(b, r, CP_OHLCV_TAKER_BUY_BASE_VOLUME, tb);
            set_d8(b, r, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME, tb * o);
            core_batch_set_int(b, r, CP_OHLCV_RECEIVED_AT, T_END + 250);
            p = cl;
            c.rows++;
        }
        /* one row of each snapshot stream: every decimal a price or size near the symbol's */
        const cp_schema *snap[] = {&cp_ticker_schema, &cp_book_top_schema, &cp_spread_schema};
        for (size_t s = 0; s < 3; s++) {
            cp_batch *b = room(&c, 1 + (int)s, snap[s]);
            size_t r = core_batch_add_row(b);
            for (size_t f = 0; f < snap[s]->nfields; f++) {
                const cp_field *fd = &snap[s]->fields[f];
                switch (fd->type) {
                case CP_T_STRING:
                    bench_set(b, r, f, f == 0 ? "binance" : f == 1 ? sym : native);
                    break;
                case CP_T_DECIMAL:
                    set_d8(b, r, f, base * uniform(0.99, 1.01));
                    break;
                case CP_T_DOUBLE:
                    core_batch_set_double(b, r, f, base * uniform(0, 0.001));
                    break;
                case CP_T_TIMESTAMP:
                    core_batch_set_int(b, r, f, T_END + 250);
                    break;
                default:
                    core_batch_set_int(b, r, f, (int64_t)uniform(0, 1e6));
                    break;
                }
            }
            c.rows++;
        }
    }
    return c;
}

typedef struct counted {
    size_t bytes, objects;
} counted;

static cp_status count_put(void *user, cp_ctx *ctx, const char *key, const char *data, size_t len,
                           const char *type)
{
    (void)ctx, (void)key, (void)data, (void)type;
    counted *c = user;
    c->bytes += len;
    c->objects++;
    return CP_OK;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5, nsym = argc > 2 ? atoi(argv[2]) : 200;
    const char *only = argc > 3 ? argv[3] : NULL;
    if (rounds < 1 || rounds > 100 || nsym < 1 || nsym > 5000) {
        fprintf(stderr, "usage: bench_objstore [ROUNDS 1-100] [SYMBOLS 1-5000]\n");
        return 2;
    }
    chunks cyc = make_cycle(nsym);
    /* a loaded sink gives the core's context (the host table the objstore code reads batches with) */
    bench_plugin bp;
    bench_plugin_open_text(&bp, "s3-csv", "s3_csv",
                           "bucket = \"bench\"; endpoint = \"http://127.0.0.1:9\"; access_key_id = \"x\"; "
                           "secret_access_key = \"y\";");
    cp_ctx *ctx = &bp.in.ctx.pub;
    static const struct {
        const char *name, *format, *compression;
        bool gzip;
        int scale;
    } fmts[] = {
        {"parquet zstd", "parquet", "zstd", false, 18},      {"parquet snappy", "parquet", "snappy", false, 18},
        {"parquet none", "parquet", "none", false, 18},      {"csv gzip", "csv", "zstd", true, 18},
        {"csv", "csv", "zstd", false, 18},                   {"parquet zstd s8", "parquet", "zstd", false, 8},
    };
    enum { NF = sizeof fmts / sizeof fmts[0] };
    double rps[NF][100] = {{0}}, cps[NF][100] = {{0}};
    counted last[NF] = {{0}};
    for (int round = 0; round < rounds; round++) {
        for (size_t f = 0; f < NF; f++) {
            size_t k = (f + (size_t)round) % NF; /* rotate the order between rounds */
            if (only && strcmp(only, fmts[k].name))
                continue;
            cp_obj_config cfg = {.prefix = "crypto/tabular", .format = (char *)fmts[k].format,
                                 .gzip = fmts[k].gzip, .compression = (char *)fmts[k].compression,
                                 .row_group_rows = 20000, .decimal_scale = fmts[k].scale, .max_rows = 100000000,
                                 .max_bytes = 4294967296LL, .flush_interval = 300000};
            cp_obj o;
            counted cnt = {0};
            if (cp_obj_init(&o, ctx, &cfg, "bench") != CP_OK)
                return 1;
            double t0 = bench_now(), c0 = cpu_now();
            for (size_t b = 0; b < cyc.n; b++)
                if (cp_obj_write(&o, ctx, cyc.v[b], count_put, &cnt) == CP_ERR_NOMEM)
                    return 1;
            if (cp_obj_upload_all(&o, ctx, count_put, &cnt) != CP_OK)
                return 1;
            double t1 = bench_now(), c1 = cpu_now();
            cp_obj_free(&o);
            rps[k][round] = (double)cyc.rows / (t1 - t0);
            cps[k][round] = (double)cyc.rows / (c1 - c0);
            last[k] = cnt;
        }
    }
    printf("N = %d cycle: %zu rows in %zu batches (ohlcv, ticker, book_top, spread), %d rounds, median:\n", nsym,
           cyc.rows, cyc.n, rounds);
    printf("%-15s %12s %14s %11s %9s\n", "format", "rows/s", "rows/CPU-s", "bytes/row", "objects");
    double gz_bpr = (double)last[3].bytes / (double)cyc.rows;
    for (size_t k = 0; k < NF; k++) {
        qsort(rps[k], (size_t)rounds, sizeof(double), cmp_double);
        qsort(cps[k], (size_t)rounds, sizeof(double), cmp_double);
        double bpr = (double)last[k].bytes / (double)cyc.rows;
        printf("%-15s %12.0f %14.0f %11.2f %9zu\n", fmts[k].name, rps[k][rounds / 2], cps[k][rounds / 2], bpr,
               last[k].objects);
    }
    double pq_bpr = (double)last[0].bytes / (double)cyc.rows;
    printf("parquet zstd: %.0f rows/s (target >= 1,000,000: %s), %.3f x the bytes per row of gzipped CSV "
           "(target <= 0.333: %s)\n",
           rps[0][rounds / 2], rps[0][rounds / 2] >= 1e6 ? "met" : "MISSED", pq_bpr / gz_bpr,
           pq_bpr / gz_bpr <= 1.0 / 3 ? "met" : "MISSED");
    for (size_t b = 0; b < cyc.n; b++)
        core_batch_unref(cyc.v[b]);
    free(cyc.v);
    bench_plugin_close(&bp);
    return 0;
}
