/* Test kit: loads real plugins through the real loader and drives their callbacks.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/batch.h"
#include "core/config.h"
#include "core/instance.h"
#include "core/loader.h"
#include "core/log.h"
#include "core/options.h"
#include "core/util.h"

#include <coinpipe/buf.h>
#include <coinpipe/schema.h>
#include <ftw.h>
#include <libconfig.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tk_instance {
    core_instance in; /* context, state store, stop flag; `ec` is its configuration */
    core_element_cfg ec;
    char *state_dir;
    cp_batch **emitted;
    size_t nemitted, cap;
};

static cp_buf g_log;
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_inited;
static char **g_tmpdirs;
static size_t g_ntmp;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    for (size_t i = 0; i < g_ntmp; i++) {
        nftw(g_tmpdirs[i], rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        free(g_tmpdirs[i]);
    }
    free(g_tmpdirs);
    cp_buf_free(&g_log);
    core_loader_shutdown();
}

static void log_hook(cp_log_level level, const char *line, void *user)
{
    (void)user;
    (void)level;
    pthread_mutex_lock(&g_log_lock);
    cp_buf_puts(&g_log, line);
    cp_buf_putc(&g_log, '\n');
    pthread_mutex_unlock(&g_log_lock);
}

static void init(void)
{
    if (g_inited)
        return;
    g_inited = true;
    core_log_setup(getenv("TK_VERBOSE") ? CP_LOG_DEBUG : CP_LOG_ERROR, CORE_LOG_LOGFMT);
    core_log_set_hook(log_hook, NULL);
    core_loader_init();
    atexit(cleanup);
}

const char *tk_tmpdir(void)
{
    init();
    char tmpl[] = "/tmp/coinpipe-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char **v = realloc(g_tmpdirs, (g_ntmp + 1) * sizeof *v);
    assert_non_null(v);
    g_tmpdirs = v;
    g_tmpdirs[g_ntmp] = strdup(d);
    return g_tmpdirs[g_ntmp++];
}

static cp_status capture(core_ctx *c, cp_batch *b)
{
    tk_instance *t = c->emit_user;
    if (t->nemitted == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        cp_batch **e = realloc(t->emitted, cap * sizeof *e);
        if (!e) {
            core_batch_unref(b);
            return CP_ERR_NOMEM;
        }
        t->emitted = e;
        t->cap = cap;
    }
    t->emitted[t->nemitted++] = b;
    return CP_OK;
}

cp_status tk_try_create(const char *plugin, const char *config_text, const char *state_dir, tk_instance **out,
                        char **err)
{
    init();
    *out = NULL;
    if (err)
        *err = NULL;
    core_search_path sp = {0};
    cp_strlist dirs = {0};
    char *d[2] = {getenv("COINPIPE_BUILD_PLUGIN_DIR"), getenv("COINPIPE_TEST_PLUGIN_DIR")};
    char *v[2];
    for (int i = 0; i < 2; i++)
        if (d[i])
            v[dirs.n++] = d[i];
    dirs.v = v;
    core_loader_search_path(&dirs, &sp);
    char msg[1024];
    core_plugin *p = core_loader_get(&sp, plugin, msg, sizeof msg);
    core_loader_search_path_free(&sp);
    if (!p) {
        if (err)
            *err = strdup(msg);
        return CP_ERR_NOT_FOUND;
    }
    cp_buf text = {0};
    cp_buf_printf(&text, "e = { plugin = \"%s\"; %s };", plugin, config_text ? config_text : "");
    config_t lc;
    config_init(&lc);
    if (config_read_string(&lc, text.p) != CONFIG_TRUE) {
        if (err) {
            cp_buf e = {0};
            cp_buf_printf(&e, "config text: line %d: %s", config_error_line(&lc), config_error_text(&lc));
            *err = e.p;
        }
        config_destroy(&lc);
        cp_buf_free(&text);
        return CP_ERR_CONFIG;
    }
    cp_buf_free(&text);
    tk_instance *t = calloc(1, sizeof *t);
    t->ec.plugin = p;
    t->ec.name = strdup(plugin);
    t->ec.plugin_name = strdup(plugin);
    t->ec.cfg = calloc(1, p->desc.config_size ? p->desc.config_size : 1);
    t->ec.queue_size = 100;
    t->ec.retry_initial_ms = 10;
    t->ec.retry_max_ms = 100;
    core_errors errs = {0};
    static const char *const reserved[] = {"plugin", "name", NULL};
    char what[128];
    snprintf(what, sizeof what, "plugin '%s'", plugin);
    core_options_fill(p->desc.options, config_lookup(&lc, "e"), t->ec.cfg, reserved, what, &errs);
    config_destroy(&lc);
    if (errs.n) {
        if (err) {
            cp_buf e = {0};
            for (size_t i = 0; i < errs.n; i++)
                cp_buf_printf(&e, "%s\n", errs.msgs[i]);
            *err = e.p;
        }
        core_errors_free(&errs);
        tk_destroy(t);
        return CP_ERR_CONFIG;
    }
    t->state_dir = strdup(state_dir ? state_dir : tk_tmpdir());
    core_instance_init(&t->in, &(core_instance_opts){.pipeline = "test", .ec = &t->ec, .state_dir = t->state_dir});
    t->in.ctx.emit = capture;
    t->in.ctx.emit_user = t;
    cp_status st = core_instance_create(&t->in);
    if (st != CP_OK) {
        if (err) {
            cp_buf e = {0};
            cp_buf_printf(&e, "create failed: %s\n%s", cp_strerror(st), tk_log());
            *err = e.p;
        }
        tk_destroy(t);
        return st;
    }
    *out = t;
    return CP_OK;
}

