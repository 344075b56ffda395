/* Plugin loader: finds, opens and validates plugin shared objects (the only libltdl user).
 * SPDX-License-Identifier: MIT
 */
#include "loader.h"

#include <coinpipe/buf.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef COINPIPE_PLUGIN_DIR
#define COINPIPE_PLUGIN_DIR "/usr/local/lib/coinpipe/plugins"
#endif

static void free_tables(core_plugin *p);

/* At ABI 2.0 each "2.0 size" (the end of a struct's last 2.0 member, what a zero stamp stands
 * for) is its sizeof: no trailing padding, so a zero-stamped array steps right. A later minor
 * that appends turns these into <. */
_Static_assert(CP_OPTION_SIZE_2_0 == sizeof(cp_option), "cp_option: 2.0 size");
_Static_assert(CP_FIELD_SIZE_2_0 == sizeof(cp_field), "cp_field: 2.0 size");
_Static_assert(CP_SCHEMA_SIZE_2_0 == sizeof(cp_schema), "cp_schema: 2.0 size");
_Static_assert(CP_HTTP_REQUEST_SIZE_2_0 == sizeof(cp_http_request), "cp_http_request: 2.0 size");
_Static_assert(CP_HTTP_RESPONSE_SIZE_2_0 == sizeof(cp_http_response), "cp_http_response: 2.0 size");
_Static_assert(CP_PLUGIN_SIZE_2_0 == sizeof(cp_plugin), "cp_plugin: 2.0 size");

static void free_tables(core_plugin *p);

static core_plugin *g_loaded; /* every plugin opened so far; closed at shutdown */
static bool g_inited;

int core_loader_init(void)
{
    if (g_inited)
        return 0;
    if (lt_dlinit() != 0)
        return -1;
    g_inited = true;
    return 0;
}

void core_loader_shutdown(void)
{
    while (g_loaded) {
        core_plugin *p = g_loaded;
        g_loaded = p->next;
        if (p->handle)
            lt_dlclose((lt_dlhandle)p->handle);
        free(p->name);
        free(p->path);
        free_tables(p);
        free(p);
    }
    if (g_inited)
        lt_dlexit();
    g_inited = false;
}

const char *core_kind_name(cp_kind k)
{
    switch (k) {
    case CP_SOURCE: return "source";
    case CP_TRANSFORM: return "transform";
    case CP_SINK: return "sink";
    }
    return "unknown";
}

static void sp_add(core_search_path *sp, const char *dir)
{
    if (!dir || !*dir)
        return;
    for (size_t i = 0; i < sp->n; i++)
        if (strcmp(sp->dirs[i], dir) == 0)
            return;
    char **d = realloc(sp->dirs, (sp->n + 1) * sizeof *d);
    if (!d)
        return;
    sp->dirs = d;
    sp->dirs[sp->n] = strdup(dir);
    if (sp->dirs[sp->n])
        sp->n++;
}

void core_loader_search_path(const cp_strlist *config_dirs, core_search_path *out)
{
    *out = (core_search_path){0};
    for (size_t i = 0; config_dirs && i < config_dirs->n; i++)
        sp_add(out, config_dirs->v[i]);
    const char *env = getenv("COINPIPE_PLUGIN_PATH");
    if (env) {
        char *copy = strdup(env), *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok; tok = strtok_r(NULL, ":", &save))
            sp_add(out, tok);
        free(copy);
    }
    /* the build tree: <dir of the executable>/plugins, so `make run` works uninstalled */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 16);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char dir[PATH_MAX + 64];
            snprintf(dir, sizeof dir, "%s/plugins", exe);
            if (access(dir, R_OK | X_OK) == 0)
                sp_add(out, dir);
#ifdef COINPIPE_PLUGIN_RELDIR
            /* a relocated install: <prefix>/bin/coinpipe finds <prefix>/<libdir>/coinpipe/plugins */
            snprintf(dir, sizeof dir, "%s/../%s", exe, COINPIPE_PLUGIN_RELDIR);
            char real[PATH_MAX];
            if (realpath(dir, real) && access(real, R_OK | X_OK) == 0)
                sp_add(out, real);
#endif
        }
    }
    sp_add(out, COINPIPE_PLUGIN_DIR);
}

/* The package that ships plugin `name` apart from coinpipe's own, from a "plugin-packages" file
 * ("<plugin> <package>" lines, # comments) in a directory of the search path. */
