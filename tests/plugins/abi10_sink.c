/* abi10-sink (tests only): a sink built against ABI 1.0, whose shorter descriptor the loader accepts.
 * SPDX-License-Identifier: MIT
 *
 * Its declared size ends where ABI 1.1 appended the candle callbacks. The bytes after it are
 * filled here with callbacks that must never be reached: the loader reads no field beyond the
 * declared size, so for the core this plugin has no stored_series and no candle_gaps.
 */
#include <coinpipe/coinpipe.h>

#include <stddef.h>

static cp_status c(cp_ctx *ctx, const void *cfg, void **inst)
{
    *inst = (void *)1;
    return CP_OK;
}
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }
static cp_status not_mine(void *inst, cp_ctx *ctx, cp_series_fn fn, void *user) { return CP_ERR_INTERNAL; }
static cp_status not_mine_either(void *inst, cp_ctx *ctx, const cp_series *s, int64_t step, int64_t from, int64_t to,
                                 cp_gap_fn fn, void *user)
{
    return CP_ERR_INTERNAL;
}

CP_EXPORT extern const cp_plugin coinpipe_plugin;
CP_EXPORT const cp_plugin coinpipe_plugin = {
    .abi_major = 1, .abi_minor = 0, .size = (uint32_t)offsetof(cp_plugin, candle_series), .name = "abi10-sink",
    .kind = CP_SINK, .version = "1.0.0", .description = "A sink built against ABI 1.0 (test fixture)",
    .create = c, .destroy = d, .write = w,
    /* beyond the declared size: not part of a 1.0 descriptor */
    .stored_series = not_mine, .candle_gaps = not_mine_either,
};
