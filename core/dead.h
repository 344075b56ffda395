/* Dead letters: batches a sink gave up on, kept as files, listed and replayed.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_DEAD_H
#define COINPIPE_CORE_DEAD_H

#include "config.h"

#include <coinpipe/coinpipe.h>

/* writes `b` with `reason` to <state_dir>/dead/<pipeline>/<sink>/<time>-<stream>.json; 0 ok */
int core_dead_write(const char *state_dir, const char *pipeline, const char *sink, const cp_batch *b,
                    const char *reason, char *path, size_t pathlen);
/* reads one dead-letter file back: the batch and its metadata (strings malloc'd) */
cp_status core_dead_read(const char *path, cp_batch **b, char **pipeline, char **sink, char **reason);
/* `coinpipe dead list|replay [--pipeline P] [--sink S]` */
int core_dead_main(core_config *cfg, const char *action, const char *pipeline, const char *sink);

#endif /* COINPIPE_CORE_DEAD_H */
