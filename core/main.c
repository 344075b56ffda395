/* coinpipe: command-line entry point: the command table and the options every command shares.
 * SPDX-License-Identifier: MIT
 */
#include "api.h"
#include "config.h"
#include "confine.h"
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

/* What a command is given: the options every command shares (getopt_long), and its one
 * positional argument (CMD_ARG) or the option's argument (CMD_OPTION). */
typedef struct cmd_args {
    const char *conf, *pipeline, *from, *to, *sink, *arg;
    const char *log_level; /* --log-level as given, NULL when not */
    cp_log_level level;    /* parsed --log-level */
    bool check, once, fill;
} cmd_args;

enum {
    CMD_ARG = 1u << 0,    /* takes one positional argument (a dialect, an action, an address) */
    CMD_OPTION = 1u << 1, /* chosen by the long option of the same name, not by a word */
    CMD_HIDDEN = 1u << 2, /* for the build, not in --help */
};

typedef struct cmd {
    const char *name;  /* `coinpipe NAME ...`, or `--NAME` with CMD_OPTION */
    int (*fn)(const cmd_args *a);
    unsigned flags;    /* CMD_* */
    const char *usage; /* what follows the name on the usage line */
    const char *help;  /* one line for --help */
    const char *more;  /* the details `coinpipe NAME --help` adds, or NULL */
} cmd;

static const cmd *find_command(const char *name, bool option);
static void usage(FILE *out);

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
            {.name = "plugin", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED,
             .doc = "Which plugin this element runs."},
            {.name = "name", .type = CP_OPT_STRING,
             .doc = "Instance name, unique in its pipeline (default: the plugin name)."},
            CP_OPTION_END};
        core_options_describe(common, stdout);
        if (p->desc.kind == CP_SINK)
            core_options_describe(core_config_sink_options(), stdout);
        for (const char *const *d = p->desc.ddl ? p->desc.ddl_dialects : NULL; d && *d; d++)
            fprintf(stdout, "%s%s", d == p->desc.ddl_dialects ? "\n`coinpipe ddl` dialects: " : ", ", *d);
        if (p->desc.ddl && p->desc.ddl_dialects && p->desc.ddl_dialects[0])
            fputc('\n', stdout);
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

/* ---- the commands -------------------------------------------------------------- */

/* The config every command but status and the plugin listings reads; NULL when invalid (the
 * errors are printed; *rc = fail_rc), or when --check asked only for that (*rc = 0, "OK" on
 * stdout). The caller frees it. */
static core_config *command_config(const cmd_args *a, int fail_rc, int *rc)
{
    if (a->check) {
        /* loading a plugin runs its constructors and the check runs its check callback: under
         * --check that code may read, but neither write a file nor connect anywhere */
        char why[200];
        if (!core_confine_readonly(why, sizeof why))
            fprintf(stderr, "coinpipe: warning: --check cannot confine the plugins' code (%s): their constructors "
                    "and checks run with this process's rights\n", why);
    }
    core_options_notes(a->check ? stdout : NULL); /* --check explains rules the plugins note */
    core_config *cfg = load_or_report(a->conf);
    if (!cfg) {
        *rc = fail_rc;
        return NULL;
    }
    core_log_setup(a->log_level ? a->level : cfg->log_level, cfg->log_format);
    if (a->check) {
        size_t n = 0;
        for (size_t i = 0; i < cfg->npipelines; i++)
            n += 1 + cfg->pipelines[i].ntransforms + cfg->pipelines[i].nsinks;
        printf("%s: OK (%zu pipelines, %zu plugin instances)\n", a->conf, cfg->npipelines, n);
        core_config_free(cfg);
        *rc = 0;
        return NULL;
    }
    return cfg;
}

static const char date_help[] = "(DATE as 2024-01-01 or 2024-01-01T00:00:00Z)";

