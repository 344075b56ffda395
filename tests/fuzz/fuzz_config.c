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
    {"format", CP_OPT_BOOL, "true", 0, 0, 0, offsetof(fz_cfg, b), NULL, "bool"},
    {"depth", CP_OPT_INT, "5", 0, 1, 1000, offsetof(fz_cfg, i), NULL, "int with bounds"},
    {"interval", CP_OPT_DURATION, "\"1m\"", 0, 1, 86400000, offsetof(fz_cfg, dur), NULL, "duration"},
    {"queue_size", CP_OPT_SIZE, "\"4M\"", 0, 0, 0, offsetof(fz_cfg, size), NULL, "size"},
    {"weight_per_minute", CP_OPT_DOUBLE, "6000", 0, 1, 1000000, offsetof(fz_cfg, d), NULL, "double"},
    {"base_url", CP_OPT_STRING, "\"http://x\"", 0, 0, 0, offsetof(fz_cfg, s), NULL, "string"},
    {"journal_mode", CP_OPT_ENUM, "\"wal\"", 0, 0, 0, offsetof(fz_cfg, e), choices, "enum"},
    {"symbols", CP_OPT_STRLIST, "[\"BTCUSDT\"]", 0, 0, 100, offsetof(fz_cfg, l), NULL, "string list"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL},
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
