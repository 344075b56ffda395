/* Sink benchmark: rows per second of 1 million ohlcv rows into sqlite, postgresql and s3-csv.
 * SPDX-License-Identifier: MIT
 *
 * Usage: bench_sinks [sqlite|postgresql|s3-csv|all] [ROWS]
 * PostgreSQL needs COINPIPE_TEST_PG, S3 COINPIPE_TEST_S3_ENDPOINT/_BUCKET and AWS_* credentials:
 * run it under tests/services/run.sh to get throw-away servers, e.g.
 *   tests/services/run.sh build/bench/bench_sinks all
 * Batches of 1000 rows are built first; only the sink's write()/flush() calls are timed. For
 * s3-csv, "serialised" is the CSV encoding into its buffers, "uploaded" adds the PUTs.
 */
#include "bench_transforms.h"

#include <coinpipe/streams.h>

#include <unistd.h>

#define BATCH_ROWS 1000

static cp_batch **make_batches(size_t rows, size_t *nb)
{
    *nb = (rows + BATCH_ROWS - 1) / BATCH_ROWS;
    cp_batch **v = calloc(*nb, sizeof *v);
    const int64_t t0 = 1735689600000LL; /* 2025-01-01 */
    for (size_t b = 0; b < *nb; b++) {
        v[b] = core_batch_new(&cp_ohlcv_schema, BATCH_ROWS);
        for (size_t i = 0; i < BATCH_ROWS && b * BATCH_ROWS + i < rows; i++) {
            size_t k = b * BATCH_ROWS + i, r = core_batch_add_row(v[b]);
            char px[32], vol[32];
            snprintf(px, sizeof px, "%zu.%02zu000000", 90000 + k % 5000, k % 100);
            snprintf(vol, sizeof vol, "%zu.%08zu", k % 97, k % 99999999);
            bench_set(v[b], r, CP_OHLCV_EXCHANGE, "binance");
            bench_set(v[b], r, CP_OHLCV_SYMBOL, "BTC-USDT");
            bench_set(v[b], r, CP_OHLCV_NATIVE_SYMBOL, "BTCUSDT");
            bench_set(v[b], r, CP_OHLCV_INTERVAL, "1m");
            core_batch_set_int(v[b], r, CP_OHLCV_OPEN_TIME, t0 + (int64_t)k * 60000);
            core_batch_set_int(v[b], r, CP_OHLCV_CLOSE_TIME, t0 + (int64_t)k * 60000 + 59999);
            for (size_t c = CP_OHLCV_OPEN; c <= CP_OHLCV_CLOSE; c++)
                bench_set(v[b], r, c, px);
            bench_set(v[b], r, CP_OHLCV_VOLUME, vol);
            bench_set(v[b], r, CP_OHLCV_QUOTE_VOLUME, vol);
            core_batch_set_int(v[b], r, CP_OHLCV_TRADE_COUNT, (int64_t)(k % 3000));
            bench_set(v[b], r, CP_OHLCV_TAKER_BUY_BASE_VOLUME, vol);
            bench_set(v[b], r, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME, vol);
            core_batch_set_int(v[b], r, CP_OHLCV_RECEIVED_AT, t0 + (int64_t)k * 60000 + 60250);
        }
    }
    return v;
}

/* like bench_plugin_open, with the options given as libconfig text */
static void open_sink(bench_plugin *bp, const char *name, const char *file, const char *config_text)
{
    memset(bp, 0, sizeof *bp);
    core_log_setup(CP_LOG_WARN, CORE_LOG_LOGFMT);
    core_loader_init();
    char path[1024], err[512];
    const char *dir = getenv("COINPIPE_BUILD_PLUGIN_DIR") ? getenv("COINPIPE_BUILD_PLUGIN_DIR") : BENCH_PLUGIN_DIR;
    snprintf(path, sizeof path, "%s/%s.so", dir, file);
    bp->p = core_loader_open_file(path, err, sizeof err);
    if (!bp->p) {
        fprintf(stderr, "cannot load %s: %s\n", path, err);
        exit(1);
    }
    config_t c;
    config_init(&c);
    if (config_read_string(&c, config_text) != CONFIG_TRUE) {
        fprintf(stderr, "bad config text for %s: %s\n", name, config_error_text(&c));
        exit(1);
    }
    bp->cfg = calloc(1, bp->p->desc.config_size);
    core_errors errs = {0};
    core_options_fill(bp->p->desc.options, config_root_setting(&c), bp->cfg, NULL, name, &errs);
    config_destroy(&c);
    snprintf(bp->state_dir, sizeof bp->state_dir, "%s/coinpipe-bench-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (errs.n || !mkdtemp(bp->state_dir)) {
        core_errors_print(&errs, stderr);
        exit(1);
    }
    core_ctx_init(&bp->ctx, "bench", CP_SINK, bp->p->name, name);
    bp->ctx.state = core_state_open(bp->state_dir, "bench", name);
    if (bp->p->desc.create(&bp->ctx.pub, bp->cfg, &bp->inst) != CP_OK) {
        fprintf(stderr, "cannot create %s\n", name);
        exit(1);
    }
}

