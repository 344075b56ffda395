/* Config: parses the libconfig file, validates every group against its option table, loads plugins.
 * SPDX-License-Identifier: MIT
 */
#include "config.h"
#include "listener.h"
#include "loader.h"
#include "log.h"
#include "options.h"
#include "sched.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <libconfig.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- global ---------------------------------------------------------------------- */
typedef struct global_opts {
    char *state_dir;
    char *log_level;
    char *log_format;
    cp_strlist plugin_path;
    int64_t workers;
    int64_t shutdown_timeout;
    char *http_listen;
    char *http_auth_token;
    int64_t http_memory_budget;
    int64_t retry_after_max;
    char *http_redirects;
    char *cycle_log;
} global_opts;

static const char *const level_choices[] = {"error", "warn", "info", "debug", NULL};
static const char *const format_choices[] = {"auto", "logfmt", "json", "text", NULL};
static const char *const redirect_choices[] = {"none", "same-host-https", NULL};
static const char *const cycle_log_choices[] = {"info", "debug", NULL};

static const cp_option global_options[] = {
    {.name = "state_dir", .type = CP_OPT_STRING, .offset = offsetof(global_opts, state_dir),
     .doc = "Directory for checkpoints and the sink spool (default $STATE_DIRECTORY or /var/lib/coinpipe)."},
    {.name = "log_level", .type = CP_OPT_ENUM, .def = "\"info\"", .offset = offsetof(global_opts, log_level),
     .choices = level_choices,
     .doc = "Least severe level logged."},
    {.name = "log_format", .type = CP_OPT_ENUM, .def = "\"auto\"", .offset = offsetof(global_opts, log_format),
     .choices = format_choices,
     .doc = "Log line format on stderr; auto is text on a terminal and logfmt otherwise."},
    {.name = "plugin_path", .type = CP_OPT_STRLIST, .offset = offsetof(global_opts, plugin_path),
     .doc = "Directories searched for plugins before $COINPIPE_PLUGIN_PATH, the build tree and the install directory; "
            "a relative one is relative to the config file's directory."},
    {.name = "workers", .type = CP_OPT_INT, .def = "4", .min = 1, .max = 256,
     .offset = offsetof(global_opts, workers),
     .doc = "Threads that run pipeline cycles concurrently."},
    {.name = "shutdown_timeout", .type = CP_OPT_DURATION, .def = "\"30s\"", .max = 86400000,
     .offset = offsetof(global_opts, shutdown_timeout),
     .doc = "How long SIGTERM waits for in-flight cycles and sink queues to drain; "
     "then what is left stays in the spool (0: no bound)."},
    {.name = "http_listen", .type = CP_OPT_STRING, .offset = offsetof(global_opts, http_listen),
     .doc = "Address (numeric IP:port, e.g. \"127.0.0.1:9273\"; \":9273\" is every interface) of the listener "
     "serving the dashboard (/), its JSON API (/api/v1/), GET /metrics and GET /health; off when unset. "
     "An address beyond loopback is warned about at start. Read at start only."},
    {.name = "http_auth_token", .type = CP_OPT_STRING, .flags = CP_OPT_SECRET,
     .offset = offsetof(global_opts, http_auth_token),
     .doc = "Bearer token the listener requires on every path but /health (header \"Authorization: Bearer TOKEN\", "
     "or ?access_token=TOKEN for a browser); none when unset. Read at start only."},
    {.name = "http_memory_budget", .type = CP_OPT_SIZE, .def = "\"256M\"", .min = 1048576, .max = 68719476736.0,
     .offset = offsetof(global_opts, http_memory_budget),
     .doc = "Bytes the process may hold of what servers sent: HTTP response bodies (decompressed) from their "
     "first byte until the plugin releases them, and WebSocket messages being assembled or waiting to be read; a "
     "response that would pass it fails, a WebSocket connection is closed, with an error naming the host. Read at "
     "start only."},
    {.name = "retry_after_max", .type = CP_OPT_DURATION, .def = "\"5m\"", .min = 1000, .max = 86400000,
     .offset = offsetof(global_opts, retry_after_max),
     .doc = "Longest Retry-After (429, 5xx) waited for; a longer one fails the request and pauses that host for the "
     "source until then (logged). Read at start only."},
    {.name = "http_redirects", .type = CP_OPT_ENUM, .def = "\"none\"",
     .offset = offsetof(global_opts, http_redirects), .choices = redirect_choices,
     .doc = "Which HTTP redirects are followed: none, or same-host-https (https on the same host and port; headers "
     "and keys never go to another origin). Read at start only."},
    {.name = "cycle_log", .type = CP_OPT_ENUM, .def = "\"info\"", .offset = offsetof(global_opts, cycle_log),
     .choices = cycle_log_choices,
     .doc = "Level of the line each poll cycle logs (pipeline, rows per stream, duration, skipped ticks): info, or "
     "debug to see it only with log_level = \"debug\". A pipeline's own cycle_log overrides it."},
    CP_OPTION_END,
};

