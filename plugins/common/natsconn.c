/* NATS connection options shared by the nats sink and the nats-consumer source.
 * SPDX-License-Identifier: MIT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include "natsconn.h"

#include <coinpipe/buf.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cp_status nc_check(const nc_cfg *c, cp_check *chk)
{
    cp_status st = CP_OK;
    if (!c->user != !c->password) {
        cp_check_error(chk, c->user ? "password" : "user", "user and password go together");
        st = CP_ERR_CONFIG;
    }
    if (!c->nkey != !c->nkey_seed_file) {
        cp_check_error(chk, c->nkey ? "nkey_seed_file" : "nkey", "nkey and nkey_seed_file go together");
        st = CP_ERR_CONFIG;
    }
    if (!c->tls_cert_file != !c->tls_key_file) {
        cp_check_error(chk, c->tls_cert_file ? "tls_key_file" : "tls_cert_file",
                       "tls_cert_file and tls_key_file go together");
        st = CP_ERR_CONFIG;
    }
    int methods = (c->user != NULL) + (c->token != NULL) + (c->nkey != NULL) + (c->creds_file != NULL);
    if (methods > 1) {
        cp_check_error(chk, NULL, "choose one of user/password, token, nkey and creds_file");
        st = CP_ERR_CONFIG;
    }
    for (size_t i = 0; i < c->servers.n; i++) {
        const char *u = c->servers.v[i];
        if (strncmp(u, "nats://", 7) != 0 && strncmp(u, "tls://", 6) != 0) {
            cp_check_error(chk, "servers", "'%s' is not a nats:// or tls:// URL", u);
            st = CP_ERR_CONFIG;
        }
    }
    return st;
}

/* exponential backoff with up to 25 % jitter, from reconnect_wait to reconnect_wait_max */
static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
    (void)nc;
    const nc_cfg *c = closure;
    int64_t d = c->reconnect_wait;
    for (int i = 1; i < attempts && d < c->reconnect_wait_max; i++)
        d *= 2;
    if (d > c->reconnect_wait_max)
        d = c->reconnect_wait_max;
    return d - (int64_t)(rand() % (int)(d / 4 + 1));
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    nc_conn *n = closure;
    if (!atomic_load(&n->closing))
        cp_log_warn(n->ctx, "disconnected from NATS; reconnecting with backoff");
}

static void on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    atomic_store(&((nc_conn *)closure)->closed, true);
}

static void log_connected(natsConnection *nc, nc_conn *n, bool again)
{
    if (atomic_load(&n->closing))
        return;
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    cp_log_info(n->ctx, "%sconnected to NATS at %s", again ? "re" : "", url);
    if (again)
        cp_stream_count(n->ctx, CP_STREAM_RECONNECTS, 1);
}

static void on_reconnected(natsConnection *nc, void *closure) { log_connected(nc, closure, true); }
static void on_connected(natsConnection *nc, void *closure) { log_connected(nc, closure, false); }

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)nc;
    (void)sub;
    nc_conn *n = closure;
    if (!atomic_load(&n->closing))
        cp_log_warn(n->ctx, "NATS: %s", natsStatus_GetText(err));
}

static bool wants_tls(const nc_cfg *c)
{
    if (c->tls || c->tls_ca_file || c->tls_cert_file)
        return true;
    for (size_t i = 0; i < c->servers.n; i++)
        if (strncmp(c->servers.v[i], "tls://", 6) == 0)
            return true;
    return false;
}

