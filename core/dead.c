/* Dead letters: batches a sink rejected for good, kept as JSON files; `coinpipe dead list|replay`.
 * SPDX-License-Identifier: MIT
 *
 * File: <state_dir>/dead/<pipeline>/<sink>/<UTC time>-<stream>-<n>.json holding one object:
 * {"pipeline", "sink", "reason", "failed_at" (ms), "stream", "fields": [{"name", "type",
 * "key"}], "rows": [[cell, ...], ...]} with decimals and strings as JSON strings (exact text),
 * times and ints as integers, NULL as null. `dead replay` writes each file back through a
 * fresh instance of the configured sink and deletes the files that were written.
 */
#include "batch.h"
#include "config.h"
#include "dead.h"
#include "instance.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const type_names[] = {NULL, "int64", "double", "decimal", "string", "timestamp_ms", "bool"};

static void dead_dir(cp_buf *b, const char *state_dir, const char *pipeline, const char *sink)
{
    cp_buf_printf(b, "%s/dead", state_dir);
    if (pipeline) {
        cp_buf_putc(b, '/');
        core_util_path_component(b, pipeline);
    }
    if (sink) {
        cp_buf_putc(b, '/');
        core_util_path_component(b, sink);
    }
}

int core_dead_write(const char *state_dir, const char *pipeline, const char *sink, const cp_batch *b,
                    const char *reason, char *path, size_t pathlen)
{
    const cp_schema *sc = core_batch_schema(b);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "pipeline", json_object_new_string(pipeline));
    json_object_object_add(o, "sink", json_object_new_string(sink));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    json_object_object_add(o, "failed_at", json_object_new_int64(core_util_now_ms()));
    json_object_object_add(o, "stream", json_object_new_string(sc->stream));
    json_object *fields = json_object_new_array();
    for (size_t c = 0; c < sc->nfields; c++) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string(sc->fields[c].name));
        json_object_object_add(f, "type", json_object_new_string(type_names[sc->fields[c].type]));
        json_object_object_add(f, "key", json_object_new_boolean(sc->fields[c].flags & CP_FIELD_KEY));
        json_object_array_add(fields, f);
    }
    json_object_object_add(o, "fields", fields);
    json_object *rows = json_object_new_array();
    for (size_t r = 0; r < core_batch_rows(b); r++) {
        json_object *row = json_object_new_array();
        for (size_t c = 0; c < sc->nfields; c++) {
            json_object *v = NULL;
            if (!core_batch_is_null(b, r, c)) {
                switch (sc->fields[c].type) {
                case CP_T_DECIMAL:
                case CP_T_STRING: {
                    size_t len;
                    const char *t = core_batch_get_text(b, r, c, &len);
                    v = json_object_new_string_len(t, (int)len);
                    break;
                }
                case CP_T_DOUBLE: v = json_object_new_double(core_batch_get_double(b, r, c)); break;
                case CP_T_BOOL: v = json_object_new_boolean(core_batch_get_bool(b, r, c)); break;
                default: v = json_object_new_int64(core_batch_get_int(b, r, c)); break;
                }
            }
            json_object_array_add(row, v);
        }
        json_object_array_add(rows, row);
    }
    json_object_object_add(o, "rows", rows);
    cp_buf dir = {0};
    dead_dir(&dir, state_dir, pipeline, sink);
    int rc = -1;
    if (!dir.oom && core_util_mkdirs(dir.p, 0750) == 0) {
        char ts[40];
        core_util_iso8601(core_util_now_ms(), ts, sizeof ts);
        for (char *p = ts; *p; p++)
            if (*p == ':')
                *p = '-';
        for (int n = 0; n < 1000 && rc != 0; n++) {
            snprintf(path, pathlen, "%s/%s-%s-%d.json", dir.p, ts, sc->stream, n);
            if (access(path, F_OK) == 0)
                continue;
            const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
            rc = core_util_write_file_atomic(path, text, strlen(text));
            break;
        }
    }
    cp_buf_free(&dir);
    json_object_put(o);
    return rc;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                                          : NULL;
}

