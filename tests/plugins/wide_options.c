/* wide-options (tests only): a sink whose option entries are larger than this header's cp_option.
 * SPDX-License-Identifier: MIT
 *
 * Stands in for a plugin built against a later 2.N whose cp_option grew: the entries are
 * `option_size` bytes apart, each with members this core does not know after the ones it
 * does. The loader must walk the table by the declared stride and read only what it knows.
 */
#include <coinpipe/coinpipe.h>

#include <stdint.h>

typedef struct wide_option {
    cp_option known;
    const char *added_later; /* never read by the core */
    double added_later_too;
} wide_option;

typedef struct wide_cfg {
    char *path;
    int64_t count;
} wide_cfg;

static const wide_option opts[] = {
    {.known = {.name = "path", .type = CP_OPT_STRING, .def = "\"out.txt\"", .offset = offsetof(wide_cfg, path),
               .doc = "Where it would write."},
     .added_later = "not for this core", .added_later_too = 1.5},
    {.known = {.name = "count", .type = CP_OPT_INT, .def = "7", .min = 1, .max = 9, .offset = offsetof(wide_cfg, count),
               .doc = "How many."},
     .added_later = "nor this"},
    {.known = CP_OPTION_END},
};

static cp_status c(cp_ctx *ctx, const void *cfg, void **inst)
{
    *inst = (void *)1;
    return CP_OK;
}
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }

CP_EXPORT extern const cp_plugin coinpipe_plugin;
CP_EXPORT const cp_plugin coinpipe_plugin = {
    .abi_major = CP_ABI_MAJOR, .abi_minor = CP_ABI_MINOR, .size = (uint32_t)sizeof(cp_plugin),
    .option_size = (uint32_t)sizeof(wide_option), .name = "wide-options", .kind = CP_SINK, .version = "0",
    .description = "Option entries wider than this header's (test fixture)", .options = &opts[0].known,
    .config_size = sizeof(wide_cfg), .create = c, .destroy = d, .write = w,
};