/* the daemon, --once and backfill: everything the runtime drives; takes cfg */
static int run_runtime(const cmd_args *a, core_config *cfg, bool backfill, int64_t from_ms, int64_t to_ms)
{
    int rc;
    core_runtime_block_signals();
    core_run_opts opts = {.once = a->once, .only_pipeline = a->pipeline};
    char err[768];
    core_runtime *rt = core_runtime_new(cfg, &opts, err, sizeof err);
    if (!rt) {
        LOG_ERROR("%s", err);
        core_config_free(cfg);
        return 1;
    }
    if (backfill) {
        rc = core_runtime_backfill(rt, from_ms, to_ms);
    } else if (a->once) {
        rc = core_runtime_run_once(rt);
    } else if (core_listener_start(cfg->http_listen, cfg->http_auth_token, err, sizeof err) != 0) {
        LOG_ERROR("%s", err);
        rc = 1;
    } else {
        if (cfg->http_listen)
            core_api_open(cfg); /* the dashboard reads the stores back */
        core_notify_ready(cfg->npipelines);
        rc = core_runtime_run(rt, a->conf);
        core_listener_stop();
        core_api_close();
    }
    core_runtime_free(rt);
    return rc;
}

static int cmd_run(const cmd_args *a)
{
    int rc;
    core_config *cfg = command_config(a, 1, &rc);
    return cfg ? run_runtime(a, cfg, false, 0, 0) : rc;
}

static int cmd_backfill(const cmd_args *a)
{
    int rc;
    core_config *cfg = command_config(a, 1, &rc);
    if (!cfg)
        return rc;
    int64_t from_ms = 0, to_ms = 0;
    if (!a->pipeline || !a->from || parse_date(a->from, &from_ms) != 0 || (a->to && parse_date(a->to, &to_ms) != 0)) {
        fprintf(stderr, "coinpipe: backfill needs --pipeline NAME --from DATE [--to DATE] %s\n", date_help);
        core_config_free(cfg);
        return 2;
    }
    if (!a->to)
        to_ms = core_util_now_ms();
    if (to_ms <= from_ms) {
        fprintf(stderr, "coinpipe: backfill: --to must be after --from\n");
        core_config_free(cfg);
        return 2;
    }
    return run_runtime(a, cfg, true, from_ms, to_ms);
}

static int cmd_gaps(const cmd_args *a)
{
    core_gaps_opts o = {.pipeline = a->pipeline, .has_from = a->from != NULL, .has_to = a->to != NULL, .fill = a->fill};
    if (!a->pipeline || (a->from && parse_date(a->from, &o.from_ms) != 0) ||
        (a->to && parse_date(a->to, &o.to_ms) != 0)) {
        fprintf(stderr, "coinpipe: gaps needs --pipeline NAME [--from DATE] [--to DATE] [--fill] %s\n", date_help);
        return 2;
    }
    if (a->from && a->to && o.to_ms <= o.from_ms) {
        fprintf(stderr, "coinpipe: gaps: --to must be after --from\n");
        return 2;
    }
    int rc;
    core_config *cfg = command_config(a, 2, &rc);
    if (!cfg)
        return rc;
    rc = core_gaps_main(cfg, &o);
    core_config_free(cfg);
    return rc;
}

static int cmd_dead(const cmd_args *a)
{
    int rc;
    core_config *cfg = command_config(a, 1, &rc);
    if (!cfg)
        return rc;
    rc = core_dead_main(cfg, a->arg, a->pipeline, a->sink);
    core_config_free(cfg);
    return rc;
}

static int cmd_ddl(const cmd_args *a)
{
    int rc;
    core_config *cfg = command_config(a, 1, &rc);
    if (!cfg)
        return rc;
    if (!a->arg) {
        char dialects[512];
        core_ddl_dialects(cfg, dialects, sizeof dialects);
        fprintf(stderr, "coinpipe: ddl needs a dialect: one that a sink plugin renders (%s)\n", dialects);
        rc = 2;
    } else {
        core_errors errs = {0};
        rc = core_ddl_print(cfg, a->arg, stdout, &errs);
        core_errors_print(&errs, stderr);
        core_errors_free(&errs);
    }
    core_config_free(cfg);
    return rc;
}

