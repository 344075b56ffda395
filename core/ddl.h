/* `coinpipe ddl`: CREATE statements for the streams a config writes.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_DDL_H
#define COINPIPE_CORE_DDL_H

#include "config.h"
#include "options.h"

#include <stdio.h>

/* prints the DDL of the streams the config's pipelines write (declared by their sources and
 * transforms), as the sinks that render `dialect` write it (see ddl.c); the config's plugins
 * and those on its search path decide which dialects exist. 0 ok; 1 no stream declared, or a
 * plugin failed to declare or render (the rest is printed); 2 no plugin renders the dialect.
 * errs says why. */
int core_ddl_print(const core_config *cfg, const char *dialect, FILE *out, core_errors *errs);
/* Writes the dialects that the configured sinks and the sink plugins on the search path render,
 * comma-separated ("none" when no plugin renders any), into buf (always NUL-terminated). */
void core_ddl_dialects(const core_config *cfg, char *buf, size_t size);
/* Whether pipeline `pl` writes `stream`, as its source and transforms declare (their schemas
 * callbacks, offline): 1 yes, 0 no, -1 unknown (an element without the callback, or one that
 * failed to declare). */
int core_ddl_pipeline_writes(const core_pipeline_cfg *pl, const char *stream);

#endif /* COINPIPE_CORE_DDL_H */