static bool package_of(const core_search_path *sp, const char *name, char *pkg, size_t len)
{
    for (size_t i = 0; i < sp->n; i++) {
        char path[PATH_MAX + 32], line[256];
        snprintf(path, sizeof path, "%s/plugin-packages", sp->dirs[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        bool found = false;
        while (!found && fgets(line, sizeof line, f)) {
            char plugin[128], package[128];
            if (line[0] != '#' && sscanf(line, "%127s %127s", plugin, package) == 2 && strcmp(plugin, name) == 0) {
                snprintf(pkg, len, "%s", package);
                found = true;
            }
        }
        fclose(f);
        if (found)
            return true;
    }
    return false;
}

void core_loader_search_path_free(core_search_path *sp)
{
    for (size_t i = 0; i < sp->n; i++)
        free(sp->dirs[i]);
    free(sp->dirs);
    *sp = (core_search_path){0};
}

static bool valid_plugin_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* plugin name → file stem: '-' becomes '_' */
static void file_stem(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s", name);
    for (char *p = out; *p; p++)
        if (*p == '-')
            *p = '_';
}

/* Checks an option table whose offsets point into a struct of `size` bytes; 0 ok, else err. */
static int validate_options(const char *path, const cp_plugin *d, const cp_option *opts, size_t size, int depth,
                            char *err, size_t errlen)
{
    for (const cp_option *o = opts; o && o->name; o++) {
        size_t need = 0;
        switch (o->type) {
        case CP_OPT_BOOL: need = sizeof(bool); break;
        case CP_OPT_INT:
        case CP_OPT_DURATION:
        case CP_OPT_SIZE: need = sizeof(int64_t); break;
        case CP_OPT_DOUBLE: need = sizeof(double); break;
        case CP_OPT_STRING:
        case CP_OPT_ENUM: need = sizeof(char *); break;
        case CP_OPT_STRLIST: need = sizeof(cp_strlist); break;
        case CP_OPT_GROUPLIST: need = sizeof(cp_grouplist); break;
        default:
            snprintf(err, errlen, "%s: option '%s' of plugin '%s' has an unknown type %d", path, o->name, d->name,
                     (int)o->type);
            return -1;
        }
        if (o->offset + need > size) {
            snprintf(err, errlen, "%s: option '%s' of plugin '%s' lies outside its config struct (%zu bytes)", path,
                     o->name, d->name, size);
            return -1;
        }
        if (o->type == CP_OPT_ENUM && (!o->choices || !o->choices[0])) {
            snprintf(err, errlen, "%s: enum option '%s' of plugin '%s' has no choices", path, o->name, d->name);
            return -1;
        }
        if (o->type == CP_OPT_GROUPLIST) {
            const cp_group_spec *g = cp_option_group(o);
            if (depth > 0 || !g || g->size < sizeof(cp_group_spec) || !g->options || !g->item_size) {
                snprintf(err, errlen, "%s: group list option '%s' of plugin '%s' has %s", path, o->name, d->name,
                         depth > 0 ? "a group list inside a group (not supported)" : "no valid group spec");
                return -1;
            }
            if (validate_options(path, d, g->options, g->item_size, depth + 1, err, errlen) != 0)
                return -1;
        }
        if (!o->doc || !*o->doc) {
            snprintf(err, errlen, "%s: option '%s' of plugin '%s' is undocumented", path, o->name, d->name);
            return -1;
        }
    }
    return 0;
}

/* keeps an allocation the plugin's copied tables need until the plugin is closed */
static void *keep(core_plugin *p, void *mem)
{
    void **v = mem ? realloc(p->tables, (p->ntables + 1) * sizeof *v) : NULL;
    if (!v) {
        free(mem);
        return NULL;
    }
    p->tables = v;
    p->tables[p->ntables++] = mem;
    return mem;
}

static void free_tables(core_plugin *p)
{
    for (size_t i = 0; i < p->ntables; i++)
        free(p->tables[i]);
    free(p->tables);
    p->tables = NULL;
    p->ntables = 0;
}

/* Copies an option table of the plugin into the core's layout: its entries are `stride` bytes
 * apart and no byte of an entry beyond the stride is read; members the plugin's header did not
 * have stay zero. A group list's spec and nested table (same stride: the same cp_option) are
 * copied too, so the core never steps through the plugin's memory by its own sizeof. NULL with
 * err filled on failure. */
static cp_option *copy_table(const char *path, core_plugin *p, const char *src, size_t stride, int depth, char *err,
                             size_t errlen)
{
    size_t take = stride < sizeof(cp_option) ? stride : sizeof(cp_option);
    size_t n = 0;
    for (;; n++) {
        const char *name;
        memcpy(&name, src + n * stride + offsetof(cp_option, name), sizeof name);
        if (!name)
            break;
        if (n >= 4096) {
            snprintf(err, errlen, "%s: option table has no end (an entry with a NULL name)", path);
            return NULL;
        }
    }
    cp_option *t = keep(p, calloc(n + 1, sizeof *t));
    if (!t) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(&t[i], src + i * stride, take);
        const cp_group_spec *g = cp_option_group(&t[i]);
        if (!g || depth > 0 || g->size < sizeof(cp_group_spec) || !g->options)
            continue; /* validate_options words what is wrong with it */
        cp_group_spec *gc = keep(p, calloc(1, sizeof *gc));
        if (!gc) {
            snprintf(err, errlen, "%s: out of memory", path);
            return NULL;
        }
        memcpy(gc, g, sizeof *gc);
        gc->size = sizeof *gc;
        if (!(gc->options = copy_table(path, p, (const char *)g->options, stride, depth + 1, err, errlen)))
            return NULL;
        t[i].choices = CP_GROUP_SPEC(*gc);
    }
    return t;
}

/* Puts the descriptor's option table in the core's layout (desc.option_size: 0 = the ABI 2.0
 * size); desc.options then points to the copy, owned by p. 0 ok, else err filled. */
static int copy_options(const char *path, core_plugin *p, char *err, size_t errlen)
{
    if (!p->desc.options)
        return 0;
    size_t stride = p->desc.option_size ? p->desc.option_size : CP_OPTION_SIZE_2_0;
    if (stride < CP_OPTION_SIZE_2_0) {
        snprintf(err, errlen, "%s: option entries of %zu bytes, smaller than the %u of ABI %u.0: corrupt descriptor",
                 path, stride, (unsigned)CP_OPTION_SIZE_2_0, CP_ABI_MAJOR);
        return -1;
    }
    const cp_option *t = copy_table(path, p, (const char *)p->desc.options, stride, 0, err, errlen);
    if (!t)
        return -1;
    p->desc.options = t;
    p->desc.option_size = sizeof(cp_option);
    return 0;
}

/* Checks the descriptor's callbacks and option table; 0 ok, else err filled. */
static int validate_desc(const char *path, const cp_plugin *d, char *err, size_t errlen)
{
    if (!valid_plugin_name(d->name)) {
        snprintf(err, errlen, "%s: invalid plugin name (use [a-z0-9_-])", path);
        return -1;
    }
    if (d->kind != CP_SOURCE && d->kind != CP_TRANSFORM && d->kind != CP_SINK) {
        snprintf(err, errlen, "%s: plugin '%s' has an unknown kind %d", path, d->name, (int)d->kind);
        return -1;
    }
    const char *missing = NULL;
    if (!d->create)
        missing = "create";
    else if (!d->destroy)
        missing = "destroy";
    else if (d->kind == CP_SOURCE && !d->collect && !d->backfill)
        missing = "collect";
    else if (d->kind == CP_TRANSFORM && !d->process)
        missing = "process";
    else if (d->kind == CP_SINK && !d->write)
        missing = "write";
    if (missing) {
        snprintf(err, errlen, "%s: %s plugin '%s' has no %s callback", path, core_kind_name(d->kind), d->name,
                 missing);
        return -1;
    }
    if (!d->stored_series != !d->candle_gaps) { /* a pair, or neither */
        snprintf(err, errlen, "%s: %s plugin '%s' has a %s callback but no %s callback", path,
                 core_kind_name(d->kind), d->name, d->candle_gaps ? "candle_gaps" : "stored_series",
                 d->candle_gaps ? "stored_series" : "candle_gaps");
        return -1;
    }
    if (!d->ddl != !d->ddl_dialects || (d->ddl && d->kind != CP_SINK)) { /* since ABI 2.0: a sink's pair */
        snprintf(err, errlen, "%s: %s plugin '%s' has %s", path, core_kind_name(d->kind), d->name,
                 d->kind != CP_SINK ? "a ddl callback, which only sinks have"
                 : d->ddl          ? "a ddl callback but no ddl_dialects"
                                   : "ddl_dialects but no ddl callback");
        return -1;
    }
    if (d->tick && d->kind != CP_TRANSFORM) {
        snprintf(err, errlen, "%s: %s plugin '%s' has a tick callback, which only transforms have", path,
                 core_kind_name(d->kind), d->name);
        return -1;
    }
    if (d->schemas && d->kind == CP_SINK) {
        snprintf(err, errlen, "%s: sink plugin '%s' has a schemas callback, which only sources and transforms have",
                 path, d->name);
        return -1;
    }
    return validate_options(path, d, d->options, d->config_size, 0, err, errlen);
}

core_plugin *core_loader_open_file(const char *path, char *err, size_t errlen)
{
    for (core_plugin *p = g_loaded; p; p = p->next)
        if (strcmp(p->path, path) == 0) {
            p->refs++;
            return p;
        }
    if (core_loader_init() != 0) {
        snprintf(err, errlen, "%s: cannot initialise libltdl", path);
        return NULL;
    }
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    lt_dladvise adv;
    lt_dladvise_init(&adv);
    lt_dladvise_local(&adv);
    lt_dlhandle h = lt_dlopenadvise(path, adv);
    lt_dladvise_destroy(&adv);
    if (!h) {
        const char *e = lt_dlerror();
        snprintf(err, errlen, "%s: cannot load: %s", path, e ? e : "unknown error");
        return NULL;
    }
    const void *sym = lt_dlsym(h, "coinpipe_plugin");
    if (!sym) {
        snprintf(err, errlen, "%s: no 'coinpipe_plugin' symbol: not a coinpipe plugin", path);
        lt_dlclose(h);
        return NULL;
    }
    /* read the three version fields first; trust nothing else until they check out */
    uint32_t head[3];
    memcpy(head, sym, sizeof head);
    if (head[0] != CP_ABI_MAJOR) {
        snprintf(err, errlen, "%s: plugin ABI %u.%u is incompatible with this coinpipe's ABI %u.%u (major differs): "
                 "rebuild the plugin against this version", path, head[0], head[1], CP_ABI_MAJOR, CP_ABI_MINOR);
        lt_dlclose(h);
        return NULL;
    }
    if (head[1] > CP_ABI_MINOR) {
        snprintf(err, errlen, "%s: plugin needs ABI %u.%u but this coinpipe provides %u.%u: upgrade coinpipe", path,
                 head[0], head[1], CP_ABI_MAJOR, CP_ABI_MINOR);
        lt_dlclose(h);
        return NULL;
    }
    if (head[2] < CP_PLUGIN_SIZE_2_0) {
        snprintf(err, errlen, "%s: plugin descriptor is %u bytes, smaller than the %u of ABI %u.0: corrupt or "
                 "truncated descriptor", path, head[2], (unsigned)CP_PLUGIN_SIZE_2_0, CP_ABI_MAJOR);
        lt_dlclose(h);
        return NULL;
    }
    core_plugin *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "%s: out of memory", path);
        lt_dlclose(h);
        return NULL;
    }
    size_t take = head[2] < sizeof(cp_plugin) ? head[2] : sizeof(cp_plugin);
    memcpy(&p->desc, sym, take); /* fields the plugin does not know stay zero */
    if (copy_options(path, p, err, errlen) != 0 || validate_desc(path, &p->desc, err, errlen) != 0) {
        free_tables(p);
        free(p);
        lt_dlclose(h);
        return NULL;
    }
    for (core_plugin *q = g_loaded; q; q = q->next)
        if (strcmp(q->name, p->desc.name) == 0) {
            snprintf(err, errlen, "%s: duplicate plugin name '%s' (already loaded from %s)", path, p->desc.name,
                     q->path);
            free_tables(p);
            free(p);
            lt_dlclose(h);
            return NULL;
        }
    p->name = strdup(p->desc.name);
    p->path = strdup(path);
    p->handle = h;
    p->refs = 1;
    if (!p->name || !p->path) {
        free(p->name);
        free(p->path);
        free_tables(p);
        free(p);
        lt_dlclose(h);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    p->next = g_loaded;
    g_loaded = p;
    return p;
}