int core_config_state_dir_usable(const core_config *c, char *err, size_t errlen)
{
    if (core_util_mkdirs(c->state_dir, 0750) == 0 && access(c->state_dir, W_OK | X_OK) == 0)
        return 0;
    const char *why = strerror(errno);
    if (c->state_dir_from == CORE_STATE_DIR_OPTION)
        snprintf(err, errlen, "%s:%d: state directory %s (global.state_dir): %s", c->file, c->state_dir_line,
                 c->state_dir, why);
    else if (c->state_dir_from == CORE_STATE_DIR_ENV)
        snprintf(err, errlen, "state directory %s (from STATE_DIRECTORY): %s; set global.state_dir in %s or "
                 "STATE_DIRECTORY to a directory you can write", c->state_dir, why, c->file);
    else
        snprintf(err, errlen, "state directory %s: %s; it is the default because %s sets no global.state_dir: set "
                 "one you can write, e.g. global = { state_dir = \"/home/me/.local/state/coinpipe\"; } (or the "
                 "STATE_DIRECTORY environment variable)", c->state_dir, why, c->file);
    return -1;
}

/* ---- pipeline -------------------------------------------------------------------- */
typedef struct pipeline_opts {
    char *name;
    int64_t interval;
    char *schedule;
    int64_t jitter;
    bool enabled;
    bool run_at_start;
    int64_t batch_interval;
    int64_t batch_rows;
    char *cycle_log;
} pipeline_opts;

static const cp_option pipeline_options[] = {
    {.name = "name", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(pipeline_opts, name),
     .doc = "Unique name of the pipeline (used in logs, state and spool paths)."},
    {.name = "interval", .type = CP_OPT_DURATION, .min = 100, .max = 31 * 86400000.0,
     .offset = offsetof(pipeline_opts, interval),
     .doc = "Run every interval, aligned to the wall clock (5m fires at :00, :05, ...)."},
    {.name = "schedule", .type = CP_OPT_STRING, .offset = offsetof(pipeline_opts, schedule),
     .doc = "5-field cron expression in UTC (minute hour day-of-month month day-of-week), instead of interval."},
    {.name = "jitter", .type = CP_OPT_DURATION, .def = "\"0s\"", .max = 3600000,
     .offset = offsetof(pipeline_opts, jitter),
     .doc = "Random delay up to this long added to each tick, to spread load."},
    {.name = "enabled", .type = CP_OPT_BOOL, .def = "true", .offset = offsetof(pipeline_opts, enabled),
     .doc = "Set to false to keep a pipeline in the file without running it."},
    {.name = "run_at_start", .type = CP_OPT_BOOL, .def = "true", .offset = offsetof(pipeline_opts, run_at_start),
     .doc = "Run one cycle as soon as coinpipe starts, then follow the schedule."},
    {.name = "batch_interval", .type = CP_OPT_DURATION, .def = "\"10ms\"", .min = 0, .max = 60000,
     .offset = offsetof(pipeline_opts, batch_interval),
     .doc = "Continuous pipelines (no interval, no schedule): the longest a row waits for its micro-batch; rows are "
            "committed as they come, at most once per this interval (0: as soon as the previous commit is done)."},
    {.name = "batch_rows", .type = CP_OPT_INT, .def = "10000", .min = 1, .max = 10000000,
     .offset = offsetof(pipeline_opts, batch_rows),
     .doc = "Continuous pipelines: a micro-batch is cut early once this many rows are pending."},
    {.name = "cycle_log", .type = CP_OPT_ENUM, .offset = offsetof(pipeline_opts, cycle_log),
     .choices = cycle_log_choices,
     .doc = "Level of this pipeline's line per cycle: info or debug (default: global.cycle_log)."},
    CP_OPTION_END,
};
static const char *const pipeline_reserved[] = {"source", "transforms", "sinks", NULL};

