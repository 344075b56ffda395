/* `coinpipe ddl`: prints Athena, Snowflake or PostgreSQL DDL for the streams a config writes.
 * SPDX-License-Identifier: MIT
 *
 * The streams of a pipeline are its source's `streams` option (when it has one) plus `spread`
 * and `indicator` when those transforms are configured; schemas come from streams.h (the
 * indicator columns are those of the default parameters). Athena and Snowflake cover the
 * pipelines with an s3-csv sink, PostgreSQL those with a postgresql sink; a config with no such
 * sink gets the DDL of every pipeline's streams.
 */
#include "config.h"
#include "ddl.h"
#include "options.h"

#include "../plugins/sinks/common/sinkutil.h"

#include <coinpipe/buf.h>
#include <coinpipe/streams.h>
#include <stdio.h>

#include <string.h>

static const cp_field indicator_fields[] = {
    {"exchange", CP_T_STRING, CP_FIELD_KEY},     {"symbol", CP_T_STRING, CP_FIELD_KEY},
    {"interval", CP_T_STRING, CP_FIELD_KEY},     {"open_time", CP_T_TIMESTAMP, CP_FIELD_KEY},
    {"close", CP_T_DECIMAL, CP_FIELD_NULLABLE},  {"sma_20", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"ema_20", CP_T_DOUBLE, CP_FIELD_NULLABLE},  {"rsi_14", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"macd", CP_T_DOUBLE, CP_FIELD_NULLABLE},    {"macd_signal", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"macd_hist", CP_T_DOUBLE, CP_FIELD_NULLABLE}, {"bb_upper", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"bb_middle", CP_T_DOUBLE, CP_FIELD_NULLABLE}, {"bb_lower", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"atr_14", CP_T_DOUBLE, CP_FIELD_NULLABLE},  {"pivot", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"r1", CP_T_DOUBLE, CP_FIELD_NULLABLE},      {"s1", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"r2", CP_T_DOUBLE, CP_FIELD_NULLABLE},      {"s2", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"r3", CP_T_DOUBLE, CP_FIELD_NULLABLE},      {"s3", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"fib_236", CP_T_DOUBLE, CP_FIELD_NULLABLE}, {"fib_382", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"fib_500", CP_T_DOUBLE, CP_FIELD_NULLABLE}, {"fib_618", CP_T_DOUBLE, CP_FIELD_NULLABLE},
    {"fib_786", CP_T_DOUBLE, CP_FIELD_NULLABLE},
};
static const cp_schema indicator_schema = {"indicator", sizeof indicator_fields / sizeof indicator_fields[0],
                                           indicator_fields};

static const cp_schema *schema_of(const char *stream)
{
    return !strcmp(stream, "indicator") ? &indicator_schema : cp_stream_find(stream);
}

/* the value of option `name` of an element's filled config, or NULL */
static const void *opt_value(const core_element_cfg *ec, const char *name, cp_opt_type type)
{
    if (!ec->plugin || !ec->cfg || !ec->plugin->desc.options)
        return NULL;
    for (const cp_option *o = ec->plugin->desc.options; o->name; o++)
        if (!strcmp(o->name, name) && o->type == type)
            return (const char *)ec->cfg + o->offset;
    return NULL;
}

static const char *opt_string(const core_element_cfg *ec, const char *name, const char *def)
{
    const char *const *v = opt_value(ec, name, CP_OPT_STRING);
    return v && *v ? *v : def;
}

static bool same_plugin(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
            return false;
    return *a == *b;
}

/* the sink of `pl` running plugin `name`, or NULL */
static const core_element_cfg *sink_of(const core_pipeline_cfg *pl, const char *name)
{
    for (size_t i = 0; i < pl->nsinks; i++)
        if (same_plugin(pl->sinks[i].plugin_name, name))
            return &pl->sinks[i];
    return NULL;
}

typedef struct stream_set {
    size_t n;
    const char *names[64];
} stream_set;

static void add_stream(stream_set *s, const char *name, core_errors *errs)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name))
            return;
    if (!schema_of(name)) {
        core_errors_add(errs, "ddl: stream '%s' is not in the stream catalog; skipped", name);
        return;
    }
    if (s->n < sizeof s->names / sizeof s->names[0])
        s->names[s->n++] = name;
}

