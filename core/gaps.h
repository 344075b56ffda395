/* `coinpipe gaps`: holes in the candles a pipeline's SQL sink holds, and filling them.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_GAPS_H
#define COINPIPE_CORE_GAPS_H

#include "config.h"
#include "runtime.h"


typedef struct core_gaps_opts {
    const char *pipeline;
    bool has_from, has_to; /* head gaps are checked from --from, tail gaps up to --to */
    int64_t from_ms, to_ms;
    bool fill;             /* backfill the gaps found, then check again */
} core_gaps_opts;
/* prints the gaps of the pipeline's first SQL sink; exit code 0 none, 1 gaps, 2 error */
int core_gaps_main(core_config *cfg, const core_gaps_opts *o);
/* sorts holes [from, to) of candles `step` ms apart and joins the close ones; returns the new count */
size_t core_gaps_merge(core_range *v, const int64_t *step, size_t n);

#endif /* COINPIPE_CORE_GAPS_H */