static int cmd_status(const cmd_args *a)
{
    char *listen = a->arg ? strdup(a->arg) : config_http_listen(a->conf);
    if (!listen) {
        fprintf(stderr, "coinpipe status: %s sets no global.http_listen; give the address: coinpipe status "
                        "127.0.0.1:9273\n", a->conf);
        return 2;
    }
    int rc = core_status_main(listen, stdout);
    free(listen);
    return rc;
}

static int cmd_list_plugins(const cmd_args *a) { return list_plugins(a->conf); }
static int cmd_describe(const cmd_args *a) { return describe(a->conf, a->arg); }
static int cmd_describe_man(const cmd_args *a) { return describe_man(a->arg); }

static int cmd_help(const cmd_args *a)
{
    const cmd *c = a->arg ? find_command(a->arg, false) : NULL;
    if (a->arg && !c) {
        fprintf(stderr, "coinpipe: no command '%s'\n", a->arg);
        usage(stderr);
        return 2;
    }
    if (!c) {
        usage(stdout);
        return 0;
    }
    printf("Usage: coinpipe %s%s%s\n\n%s\n", c->name, *c->usage ? " " : "", c->usage, c->help);
    if (c->more)
        printf("\n%s", c->more);
    return 0;
}

/* The command table: `coinpipe WORD` runs the entry of that name, `coinpipe --OPTION` the
 * CMD_OPTION entry of that name, plain `coinpipe` runs "run". --help is written from it. */
static const cmd commands[] = {
    {"run", cmd_run, 0, "[-c FILE] [--once | --check] [-p NAME] [--log-level LEVEL]",
     "Collect: run the config's pipelines until SIGTERM (the default command).",
     "--once runs every pipeline one cycle, flushes all sinks and exits (1 if a stage failed);\n"
     "--check validates the config and its plugins, then exits (0 valid, 1 not).\n"
     "Signals: SIGTERM/SIGINT stop (finishing cycles and draining sinks), SIGHUP reloads the config.\n"},
    {"backfill", cmd_backfill, 0, "--pipeline NAME --from DATE [--to DATE] [-c FILE]",
     "Collect a pipeline's history for a time range through its source's backfill.",
     "--to defaults to now. DATE: 2024-01-01, 2024-01-01T12:30:00Z or milliseconds since the epoch.\n"},
    {"gaps", cmd_gaps, 0, "--pipeline NAME [--from DATE] [--to DATE] [--fill] [-c FILE]",
     "List the missing candle ranges of a pipeline's SQL sink; --fill backfills them.",
     "Lists the missing candle ranges in the pipeline's first SQL sink (the first sink whose plugin\n"
     "has the stored_series and candle_gaps callbacks),\n"
     "for the series its source collects: one line per gap on stdout,\n"
     "  EXCHANGE  SYMBOL  INTERVAL  FIRST_MISSING  END  N candles\n"
     "with END exclusive (the open time of the next stored candle), times ISO-8601 UTC, and a\n"
     "summary on stderr. Holes between stored candles always; with --from also from DATE to the\n"
     "first candle, with --to also from the last candle to DATE (closed candles only).\n"
     "--fill backfills the gaps through the pipeline, then lists what is still missing.\n"
     "Exit status 0: no gaps, 1: gaps (left), 2: error. SIGINT/SIGTERM stops after the series\n"
     "being read (exit status 2).\n"
     "DATE: 2024-01-01, 2024-01-01T12:30:00Z or milliseconds since the epoch.\n"},
    {"dead", cmd_dead, CMD_ARG, "list|replay [--pipeline NAME] [--sink NAME] [-c FILE]",
     "List the dead-letter files, or replay them into their sinks.",
     "replay writes each file into the sink it came from, as configured now, and removes it once\n"
     "written; SIGINT/SIGTERM ends the current write early and keeps the rest (exit status 1).\n"},
    {"ddl", cmd_ddl, CMD_ARG, "DIALECT [-c FILE]",
     "Print CREATE statements for the streams the config's pipelines write.",
     "The sources and transforms declare the streams; each configured sink whose plugin renders the\n"
     "dialect prints its statements for them (`coinpipe --describe PLUGIN` lists a sink's dialects).\n"
     "With no such sink configured, every sink plugin that renders it prints a template for its\n"
     "defaults.\n"},
    {"status", cmd_status, CMD_ARG, "[HOST:PORT] [-c FILE]",
     "Show a running daemon's health and tables (from global.http_listen, or HOST:PORT).", NULL},
    {"help", cmd_help, CMD_ARG, "[COMMAND]", "Show this help, or a command's.", NULL},
    {"list-plugins", cmd_list_plugins, CMD_OPTION, "[-c FILE]", "list the plugins found on the search path", NULL},
    {"describe", cmd_describe, CMD_OPTION | CMD_ARG, "PLUGIN [-c FILE]", "show a plugin's options and the common ones", NULL},
    {"describe-man", cmd_describe_man, CMD_OPTION | CMD_ARG | CMD_HIDDEN, "global|pipeline|sink|plugins",
     "Write coinpipe.conf(5) sections in roff.", NULL},
};

