/* Fixture plugin (tests only): a broken descriptor the loader must refuse (no_group_spec).
 * SPDX-License-Identifier: MIT
 *
 * A group list option without the cp_group_spec that says what each group holds.
 */
#include <coinpipe/coinpipe.h>

typedef struct cfg {
    cp_grouplist rules;
} cfg;

static const cp_option options[] = {
    {.name = "rules", .type = CP_OPT_GROUPLIST, .offset = offsetof(cfg, rules),
     .doc = "Rules."},
    CP_OPTION_END,
};

static cp_status c(cp_ctx *ctx, const void *cf, void **inst) { *inst = (void *)1; return CP_OK; }
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }

CP_PLUGIN_DEFINE(.name = "no-group-spec", .kind = CP_SINK, .version = "0", .description = "broken fixture",
                 .create = c, .destroy = d, .write = w, .options = options, .config_size = sizeof(cfg));