/* ---- sink options the core handles for every sink --------------------------------- */
typedef struct sink_core_opts {
    int64_t queue_size;
    int64_t retry_initial;
    int64_t retry_max;
    int64_t retry_max_attempts;
    bool spool;
    int64_t spool_max_bytes;
    char *overflow;
} sink_core_opts;

static const char *const overflow_choices[] = {"block", "drop_oldest", "drop_newest", NULL};

static const cp_option sink_core_options[] = {
    {.name = "queue_size", .type = CP_OPT_INT, .def = "1000", .min = 1, .max = 10000000,
     .offset = offsetof(sink_core_opts, queue_size),
     .doc = "Batches the sink's queue holds before the pipeline waits."},
    {.name = "retry_initial_interval", .type = CP_OPT_DURATION, .def = "\"1s\"", .min = 1, .max = 86400000,
     .offset = offsetof(sink_core_opts, retry_initial),
     .doc = "First wait after a failed write; doubles on each further failure (with full jitter)."},
    {.name = "retry_max_interval", .type = CP_OPT_DURATION, .def = "\"5m\"", .min = 1, .max = 86400000,
     .offset = offsetof(sink_core_opts, retry_max),
     .doc = "Longest wait between write attempts."},
    {.name = "retry_max_attempts", .type = CP_OPT_INT, .def = "0", .max = 1000000,
     .offset = offsetof(sink_core_opts, retry_max_attempts),
     .doc = "Write attempts per batch before it is moved to the dead-letter directory; 0 retries forever."},
    {.name = "spool", .type = CP_OPT_BOOL, .def = "true", .offset = offsetof(sink_core_opts, spool),
     .doc = "Keep the queue on disk under state_dir/spool, so unconfirmed batches survive outages and restarts."},
    {.name = "spool_max_bytes", .type = CP_OPT_SIZE, .def = "\"1G\"", .min = 4096, .max = 1e15,
     .offset = offsetof(sink_core_opts, spool_max_bytes),
     .doc = "Most bytes the sink's spool may hold; what happens at the bound is set by overflow."},
    {.name = "overflow", .type = CP_OPT_ENUM, .def = "\"block\"", .offset = offsetof(sink_core_opts, overflow),
     .choices = overflow_choices,
     .doc = "At the bound: block (the pipeline waits and skips ticks), drop_oldest or drop_newest; drops are counted and logged."},
    CP_OPTION_END,
};

const cp_option *core_config_sink_options(void) { return sink_core_options; }
const cp_option *core_config_global_options(void) { return global_options; }
const cp_option *core_config_pipeline_options(void) { return pipeline_options; }

static const char *setting_file(const config_setting_t *s)
{
    const char *f = config_setting_source_file(s);
    return f ? f : "<config>";
}

static void element_free(core_element_cfg *e)
{
    if (e->plugin) {
        core_options_free(e->plugin->desc.options, e->cfg);
        core_loader_put(e->plugin);
    }
    free(e->cfg);
    free(e->name);
    free(e->plugin_name);
    *e = (core_element_cfg){0};
}

/* The shared block a pipeline element refers to with use = "NAME" (top-level `shared`), in *base;
 * false (reported) when the reference is wrong. No `use`: true, *base NULL. */
