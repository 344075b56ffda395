/* Parse floors: reads and parses the files named on stdin (one path a line).
 * SPDX-License-Identifier: MIT
 *
 * Usage: bench_parse_floor [jscan|json-c]   (default jscan)
 * The least work any collector must do on the benchmark's responses: read each body and parse
 * it. "jscan" is the project's own scanner (plugins/sources/common/jscan.c, what the Binance
 * source reads its responses with): every value of every file is walked and validated, and
 * nothing is built. "json-c" builds json-c's tree of each file (what a collector on json-c
 * pays at least). Both count the top level's elements (array length or object size) so
 * nothing is optimised away, and print "files N bytes B elements E". Not run by ctest.
 */
#include "jscan.h"

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* elements of the top-level value, every value walked; -1 on a syntax error */
static long scan_jscan(const char *buf, size_t n, const char **why)
{
    sj j;
    sj_val v;
    long elements = 0;
    sj_init(&j, buf, n);
    if (!sj_value(&j, &v))
        goto bad;
    if (v.type == SJ_ARRAY) {
        while (sj_next(&j)) {
            sj_val e;
            if (!sj_value(&j, &e) || !sj_skip(&j, &e))
                goto bad;
            elements++;
        }
    } else if (v.type == SJ_OBJECT) {
        sj_val key;
        while (sj_member(&j, &key)) {
            sj_val e;
            if (!sj_value(&j, &e) || !sj_skip(&j, &e))
                goto bad;
            elements++;
        }
    }
    if (!j.err && sj_end(&j))
        return elements;
bad:
    *why = j.err ? j.err : "syntax error";
    return -1;
}

static long parse_jsonc(json_tokener *tok, const char *buf, size_t n, const char **why)
{
    json_tokener_reset(tok);
    json_object *root = json_tokener_parse_ex(tok, buf, (int)n);
    if (!root) {
        *why = json_tokener_error_desc(json_tokener_get_error(tok));
        return -1;
    }
    long e = json_object_is_type(root, json_type_array) ? (long)json_object_array_length(root)
                                                       : (long)json_object_object_length(root);
    json_object_put(root);
    return e;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "jscan";
    bool jsonc = strcmp(mode, "json-c") == 0;
    if (!jsonc && strcmp(mode, "jscan") != 0) {
        fprintf(stderr, "usage: bench_parse_floor [jscan|json-c] < list-of-files\n");
        return 2;
    }
    char path[4096];
    size_t files = 0, bytes = 0, elements = 0, cap = 0;
    char *buf = NULL;
    json_tokener *tok = jsonc ? json_tokener_new() : NULL;
    if (jsonc && !tok)
        return 1;
    while (fgets(path, sizeof path, stdin)) {
        path[strcspn(path, "\r\n")] = '\0';
        if (!path[0])
            continue;
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "bench_parse_floor: cannot open %s\n", path);
            return 1;
        }
        size_t n = 0, got;
        for (;;) {
            if (cap - n < 65536) {
                cap = cap ? cap * 2 : 1 << 20;
                char *nb = realloc(buf, cap);
                if (!nb)
                    return 1;
                buf = nb;
            }
            got = fread(buf + n, 1, cap - n, f);
            n += got;
            if (got == 0)
                break;
        }
        fclose(f);
        const char *why = NULL;
        long e = jsonc ? parse_jsonc(tok, buf, n, &why) : scan_jscan(buf, n, &why);
        if (e < 0) {
            fprintf(stderr, "bench_parse_floor: %s: %s\n", path, why);
            return 1;
        }
        elements += (size_t)e;
        files++;
        bytes += n;
    }
    if (tok)
        json_tokener_free(tok);
    free(buf);
    printf("files %zu bytes %zu elements %zu\n", files, bytes, elements);
    return 0;
}
