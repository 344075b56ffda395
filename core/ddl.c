/* `coinpipe ddl`: prints the DDL of the streams a config writes, as its sinks render it.
 * SPDX-License-Identifier: MIT
 *
 * The core names no plugin here: the streams of a pipeline are what its source declares for
 * its config, plus what each transform adds to the streams that reach it (the `schemas`
 * callback); each sink whose `ddl_dialects` lists the dialect renders its own statements for
 * its pipeline's streams (the `ddl` callback), and every distinct statement is printed once,
 * so that two sinks writing to the same place share their tables. When no configured sink
 * renders the dialect, every plugin on the search path that does renders the streams of every
 * pipeline for its option defaults (config NULL): a template for the table a user would add.
 */
#include "config.h"
#include "ddl.h"
#include "instance.h"
#include "loader.h"
#include "options.h"

#include <coinpipe/schema.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stream lists -------------------------------------------------------------------- */

typedef struct stream_list {
    size_t n, cap;
    cp_schema **v; /* owned copies */
    bool oom;
} stream_list;

static bool list_has(const stream_list *l, const char *stream)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i]->stream, stream))
            return true;
    return false;
}

/* cp_schema_fn: appends a copy of a stream not listed yet (the first declaration wins) */
static bool list_add(void *user, const cp_schema *s)
{
    stream_list *l = user;
    if (!s || !s->stream || list_has(l, s->stream))
        return true;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        cp_schema **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = cp_schema_copy(s))) {
        l->oom = true;
        return false;
    }
    l->n++;
    return true;
}

static void list_free(stream_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (stream_list){0};
}

/* adds what element `ec` of pipeline `pl` declares, given the streams in *l so far; 0 ok */
static int declare(const core_pipeline_cfg *pl, const core_element_cfg *ec, stream_list *l, core_errors *errs)
{
    const cp_plugin *d = &ec->plugin->desc;
    if (!d->schemas)
        return 0;
    size_t before = l->n;
    core_instance in;
    core_instance_init(&in, &(core_instance_opts){.pipeline = pl->name, .ec = ec});
    /* a transform sees the streams that reach it; the list grows only after the call */
    cp_status st = d->schemas(&in.ctx.pub, ec->cfg, d->kind == CP_SOURCE ? NULL : (const cp_schema *const *)l->v,
                              d->kind == CP_SOURCE ? 0 : before, list_add, l);
    core_instance_destroy(&in);
    if (l->oom)
        st = CP_ERR_NOMEM;
    if (st != CP_OK) {
        core_errors_add(errs, "ddl: pipeline '%s': %s '%s' cannot declare its streams: %s", pl->name,
                        core_kind_name(d->kind), ec->name, cp_strerror(st));
        return -1;
    }
    return 0;
}

/* the streams pipeline `pl` writes, in declaration order; 0 ok */
static int pipeline_streams(const core_pipeline_cfg *pl, stream_list *l, core_errors *errs)
{
    int rc = declare(pl, &pl->source, l, errs);
    for (size_t i = 0; i < pl->ntransforms && rc == 0; i++)
        rc = declare(pl, &pl->transforms[i], l, errs);
    return rc;
}

int core_ddl_pipeline_writes(const core_pipeline_cfg *pl, const char *stream)
{
    if (!pl->source.plugin->desc.schemas)
        return -1;
    for (size_t i = 0; i < pl->ntransforms; i++)
        if (!pl->transforms[i].plugin->desc.schemas)
            return -1;
    stream_list l = {0};
    core_errors errs = {0};
    int rc = pipeline_streams(pl, &l, &errs) == 0 ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = strcmp(l.v[i]->stream, stream) == 0;
    list_free(&l);
    core_errors_free(&errs);
    return rc;
}

/* ---- sinks --------------------------------------------------------------------------- */

static bool renders(const cp_plugin *d, const char *dialect)
{
    if (d->kind != CP_SINK || !d->ddl || !d->ddl_dialects)
        return false;
    for (const char *const *p = d->ddl_dialects; *p; p++)
        if (!strcmp(*p, dialect))
            return true;
    return false;
}

/* what was printed: each distinct text once */
typedef struct printer {
    FILE *out;
    size_t n, cap;
    char **seen;
} printer;

/* cp_text_fn */
static void print_text(void *user, const char *text, size_t len)
{
    printer *p = user;
    for (size_t i = 0; i < p->n; i++)
        if (strlen(p->seen[i]) == len && !memcmp(p->seen[i], text, len))
            return;
    fwrite(text, 1, len, p->out);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        char **v = realloc(p->seen, cap * sizeof *v);
        if (!v)
            return; /* printed; only the de-duplication of a later copy is lost */
        p->seen = v;
        p->cap = cap;
    }
    char *c = malloc(len + 1);
    if (!c)
        return;
    memcpy(c, text, len);
    c[len] = '\0';
    p->seen[p->n++] = c;
}