static bool shared_block(const config_setting_t *shared, const config_setting_t *g, const char *pipeline,
                         const config_setting_t **base, const char **use_name, core_errors *errs)
{
    *base = NULL;
    *use_name = NULL;
    const config_setting_t *use = config_setting_get_member(g, "use");
    if (!use)
        return true;
    const char *file = setting_file(use);
    int line = config_setting_source_line(use);
    const char *ref = config_setting_get_string(use);
    if (!ref) {
        core_errors_add(errs, "%s:%d: pipeline '%s': 'use' must be a string naming a block of the top-level "
                        "'shared' group", file, line, pipeline);
        return false;
    }
    const config_setting_t *b = shared ? config_setting_get_member(shared, ref) : NULL;
    if (!b || config_setting_type(b) != CONFIG_TYPE_GROUP) {
        cp_buf names = {0};
        for (int i = 0; shared && i < config_setting_length(shared); i++)
            cp_buf_printf(&names, "%s%s", names.len ? ", " : "",
                          config_setting_name(config_setting_get_elem(shared, (unsigned)i)));
        core_errors_add(errs, "%s:%d: pipeline '%s': use = \"%s\": no such block in the top-level 'shared' group "
                        "(defined: %s)", file, line, pipeline, ref, names.len ? names.p : "none");
        cp_buf_free(&names);
        return false;
    }
    if (config_setting_get_member(b, "use")) {
        core_errors_add(errs, "%s:%d: shared block '%s' has 'use': a shared block cannot refer to another",
                        setting_file(b), config_setting_source_line(config_setting_get_member(b, "use")), ref);
        return false;
    }
    *base = b;
    *use_name = ref;
    return true;
}

/* Parses one source/transform/sink group, over the shared block it refers to (use = "NAME"):
 * every option comes from the group, else from the block. */
