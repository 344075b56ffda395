/* coinpipe SDK: comparing and copying schemas, header-only.
 * SPDX-License-Identifier: MIT
 *
 * A sink that prepares statements or files for a stream keeps the schema it prepared them for
 * and compares each batch's schema with it; the core compares schemas the same way (spool
 * records, batches). Every function is static inline: a plugin needs no core symbol for it.
 */
#ifndef COINPIPE_SCHEMA_H
#define COINPIPE_SCHEMA_H

#include <coinpipe/coinpipe.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/**
 * True when both schemas name the same stream and have the same columns (names, types and
 * flags) in the same order. False when either is NULL.
 */
static inline bool cp_schema_equal(const cp_schema *a, const cp_schema *b)
{
    if (!a || !b || a->nfields != b->nfields || strcmp(a->stream, b->stream) != 0)
        return false;
    for (size_t i = 0; i < a->nfields; i++) {
        const cp_field *fa = cp_schema_field(a, i), *fb = cp_schema_field(b, i);
        if (fa->type != fb->type || fa->flags != fb->flags || strcmp(fa->name, fb->name) != 0)
            return false;
    }
    return true;
}

/**
 * A deep copy of `s` (stream name, fields, field names) in one allocation, in this header's
 * layout (stamped; `s` is read through cp_schema_field): the caller owns it and releases it
 * with free(). NULL when out of memory.
 */
static inline cp_schema *cp_schema_copy(const cp_schema *s)
{
    size_t len = sizeof(cp_schema) + s->nfields * sizeof(cp_field) + strlen(s->stream) + 1;
    for (size_t i = 0; i < s->nfields; i++)
        len += strlen(cp_schema_field(s, i)->name) + 1;
    cp_schema *c = (cp_schema *)malloc(len);
    if (!c)
        return NULL;
    cp_field *f = (cp_field *)(c + 1);
    char *p = (char *)(f + s->nfields);
    size_t n = strlen(s->stream) + 1;
    memcpy(p, s->stream, n);
    c->stream = p;
    p += n;
    for (size_t i = 0; i < s->nfields; i++) {
        const cp_field *sf = cp_schema_field(s, i);
        n = strlen(sf->name) + 1;
        memcpy(p, sf->name, n);
        f[i] = (cp_field){.type = sf->type, .flags = sf->flags};
        f[i].name = p;
        p += n;
    }
    c->nfields = s->nfields;
    c->fields = f;
    c->size = (uint32_t)sizeof(cp_schema);
    c->field_size = (uint32_t)sizeof(cp_field);
    return c;
}

#endif /* COINPIPE_SCHEMA_H */
