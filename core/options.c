/* Option tables: validate a libconfig group against a plugin's declared options and fill its config.
 * SPDX-License-Identifier: MIT
 */
#include "options.h"
#include "util.h"

#include <coinpipe/buf.h>
#include <coinpipe/text.h>
#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void core_errors_add(core_errors *e, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **m = realloc(e->msgs, (e->n + 1) * sizeof *m);
    if (!m)
        return;
    e->msgs = m;
    e->msgs[e->n] = strdup(buf);
    if (e->msgs[e->n])
        e->n++;
}

void core_errors_print(const core_errors *e, FILE *out)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(out, "%s\n", e->msgs[i]);
}

void core_errors_free(core_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    *e = (core_errors){0};
}

const char *core_opt_type_name(cp_opt_type t)
{
    switch (t) {
    case CP_OPT_BOOL: return "bool";
    case CP_OPT_INT: return "int";
    case CP_OPT_DOUBLE: return "double";
    case CP_OPT_STRING: return "string";
    case CP_OPT_ENUM: return "enum";
    case CP_OPT_DURATION: return "duration";
    case CP_OPT_SIZE: return "size";
    case CP_OPT_STRLIST: return "string list";
    case CP_OPT_GROUPLIST: return "group list";
    }
    return "?";
}

static const char *where_file(const config_setting_t *s)
{
    const char *f = config_setting_source_file(s);
    return f ? f : "<config>";
}

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static void report_unknown(const cp_option *opts, const char *const *reserved, const config_setting_t *s,
                           const char *what, core_errors *errs)
{
    const char *name = config_setting_name(s);
    cp_buf valid = {0};
    const char *best = NULL;
    size_t best_d = 3;
    for (const cp_option *o = opts; o && o->name; o++) {
        cp_buf_printf(&valid, "%s%s", valid.len ? ", " : "", o->name);
        size_t d = cp_edit_distance(name, o->name);
        if (d < best_d) {
            best_d = d;
            best = o->name;
        }
    }
    for (size_t i = 0; reserved && reserved[i]; i++) {
        cp_buf_printf(&valid, "%s%s", valid.len ? ", " : "", reserved[i]);
        size_t d = cp_edit_distance(name, reserved[i]);
        if (d < best_d) {
            best_d = d;
            best = reserved[i];
        }
    }
    char hint[96] = "";
    if (best)
        snprintf(hint, sizeof hint, "; did you mean '%s'?", best);
    core_errors_add(errs, "%s:%d: unknown option '%s' for %s%s (valid: %s)", where_file(s),
                    config_setting_source_line(s), name, what, hint, valid.p ? valid.p : "none");
    cp_buf_free(&valid);
}

static bool setting_is_number(const config_setting_t *s)
{
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

static double setting_number(const config_setting_t *s)
{
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_FLOAT)
        return config_setting_get_float(s);
    return (double)config_setting_get_int64(s);
}

static const char *type_of_setting(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: return "a list";
    case CONFIG_TYPE_GROUP: return "a group";
    }
    return "something else";
}

static void free_grouplist(const cp_option *o, cp_grouplist *l);
static int fill_grouplist(const cp_option *o, const config_setting_t *s, cp_grouplist *out, const char *what,
                          const char *file, int line, core_errors *errs);