cp_status core_dead_read(const char *path, cp_batch **out, char **pipeline, char **sink, char **reason)
{
    *out = NULL;
    json_object *o = json_object_from_file(path);
    if (!o)
        return CP_ERR_PARSE;
    cp_status st = CP_ERR_PARSE;
    json_object *fields, *rows;
    const char *stream = jstr(o, "stream");
    if (!stream || !json_object_object_get_ex(o, "fields", &fields) || !json_object_object_get_ex(o, "rows", &rows) ||
        !json_object_is_type(fields, json_type_array) || !json_object_is_type(rows, json_type_array))
        goto out;
    size_t nf = json_object_array_length(fields);
    cp_field *fl = calloc(nf ? nf : 1, sizeof *fl);
    if (!fl)
        goto out;
    for (size_t i = 0; i < nf; i++) {
        json_object *f = json_object_array_get_idx(fields, i), *k;
        const char *t = jstr(f, "type");
        fl[i].name = jstr(f, "name");
        for (int ty = 1; ty <= 6 && t; ty++)
            if (strcmp(type_names[ty], t) == 0)
                fl[i].type = (cp_type)ty;
        fl[i].flags = json_object_object_get_ex(f, "key", &k) && json_object_get_boolean(k) ? CP_FIELD_KEY
                                                                                         : CP_FIELD_NULLABLE;
    }
    cp_schema sc = {.stream = stream, .nfields = nf, .fields = fl};
    cp_batch *b = core_batch_new(&sc, json_object_array_length(rows));
    free(fl);
    if (!b)
        goto out;
    for (size_t r = 0; r < json_object_array_length(rows); r++) {
        json_object *row = json_object_array_get_idx(rows, r);
        size_t ri = core_batch_add_row(b);
        if (ri == SIZE_MAX || !json_object_is_type(row, json_type_array) || json_object_array_length(row) != nf) {
            core_batch_unref(b);
            goto out;
        }
        for (size_t c = 0; c < nf; c++) {
            json_object *v = json_object_array_get_idx(row, c);
            if (!v)
                continue;
            const cp_schema *bs = core_batch_schema(b);
            const char *t = json_object_get_string(v);
            switch (bs->fields[c].type) {
            case CP_T_DECIMAL: core_batch_set_decimal(b, ri, c, t, strlen(t)); break;
            case CP_T_STRING: core_batch_set_string(b, ri, c, t, strlen(t)); break;
            case CP_T_DOUBLE: core_batch_set_double(b, ri, c, json_object_get_double(v)); break;
            case CP_T_BOOL: core_batch_set_bool(b, ri, c, json_object_get_boolean(v)); break;
            default: core_batch_set_int(b, ri, c, json_object_get_int64(v)); break;
            }
        }
    }
    *out = b;
    if (pipeline)
        *pipeline = core_util_strdup(jstr(o, "pipeline"));
    if (sink)
        *sink = core_util_strdup(jstr(o, "sink"));
    if (reason)
        *reason = core_util_strdup(jstr(o, "reason"));
    st = CP_OK;
out:
    json_object_put(o);
    return st;
}

typedef struct dead_file {
    char *path, *pipeline, *sink;
} dead_file;

/* every dead-letter file under state_dir/dead matching the filters, sorted by path */
static size_t collect(const char *state_dir, const char *pipeline, const char *sink, dead_file **out)
{
    *out = NULL;
    size_t n = 0;
    cp_buf root = {0};
    dead_dir(&root, state_dir, NULL, NULL);
    DIR *d1 = opendir(root.p ? root.p : "");
    struct dirent *p, *k, *f;
    while (d1 && (p = readdir(d1))) {
        if (p->d_name[0] == '.')
            continue;
        char pd[4200];
        snprintf(pd, sizeof pd, "%s/%s", root.p, p->d_name);
        DIR *d2 = opendir(pd);
        while (d2 && (k = readdir(d2))) {
            if (k->d_name[0] == '.')
                continue;
            char sd[4600];
            snprintf(sd, sizeof sd, "%s/%s", pd, k->d_name);
            DIR *d3 = opendir(sd);
            while (d3 && (f = readdir(d3))) {
                size_t l = strlen(f->d_name);
                if (l < 6 || strcmp(f->d_name + l - 5, ".json") != 0)
                    continue;
                dead_file *nv = realloc(*out, (n + 1) * sizeof *nv);
                if (!nv)
                    break;
                *out = nv;
                char fp[4900];
                snprintf(fp, sizeof fp, "%s/%s", sd, f->d_name);
                (*out)[n++] = (dead_file){strdup(fp), strdup(p->d_name), strdup(k->d_name)};
            }
            if (d3)
                closedir(d3);
        }
        if (d2)
            closedir(d2);
    }
    if (d1)
        closedir(d1);
    cp_buf_free(&root);
    /* filter by the encoded names */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        cp_buf pe = {0}, se = {0};
        if (pipeline)
            core_util_path_component(&pe, pipeline);
        if (sink)
            core_util_path_component(&se, sink);
        bool keep = (!pipeline || strcmp((*out)[i].pipeline, pe.p) == 0) && (!sink || strcmp((*out)[i].sink, se.p) == 0);
        cp_buf_free(&pe);
        cp_buf_free(&se);
        if (keep)
            (*out)[m++] = (*out)[i];
        else {
            free((*out)[i].path);
            free((*out)[i].pipeline);
            free((*out)[i].sink);
        }
    }
    for (size_t i = 0; i + 1 < m; i++) /* small n: insertion order by path */
        for (size_t j = i + 1; j < m; j++)
            if (strcmp((*out)[i].path, (*out)[j].path) > 0) {
                dead_file t = (*out)[i];
                (*out)[i] = (*out)[j];
                (*out)[j] = t;
            }
    return m;
}

