/* coinpipe: command-line entry point (run, --once, --check, plugins, backfill, gaps, ddl).
 * SPDX-License-Identifier: MIT
 */
#include "api.h"
#include "config.h"
#include "ddl.h"
#include "dead.h"
#include "gaps.h"
#include "listener.h"
#include "loader.h"
#include "log.h"
#include "manpage.h"
#include "notify.h"
#include "options.h"
#include "runtime.h"
#include "status.h"
#include "util.h"

#include <getopt.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef COINPIPE_CONF_DIR
#define COINPIPE_CONF_DIR "/etc/coinpipe"
#endif

/* GnuTLS is in the process only as a dependency of libcurl's (librtmp, libldap), which
 * initialise it themselves before use, as does libmicrohttpd when the metrics listener loads
 * it. Its implicit initialisation at load (ASN.1 trees, crypto back-ends: about 0.8 MB of
 * resident pages and heap) is skipped the way gnutls.h's GNUTLS_SKIP_GLOBAL_INIT does it;
 * the link exports this symbol so that GnuTLS's constructor finds it. */
__attribute__((visibility("default"))) int _gnutls_global_init_skip(void);
__attribute__((visibility("default"))) int _gnutls_global_init_skip(void) { return 1; }

#ifdef COINPIPE_HAVE_DDL
int core_ddl_print(const core_config *cfg, const char *dialect, FILE *out, core_errors *errs);
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: coinpipe [OPTIONS]\n"
            "       coinpipe backfill --pipeline NAME --from DATE --to DATE [-c FILE]\n"
            "       coinpipe gaps --pipeline NAME [--from DATE] [--to DATE] [--fill] [-c FILE]\n"
            "       coinpipe dead list|replay [--pipeline NAME] [--sink NAME] [-c FILE]\n"
            "       coinpipe status [HOST:PORT] [-c FILE]\n"
#ifdef COINPIPE_HAVE_DDL
            "       coinpipe ddl athena|snowflake|postgresql [-c FILE]\n"
#endif
            "\n"
            "Collects cryptocurrency market data through the pipelines of a config file.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE       config file (default %s/coinpipe.conf)\n"
            "      --check             validate the config and its plugins, then exit (0 valid, 1 not)\n"
            "      --once              run every pipeline one cycle, flush all sinks, exit (1 if a stage failed)\n"
            "  -p, --pipeline NAME     run only this pipeline\n"
            "      --list-plugins      list the plugins found on the search path\n"
            "      --describe PLUGIN   show a plugin's options\n"
            "      --log-level LEVEL   error, warn, info or debug (overrides global.log_level)\n"
            "  -V, --version           print the version\n"
            "  -h, --help              print this help\n"
            "\n"
            "gaps: lists the missing candle ranges in the pipeline's first SQL sink (sqlite, postgresql),\n"
            "for the series its source collects: one line per gap on stdout,\n"
            "  EXCHANGE  SYMBOL  INTERVAL  FIRST_MISSING  END  N candles\n"
            "with END exclusive (the open time of the next stored candle), times ISO-8601 UTC, and a\n"
            "summary on stderr. Holes between stored candles always; with --from also from DATE to the\n"
            "first candle, with --to also from the last candle to DATE (closed candles only).\n"
            "--fill backfills the gaps through the pipeline, then lists what is still missing.\n"
            "Exit status 0: no gaps, 1: gaps (left), 2: error.\n"
            "DATE: 2024-01-01, 2024-01-01T12:30:00Z or milliseconds since the epoch.\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop (finishing cycles and draining sinks), SIGHUP reloads the config.\n",
            COINPIPE_CONF_DIR);
}

/* global.plugin_path of a config file, without validating the rest (for --list-plugins) */
static void config_plugin_path(const char *file, cp_strlist *out)
{
    *out = (cp_strlist){0};
    config_t c;
    config_init(&c);
    if (config_read_file(&c, file) == CONFIG_TRUE) {
        config_setting_t *s = config_lookup(&c, "global.plugin_path");
        int n = s ? config_setting_length(s) : 0;
        out->v = calloc((size_t)n + 1, sizeof *out->v);
        for (int i = 0; out->v && i < n; i++) {
            const char *v = config_setting_get_string_elem(s, i);
            if (v)
                out->v[out->n++] = strdup(v);
        }
    }
    config_destroy(&c);
}

