/* The configuration file: parsed, validated, and the structures the runtime starts from.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_CONFIG_H
#define COINPIPE_CORE_CONFIG_H

#include "loader.h"
#include "log.h"
#include "options.h"
#include "sched.h"
#include "shard.h"

#include <coinpipe/coinpipe.h>

typedef struct core_element_cfg {
    char *name;            /* instance name (config `name`, default the plugin name) */
    char *plugin_name;
    core_plugin *plugin;
    void *cfg;             /* the plugin's filled config struct */
    int line;
    /* sink-only core options */
    int64_t queue_size;
    int64_t retry_initial_ms, retry_max_ms, retry_max_attempts;
    bool spool;
    int64_t spool_max_bytes;
    int overflow; /* CORE_OVERFLOW_* */
    /* source-only core option */
    core_shard shard; /* `shard = "I/N"`; count 0: none */
} core_element_cfg;

enum { CORE_OVERFLOW_BLOCK = 0, CORE_OVERFLOW_DROP_OLDEST = 1, CORE_OVERFLOW_DROP_NEWEST = 2 };

typedef struct core_pipeline_cfg {
    char *name;
    int line;
    int64_t interval_ms;   /* 0 when cron */
    char *schedule;        /* cron text or NULL */
    core_cron cron;
    int64_t jitter_ms;
    bool enabled;
    bool run_at_start;
    bool continuous;          /* neither interval nor schedule: the source's run() streams */
    int64_t batch_interval_ms, batch_rows; /* a continuous pipeline's micro-batches */
    int cycle_log_level;      /* the pipeline's cycle_log as a cp_log_level, -1: global.cycle_log */
    core_element_cfg source;
    size_t ntransforms, nsinks;
    core_element_cfg *transforms, *sinks;
} core_pipeline_cfg;

typedef struct core_config {
    char *file;
    char *state_dir;
    enum { CORE_STATE_DIR_DEFAULT, CORE_STATE_DIR_ENV, CORE_STATE_DIR_OPTION } state_dir_from;
    int state_dir_line; /* of global.state_dir, 0 when not set */
    cp_log_level log_level;
    core_log_format log_format;
    cp_strlist plugin_path;
    int64_t workers;
    int64_t shutdown_timeout_ms;
    char *http_listen;     /* global.http_listen or NULL (metrics listener off) */
    char *http_auth_token; /* global.http_auth_token or NULL (secret) */
    size_t http_memory_budget;            /* global.http_memory_budget: bytes of bodies in flight */
    int64_t retry_after_max_ms;           /* global.retry_after_max */
    bool http_redirects_same_host_https;  /* global.http_redirects = "same-host-https" */
    cp_log_level cycle_log_level;         /* global.cycle_log: the level of each cycle's line */
    core_search_path search;
    size_t npipelines;
    core_pipeline_cfg *pipelines;
} core_config;
/* Config files larger than this are refused before parsing (libconfig's scanner is quadratic
 * in a long string: a 16 MB one took two minutes). */
#define CORE_CONFIG_MAX_BYTES (1 << 20)

/* parses and validates `file`; all errors go to errs, each starting "FILE:LINE: "; NULL when any
 * error. A relative global.plugin_path entry is resolved against the config file's directory
 * (made absolute), never the current directory. */
core_config *core_config_load(const char *file, core_errors *errs);
void core_config_free(core_config *c);
/* Creates the state directory if needed and checks that it can be written; -1 with a message
 * in err saying where the directory came from and which option to set (global.state_dir, or
 * STATE_DIRECTORY) when it cannot. */
int core_config_state_dir_usable(const core_config *c, char *err, size_t errlen);
/* option tables of the core's own settings (for --describe, coinpipe.conf(5) and docs) */
const cp_option *core_config_global_options(void);
const cp_option *core_config_pipeline_options(void);
const cp_option *core_config_sink_options(void); /* queue_size, retry_*, spool, overflow */

#endif /* COINPIPE_CORE_CONFIG_H */