static void parse_element(core_config *c, const config_setting_t *shared, const char *pipeline,
                          const config_setting_t *g, cp_kind want, core_element_cfg *e, core_errors *errs)
{
    const char *file = setting_file(g);
    size_t before = errs->n;
    e->line = config_setting_source_line(g);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        core_errors_add(errs, "%s:%d: pipeline '%s': a %s must be a group { plugin = \"...\"; ... }", file, e->line,
                        pipeline, core_kind_name(want));
        return;
    }
    const config_setting_t *base, *ps;
    const char *use_name, *plugin = NULL;
    if (!shared_block(shared, g, pipeline, &base, &use_name, errs))
        return;
    if (!(ps = core_options_member(g, base, "plugin")) || !(plugin = config_setting_get_string(ps))) {
        core_errors_add(errs, "%s:%d: pipeline '%s': %s has no 'plugin = \"NAME\";'%s", file, e->line, pipeline,
                        core_kind_name(want), base ? " (nor has the shared block it uses)" : "");
        return;
    }
    const config_setting_t *ns = core_options_member(g, base, "name");
    const char *name = ns ? config_setting_get_string(ns) : NULL;
    e->plugin_name = strdup(plugin);
    e->name = strdup(name ? name : use_name ? use_name : plugin);
    char err[768];
    e->plugin = core_loader_get(&c->search, plugin, err, sizeof err);
    if (!e->plugin) {
        core_errors_add(errs, "%s:%d: %s", setting_file(ps), config_setting_source_line(ps), err);
        return;
    }
    const cp_plugin *d = &e->plugin->desc;
    if (d->kind != want) {
        core_errors_add(errs, "%s:%d: plugin '%s' is a %s, but it is used as a %s here", file, e->line, plugin,
                        core_kind_name(d->kind), core_kind_name(want));
        return;
    }
    e->cfg = calloc(1, d->config_size ? d->config_size : 1);
    if (!e->cfg) {
        core_errors_add(errs, "%s:%d: out of memory", file, e->line);
        return;
    }
    char what[160];
    snprintf(what, sizeof what, "plugin '%s'", plugin);
    if (want == CP_SINK) {
        const char *reserved[16] = {"plugin", "name", "use"};
        size_t k = 3;
        for (const cp_option *o = sink_core_options; o->name && k < 15; o++)
            reserved[k++] = o->name;
        reserved[k] = NULL;
        core_options_fill_over(d->options, g, base, e->cfg, reserved, what, errs);
        sink_core_opts so = {0};
        core_options_fill_over(sink_core_options, g, base, &so, NULL, what, errs);
        e->queue_size = so.queue_size;
        e->retry_initial_ms = so.retry_initial;
        e->retry_max_ms = so.retry_max;
        e->retry_max_attempts = so.retry_max_attempts;
        e->spool = so.spool;
        e->spool_max_bytes = so.spool_max_bytes;
        e->overflow = !so.overflow || strcmp(so.overflow, "block") == 0 ? CORE_OVERFLOW_BLOCK
                      : strcmp(so.overflow, "drop_oldest") == 0      ? CORE_OVERFLOW_DROP_OLDEST
                                                                     : CORE_OVERFLOW_DROP_NEWEST;
        free(so.overflow);
    } else if (want == CP_SOURCE) {
        static const char *const reserved[] = {"plugin", "name", "use", "shard", NULL};
        core_options_fill_over(d->options, g, base, e->cfg, reserved, what, errs);
        const char *shard = NULL;
        const config_setting_t *sh = core_options_member(g, base, "shard");
        if (sh && !(shard = config_setting_get_string(sh)))
            core_errors_add(errs, "%s:%d: source option 'shard' must be a string \"I/N\"", file,
                            config_setting_source_line(sh));
        else if (shard && !core_shard_parse(shard, &e->shard, err, sizeof err))
            core_errors_add(errs, "%s:%d: source option 'shard': %s", file, config_setting_source_line(sh), err);
        /* one config for N collectors: the systemd template unit coinpipe@I-N sets COINPIPE_SHARD=I/N */
        else if (!sh && getenv("COINPIPE_SHARD") && *getenv("COINPIPE_SHARD") &&
                 !core_shard_parse(getenv("COINPIPE_SHARD"), &e->shard, err, sizeof err))
            core_errors_add(errs, "%s:%d: environment variable COINPIPE_SHARD: %s", file, e->line, err);
    } else {
        static const char *const reserved[] = {"plugin", "name", "use", NULL};
        core_options_fill_over(d->options, g, base, e->cfg, reserved, what, errs);
    }
    /* the meaning of the values (stream names, options that need each other), once their types
     * are right: here, so that --check and every start refuse the same configs */
    if (errs->n == before)
        core_options_check_over(d, g, base, e->cfg, what, errs);
}

/* Makes instance names unique within a pipeline: a second "stdout" becomes "stdout-2". */
static void unique_names(core_pipeline_cfg *p)
{
    size_t total = 1 + p->ntransforms + p->nsinks;
    core_element_cfg **all = calloc(total, sizeof *all);
    if (!all)
        return;
    size_t n = 0;
    all[n++] = &p->source;
    for (size_t i = 0; i < p->ntransforms; i++)
        all[n++] = &p->transforms[i];
    for (size_t i = 0; i < p->nsinks; i++)
        all[n++] = &p->sinks[i];
    for (size_t i = 1; i < n; i++) {
        if (!all[i]->name)
            continue;
        int suffix = 2;
        for (size_t j = 0; j < i; j++) {
            if (!all[j]->name || strcmp(all[i]->name, all[j]->name) != 0)
                continue;
            char buf[256];
            snprintf(buf, sizeof buf, "%s-%d", all[i]->plugin_name ? all[i]->plugin_name : all[i]->name, suffix++);
            free(all[i]->name);
            all[i]->name = strdup(buf);
            j = (size_t)-1; /* rescan */
        }
    }
    free(all);
}