/* calls the ddl callback of plugin `d` (config NULL: not configured); 0 ok */
static int render(const char *pipeline, const core_element_cfg *ec, const core_plugin *plugin, const char *dialect,
                  const stream_list *l, printer *pr, core_errors *errs)
{
    const cp_plugin *d = &plugin->desc;
    core_instance in;
    core_instance_init(&in, &(core_instance_opts){
                                .pipeline = pipeline, .ec = ec, .kind = CP_SINK, .name = plugin->name});
    cp_status st = d->ddl(&in.ctx.pub, ec ? ec->cfg : NULL, dialect, (const cp_schema *const *)l->v, l->n,
                          print_text, pr);
    core_instance_destroy(&in);
    if (st != CP_OK) {
        core_errors_add(errs, "ddl: sink '%s' (plugin %s) cannot render %s DDL: %s", ec ? ec->name : plugin->name,
                        plugin->name, dialect, cp_strerror(st));
        return -1;
    }
    return 0;
}

/* the names of the plugins on the search path that render the dialect, and every dialect any
 * of them renders (for the message about an unknown one) */
typedef struct found {
    const char *dialect;
    size_t n;
    char *names[64];
    char dialects[512];
} found;

static void note_dialects(found *f, const cp_plugin *d)
{
    if (d->kind != CP_SINK || !d->ddl || !d->ddl_dialects)
        return;
    for (const char *const *p = d->ddl_dialects; *p; p++) {
        char quoted[80];
        snprintf(quoted, sizeof quoted, " %s,", *p);
        if (strstr(f->dialects, quoted) || strlen(f->dialects) + strlen(quoted) >= sizeof f->dialects)
            continue;
        strcat(f->dialects, quoted);
    }
}

static void visit(core_plugin *p, void *user)
{
    found *f = user;
    note_dialects(f, &p->desc);
    if (renders(&p->desc, f->dialect) && f->n < sizeof f->names / sizeof f->names[0])
        if ((f->names[f->n] = strdup(p->name)))
            f->n++;
}

void core_ddl_dialects(const core_config *cfg, char *buf, size_t size)
{
    found f = {.dialect = ""};
    for (size_t i = 0; i < cfg->npipelines; i++)
        for (size_t k = 0; k < cfg->pipelines[i].nsinks; k++)
            note_dialects(&f, &cfg->pipelines[i].sinks[k].plugin->desc);
    core_loader_each(&cfg->search, visit, &f, false);
    for (size_t i = 0; i < f.n; i++)
        free(f.names[i]);
    size_t n = strlen(f.dialects);
    if (n)
        f.dialects[n - 1] = '\0'; /* the last comma */
    snprintf(buf, size, "%s", n ? f.dialects + 1 : "none");
}

int core_ddl_print(const core_config *cfg, const char *dialect, FILE *out, core_errors *errs)
{
    found f = {.dialect = dialect};
    bool any = false;
    for (size_t i = 0; i < cfg->npipelines; i++)
        for (size_t k = 0; k < cfg->pipelines[i].nsinks; k++) {
            const cp_plugin *d = &cfg->pipelines[i].sinks[k].plugin->desc;
            note_dialects(&f, d);
            any = any || renders(d, dialect);
        }
    if (!any)
        core_loader_each(&cfg->search, visit, &f, false);
    if (!any && !f.n) {
        size_t n = strlen(f.dialects);
        if (n)
            f.dialects[n - 1] = '\0'; /* the last comma */
        core_errors_add(errs, "ddl: unknown dialect '%s' (the sinks render:%s)", dialect,
                        n ? f.dialects : " none");
        return 2;
    }
    fprintf(out, "-- coinpipe %s DDL for %s%s\n\n", dialect, cfg->file ? cfg->file : "config",
            any ? "" : " (no pipeline has a matching sink: every pipeline's streams)");
    printer pr = {.out = out};
    stream_list all = {0};
    size_t nstreams = 0;
    int rc = 0;
    for (size_t i = 0; i < cfg->npipelines; i++) {
        const core_pipeline_cfg *pl = &cfg->pipelines[i];
        bool mine = !any;
        for (size_t k = 0; k < pl->nsinks && !mine; k++)
            mine = renders(&pl->sinks[k].plugin->desc, dialect);
        if (!mine)
            continue;
        stream_list l = {0};
        if (pipeline_streams(pl, &l, errs) != 0)
            rc = 1;
        for (size_t k = 0; k < l.n; k++)
            if (!list_has(&all, l.v[k]->stream))
                nstreams++, list_add(&all, l.v[k]);
        for (size_t k = 0; any && l.n && k < pl->nsinks; k++)
            if (renders(&pl->sinks[k].plugin->desc, dialect) &&
                render(pl->name, &pl->sinks[k], pl->sinks[k].plugin, dialect, &l, &pr, errs) != 0)
                rc = 1;
        list_free(&l);
    }
    /* not configured: each plugin that renders the dialect, for its defaults, over every stream */
    for (size_t i = 0; i < f.n; i++) {
        char err[768];
        core_plugin *p = all.n ? core_loader_get(&cfg->search, f.names[i], err, sizeof err) : NULL;
        if (p && render(NULL, NULL, p, dialect, &all, &pr, errs) != 0)
            rc = 1;
        if (p)
            core_loader_put(p);
        free(f.names[i]);
    }
    list_free(&all);
    for (size_t i = 0; i < pr.n; i++)
        free(pr.seen[i]);
    free(pr.seen);
    if (!nstreams && rc == 0)
        core_errors_add(errs, "ddl: the config's pipelines declare no streams (no source or transform "
                              "declares any: see `coinpipe --describe PLUGIN`)");
    return nstreams ? rc : 1;
}
