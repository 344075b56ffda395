/* Core-internal declarations shared by the daemon's modules (not installed, not for plugins).
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_H
#define COINPIPE_CORE_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>

#include <libconfig.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#ifndef COINPIPE_VERSION
#define COINPIPE_VERSION "0.0.0"
#endif

/* ---- util.c ---------------------------------------------------------------------- */
int64_t core_util_now_ms(void);  /* wall clock, UTC ms (tests may pin it: core_util_pin_clock) */
int64_t core_util_mono_ms(void); /* monotonic ms */
void core_util_pin_clock(int64_t ms); /* 0 unpins */
int core_util_parse_duration(const char *s, int64_t *ms);  /* 0 ok, -1 bad */
int core_util_parse_size(const char *s, int64_t *bytes);   /* 0 ok, -1 bad */
/* candle interval "1m" "4h" "1d" "1w" → ms; -1 for anything else (months have no fixed length) */
int64_t core_util_interval_ms(const char *s);
void core_util_format_duration(int64_t ms, char *buf, size_t len);
void core_util_iso8601(int64_t ms, char *buf, size_t len); /* 2026-11-21T10:55:44.123Z */
int core_util_mkdirs(const char *path, unsigned mode);       /* mkdir -p; 0 ok, -1 errno */
int core_util_write_file_atomic(const char *path, const void *data, size_t len); /* tmp+fsync+rename */
char *core_util_read_file(const char *path, size_t *len);   /* malloc'd, NUL-terminated; NULL on error */
double core_util_random(void);                              /* uniform [0,1), thread-safe */
char *core_util_strdup(const char *s);                      /* NULL-safe strdup; NULL on OOM */
char *core_util_strndup(const char *s, size_t n);
void core_util_release_memory(void); /* free heap pages back to the system (glibc malloc_trim) */

/* CRC-32C of n bytes continuing from crc (0 to start): the CPU instruction where there is one
 * (core_util_crc32c), or the table (core_util_crc32c_sw, the same values) */
uint32_t core_util_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t core_util_crc32c_sw(uint32_t crc, const void *data, size_t n);
/* appends `s` as one safe path component (no '/', no "..": other bytes %XX-encoded) */
void core_util_path_component(cp_buf *b, const char *s);
/* appends the n bytes of s as a JSON string literal (quotes, backslashes and control bytes
 * escaped; NULL s gives "") */
void core_util_json_string(cp_buf *b, const char *s, size_t n);

/* ---- log.c ----------------------------------------------------------------------- */
typedef enum core_log_format { CORE_LOG_LOGFMT = 0, CORE_LOG_JSON = 1, CORE_LOG_TEXT = 2 } core_log_format;
typedef struct core_log_tag {
    const char *pipeline;
    const char *kind;     /* "source", "transform", "sink", NULL for the core */
    const char *plugin;
    const char *instance;
} core_log_tag;
void core_log_setup(cp_log_level level, core_log_format format);
cp_log_level core_log_level(void);
bool core_log_would(cp_log_level level);
void core_log_tagged(const core_log_tag *tag, cp_log_level level, const char *fmt, ...) CP_PRINTF(3, 4);
void core_log_vtagged(const core_log_tag *tag, cp_log_level level, const char *fmt, va_list ap) CP_PRINTF(3, 0);
/* tests: receive every formatted line (without newline) too */
typedef void (*core_log_hook)(cp_log_level level, const char *line, void *user);
void core_log_set_hook(core_log_hook hook, void *user);
int core_log_parse_level(const char *s, cp_log_level *out);
int core_log_parse_format(const char *s, core_log_format *out);
#define LOG_ERROR(...) core_log_tagged(NULL, CP_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...) core_log_tagged(NULL, CP_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) core_log_tagged(NULL, CP_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) core_log_tagged(NULL, CP_LOG_DEBUG, __VA_ARGS__)

