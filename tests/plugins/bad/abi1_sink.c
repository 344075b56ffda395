/* Fixture plugin (tests only): a sink built against ABI 1.1, which this core must refuse.
 * SPDX-License-Identifier: MIT
 *
 * The descriptor is laid out as ABI 1.1's cp_plugin was (version head, then name, kind, the
 * positional option table without a stride, the callbacks), written out here because the
 * installed header now describes ABI 2. The loader reads the three version fields and refuses
 * it with one line naming this file, ABI 1.1 and its own ABI.
 */
#include <coinpipe/coinpipe.h>

typedef struct abi1_option { /* ABI 1's cp_option */
    const char *name;
    int type;
    const char *def;
    unsigned flags;
    double min, max;
    size_t offset;
    const char *const *choices;
    const char *doc;
} abi1_option;

typedef struct abi1_plugin { /* ABI 1.1's cp_plugin */
    uint32_t abi_major, abi_minor, size, reserved;
    const char *name;
    int kind;
    const char *version;
    const char *description;
    const abi1_option *options;
    size_t config_size;
    void *create, *destroy, *collect, *process, *write, *flush, *backfill;
    void *candle_series, *stored_series, *candle_gaps;
} abi1_plugin;

typedef struct cfg {
    char *path;
} cfg;

static const abi1_option options[] = {
    {"path", 4, "\"out.txt\"", 0, 0, 0, offsetof(cfg, path), NULL, "Where it would write."},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
};

static cp_status c(cp_ctx *ctx, const void *config, void **inst)
{
    *inst = (void *)1;
    return CP_OK;
}
static void d(void *inst) {}
static cp_status w(void *inst, cp_ctx *ctx, const cp_batch *b) { return CP_OK; }

CP_EXPORT extern const abi1_plugin coinpipe_plugin;
CP_EXPORT const abi1_plugin coinpipe_plugin = {
    .abi_major = 1, .abi_minor = 1, .size = (uint32_t)sizeof(abi1_plugin), .name = "abi1-sink", .kind = 3,
    .version = "1.0.0", .description = "A sink built against ABI 1.1 (test fixture)", .options = options,
    .config_size = sizeof(cfg), .create = (void *)c, .destroy = (void *)d, .write = (void *)w,
};
