/* test-sink (tests only): records what it is given and fails on demand.
 * SPDX-License-Identifier: MIT
 *
 * Appends "stream rows first_ts" per confirmed batch to the file `out`. `mode`:
 * ok; retry (CP_RETRY for the first `fail_times` writes, then ok); reject (always
 * CP_REJECT); pending (CP_PENDING from write, CP_OK from flush, which writes the lines).
 * `delay` makes every write slow.
 */
#include <coinpipe/coinpipe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ts_config {
    char *out;
    char *mode;
    int64_t fail_times;
    int64_t delay_ms;
    double fail_ratio;
} ts_config;

static const char *const modes[] = {"ok", "retry", "reject", "pending", NULL};

static const cp_option options[] = {
    {.name = "out", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(ts_config, out),
     .doc = "File the confirmed batches are appended to."},
    {.name = "mode", .type = CP_OPT_ENUM, .def = "\"ok\"", .offset = offsetof(ts_config, mode), .choices = modes,
     .doc = "How writes answer."},
    {.name = "fail_times", .type = CP_OPT_INT, .def = "2", .max = 1000000, .offset = offsetof(ts_config, fail_times),
     .doc = "In retry mode, how many writes fail before they succeed."},
    {.name = "delay", .type = CP_OPT_DURATION, .def = "\"0s\"", .offset = offsetof(ts_config, delay_ms),
     .doc = "Time each write takes."},
    {.name = "fail_ratio", .type = CP_OPT_DOUBLE, .def = "0.0", .max = 1, .offset = offsetof(ts_config, fail_ratio),
     .doc = "Share of writes that answer CP_RETRY at random (soak tests)."},
    CP_OPTION_END,
};

typedef struct tsink {
    const ts_config *cfg;
    int64_t failed;
    char *pending;
    size_t plen;
} tsink;

static cp_status ts_create(cp_ctx *ctx, const void *config, void **instance)
{
    tsink *s = calloc(1, sizeof *s);
    if (!s)
        return CP_ERR_NOMEM;
    s->cfg = config;
    *instance = s;
    return CP_OK;
}

static void ts_destroy(void *instance)
{
    tsink *s = instance;
    free(s->pending);
    free(s);
}

static int append(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    fwrite(text, 1, len, f);
    return fclose(f);
}

static cp_status ts_write(void *instance, cp_ctx *ctx, const cp_batch *b)
{
    tsink *s = instance;
    if (s->cfg->delay_ms)
        cp_sleep_ms(ctx, s->cfg->delay_ms);
    const char *mode = s->cfg->mode;
    if (strcmp(mode, "reject") == 0)
        return CP_REJECT;
    if (s->cfg->fail_ratio > 0 && (double)rand() / RAND_MAX < s->cfg->fail_ratio)
        return CP_RETRY;
    if (strcmp(mode, "retry") == 0 && s->failed < s->cfg->fail_times) {
        s->failed++;
        return CP_RETRY;
    }
    char line[160];
    int tsc = cp_batch_col(ctx, b, "ts");
    int n = snprintf(line, sizeof line, "%s %zu %lld\n", cp_batch_schema(ctx, b)->stream, cp_batch_rows(ctx, b),
                     tsc >= 0 ? (long long)cp_batch_get_int(ctx, b, 0, (size_t)tsc) : -1LL);
    if (strcmp(mode, "pending") == 0) {
        char *p = realloc(s->pending, s->plen + (size_t)n + 1);
        if (!p)
            return CP_ERR_NOMEM;
        memcpy(p + s->plen, line, (size_t)n + 1);
        s->pending = p;
        s->plen += (size_t)n;
        return CP_PENDING;
    }
    return append(s->cfg->out, line, (size_t)n) == 0 ? CP_OK : CP_RETRY;
}

static cp_status ts_flush(void *instance, cp_ctx *ctx, unsigned flags)
{
    tsink *s = instance;
    if (!s->plen)
        return CP_OK;
    if (append(s->cfg->out, s->pending, s->plen) != 0)
        return CP_RETRY;
    s->plen = 0;
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "test-sink", .kind = CP_SINK, .version = "1.0.0",
                 .description = "Test sink recording confirmed batches, failing on demand", .options = options,
                 .config_size = sizeof(ts_config), .create = ts_create, .destroy = ts_destroy, .write = ts_write,
                 .flush = ts_flush);