static const core_element_cfg *find_sink(core_config *cfg, const char *pipeline, const char *sink,
                                         const core_pipeline_cfg **pl)
{
    for (size_t i = 0; i < cfg->npipelines; i++)
        if (strcmp(cfg->pipelines[i].name, pipeline) == 0)
            for (size_t k = 0; k < cfg->pipelines[i].nsinks; k++)
                if (strcmp(cfg->pipelines[i].sinks[k].name, sink) == 0) {
                    *pl = &cfg->pipelines[i];
                    return &cfg->pipelines[i].sinks[k];
                }
    return NULL;
}

int core_dead_main(core_config *cfg, const char *action, const char *pipeline, const char *sink)
{
    bool replay = action && strcmp(action, "replay") == 0;
    if (!action || (!replay && strcmp(action, "list") != 0)) {
        fprintf(stderr, "coinpipe: dead needs 'list' or 'replay'\n");
        return 2;
    }
    dead_file *files;
    size_t n = collect(cfg->state_dir, pipeline, sink, &files);
    int rc = 0;
    size_t replayed = 0, left = 0;
    atomic_bool stopping; /* set by SIGINT/SIGTERM: the current file ends, the rest is kept */
    atomic_init(&stopping, false);
    if (replay)
        core_instance_stop_on_signals(&stopping);
    if (!replay)
        printf("%-16s %-16s %-12s %6s  %-40s %s\n", "PIPELINE", "SINK", "STREAM", "ROWS", "REASON", "FILE");
    for (size_t i = 0; i < n; i++) {
        cp_batch *b = NULL;
        char *pl = NULL, *sk = NULL, *reason = NULL;
        if (replay && atomic_load(&stopping)) {
            left++;
        } else if (core_dead_read(files[i].path, &b, &pl, &sk, &reason) != CP_OK) {
            fprintf(stderr, "coinpipe: %s: not a readable dead-letter file\n", files[i].path);
            rc = 1;
        } else if (!replay) {
            printf("%-16s %-16s %-12s %6zu  %-40.40s %s\n", pl ? pl : "?", sk ? sk : "?", core_batch_schema(b)->stream,
                   core_batch_rows(b), reason ? reason : "", files[i].path);
        } else {
            const core_pipeline_cfg *pc = NULL;
            const core_element_cfg *ec = pl && sk ? find_sink(cfg, pl, sk, &pc) : NULL;
            if (!ec) {
                fprintf(stderr, "coinpipe: %s: no sink '%s' in pipeline '%s' in %s: kept\n", files[i].path,
                        sk ? sk : "?", pl ? pl : "?", cfg->file);
                rc = 1;
            } else {
                /* the sink as the daemon runs it: its state store, a stop flag */
                core_instance in;
                core_instance_init(&in, &(core_instance_opts){.pipeline = pc->name,
                                                              .ec = ec,
                                                              .state_dir = cfg->state_dir,
                                                              .stopping = &stopping});
                const cp_plugin *d = core_instance_plugin(&in);
                cp_status st = core_instance_create(&in);
                if (st == CP_OK) {
                    st = d->write(in.data, &in.ctx.pub, b);
                    if ((st == CP_PENDING || st == CP_OK) && d->flush)
                        st = d->flush(in.data, &in.ctx.pub, CP_FLUSH_FORCE);
                }
                core_instance_destroy(&in);
                if (st == CP_OK) {
                    unlink(files[i].path);
                    replayed++;
                    printf("replayed %s (%zu rows of '%s' into %s/%s)\n", files[i].path, core_batch_rows(b),
                           core_batch_schema(b)->stream, pl, sk);
                } else {
                    fprintf(stderr, "coinpipe: %s: replay failed (%s): kept\n", files[i].path, cp_strerror(st));
                    rc = 1;
                }
            }
        }
        core_batch_unref(b);
        free(pl);
        free(sk);
        free(reason);
        free(files[i].path);
        free(files[i].pipeline);
        free(files[i].sink);
    }
    free(files);
    if (replay)
        core_instance_stop_on_signals(NULL);
    if (left) {
        fprintf(stderr, "coinpipe: dead replay interrupted: %zu dead-letter file%s left for the next replay\n", left,
                left == 1 ? "" : "s");
        rc = 1;
    }
    if (replay)
        printf("%zu of %zu dead-letter files replayed\n", replayed, n);
    return rc;
}
