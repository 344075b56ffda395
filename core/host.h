/* The host table plugins call and the per-instance context behind each cp_ctx.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_HOST_H
#define COINPIPE_CORE_HOST_H

#include "log.h"
#include "shard.h"
#include "state.h"

#include <coinpipe/coinpipe.h>
#include <stdatomic.h>

struct core_ctx;
typedef cp_status (*core_emit_fn)(struct core_ctx *ctx, cp_batch *b);
typedef struct core_ctx {
    cp_ctx pub;            /* must be first */
    core_log_tag tag;
    core_emit_fn emit;     /* where cp_emit goes */
    void *emit_user;
    size_t stage;          /* position of this instance in its pipeline */
    bool drop_input;       /* set by cp_drop_input during process() */
    core_state *state;
    atomic_bool *stopping;
    int64_t progress_start, progress_last; /* cp_progress display */
    int64_t commit_last;                   /* mono ms of cp_progress's last commit */
    void (*commit)(struct core_ctx *ctx);  /* makes emitted batches, then checkpoints, durable */
    const core_shard *shard;               /* a source's `shard`: what it emits is filtered; NULL: none */
} core_ctx;
extern const cp_host core_host;
void core_ctx_init(core_ctx *c, const char *pipeline, cp_kind kind, const char *plugin, const char *instance);

#endif /* COINPIPE_CORE_HOST_H */