/* global.http_listen of a config file, without validating the rest (for `status`) */
static char *config_http_listen(const char *file)
{
    char *out = NULL;
    config_t c;
    config_init(&c);
    const char *v = NULL;
    if (config_read_file(&c, file) == CONFIG_TRUE && config_lookup_string(&c, "global.http_listen", &v))
        out = strdup(v);
    config_destroy(&c);
    return out;
}

static int status(const char *conf, const char *addr)
{
    char *listen = addr ? strdup(addr) : config_http_listen(conf);
    if (!listen) {
        fprintf(stderr, "coinpipe status: %s sets no global.http_listen; give the address: coinpipe status "
                        "127.0.0.1:9273\n", conf);
        return 2;
    }
    int rc = core_status_main(listen, stdout);
    free(listen);
    return rc;
}

/* --describe-man WHAT (hidden; the build generates coinpipe.conf(5) with it): when
 * $COINPIPE_PLUGIN_PATH is set only those directories are searched, so the page documents
 * exactly the plugins just built */
static int describe_man(const char *what)
{
    core_search_path sp = {0};
    cp_strlist none = {0};
    const char *env = getenv("COINPIPE_PLUGIN_PATH");
    if (env && *env) {
        char *copy = strdup(env), *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok; tok = strtok_r(NULL, ":", &save)) {
            char **d = realloc(sp.dirs, (sp.n + 1) * sizeof *d);
            if (d && (d[sp.n] = strdup(tok)) != NULL)
                sp.n++;
            if (d)
                sp.dirs = d;
        }
        free(copy);
    } else {
        core_loader_search_path(&none, &sp);
    }
    int rc = core_manpage_print(what, &sp, stdout);
    core_loader_search_path_free(&sp);
    return rc;
}

