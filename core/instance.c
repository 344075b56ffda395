/* Plugin instances: context, state store, stop flag and create/destroy in one place.
 * SPDX-License-Identifier: MIT
 *
 * Every command that runs plugin code (the daemon's pipelines and sink threads, `gaps`, `dead
 * replay`, the benches, the test kit) opens its instances here, so they cannot drift: a plugin
 * that reads a checkpoint in create() or polls cp_stopping() sees the same host everywhere.
 */

#include "instance.h"
#include "loader.h"
#include "state.h"

#include <signal.h>
#include <string.h>

void core_instance_init(core_instance *in, const core_instance_opts *o)
{
    memset(in, 0, sizeof *in);
    in->ec = o->ec;
    const char *name = o->ec ? o->ec->name : o->name;
    if (o->ec)
        core_ctx_init(&in->ctx, o->pipeline, o->ec->plugin->desc.kind, o->ec->plugin->name, name);
    else
        core_ctx_init(&in->ctx, o->pipeline, o->kind, name, name);
    if (o->ec && o->ec->plugin->desc.kind == CP_SOURCE && o->ec->shard.count)
        in->ctx.shard = &o->ec->shard;
    atomic_init(&in->own_stop, false);
    in->ctx.stopping = o->stopping ? o->stopping : &in->own_stop;
    if (o->state_dir) {
        in->ctx.state = core_state_open(o->state_dir, o->pipeline, name);
        if (o->defer_state)
            core_state_defer(in->ctx.state);
    }
}

cp_status core_instance_create(core_instance *in)
{
    if (!in->ec)
        return CP_ERR_INVALID;
    const core_plugin *p = in->ec->plugin;
    cp_status st = p->desc.create(&in->ctx.pub, in->ec->cfg, &in->data);
    if (st != CP_OK)
        in->data = NULL;
    return st;
}

void core_instance_destroy(core_instance *in)
{
    if (in->data)
        in->ec->plugin->desc.destroy(in->data);
    in->data = NULL;
    core_state_close(in->ctx.state);
    in->ctx.state = NULL;
}

void core_instance_stop(core_instance *in) { atomic_store(in->ctx.stopping, true); }

static atomic_bool *g_signal_stop;

static void on_signal(int sig)
{
    (void)sig;
    if (g_signal_stop)
        atomic_store(g_signal_stop, true); /* lock-free: safe in a handler */
}

void core_instance_stop_on_signals(atomic_bool *stop)
{
    g_signal_stop = stop;
    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = stop ? on_signal : SIG_DFL;
    sa.sa_flags = stop ? SA_RESETHAND : 0; /* a second signal ends the process */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
