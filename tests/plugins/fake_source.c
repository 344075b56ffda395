/* fake-source (tests only): emits deterministic ticker batches, can fail or sleep on demand.
 * SPDX-License-Identifier: MIT
 *
 * Collects nothing real: each cycle emits `batches` batches of `rows` ticker rows for
 * exchange "fake", symbol BTC-USDT, ts = start + a running sequence number, so keys never
 * repeat within one process; `last` is the decimal text "4200<seq>.12345678900".
 */
#include <coinpipe/coinpipe.h>
#include <coinpipe/streams.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fake_config {
    int64_t rows, batches, start;
    bool fail;
    int64_t sleep_ms;
    char *symbol;
} fake_config;

static const cp_option options[] = {
    {.name = "rows", .type = CP_OPT_INT, .def = "3", .max = 1000000, .offset = offsetof(fake_config, rows),
     .doc = "Rows per batch."},
    {.name = "batches", .type = CP_OPT_INT, .def = "1", .max = 100000, .offset = offsetof(fake_config, batches),
     .doc = "Batches per cycle."},
    {.name = "start", .type = CP_OPT_INT, .def = "1700000000000", .offset = offsetof(fake_config, start),
     .doc = "Timestamp (ms) of the first row."},
    {.name = "fail", .type = CP_OPT_BOOL, .def = "false", .offset = offsetof(fake_config, fail),
     .doc = "Make every cycle fail."},
    {.name = "sleep", .type = CP_OPT_DURATION, .def = "\"0s\"", .offset = offsetof(fake_config, sleep_ms),
     .doc = "Sleep this long in each cycle before emitting."},
    {.name = "symbol", .type = CP_OPT_STRING, .def = "\"BTC-USDT\"", .offset = offsetof(fake_config, symbol),
     .doc = "Symbol to emit."},
    CP_OPTION_END,
};

typedef struct fake {
    const fake_config *cfg;
    int64_t seq;
} fake;

static cp_status fake_create(cp_ctx *ctx, const void *config, void **instance)
{
    fake *f = calloc(1, sizeof *f);
    if (!f)
        return CP_ERR_NOMEM;
    f->cfg = config;
    *instance = f;
    return CP_OK;
}

static void fake_destroy(void *instance) { free(instance); }

static cp_status fake_collect(void *instance, cp_ctx *ctx)
{
    fake *f = instance;
    if (f->cfg->sleep_ms)
        cp_sleep_ms(ctx, f->cfg->sleep_ms);
    if (f->cfg->fail) {
        cp_log_error(ctx, "failing on purpose (fail = true)");
        return CP_ERR_IO;
    }
    int64_t now = cp_now_ms(ctx);
    for (int64_t k = 0; k < f->cfg->batches; k++) {
        cp_batch *b = cp_batch_new(ctx, &cp_ticker_schema, (size_t)f->cfg->rows);
        if (!b)
            return CP_ERR_NOMEM;
        for (int64_t i = 0; i < f->cfg->rows; i++) {
            size_t r = cp_batch_add_row(ctx, b);
            int64_t seq = f->seq++;
            char last[64];
            int n = snprintf(last, sizeof last, "4200%lld.12345678900", (long long)seq);
            const char *sym = f->cfg->symbol;
            cp_batch_set_string(ctx, b, r, CP_TICKER_EXCHANGE, "fake", 4);
            cp_batch_set_string(ctx, b, r, CP_TICKER_SYMBOL, sym, strlen(sym));
            cp_batch_set_string(ctx, b, r, CP_TICKER_NATIVE_SYMBOL, "BTCUSDT", 7);
            cp_batch_set_int(ctx, b, r, CP_TICKER_TS, f->cfg->start + seq);
            cp_batch_set_int(ctx, b, r, CP_TICKER_RECEIVED_AT, now);
            cp_batch_set_decimal(ctx, b, r, CP_TICKER_LAST, last, (size_t)n);
            cp_batch_set_decimal(ctx, b, r, CP_TICKER_BID, "0.00000001", 10);
            cp_batch_set_int(ctx, b, r, CP_TICKER_TRADE_COUNT, seq);
        }
        cp_status st = cp_emit(ctx, b);
        if (st != CP_OK)
            return st;
    }
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "fake-source", .kind = CP_SOURCE, .version = "1.0.0",
                 .description = "Test source emitting deterministic ticker rows", .options = options,
                 .config_size = sizeof(fake_config), .create = fake_create, .destroy = fake_destroy,
                 .collect = fake_collect);