static void must(cp_status st, cp_status also, const char *what)
{
    if (st != CP_OK && st != also) {
        fprintf(stderr, "%s: %s\n", what, cp_strerror(st));
        exit(1);
    }
}

static void run(const char *name, const char *file, const char *cfg, cp_batch **v, size_t nb, size_t rows)
{
    bench_plugin bp;
    open_sink(&bp, name, file, cfg);
    const cp_plugin *d = &bp.p->desc;
    double t0 = bench_now();
    for (size_t b = 0; b < nb; b++)
        must(d->write(bp.inst, &bp.ctx.pub, v[b]), CP_PENDING, "write");
    double t1 = bench_now();
    if (d->flush)
        must(d->flush(bp.inst, &bp.ctx.pub, CP_FLUSH_FORCE), CP_OK, "flush");
    double t2 = bench_now();
    if (d->flush)
        printf("%-10s %8zu rows  serialised %9.0f rows/s  uploaded %9.0f rows/s  (%.2f s + %.2f s)\n", name, rows,
               rows / (t1 - t0), rows / (t2 - t0), t1 - t0, t2 - t1);
    else
        printf("%-10s %8zu rows  %9.0f rows/s  (%.2f s)\n", name, rows, rows / (t2 - t0), t2 - t0);
    fflush(stdout);
    bench_plugin_close(&bp);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    size_t rows = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    size_t nb;
    cp_batch **v = make_batches(rows, &nb);
    char cfg[2048];
    bool all = !strcmp(which, "all");
    if (all || !strcmp(which, "sqlite")) {
        char dir[] = "/tmp/coinpipe-bench-sqlite-XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        snprintf(cfg, sizeof cfg, "path = \"%s/bench.db\";", dir);
        run("sqlite", "sqlite", cfg, v, nb, rows);
        snprintf(cfg, sizeof cfg, "rm -rf '%s'", dir);
        if (system(cfg) != 0)
            return 1;
    }
    if (all || !strcmp(which, "postgresql")) {
        const char *pg = getenv("COINPIPE_TEST_PG");
        if (!pg) {
            printf("postgresql skipped: COINPIPE_TEST_PG is not set (run under tests/services/run.sh)\n");
        } else {
            snprintf(cfg, sizeof cfg, "conninfo = \"%s\"; table_prefix = \"bench%ld_\";", pg, (long)getpid());
            run("postgresql", "postgresql", cfg, v, nb, rows);
        }
    }
    if (all || !strcmp(which, "s3-csv")) {
        const char *ep = getenv("COINPIPE_TEST_S3_ENDPOINT"), *bucket = getenv("COINPIPE_TEST_S3_BUCKET");
        if (!ep || !bucket) {
            printf("s3-csv skipped: COINPIPE_TEST_S3_ENDPOINT/_BUCKET are not set (run under tests/services/run.sh)\n");
        } else {
            snprintf(cfg, sizeof cfg,
                     "bucket = \"%s\"; endpoint = \"%s\"; prefix = \"bench-%ld\"; max_rows = 100000000; "
                     "max_bytes = \"2G\";",
                     bucket, ep, (long)getpid());
            run("s3-csv", "s3_csv", cfg, v, nb, rows);
        }
    }
    for (size_t b = 0; b < nb; b++)
        core_batch_unref(v[b]);
    free(v);
    return 0;
}
