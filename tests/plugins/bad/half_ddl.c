/* Fixture plugin (tests only): a broken descriptor the loader must refuse (half_ddl).
 * SPDX-License-Identifier: MIT
 *
 * A sink with a ddl callback but no ddl_dialects: ABI 2.0 wants both or neither.
 */
#include <coinpipe/coinpipe.h>

static cp_status c(cp_ctx *ctx, const void *cfg, void **inst) { *inst = (void *)1; return CP_OK; }
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }
static cp_status ddl(cp_ctx *ctx, const void *cfg, const char *dialect, const cp_schema *const *schemas, size_t n,
                     cp_text_fn fn, void *user)
{
    return CP_OK;
}

CP_PLUGIN_DEFINE(.name = "half-ddl", .kind = CP_SINK, .version = "0", .description = "broken fixture", .create = c,
                 .destroy = d, .write = w, .ddl = ddl);
