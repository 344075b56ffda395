/* libFuzzer target: the strict JSON scanner (plugins/sources/common/jscan.c) against json-c, differentially.
 * SPDX-License-Identifier: MIT
 *
 * Every input goes through both. When both accept it, the scanner's values rebuilt as a json-c
 * tree (strings decoded, keys cut at a NUL as json-c keeps them, integers saturated as json-c
 * does, the last of repeated keys winning) must equal json-c's tree. When they disagree on
 * accepting it, the difference must be one of json-c's known departures from RFC 8259 even in
 * strict mode, which the scanner does not share:
 *   - json-c accepts numbers RFC 8259 does not have: NaN, Infinity, -Infinity, "1.", "1.e5",
 *     "-01", "-.2";
 *   - json-c lets raw control characters like TAB into strings and does not check UTF-8
 *     strictly (overlong forms, surrogates, code points above U+10FFFF);
 *   - json-c reads a bare top-level number or literal only when something follows it (the
 *     scanner accepts "12" and "true" as RFC 8259 does).
 * Anything else aborts.
 */
#include "common/jscan.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_object *BAD; /* a marker: the scanner failed while building */

static json_object *number(const sj_val *v)
{
    char buf[512];
    if (v->len >= sizeof buf)
        return BAD;
    memcpy(buf, v->p, v->len);
    buf[v->len] = 0;
    if (!v->integer)
        return json_object_new_double(strtod(buf, NULL));
    int64_t i;
    if (sj_int(v, &i))
        return json_object_new_int64(i);
    if (buf[0] == '-')
        return json_object_new_int64(INT64_MIN); /* json-c saturates */
    /* above INT64_MAX: json-c keeps it as uint64 up to UINT64_MAX, saturating beyond */
    uint64_t u = 0;
    for (const char *p = buf; *p; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (u > (UINT64_MAX - d) / 10) {
            u = UINT64_MAX;
            break;
        }
        u = u * 10 + d;
    }
    return json_object_new_uint64(u);
}

static json_object *build(sj *j, const sj_val *v)
{
    switch (v->type) {
    case SJ_NULL: return NULL;
    case SJ_TRUE: return json_object_new_boolean(1);
    case SJ_FALSE: return json_object_new_boolean(0);
    case SJ_NUMBER: return number(v);
    case SJ_STRING: {
        char *buf = malloc(v->len + 1);
        if (!buf)
            abort();
        size_t n = sj_decode(v, buf);
        if (n > v->len)
            abort();
        json_object *o = json_object_new_string_len(buf, (int)n);
        free(buf);
        return o;
    }
    case SJ_ARRAY: {
        json_object *a = json_object_new_array();
        while (sj_next(j)) {
            sj_val x;
            json_object *c = sj_value(j, &x) ? build(j, &x) : BAD;
            if (c == BAD) {
                json_object_put(a);
                return BAD;
            }
            json_object_array_add(a, c);
        }
        if (j->err) {
            json_object_put(a);
            return BAD;
        }
        return a;
    }
    case SJ_OBJECT: {
        json_object *o = json_object_new_object();
        sj_val key, x;
        while (sj_member(j, &key)) {
            char *k = malloc(key.len + 1);
            if (!k)
                abort();
            k[sj_decode(&key, k)] = 0; /* json-c keys end at a NUL */
            json_object *c = sj_value(j, &x) ? build(j, &x) : BAD;
            if (c == BAD) {
                free(k);
                json_object_put(o);
                return BAD;
            }
            json_object_object_add(o, k, c);
            free(k);
        }
        if (j->err) {
            json_object_put(o);
            return BAD;
        }
        return o;
    }
    default: abort();
    }
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and nothing else */
static bool rfc_number(const char *t)
{
    if (*t == '-')
        t++;
    if (*t == '0')
        t++;
    else if (*t >= '1' && *t <= '9')
        while (*t >= '0' && *t <= '9')
            t++;
    else
        return false;
    if (*t == '.') {
        if (*++t < '0' || *t > '9')
            return false;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    if (*t == 'e' || *t == 'E') {
        if (*++t == '+' || *t == '-')
            t++;
        if (*t < '0' || *t > '9')
            return false;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    return *t == 0;
}

/* json-c accepted, the scanner did not: allowed only for json-c's known departures. */
static bool known_departure(const sj *j, const char *s, size_t size)
{
    if (strcmp(j->err, "invalid utf-8 string") == 0)
        return true;
    size_t at = j->err_at;
    if (strcmp(j->err, "invalid string sequence") == 0)
        return at < size && (unsigned char)s[at] < 0x20;
    /* the number token around the error: NaN/Infinity, "1.", "1.e5", "-01" */
    size_t a = at, b = at;
    while (a > 0 && strchr("+-.0123456789eEaNIfinty", s[a - 1]))
        a--;
    while (b < size && s[b] && strchr("+-.0123456789eEaNIfinty", s[b]))
        b++;
    char *tok = malloc(b - a + 1);
    if (!tok)
        abort();
    memcpy(tok, s + a, b - a);
    tok[b - a] = 0;
    bool odd = !rfc_number(tok); /* json-c took a number RFC 8259 does not have */
    free(tok);
    return odd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!BAD)
        BAD = json_object_new_string("scanner failed");
    const char *s = (const char *)data;
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *ref = json_tokener_parse_ex(tok, s, (int)size);
    bool jc_ok = json_tokener_get_error(tok) == json_tokener_success;
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    for (size_t i = used; jc_ok && i < size; i++) /* whitespace after the value, as su_parse allowed */
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            jc_ok = false;

    sj j;
    sj_val top;
    sj_init(&j, s, size);
    json_object *mine = sj_value(&j, &top) ? build(&j, &top) : BAD;
    bool sj_ok = mine != BAD && sj_end(&j);
    if (sj_ok != (j.err == NULL))
        abort(); /* an error is always said, and only then */

    if (jc_ok && sj_ok) {
        if (!json_object_equal(ref, mine))
            abort();
    } else if (jc_ok && !sj_ok) {
        if (!known_departure(&j, s, size))
            abort();
    } else if (!jc_ok && sj_ok) {
        if (top.type != SJ_NUMBER && top.type != SJ_TRUE && top.type != SJ_FALSE && top.type != SJ_NULL)
            abort();
    }
    if (mine != BAD)
        json_object_put(mine);
    json_object *ref_len_holder = jc_ok && json_object_is_type(ref, json_type_array) ? ref : NULL;
    if (!ref_len_holder)
        json_object_put(ref);
    jc_ok = ref_len_holder != NULL;

    /* sj_skip reads any value the same as walking it, and so does sj_elements an array */
    sj_init(&j, s, size);
    bool skip_ok = sj_value(&j, &top) && sj_skip(&j, &top) && sj_end(&j);
    if (skip_ok != sj_ok)
        abort();
    sj_init(&j, s, size);
    if (sj_value(&j, &top) && top.type == SJ_ARRAY) {
        sj_val few[3];
        size_t n = 0;
        bool el_ok = sj_elements(&j, few, 3, &n) && sj_end(&j);
        if (el_ok != sj_ok || (el_ok && jc_ok && n != json_object_array_length(ref_len_holder)))
            abort();
    }
    json_object_put(ref_len_holder);
    return 0;
}
