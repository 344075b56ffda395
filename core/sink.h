/* Sink instances: a bounded queue and a worker thread each.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_SINK_H
#define COINPIPE_CORE_SINK_H

#include "config.h"

#include <coinpipe/coinpipe.h>
#include <stdatomic.h>

typedef struct core_sink core_sink;
typedef struct core_sink_stats {
    uint64_t batches_in, rows_in, batches_out, rows_out, retries, rejected, dropped, dropped_rows, dead_lettered;
    int64_t last_success_ms;
    int64_t last_reject_ms; /* last batch rejected or given up on (0 = none) */
    size_t queued;
    int64_t spool_bytes;
    uint64_t read_back; /* batches read back from the spool: queued when memory held enough already */
} core_sink_stats;
/* creates the instance and starts the worker; the queue is memory-only until
 * core_sink_attach_spool() (or core_sink_handover() on reload) gives it its spool */
core_sink *core_sink_start(const core_pipeline_cfg *pl, const core_element_cfg *ec, atomic_bool *stopping,
                           const char *state_dir, char *err, size_t errlen);
/* opens <state_dir>/spool/<pipeline>/<sink>/ and queues what it holds unconfirmed, first */
int core_sink_attach_spool(core_sink *s, char *err, size_t errlen);
/* fsyncs what the sink's spool received (end of a cycle); false when the fsync failed (logged) */
bool core_sink_commit(core_sink *s);
/* takes a reference on b; with overflow = block, waits while the queue or spool is full or the
 * spool cannot be written, until the shared stop flag is set: then (and after core_sink_halt)
 * returns CP_ERR_STOPPED without keeping b */
cp_status core_sink_enqueue(core_sink *s, cp_batch *b);
/* waits until the queue is empty and everything confirmed, or deadline (mono ms; 0 = none).
 * returns true when fully drained */
bool core_sink_drain(core_sink *s, int64_t deadline_mono_ms);
/* stops the worker (force-flushing what is pending) and joins it; idempotent */
void core_sink_halt(core_sink *s);
/* halts, then frees; what is still queued is counted as dropped and logged, unless it was
 * moved with core_sink_handover first */
void core_sink_stop(core_sink *s);
void core_sink_stats_get(core_sink *s, core_sink_stats *out);
const char *core_sink_id(const core_sink *s);   /* "pipeline/sink" */
/* moves queued batches of `from` (stopped worker) into `to` */
void core_sink_handover(core_sink *from, core_sink *to);
bool core_sink_failed(core_sink *s); /* a batch was rejected or given up on */
bool core_sink_has_spooled(core_sink *s); /* unconfirmed batches wait in its spool */
bool core_sink_idle(core_sink *s);   /* not writing, and nothing to write before a retry is due */

#endif /* COINPIPE_CORE_SINK_H */
