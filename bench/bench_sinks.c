/* Sink benchmark: rows per second of 1 million ohlcv rows into sqlite, postgresql and s3-csv.
 * SPDX-License-Identifier: MIT
 *
 * Usage: bench_sinks [sqlite|postgresql|s3-csv|all|replay] [ROWS]
 * PostgreSQL needs COINPIPE_TEST_PG, S3 COINPIPE_TEST_S3_ENDPOINT/_BUCKET and AWS_* credentials:
 * run it under tests/services/run.sh to get throw-away servers, e.g.
 *   tests/services/run.sh build/bench/bench_sinks all
 * Batches of 1000 rows are built first; only the sink's write()/flush() calls are timed. For
 * s3-csv, "serialised" is the CSV encoding into its buffers, "uploaded" adds the PUTs.
 * "cpu" is this process's user+sys time over the timed part (the sink's own work); for
 * PostgreSQL "server" is the CPU time of the server's processes meanwhile, read from /proc
 * when COINPIPE_TEST_PG_PIDFILE names the postmaster (tests/services/run.sh sets it), then both
 * per row (client + server) and the load average, since walls on a busy machine say little.
 * "replay" (not part of "all") times writing the same batches a second time into SQLite and
 * PostgreSQL: re-delivery, e.g. a spool replayed after an outage, where every key exists.
 */
#include "bench_transforms.h"

#include "core/batch.h"

#include <coinpipe/streams.h>

#include <dirent.h>
#include <sys/resource.h>
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

static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* CPU seconds of the PostgreSQL server: the postmaster (with its reaped children) and its
 * live children; -1 when unknown */
static double cpu_pg_server(void)
{
    const char *pidfile = getenv("COINPIPE_TEST_PG_PIDFILE");
    FILE *f = pidfile ? fopen(pidfile, "r") : NULL;
    long pm = 0;
    if (!f || fscanf(f, "%ld", &pm) != 1)
        pm = 0;
    if (f)
        fclose(f);
    DIR *d = pm ? opendir("/proc") : NULL;
    if (!d)
        return -1;
    unsigned long long ticks = 0;
    for (struct dirent *e; (e = readdir(d));) {
        long pid = strtol(e->d_name, NULL, 10);
        char path[64], line[1024];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *st = pid > 0 ? fopen(path, "r") : NULL;
        if (!st)
            continue;
        char *paren = fgets(line, sizeof line, st) ? strrchr(line, ')') : NULL;
        fclose(st);
        long ppid = 0;
        unsigned long long ut = 0, stime = 0;
        long long cut = 0, cst = 0;
        /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime stime cutime cstime */
        if (!paren || sscanf(paren + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ppid, &ut,
                             &stime, &cut, &cst) != 5)
            continue;
        if (ppid == pm)
            ticks += ut + stime;
        else if (pid == pm)
            ticks += ut + stime + (unsigned long long)cut + (unsigned long long)cst;
    }
    closedir(d);
    return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* the 1-minute load average: the machine's other work, which wall times depend on */
static double load_average(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &l) != 1)
        l = -1;
    if (f)
        fclose(f);
    return l;
}

static void must(cp_status st, cp_status also, const char *what)
{
    if (st != CP_OK && st != also) {
        fprintf(stderr, "%s: %s\n", what, cp_strerror(st));
        exit(1);
    }
}

static void run(const char *name, const char *file, const char *cfg, cp_batch **v, size_t nb, size_t rows,
                bool replay)
{
    bench_plugin bp;
    bench_plugin_open_text(&bp, name, file, cfg);
    const cp_plugin *d = &bp.p->desc;
    for (size_t b = 0; replay && b < nb; b++) /* first delivery, untimed */
        must(d->write(bp.in.data, &bp.in.ctx.pub, v[b]), CP_PENDING, "write");
    bool pg = !strcmp(file, "postgresql");
    double srv0 = pg ? cpu_pg_server() : -1, c0 = cpu_self();
    double t0 = bench_now();
    for (size_t b = 0; b < nb; b++)
        must(d->write(bp.in.data, &bp.in.ctx.pub, v[b]), CP_PENDING, "write");
    double t1 = bench_now();
    if (d->flush)
        must(d->flush(bp.in.data, &bp.in.ctx.pub, CP_FLUSH_FORCE), CP_OK, "flush");
    double t2 = bench_now();
    double cpu = cpu_self() - c0, srv = srv0 >= 0 ? cpu_pg_server() - srv0 : -1;
    char server[96] = "";
    if (srv >= 0) /* per row too: the server's CPU is what bounds rows/s on an idle machine */
        snprintf(server, sizeof server, ", server %.2f s; %.2f + %.2f us/row; load %.1f", srv, cpu * 1e6 / (double)rows,
                 srv * 1e6 / (double)rows, load_average());
    if (d->flush)
        printf("%-10s %8zu rows  serialised %9.0f rows/s  uploaded %9.0f rows/s  (%.2f s + %.2f s; cpu %.2f s)\n",
               name, rows, rows / (t1 - t0), rows / (t2 - t0), t1 - t0, t2 - t1, cpu);
    else
        printf("%-10s %8zu rows  %9.0f rows/s  (%.2f s; cpu %.2f s%s)\n", name, rows, rows / (t2 - t0), t2 - t0, cpu,
               server);
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
    bool replay = !strcmp(which, "replay");
    bool all = !strcmp(which, "all");
    if (all || replay || !strcmp(which, "sqlite")) {
        char dir[] = "/tmp/coinpipe-bench-sqlite-XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        snprintf(cfg, sizeof cfg, "path = \"%s/bench.db\";", dir);
        run(replay ? "sqlite again" : "sqlite", "sqlite", cfg, v, nb, rows, replay);
        snprintf(cfg, sizeof cfg, "rm -rf '%s'", dir);
        if (system(cfg) != 0)
            return 1;
    }
    if (all || replay || !strcmp(which, "postgresql")) {
        const char *pg = getenv("COINPIPE_TEST_PG");
        if (!pg) {
            printf("postgresql skipped: COINPIPE_TEST_PG is not set (run under tests/services/run.sh)\n");
        } else {
            snprintf(cfg, sizeof cfg, "conninfo = \"%s\"; table_prefix = \"bench%ld_\";", pg, (long)getpid());
            run(replay ? "pg again" : "postgresql", "postgresql", cfg, v, nb, rows, replay);
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
            run("s3-csv", "s3_csv", cfg, v, nb, rows, false);
        }
    }
    for (size_t b = 0; b < nb; b++)
        core_batch_unref(v[b]);
    free(v);
    return 0;
}
