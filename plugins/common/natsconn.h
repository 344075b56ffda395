/* NATS connection options shared by the nats sink and the nats-consumer source.
 * SPDX-License-Identifier: MIT
 *
 * Both plugins compile natsconn.c into themselves (one .so each, no shared library of ours):
 * the servers, credentials (user/password, token, NKey seed, creds file: secret options), TLS
 * and the reconnect backoff are spelled the same in both blocks of a config.
 */
#ifndef COINPIPE_PLUGINS_NATSCONN_H
#define COINPIPE_PLUGINS_NATSCONN_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>
#include <nats/nats.h>
#include <stdatomic.h>

/* The connection part of a plugin's config struct (its first member). */
typedef struct nc_cfg {
    cp_strlist servers;
    char *user, *password, *token, *nkey, *nkey_seed_file, *creds_file;
    bool tls;
    char *tls_ca_file, *tls_cert_file, *tls_key_file;
    int64_t connect_timeout, reconnect_wait, reconnect_wait_max;
} nc_cfg;

/* The option table entries of nc_cfg, for a config struct `T` whose member `m` is the nc_cfg. */
#define NC_OPTIONS(T, m)                                                                                            \
    {.name = "servers", .type = CP_OPT_STRLIST, .def = "[\"nats://127.0.0.1:4222\"]", .min = 1, .max = 64,           \
     .offset = offsetof(T, m.servers),                                                                            \
     .doc = "NATS server URLs (nats://host:port, tls://host:port); the client also learns the cluster's others."},     \
    {.name = "user", .type = CP_OPT_STRING, .offset = offsetof(T, m.user),                                         \
     .doc = "User name for user/password authentication (with password)."},                                           \
    {.name = "password", .type = CP_OPT_STRING, .flags = CP_OPT_SECRET, .offset = offsetof(T, m.password),         \
     .doc = "Password for user/password authentication; prefer creds_file or a token kept out of the file."},         \
    {.name = "token", .type = CP_OPT_STRING, .flags = CP_OPT_SECRET, .offset = offsetof(T, m.token),               \
     .doc = "Authentication token."},                                                                                 \
    {.name = "nkey", .type = CP_OPT_STRING, .offset = offsetof(T, m.nkey),                                         \
     .doc = "NKey public key (U...) for NKey authentication, with nkey_seed_file."},                                  \
    {.name = "nkey_seed_file", .type = CP_OPT_STRING, .flags = CP_OPT_SECRET, .offset = offsetof(T, m.nkey_seed_file), \
     .doc = "File holding the NKey seed (S...) that signs the server's challenge."},                                  \
    {.name = "creds_file", .type = CP_OPT_STRING, .flags = CP_OPT_SECRET, .offset = offsetof(T, m.creds_file),     \
     .doc = "Decentralized-auth credentials file (user JWT and NKey seed), as nsc writes it."},                      \
    {.name = "tls", .type = CP_OPT_BOOL, .def = "false", .offset = offsetof(T, m.tls),                            \
     .doc = "Require TLS (implied by a tls:// server or any tls_ option)."},                                         \
    {.name = "tls_ca_file", .type = CP_OPT_STRING, .offset = offsetof(T, m.tls_ca_file),                           \
     .doc = "PEM file of the CAs that sign the servers' certificates (default: the system's)."},                     \
    {.name = "tls_cert_file", .type = CP_OPT_STRING, .offset = offsetof(T, m.tls_cert_file),                       \
     .doc = "PEM client certificate chain, for servers that verify clients (with tls_key_file)."},                   \
    {.name = "tls_key_file", .type = CP_OPT_STRING, .flags = CP_OPT_SECRET, .offset = offsetof(T, m.tls_key_file), \
     .doc = "PEM private key of tls_cert_file."},                                                                     \
    {.name = "connect_timeout", .type = CP_OPT_DURATION, .def = "\"5s\"", .min = 100, .max = 600000,                \
     .offset = offsetof(T, m.connect_timeout), .doc = "Timeout of one connection attempt and of JetStream API requests."}, \
    {.name = "reconnect_wait", .type = CP_OPT_DURATION, .def = "\"250ms\"", .min = 10, .max = 600000,               \
     .offset = offsetof(T, m.reconnect_wait),                                                                     \
     .doc = "First pause before reconnecting after a lost connection; doubles per failed attempt (with jitter)."},   \
    {.name = "reconnect_wait_max", .type = CP_OPT_DURATION, .def = "\"10s\"", .min = 10, .max = 3600000,            \
     .offset = offsetof(T, m.reconnect_wait_max), .doc = "Longest pause between reconnection attempts."}

/* Checks what the option table cannot (pairs of options, readable combinations); no I/O. */
cp_status nc_check(const nc_cfg *c, cp_check *chk);

/* A connection and its JetStream context. */
typedef struct nc_conn {
    natsConnection *nc;
    jsCtx *js;
    cp_ctx *ctx; /* for the callbacks' log lines */
    atomic_bool closing, closed; /* nc_close began; the library's last callback ran */
} nc_conn;

/* Connects to c->servers (retrying in the background when none answers, so a server down at
 * start is not an error), reconnects for ever with exponential backoff, logs disconnects and
 * reconnects. `js_opts` (may be NULL) configures the JetStream context. CP_ERR_CONFIG for
 * options libnats refuses (logged), CP_ERR_NOMEM. On CP_OK *out is the caller's, released with
 * nc_close(). */
cp_status nc_open(cp_ctx *ctx, const nc_cfg *c, const char *name, jsOptions *js_opts, nc_conn *out);
/* The connection name coinpipe gives a plugin instance: "coinpipe PIPELINE/INSTANCE". */
void nc_name(cp_ctx *ctx, char *out, size_t len);
/* Closes and frees (NULL members are fine); returns once the library runs no callback of it. */
void nc_close(nc_conn *n);
/* True while the connection is up. */
bool nc_connected(const nc_conn *n);
/* When the library gave the connection up for good (the server refused the credentials, TLS
 * failed): logs why as an error, closes it and opens a new one with the same settings, and
 * returns true (the caller's subscriptions are gone). False while the connection lives (up
 * or reconnecting). */
bool nc_reopen_if_closed(nc_conn *n, const nc_cfg *c, const char *name, jsOptions *js_opts);

/* Replaces what cannot stand in a subject token ('.', '*', '>', whitespace, control bytes)
 * with '_' while copying `len` bytes of `s` into `out`; an empty token becomes "_". */
void nc_token(cp_buf *out, const char *s, size_t len);

#endif /* COINPIPE_PLUGINS_NATSCONN_H */