/* Converts one setting into the option's storage. Returns 0 or -1 (error added). */
static int convert(const cp_option *o, const config_setting_t *s, void *cfg, const char *what,
                   const char *file, int line, core_errors *errs)
{
    char *dst = (char *)cfg + o->offset;
    bool bounded = !(o->min == 0 && o->max == 0);
    const char *expect = NULL;
    switch (o->type) {
    case CP_OPT_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
            expect = "true or false";
            break;
        }
        *(bool *)dst = config_setting_get_bool(s) != 0;
        return 0;
    case CP_OPT_INT: {
        int t = config_setting_type(s);
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
            expect = "an integer";
            break;
        }
        int64_t v = config_setting_get_int64(s);
        if (bounded && ((double)v < o->min || (double)v > o->max)) {
            core_errors_add(errs, "%s:%d: option '%s' for %s must be between %g and %g, got %lld", file, line,
                            o->name, what, o->min, o->max, (long long)v);
            return -1;
        }
        *(int64_t *)dst = v;
        return 0;
    }
    case CP_OPT_DOUBLE: {
        if (!setting_is_number(s)) {
            expect = "a number";
            break;
        }
        double v = setting_number(s);
        if (bounded && (v < o->min || v > o->max)) {
            core_errors_add(errs, "%s:%d: option '%s' for %s must be between %g and %g, got %g", file, line, o->name,
                            what, o->min, o->max, v);
            return -1;
        }
        *(double *)dst = v;
        return 0;
    }
    case CP_OPT_STRING:
    case CP_OPT_ENUM: {
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
            expect = "a string";
            break;
        }
        const char *v = config_setting_get_string(s);
        if (o->type == CP_OPT_ENUM && !in_list(o->choices, v)) {
            cp_buf c = {0};
            for (size_t i = 0; o->choices && o->choices[i]; i++)
                cp_buf_printf(&c, "%s%s", i ? ", " : "", o->choices[i]);
            core_errors_add(errs, "%s:%d: option '%s' for %s must be one of %s, got \"%s\"", file, line, o->name,
                            what, c.p ? c.p : "(none)", v);
            cp_buf_free(&c);
            return -1;
        }
        char *copy = strdup(v);
        if (!copy)
            return -1;
        free(*(char **)dst);
        *(char **)dst = copy;
        return 0;
    }
    case CP_OPT_DURATION:
    case CP_OPT_SIZE: {
        int64_t v;
        bool dur = o->type == CP_OPT_DURATION;
        if (config_setting_type(s) == CONFIG_TYPE_STRING) {
            const char *txt = config_setting_get_string(s);
            if ((dur ? core_util_parse_duration(txt, &v) : core_util_parse_size(txt, &v)) != 0) {
                core_errors_add(errs, "%s:%d: option '%s' for %s: \"%s\" is not a %s (%s)", file, line, o->name,
                                what, txt, dur ? "duration" : "size",
                                dur ? "e.g. \"250ms\", \"30s\", \"5m\", \"1h\", \"1d\"" : "e.g. \"512\", \"64k\", \"4M\", \"1G\"");
                return -1;
            }
        } else if (setting_is_number(s) && setting_number(s) >= 0 &&
                   setting_number(s) * (dur ? 1000.0 : 1.0) < 9.2e18) { /* converting more would be UB */
            v = (int64_t)(setting_number(s) * (dur ? 1000.0 : 1.0));
        } else {
            expect = dur ? "a duration such as \"30s\"" : "a size such as \"4M\"";
            break;
        }
        if (bounded && ((double)v < o->min || (double)v > o->max)) {
            char lo[32], hi[32], got[32];
            if (dur) {
                core_util_format_duration((int64_t)o->min, lo, sizeof lo);
                core_util_format_duration((int64_t)o->max, hi, sizeof hi);
                core_util_format_duration(v, got, sizeof got);
            } else {
                snprintf(lo, sizeof lo, "%.0f", o->min);
                snprintf(hi, sizeof hi, "%.0f", o->max);
                snprintf(got, sizeof got, "%lld", (long long)v);
            }
            core_errors_add(errs, "%s:%d: option '%s' for %s must be between %s and %s, got %s", file, line, o->name,
                            what, lo, hi, got);
            return -1;
        }
        *(int64_t *)dst = v;
        return 0;
    }
    case CP_OPT_STRLIST: {
        int t = config_setting_type(s);
        bool scalar = t == CONFIG_TYPE_STRING || setting_is_number(s);
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST && !scalar) {
            expect = "a list such as [\"a\", \"b\"]";
            break;
        }
        int n = scalar ? 1 : config_setting_length(s);
        cp_strlist l = {0};
        l.v = calloc((size_t)n + 1, sizeof *l.v);
        if (!l.v)
            return -1;
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = scalar ? s : config_setting_get_elem(s, (unsigned)i);
            char num[64];
            const char *txt = NULL;
            if (config_setting_type(e) == CONFIG_TYPE_STRING)
                txt = config_setting_get_string(e);
            else if (config_setting_type(e) == CONFIG_TYPE_FLOAT) {
                snprintf(num, sizeof num, "%.15g", config_setting_get_float(e));
                txt = num;
            } else if (setting_is_number(e)) {
                snprintf(num, sizeof num, "%lld", (long long)config_setting_get_int64(e));
                txt = num;
            }
            if (!txt) {
                core_errors_add(errs, "%s:%d: option '%s' for %s: element %d is %s, expected a string", file,
                                config_setting_source_line(e) ? (int)config_setting_source_line(e) : line, o->name,
                                what, i + 1, type_of_setting(e));
                for (size_t k = 0; k < l.n; k++)
                    free(l.v[k]);
                free(l.v);
                return -1;
            }
            l.v[l.n] = strdup(txt);
            if (l.v[l.n])
                l.n++;
        }
        if (bounded && ((double)l.n < o->min || (double)l.n > o->max)) {
            core_errors_add(errs, "%s:%d: option '%s' for %s takes between %g and %g elements, got %zu", file, line,
                            o->name, what, o->min, o->max, l.n);
            for (size_t k = 0; k < l.n; k++)
                free(l.v[k]);
            free(l.v);
            return -1;
        }
        cp_strlist *old = (cp_strlist *)dst;
        for (size_t k = 0; k < old->n; k++)
            free(old->v[k]);
        free(old->v);
        *old = l;
        return 0;
    }
    case CP_OPT_GROUPLIST: {
        int t = config_setting_type(s);
        if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_GROUP) {
            expect = "a list of groups such as ( { ... }, { ... } )";
            break;
        }
        cp_grouplist l = {0};
        if (fill_grouplist(o, s, &l, what, file, line, errs) != 0)
            return -1;
        free_grouplist(o, (cp_grouplist *)dst);
        *(cp_grouplist *)dst = l;
        return 0;
    }
    }
    if (expect) {
        core_errors_add(errs, "%s:%d: option '%s' for %s expects %s, got %s", file, line, o->name, what, expect,
                        type_of_setting(s));
        return -1;
    }
    return -1;
}