tk_instance *tk_create_in(const char *plugin, const char *config_text, const char *state_dir)
{
    tk_instance *t = NULL;
    char *err = NULL;
    cp_status st = tk_try_create(plugin, config_text, state_dir, &t, &err);
    if (st != CP_OK) {
        print_error("tk_create(%s): %s: %s\n", plugin, cp_strerror(st), err ? err : "");
        free(err);
        fail();
    }
    free(err);
    return t;
}

tk_instance *tk_create(const char *plugin, const char *config_text) { return tk_create_in(plugin, config_text, NULL); }

void tk_destroy(tk_instance *t)
{
    if (!t)
        return;
    core_instance_destroy(&t->in);
    tk_clear_emitted(t);
    free(t->emitted);
    if (t->ec.plugin)
        core_options_free(t->ec.plugin->desc.options, t->ec.cfg);
    core_loader_put(t->ec.plugin);
    free(t->ec.cfg);
    free(t->ec.name);
    free(t->ec.plugin_name);
    free(t->state_dir);
    free(t);
}

cp_ctx *tk_ctx(tk_instance *t) { return &t->in.ctx.pub; }
const char *tk_state_dir(tk_instance *t) { return t->state_dir; }
const cp_plugin *tk_plugin(tk_instance *t) { return &t->ec.plugin->desc; }
void *tk_instance_data(tk_instance *t) { return t->in.data; }

cp_status tk_collect(tk_instance *t)
{
    assert_non_null(t->ec.plugin->desc.collect);
    return t->ec.plugin->desc.collect(t->in.data, &t->in.ctx.pub);
}

cp_status tk_backfill(tk_instance *t, int64_t from_ms, int64_t to_ms)
{
    assert_non_null(t->ec.plugin->desc.backfill);
    return t->ec.plugin->desc.backfill(t->in.data, &t->in.ctx.pub, from_ms, to_ms);
}

cp_status tk_process(tk_instance *t, const cp_batch *b)
{
    assert_non_null(t->ec.plugin->desc.process);
    t->in.ctx.drop_input = false;
    return t->ec.plugin->desc.process(t->in.data, &t->in.ctx.pub, b);
}

cp_status tk_tick(tk_instance *t, int64_t now_ms)
{
    assert_non_null(t->ec.plugin->desc.tick);
    return t->ec.plugin->desc.tick(t->in.data, &t->in.ctx.pub, now_ms);
}

bool tk_input_dropped(tk_instance *t) { return t->in.ctx.drop_input; }

cp_status tk_write(tk_instance *t, const cp_batch *b)
{
    assert_non_null(t->ec.plugin->desc.write);
    return t->ec.plugin->desc.write(t->in.data, &t->in.ctx.pub, b);
}

cp_status tk_flush(tk_instance *t, unsigned flags)
{
    if (!t->ec.plugin->desc.flush)
        return CP_OK;
    return t->ec.plugin->desc.flush(t->in.data, &t->in.ctx.pub, flags);
}

size_t tk_emitted_count(tk_instance *t) { return t->nemitted; }
const cp_batch *tk_emitted(tk_instance *t, size_t i) { return i < t->nemitted ? t->emitted[i] : NULL; }

const cp_batch *tk_find(tk_instance *t, const char *stream, size_t nth)
{
    for (size_t i = 0; i < t->nemitted; i++)
        if (strcmp(core_batch_schema(t->emitted[i])->stream, stream) == 0 && nth-- == 0)
            return t->emitted[i];
    return NULL;
}