/* ---- batch.c --------------------------------------------------------------------- */
cp_batch *core_batch_new(const cp_schema *schema, size_t rows_hint);
cp_status core_batch_reserve(cp_batch *b, size_t rows);
void core_batch_ref(cp_batch *b);
void core_batch_unref(cp_batch *b); /* frees at zero; this is cp_batch_free */
cp_batch *core_batch_copy(const cp_batch *b);
size_t core_batch_add_row(cp_batch *b);
void core_batch_drop_last_row(cp_batch *b);
cp_status core_batch_set_int(cp_batch *b, size_t row, size_t col, int64_t v);
cp_status core_batch_set_double(cp_batch *b, size_t row, size_t col, double v);
cp_status core_batch_set_decimal(cp_batch *b, size_t row, size_t col, const char *text, size_t len);
cp_status core_batch_set_string(cp_batch *b, size_t row, size_t col, const char *text, size_t len);
cp_status core_batch_set_bool(cp_batch *b, size_t row, size_t col, bool v);
cp_status core_batch_set_null(cp_batch *b, size_t row, size_t col);
const cp_schema *core_batch_schema(const cp_batch *b);
size_t core_batch_rows(const cp_batch *b);
int core_batch_col(const cp_batch *b, const char *name);
bool core_batch_is_null(const cp_batch *b, size_t row, size_t col);
int64_t core_batch_get_int(const cp_batch *b, size_t row, size_t col);
double core_batch_get_double(const cp_batch *b, size_t row, size_t col);
const char *core_batch_get_text(const cp_batch *b, size_t row, size_t col, size_t *len);
bool core_batch_get_bool(const cp_batch *b, size_t row, size_t col);
bool core_decimal_valid(const char *s, size_t len);
size_t core_batch_mem_bytes(const cp_batch *b); /* memory the batch holds (cells, text), about */
void core_batch_compact(cp_batch *b); /* gives back the text arena's unused capacity (when emitted) */
/* validates like core_decimal_valid and, in the same pass, sets *out (if not NULL) to the
 * double strtod would give, bit for bit (Clinger's fast path, else strtod); false also when
 * out of memory for a text of 72 bytes or more */
bool core_decimal_parse(const char *s, size_t len, double *out);
bool core_schema_equal(const cp_schema *a, const cp_schema *b);
/* binary form for the spool; deserialize checks every length (fuzzed) */
cp_status core_batch_serialize(const cp_batch *b, cp_buf *out);
cp_status core_batch_deserialize(const void *data, size_t len, cp_batch **out);
/* the same; without check_decimals a DECIMAL's text is taken as it is (a record whose checksum
 * proved it is what core_batch_serialize wrote from a valid batch) */
cp_status core_batch_deserialize_checked(const void *data, size_t len, bool check_decimals, cp_batch **out);

/* ---- loader.c (the only file that calls libltdl) --------------------------------- */
typedef struct core_plugin {
    char *name;            /* descriptor name */
    char *path;            /* file it was loaded from */
    void *handle;          /* lt_dlhandle */
    cp_plugin desc;        /* the descriptor's fields up to its declared size, rest zero */
    int refs;
    struct core_plugin *next;
} core_plugin;
typedef struct core_search_path {
    size_t n;
    char **dirs;
} core_search_path;
int core_loader_init(void);
void core_loader_shutdown(void); /* after every thread has joined */
/* builds the search path: config plugin_path, $COINPIPE_PLUGIN_PATH, build tree, install dir */
void core_loader_search_path(const cp_strlist *config_dirs, core_search_path *out);
void core_loader_search_path_free(core_search_path *sp);
/* loads (or reuses) plugin `name`; on error writes a one-line reason to err */
core_plugin *core_loader_get(const core_search_path *sp, const char *name, char *err, size_t errlen);
/* loads a plugin from an explicit file path */
core_plugin *core_loader_open_file(const char *path, char *err, size_t errlen);
void core_loader_put(core_plugin *p);
/* calls fn for each loadable plugin file found on the search path (first wins by name) */
typedef void (*core_loader_visit_fn)(core_plugin *p, void *user);
int core_loader_each(const core_search_path *sp, core_loader_visit_fn fn, void *user, bool report_errors);
/* opens the system library `soname` (dlopen, RTLD_NOW | RTLD_LOCAL) and stores the address of
 * each of the n symbols in *syms[i].fn; returns the handle (kept until exit: never closed), or
 * NULL with "SONAME cannot be loaded: ..." or "SONAME lacks SYMBOL" in err. Main thread only. */
typedef struct core_loader_sym {
    const char *name;
    void **fn;
} core_loader_sym;
void *core_loader_open_library(const char *soname, const core_loader_sym *syms, size_t n, char *err, size_t errlen);
const char *core_kind_name(cp_kind k);

/* ---- options.c ------------------------------------------------------------------- */
typedef struct core_errors {
    size_t n;
    char **msgs;
} core_errors;
void core_errors_add(core_errors *e, const char *fmt, ...) CP_PRINTF(2, 3);
void core_errors_print(const core_errors *e, FILE *out);
void core_errors_free(core_errors *e);
/* validates `group` against `opts` and fills `cfg`; `reserved` are keys handled elsewhere
 * (NULL-terminated); with reserved == NULL unknown keys are not reported */