/* LeakSanitizer checks for leaks at exit(): the sanitizer builds take the ordinary exit */
#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECK_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define LEAK_CHECK_AT_EXIT 1
#endif
#endif

/* Ends the process once main's own clean-up is done (threads joined, sinks closed, state and
 * spool written, plugins unloaded with their destructors, the core's memory freed): stdio is
 * flushed and the process exits without running the atexit handlers and destructors of the
 * libraries still loaded, about 40 through libcurl (OpenSSL's clean-up, Kerberos, GnuTLS,
 * p11-kit...), which only free their own memory: about 0.2 ms of CPU, 2 % of a one-symbol
 * --once run. */
static int end_process(int rc)
{
#ifndef LEAK_CHECK_AT_EXIT
    fflush(NULL);
    _exit(rc);
#endif
    return rc;
}

static const cmd *find_command(const char *name, bool option)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0 && !(commands[i].flags & CMD_OPTION) == !option)
            return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: coinpipe [COMMAND] [OPTIONS]\n\n"
                 "Collects cryptocurrency market data through the pipelines of a config file.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const cmd *c = &commands[i];
        if (c->flags & (CMD_OPTION | CMD_HIDDEN))
            continue;
        fprintf(out, "  coinpipe %s %s\n      %s\n", c->name, c->usage, c->help);
    }
    fprintf(out, "\nOptions:\n"
                 "  -c, --config FILE       config file (default %s/coinpipe.conf)\n"
                 "      --check             validate the config and its plugins, then exit (0 valid, 1 not)\n"
                 "      --once              run every pipeline one cycle, flush all sinks, exit (1 if a stage failed)\n"
                 "  -p, --pipeline NAME     run only this pipeline (backfill, gaps, dead: the pipeline)\n"
                 "      --sink NAME         dead: only this sink's files\n"
                 "      --from DATE, --to DATE, --fill   backfill and gaps: the range; gaps: fill it\n",
            COINPIPE_CONF_DIR);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const cmd *c = &commands[i];
        if ((c->flags & CMD_OPTION) && !(c->flags & CMD_HIDDEN)) {
            char left[64];
            snprintf(left, sizeof left, "--%s%s%s", c->name, c->flags & CMD_ARG ? " " : "",
                     c->flags & CMD_ARG ? c->usage : "");
            *strchrnul(left, '[') = '\0'; /* the option's argument only */
            fprintf(out, "      %-20s%s\n", left, c->help);
        }
    }
    fprintf(out, "      --log-level LEVEL   error, warn, info or debug (overrides global.log_level)\n"
                 "  -V, --version           print the version\n"
                 "  -h, --help              print this help (coinpipe COMMAND --help: that command's)\n");
}