static void parse_list(core_config *c, const config_setting_t *shared, const char *pname,
                       const config_setting_t *list, cp_kind kind, core_element_cfg **out, size_t *nout,
                       core_errors *errs)
{
    int t = config_setting_type(list);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_GROUP) {
        core_errors_add(errs, "%s:%d: pipeline '%s': '%s' must be a list ( { plugin = \"...\"; }, ... )",
                        setting_file(list), config_setting_source_line(list), pname, config_setting_name(list));
        return;
    }
    if (t == CONFIG_TYPE_GROUP) { /* a single group is accepted as a list of one */
        *out = calloc(1, sizeof **out);
        if (!*out)
            return;
        *nout = 1;
        parse_element(c, shared, pname, list, kind, &(*out)[0], errs);
        return;
    }
    int n = config_setting_length(list);
    *out = calloc((size_t)(n ? n : 1), sizeof **out);
    if (!*out)
        return;
    *nout = (size_t)n;
    for (int i = 0; i < n; i++)
        parse_element(c, shared, pname, config_setting_get_elem(list, (unsigned)i), kind, &(*out)[i], errs);
}

static void parse_pipeline(core_config *c, const config_setting_t *shared, const config_setting_t *g,
                           core_pipeline_cfg *p, core_errors *errs)
{
    const char *file = setting_file(g);
    p->line = config_setting_source_line(g);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        core_errors_add(errs, "%s:%d: each pipeline must be a group { name = \"...\"; ... }", file, p->line);
        return;
    }
    pipeline_opts po = {0};
    core_options_fill(pipeline_options, g, &po, pipeline_reserved, "pipeline", errs);
    p->name = po.name;
    p->interval_ms = po.interval;
    p->schedule = po.schedule;
    p->jitter_ms = po.jitter;
    p->enabled = po.enabled;
    p->run_at_start = po.run_at_start;
    const char *pname = p->name ? p->name : "?";
    p->batch_interval_ms = po.batch_interval;
    p->batch_rows = po.batch_rows;
    p->cycle_log_level = !po.cycle_log ? -1 : strcmp(po.cycle_log, "debug") == 0 ? CP_LOG_DEBUG : CP_LOG_INFO;
    free(po.cycle_log);
    p->continuous = !config_setting_get_member(g, "schedule") && !config_setting_get_member(g, "interval");
    if (p->schedule && p->interval_ms)
        core_errors_add(errs, "%s:%d: pipeline '%s' has both interval and schedule; keep one", file, p->line, pname);
    if (p->schedule) {
        char err[256];
        if (core_sched_cron_parse(p->schedule, &p->cron, err, sizeof err) != 0)
            core_errors_add(errs, "%s:%d: pipeline '%s': schedule \"%s\": %s", file,
                            config_setting_source_line(config_setting_get_member(g, "schedule")), pname, p->schedule,
                            err);
    }
    if (p->interval_ms && p->jitter_ms >= p->interval_ms)
        core_errors_add(errs, "%s:%d: pipeline '%s': jitter must be shorter than the interval", file, p->line, pname);
    const config_setting_t *src = config_setting_get_member(g, "source");
    if (!src)
        core_errors_add(errs, "%s:%d: pipeline '%s' has no source = { plugin = \"...\"; };", file, p->line, pname);
    else
        parse_element(c, shared, pname, src, CP_SOURCE, &p->source, errs);
    if (src && p->continuous && p->source.plugin && !p->source.plugin->desc.run)
        core_errors_add(errs, "%s:%d: pipeline '%s' needs interval = \"1m\"; or schedule = \"*/5 * * * *\"; (plugin '%s' "
                        "cannot run continuously)", file, p->line, pname, p->source.plugin->name);
    const config_setting_t *tr = config_setting_get_member(g, "transforms");
    if (tr)
        parse_list(c, shared, pname, tr, CP_TRANSFORM, &p->transforms, &p->ntransforms, errs);
    const config_setting_t *sk = config_setting_get_member(g, "sinks");
    if (!sk || (config_setting_type(sk) == CONFIG_TYPE_LIST && config_setting_length(sk) == 0))
        core_errors_add(errs, "%s:%d: pipeline '%s' has no sinks = ( { plugin = \"...\"; } );", file, p->line, pname);
    else
        parse_list(c, shared, pname, sk, CP_SINK, &p->sinks, &p->nsinks, errs);
    unique_names(p);
}

