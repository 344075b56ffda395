/* `coinpipe ddl`: CREATE statements for the streams a config writes.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_DDL_H
#define COINPIPE_CORE_DDL_H

#include "config.h"
#include "options.h"

#include <stdio.h>

/* prints CREATE statements for the streams the config's pipelines write, in dialect
 * athena | snowflake | postgresql; 0 ok, 1 nothing to print, 2 unknown dialect (errs says why) */
int core_ddl_print(const core_config *cfg, const char *dialect, FILE *out, core_errors *errs);

#endif /* COINPIPE_CORE_DDL_H */
