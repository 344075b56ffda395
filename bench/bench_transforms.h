/* Shared harness of the transform benchmarks: loads a plugin through the core and drives process().
 * SPDX-License-Identifier: MIT
 *
 * Header-only, for bench_indicators.c, bench_spread.c and bench_sinks.c. Emitted batches are counted and
 * freed; the instance gets a fresh state directory under $TMPDIR.
 */
#ifndef COINPIPE_BENCH_TRANSFORMS_H
#define COINPIPE_BENCH_TRANSFORMS_H

#include "core/batch.h"
#include "core/instance.h"
#include "core/loader.h"
#include "core/log.h"
#include "core/options.h"

#include <ftw.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct bench_plugin {
    core_plugin *p;
    core_element_cfg ec; /* name, plugin and filled options of the instance */
    core_instance in;    /* context, state store, stop flag; in.data is the plugin's instance */
    void *cfg;
    size_t rows_out, batches_out;
    char state_dir[256];
} bench_plugin;

static cp_status bench_capture(core_ctx *c, cp_batch *b)
{
    bench_plugin *bp = c->emit_user;
    bp->rows_out += core_batch_rows(b);
    bp->batches_out++;
    core_batch_unref(b);
    return CP_OK;
}

/* Loads <plugin dir>/<file>.so, fills its options from `config_text` (libconfig text, NULL for
 * the defaults) and creates instance `name` with a fresh state directory; exits on error. */
static inline void bench_plugin_open_text(bench_plugin *bp, const char *name, const char *file,
                                          const char *config_text)
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
    if (config_text && config_read_string(&c, config_text) != CONFIG_TRUE) {
        fprintf(stderr, "bad config text for %s: %s\n", name, config_error_text(&c));
        exit(1);
    }
    bp->cfg = calloc(1, bp->p->desc.config_size ? bp->p->desc.config_size : 1);
    core_errors errs = {0};
    core_options_fill(bp->p->desc.options, config_text ? config_root_setting(&c) : NULL, bp->cfg, NULL, name, &errs);
    config_destroy(&c);
    snprintf(bp->state_dir, sizeof bp->state_dir, "%s/coinpipe-bench-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (errs.n || !mkdtemp(bp->state_dir)) {
        core_errors_print(&errs, stderr);
        exit(1);
    }
    bp->ec = (core_element_cfg){.name = (char *)name, .plugin_name = (char *)name, .plugin = bp->p, .cfg = bp->cfg};
    core_instance_init(&bp->in, &(core_instance_opts){.pipeline = "bench", .ec = &bp->ec, .state_dir = bp->state_dir});
    bp->in.ctx.emit = bench_capture;
    bp->in.ctx.emit_user = bp;
    if (core_instance_create(&bp->in) != CP_OK) {
        fprintf(stderr, "cannot create %s\n", name);
        exit(1);
    }
}

/* Loads <plugin dir>/<name>.so with its default options and creates an instance; exits on error. */
static inline void bench_plugin_open(bench_plugin *bp, const char *name) { bench_plugin_open_text(bp, name, name, NULL); }

static inline void bench_plugin_process(bench_plugin *bp, const cp_batch *b)
{
    if (bp->p->desc.process(bp->in.data, &bp->in.ctx.pub, b) != CP_OK) {
        fprintf(stderr, "process failed\n");
        exit(1);
    }
}

static int bench_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static inline void bench_plugin_close(bench_plugin *bp)
{
    core_instance_destroy(&bp->in);
    core_options_free(bp->p->desc.options, bp->cfg);
    free(bp->cfg);
    core_loader_put(bp->p);
    nftw(bp->state_dir, bench_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Sets a STRING or DECIMAL cell from text. */
static inline void bench_set(cp_batch *b, size_t r, size_t col, const char *s)
{
    if (core_batch_schema(b)->fields[col].type == CP_T_DECIMAL)
        core_batch_set_decimal(b, r, col, s, strlen(s));
    else
        core_batch_set_string(b, r, col, s, strlen(s));
}

#endif