size_t tk_rows(tk_instance *t, const char *stream)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nemitted; i++)
        if (strcmp(core_batch_schema(t->emitted[i])->stream, stream) == 0)
            n += core_batch_rows(t->emitted[i]);
    return n;
}

void tk_clear_emitted(tk_instance *t)
{
    for (size_t i = 0; i < t->nemitted; i++)
        core_batch_unref(t->emitted[i]);
    t->nemitted = 0;
}

static size_t col_or_fail(const cp_batch *b, const char *col)
{
    int c = core_batch_col(b, col);
    if (c < 0) {
        print_error("stream '%s' has no column '%s'\n", core_batch_schema(b)->stream, col);
        fail();
    }
    return (size_t)c;
}

bool tk_is_null(const cp_batch *b, size_t row, const char *col)
{
    return core_batch_is_null(b, row, col_or_fail(b, col));
}

size_t tk_row_where(const cp_batch *b, const char *col, const char *text)
{
    for (size_t r = 0; r < core_batch_rows(b); r++) {
        const char *v = tk_text(b, r, col);
        if (v && strcmp(v, text) == 0)
            return r;
    }
    fail_msg("no row with %s = \"%s\"", col, text);
    return 0;
}

const char *tk_text(const cp_batch *b, size_t row, const char *col)
{
    return core_batch_get_text(b, row, col_or_fail(b, col), NULL);
}

int64_t tk_int(const cp_batch *b, size_t row, const char *col) { return core_batch_get_int(b, row, col_or_fail(b, col)); }

double tk_double(const cp_batch *b, size_t row, const char *col)
{
    return core_batch_get_double(b, row, col_or_fail(b, col));
}

void tk_assert_text_at(const cp_batch *b, size_t row, const char *col, const char *want, const char *file, int line)
{
    const char *got = tk_text(b, row, col);
    if (want == NULL && got == NULL)
        return;
    if (want && got && strcmp(want, got) == 0)
        return;
    print_error("%s:%d: %s[%zu].%s: expected %s%s%s, got %s%s%s\n", file, line, core_batch_schema(b)->stream, row,
                col, want ? "\"" : "", want ? want : "NULL", want ? "\"" : "", got ? "\"" : "", got ? got : "NULL",
                got ? "\"" : "");
    fail();
}

cp_batch *tk_batch_new(const cp_schema *schema)
{
    init();
    cp_batch *b = core_batch_new(schema, 0);
    assert_non_null(b);
    return b;
}

void tk_batch_free(cp_batch *b) { core_batch_unref(b); }
const cp_host *tk_host(void) { return &core_host; }

const char *tk_log(void) { return g_log.p ? g_log.p : ""; }

void tk_log_clear(void)
{
    pthread_mutex_lock(&g_log_lock);
    g_log.len = 0;
    if (g_log.p)
        g_log.p[0] = '\0';
    pthread_mutex_unlock(&g_log_lock);
}

void tk_assert_log_contains_at(const char *needle, const char *file, int line)
{
    if (strstr(tk_log(), needle))
        return;
    print_error("%s:%d: log does not contain \"%s\"; log was:\n%s\n", file, line, needle, tk_log());
    fail();
}

void tk_pin_clock(int64_t ms) { core_util_pin_clock(ms); }

void tk_assert_same_batch(const cp_batch *want, const cp_batch *got)
{
    assert_true(cp_schema_equal(core_batch_schema(want), core_batch_schema(got)));
    assert_int_equal(core_batch_rows(want), core_batch_rows(got));
    for (size_t r = 0; r < core_batch_rows(want); r++)
        for (size_t c = 0; c < core_batch_schema(want)->nfields; c++) {
            assert_int_equal(core_batch_is_null(want, r, c), core_batch_is_null(got, r, c));
            size_t n1 = 0, n2 = 0;
            const char *t1 = core_batch_get_text(want, r, c, &n1), *t2 = core_batch_get_text(got, r, c, &n2);
            assert_int_equal(t1 == NULL, t2 == NULL);
            if (t1) {
                assert_int_equal(n1, n2);
                assert_memory_equal(t1, t2, n1);
                assert_int_equal(t2[n2], '\0');
            }
            assert_true(core_batch_get_int(want, r, c) == core_batch_get_int(got, r, c));
            double d1 = core_batch_get_double(want, r, c), d2 = core_batch_get_double(got, r, c);
            assert_memory_equal(&d1, &d2, sizeof d1);
        }
}
