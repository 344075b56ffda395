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

/* the faithful data set: values on the symbol's grid, written the way Binance writes them (8
 * digits after the point, e.g. "67000.01000000"); `units` counts 10^-8 */
static void set_u8(cp_batch *b, size_t r, size_t col, int64_t units)
{
    char t[48];
    snprintf(t, sizeof t, "%s%lld.%08lld", units < 0 ? "-" : "", (long long)(llabs(units) / 100000000),
             (long long)(llabs(units) % 100000000));
    bench_set(b, r, col, t);
}

/* x rounded to a multiple of q (both in 10^-8 units), at least one q */
static int64_t on_grid(double x, int64_t q)
{
    int64_t k = (int64_t)llround(x * 1e8 / (double)q);
    return (k < 1 ? 1 : k) * q;
}

/* A power of ten in 10^-8 units, 10^-8 .. 10^8. */
static int64_t pow10_units(int e)
{
    int64_t u = 1;
    for (e = e < -8 ? -8 : e > 8 ? 8 : e; e > -8; e--)
        u *= 10;
    return u;
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

/* The rows of one cycle. `grid` false: every decimal with 8 random digits after the point (the
 * data gen_mock.py serves); true: the same walk on each symbol's grid as Binance's exchangeInfo
 * sets it (PRICE_FILTER tickSize: 5 significant digits, at most 0.01; LOT_SIZE stepSize: the power
 * of ten at or below 1 / price; quote volumes on the grid of tickSize x stepSize): BTCUSDT's 0.01
 * and 0.00001, BNBUSDT's 0.01 and 0.001, DOGEUSDT's 0.00001 and 1. */
static chunks make_cycle(int nsym, bool grid)
{
    chunks c = {0};
    for (int i = 0; i < nsym; i++) {
        char sym[32], native[32];
        snprintf(native, sizeof native, "S%03dUSDT", i);
        snprintf(sym, sizeof sym, "S%03d-USDT", i);
        double p = 0.5 + (i * 7919 % 1000) * 1.37, base = p;
        int mag = (int)floor(log10(base));
        int64_t tick = pow10_units(mag - 4 < -2 ? mag - 4 : -2), step = pow10_units((int)floor(log10(1 / base)));
        int64_t quote_q = tick * step / 100000000 ? tick * step / 100000000 : 1;
        if (grid)
            p = (double)on_grid(p, tick) * 1e-8;
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
            if (grid) {
                int64_t uo = on_grid(o, tick), uc = on_grid(cl, tick), uh = on_grid(h, tick), ul = on_grid(lo, tick);
                uh = uh < (uo > uc ? uo : uc) ? (uo > uc ? uo : uc) : uh;
                ul = ul > (uo < uc ? uo : uc) ? (uo < uc ? uo : uc) : ul;
                int64_t uv = on_grid(v, step), utb = on_grid(tb, step);
                utb = utb > uv ? uv : utb;
                /* quote volumes: the base volume times a price between low and high (the trades' mean) */
                double vwap = ((double)ul + (double)(uh - ul) * uniform(0, 1)) * 1e-8;
                set_u8(b, r, CP_OHLCV_OPEN, uo);
                set_u8(b, r, CP_OHLCV_HIGH, uh);
                set_u8(b, r, CP_OHLCV_LOW, ul);
                set_u8(b, r, CP_OHLCV_CLOSE, uc);
                set_u8(b, r, CP_OHLCV_VOLUME, uv);
                set_u8(b, r, CP_OHLCV_QUOTE_VOLUME, on_grid((double)uv * 1e-8 * vwap, quote_q));
                set_u8(b, r, CP_OHLCV_TAKER_BUY_BASE_VOLUME, utb);
                set_u8(b, r, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME, on_grid((double)utb * 1e-8 * vwap, quote_q));
                cl = (double)uc * 1e-8;
            } else {
                set_d8(b, r, CP_OHLCV_OPEN, o);
                set_d8(b, r, CP_OHLCV_HIGH, h);
                set_d8(b, r, CP_OHLCV_LOW, lo);
                set_d8(b, r, CP_OHLCV_CLOSE, cl);
                set_d8(b, r, CP_OHLCV_VOLUME, v);
                set_d8(b, r, CP_OHLCV_QUOTE_VOLUME, v * o);
                set_d8(b, r, CP_OHLCV_TAKER_BUY_BASE_VOLUME, tb);
                set_d8(b, r, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME, tb * o);
            }
            core_batch_set_int(b, r, CP_OHLCV_TRADE_COUNT, (int64_t)uniform(10, 2000));
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
                    if (grid)
                        set_u8(b, r, f, on_grid(base * uniform(0.99, 1.01), tick));
                    else
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
    const char *dump; /* a directory to write the objects to (BENCH_OBJSTORE_DUMP), or NULL */
    const char *tag;
} counted;

static cp_status count_put(void *user, cp_ctx *ctx, const char *key, const char *data, size_t len,
                           const char *type)
{
    (void)ctx, (void)type;
    counted *c = user;
    c->bytes += len;
    c->objects++;
    if (c->dump) { /* for a look at the files: <dir>/<data>-<format>-<n>-<stream>.<ext> */
        const char *ext = strrchr(key, '.'), *stream = strchr(key, '/');
        char path[512];
        snprintf(path, sizeof path, "%s/%s-%zu-%.*s%s", c->dump, c->tag, c->objects,
                 stream ? (int)strcspn(stream + 1, "/") : 0, stream ? stream + 1 : "", ext ? ext : "");
        for (char *q = path + strlen(c->dump) + 1; *q; q++)
            if (*q == ' ')
                *q = '_';
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(data, 1, len, f);
            fclose(f);
        }
    }
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

/* the formats timed; [0] is the target's Parquet, [GZ] gzipped CSV */
static const struct fmt {
    const char *name, *format, *compression;
    bool gzip;
    int scale, precision;
} fmts[] = {
    {"parquet zstd", "parquet", "zstd", false, 18, 38},
    {"parquet snappy", "parquet", "snappy", false, 18, 38},
    {"parquet none", "parquet", "none", false, 18, 38},
    {"csv gzip", "csv", "zstd", true, 18, 38},
    {"csv", "csv", "zstd", false, 18, 38},
    {"parquet zstd s8", "parquet", "zstd", false, 8, 38},
    {"parquet zstd p18", "parquet", "zstd", false, 8, 18},
};
enum { NF = sizeof fmts / sizeof fmts[0], GZ = 3 };

/* Times every format (or `only`) over `rounds` rounds of the cycle's batches and prints a table. */
static int run(cp_ctx *ctx, const chunks *cyc, const char *data, int nsym, int rounds, const char *only)
{
    double rps[NF][100] = {{0}}, cps[NF][100] = {{0}};
    counted last[NF] = {{0}};
    for (int round = 0; round < rounds; round++) {
        for (size_t f = 0; f < NF; f++) {
            size_t k = (f + (size_t)round) % NF; /* rotate the order between rounds */
            if (only && strcmp(only, fmts[k].name))
                continue;
            cp_obj_config cfg = {.prefix = "crypto/tabular", .format = (char *)fmts[k].format,
                                 .gzip = fmts[k].gzip, .compression = (char *)fmts[k].compression,
                                 .row_group_rows = 20000, .decimal_scale = fmts[k].scale,
                                 .decimal_precision = fmts[k].precision, .max_rows = 100000000,
                                 .max_bytes = 4294967296LL, .flush_interval = 300000};
            cp_obj o;
            char tag[64];
            snprintf(tag, sizeof tag, "%s-%s", data, fmts[k].name);
            counted cnt = {.dump = round == rounds - 1 ? getenv("BENCH_OBJSTORE_DUMP") : NULL, .tag = tag};
            if (cp_obj_init(&o, ctx, &cfg, "bench") != CP_OK)
                return 1;
            double t0 = bench_now(), c0 = cpu_now();
            for (size_t b = 0; b < cyc->n; b++)
                if (cp_obj_write(&o, ctx, cyc->v[b], count_put, &cnt) == CP_ERR_NOMEM)
                    return 1;
            if (cp_obj_upload_all(&o, ctx, count_put, &cnt) != CP_OK)
                return 1;
            double t1 = bench_now(), c1 = cpu_now();
            cp_obj_free(&o);
            rps[k][round] = (double)cyc->rows / (t1 - t0);
            cps[k][round] = (double)cyc->rows / (c1 - c0);
            last[k] = cnt;
        }
    }
    printf("N = %d cycle, %s data: %zu rows in %zu batches (ohlcv, ticker, book_top, spread), %d rounds, "
           "median:\n", nsym, data, cyc->rows, cyc->n, rounds);
    printf("%-17s %12s %14s %11s %9s\n", "format", "rows/s", "rows/CPU-s", "bytes/row", "objects");
    double gz_bpr = (double)last[GZ].bytes / (double)cyc->rows;
    for (size_t k = 0; k < NF; k++) {
        if (only && strcmp(only, fmts[k].name))
            continue;
        qsort(rps[k], (size_t)rounds, sizeof(double), cmp_double);
        qsort(cps[k], (size_t)rounds, sizeof(double), cmp_double);
        double bpr = (double)last[k].bytes / (double)cyc->rows;
        printf("%-17s %12.0f %14.0f %11.2f %9zu\n", fmts[k].name, rps[k][rounds / 2], cps[k][rounds / 2], bpr,
               last[k].objects);
    }
    if (only)
        return 0;
    for (size_t k = 0; k < NF; k++) {
        if (strncmp(fmts[k].name, "parquet zstd", 12))
            continue;
        double bpr = (double)last[k].bytes / (double)cyc->rows;
        printf("%s data, %s: %.0f rows/CPU-s (target >= 1,000,000: %s), %.3f x the bytes per row of gzipped CSV "
               "(target <= 0.333: %s)\n",
               data, fmts[k].name, cps[k][rounds / 2], cps[k][rounds / 2] >= 1e6 ? "met" : "MISSED", bpr / gz_bpr,
               bpr / gz_bpr <= 1.0 / 3 ? "met" : "MISSED");
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5, nsym = argc > 2 ? atoi(argv[2]) : 200;
    const char *only = argc > 3 ? argv[3] : NULL, *which = argc > 4 ? argv[4] : NULL;
    if (rounds < 1 || rounds > 100 || nsym < 1 || nsym > 5000) {
        fprintf(stderr, "usage: bench_objstore [ROUNDS 1-100] [SYMBOLS 1-5000] [FORMAT|all] [random|grid]\n");
        return 2;
    }
    if (only && !strcmp(only, "all"))
        only = NULL;
    /* a loaded sink gives the core's context (the host table the objstore code reads batches with) */
    bench_plugin bp;
    bench_plugin_open_text(&bp, "s3-csv", "s3_csv",
                           "bucket = \"bench\"; endpoint = \"http://127.0.0.1:9\"; access_key_id = \"x\"; "
                           "secret_access_key = \"y\";");
    cp_ctx *ctx = &bp.in.ctx.pub;
    int rc = 0;
    for (int g = 0; g < 2 && rc == 0; g++) {
        const char *data = g ? "grid" : "random";
        if (which && strcmp(which, data))
            continue;
        g_rng = 88172645463325252ull; /* both data sets from the same draws */
        chunks cyc = make_cycle(nsym, g);
        if (g && !which)
            printf("\n");
        rc = run(ctx, &cyc, data, nsym, rounds, only);
        for (size_t b = 0; b < cyc.n; b++)
            core_batch_unref(cyc.v[b]);
        free(cyc.v);
    }
    bench_plugin_close(&bp);
    return rc;
}
