/* Unit tests of option tables (core/options.c), here the list of groups (CP_OPT_GROUPLIST): filling, defaults, errors with file:line, freeing.
 * SPDX-License-Identifier: MIT
 */
#include "testkit.h"

#include "core/options.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct item {
    char *name;
    int64_t every;
    cp_strlist tags;
} item;
typedef struct cfg {
    cp_grouplist rules;
    char *title;
} cfg;

static const cp_option item_options[] = {
    {.name = "name", .type = CP_OPT_STRING, .flags = CP_OPT_REQUIRED, .offset = offsetof(item, name),
     .doc = "A name."},
    {.name = "every", .type = CP_OPT_DURATION, .def = "\"5m\"", .offset = offsetof(item, every),
     .doc = "How often."},
    {.name = "tags", .type = CP_OPT_STRLIST, .def = "[\"a\"]", .offset = offsetof(item, tags),
     .doc = "Tags."},
    CP_OPTION_END,
};
static const cp_group_spec spec = {sizeof(cp_group_spec), item_options, sizeof(item)};
static const cp_option options[] = {
    {.name = "rules", .type = CP_OPT_GROUPLIST, .min = 1, .max = 3, .offset = offsetof(cfg, rules),
     .choices = CP_GROUP_SPEC(spec),
     .doc = "Rules."},
    {.name = "title", .type = CP_OPT_STRING, .def = "\"t\"", .offset = offsetof(cfg, title),
     .doc = "A title."},
    CP_OPTION_END,
};

/* fills cfg from `text` written to a file; returns the fill's result, errors in *errs */
static int fill(const char *text, cfg *c, core_errors *errs, char *file, size_t filelen)
{
    snprintf(file, filelen, "/tmp/coinpipe-test-options-%d.conf", (int)getpid());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    config_t conf;
    config_init(&conf);
    assert_int_equal(config_read_file(&conf, file), CONFIG_TRUE);
    static const char *const reserved[] = {NULL};
    memset(c, 0, sizeof *c);
    int rc = core_options_fill(options, config_lookup(&conf, "g"), c, reserved, "test", errs);
    config_destroy(&conf);
    unlink(file);
    return rc;
}

static void test_fills_groups(void **state)
{
    (void)state;
    cfg c;
    core_errors errs = {0};
    char file[256], where[300];
    assert_int_equal(fill("g = {\n rules = (\n  { name = \"x\"; },\n  { name = \"y\"; every = \"1h\"; tags = [\"b\", \"c\"]; }\n );\n};\n",
                          &c, &errs, file, sizeof file), 0);
    assert_int_equal(errs.n, 0);
    assert_int_equal(c.rules.n, 2);
    assert_int_equal(c.rules.item_size, sizeof(item));
    const item *a = cp_grouplist_item(&c.rules, 0), *b = cp_grouplist_item(&c.rules, 1);
    assert_string_equal(a->name, "x");
    assert_int_equal(a->every, 300000); /* default */
    assert_int_equal(a->tags.n, 1);
    assert_string_equal(b->name, "y");
    assert_int_equal(b->every, 3600000);
    assert_int_equal(b->tags.n, 2);
    assert_string_equal(b->tags.v[1], "c");
    snprintf(where, sizeof where, "%s:3", file);
    assert_string_equal(c.rules.where[0], where);
    snprintf(where, sizeof where, "%s:4", file);
    assert_string_equal(c.rules.where[1], where);
    assert_string_equal(c.title, "t");
    core_options_free(options, &c); /* every item's strings and lists: ASan checks */
    assert_int_equal(c.rules.n, 0);
    assert_null(c.rules.items);
}

static void test_errors_name_the_member(void **state)
{
    (void)state;
    cfg c;
    core_errors errs = {0};
    char file[256], want[400];
    assert_int_equal(fill("g = {\n rules = (\n  { name = \"x\"; },\n  { nam = \"y\";\n    every = \"soon\"; }\n );\n};\n",
                          &c, &errs, file, sizeof file), -1);
    assert_int_equal(errs.n, 3);
    snprintf(want, sizeof want, "%s:4: unknown option 'nam' for element 2 of 'rules' of test; did you mean 'name'?", file);
    assert_non_null(strstr(errs.msgs[0], want));
    snprintf(want, sizeof want, "%s:4: missing required option 'name'", file);
    assert_non_null(strstr(errs.msgs[1], want));
    snprintf(want, sizeof want, "%s:5: option 'every' for element 2 of 'rules' of test: \"soon\" is not a duration", file);
    assert_non_null(strstr(errs.msgs[2], want));
    assert_int_equal(c.rules.n, 0); /* nothing half-filled is left behind */
    core_options_free(options, &c);
    core_errors_free(&errs);

    assert_int_equal(fill("g = { rules = ( { name = \"x\"; }, 5 ); };\n", &c, &errs, file, sizeof file), -1);
    assert_non_null(strstr(errs.msgs[0], "element 2 is an integer, expected a group { ... }"));
    core_options_free(options, &c);
    core_errors_free(&errs);

    assert_int_equal(fill("g = { rules = \"x\"; };\n", &c, &errs, file, sizeof file), -1);
    assert_non_null(strstr(errs.msgs[0], "option 'rules' for test expects a list of groups"));
    core_options_free(options, &c);
    core_errors_free(&errs);

    assert_int_equal(fill("g = { rules = ( { name = \"a\"; }, { name = \"b\"; }, { name = \"c\"; }, { name = \"d\"; } ); };\n",
                          &c, &errs, file, sizeof file), -1);
    assert_non_null(strstr(errs.msgs[0], "takes between 1 and 3 groups, got 4"));
    core_options_free(options, &c);
    core_errors_free(&errs);
}

static void test_describe_shows_the_group(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    core_options_describe(options, out);
    fclose(out);
    assert_non_null(strstr(text, "rules  group list"));
    assert_non_null(strstr(text, "each group takes:"));
    assert_non_null(strstr(text, "name   string      required"));
    assert_non_null(strstr(text, "every  duration    default: \"5m\""));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_groups),
        cmocka_unit_test(test_errors_name_the_member),
        cmocka_unit_test(test_describe_shows_the_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
