/* Per-instance key/value state (checkpoints) under the state directory.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_STATE_H
#define COINPIPE_CORE_STATE_H

#include <coinpipe/coinpipe.h>

typedef struct core_state core_state;
core_state *core_state_open(const char *state_dir, const char *pipeline, const char *instance);
void core_state_close(core_state *s);
cp_status core_state_get(core_state *s, const char *key, char **value);
cp_status core_state_set(core_state *s, const char *key, const char *value);
/* from now on sets stay in memory until core_state_flush (the runtime flushes after the
 * cycle's batches are in the spool, so a checkpoint never runs ahead of its data) */
void core_state_defer(core_state *s);
cp_status core_state_flush(core_state *s); /* persists pending sets; closing flushes too */
/* Drops the pending sets and persists nothing from now on (later sets still answer reads): for
 * a stopping process whose cycle could not queue every batch it emitted, so the checkpoint on
 * disk stays behind the data and the next start collects that data again. NULL: no-op. */
void core_state_freeze(core_state *s);

#endif /* COINPIPE_CORE_STATE_H */
