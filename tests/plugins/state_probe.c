/* state-probe (tests only): a sink that reads a checkpoint in create(), as plugins in the wild do.
 * SPDX-License-Identifier: MIT
 *
 * create() reads the checkpoint `lives` from the instance's state store, adds one and stores
 * it back, then appends "create lives=N" to the file `out` ("create lives=1 state=<error>"
 * when the host gives it no state store). write() appends "write STREAM ROWS lives=N
 * stopping=0|1" after sleeping `delay` through cp_sleep_ms (which a stop ends early). It has
 * stored_series and candle_gaps, so `coinpipe gaps` accepts it as the sink to read (the same
 * instance then lives under the daemon, `gaps` and `dead replay`): `series` empty series,
 * each candle_gaps call sleeping `delay` and appending "candle_gaps SYMBOL stopping=0|1".
 */
#include <coinpipe/coinpipe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sp_config {
    char *out;
    int64_t delay_ms;
    int64_t series;
} sp_config;

static const cp_option options[] = {
    {.name = "out", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(sp_config, out),
     .doc = "File the probe's lines are appended to."},
    {.name = "delay", .type = CP_OPT_DURATION, .def = "\"0s\"", .offset = offsetof(sp_config, delay_ms),
     .doc = "Time each write and each candle_gaps call sleeps first (cp_sleep_ms: a stop ends it early)."},
    {.name = "series", .type = CP_OPT_INT, .def = "0", .max = 100, .offset = offsetof(sp_config, series),
     .doc = "Candle series stored_series reports (probe, S-<n>, 1m); none has a candle."},
    {.name = NULL},
};

typedef struct probe {
    const sp_config *cfg;
    long lives;
} probe;

static void line(const probe *p, const char *fmt, ...) CP_PRINTF(2, 3);
static void line(const probe *p, const char *fmt, ...)
{
    FILE *f = fopen(p->cfg->out, "a");
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static cp_status sp_create(cp_ctx *ctx, const void *config, void **instance)
{
    probe *p = calloc(1, sizeof *p);
    if (!p)
        return CP_ERR_NOMEM;
    p->cfg = config;
    char *text = NULL;
    cp_status st = cp_state_get(ctx, "lives", &text);
    p->lives = (st == CP_OK ? strtol(text, NULL, 10) : 0) + 1;
    cp_free(ctx, text);
    if (st != CP_OK && st != CP_ERR_NOT_FOUND) {
        line(p, "create lives=%ld state=%s", p->lives, cp_strerror(st));
    } else {
        char buf[32];
        snprintf(buf, sizeof buf, "%ld", p->lives);
        st = cp_state_set(ctx, "lives", buf);
        line(p, "create lives=%ld%s%s", p->lives, st == CP_OK ? "" : " state=", st == CP_OK ? "" : cp_strerror(st));
    }
    *instance = p;
    return CP_OK;
}

static void sp_destroy(void *instance) { free(instance); }

static cp_status sp_write(void *instance, cp_ctx *ctx, const cp_batch *b)
{
    probe *p = instance;
    if (p->cfg->delay_ms)
        cp_sleep_ms(ctx, p->cfg->delay_ms);
    line(p, "write %s %zu lives=%ld stopping=%d", cp_batch_schema(ctx, b)->stream, cp_batch_rows(ctx, b), p->lives,
         cp_stopping(ctx) ? 1 : 0);
    return CP_OK;
}

static cp_status sp_stored_series(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user)
{
    probe *p = instance;
    for (int64_t i = 0; i < p->cfg->series; i++) {
        char sym[32];
        snprintf(sym, sizeof sym, "S-%lld", (long long)i);
        cp_series s = {.exchange = "probe", .symbol = sym, .native_symbol = sym, .interval = "1m"};
        if (!fn(user, &s))
            break;
    }
    return CP_OK;
}

static cp_status sp_candle_gaps(void *instance, cp_ctx *ctx, const cp_series *series, int64_t step_ms,
                                int64_t from_ms, int64_t to_ms, cp_gap_fn fn, void *user)
{
    probe *p = instance;
    if (p->cfg->delay_ms)
        cp_sleep_ms(ctx, p->cfg->delay_ms);
    line(p, "candle_gaps %s stopping=%d", series->symbol, cp_stopping(ctx) ? 1 : 0);
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "state-probe", .kind = CP_SINK, .version = "1.0.0",
                 .description = "Test sink reading a checkpoint in create()", .options = options,
                 .config_size = sizeof(sp_config), .create = sp_create, .destroy = sp_destroy, .write = sp_write,
                 .stored_series = sp_stored_series, .candle_gaps = sp_candle_gaps);
