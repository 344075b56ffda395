/* hello: an example third-party source plugin built out of tree against the installed SDK.
 * SPDX-License-Identifier: MIT
 *
 * Collects: one `spot_price` row per configured coin with a constant price, to show the
 * whole plugin contract: a config struct filled from a declarative option table, a check
 * of what the table cannot say (run by `coinpipe run --check` and at every start), an
 * instance created per configured element, a batch built from the stream catalog's schema
 * and handed to the core with cp_emit(), and a checkpoint in the state store.
 */
#include <coinpipe/coinpipe.h>
#include <coinpipe/streams.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1. The config struct the core fills from the option table below. */
typedef struct hello_config {
    cp_strlist coins; /* CP_OPT_STRLIST */
    char *price;      /* CP_OPT_STRING: kept as exact decimal text */
} hello_config;

/* 2. The option table: validated by the core before any plugin code runs. */
static const cp_option options[] = {
    {.name = "coins", .type = CP_OPT_STRLIST, .def = "[\"bitcoin\"]", .min = 1, .max = 100,
     .offset = offsetof(hello_config, coins),
     .doc = "CoinGecko-style coin ids to emit a row for."},
    {.name = "price", .type = CP_OPT_STRING, .def = "\"42.00\"", .offset = offsetof(hello_config, price),
     .doc = "Price to report, as exact decimal text."},
    CP_OPTION_END,
};

/* 3. Per-instance state: the core never calls one instance concurrently, so no locks. */
typedef struct hello {
    const hello_config *cfg;
    long long cycles;
} hello;

/* 3a. The check: what the option table cannot express, offline. Each report names its option,
 * so the core prints it with that option's file:line, and says what is allowed. */
static bool plain_decimal(const char *s)
{
    size_t digits = 0;
    if (*s == '-')
        s++;
    for (; *s >= '0' && *s <= '9'; s++)
        digits++;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            digits++;
    return digits > 0 && *s == '\0';
}

static cp_status hello_check(const void *config, cp_check *chk)
{
    const hello_config *c = config;
    cp_status st = CP_OK;
    if (!plain_decimal(c->price)) {
        cp_check_error(chk, "price", "\"%s\" is not a decimal number such as \"42.00\"", c->price);
        st = CP_ERR_CONFIG;
    }
    for (size_t i = 0; i < c->coins.n; i++)
        if (!c->coins.v[i][0] || strspn(c->coins.v[i], "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->coins.v[i])) {
            cp_check_error(chk, "coins", "\"%s\" is not a coin id (lowercase letters, digits, dashes: \"bitcoin\")",
                           c->coins.v[i]);
            st = CP_ERR_CONFIG;
        }
    return st;
}

static cp_status hello_create(cp_ctx *ctx, const void *config, void **instance)
{
    hello *h = calloc(1, sizeof *h);
    if (!h)
        return CP_ERR_NOMEM;
    h->cfg = config;
    char *v = NULL;
    if (cp_state_get(ctx, "cycles", &v) == CP_OK) { /* resume the counter after a restart */
        h->cycles = atoll(v);
        cp_free(ctx, v);
    }
    *instance = h;
    return CP_OK;
}

static void hello_destroy(void *instance) { free(instance); }

static cp_status hello_collect(void *instance, cp_ctx *ctx)
{
    hello *h = instance;
    int64_t now = cp_now_ms(ctx);
    cp_batch *b = cp_batch_new(ctx, &cp_spot_price_schema, h->cfg->coins.n);
    if (!b)
        return CP_ERR_NOMEM;
    for (size_t i = 0; i < h->cfg->coins.n; i++) {
        size_t r = cp_batch_add_row(ctx, b);
        const char *coin = h->cfg->coins.v[i];
        cp_batch_set_string(ctx, b, r, CP_SPOT_PRICE_SOURCE, "hello", 5);
        cp_batch_set_string(ctx, b, r, CP_SPOT_PRICE_COIN_ID, coin, strlen(coin));
        cp_batch_set_string(ctx, b, r, CP_SPOT_PRICE_VS_CURRENCY, "usd", 3);
        cp_batch_set_int(ctx, b, r, CP_SPOT_PRICE_TS, now);
        cp_batch_set_int(ctx, b, r, CP_SPOT_PRICE_RECEIVED_AT, now);
        if (cp_batch_set_decimal(ctx, b, r, CP_SPOT_PRICE_PRICE, h->cfg->price, strlen(h->cfg->price)) != CP_OK) {
            cp_log_error(ctx, "price \"%s\" is not a decimal number", h->cfg->price);
            cp_batch_free(ctx, b);
            return CP_ERR_CONFIG;
        }
    }
    h->cycles++;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", h->cycles);
    cp_state_set(ctx, "cycles", buf);
    cp_log_info(ctx, "hello cycle %lld: %zu coins", h->cycles, h->cfg->coins.n);
    return cp_emit(ctx, b); /* the core owns the batch from here on */
}

/* 4. The descriptor: the only exported symbol, stamped with the ABI it was built against. */
CP_PLUGIN_DEFINE(.name = "hello", .kind = CP_SOURCE, .version = "1.0.0",
                 .description = "Example out-of-tree source: constant spot prices", .options = options,
                 .config_size = sizeof(hello_config), .check = hello_check, .create = hello_create,
                 .destroy = hello_destroy, .collect = hello_collect);
