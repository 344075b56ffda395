/* Plugin instances: the one owner of an instance's life (context, state store, stop flag,
 * configuration, create/destroy), used by the runtime, the sink threads, `gaps`, `dead
 * replay`, the benches, the unit test kit and the fuzz harness alike.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_INSTANCE_H
#define COINPIPE_CORE_INSTANCE_H

#include "config.h"
#include "host.h"

#include <coinpipe/coinpipe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct core_instance {
    core_ctx ctx;               /* first: the plugin's cp_ctx is &ctx.pub */
    const core_element_cfg *ec; /* plugin, instance name and filled options (borrowed); NULL: a bare context */
    void *data;                 /* what create() returned; NULL before core_instance_create and after destroy */
    atomic_bool own_stop;       /* the stop flag when the owner shares none (core_instance_init) */
} core_instance;

typedef struct core_instance_opts {
    const char *pipeline;         /* log tag and state path */
    const core_element_cfg *ec;   /* borrowed; must outlive the instance; NULL: a bare context named
                                   * by `kind`, `name` (fuzz harnesses calling parsers directly) */
    cp_kind kind;                 /* only with ec == NULL */
    const char *name;             /* only with ec == NULL */
    const char *state_dir;        /* its checkpoints live in <state_dir>/state/<pipeline>/<name>;
                                   * NULL: no state store (cp_state_* answer CP_ERR_UNSUPPORTED) */
    bool defer_state;             /* checkpoints stay in memory until core_state_flush (the
                                   * runtime's commit: never ahead of the spooled data) */
    atomic_bool *stopping;        /* shared stop flag (borrowed); NULL: the instance's own, which
                                   * core_instance_stop sets */
} core_instance_opts;

/* Prepares `in`: its context (log tag [kind:plugin:instance]), its state store and its stop
 * flag. Calls no plugin code: the owner may wire routing into in->ctx (emit, emit_user, stage,
 * commit) before core_instance_create. Every instance gets a state store when the owner gives a
 * state directory, whichever command runs it, so a plugin reads the same checkpoints in the
 * daemon, in `gaps` and in `dead replay`. Cannot fail (a state store that cannot be read
 * answers errors to the plugin's cp_state_* calls). */
void core_instance_init(core_instance *in, const core_instance_opts *o);
/* Calls the plugin's create() with the filled options; CP_OK, or its status (in->data NULL).
 * The caller words the error: the command knows what the instance was for. */
cp_status core_instance_create(core_instance *in);
/* Calls destroy() (if created), then persists and closes the state store; idempotent. The
 * options (in->ec) stay the caller's. */
void core_instance_destroy(core_instance *in);
/* Sets the stop flag the instance sees through cp_stopping (the shared one, or its own). */
void core_instance_stop(core_instance *in);
/* For commands that run instances outside the runtime (`dead replay`): the first SIGINT or
 * SIGTERM sets *stop, as it does the daemon's flag, instead of ending the process (a second one
 * ends it); NULL puts the default actions back. Main thread, before any other thread starts. */
void core_instance_stop_on_signals(atomic_bool *stop);
/* The plugin's descriptor (NULL for a bare context). */
static inline const cp_plugin *core_instance_plugin(const core_instance *in)
{
    return in->ec ? &in->ec->plugin->desc : NULL;
}

#endif /* COINPIPE_CORE_INSTANCE_H */
