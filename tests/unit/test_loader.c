/* Unit tests for the plugin loader (core/loader.c): good plugins load, broken ones are refused.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/loader.h"
#include "core/state.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char path[4096], err[1024];

static core_plugin *open_bad(const char *name)
{
    snprintf(path, sizeof path, "%s/bad/%s.so", getenv("COINPIPE_TEST_PLUGIN_DIR"), name);
    err[0] = '\0';
    return core_loader_open_file(path, err, sizeof err);
}

static void test_refuses_broken_plugins(void **state)
{
    core_loader_init();
    assert_null(open_bad("bad_abi"));
    assert_non_null(strstr(err, "bad_abi.so"));
    assert_non_null(strstr(err, "ABI 99.0"));
    assert_non_null(strstr(err, "major differs"));
    assert_null(open_bad("newer_minor"));
    char want[96];
    snprintf(want, sizeof want, "needs ABI 2.99 but this coinpipe provides %d.%d", CP_ABI_MAJOR, CP_ABI_MINOR);
    assert_non_null(strstr(err, want));
    assert_null(open_bad("short_struct"));
    assert_non_null(strstr(err, "16 bytes"));
    assert_null(open_bad("no_write"));
    assert_non_null(strstr(err, "has no write callback"));
    assert_null(open_bad("half_gaps"));
    assert_non_null(strstr(err, "has a candle_gaps callback but no stored_series callback"));
    assert_null(open_bad("half_ddl"));
    assert_non_null(strstr(err, "half_ddl.so: sink plugin 'half-ddl' has a ddl callback but no ddl_dialects"));
    assert_null(open_bad("bad_group"));
    assert_non_null(strstr(err, "bad_group.so: option 'far' of plugin 'bad-group' lies outside its config struct (8 bytes)"));
    assert_null(open_bad("no_group_spec"));
    assert_non_null(strstr(err, "group list option 'rules' of plugin 'no-group-spec' has no valid group spec"));
    assert_null(open_bad("no_symbol"));
    assert_non_null(strstr(err, "no 'coinpipe_plugin' symbol"));
    assert_null(open_bad("does_not_exist"));
    assert_non_null(strstr(err, "No such file"));
}

static void test_finds_by_name(void **state)
{
    core_search_path sp;
    char *dirs[] = {getenv("COINPIPE_TEST_PLUGIN_DIR"), getenv("COINPIPE_BUILD_PLUGIN_DIR")};
    cp_strlist l = {2, dirs};
    core_loader_search_path(&l, &sp);
    core_plugin *p = core_loader_get(&sp, "fake-source", err, sizeof err);
    assert_non_null(p);
    assert_string_equal(p->name, "fake-source");
    assert_int_equal(p->desc.kind, CP_SOURCE);
    assert_non_null(strstr(p->path, "fake_source.so"));
    core_loader_put(p);
    assert_null(core_loader_get(&sp, "nonexistent", err, sizeof err));
    assert_non_null(strstr(err, "plugin 'nonexistent' not found"));
    assert_null(core_loader_get(&sp, "../etc", err, sizeof err));
    assert_non_null(strstr(err, "invalid plugin name"));
    core_loader_search_path_free(&sp);
}

/* ABI 2 changed the descriptor's layout: a plugin built against ABI 1 is refused with one line
 * naming its file and both versions, before anything past the version head is read */
static void test_refuses_abi_1_plugin(void **state)
{
    assert_null(open_bad("abi1_sink"));
    char want[256];
    snprintf(want, sizeof want, "abi1_sink.so: plugin ABI 1.1 is incompatible with this coinpipe's ABI %d.%d "
             "(major differs): rebuild the plugin against this version", CP_ABI_MAJOR, CP_ABI_MINOR);
    assert_non_null(strstr(err, want));
    assert_null(strchr(err, '\n'));
    assert_int_equal(CP_ABI_MAJOR, 2);
}

/* option entries are walked by the stride the descriptor declares: a wider entry (a later
 * minor's cp_option) is read up to what this core knows; a narrower one is refused */
static void test_option_stride(void **state)
{
    snprintf(path, sizeof path, "%s/wide_options.so", getenv("COINPIPE_TEST_PLUGIN_DIR"));
    core_plugin *p = core_loader_open_file(path, err, sizeof err);
    assert_non_null(p);
    const cp_option *o = p->desc.options;
    assert_string_equal(o[0].name, "path");
    assert_string_equal(o[0].def, "\"out.txt\"");
    assert_string_equal(o[1].name, "count");
    assert_int_equal(o[1].type, CP_OPT_INT);
    assert_string_equal(o[1].def, "7");
    assert_true(o[1].min == 1 && o[1].max == 9);
    assert_string_equal(o[1].doc, "How many.");
    assert_null(o[2].name);
    assert_int_equal(p->desc.option_size, sizeof(cp_option));
    core_loader_put(p);

    assert_null(open_bad("narrow_options"));
    char want[160];
    snprintf(want, sizeof want, "narrow_options.so: option entries of 8 bytes, smaller than the %zu of ABI 2.0",
             sizeof(cp_option));
    assert_non_null(strstr(err, want));
}

static void test_shipped_callbacks(void **state)
{
    core_plugin *p;
    /* the shipped SQL sinks and exchange sources implement them */
    core_search_path sp;
    char *dirs[] = {getenv("COINPIPE_BUILD_PLUGIN_DIR")};
    cp_strlist l = {1, dirs};
    core_loader_search_path(&l, &sp);
    static const char *const sinks[] = {"sqlite", "postgresql"};
    for (size_t i = 0; i < 2; i++) {
        p = core_loader_get(&sp, sinks[i], err, sizeof err);
        assert_non_null(p);
        assert_non_null(p->desc.stored_series);
        assert_non_null(p->desc.candle_gaps);
        core_loader_put(p);
    }
    static const char *const sources[] = {"binance-spot", "binance-futures", "coinbase"};
    for (size_t i = 0; i < 3; i++) {
        p = core_loader_get(&sp, sources[i], err, sizeof err);
        assert_non_null(p);
        assert_non_null(p->desc.candle_series);
        core_loader_put(p);
    }
    core_loader_search_path_free(&sp);
}

static void test_state_roundtrip(void **state)
{
    const char *dir = tk_tmpdir();
    core_state *s = core_state_open(dir, "pipe/1", "inst");
    assert_int_equal(core_state_set(s, "last=open_time\n", "line1\nline2=%x"), CP_OK);
    assert_int_equal(core_state_set(s, "k2", "v2"), CP_OK);
    assert_int_equal(core_state_set(s, "k2", NULL), CP_OK);
    core_state_close(s);
    s = core_state_open(dir, "pipe/1", "inst");
    char *v = NULL;
    assert_int_equal(core_state_get(s, "last=open_time\n", &v), CP_OK);
    assert_string_equal(v, "line1\nline2=%x");
    free(v);
    assert_int_equal(core_state_get(s, "k2", &v), CP_ERR_NOT_FOUND);
    assert_null(v);
    core_state_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_broken_plugins),
        cmocka_unit_test(test_finds_by_name),
        cmocka_unit_test(test_refuses_abi_1_plugin),
        cmocka_unit_test(test_option_stride),
        cmocka_unit_test(test_shipped_callbacks),
        cmocka_unit_test(test_state_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
