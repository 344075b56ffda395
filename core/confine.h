/* Confinement of the plugin code `--check` has to run (their constructors and check callbacks).
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_CONFINE_H
#define COINPIPE_CORE_CONFINE_H

#include <stddef.h>

/* Confines the calling thread and every thread it starts afterwards, for the rest of the
 * process, with Landlock: no file or directory may be created, written, truncated, renamed or
 * removed (reading stays allowed, and descriptors already open, stdout and stderr, stay
 * writable); where the kernel supports it (Landlock ABI 4), no TCP connection or bind; ABI 6,
 * no signal or abstract UNIX socket outside the process. Cannot be undone. Returns the Landlock
 * ABI version applied (1 or more), or 0 with *why saying why nothing could be confined (no
 * Landlock in this kernel or build, or it is disabled). */
int core_confine_readonly(char *why, size_t whylen);

#endif /* COINPIPE_CORE_CONFINE_H */