int core_options_fill(const cp_option *opts, const config_setting_t *group, void *cfg,
                      const char *const *reserved, const char *what, core_errors *errs);
void core_options_free(const cp_option *opts, void *cfg);
void core_options_describe(const cp_option *opts, FILE *out);
const char *core_opt_type_name(cp_opt_type t);

/* ---- state.c --------------------------------------------------------------------- */
typedef struct core_state core_state;
core_state *core_state_open(const char *state_dir, const char *pipeline, const char *instance);
void core_state_close(core_state *s);
cp_status core_state_get(core_state *s, const char *key, char **value);
cp_status core_state_set(core_state *s, const char *key, const char *value);
/* from now on sets stay in memory until core_state_flush (the runtime flushes after the
 * cycle's batches are in the spool, so a checkpoint never runs ahead of its data) */
void core_state_defer(core_state *s);
cp_status core_state_flush(core_state *s); /* persists pending sets; closing flushes too */

/* ---- http.c ---------------------------------------------------------------------- */
int core_http_init(void);
void core_http_shutdown(void);
cp_status core_http_limits(const char *host, const cp_http_limits *limits);
cp_status core_http_perform(const core_log_tag *tag, const cp_http_request *reqs, cp_http_response *resps,
                            size_t n);
/* the same, calling done(user, i, &resps[i]) on this thread as each request becomes final */
cp_status core_http_perform_each(const core_log_tag *tag, const cp_http_request *reqs, cp_http_response *resps,
                                 size_t n, cp_http_done_fn done, void *user);
void core_http_response_clear(cp_http_response *r);
const char *core_http_header(const cp_http_response *r, const char *name, size_t *len);
void core_http_set_stop(atomic_bool *stop); /* requests end early with CP_ERR_STOPPED */

/* ---- host.c: the host table and per-instance contexts ------------------------------ */
struct core_ctx;
typedef cp_status (*core_emit_fn)(struct core_ctx *ctx, cp_batch *b);
typedef struct core_ctx {
    cp_ctx pub;            /* must be first */
    core_log_tag tag;
    core_emit_fn emit;     /* where cp_emit goes */
    void *emit_user;
    size_t stage;          /* position of this instance in its pipeline */
    bool drop_input;       /* set by cp_drop_input during process() */
    core_state *state;
    atomic_bool *stopping;
    int64_t progress_start, progress_last; /* cp_progress display */
    int64_t commit_last;                   /* mono ms of cp_progress's last commit */
    void (*commit)(struct core_ctx *ctx);  /* makes emitted batches, then checkpoints, durable */
} core_ctx;
extern const cp_host core_host;
void core_ctx_init(core_ctx *c, const char *pipeline, cp_kind kind, const char *plugin, const char *instance);

/* ---- config.c -------------------------------------------------------------------- */
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
} core_element_cfg;

enum { CORE_OVERFLOW_BLOCK = 0, CORE_OVERFLOW_DROP_OLDEST = 1, CORE_OVERFLOW_DROP_NEWEST = 2 };

typedef struct core_cron {
    uint64_t minute;   /* bit per minute 0-59 */
    uint32_t hour;     /* 0-23 */
    uint32_t dom;      /* 1-31 */
    uint16_t month;    /* 1-12 */
    uint8_t dow;       /* 0-6, Sunday 0 */
    bool dom_star, dow_star;
} core_cron;

typedef struct core_pipeline_cfg {
    char *name;
    int line;
    int64_t interval_ms;   /* 0 when cron */
    char *schedule;        /* cron text or NULL */
    core_cron cron;
    int64_t jitter_ms;
    bool enabled;
    bool run_at_start;
    core_element_cfg source;
    size_t ntransforms, nsinks;
    core_element_cfg *transforms, *sinks;
} core_pipeline_cfg;

typedef struct core_config {
    char *file;
    char *state_dir;
    cp_log_level log_level;
    core_log_format log_format;
    cp_strlist plugin_path;
    int64_t workers;
    int64_t shutdown_timeout_ms;
    char *http_listen;     /* global.http_listen or NULL (metrics listener off) */
    char *http_auth_token; /* global.http_auth_token or NULL (secret) */
    core_search_path search;
    size_t npipelines;
    core_pipeline_cfg *pipelines;
} core_config;
/* parses and validates `file`; all errors go to errs; NULL when any error */
core_config *core_config_load(const char *file, core_errors *errs);
void core_config_free(core_config *c);
const cp_option *core_config_sink_options(void); /* queue_size, retry_* (for --describe and docs) */

