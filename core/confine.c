/* Confinement of the plugin code `--check` has to run, with Landlock.
 * SPDX-License-Identifier: MIT
 *
 * --check must load the plugins a config names to read their descriptors and option tables and
 * to run their check callbacks, and loading a shared object runs its constructors: there is no
 * way to read a descriptor through the dynamic loader without executing the library. So --check
 * runs that code, but confined first: whatever it does cannot create, change or remove a file,
 * nor (kernel permitting) connect anywhere. Landlock is the kernel's unprivileged sandbox
 * (Linux 5.13, LSM enabled by default on the distributions we build for); each feature it added
 * later is used when the running kernel has it.
 */
#include "confine.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__linux__) && __has_include(<linux/landlock.h>)
#include <linux/landlock.h>
#define HAVE_LANDLOCK 1
#endif

#ifdef HAVE_LANDLOCK
/* The syscall numbers are the same on every architecture (added after the unification). */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

/* struct landlock_ruleset_attr as of ABI 6; older headers know only its first members, and
 * an older kernel is given only the size it knows */
struct ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

/* the rights that change the file system (ABI 1), with REFER (ABI 2) and TRUNCATE (ABI 3) */
#define FS_WRITES                                                                                             \
    ((1ULL << 1) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) | (1ULL << 7) | (1ULL << 8) | (1ULL << 9) |          \
     (1ULL << 10) | (1ULL << 11) | (1ULL << 12))
#define FS_REFER (1ULL << 13)
#define FS_TRUNCATE (1ULL << 14)
#define NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */
#define SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL (1ULL << 1)        /* ABI 6 */
#endif

int core_confine_readonly(char *why, size_t whylen)
{
#ifdef HAVE_LANDLOCK
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) {
        snprintf(why, whylen, "Landlock is not available: %s",
                 errno == ENOSYS ? "this kernel has no Landlock" : errno == EOPNOTSUPP ? "it is disabled" : strerror(errno));
        return 0;
    }
    struct ruleset_attr attr = {.handled_access_fs = FS_WRITES};
    size_t size = sizeof attr.handled_access_fs;
    if (abi >= 2)
        attr.handled_access_fs |= FS_REFER;
    if (abi >= 3)
        attr.handled_access_fs |= FS_TRUNCATE;
    if (abi >= 4) {
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
        size = offsetof(struct ruleset_attr, scoped);
    }
    if (abi >= 6) {
        attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
        size = sizeof attr;
    }
    int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (fd < 0) {
        snprintf(why, whylen, "Landlock refused the ruleset: %s", strerror(errno));
        return 0;
    }
    /* no rule is added: every handled right is denied everywhere */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_landlock_restrict_self, fd, 0) != 0) {
        snprintf(why, whylen, "Landlock could not confine the process: %s", strerror(errno));
        close(fd);
        return 0;
    }
    close(fd);
    return (int)abi;
#else
    snprintf(why, whylen, "this build has no Landlock");
    return 0;
#endif
}
