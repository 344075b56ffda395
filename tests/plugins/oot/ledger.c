/* ledger: a test third-party sink, built out of tree, that takes part in `coinpipe ddl`.
 * SPDX-License-Identifier: MIT
 *
 * Writes: nothing durable; each batch is rendered as CSV (coinpipe/csv.h) and counted, so the
 * SDK's header-only helpers are compiled and run from outside the tree. Renders DDL for the
 * dialects "postgresql" (tables "<dataset>"."ledger_<stream>") and "ledger-sql" (the same
 * tables after a comment line of its own), through the `ddl_dialects` and `ddl` callbacks.
 */
#include <coinpipe/coinpipe.h>
#include <coinpipe/csv.h>
#include <coinpipe/schema.h>
#include <coinpipe/sql.h>
#include <coinpipe/utc.h>

#include <stdlib.h>
#include <string.h>

typedef struct ledger_config {
    char *dataset;
} ledger_config;

static const cp_option options[] = {
    {.name = "dataset", .type = CP_OPT_STRING, .def = "\"coinpipe\"", .offset = offsetof(ledger_config, dataset),
     .doc = "Schema the ledger tables live in."},
    CP_OPTION_END,
};

typedef struct ledger {
    cp_schema *last; /* the schema of the last batch */
    size_t bytes;    /* CSV bytes rendered */
} ledger;

static cp_status ledger_create(cp_ctx *ctx, const void *config, void **instance)
{
    ledger *l = calloc(1, sizeof *l);
    if (!l)
        return CP_ERR_NOMEM;
    *instance = l;
    return CP_OK;
}

static void ledger_destroy(void *instance)
{
    ledger *l = instance;
    free(l->last);
    free(l);
}

static cp_status ledger_write(void *instance, cp_ctx *ctx, const cp_batch *batch)
{
    ledger *l = instance;
    const cp_schema *s = cp_batch_schema(ctx, batch);
    if (!cp_schema_equal(l->last, s)) {
        free(l->last);
        if (!(l->last = cp_schema_copy(s)))
            return CP_RETRY;
    }
    cp_buf b = {0};
    for (size_t r = 0; r < cp_batch_rows(ctx, batch); r++)
        for (size_t c = 0; c < s->nfields; c++) {
            if (c)
                cp_buf_putc(&b, ',');
            cp_csv_cell(&b, ctx, batch, r, c, s->fields[c].type);
        }
    bool oom = b.oom;
    l->bytes += b.len;
    cp_buf_free(&b);
    char now[CP_UTC_ISO8601_SIZE];
    cp_utc_iso8601(cp_now_ms(ctx), now);
    cp_log_debug(ctx, "ledger: %zu CSV bytes so far at %s", l->bytes, now);
    return oom ? CP_RETRY : CP_OK;
}

static const char *const dialects[] = {"postgresql", "ledger-sql", NULL};

static void table_name(cp_buf *b, const void *arg, const char *stream)
{
    cp_sql_ident(b, arg);
    cp_buf_puts(b, ".\"ledger_");
    cp_buf_puts(b, stream);
    cp_buf_putc(b, '"');
}

static cp_status ledger_ddl(cp_ctx *ctx, const void *config, const char *dialect, const cp_schema *const *schemas,
                            size_t n, cp_text_fn fn, void *user)
{
    const ledger_config *cfg = config;
    const char *dataset = cfg && cfg->dataset ? cfg->dataset : "coinpipe";
    if (!strcmp(dialect, "ledger-sql")) {
        static const char head[] = "-- ledger-sql: the ledger sink's tables\n\n";
        fn(user, head, sizeof head - 1);
    } else if (strcmp(dialect, "postgresql")) {
        return CP_ERR_UNSUPPORTED;
    }
    return cp_sql_ddl_tables(schemas, n, "postgresql", false, table_name, dataset, fn, user);
}

CP_PLUGIN_DEFINE(.name = "ledger", .kind = CP_SINK, .version = "1.0.0",
                 .description = "Test sink built out of tree: counts CSV bytes, renders DDL", .options = options,
                 .config_size = sizeof(ledger_config), .create = ledger_create, .destroy = ledger_destroy,
                 .write = ledger_write, .ddl_dialects = dialects, .ddl = ledger_ddl);
