/* Fixture plugin (tests only): a broken descriptor the loader must refuse (half_gaps).
 * SPDX-License-Identifier: MIT
 *
 * A sink with candle_gaps but no stored_series: ABI 1.1 wants both or neither.
 */
#include <coinpipe/coinpipe.h>

static cp_status c(cp_ctx *ctx, const void *cfg, void **inst) { *inst = (void *)1; return CP_OK; }
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }
static cp_status g(void *inst, cp_ctx *ctx, const cp_series *s, int64_t step, int64_t from, int64_t to, cp_gap_fn fn,
                   void *user)
{
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "half-gaps", .kind = CP_SINK, .version = "0", .description = "broken fixture", .create = c,
                 .destroy = d, .write = w, .candle_gaps = g);
