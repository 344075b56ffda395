/* Fixture plugin (tests only): a broken descriptor the loader must refuse (narrow_options).
 * SPDX-License-Identifier: MIT
 *
 * Declares option entries 8 bytes apart: smaller than ABI 2.0's cp_option, so no table the
 * core could walk.
 */
#include <coinpipe/coinpipe.h>

static cp_status c(cp_ctx *ctx, const void *cfg, void **inst) { *inst = (void *)1; return CP_OK; }
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }

static const cp_option opts[] = {
    {.name = "x", .type = CP_OPT_BOOL, .offset = 0, .doc = "A flag."},
    CP_OPTION_END,
};

CP_EXPORT extern const cp_plugin coinpipe_plugin;
CP_EXPORT const cp_plugin coinpipe_plugin = {
    .abi_major = CP_ABI_MAJOR, .abi_minor = CP_ABI_MINOR, .size = (uint32_t)sizeof(cp_plugin), .option_size = 8,
    .name = "narrow-options", .kind = CP_SINK, .version = "0", .description = "broken fixture", .options = opts,
    .config_size = sizeof(bool), .create = c, .destroy = d, .write = w,
};
