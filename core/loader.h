/* Plugin loading (the only module that calls libltdl) and the plugin search path.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_LOADER_H
#define COINPIPE_CORE_LOADER_H

#include <coinpipe/coinpipe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct core_plugin {
    char *name;            /* descriptor name */
    char *path;            /* file it was loaded from */
    void *handle;          /* lt_dlhandle */
    cp_plugin desc;        /* the descriptor's fields up to its declared size, rest zero; its
                            * `options` point to its copy in the core's layout (option_size =
                            * the core's; group list specs and tables copied alike) */
    void **tables;         /* those copies, owned */
    size_t ntables;
    int refs;
    struct core_plugin *next;
} core_plugin;
typedef struct core_search_path {
    size_t n;
    char **dirs;
} core_search_path;
int core_loader_init(void);
void core_loader_shutdown(void); /* after every thread has joined */
/* builds the search path: config plugin_path, $COINPIPE_PLUGIN_PATH, build tree, install dir */
void core_loader_search_path(const cp_strlist *config_dirs, core_search_path *out);
void core_loader_search_path_free(core_search_path *sp);
/* loads (or reuses) plugin `name`; on error writes a one-line reason to err */
core_plugin *core_loader_get(const core_search_path *sp, const char *name, char *err, size_t errlen);
/* loads a plugin from an explicit file path */
core_plugin *core_loader_open_file(const char *path, char *err, size_t errlen);
void core_loader_put(core_plugin *p);
/* calls fn for each loadable plugin file found on the search path (first wins by name) */
typedef void (*core_loader_visit_fn)(core_plugin *p, void *user);
int core_loader_each(const core_search_path *sp, core_loader_visit_fn fn, void *user, bool report_errors);
/* opens the system library `soname` (dlopen, RTLD_NOW | RTLD_LOCAL) and stores the address of
 * each of the n symbols in *syms[i].fn; returns the handle (kept until exit: never closed), or
 * NULL with "SONAME cannot be loaded: ..." or "SONAME lacks SYMBOL" in err. Main thread only. */
typedef struct core_loader_sym {
    const char *name;
    void **fn;
} core_loader_sym;
void *core_loader_open_library(const char *soname, const core_loader_sym *syms, size_t n, char *err, size_t errlen);
const char *core_kind_name(cp_kind k);

#endif /* COINPIPE_CORE_LOADER_H */
