/* `coinpipe status`: the running daemon's health and tables, read from its listener.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_STATUS_H
#define COINPIPE_CORE_STATUS_H

#include <stdio.h>

/* prints the daemon's health and tables to `out`; returns the exit code */
int core_status_main(const char *listen, FILE *out);

#endif /* COINPIPE_CORE_STATUS_H */
