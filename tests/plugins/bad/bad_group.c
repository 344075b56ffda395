/* Fixture plugin (tests only): a broken descriptor the loader must refuse (bad_group).
 * SPDX-License-Identifier: MIT
 *
 * A group list option whose nested table puts an option outside the element struct it fills.
 */
#include <coinpipe/coinpipe.h>

typedef struct item {
    char *name;
} item;
typedef struct cfg {
    cp_grouplist rules;
} cfg;

static const cp_option item_options[] = {
    {.name = "name", .type = CP_OPT_STRING, .offset = offsetof(item, name),
     .doc = "A name."},
    {.name = "far", .type = CP_OPT_INT, .offset = sizeof(item),
     .doc = "Lies beyond the element."},
    CP_OPTION_END,
};
static const cp_group_spec spec = {sizeof(cp_group_spec), item_options, sizeof(item)};
static const cp_option options[] = {
    {.name = "rules", .type = CP_OPT_GROUPLIST, .offset = offsetof(cfg, rules), .choices = CP_GROUP_SPEC(spec),
     .doc = "Rules."},
    CP_OPTION_END,
};

static cp_status c(cp_ctx *ctx, const void *cf, void **inst) { *inst = (void *)1; return CP_OK; }
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }

CP_PLUGIN_DEFINE(.name = "bad-group", .kind = CP_SINK, .version = "0", .description = "broken fixture", .create = c,
                 .destroy = d, .write = w, .options = options, .config_size = sizeof(cfg));
