/* A strict JSON pull scanner for response bodies: walks the text in place, allocates nothing.
 * SPDX-License-Identifier: MIT
 */
#include "jscan.h"

#include <string.h>

static bool stop(sj *j, const char *at, const char *why)
{
    if (!j->err) {
        j->err = why;
        j->err_at = (size_t)(at - j->base);
    }
    j->p = j->end; /* nothing more is read */
    return false;
}

static bool eod(sj *j) { return stop(j, j->end, "unexpected end of data"); }

static inline const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

void sj_init(sj *j, const char *text, size_t len)
{
    memset(j, 0, sizeof *j);
    j->p = j->base = text;
    j->end = text + len;
}

/* Length of the UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF), 0 when invalid or cut short. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* True when the bytes from p to the end are the start of a valid UTF-8 sequence, cut short. */
static bool utf8_cut(const unsigned char *p, const unsigned char *e)
{
    size_t have = (size_t)(e - p);
    if (have == 1) /* every lead byte has continuations */
        return p[0] >= 0xC2 && p[0] <= 0xF4;
    unsigned char buf[4] = {0x80, 0x80, 0x80, 0x80}; /* completed with continuation bytes */
    if (have >= 4)
        return false;
    memcpy(buf, p, have);
    return utf8_seq(buf, buf + 4) > have;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool scan_string(sj *j, sj_val *v)
{
    const unsigned char *p = (const unsigned char *)j->p + 1, *e = (const unsigned char *)j->end;
    v->type = SJ_STRING;
    v->p = (const char *)p;
    v->esc = false;
    for (;;) {
        p = (const unsigned char *)sj_plain_run((const char *)p, (const char *)e);
        if (p >= e)
            return eod(j);
        if (*p == '"')
            break;
        if (*p == '\\') {
            v->esc = true;
            if (++p >= e)
                return eod(j);
            switch (*p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p++;
                continue;
            case 'u':
                for (int i = 1; i <= 4; i++) {
                    if (p + i >= e)
                        return eod(j);
                    if (hexval(p[i]) < 0)
                        return stop(j, (const char *)p + i, "invalid string sequence");
                }
                p += 5;
                continue;
            default:
                return stop(j, (const char *)p, "invalid string sequence");
            }
        }
        if (*p < 0x20)
            return stop(j, (const char *)p, "invalid string sequence");
        size_t n = utf8_seq(p, e);
        if (!n)
            return stop(j, (const char *)p, utf8_cut(p, e) ? "unexpected end of data" : "invalid utf-8 string");
        p += n;
    }
    v->len = (size_t)(p - (const unsigned char *)v->p);
    j->p = (const char *)p + 1;
    return true;
}

/* A scalar ends at whitespace, a separator or the end of the text. */
static bool delimited(sj *j, const char *p)
{
    if (p < j->end && *p != ',' && *p != ']' && *p != '}' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
        return stop(j, p, "unexpected character");
    j->p = p;
    return true;
}

static bool scan_number(sj *j, sj_val *v)
{
    const char *p = j->p, *e = j->end;
    v->type = SJ_NUMBER;
    v->p = p;
    v->integer = true;
    v->lossy = false;
    if (*p == '-' && ++p >= e)
        return eod(j);
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (++p < e && *p >= '0' && *p <= '9')
            ;
    else
        return stop(j, p, "number expected");
    if (p < e && *p == '.') {
        v->integer = false;
        if (++p >= e)
            return eod(j);
        if (*p < '0' || *p > '9')
            return stop(j, p, "number expected");
        while (++p < e && *p >= '0' && *p <= '9')
            ;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        v->integer = false;
        if (++p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e)
            return eod(j);
        if (*p < '0' || *p > '9')
            return stop(j, p, "number expected");
        while (++p < e && *p >= '0' && *p <= '9')
            ;
    }
    v->len = (size_t)(p - v->p);
    return delimited(j, p);
}

static bool scan_literal(sj *j, sj_val *v, const char *word, size_t n, sj_type t)
{
    size_t have = (size_t)(j->end - j->p);
    if (memcmp(j->p, word, have < n ? have : n) != 0)
        return stop(j, j->p, t == SJ_NULL ? "null expected" : "boolean expected");
    if (have < n)
        return eod(j);
    v->type = t;
    v->p = j->p;
    v->len = n;
    return delimited(j, j->p + n);
}

bool sj_value(sj *j, sj_val *v)
{
    memset(v, 0, sizeof *v);
    if (j->err)
        return false;
    j->fresh = false;
    const char *p = skip_ws(j->p, j->end);
    j->p = p;
    if (p >= j->end)
        return eod(j);
    switch (*p) {
    case '"':
        return scan_string(j, v);
    case '[':
    case '{':
        if (j->depth >= SJ_MAX_DEPTH)
            return stop(j, p, "nesting too deep");
        j->depth++;
        j->fresh = true;
        j->p = p + 1;
        v->type = *p == '[' ? SJ_ARRAY : SJ_OBJECT;
        v->p = p;
        return true;
    case 't':
        return scan_literal(j, v, "true", 4, SJ_TRUE);
    case 'f':
        return scan_literal(j, v, "false", 5, SJ_FALSE);
    case 'n':
        return scan_literal(j, v, "null", 4, SJ_NULL);
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9'))
            return scan_number(j, v);
        return stop(j, p, "unexpected character");
    }
}

/* Before the next element or member of the container just entered or read from: true when
 * one follows (after its comma), false when `close` ends the container. */
static bool another(sj *j, char close, const char *sep_expected)
{
    if (j->err)
        return false;
    const char *p = skip_ws(j->p, j->end);
    if (p >= j->end)
        return eod(j);
    bool fresh = j->fresh;
    j->fresh = false;
    if (*p == close) {
        j->p = p + 1;
        j->depth--;
        return false;
    }
    if (fresh) {
        j->p = p;
        return true;
    }
    if (*p != ',')
        return stop(j, p, sep_expected);
    j->p = p + 1;
    return true;
}

bool sj_next(sj *j) { return another(j, ']', "array value separator ',' expected"); }

bool sj_member(sj *j, sj_val *key)
{
    memset(key, 0, sizeof *key);
    if (!another(j, '}', "object value separator ',' expected"))
        return false;
    const char *p = skip_ws(j->p, j->end);
    if (p >= j->end)
        return eod(j);
    if (*p != '"')
        return stop(j, p, "quoted object property name expected");
    j->p = p;
    if (!scan_string(j, key))
        return false;
    p = skip_ws(j->p, j->end);
    if (p >= j->end)
        return eod(j);
    if (*p != ':')
        return stop(j, p, "object property name separator ':' expected");
    j->p = p + 1;
    return true;
}

bool sj_skip(sj *j, const sj_val *v)
{
    if (j->err)
        return false;
    if (v->type != SJ_ARRAY && v->type != SJ_OBJECT)
        return true;
    uint64_t objects = v->type == SJ_OBJECT; /* bit d: level d is an object */
    unsigned d = 0;
    for (;;) {
        sj_val key, x;
        bool more = (objects >> d) & 1 ? sj_member(j, &key) : sj_next(j);
        if (j->err)
            return false;
        if (!more) {
            if (d == 0)
                return true;
            d--;
            continue;
        }
        if (!sj_value(j, &x))
            return false;
        if (x.type == SJ_ARRAY || x.type == SJ_OBJECT) {
            d++; /* < SJ_MAX_DEPTH < 64: sj_value refused anything deeper */
            objects = (objects & ~(UINT64_C(1) << d)) | ((uint64_t)(x.type == SJ_OBJECT) << d);
        }
    }
}

bool sj_elements(sj *j, sj_val *vals, size_t max, size_t *n)
{
    sj_val spare;
    *n = 0;
    while (another(j, ']', "array value separator ',' expected")) {
        sj_val *v = *n < max ? &vals[*n] : &spare;
        if (!sj_value(j, v) || ((v->type == SJ_ARRAY || v->type == SJ_OBJECT) && !sj_skip(j, v)))
            return false;
        (*n)++;
    }
    return !j->err;
}

void sj_resume(sj *j, const char *p)
{
    j->p = p;
    j->fresh = false;
}

bool sj_end(sj *j)
{
    if (j->err)
        return false;
    const char *p = skip_ws(j->p, j->end);
    if (p < j->end)
        return stop(j, p, "trailing data");
    j->p = p;
    return true;
}

size_t sj_key_find(const sj_val *key, const char *const *names, size_t n)
{
    if (key->type != SJ_STRING)
        return n;
    if (key->esc) { /* rare: decode and compare */
        for (size_t k = 0; k < n; k++)
            if (sj_eq(key, names[k], strlen(names[k])))
                return k;
        return n;
    }
    const char *p = key->p;
    size_t len = key->len;
    for (size_t k = 0; k < n; k++) { /* no strlen: the name must end where the key does */
        const char *s = names[k];
        size_t i = 0;
        while (i < len && s[i] == p[i])
            i++;
        if (i == len && s[i] == '\0')
            return k;
    }
    return n;
}

bool sj_fields(sj *j, const char *const *names, size_t n, sj_val *vals)
{
    for (size_t k = 0; k < n; k++)
        vals[k] = (sj_val){.type = SJ_NONE};
    sj_val key, v;
    while (sj_member(j, &key)) {
        size_t k = sj_key_find(&key, names, n);
        if (!sj_value(j, &v) || !sj_skip(j, &v))
            return false;
        if (k < n) {
            v.dup = vals[k].type != SJ_NONE; /* seen before: the row setters refuse the value */
            vals[k] = v;
        }
    }
    return !j->err;
}

bool sj_obj(sj *j, const sj_val *v, const char *const *names, size_t n, sj_val *vals)
{
    if (v->type == SJ_OBJECT)
        return sj_fields(j, names, n, vals);
    for (size_t k = 0; k < n; k++)
        vals[k] = (sj_val){.type = SJ_NONE};
    return sj_skip(j, v);
}

/* Appends code point u as UTF-8. */
static size_t put_utf8(char *o, unsigned long u)
{
    if (u < 0x80) {
        o[0] = (char)u;
        return 1;
    }
    if (u < 0x800) {
        o[0] = (char)(0xC0 | (u >> 6));
        o[1] = (char)(0x80 | (u & 0x3F));
        return 2;
    }
    if (u < 0x10000) {
        o[0] = (char)(0xE0 | (u >> 12));
        o[1] = (char)(0x80 | ((u >> 6) & 0x3F));
        o[2] = (char)(0x80 | (u & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (u >> 18));
    o[1] = (char)(0x80 | ((u >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((u >> 6) & 0x3F));
    o[3] = (char)(0x80 | (u & 0x3F));
    return 4;
}

static unsigned long hex4(const char *p)
{
    unsigned long u = 0;
    for (int i = 0; i < 4; i++)
        u = u * 16 + (unsigned long)hexval((unsigned char)p[i]);
    return u;
}

size_t sj_decode(const sj_val *v, char *out)
{
    if (v->type != SJ_STRING || !v->esc) {
        memcpy(out, v->p, v->len);
        return v->len;
    }
    const char *p = v->p, *e = v->p + v->len;
    size_t o = 0;
    while (p < e) {
        if (*p != '\\') {
            out[o++] = *p++;
            continue;
        }
        char c = p[1];
        p += 2;
        switch (c) {
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            unsigned long u = hex4(p);
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF && e - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                unsigned long lo = hex4(p + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            if (u >= 0xD800 && u <= 0xDFFF)
                u = 0xFFFD; /* a lone surrogate: the replacement character */
            o += put_utf8(out + o, u);
            break;
        }
        default: out[o++] = c; break; /* " \ / */
        }
    }
    return o;
}

bool sj_eq(const sj_val *v, const char *s, size_t len)
{
    if (v->type != SJ_STRING)
        return false;
    if (!v->esc) {
        if (v->len != len)
            return false;
        for (size_t i = 0; i < len && i < 16; i++) /* keys are short: no call for them (a hot path) */
            if (v->p[i] != s[i])
                return false;
        return len <= 16 || memcmp(v->p + 16, s + 16, len - 16) == 0;
    }
    if (v->len < len)
        return false; /* escapes only shorten */
    char buf[256];
    if (v->len > sizeof buf)
        return false; /* no key or symbol we look for is that long, even escaped */
    size_t n = sj_decode(v, buf);
    return n == len && memcmp(buf, s, len) == 0;
}

bool sj_int(const sj_val *v, int64_t *out)
{
    if (v->type != SJ_NUMBER || !v->integer || v->lossy)
        return false;
    const char *p = v->p, *e = v->p + v->len;
    bool neg = *p == '-';
    p += neg;
    if (e - p <= 18) { /* cannot overflow */
        int64_t x = 0;
        for (; p < e; p++)
            x = x * 10 + (*p - '0');
        *out = neg ? -x : x;
        return true;
    }
    uint64_t x = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < e; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (lim - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = neg ? (int64_t)(0 - x) : (int64_t)x;
    return true;
}
