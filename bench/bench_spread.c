/* Benchmark of the spread transform: spread rows per second through the plugin's process().
 * SPDX-License-Identifier: MIT
 *
 * Usage: bench_spread [snapshots]   (default 200000; not run by ctest)
 * Loads spread.so through the core and feeds pre-built batches, 100 symbols per batch:
 * book_top alone, then book_level (10 levels a side) followed by book_top (depth computed).
 */
#include "bench_transforms.h"

#include "core/batch.h"

#include <coinpipe/streams.h>

#define NSYM 100
#define NLEVELS 10

static void symbol_of(char *buf, size_t len, int s) { snprintf(buf, len, "SYM%d-USDT", s); }

static cp_batch *tops(int64_t ts)
{
    cp_batch *b = core_batch_new(&cp_book_top_schema, NSYM);
    char sym[32], bid[32], ask[32];
    for (int s = 0; s < NSYM; s++) {
        size_t r = core_batch_add_row(b);
        symbol_of(sym, sizeof sym, s);
        snprintf(bid, sizeof bid, "%d.%02d", 100 + s, (int)(ts % 50));
        snprintf(ask, sizeof ask, "%d.%02d", 100 + s, (int)(ts % 50) + 2);
        bench_set(b, r, CP_BOOK_TOP_EXCHANGE, "binance");
        bench_set(b, r, CP_BOOK_TOP_SYMBOL, sym);
        core_batch_set_int(b, r, CP_BOOK_TOP_TS, ts);
        core_batch_set_int(b, r, CP_BOOK_TOP_RECEIVED_AT, ts + 3);
        bench_set(b, r, CP_BOOK_TOP_BID, bid);
        bench_set(b, r, CP_BOOK_TOP_BID_SIZE, "1.25");
        bench_set(b, r, CP_BOOK_TOP_ASK, ask);
        bench_set(b, r, CP_BOOK_TOP_ASK_SIZE, "0.75");
    }
    return b;
}

static cp_batch *levels(int64_t ts)
{
    cp_batch *b = core_batch_new(&cp_book_level_schema, NSYM * NLEVELS * 2);
    char sym[32], price[32];
    for (int s = 0; s < NSYM; s++) {
        symbol_of(sym, sizeof sym, s);
        for (int side = 0; side < 2; side++)
            for (int l = 0; l < NLEVELS; l++) {
                size_t r = core_batch_add_row(b);
                int cents = (int)(ts % 50) + (side ? 2 + l : -l);
                snprintf(price, sizeof price, "%.2f", 100 + s + cents / 100.0);
                bench_set(b, r, CP_BOOK_LEVEL_EXCHANGE, "binance");
                bench_set(b, r, CP_BOOK_LEVEL_SYMBOL, sym);
                core_batch_set_int(b, r, CP_BOOK_LEVEL_TS, ts);
                bench_set(b, r, CP_BOOK_LEVEL_SIDE, side ? "ask" : "bid");
                core_batch_set_int(b, r, CP_BOOK_LEVEL_LEVEL, l);
                bench_set(b, r, CP_BOOK_LEVEL_PRICE, price);
                bench_set(b, r, CP_BOOK_LEVEL_SIZE, "2.5");
            }
    }
    return b;
}

static void run(const char *what, size_t nsnap, bool with_levels)
{
    bench_plugin bp;
    bench_plugin_open(&bp, "spread");
    size_t nb = nsnap / NSYM, distinct = 64;
    cp_batch *t[64], *l[64];
    for (size_t k = 0; k < distinct; k++) {
        t[k] = tops((int64_t)k + 1);
        l[k] = with_levels ? levels((int64_t)k + 1) : NULL;
    }
    /* the batches repeat every 64 cycles: restamp nothing, the transform does not care */
    double t0 = bench_now();
    for (size_t k = 0; k < nb; k++) {
        if (with_levels)
            bench_plugin_process(&bp, l[k % distinct]);
        bench_plugin_process(&bp, t[k % distinct]);
    }
    double secs = bench_now() - t0;
    printf("%-52s %12.0f spread rows/s  (%zu rows in %.3f s)\n", what, (double)bp.rows_out / secs, bp.rows_out, secs);
    for (size_t k = 0; k < distinct; k++) {
        core_batch_unref(t[k]);
        core_batch_unref(l[k]);
    }
    bench_plugin_close(&bp);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    run("spread, book_top only (100 symbols per batch)", n, false);
    run("spread, book_level (2x10 levels) + book_top", n, true);
    return 0;
}