static void free_grouplist(const cp_option *o, cp_grouplist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        core_options_free(cp_option_group(o)->options, (char *)l->items + i * l->item_size);
        free(l->where[i]);
    }
    free(l->items);
    free(l->where);
    *l = (cp_grouplist){0};
}

/* Fills a group list: each element (a group, or a lone group standing for a list of one) is
 * validated against the nested table with its own file:line. 0, or -1 with errors added. */
static int fill_grouplist(const cp_option *o, const config_setting_t *s, cp_grouplist *out, const char *what,
                          const char *file, int line, core_errors *errs)
{
    bool lone = config_setting_type(s) == CONFIG_TYPE_GROUP;
    int n = lone ? 1 : config_setting_length(s);
    size_t before = errs->n, isz = cp_option_group(o)->item_size ? cp_option_group(o)->item_size : 1;
    cp_grouplist l = {.item_size = isz};
    l.items = calloc((size_t)n + 1, isz);
    l.where = calloc((size_t)n + 1, sizeof *l.where);
    if (!l.items || !l.where) {
        free(l.items);
        free(l.where);
        core_errors_add(errs, "%s:%d: out of memory", file, line);
        return -1;
    }
    static const char *const no_reserved[] = {NULL};
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = lone ? s : config_setting_get_elem(s, (unsigned)i);
        int eline = config_setting_source_line(e) ? (int)config_setting_source_line(e) : line;
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            core_errors_add(errs, "%s:%d: option '%s' for %s: element %d is %s, expected a group { ... }", file, eline,
                            o->name, what, i + 1, type_of_setting(e));
            continue;
        }
        char sub[256];
        snprintf(sub, sizeof sub, "element %d of '%s' of %s", i + 1, o->name, what);
        void *item = (char *)l.items + l.n * isz;
        core_options_fill(cp_option_group(o)->options, e, item, no_reserved, sub, errs);
        char where[512];
        snprintf(where, sizeof where, "%s:%d", where_file(e), eline);
        l.where[l.n] = strdup(where);
        l.n++; /* counted even when partly filled, so that free_grouplist releases it */
        if (!l.where[l.n - 1])
            core_errors_add(errs, "%s:%d: out of memory", file, eline);
    }
    bool bounded = !(o->min == 0 && o->max == 0);
    if (errs->n == before && bounded && ((double)l.n < o->min || (double)l.n > o->max))
        core_errors_add(errs, "%s:%d: option '%s' for %s takes between %g and %g groups, got %zu", file, line,
                        o->name, what, o->min, o->max, l.n);
    if (errs->n != before) {
        free_grouplist(o, &l);
        return -1;
    }
    *out = l;
    return 0;
}

/* Applies the option's default text by parsing it as libconfig. */
static int apply_default(const cp_option *o, void *cfg, const char *what, core_errors *errs)
{
    if (o->type == CP_OPT_INT) { /* libconfig 1.5 truncates big ints without an L suffix */
        char *end;
        long long v = strtoll(o->def, &end, 10);
        if (*end == 'L')
            end++;
        if (*o->def && !*end) {
            *(int64_t *)((char *)cfg + o->offset) = v;
            return 0;
        }
    }
    config_t c;
    config_init(&c);
    size_t n = strlen(o->def) + 16;
    char *text = malloc(n);
    if (!text) {
        config_destroy(&c);
        return -1;
    }
    snprintf(text, n, "v = %s;", o->def);
    int rc = -1;
    if (config_read_string(&c, text) == CONFIG_TRUE) {
        config_setting_t *s = config_lookup(&c, "v");
        rc = s ? convert(o, s, cfg, what, "<default>", 0, errs) : -1;
    } else {
        core_errors_add(errs, "<default>:0: option '%s' for %s has an invalid default %s (plugin bug)", o->name,
                        what, o->def);
    }
    free(text);
    config_destroy(&c);
    return rc;
}