core_plugin *core_loader_get(const core_search_path *sp, const char *name, char *err, size_t errlen)
{
    if (!valid_plugin_name(name)) {
        snprintf(err, errlen, "invalid plugin name '%s' (use [a-z0-9_-])", name ? name : "");
        return NULL;
    }
    for (core_plugin *p = g_loaded; p; p = p->next)
        if (strcmp(p->name, name) == 0) {
            p->refs++;
            return p;
        }
    char stem[80];
    file_stem(name, stem, sizeof stem);
    cp_buf searched = {0};
    for (size_t i = 0; i < sp->n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s.so", sp->dirs[i], stem);
        cp_buf_printf(&searched, "%s%s", searched.len ? ", " : "", sp->dirs[i]);
        if (access(path, F_OK) != 0)
            continue;
        cp_buf_free(&searched);
        core_plugin *p = core_loader_open_file(path, err, errlen);
        if (p && strcmp(p->name, name) != 0) {
            snprintf(err, errlen, "%s: declares plugin name '%s', expected '%s'", path, p->name, name);
            core_loader_put(p);
            return NULL;
        }
        return p;
    }
    char pkg[128];
    if (package_of(sp, name, pkg, sizeof pkg))
        snprintf(err, errlen, "plugin '%s' not found: it is shipped in the package %s, which is not installed "
                 "(e.g. apt-get install %s); searched %s", name, pkg, pkg, searched.p ? searched.p : "(nothing)");
    else
        snprintf(err, errlen, "plugin '%s' not found: no %s.so in %s (set global.plugin_path or COINPIPE_PLUGIN_PATH)",
                 name, stem, searched.p ? searched.p : "(empty search path)");
    cp_buf_free(&searched);
    return NULL;
}

