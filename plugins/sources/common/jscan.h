/* A strict JSON pull scanner for response bodies: walks the text in place, allocates nothing.
 * SPDX-License-Identifier: MIT
 *
 * RFC 8259 as written: one value, whitespace around it (space, tab, CR, LF) and nothing else;
 * numbers -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; strings of valid UTF-8 without
 * control characters, escapes \" \\ \/ \b \f \n \r \t \uXXXX; true, false, null; at most
 * SJ_MAX_DEPTH nested arrays and objects. A scalar comes back as its exact text (a number's
 * token, a string's raw bytes between the quotes), so decimals keep every digit; an array or
 * object is entered and its elements or members are pulled one by one. The first error stops
 * the scanner for good: every later call returns false and `err` says what and `err_at` where.
 * tests/fuzz/fuzz_jscan.c checks it against json-c (strict mode) on arbitrary input.
 */
#ifndef COINPIPE_JSCAN_H
#define COINPIPE_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SJ_MAX_DEPTH 32 /* nested arrays and objects (json-c's default limit) */

typedef enum sj_type {
    SJ_NONE = 0, /* no value (a member that was absent) */
    SJ_NULL,
    SJ_FALSE,
    SJ_TRUE,
    SJ_NUMBER,
    SJ_STRING,
    SJ_ARRAY,  /* entered: pull its elements with sj_next(), or sj_skip() it */
    SJ_OBJECT, /* entered: pull its members with sj_member(), or sj_skip() it */
} sj_type;

/* A value: its type and, for scalars, its text in the body. */
typedef struct sj_val {
    sj_type type;
    bool esc;      /* STRING: holds backslash escapes (sj_decode resolves them) */
    bool integer;  /* NUMBER: no fraction and no exponent */
    bool lossy;    /* NUMBER whose text is not the exchange's (a saturated json-c integer) */
    bool dup;      /* sj_fields: the member appeared more than once (this is the last) */
    const char *p; /* NUMBER: the token; STRING: the bytes between the quotes */
    size_t len;
} sj_val;

typedef struct sj {
    const char *p, *end, *base;
    const char *err; /* the first error (json-c's wording), NULL while all is well */
    size_t err_at;   /* its byte offset */
    unsigned depth;
    bool fresh; /* a container was just entered: no element or member read from it yet */
} sj;

void sj_init(sj *j, const char *text, size_t len);
/* Reads the next value into *v; a container is entered. False on a syntax error. */
bool sj_value(sj *j, sj_val *v);
/* In an array: true when another element follows (read it with sj_value), false at its end
 * (the array is left) or on an error. */
bool sj_next(sj *j);
/* In an object: true when another member follows, with its key (a STRING) in *key and the
 * scanner before its value; false at its end (the object is left) or on an error. */
bool sj_member(sj *j, sj_val *key);
/* After sj_value returned v: reads the rest of a container v (validating it); nothing to do
 * for a scalar. False on an error. */
bool sj_skip(sj *j, const sj_val *v);
/* In an array just entered: reads its elements into vals[0..max) (the rest only checked; a
 * container element is skipped and keeps its type), *n gets how many there were, and leaves the
 * array. False on an error. */
bool sj_elements(sj *j, sj_val *vals, size_t max, size_t *n);
/* For a caller's fast path over a compact form it expects: after entering a container, it may
 * read values and separators at j->p itself (never past j->end) and, once it has read at least
 * one complete value, hand back with the scanner at p, before a separator or the container's
 * end; sj_next() / sj_member() go on from there. A fast path that finds another form reads
 * nothing: it leaves j as it was, and the general reading decides and reports. */
void sj_resume(sj *j, const char *p);
/* For such a fast path (and the scanner's strings): where the run of bytes from p (before e)
 * ends that a JSON string holds as they are (printable ASCII other than '"' and '\\'), read
 * eight at a time: a string whose bytes are all such is valid, its value its bytes. */
static inline const char *sj_plain_run(const char *s, const char *end)
{
    const unsigned char *p = (const unsigned char *)s, *e = (const unsigned char *)end;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    while (e - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        /* a high bit marks a quote, a backslash, a byte below 0x20 or one above 0x7F; the
         * lowest marked byte is always a real one */
        uint64_t t = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x;
        t &= highs;
        if (t)
            return (const char *)p + (__builtin_ctzll(t) >> 3);
        p += 8;
    }
#endif
    while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return (const char *)p;
}
/* After the top-level value: true when only whitespace is left, else an error. */
bool sj_end(sj *j);

/* In an object just entered: reads every member, keeping the value of the member named
 * names[k] in vals[k] (SJ_NONE when absent; when repeated, the last one with `dup` set, which
 * the row setters of srcutil.h refuse as a duplicate key; a container value is skipped and keeps
 * its type only); leaves the object. False on an error. */
bool sj_fields(sj *j, const char *const *names, size_t n, sj_val *vals);

/* sj_fields for a value just read: its members if v is an object; otherwise every vals[k] is
 * SJ_NONE and v is skipped. False on an error. */
bool sj_obj(sj *j, const sj_val *v, const char *const *names, size_t n, sj_val *vals);

/* The text of a STRING with escapes resolved (UTF-8), or a NUMBER's token, into out (room for
 * v->len bytes: the decoded text is never longer); returns its length. */
size_t sj_decode(const sj_val *v, char *out);
/* True when v is a STRING whose decoded text is s. */
bool sj_eq(const sj_val *v, const char *s, size_t len);
/* The index of the name (of names[0..n), NUL-terminated) that the STRING key is, or n when none
 * is: what sj_fields matches members with, for loops of one's own over an object's members. */
size_t sj_key_find(const sj_val *key, const char *const *names, size_t n);
/* A NUMBER that is an integer within int64 into *out; false otherwise. */
bool sj_int(const sj_val *v, int64_t *out);

#endif