int main(int argc, char **argv)
{
    core_util_tune_memory(); /* before any thread: the cycle's blocks reused, not faulted in again */
    cmd_args a = {.conf = COINPIPE_CONF_DIR "/coinpipe.conf", .level = CP_LOG_INFO};
    const cmd *chosen = NULL; /* by an option (--list-plugins, --describe, --describe-man) */
    bool help = false;
    enum { OPT_CHECK = 256, OPT_ONCE, OPT_LOGLEVEL, OPT_FROM, OPT_TO, OPT_SINK, OPT_FILL, OPT_COMMAND };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"check", no_argument, NULL, OPT_CHECK},
        {"once", no_argument, NULL, OPT_ONCE},      {"pipeline", required_argument, NULL, 'p'},
        {"list-plugins", no_argument, NULL, OPT_COMMAND}, {"describe", required_argument, NULL, OPT_COMMAND},
        {"log-level", required_argument, NULL, OPT_LOGLEVEL}, {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},    {"sink", required_argument, NULL, OPT_SINK},
        {"version", no_argument, NULL, 'V'},        {"describe-man", required_argument, NULL, OPT_COMMAND},
        {"fill", no_argument, NULL, OPT_FILL},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const cmd *command = find_command("run", false);
    bool word = argc > 1 && argv[1][0] != '-'; /* a command named */
    if (word) {
        command = find_command(argv[1], false);
        if (!command) {
            fprintf(stderr, "coinpipe: unknown command '%s'\n", argv[1]);
            usage(stderr);
            return 2;
        }
        argv++;
        argc--;
    }
    int c, li;
    while ((c = getopt_long(argc, argv, "c:p:Vh", longopts, &li)) != -1) {
        switch (c) {
        case 'c': a.conf = optarg; break;
        case 'p': a.pipeline = optarg; break;
        case OPT_CHECK: a.check = true; break;
        case OPT_ONCE: a.once = true; break;
        case OPT_LOGLEVEL: a.log_level = optarg; break;
        case OPT_FROM: a.from = optarg; break;
        case OPT_TO: a.to = optarg; break;
        case OPT_SINK: a.sink = optarg; break;
        case OPT_FILL: a.fill = true; break;
        case OPT_COMMAND:
            chosen = find_command(longopts[li].name, true);
            a.arg = optarg;
            break;
        case 'V': printf("coinpipe %s (plugin ABI %d.%d)\n", COINPIPE_VERSION, CP_ABI_MAJOR, CP_ABI_MINOR); return 0;
        case 'h': help = true; break;
        default: usage(stderr); return 2;
        }
    }
    if (help)
        return cmd_help(&(cmd_args){.arg = word ? command->name : NULL});
    if (optind < argc && !((command->flags & CMD_ARG) && optind == argc - 1)) {
        fprintf(stderr, "coinpipe: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!chosen && optind < argc)
        a.arg = argv[optind];
    if (a.fill && strcmp(command->name, "gaps") != 0 && !chosen) {
        fprintf(stderr, "coinpipe: --fill goes with the gaps command\n");
        return 2;
    }
    core_log_format fmt = CORE_LOG_LOGFMT;
    core_log_parse_format("auto", &fmt);
    if (a.log_level && core_log_parse_level(a.log_level, &a.level) != 0) {
        fprintf(stderr, "coinpipe: --log-level must be error, warn, info or debug\n");
        return 2;
    }
    core_log_setup(a.level, fmt);
    if (core_loader_init() != 0) {
        fprintf(stderr, "coinpipe: cannot initialise the plugin loader\n");
        return 1;
    }
    int rc = (chosen ? chosen : command)->fn(&a);
    core_loader_shutdown();
    return end_process(rc);
}