core_config *core_config_load(const char *file, core_errors *errs)
{
    core_config *c = calloc(1, sizeof *c);
    if (!c) {
        core_errors_add(errs, "%s: out of memory", file);
        return NULL;
    }
    c->file = strdup(file);
    config_t lc;
    config_init(&lc);
    char *dircopy = strdup(file);
    const char *confdir = dircopy ? dirname(dircopy) : NULL; /* dirname may return a static "." */
    if (confdir)
        config_set_include_dir(&lc, confdir);
    struct stat fst;
    if (stat(file, &fst) == 0 && fst.st_size > CORE_CONFIG_MAX_BYTES) {
        /* libconfig's scanner is quadratic in a long string: a 16 MB one takes minutes */
        core_errors_add(errs, "%s:1: the config file is %lld bytes, more than the %d coinpipe reads", file,
                        (long long)fst.st_size, CORE_CONFIG_MAX_BYTES);
        goto fail;
    }
    if (config_read_file(&lc, file) != CONFIG_TRUE) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
            core_errors_add(errs, "%s: cannot read config file", file);
        else
            core_errors_add(errs, "%s:%d: syntax error: %s", config_error_file(&lc) ? config_error_file(&lc) : file,
                            config_error_line(&lc), config_error_text(&lc));
        goto fail;
    }
    config_setting_t *root = config_root_setting(&lc);
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *n = config_setting_name(s);
        if (n && strcmp(n, "global") != 0 && strcmp(n, "pipelines") != 0 && strcmp(n, "shared") != 0)
            core_errors_add(errs, "%s:%d: unknown top-level setting '%s' (valid: global, shared, pipelines)",
                            setting_file(s), config_setting_source_line(s), n);
    }
    /* shared = { NAME = { plugin = "..."; ... }; ... }: blocks pipeline elements refer to with use = "NAME" */
    const config_setting_t *shared = config_lookup(&lc, "shared");
    if (shared && config_setting_type(shared) != CONFIG_TYPE_GROUP) {
        core_errors_add(errs, "%s:%d: 'shared' must be a group of named blocks { lake = { plugin = \"...\"; ... }; }",
                        setting_file(shared), config_setting_source_line(shared));
        shared = NULL;
    }
    for (int i = 0; shared && i < config_setting_length(shared); i++) {
        const config_setting_t *b = config_setting_get_elem(shared, (unsigned)i);
        if (config_setting_type(b) != CONFIG_TYPE_GROUP)
            core_errors_add(errs, "%s:%d: shared block '%s' must be a group { plugin = \"...\"; ... }", setting_file(b),
                            config_setting_source_line(b), config_setting_name(b));
    }
    global_opts go = {0};
    const config_setting_t *gs = config_lookup(&lc, "global");
    if (gs && config_setting_type(gs) != CONFIG_TYPE_GROUP) {
        core_errors_add(errs, "%s:%d: 'global' must be a group { ... }", setting_file(gs),
                        config_setting_source_line(gs));
        gs = NULL;
    }
    static const char *const no_reserved[] = {NULL};
    core_options_fill(global_options, gs, &go, no_reserved, "global", errs);
    const char *sd = go.state_dir ? go.state_dir : getenv("STATE_DIRECTORY");
    c->state_dir = strdup(sd && *sd ? sd : "/var/lib/coinpipe");
    c->state_dir_from = go.state_dir ? CORE_STATE_DIR_OPTION : sd && *sd ? CORE_STATE_DIR_ENV : CORE_STATE_DIR_DEFAULT;
    c->state_dir_line = gs && config_setting_get_member(gs, "state_dir")
                            ? config_setting_source_line(config_setting_get_member(gs, "state_dir"))
                            : 0;
    free(go.state_dir);
    c->log_level = CP_LOG_INFO;
    if (go.log_level)
        core_log_parse_level(go.log_level, &c->log_level);
    c->log_format = CORE_LOG_LOGFMT;
    if (go.log_format)
        core_log_parse_format(go.log_format, &c->log_format);
    free(go.log_level);
    free(go.log_format);
    c->plugin_path = go.plugin_path;
    /* a relative plugin_path names a directory beside the config file, wherever coinpipe starts */
    char *absdir = confdir ? realpath(confdir, NULL) : NULL;
    for (size_t i = 0; absdir && i < c->plugin_path.n; i++) {
        const char *d = c->plugin_path.v[i];
        if (d[0] == '/' || !d[0])
            continue;
        cp_buf abs = {0};
        cp_buf_printf(&abs, "%s/%s", absdir, d);
        if (abs.oom) {
            cp_buf_free(&abs);
            continue;
        }
        free(c->plugin_path.v[i]);
        c->plugin_path.v[i] = abs.p;
    }
    free(absdir);
    c->workers = go.workers;
    c->shutdown_timeout_ms = go.shutdown_timeout;
    c->http_listen = go.http_listen;
    c->http_auth_token = go.http_auth_token;
    c->http_memory_budget = (size_t)go.http_memory_budget;
    c->retry_after_max_ms = go.retry_after_max;
    c->http_redirects_same_host_https = go.http_redirects && strcmp(go.http_redirects, "same-host-https") == 0;
    free(go.http_redirects);
    c->cycle_log_level = go.cycle_log && strcmp(go.cycle_log, "debug") == 0 ? CP_LOG_DEBUG : CP_LOG_INFO;
    free(go.cycle_log);
    if (c->http_listen) {
        struct sockaddr_storage ss;
        size_t sslen;
        char err[300];
        if (core_listener_parse(c->http_listen, &ss, &sslen, err, sizeof err) != 0)
            core_errors_add(errs, "%s:%d: global.http_listen: %s", file,
                            config_setting_source_line(config_setting_get_member(gs, "http_listen")), err);
    }
    core_loader_search_path(&c->plugin_path, &c->search);

    const config_setting_t *pl = config_lookup(&lc, "pipelines");
    if (!pl) {
        core_errors_add(errs, "%s:1: no 'pipelines = ( { name = \"...\"; ... } );' list", file);
    } else if (config_setting_type(pl) != CONFIG_TYPE_LIST) {
        core_errors_add(errs, "%s:%d: 'pipelines' must be a list ( {...}, {...} )", setting_file(pl),
                        config_setting_source_line(pl));
    } else {
        int n = config_setting_length(pl);
        if (n == 0)
            core_errors_add(errs, "%s:%d: 'pipelines' is empty", setting_file(pl), config_setting_source_line(pl));
        c->pipelines = calloc((size_t)(n ? n : 1), sizeof *c->pipelines);
        if (c->pipelines) {
            c->npipelines = (size_t)n;
            for (int i = 0; i < n; i++)
                parse_pipeline(c, shared, config_setting_get_elem(pl, (unsigned)i), &c->pipelines[i], errs);
            for (size_t i = 0; i < c->npipelines; i++)
                for (size_t j = 0; j < i; j++)
                    if (c->pipelines[i].name && c->pipelines[j].name &&
                        strcmp(c->pipelines[i].name, c->pipelines[j].name) == 0)
                        core_errors_add(errs, "%s:%d: duplicate pipeline name '%s' (first at line %d)", file,
                                        c->pipelines[i].line, c->pipelines[i].name, c->pipelines[j].line);
        }
    }
fail:
    free(dircopy);
    config_destroy(&lc);
    if (errs->n) {
        core_config_free(c);
        return NULL;
    }
    return c;
}

void core_config_free(core_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->npipelines; i++) {
        core_pipeline_cfg *p = &c->pipelines[i];
        element_free(&p->source);
        for (size_t k = 0; k < p->ntransforms; k++)
            element_free(&p->transforms[k]);
        for (size_t k = 0; k < p->nsinks; k++)
            element_free(&p->sinks[k]);
        free(p->transforms);
        free(p->sinks);
        free(p->name);
        free(p->schedule);
    }
    free(c->pipelines);
    core_loader_search_path_free(&c->search);
    for (size_t i = 0; i < c->plugin_path.n; i++)
        free(c->plugin_path.v[i]);
    free(c->plugin_path.v);
    free(c->state_dir);
    free(c->http_listen);
    free(c->http_auth_token);
    free(c->file);
    free(c);
}
