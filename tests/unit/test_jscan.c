/* The strict JSON scanner of the sources (plugins/sources/common/jscan.c): RFC 8259 exactly, exact token text, errors.
 * SPDX-License-Identifier: MIT
 *
 * tests/fuzz/fuzz_jscan.c compares it with json-c on arbitrary input; these are the cases
 * worth naming.
 */
#include "../../plugins/sources/common/jscan.c"

#include "testkit.h"

#include <stdio.h>
#include <string.h>

/* Reads the whole text, walking every container; NULL when valid, else the error. */
static const char *walk(const char *text, size_t *at)
{
    sj j;
    sj_val v;
    sj_init(&j, text, strlen(text));
    bool ok = sj_value(&j, &v) && sj_skip(&j, &v) && sj_end(&j);
    if (at)
        *at = j.err_at;
    assert_true(ok == (j.err == NULL));
    return j.err;
}

static void test_valid_documents(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "[]", "{}", " [ ] ", "\t\r\n{}\n", "[1]", "[-0]", "[0.5e-3]", "[1E+22]", "[-12.25E2]", "[true,false,null]",
        "{\"a\":[{\"b\":{}}],\"c\":\"\"}", "\"\\u00e9\\n\\\"\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "12", "true",
        "null", "[\"\\ud83d\\ude00\", \"\\/\"]", "{\"a\":1,\"a\":2}", "[1,[2,[3,[4]]]]", "[\"\x7f\"]"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (walk(ok[i], NULL))
            fail_msg("%s refused: %s", ok[i], walk(ok[i], NULL));
}

