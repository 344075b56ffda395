/* Man page generator: renders the option tables (global, pipeline, sink, every plugin's) as roff
 * for coinpipe.conf(5), so the installed documentation is built from the same tables that
 * validate the config and cannot drift from them.
 * SPDX-License-Identifier: MIT
 */
#include "config.h"
#include "loader.h"
#include "manpage.h"
#include "options.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* roff-escapes text: backslashes, dashes (as \-, so names copy-paste right), and a leading
 * control character */
static void esc(cp_buf *b, const char *s)
{
    if (s && (*s == '.' || *s == '\''))
        cp_buf_puts(b, "\\&");
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\\')
            cp_buf_puts(b, "\\e");
        else if (*p == '-')
            cp_buf_puts(b, "\\-");
        else if (*p == '\n')
            cp_buf_putc(b, ' ');
        else
            cp_buf_putc(b, *p);
    }
}

static void options_roff(cp_buf *b, const cp_option *opts)
{
    if (!opts || !opts->name) {
        cp_buf_puts(b, ".PP\nNo options of its own.\n");
        return;
    }
    for (const cp_option *o = opts; o->name; o++) {
        cp_buf_puts(b, ".TP\n\\fB");
        esc(b, o->name);
        cp_buf_printf(b, "\\fR (\\fI%s\\fR", core_opt_type_name(o->type));
        if (o->flags & CP_OPT_REQUIRED) {
            cp_buf_puts(b, ", required");
        } else if (o->def && !(o->flags & CP_OPT_SECRET)) {
            cp_buf_puts(b, ", default \\fB");
            esc(b, o->def);
            cp_buf_puts(b, "\\fR");
        }
        if (o->flags & CP_OPT_SECRET)
            cp_buf_puts(b, ", secret");
        cp_buf_puts(b, ")\n");
        esc(b, o->doc ? o->doc : "(undocumented)");
        cp_buf_putc(b, '\n');
        if (o->type == CP_OPT_ENUM && o->choices) {
            cp_buf_puts(b, "One of:");
            for (size_t i = 0; o->choices[i]; i++) {
                cp_buf_puts(b, i ? ", \\fB" : " \\fB");
                esc(b, o->choices[i]);
                cp_buf_puts(b, "\\fR");
            }
            cp_buf_puts(b, ".\n");
        }
        if (!(o->min == 0 && o->max == 0)) {
            char range[128], lo[48], hi[48];
            if (o->type == CP_OPT_DURATION) {
                core_util_format_duration((int64_t)o->min, lo, sizeof lo);
                core_util_format_duration((int64_t)o->max, hi, sizeof hi);
            } else {
                snprintf(lo, sizeof lo, o->type == CP_OPT_DOUBLE ? "%.10g" : "%.0f", o->min);
                snprintf(hi, sizeof hi, o->type == CP_OPT_DOUBLE ? "%.10g" : "%.0f", o->max);
            }
            snprintf(range, sizeof range, "Range: %s to %s%s.", lo, hi,
                     o->type == CP_OPT_STRLIST ? " elements" : o->type == CP_OPT_SIZE ? " bytes" : "");
            esc(b, range);
            cp_buf_putc(b, '\n');
        }
        if (cp_option_group(o)) { /* a list of groups: each group's own table, indented */
            cp_buf_puts(b, "Each group takes:\n.RS\n");
            options_roff(b, cp_option_group(o)->options);
            cp_buf_puts(b, ".RE\n");
        }
    }
}

typedef struct man_plugin {
    cp_kind kind;
    char *name;
    cp_buf text;
} man_plugin;

typedef struct man_list {
    man_plugin *v;
    size_t n;
} man_list;

static void visit(core_plugin *p, void *user)
{
    man_list *l = user;
    man_plugin *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return;
    l->v = v;
    man_plugin *m = &v[l->n++];
    *m = (man_plugin){.kind = p->desc.kind, .name = core_util_strdup(p->name)};
    cp_buf_puts(&m->text, ".SS ");
    esc(&m->text, p->name);
    cp_buf_printf(&m->text, " (%s)\n", core_kind_name(p->desc.kind));
    esc(&m->text, p->desc.description ? p->desc.description : "");
    cp_buf_puts(&m->text, "\n(version ");
    esc(&m->text, p->desc.version ? p->desc.version : "unknown");
    cp_buf_puts(&m->text, p->desc.kind == CP_SINK ? "; also takes the options under \\fBSINK OPTIONS\\fR)\n"
                                                     : ")\n");
    options_roff(&m->text, p->desc.options);
}

static int by_kind_name(const void *a, const void *b)
{
    const man_plugin *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind == CP_SOURCE ? -1 : y->kind == CP_SOURCE ? 1 : x->kind == CP_TRANSFORM ? -1 : 1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

int core_manpage_print(const char *what, const core_search_path *sp, FILE *out)
{
    cp_buf b = {0};
    int rc = 0;
    if (strcmp(what, "global") == 0) {
        options_roff(&b, core_config_global_options());
    } else if (strcmp(what, "pipeline") == 0) {
        options_roff(&b, core_config_pipeline_options());
    } else if (strcmp(what, "sink") == 0) {
        options_roff(&b, core_config_sink_options());
    } else if (strcmp(what, "plugins") == 0) {
        man_list l = {0};
        rc = core_loader_each(sp, visit, &l, true) ? 1 : 0;
        if (!l.n)
            rc = 1;
        qsort(l.v, l.n, sizeof *l.v, by_kind_name);
        for (size_t i = 0; i < l.n; i++) {
            if (l.v[i].text.p)
                cp_buf_puts(&b, l.v[i].text.p);
            cp_buf_free(&l.v[i].text);
            free(l.v[i].name);
        }
        free(l.v);
    } else {
        fprintf(stderr, "coinpipe: --describe-man takes global, pipeline, sink or plugins\n");
        return 2;
    }
    if (b.oom)
        rc = 1;
    if (b.p)
        fputs(b.p, out);
    cp_buf_free(&b);
    return rc;
}
