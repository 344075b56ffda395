/* Continuous sources: the run thread and the micro-batcher of a streaming pipeline.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_STREAM_H
#define COINPIPE_CORE_STREAM_H

#include "instance.h"

#include <coinpipe/coinpipe.h>

typedef struct core_stream core_stream;

/* What the runtime does with a micro-batch: route it (transforms, latest rows, sink queues;
 * takes ownership), then commit (spools, then checkpoints when `checkpoints`, about once a second
 * and at the last flush; false when a batch missed a sink or a spool could not be synced: the
 * source's commit tickets never complete again). `tick` (optional): time passes, about once a
 * second, only with nothing pending. All run on the flush thread, one at a time; route and commit
 * hold the lock the source's emit takes only when `checkpoints` (the source emits on meanwhile
 * otherwise), tick always. */
typedef struct core_stream_ops {
    void (*route)(void *user, cp_batch *b);
    bool (*commit)(void *user, int64_t rows, int64_t duration_ms, bool checkpoints);
    void (*tick)(void *user);
    void *user;
} core_stream_ops;

/* Starts a continuous source: a thread calling its run() (again after a growing pause when it
 * fails, never again after CP_ERR_CONFIG) and a flush thread cutting what it emits into
 * micro-batches, paced: at once when the last cut is at least `interval_ms` ago (0: whenever the
 * previous commit is done, group commit), else when it will be, or at `rows` rows pending.
 * Points the source's emit at the stream. NULL when a thread cannot start (logged). */
core_stream *core_stream_start(core_instance *source, int64_t interval_ms, int64_t rows, const core_stream_ops *ops);
/* The source's emit: merges `b` (taken) into the pending rows of its stream. */
cp_status core_stream_push(core_stream *s, cp_batch *b);
/* cp_commit_ticket and cp_commit_wait for the source context `c` (host table): 0 and
 * CP_ERR_UNSUPPORTED when `c` is not the source of a running continuous pipeline. */
uint64_t core_stream_ticket(core_ctx *c);
cp_status core_stream_wait(core_ctx *c, uint64_t ticket, int64_t timeout_ms);
/* Stops the source (its stop flag), waits for run() to return, flushes and commits what it
 * emitted, and ends both threads. NULL is a no-op. */
void core_stream_stop(core_stream *s);

#endif /* COINPIPE_CORE_STREAM_H */
