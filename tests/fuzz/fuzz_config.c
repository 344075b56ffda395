/* libFuzzer target for the config parser: libconfig text, then core_options_fill against a table with every option type.
 * SPDX-License-Identifier: MIT
 *
 * The input is read as a libconfig file; every group found at the top level, in `global`, and
 * in each pipeline's source, transforms and sinks is validated and filled the way the core
 * does for a plugin, then freed. Seeds: etc/coinpipe.conf and etc/examples/.
 */
#include "fuzz.h"

#include "core/options.h"

#include <libconfig.h>

typedef struct fz_cfg {
    bool b;
    int64_t i, dur, size;
    double d;
    char *s, *e;
    cp_strlist l;
} fz_cfg;

static const char *const choices[] = {"wal", "delete", "off", NULL};
static const cp_option opts[] = {
    {.name = "format", .type = CP_OPT_BOOL, .def = "true", .offset = offsetof(fz_cfg, b),
     .doc = "bool"},
    {.name = "depth", .type = CP_OPT_INT, .def = "5", .min = 1, .max = 1000, .offset = offsetof(fz_cfg, i),
     .doc = "int with bounds"},
    {.name = "interval", .type = CP_OPT_DURATION, .def = "\"1m\"", .min = 1, .max = 86400000,
     .offset = offsetof(fz_cfg, dur),
     .doc = "duration"},
    {.name = "queue_size", .type = CP_OPT_SIZE, .def = "\"4M\"", .offset = offsetof(fz_cfg, size),
     .doc = "size"},
    {.name = "weight_per_minute", .type = CP_OPT_DOUBLE, .def = "6000", .min = 1, .max = 1000000,
     .offset = offsetof(fz_cfg, d),
     .doc = "double"},
    {.name = "base_url", .type = CP_OPT_STRING, .def = "\"http://x\"", .offset = offsetof(fz_cfg, s),
     .doc = "string"},
    {.name = "journal_mode", .type = CP_OPT_ENUM, .def = "\"wal\"", .offset = offsetof(fz_cfg, e), .choices = choices,
     .doc = "enum"},
    {.name = "symbols", .type = CP_OPT_STRLIST, .def = "[\"BTCUSDT\"]", .max = 100, .offset = offsetof(fz_cfg, l),
     .doc = "string list"},
    CP_OPTION_END,
};
static const char *const reserved[] = {"plugin", "name", "streams", NULL};

static void fill(const config_setting_t *g)
{
    if (!g || !config_setting_is_group(g))
        return;
    fz_cfg c;
    memset(&c, 0, sizeof c);
    core_errors errs = {0};
    core_options_fill(opts, g, &c, reserved, "fuzz", &errs);
    core_options_free(opts, &c);
    core_errors_free(&errs);
}

static void fill_list(const config_setting_t *l)
{
    for (int i = 0; l && i < config_setting_length(l); i++)
        fill(config_setting_get_elem(l, (unsigned)i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    config_t cfg;
    config_init(&cfg);
    if (config_read_string(&cfg, text) == CONFIG_TRUE) {
        const config_setting_t *root = config_root_setting(&cfg);
        fill(root);
        fill(config_setting_get_member(root, "global"));
        const config_setting_t *ps = config_setting_get_member(root, "pipelines");
        for (int i = 0; ps && i < config_setting_length(ps); i++) {
            const config_setting_t *p = config_setting_get_elem(ps, (unsigned)i);
            if (!p || !config_setting_is_group(p))
                continue;
            fill(p);
            fill(config_setting_get_member(p, "source"));
            fill_list(config_setting_get_member(p, "transforms"));
            fill_list(config_setting_get_member(p, "sinks"));
        }
    }
    config_destroy(&cfg);
    free(text);
    return 0;
}