void core_loader_put(core_plugin *p)
{
    if (p && p->refs > 0)
        p->refs--; /* handles stay open until core_loader_shutdown: threads may still run their code */
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int core_loader_each(const core_search_path *sp, core_loader_visit_fn fn, void *user, bool report_errors)
{
    int errors = 0;
    char **seen = NULL;
    size_t nseen = 0;
    for (size_t i = 0; i < sp->n; i++) {
        DIR *d = opendir(sp->dirs[i]);
        if (!d)
            continue;
        char **files = NULL;
        size_t nf = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l < 4 || strcmp(e->d_name + l - 3, ".so") != 0)
                continue;
            char **f = realloc(files, (nf + 1) * sizeof *f);
            if (!f)
                break;
            files = f;
            files[nf] = strdup(e->d_name);
            if (files[nf])
                nf++;
        }
        closedir(d);
        if (nf)
            qsort(files, nf, sizeof *files, cmp_str);
        for (size_t k = 0; k < nf; k++) {
            bool dup = false;
            for (size_t s = 0; s < nseen; s++)
                if (strcmp(seen[s], files[k]) == 0)
                    dup = true;
            if (!dup) {
                char **ns = realloc(seen, (nseen + 1) * sizeof *ns);
                if (ns) {
                    seen = ns;
                    seen[nseen++] = strdup(files[k]);
                }
                char path[PATH_MAX], err[512];
                snprintf(path, sizeof path, "%s/%s", sp->dirs[i], files[k]);
                core_plugin *p = core_loader_open_file(path, err, sizeof err);
                if (p) {
                    fn(p, user);
                    core_loader_put(p);
                } else {
                    errors++;
                    if (report_errors)
                        fprintf(stderr, "coinpipe: %s\n", err);
                }
            }
            free(files[k]);
        }
        free(files);
    }
    for (size_t s = 0; s < nseen; s++)
        free(seen[s]);
    free(seen);
    return errors;
}

/* ---- system libraries opened on demand ---------------------------------------------- */

/* The one other dynamic load of the process: a library that only some configurations need
 * and whose constructor costs memory in every process that links it (libmicrohttpd runs
 * gnutls_global_init: about 0.9 MB resident that a collector without http_listen never
 * uses). Opened with RTLD_LOCAL so its symbols never satisfy a plugin's. */
#include <dlfcn.h>

void *core_loader_open_library(const char *soname, const core_loader_sym *syms, size_t n, char *err, size_t errlen)
{
    void *so = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        snprintf(err, errlen, "%s cannot be loaded: %s", soname, dlerror());
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(*syms[i].fn = dlsym(so, syms[i].name))) {
            snprintf(err, errlen, "%s lacks %s", soname, syms[i].name);
            dlclose(so);
            return NULL;
        }
    return so;
}