/* ---- sched.c --------------------------------------------------------------------- */
int core_sched_cron_parse(const char *text, core_cron *out, char *err, size_t errlen);
int64_t core_sched_cron_next(const core_cron *c, int64_t after_ms); /* first match > after_ms */
int64_t core_sched_interval_next(int64_t interval_ms, int64_t after_ms);

/* ---- spool.c: durable append-only queue behind a sink ------------------------------ */
typedef struct core_spool core_spool;
core_spool *core_spool_open(const char *dir, const core_log_tag *tag, char *err, size_t errlen);
void core_spool_close(core_spool *s);
/* unconfirmed records found at open (to replay, oldest first): count and sequence numbers */
size_t core_spool_pending(const core_spool *s);
uint64_t core_spool_replay_seq(const core_spool *s, size_t i);
/* appends a record (not yet fsync'd); CP_ERR_IO with errno on failure (ENOSPC...) */
cp_status core_spool_append(core_spool *s, const cp_batch *b, uint64_t *seq, int64_t *bytes);
cp_status core_spool_sync(core_spool *s); /* fdatasync what was appended */
cp_status core_spool_read(core_spool *s, uint64_t seq, cp_batch **out);
void core_spool_done(core_spool *s, uint64_t seq); /* confirmed, dropped or dead-lettered */
int64_t core_spool_bytes(const core_spool *s);      /* of unconfirmed records (what the bound limits) */
int64_t core_spool_disk_bytes(const core_spool *s); /* of segment files on disk */
void core_spool_set_limit(core_spool *s, int64_t max_bytes); /* sizes segments for the bound */

/* ---- sink.c: per-sink bounded queue and worker ------------------------------------ */
typedef struct core_sink core_sink;
typedef struct core_sink_stats {
    uint64_t batches_in, rows_in, batches_out, rows_out, retries, rejected, dropped, dropped_rows, dead_lettered;
    int64_t last_success_ms;
    int64_t last_reject_ms; /* last batch rejected or given up on (0 = none) */
    size_t queued;
    int64_t spool_bytes;
} core_sink_stats;
/* creates the instance and starts the worker; the queue is memory-only until
 * core_sink_attach_spool() (or core_sink_handover() on reload) gives it its spool */
core_sink *core_sink_start(const core_pipeline_cfg *pl, const core_element_cfg *ec, atomic_bool *stopping,
                           const char *state_dir, char *err, size_t errlen);
/* opens <state_dir>/spool/<pipeline>/<sink>/ and queues what it holds unconfirmed, first */
int core_sink_attach_spool(core_sink *s, char *err, size_t errlen);
/* fsyncs what the sink's spool received (end of a cycle) */
void core_sink_commit(core_sink *s);
/* takes a reference on b; blocks while the queue is full (returns CP_ERR_STOPPED on shutdown) */
cp_status core_sink_enqueue(core_sink *s, cp_batch *b);
/* waits until the queue is empty and everything confirmed, or deadline (mono ms; 0 = none).
 * returns true when fully drained */
bool core_sink_drain(core_sink *s, int64_t deadline_mono_ms);
/* stops the worker (force-flushing what is pending) and joins it; idempotent */
void core_sink_halt(core_sink *s);
/* halts, then frees; what is still queued is counted as dropped and logged, unless it was
 * moved with core_sink_handover first */
void core_sink_stop(core_sink *s);
void core_sink_stats_get(core_sink *s, core_sink_stats *out);
const char *core_sink_id(const core_sink *s);   /* "pipeline/sink" */
/* moves queued batches of `from` (stopped worker) into `to` */
void core_sink_handover(core_sink *from, core_sink *to);
bool core_sink_failed(core_sink *s); /* a batch was rejected or given up on */
bool core_sink_idle(core_sink *s);   /* not writing, and nothing to write before a retry is due */

/* ---- dead.c: dead letters ------------------------------------------------------------ */
/* writes `b` with `reason` to <state_dir>/dead/<pipeline>/<sink>/<time>-<stream>.json; 0 ok */
int core_dead_write(const char *state_dir, const char *pipeline, const char *sink, const cp_batch *b,
                    const char *reason, char *path, size_t pathlen);