static void pipeline_streams(const core_pipeline_cfg *pl, stream_set *s, core_errors *errs)
{
    const cp_strlist *l = opt_value(&pl->source, "streams", CP_OPT_STRLIST);
    for (size_t i = 0; l && i < l->n; i++)
        add_stream(s, l->v[i], errs);
    for (size_t i = 0; i < pl->ntransforms; i++) {
        const char *t = pl->transforms[i].plugin_name;
        if (same_plugin(t, "spread"))
            add_stream(s, "spread", errs);
        else if (same_plugin(t, "indicators") || same_plugin(t, "indicator"))
            add_stream(s, "indicator", errs);
    }
}

static void athena(FILE *out, const cp_schema *s, const core_element_cfg *sink)
{
    const char *bucket = sink ? opt_string(sink, "bucket", "YOUR-BUCKET") : "YOUR-BUCKET";
    const char *prefix = sink ? opt_string(sink, "prefix", "crypto/tabular") : "crypto/tabular";
    char loc[1024];
    snprintf(loc, sizeof loc, "s3://%s/%s%s%s/", bucket, prefix, *prefix ? "/" : "", s->stream);
    fprintf(out, "-- times are ISO-8601 UTC text (OpenCSVSerde): from_iso8601_timestamp(col) to compute with them\n");
    fprintf(out, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n", s->stream);
    for (size_t i = 0; i < s->nfields; i++)
        fprintf(out, "  `%s` %s%s\n", s->fields[i].name, sk_sql_type(s->fields[i].type, "athena", false),
                i + 1 < s->nfields ? "," : "");
    fprintf(out, ")\nPARTITIONED BY (`year` string, `month` string, `day` string)\n"
                 "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
                 "WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\\\\')\n"
                 "STORED AS TEXTFILE\nLOCATION '%s'\nTBLPROPERTIES (\n"
                 "  'skip.header.line.count' = '1',\n"
                 "  'projection.enabled' = 'true',\n"
                 "  'projection.year.type' = 'integer', 'projection.year.range' = '2009,2099', "
                 "'projection.year.digits' = '4',\n"
                 "  'projection.month.type' = 'integer', 'projection.month.range' = '1,12', "
                 "'projection.month.digits' = '2',\n"
                 "  'projection.day.type' = 'integer', 'projection.day.range' = '1,31', "
                 "'projection.day.digits' = '2',\n"
                 "  'storage.location.template' = '%syear=${year}/month=${month}/day=${day}/'\n);\n\n",
            loc, loc);
}

static void snowflake_head(FILE *out, const core_element_cfg *sink)
{
    const char *bucket = sink ? opt_string(sink, "bucket", "YOUR-BUCKET") : "YOUR-BUCKET";
    const char *prefix = sink ? opt_string(sink, "prefix", "crypto/tabular") : "crypto/tabular";
    fprintf(out, "CREATE FILE FORMAT IF NOT EXISTS coinpipe_csv TYPE = CSV SKIP_HEADER = 1\n"
                 "  FIELD_OPTIONALLY_ENCLOSED_BY = '\"' EMPTY_FIELD_AS_NULL = TRUE COMPRESSION = AUTO\n"
                 "  TIMESTAMP_FORMAT = AUTO;\n");
    fprintf(out, "-- replace coinpipe_s3 with your storage integration for the bucket\n"
                 "CREATE STAGE IF NOT EXISTS coinpipe_stage URL = 's3://%s/%s%s'\n"
                 "  STORAGE_INTEGRATION = coinpipe_s3 FILE_FORMAT = coinpipe_csv;\n\n",
            bucket, prefix, *prefix ? "/" : "");
}

static void snowflake(FILE *out, const cp_schema *s)
{
    cp_buf b = {0};
    cp_buf qname = {0};
    sk_sql_ident(&qname, s->stream);
    cp_buf_printf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", qname.p);
    for (size_t i = 0; i < s->nfields; i++) {
        cp_buf_puts(&b, "    ");
        sk_sql_ident(&b, s->fields[i].name);
        cp_buf_printf(&b, " %s%s,\n", sk_sql_type(s->fields[i].type, "snowflake", false),
                      s->fields[i].flags & CP_FIELD_KEY ? " NOT NULL" : "");
    }
    cp_buf_puts(&b, "    PRIMARY KEY (");
    sk_sql_keys(&b, s);
    cp_buf_puts(&b, ")\n);\n");
    fprintf(out, "%s", b.p ? b.p : "");
    fprintf(out, "CREATE PIPE IF NOT EXISTS \"%s_pipe\" AUTO_INGEST = TRUE AS\n"
                 "  COPY INTO %s FROM @coinpipe_stage/%s/ FILE_FORMAT = (FORMAT_NAME = 'coinpipe_csv');\n\n",
            s->stream, qname.p, s->stream);
    cp_buf_free(&b);
    cp_buf_free(&qname);
}

static void postgresql(FILE *out, const cp_schema *s, const core_element_cfg *sink)
{
    const char *schema = sink ? opt_string(sink, "schema", "public") : "public";
    const char *prefix = sink ? opt_string(sink, "table_prefix", "") : "";
    cp_buf q = {0}, t = {0}, b = {0};
    sk_sql_ident(&q, schema);
    cp_buf_putc(&q, '.');
    cp_buf_printf(&t, "%s%s", prefix, s->stream);
    sk_sql_ident(&q, t.p ? t.p : s->stream);
    sk_sql_create_table(&b, q.p ? q.p : s->stream, s, "postgresql", false);
    fprintf(out, "%s;\n\n", b.p ? b.p : "");
    cp_buf_free(&q);
    cp_buf_free(&t);
    cp_buf_free(&b);
}

int core_ddl_print(const core_config *cfg, const char *dialect, FILE *out, core_errors *errs)
{
    const char *sink_plugin = NULL;
    if (!strcmp(dialect, "athena") || !strcmp(dialect, "snowflake"))
        sink_plugin = "s3-csv";
    else if (!strcmp(dialect, "postgresql"))
        sink_plugin = "postgresql";
    else {
        core_errors_add(errs, "ddl: unknown dialect '%s' (athena, snowflake or postgresql)", dialect);
        return 2;
    }
    bool any = false;
    for (size_t i = 0; i < cfg->npipelines; i++)
        any = any || sink_of(&cfg->pipelines[i], sink_plugin);
    const char *pg_schema_done = NULL;
    bool head_done = false;
    stream_set done = {0};
    fprintf(out, "-- coinpipe %s DDL for %s%s\n\n", dialect, cfg->file ? cfg->file : "config",
            any ? "" : " (no pipeline has a matching sink: every pipeline's streams)");
    for (size_t i = 0; i < cfg->npipelines; i++) {
        const core_pipeline_cfg *pl = &cfg->pipelines[i];
        const core_element_cfg *sink = sink_of(pl, sink_plugin);
        if (any && !sink)
            continue;
        stream_set s = {0};
        pipeline_streams(pl, &s, errs);
        if (!strcmp(dialect, "snowflake") && !head_done && s.n) {
            snowflake_head(out, sink);
            head_done = true;
        }
        if (!strcmp(dialect, "postgresql") && sink && !pg_schema_done) {
            const char *schema = opt_string(sink, "schema", "public");
            if (strcmp(schema, "public")) {
                fprintf(out, "CREATE SCHEMA IF NOT EXISTS \"%s\";\n\n", schema);
                pg_schema_done = schema;
            }
        }
        for (size_t k = 0; k < s.n; k++) {
            size_t before = done.n;
            add_stream(&done, s.names[k], errs);
            if (done.n == before)
                continue; /* printed for an earlier pipeline */
            const cp_schema *sc = schema_of(s.names[k]);
            if (!strcmp(dialect, "athena"))
                athena(out, sc, sink);
            else if (!strcmp(dialect, "snowflake"))
                snowflake(out, sc);
            else
                postgresql(out, sc, sink);
        }
    }
    if (!done.n)
        core_errors_add(errs, "ddl: the config's pipelines declare no streams (source option `streams`)");
    return done.n ? 0 : 1;
}