static void strlist_free(cp_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void print_plugin_row(core_plugin *p, void *user)
{
    fprintf(stdout, "%-18s %-9s %-8s %s\n", p->name, core_kind_name(p->desc.kind),
            p->desc.version ? p->desc.version : "-", p->desc.description ? p->desc.description : "");
    (*(int *)user)++;
}

static int list_plugins(const char *conf)
{
    cp_strlist dirs;
    config_plugin_path(conf, &dirs);
    core_search_path sp;
    core_loader_search_path(&dirs, &sp);
    fprintf(stdout, "%-18s %-9s %-8s %s\n", "NAME", "KIND", "VERSION", "DESCRIPTION");
    int count = 0;
    int errors = core_loader_each(&sp, print_plugin_row, &count, true);
    if (!count)
        fprintf(stderr, "coinpipe: no plugins found (searched %zu directories)\n", sp.n);
    core_loader_search_path_free(&sp);
    strlist_free(&dirs);
    return count && !errors ? 0 : 1;
}

static int describe(const char *conf, const char *name)
{
    cp_strlist dirs;
    config_plugin_path(conf, &dirs);
    core_search_path sp;
    core_loader_search_path(&dirs, &sp);
    char err[768];
    core_plugin *p = core_loader_get(&sp, name, err, sizeof err);
    int rc = 0;
    if (!p) {
        fprintf(stderr, "coinpipe: %s\n", err);
        rc = 1;
    } else {
        fprintf(stdout, "%s (%s plugin, version %s)\n  %s\n  file: %s\n\noptions:\n", p->name,
                core_kind_name(p->desc.kind), p->desc.version ? p->desc.version : "-",
                p->desc.description ? p->desc.description : "", p->path);
        core_options_describe(p->desc.options, stdout);
        fprintf(stdout, "\ncommon options:\n");
        static const cp_option common[] = {
            {"plugin", CP_OPT_STRING, NULL, CP_OPT_REQUIRED, 0, 0, 0, NULL, "Which plugin this element runs."},
            {"name", CP_OPT_STRING, NULL, 0, 0, 0, 0, NULL,
             "Instance name, unique in its pipeline (default: the plugin name)."},
            {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};
        core_options_describe(common, stdout);
        if (p->desc.kind == CP_SINK)
            core_options_describe(core_config_sink_options(), stdout);
        core_loader_put(p);
    }
    core_loader_search_path_free(&sp);
    strlist_free(&dirs);
    return rc;
}

static core_config *load_or_report(const char *conf)
{
    core_errors errs = {0};
    core_config *cfg = core_config_load(conf, &errs);
    if (!cfg) {
        core_errors_print(&errs, stderr);
        fprintf(stderr, "coinpipe: %s: %zu error%s\n", conf, errs.n, errs.n == 1 ? "" : "s");
    }
    core_errors_free(&errs);
    return cfg;
}

/* "2024-01-01", "2024-01-01T12:30:00Z" or milliseconds since the epoch */
static int parse_date(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end) {
        memset(&tm, 0, sizeof tm);
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (end && (*end == '\0' || strcmp(end, "Z") == 0)) {
        *ms = (int64_t)timegm(&tm) * 1000;
        return 0;
    }
    char *e;
    long long v = strtoll(s, &e, 10);
    if (*s && !*e) {
        *ms = v;
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char *conf = COINPIPE_CONF_DIR "/coinpipe.conf";
    const char *describe_man_what = NULL;
    const char *pipeline = NULL, *describe_name = NULL, *log_level = NULL, *from = NULL, *to = NULL, *sink = NULL;
    bool check = false, once = false, list = false, fill = false;
    enum { OPT_CHECK = 256, OPT_ONCE, OPT_LIST, OPT_DESCRIBE, OPT_LOGLEVEL, OPT_FROM, OPT_TO, OPT_SINK, OPT_DESCRIBE_MAN,
           OPT_FILL };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"check", no_argument, NULL, OPT_CHECK},
        {"once", no_argument, NULL, OPT_ONCE},      {"pipeline", required_argument, NULL, 'p'},
        {"list-plugins", no_argument, NULL, OPT_LIST}, {"describe", required_argument, NULL, OPT_DESCRIBE},
        {"log-level", required_argument, NULL, OPT_LOGLEVEL}, {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},    {"sink", required_argument, NULL, OPT_SINK},
        {"version", no_argument, NULL, 'V'},        {"describe-man", required_argument, NULL, OPT_DESCRIBE_MAN},
        {"fill", no_argument, NULL, OPT_FILL},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *command = NULL;
    if (argc > 1 && argv[1][0] != '-') {
        command = argv[1];
        argv++;
        argc--;
    }
    int c;
    while ((c = getopt_long(argc, argv, "c:p:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': conf = optarg; break;
        case 'p': pipeline = optarg; break;
        case OPT_CHECK: check = true; break;
        case OPT_ONCE: once = true; break;
        case OPT_LIST: list = true; break;
        case OPT_DESCRIBE: describe_name = optarg; break;
        case OPT_LOGLEVEL: log_level = optarg; break;
        case OPT_FROM: from = optarg; break;
        case OPT_TO: to = optarg; break;
        case OPT_SINK: sink = optarg; break;
        case OPT_DESCRIBE_MAN: describe_man_what = optarg; break;
        case OPT_FILL: fill = true; break;
        case 'V': printf("coinpipe %s (plugin ABI %d.%d)\n", COINPIPE_VERSION, CP_ABI_MAJOR, CP_ABI_MINOR); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    bool takes_arg = command && (strcmp(command, "ddl") == 0 || strcmp(command, "dead") == 0 ||
                                 strcmp(command, "status") == 0);
    if (optind < argc && !(takes_arg && optind == argc - 1)) {
        fprintf(stderr, "coinpipe: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    core_log_format fmt = CORE_LOG_LOGFMT;
    core_log_parse_format("auto", &fmt);
    cp_log_level level = CP_LOG_INFO;
    if (log_level && core_log_parse_level(log_level, &level) != 0) {
        fprintf(stderr, "coinpipe: --log-level must be error, warn, info or debug\n");
        return 2;
    }
    core_log_setup(level, fmt);
    if (core_loader_init() != 0) {
        fprintf(stderr, "coinpipe: cannot initialise the plugin loader\n");
        return 1;
    }
    int rc = 0;
    if (list) {
        rc = list_plugins(conf);
        goto out;
    }
    if (describe_name) {
        rc = describe(conf, describe_name);
        goto out;
    }
    if (describe_man_what) {
        rc = describe_man(describe_man_what);
        goto out;
    }
    if (command && strcmp(command, "status") == 0) {
        rc = status(conf, optind < argc ? argv[optind] : NULL);
        goto out;
    }
    bool gaps = command && strcmp(command, "gaps") == 0;
    core_gaps_opts gopts = {.pipeline = pipeline, .has_from = from != NULL, .has_to = to != NULL, .fill = fill};
    if (gaps && (!pipeline || (from && parse_date(from, &gopts.from_ms) != 0) ||
                 (to && parse_date(to, &gopts.to_ms) != 0))) {
        fprintf(stderr, "coinpipe: gaps needs --pipeline NAME [--from DATE] [--to DATE] [--fill] "
                        "(DATE as 2024-01-01 or 2024-01-01T00:00:00Z)\n");
        rc = 2;
        goto out;
    }
    if (fill && !gaps) {
        fprintf(stderr, "coinpipe: --fill goes with the gaps command\n");
        rc = 2;
        goto out;
    }
    if (gaps && from && to && gopts.to_ms <= gopts.from_ms) {
        fprintf(stderr, "coinpipe: gaps: --to must be after --from\n");
        rc = 2;
        goto out;
    }
    core_config *cfg = load_or_report(conf);
    if (!cfg) {
        rc = gaps ? 2 : 1;
        goto out;
    }
    core_log_setup(log_level ? level : cfg->log_level, cfg->log_format);
    if (check) {
        size_t n = 0;
        for (size_t i = 0; i < cfg->npipelines; i++)
            n += 1 + cfg->pipelines[i].ntransforms + cfg->pipelines[i].nsinks;
        printf("%s: OK (%zu pipelines, %zu plugin instances)\n", conf, cfg->npipelines, n);
        core_config_free(cfg);
        goto out;
    }
    if (command && strcmp(command, "ddl") == 0) {
#ifdef COINPIPE_HAVE_DDL
        const char *dialect = optind < argc ? argv[optind] : NULL;
        if (!dialect) {
            fprintf(stderr, "coinpipe: ddl needs a dialect: athena, snowflake or postgresql\n");
            rc = 2;
        } else {
            core_errors errs = {0};
            rc = core_ddl_print(cfg, dialect, stdout, &errs);
            core_errors_print(&errs, stderr);
            core_errors_free(&errs);
        }
#else
        fprintf(stderr, "coinpipe: ddl is not available in this build\n");
        rc = 2;
#endif
        core_config_free(cfg);
        goto out;
    }
    if (gaps) {
        rc = core_gaps_main(cfg, &gopts);
        core_config_free(cfg);
        goto out;
    }
    if (command && strcmp(command, "dead") == 0) {
        rc = core_dead_main(cfg, optind < argc ? argv[optind] : NULL, pipeline, sink);
        core_config_free(cfg);
        goto out;
    }
    int64_t from_ms = 0, to_ms = 0;
    if (command && strcmp(command, "backfill") == 0) {
        if (!pipeline || !from || parse_date(from, &from_ms) != 0 || (to && parse_date(to, &to_ms) != 0)) {
            fprintf(stderr, "coinpipe: backfill needs --pipeline NAME --from DATE [--to DATE] "
                            "(DATE as 2024-01-01 or 2024-01-01T00:00:00Z)\n");
            core_config_free(cfg);
            rc = 2;
            goto out;
        }
        if (!to)
            to_ms = core_util_now_ms();
        if (to_ms <= from_ms) {
            fprintf(stderr, "coinpipe: backfill: --to must be after --from\n");
            core_config_free(cfg);
            rc = 2;
            goto out;
        }
    } else if (command) {
        fprintf(stderr, "coinpipe: unknown command '%s'\n", command);
        usage(stderr);
        core_config_free(cfg);
        rc = 2;
        goto out;
    }
    core_runtime_block_signals();
    core_run_opts opts = {.once = once, .only_pipeline = pipeline};
    char err[768];
    core_runtime *rt = core_runtime_new(cfg, &opts, err, sizeof err);
    if (!rt) {
        LOG_ERROR("%s", err);
        core_config_free(cfg);
        rc = 1;
        goto out;
    }
    if (command) {
        rc = core_runtime_backfill(rt, from_ms, to_ms);
    } else if (once) {
        rc = core_runtime_run_once(rt);
    } else if (core_listener_start(cfg->http_listen, cfg->http_auth_token, err, sizeof err) != 0) {
        LOG_ERROR("%s", err);
        rc = 1;
    } else {
        if (cfg->http_listen)
            core_api_open(cfg); /* the dashboard reads the stores back */
        core_notify_ready(cfg->npipelines);
        rc = core_runtime_run(rt, conf);
        core_listener_stop();
        core_api_close();
    }
    core_runtime_free(rt);
out:
    core_loader_shutdown();
    return rc;
}