/* reads one dead-letter file back: the batch and its metadata (strings malloc'd) */
cp_status core_dead_read(const char *path, cp_batch **b, char **pipeline, char **sink, char **reason);
/* `coinpipe dead list|replay [--pipeline P] [--sink S]` */
int core_dead_main(core_config *cfg, const char *action, const char *pipeline, const char *sink);
bool core_sink_has_spooled(core_sink *s); /* unconfirmed batches wait in its spool */

/* ---- runtime.c: pipelines, cycles, the scheduler loop ------------------------------ */
typedef struct core_runtime core_runtime;
typedef struct core_run_opts {
    bool once;
    const char *only_pipeline;
    bool borrow_config; /* core_runtime_free leaves the config to the caller */
} core_run_opts;
core_runtime *core_runtime_new(core_config *cfg, const core_run_opts *opts, char *err, size_t errlen);
/* --once: run each pipeline one cycle, drain and flush every sink; 0 all ok, 1 a stage failed */
int core_runtime_run_once(core_runtime *rt);
/* runs until SIGTERM/SIGINT; SIGHUP reloads; returns the exit code */
int core_runtime_run(core_runtime *rt, const char *config_file);
/* backfill: calls the only pipeline's source backfill for [from_ms, to_ms), then drains;
 * 0 ok, 1 failed or interrupted, 2 the source cannot backfill */
int core_runtime_backfill(core_runtime *rt, int64_t from_ms, int64_t to_ms);
typedef struct core_range {
    int64_t from_ms, to_ms; /* [from, to) UTC ms */
} core_range;
/* the same for several ranges in turn (stops at the first that fails), then drains once */
int core_runtime_backfill_ranges(core_runtime *rt, const core_range *ranges, size_t n);
/* signals the runtime blocks and waits for (SIGINT, SIGTERM, SIGHUP); call before any thread starts */
void core_runtime_block_signals(void);
void core_runtime_unblock_signals(void); /* after core_runtime_free: default actions again */
void core_runtime_free(core_runtime *rt);

/* ---- gaps.c: `coinpipe gaps --pipeline NAME [--from DATE] [--to DATE] [--fill]` ----------- */
typedef struct core_gaps_opts {
    const char *pipeline;
    bool has_from, has_to; /* head gaps are checked from --from, tail gaps up to --to */
    int64_t from_ms, to_ms;
    bool fill;             /* backfill the gaps found, then check again */
} core_gaps_opts;
/* prints the gaps of the pipeline's first SQL sink; exit code 0 none, 1 gaps, 2 error */
int core_gaps_main(core_config *cfg, const core_gaps_opts *o);
/* sorts holes [from, to) of candles `step` ms apart and joins the close ones; returns the new count */
size_t core_gaps_merge(core_range *v, const int64_t *step, size_t n);

/* ---- ddl.c (owned by the sinks work): `coinpipe ddl DIALECT -c FILE` ------------------ */
/* prints CREATE statements for the streams the config's pipelines write, in dialect
 * athena | snowflake | postgresql; 0 ok, 1 nothing to print, 2 unknown dialect (errs says why) */
int core_ddl_print(const core_config *cfg, const char *dialect, FILE *out, core_errors *errs);

/* ---- packaging / self-monitoring (issue 7) ---------------------------------------- */
/* metrics.c: counters for GET /metrics, GET /health and `coinpipe status`. All thread-safe;
 * names are copied. The runtime registers pipelines and sinks (reload-safe: counters are
 * kept by name) and reports cycles; the HTTP service reports requests. */
struct sockaddr_storage;
void core_metrics_pipeline_register(const core_pipeline_cfg *pc);
void core_metrics_pipeline_unregister(const char *pipeline);
void core_metrics_cycle(const char *pipeline, int64_t duration_ms, bool ok);
void core_metrics_skipped(const char *pipeline);
void core_metrics_emitted(const core_log_tag *tag, size_t rows); /* a source or transform emitted */
void core_metrics_sink_register(core_sink *s, const char *pipeline, const core_element_cfg *ec);
void core_metrics_sink_unregister(core_sink *s); /* before core_sink_stop; keeps its figures */
/* for core/http.c: one call per finished request (status 0 = no HTTP answer), per retry,
 * and per wait for a host's rate limit */
