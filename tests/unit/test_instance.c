/* Unit tests for plugin instances (core/instance.c): state store, stop flag, create/destroy.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/instance.h"
#include "core/loader.h"
#include "core/options.h"
#include "core/state.h"
#include "core/util.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the state-probe fixture with out = <dir>/probe.out, as a configured element */
typedef struct probe_elem {
    core_element_cfg ec;
    char out[512];
} probe_elem;

static void probe_open(probe_elem *pe, const char *dir)
{
    memset(pe, 0, sizeof *pe);
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/state_probe.so", getenv("COINPIPE_TEST_PLUGIN_DIR"));
    core_loader_init();
    pe->ec.plugin = core_loader_open_file(path, err, sizeof err);
    assert_non_null(pe->ec.plugin);
    pe->ec.name = "probe";
    pe->ec.plugin_name = "state-probe";
    snprintf(pe->out, sizeof pe->out, "%s/probe.out", dir);
    char text[700];
    snprintf(text, sizeof text, "out = \"%s\";", pe->out);
    config_t c;
    config_init(&c);
    assert_int_equal(config_read_string(&c, text), CONFIG_TRUE);
    pe->ec.cfg = calloc(1, pe->ec.plugin->desc.config_size);
    core_errors errs = {0};
    assert_int_equal(core_options_fill(pe->ec.plugin->desc.options, config_root_setting(&c), pe->ec.cfg, NULL,
                                       "probe", &errs),
                     0);
    assert_int_equal(errs.n, 0);
    config_destroy(&c);
}

static void probe_close(probe_elem *pe)
{
    core_options_free(pe->ec.plugin->desc.options, pe->ec.cfg);
    free(pe->ec.cfg);
    core_loader_put(pe->ec.plugin);
}

static char *slurp(const char *path)
{
    char *t = core_util_read_file(path, NULL);
    return t ? t : strdup("");
}

static void test_state_store_across_lives(void **state)
{
    const char *dir = tk_tmpdir();
    probe_elem pe;
    probe_open(&pe, dir);
    for (int life = 0; life < 2; life++) {
        core_instance in;
        core_instance_init(&in, &(core_instance_opts){.pipeline = "p", .ec = &pe.ec, .state_dir = dir});
        assert_int_equal(core_instance_create(&in), CP_OK);
        assert_non_null(in.data);
        core_instance_destroy(&in);
        assert_null(in.data);
        core_instance_destroy(&in); /* idempotent */
    }
    char *t = slurp(pe.out);
    assert_string_equal(t, "create lives=1\ncreate lives=2\n");
    free(t);
    core_state *s = core_state_open(dir, "p", "probe");
    char *v = NULL;
    assert_int_equal(core_state_get(s, "lives", &v), CP_OK);
    assert_string_equal(v, "2");
    free(v);
    core_state_close(s);
    probe_close(&pe);
}

static void test_no_state_dir_means_no_store(void **state)
{
    const char *dir = tk_tmpdir();
    probe_elem pe;
    probe_open(&pe, dir);
    core_instance in;
    core_instance_init(&in, &(core_instance_opts){.pipeline = "p", .ec = &pe.ec});
    assert_int_equal(core_instance_create(&in), CP_OK);
    core_instance_destroy(&in);
    char *t = slurp(pe.out);
    assert_string_equal(t, "create lives=1 state=not supported\n");
    free(t);
    probe_close(&pe);
}

static void test_deferred_state_waits_for_flush(void **state)
{
    const char *dir = tk_tmpdir();
    probe_elem pe;
    probe_open(&pe, dir);
    core_instance in;
    core_instance_init(&in, &(core_instance_opts){.pipeline = "p", .ec = &pe.ec, .state_dir = dir, .defer_state = true});
    assert_int_equal(core_instance_create(&in), CP_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/state/p/probe.kv", dir);
    assert_int_not_equal(access(path, F_OK), 0); /* create()'s checkpoint is not on disk yet */
    assert_int_equal(core_state_flush(in.ctx.state), CP_OK);
    char *t = slurp(path);
    assert_string_equal(t, "lives=1\n");
    free(t);
    core_instance_destroy(&in);
    probe_close(&pe);
}

static void test_stop_flag(void **state)
{
    const char *dir = tk_tmpdir();
    probe_elem pe;
    probe_open(&pe, dir);
    /* its own flag */
    core_instance a;
    core_instance_init(&a, &(core_instance_opts){.pipeline = "p", .ec = &pe.ec});
    assert_false(cp_stopping(&a.ctx.pub));
    core_instance_stop(&a);
    assert_true(cp_stopping(&a.ctx.pub));
    core_instance_destroy(&a);
    /* a shared flag: stopping one stops every instance that shares it */
    atomic_bool shared;
    atomic_init(&shared, false);
    core_instance b, c;
    core_instance_init(&b, &(core_instance_opts){.pipeline = "p", .ec = &pe.ec, .stopping = &shared});
    core_instance_init(&c, &(core_instance_opts){.pipeline = "p", .ec = &pe.ec, .stopping = &shared});
    assert_false(cp_stopping(&c.ctx.pub));
    core_instance_stop(&b);
    assert_true(atomic_load(&shared));
    assert_true(cp_stopping(&c.ctx.pub));
    core_instance_destroy(&b);
    core_instance_destroy(&c);
    probe_close(&pe);
}

static void test_bare_context(void **state)
{
    core_instance in;
    core_instance_init(&in, &(core_instance_opts){.pipeline = "fuzz", .kind = CP_SOURCE, .name = "parser"});
    assert_null(core_instance_plugin(&in));
    assert_string_equal(cp_pipeline_name(&in.ctx.pub), "fuzz");
    assert_string_equal(cp_instance_name(&in.ctx.pub), "parser");
    assert_string_equal(in.ctx.tag.kind, "source");
    char *v = NULL;
    assert_int_equal(cp_state_get(&in.ctx.pub, "k", &v), CP_ERR_UNSUPPORTED);
    assert_int_equal(core_instance_create(&in), CP_ERR_INVALID);
    core_instance_destroy(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_store_across_lives),
        cmocka_unit_test(test_no_state_dir_means_no_store),
        cmocka_unit_test(test_deferred_state_waits_for_flush),
        cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_bare_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