static void test_strict_refusals(void **state)
{
    (void)state;
    /* what json-c (even its strict mode) or lax readers let through, and RFC 8259 does not */
    static const struct {
        const char *text, *err;
        size_t at;
    } bad[] = {
        {"[01]", "unexpected character", 2},      {"[-01]", "unexpected character", 3},
        {"[1.]", "number expected", 3},           {"[1.e5]", "number expected", 3},
        {"[-.2]", "number expected", 2},          {"[.5]", "unexpected character", 1},
        {"[+1]", "unexpected character", 1},      {"[NaN]", "unexpected character", 1},
        {"[-Infinity]", "number expected", 2},    {"[1,]", "unexpected character", 3},
        {"{\"a\":1,}", "quoted object property name expected", 7},
        {"['a']", "unexpected character", 1},     {"/*c*/[1]", "unexpected character", 0},
        {"[1]x", "trailing data", 3},             {"[1]\v", "trailing data", 3},
        {"[1] [2]", "trailing data", 4},          {"[\"a\tb\"]", "invalid string sequence", 3},
        {"[\"\\x\"]", "invalid string sequence", 3}, {"[\"\\u12G4\"]", "invalid string sequence", 6},
        {"[\"\xc0\x80\"]", "invalid utf-8 string", 2}, {"[\"\xed\xa0\x80\"]", "invalid utf-8 string", 2},
        {"[\"\xf4\x90\x80\x80\"]", "invalid utf-8 string", 2}, {"[\"\x80\"]", "invalid utf-8 string", 2},
        {"[tru]", "boolean expected", 1},         {"[nul]", "null expected", 1},
        {"[truex]", "unexpected character", 5},   {"{\"a\" 1}", "object property name separator ':' expected", 5},
        {"{\"a\":1 \"b\":2}", "object value separator ',' expected", 7},
        {"[1 2]", "array value separator ',' expected", 3}, {"{1:2}", "quoted object property name expected", 1},
        {"", "unexpected end of data", 0},        {"  ", "unexpected end of data", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t at;
        const char *err = walk(bad[i].text, &at);
        if (!err || strcmp(err, bad[i].err) != 0 || at != bad[i].at)
            fail_msg("%s: got %s at %zu, want %s at %zu", bad[i].text, err ? err : "(accepted)", at, bad[i].err,
                     bad[i].at);
    }
}

static void test_truncation_is_end_of_data(void **state)
{
    (void)state;
    /* every proper prefix of a document is a truncation, never another kind of error */
    const char *doc = "{\"bids\":[[\"0.49995000\",\"78.3\"]],\"s\":\"\xe2\x82\xac\\u00e9\",\"t\":true,\"n\":-1.5e-7}";
    char buf[128];
    size_t n = strlen(doc);
    for (size_t len = 0; len < n; len++) {
        memcpy(buf, doc, len);
        buf[len] = 0;
        sj j;
        sj_val v;
        sj_init(&j, buf, len);
        bool ok = sj_value(&j, &v) && sj_skip(&j, &v) && sj_end(&j);
        assert_false(ok);
        if (strcmp(j.err, "unexpected end of data") != 0)
            fail_msg("prefix of %zu bytes: %s", len, j.err);
    }
    assert_null(walk(doc, NULL));
}

static void test_depth_limit(void **state)
{
    (void)state;
    char buf[2 * SJ_MAX_DEPTH + 4];
    size_t n = 0;
    for (int i = 0; i < SJ_MAX_DEPTH; i++)
        buf[n++] = '[';
    for (int i = 0; i < SJ_MAX_DEPTH; i++)
        buf[n++] = ']';
    buf[n] = 0;
    assert_null(walk(buf, NULL));
    memmove(buf + 1, buf, n + 1);
    buf[0] = '[';
    buf[n + 1] = ']';
    buf[n + 2] = 0;
    size_t at;
    assert_string_equal(walk(buf, &at), "nesting too deep");
    assert_int_equal(at, SJ_MAX_DEPTH);
}

static void test_tokens_and_decoding(void **state)
{
    (void)state;
    const char *doc = "{\"p\":\"0.00012300\",\"q\":-0.0e+00,\"i\":9223372036854775807,\"o\":9223372036854775808,"
                      "\"m\":-9223372036854775808,\"e\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac"
                      "\\ud83d\\ude00\\ud800x\",\"s\\u0079m\":\"BTCUSDT\",\"z\":[1,{\"k\":[]}]}";
    static const char *const names[] = {"p", "q", "i", "o", "m", "e", "sym", "z", "absent"};
    sj j;
    sj_val top, f[9];
    sj_init(&j, doc, strlen(doc));
    assert_true(sj_value(&j, &top));
    assert_int_equal(top.type, SJ_OBJECT);
    assert_true(sj_fields(&j, names, 9, f));
    assert_true(sj_end(&j));
    /* exact text, every digit kept */
    assert_int_equal(f[0].type, SJ_STRING);
    assert_int_equal(f[0].len, 10);
    assert_memory_equal(f[0].p, "0.00012300", 10);
    assert_int_equal(f[1].type, SJ_NUMBER);
    assert_false(f[1].integer);
    assert_memory_equal(f[1].p, "-0.0e+00", f[1].len);
    int64_t x;
    assert_true(sj_int(&f[2], &x));
    assert_true(x == INT64_MAX);
    assert_false(sj_int(&f[3], &x)); /* one above: not an int64 */
    assert_true(f[3].integer);
    assert_true(sj_int(&f[4], &x));
    assert_true(x == INT64_MIN);
    assert_false(sj_int(&f[0], &x)); /* a string is not a number */
    assert_false(sj_int(&f[1], &x));
    /* escapes resolved; a lone surrogate becomes U+FFFD, as json-c does */
    char out[128];
    size_t n = sj_decode(&f[5], out);
    const char want[] = "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbdx";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(out, want, n);
    /* an escaped key matches, the value compares decoded */
    assert_int_equal(f[6].type, SJ_STRING);
    assert_true(sj_eq(&f[6], "BTCUSDT", 7));
    assert_false(sj_eq(&f[6], "BTCUSD", 6));
    assert_int_equal(f[7].type, SJ_ARRAY); /* a container member keeps its type, its contents skipped */
    assert_int_equal(f[8].type, SJ_NONE);
}

static void test_pull_order(void **state)
{
    (void)state;
    /* elements one by one; sj_next says where an array ends */
    const char *doc = "[[1,\"a\"],[],[2]]";
    sj j;
    sj_val v, e, x;
    sj_init(&j, doc, strlen(doc));
    assert_true(sj_value(&j, &v));
    size_t sizes[3], k = 0;
    while (sj_next(&j)) {
        assert_true(sj_value(&j, &e));
        assert_int_equal(e.type, SJ_ARRAY);
        size_t m = 0;
        while (sj_next(&j)) {
            assert_true(sj_value(&j, &x));
            m++;
        }
        assert_true(k < 3);
        sizes[k++] = m;
    }
    assert_null(j.err);
    assert_true(sj_end(&j));
    assert_int_equal(k, 3);
    assert_int_equal(sizes[0], 2);
    assert_int_equal(sizes[1], 0);
    assert_int_equal(sizes[2], 1);
    assert_int_equal(j.depth, 0);
    /* after an error every call says no */
    sj_init(&j, "[1,", 3);
    assert_true(sj_value(&j, &v) && sj_next(&j) && sj_value(&j, &x));
    assert_true(sj_next(&j)); /* a comma promises another element ... */
    assert_false(sj_value(&j, &x)); /* ... that is not there */
    assert_string_equal(j.err, "unexpected end of data");
    assert_false(sj_next(&j));
    assert_false(sj_end(&j));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),     cmocka_unit_test(test_strict_refusals),
        cmocka_unit_test(test_truncation_is_end_of_data), cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_tokens_and_decoding), cmocka_unit_test(test_pull_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