const config_setting_t *core_options_member(const config_setting_t *group, const config_setting_t *base,
                                           const char *name)
{
    const config_setting_t *s = group ? config_setting_get_member(group, name) : NULL;
    return s ? s : base ? config_setting_get_member(base, name) : NULL;
}

int core_options_fill(const cp_option *opts, const config_setting_t *group, void *cfg,
                      const char *const *reserved, const char *what, core_errors *errs)
{
    return core_options_fill_over(opts, group, NULL, cfg, reserved, what, errs);
}

int core_options_fill_over(const cp_option *opts, const config_setting_t *group, const config_setting_t *base,
                           void *cfg, const char *const *reserved, const char *what, core_errors *errs)
{
    size_t before = errs->n;
    const char *file = group ? where_file(group) : "<config>";
    int gline = group ? config_setting_source_line(group) : 0;
    /* unknown keys first (not when reserved is NULL: another table owns the rest), in both groups */
    for (int pass = 0; pass < 2; pass++) {
        const config_setting_t *g = pass ? base : group;
        int n = g && reserved ? config_setting_length(g) : 0;
        for (int i = 0; i < n; i++) {
            const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
            const char *name = config_setting_name(s);
            if (!name || in_list(reserved, name))
                continue;
            bool known = false;
            for (const cp_option *o = opts; o && o->name; o++)
                if (strcmp(o->name, name) == 0)
                    known = true;
            if (!known)
                report_unknown(opts, reserved, s, what, errs);
        }
    }
    for (const cp_option *o = opts; o && o->name; o++) {
        const config_setting_t *s = core_options_member(group, base, o->name);
        if (s) {
            convert(o, s, cfg, what, where_file(s), config_setting_source_line(s), errs);
        } else if (o->flags & CP_OPT_REQUIRED) {
            core_errors_add(errs, "%s:%d: missing required option '%s' (%s) for %s: %s", file, gline, o->name,
                            core_opt_type_name(o->type), what, o->doc ? o->doc : "");
        } else if (o->def) {
            apply_default(o, cfg, what, errs);
        }
    }
    return errs->n == before ? 0 : -1;
}

void core_options_free(const cp_option *opts, void *cfg)
{
    if (!cfg)
        return;
    for (const cp_option *o = opts; o && o->name; o++) {
        char *dst = (char *)cfg + o->offset;
        if (o->type == CP_OPT_STRING || o->type == CP_OPT_ENUM) {
            free(*(char **)dst);
            *(char **)dst = NULL;
        } else if (o->type == CP_OPT_STRLIST) {
            cp_strlist *l = (cp_strlist *)dst;
            for (size_t k = 0; k < l->n; k++)
                free(l->v[k]);
            free(l->v);
            *l = (cp_strlist){0};
        } else if (o->type == CP_OPT_GROUPLIST) {
            free_grouplist(o, (cp_grouplist *)dst);
        }
    }
}

/* ---- semantic checks: the plugin's check callback ---------------------------------------- */

typedef struct check_run {
    cp_check pub; /* first: the plugin's cp_check is &pub */
    const config_setting_t *group;
    const config_setting_t *base; /* a shared block the group refers to (use = "NAME"), or NULL */
    const char *what;
    core_errors *errs;
    size_t reports;
} check_run;

CP_PRINTF(3, 0) static void check_reportv(cp_check *chk, const char *option, const char *fmt, va_list ap)
{
    check_run *r = (check_run *)chk;
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt ? fmt : "invalid configuration", ap);
    for (char *p = msg; *p; p++) /* one line per report */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    const config_setting_t *s = option ? core_options_member(r->group, r->base, option) : NULL;
    const config_setting_t *at = s ? s : r->group;
    if (option)
        core_errors_add(r->errs, "%s:%d: option '%s' for %s: %s", where_file(at), config_setting_source_line(at),
                        option, r->what, msg);
    else
        core_errors_add(r->errs, "%s:%d: %s: %s", where_file(at), config_setting_source_line(at), r->what, msg);
    r->reports++;
}

