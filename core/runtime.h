/* The runtime: pipelines, cycles, the scheduler loop, reload and backfill.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_RUNTIME_H
#define COINPIPE_CORE_RUNTIME_H

#include "config.h"

#include <stdbool.h>

typedef struct core_range {
    int64_t from_ms, to_ms; /* [from, to) UTC ms */
} core_range;
typedef struct core_runtime core_runtime;
typedef struct core_run_opts {
    bool once;
    const char *only_pipeline;
    bool borrow_config; /* core_runtime_free leaves the config to the caller */
} core_run_opts;
core_runtime *core_runtime_new(core_config *cfg, const core_run_opts *opts, char *err, size_t errlen);
/* --once: run each pipeline one cycle, drain and flush every sink; 0 all ok, 1 a stage failed */
int core_runtime_run_once(core_runtime *rt);
/* runs until SIGTERM/SIGINT; SIGHUP reloads; returns the exit code */
int core_runtime_run(core_runtime *rt, const char *config_file);
/* backfill: calls the only pipeline's source backfill for [from_ms, to_ms), then drains;
 * 0 ok, 1 failed or interrupted, 2 the source cannot backfill */
int core_runtime_backfill(core_runtime *rt, int64_t from_ms, int64_t to_ms);
/* the same for several ranges in turn (stops at the first that fails), then drains once */
int core_runtime_backfill_ranges(core_runtime *rt, const core_range *ranges, size_t n);
/* signals the runtime blocks and waits for (SIGINT, SIGTERM, SIGHUP); call before any thread starts */
void core_runtime_block_signals(void);
void core_runtime_unblock_signals(void); /* after core_runtime_free: default actions again */
void core_runtime_free(core_runtime *rt);

#endif /* COINPIPE_CORE_RUNTIME_H */