static cp_status nc_connect(cp_ctx *ctx, const nc_cfg *c, const char *name, jsOptions *js_opts, nc_conn *out,
                            bool background)
{
    memset(out, 0, sizeof *out);
    out->ctx = ctx;
    natsOptions *o = NULL;
    const char *what = "options";
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetServers(o, (const char **)c->servers.v, (int)c->servers.n);
    if (s == NATS_OK)
        s = natsOptions_SetName(o, name);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, c->connect_timeout);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK)
        s = natsOptions_SetCustomReconnectDelay(o, reconnect_delay, (void *)c);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(o, 0); /* fail publishes while down: the spool keeps them */
    if (s == NATS_OK)
        s = natsOptions_SetFailRequestsOnDisconnect(o, true);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(o, background, background ? on_connected : NULL, out);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(o, on_disconnected, out);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(o, on_reconnected, out);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(o, on_closed, out);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(o, on_error, out);
    if (s == NATS_OK && c->user)
        s = natsOptions_SetUserInfo(o, c->user, c->password);
    if (s == NATS_OK && c->token)
        s = natsOptions_SetToken(o, c->token);
    if (s == NATS_OK && c->nkey && (what = "nkey_seed_file"))
        s = natsOptions_SetNKeyFromSeed(o, c->nkey, c->nkey_seed_file);
    if (s == NATS_OK && c->creds_file && (what = "creds_file"))
        s = natsOptions_SetUserCredentialsFromFiles(o, c->creds_file, NULL);
    if (s == NATS_OK && wants_tls(c) && (what = "tls"))
        s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK && c->tls_ca_file && (what = "tls_ca_file"))
        s = natsOptions_LoadCATrustedCertificates(o, c->tls_ca_file);
    if (s == NATS_OK && c->tls_cert_file && (what = "tls_cert_file"))
        s = natsOptions_LoadCertificatesChain(o, c->tls_cert_file, c->tls_key_file);
    if (s != NATS_OK) {
        cp_log_error(ctx, "%s: %s (%s)", what, natsStatus_GetText(s), nats_GetLastError(NULL));
        natsOptions_Destroy(o);
        return s == NATS_NO_MEMORY ? CP_ERR_NOMEM : CP_ERR_CONFIG;
    }
    s = natsConnection_Connect(&out->nc, o);
    natsOptions_Destroy(o);
    if (s == NATS_NOT_YET_CONNECTED) {
        cp_log_warn(ctx, "no NATS server answers yet (%s); retrying in the background", c->servers.v[0]);
        s = NATS_OK;
    }
    if (s == NATS_OK)
        s = natsConnection_JetStream(&out->js, out->nc, js_opts);
    if (s != NATS_OK) {
        cp_log_error(ctx, "cannot connect to NATS: %s (%s)", natsStatus_GetText(s), nats_GetLastError(NULL));
        nc_close(out);
        return s == NATS_NO_MEMORY ? CP_ERR_NOMEM : background ? CP_ERR_CONFIG : CP_RETRY;
    }
    if (!background)
        log_connected(out->nc, out, true);
    return CP_OK;
}

cp_status nc_open(cp_ctx *ctx, const nc_cfg *c, const char *name, jsOptions *js_opts, nc_conn *out)
{
    return nc_connect(ctx, c, name, js_opts, out, true);
}

void nc_close(nc_conn *n)
{
    atomic_store(&n->closing, true);
    jsCtx_Destroy(n->js);
    if (n->nc) {
        natsConnection_Close(n->nc);
        /* the closed callback is the library's last for this connection: the closure (n) must
         * outlive every callback */
        for (int i = 0; i < 5000 && !atomic_load(&n->closed); i++)
            nats_Sleep(1);
        natsConnection_Destroy(n->nc);
    }
    n->js = NULL;
    n->nc = NULL;
}

bool nc_connected(const nc_conn *n)
{
    return n->nc && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
}

void nc_name(cp_ctx *ctx, char *out, size_t len)
{
    snprintf(out, len, "coinpipe %s/%s", cp_pipeline_name(ctx), cp_instance_name(ctx));
}

bool nc_reopen_if_closed(nc_conn *n, const nc_cfg *c, const char *name, jsOptions *js_opts)
{
    if (n->nc && !natsConnection_IsClosed(n->nc))
        return false;
    cp_ctx *ctx = n->ctx;
    if (n->nc) {
        const char *why = NULL;
        natsConnection_GetLastError(n->nc, &why);
        cp_log_error(ctx, "the NATS connection was closed for good: %s; connecting again",
                     why && *why ? why : "no reason given");
    }
    nc_close(n); /* also after a failed reopen: n->nc is NULL then */
    /* at once, not in the background: a refusal (credentials, TLS) is logged with its reason,
     * and the caller's next attempt (with the core's backoff) tries again */
    nc_connect(ctx, c, name, js_opts, n, false);
    return true;
}

void nc_token(cp_buf *out, const char *s, size_t len)
{
    if (!len) {
        cp_buf_putc(out, '_');
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        cp_buf_putc(out, ch <= ' ' || ch == '.' || ch == '*' || ch == '>' || ch == 0x7f ? '_' : (char)ch);
    }
}

/* libnats keeps threads and global state of its own: it must stay mapped until the process
 * ends, not go with the plugin that loaded it (the core unloads plugins at exit, and the
 * library's state would be lost in the middle of its teardown). */
__attribute__((constructor)) static void nc_load(void)
{
    Dl_info info = {0};
    if (dladdr((void *)natsConnection_Connect, &info) && info.dli_fname)
        dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

/* When the plugin is unloaded (after every instance is destroyed), the library's threads end;
 * with the sink and the source in one process the second call finds it closed and returns. */
__attribute__((destructor)) static void nc_unload(void) { nats_CloseAndWait(2000); }