void core_metrics_http_request(const char *host, int status);
void core_metrics_http_retry(const char *host);
void core_metrics_http_rate_limit_wait(const char *host, int64_t waited_ms);
void core_metrics_render(cp_buf *b);  /* Prometheus text format */
bool core_metrics_health(cp_buf *b);  /* JSON; true when healthy */
/* listener.c: the HTTP listener on global.http_listen (see its opening comment for the limits).
 * core_listener_parse: "127.0.0.1:9273", "[::1]:9273", "0.0.0.0:9273", ":9273" (every
 * interface); 0 ok, -1 with a reason in err. core_listener_url: the URL at which a client on
 * this host reaches `path` of that listener (a wildcard bind becomes loopback); 0 ok. */
int core_listener_parse(const char *text, struct sockaddr_storage *ss, size_t *sslen, char *err, size_t errlen);
int core_listener_url(const char *listen, const char *path, char *url, size_t len, char *err, size_t errlen);
/* starts serving in a thread of its own; `token` (global.http_auth_token, copied; NULL or "" for
 * none) is then needed for every path but /health. Warns when the address is not loopback and
 * logs the dashboard's URL. No-op for a NULL or empty `listen`; 0 ok, -1 with a reason in err. */
int core_listener_start(const char *listen, const char *token, char *err, size_t errlen);
void core_listener_stop(void); /* closes every connection and joins the thread; idempotent */
/* a request being answered (valid during the route's call); its query argument `name`
 * (URL-decoded, owned by the listener), or NULL when absent */
typedef struct core_listener_req core_listener_req;
const char *core_listener_arg(const core_listener_req *r, const char *name);
/* status.c: `coinpipe status`: prints the daemon's health and tables to `out`; the exit code */
int core_status_main(const char *listen, FILE *out);
/* latest.c: the latest-rows table, the newest row per stream and series (the stream's text key
 * columns but trade_id: ticker (exchange, symbol), ohlcv (exchange, symbol, interval), market
 * (source, coin_id, vs_currency)), by the row's time (first timestamp key column, else `ts`).
 * All thread-safe; the table copies what it keeps.
 * core_latest_update: the runtime calls it for every batch on its way to the sinks (after the
 *   transforms); b is borrowed. Out of memory drops the update silently (the table is a view).
 * core_latest_json: appends a JSON array of the stored rows of `stream` (NULL: all) whose
 *   "symbol" is `symbol` (NULL: any) changed after sequence `after_seq` (0: all), each
 *   {"pipeline","stream","seq","ts","row":{column: value}} (decimals as JSON numbers in their
 *   exact text, timestamps in UTC ms); stores the table's current sequence in *seq (if not
 *   NULL); returns how many rows it wrote.
 * core_latest_number: the value of `column` in the newest row of `stream` whose series values
 *   are series[0..nseries) in the order of the stream's key columns (e.g. {"binance",
 *   "BTC-USDT"} for ticker, {"binance", "BTC-USDT", "1h"} for ohlcv), as a double, and that
 *   row's time (INT64_MIN: none) in *ts if not NULL; false when no such row, or the column is
 *   absent, NULL or not a number.
 * core_latest_seq: the sequence of the last change (grows; 0 = empty table).
 * core_latest_put_value: appends cell (r, c) of b as a JSON value (the rendering above).
 * core_latest_reset: empties the table (tests). */
void core_latest_update(const char *pipeline, const cp_batch *b);
size_t core_latest_json(cp_buf *out, const char *stream, const char *symbol, uint64_t after_seq, uint64_t *seq);
bool core_latest_number(const char *stream, const char *const *series, size_t nseries, const char *column,
                        double *value, int64_t *ts);
uint64_t core_latest_seq(void);
void core_latest_put_value(cp_buf *out, const cp_batch *b, size_t r, size_t c);
void core_latest_reset(void);
/* notify.c: sd_notify (no-ops outside systemd) */
void core_notify_ready(size_t npipelines);
void core_notify_reloading(void); /* SIGHUP received; core_notify_ready() ends the reload */
void core_notify_stopping(void);
void core_notify_watchdog(void);      /* call often; pings at half of WatchdogSec */
int64_t core_notify_watchdog_ms(void); /* that period in ms; 0 without a watchdog */
/* manpage.c: roff for coinpipe.conf(5) from the option tables; what = global | pipeline |
 * sink | plugins (every plugin on the search path); 0 ok */
int core_manpage_print(const char *what, const core_search_path *sp, FILE *out);
const cp_option *core_config_global_options(void);
const cp_option *core_config_pipeline_options(void);
/* ---- end of issue 7 block ---------------------------------------------------------- */

#endif /* COINPIPE_CORE_H */
