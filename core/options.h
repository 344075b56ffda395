/* Option tables: validating a config group against a plugin's cp_option table, and collected errors.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_OPTIONS_H
#define COINPIPE_CORE_OPTIONS_H

#include <coinpipe/coinpipe.h>
#include <libconfig.h>
#include <stdio.h>

typedef struct core_errors {
    size_t n;
    char **msgs;
} core_errors;
void core_errors_add(core_errors *e, const char *fmt, ...) CP_PRINTF(2, 3);
void core_errors_print(const core_errors *e, FILE *out);
void core_errors_free(core_errors *e);
/* validates `group` against `opts` and fills `cfg`; `reserved` are keys handled elsewhere
 * (NULL-terminated); with reserved == NULL unknown keys are not reported */
int core_options_fill(const cp_option *opts, const config_setting_t *group, void *cfg,
                      const char *const *reserved, const char *what, core_errors *errs);
/* The same over two groups: each option is read from `group`, else from `base` (a shared block
 * that `group` refers to; may be NULL), and unknown keys of both are reported at their own lines. */
int core_options_fill_over(const cp_option *opts, const config_setting_t *group, const config_setting_t *base,
                           void *cfg, const char *const *reserved, const char *what, core_errors *errs);
/* The member `name` of `group`, else of `base` (either may be NULL); NULL when neither has it. */
const config_setting_t *core_options_member(const config_setting_t *group, const config_setting_t *base,
                                            const char *name);
void core_options_free(const cp_option *opts, void *cfg);
/* Runs the plugin's check callback (if any) on `cfg`, filled from `group` without error: each
 * problem it reports becomes one error line, "FILE:LINE: option 'OPT' for WHAT: MESSAGE" with the
 * line of that option in `group` (of the group itself when the option is not written there,
 * "FILE:LINE: WHAT: MESSAGE" when the report names no option). A failing status without a
 * report adds a generic line. Returns 0, or -1 when any error was added. */
/* Where the notes of check callbacks (cp_check_note) are printed from now on: stdout for
 * `run --check`; NULL (the default) drops them. Not thread-safe: call before loading a config. */
void core_options_notes(FILE *out);
int core_options_check(const cp_plugin *d, const config_setting_t *group, const void *cfg, const char *what,
                       core_errors *errs);
/* core_options_check for a group over a shared block (see core_options_fill_over). */
int core_options_check_over(const cp_plugin *d, const config_setting_t *group, const config_setting_t *base,
                            const void *cfg, const char *what, core_errors *errs);
void core_options_describe(const cp_option *opts, FILE *out);
const char *core_opt_type_name(cp_opt_type t);

#endif /* COINPIPE_CORE_OPTIONS_H */
