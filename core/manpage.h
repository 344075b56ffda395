/* coinpipe.conf(5) in roff, generated from the option tables.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_MANPAGE_H
#define COINPIPE_CORE_MANPAGE_H

#include "loader.h"

#include <stdio.h>

/* roff for coinpipe.conf(5) from the option tables; what = global | pipeline |
 * sink | plugins (every plugin on the search path); 0 ok */
int core_manpage_print(const char *what, const core_search_path *sp, FILE *out);

#endif /* COINPIPE_CORE_MANPAGE_H */
