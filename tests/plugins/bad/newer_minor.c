/* Fixture plugin (tests only): a broken descriptor the loader must refuse (newer_minor).
 * SPDX-License-Identifier: MIT
 */
#include <coinpipe/coinpipe.h>

static cp_status c(cp_ctx *ctx, const void *cfg, void **inst) { *inst = (void *)1; return CP_OK; }
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }

CP_EXPORT extern const cp_plugin coinpipe_plugin;
CP_EXPORT const cp_plugin coinpipe_plugin = {
    .abi_major = CP_ABI_MAJOR, .abi_minor = 99, .size = (uint32_t)(sizeof(cp_plugin)), .name = "newer-minor",
    .kind = CP_SINK, .version = "0", .description = "broken fixture", .create = c, .destroy = d,
    .write = w,
};
