/* Parse floor: reads and parses with json-c the files named on stdin (one path a line).
 * SPDX-License-Identifier: MIT
 *
 * The least work any collector must do on the benchmark's responses: read each body and turn it
 * into a json-c tree. It walks the top level (array length or object size) so nothing is
 * optimised away, and prints "files N bytes B elements E". Not run by ctest.
 */
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char path[4096];
    size_t files = 0, bytes = 0, elements = 0, cap = 0;
    char *buf = NULL;
    json_tokener *tok = json_tokener_new();
    if (!tok)
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
        json_tokener_reset(tok);
        json_object *root = json_tokener_parse_ex(tok, buf, (int)n);
        if (!root) {
            fprintf(stderr, "bench_parse_floor: %s: %s\n", path,
                    json_tokener_error_desc(json_tokener_get_error(tok)));
            return 1;
        }
        elements += json_object_is_type(root, json_type_array) ? json_object_array_length(root)
                                                               : (size_t)json_object_object_length(root);
        json_object_put(root);
        files++;
        bytes += n;
    }
    json_tokener_free(tok);
    free(buf);
    printf("files %zu bytes %zu elements %zu\n", files, bytes, elements);
    return 0;
}