CP_PRINTF(3, 0) static void check_reportv_at(cp_check *chk, const char *where, const char *fmt, va_list ap)
{
    check_run *r = (check_run *)chk;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt ? fmt : "invalid configuration", ap);
    char loc[512];
    if (!where)
        snprintf(loc, sizeof loc, "%s:%d", where_file(r->group), config_setting_source_line(r->group));
    core_errors_add(r->errs, "%s: %s", where ? where : loc, msg);
    r->reports++;
}

static FILE *notes_out; /* where check notes go (--check: stdout), NULL: nowhere */

void core_options_notes(FILE *out) { notes_out = out; }

CP_PRINTF(3, 0) static void check_notev(cp_check *chk, const char *option, const char *fmt, va_list ap)
{
    check_run *r = (check_run *)chk;
    if (!notes_out || !fmt)
        return;
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    const config_setting_t *s = option ? core_options_member(r->group, r->base, option) : NULL;
    const config_setting_t *at = s ? s : r->group;
    fprintf(notes_out, "%s:%d: note: %s%s%s%s: %s\n", where_file(at), config_setting_source_line(at),
            option ? "option '" : "", option ? option : "", option ? "' for " : "", r->what, msg);
}

int core_options_check(const cp_plugin *d, const config_setting_t *group, const void *cfg, const char *what,
                       core_errors *errs)
{
    return core_options_check_over(d, group, NULL, cfg, what, errs);
}

int core_options_check_over(const cp_plugin *d, const config_setting_t *group, const config_setting_t *base,
                            const void *cfg, const char *what, core_errors *errs)
{
    if (!d->check)
        return 0;
    check_run r = {.pub = {.size = sizeof(cp_check), .reportv = check_reportv, .reportv_at = check_reportv_at,
                           .notev = check_notev},
                   .group = group, .base = base, .what = what, .errs = errs};
    cp_status st = d->check(cfg, &r.pub);
    if (st != CP_OK && r.reports == 0)
        core_errors_add(errs, "%s:%d: %s refused its configuration (%s)", where_file(group),
                        config_setting_source_line(group), what, cp_strerror(st));
    return st != CP_OK || r.reports ? -1 : 0;
}

static void describe_table(const cp_option *opts, FILE *out, int indent);

void core_options_describe(const cp_option *opts, FILE *out)
{
    describe_table(opts, out, 2);
}

static void describe_table(const cp_option *opts, FILE *out, int indent)
{
    if (!opts || !opts->name) {
        fprintf(out, "%*s(no options)\n", indent, "");
        return;
    }
    size_t w = 4;
    for (const cp_option *o = opts; o->name; o++)
        if (strlen(o->name) > w)
            w = strlen(o->name);
    for (const cp_option *o = opts; o->name; o++) {
        char def[128];
        if (o->flags & CP_OPT_REQUIRED)
            snprintf(def, sizeof def, "required");
        else if (o->def && (o->flags & CP_OPT_SECRET))
            snprintf(def, sizeof def, "default: (secret)");
        else if (o->def)
            snprintf(def, sizeof def, "default: %s", o->def);
        else
            snprintf(def, sizeof def, "optional");
        fprintf(out, "%*s%-*s  %-11s %s%s\n", indent, "", (int)w, o->name, core_opt_type_name(o->type), def,
                (o->flags & CP_OPT_SECRET) ? ", secret" : "");
        if (o->type == CP_OPT_ENUM && o->choices) {
            fprintf(out, "%*s%-*s  one of:", indent, "", (int)w, "");
            for (size_t i = 0; o->choices[i]; i++)
                fprintf(out, " %s", o->choices[i]);
            fprintf(out, "\n");
        }
        if (!(o->min == 0 && o->max == 0))
            fprintf(out, "%*s%-*s  range: %g .. %g%s\n", indent, "", (int)w, "", o->min, o->max,
                    o->type == CP_OPT_DURATION ? " ms" : o->type == CP_OPT_STRLIST ? " elements" : o->type == CP_OPT_GROUPLIST ? " groups" : "");
        fprintf(out, "%*s%-*s  %s\n", indent, "", (int)w, "", o->doc ? o->doc : "(undocumented)");
        if (o->type == CP_OPT_GROUPLIST && cp_option_group(o) && indent < 16) {
            fprintf(out, "%*s%-*s  each group takes:\n", indent, "", (int)w, "");
            describe_table(cp_option_group(o)->options, out, indent + (int)w + 4);
        }
    }
}
