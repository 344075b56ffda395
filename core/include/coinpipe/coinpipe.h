/* coinpipe plugin SDK: the only API a plugin sees (descriptor, host table, batches, HTTP).
 * SPDX-License-Identifier: MIT
 *
 * ABI rules (ABI 2.2)
 * -------------------
 * - A plugin exports one data symbol, `coinpipe_plugin`, defined with CP_PLUGIN_DEFINE().
 *   The macro stamps CP_ABI_MAJOR, CP_ABI_MINOR, sizeof(cp_plugin) and sizeof(cp_option)
 *   from this header. The core refuses a plugin whose major differs from its own (an ABI 1
 *   plugin must be rebuilt) or whose minor is newer, and reads no field beyond the size the
 *   plugin declares.
 * - The plugin reaches the core only through the host table (`ctx->host`).
 * - Every struct can grow by appending, and every struct the core reads from a plugin says
 *   how big it was when the plugin was built, so the core reads only what the plugin knows:
 *     cp_plugin        `size`; its option tables' stride is `option_size` (both stamped by
 *                      CP_PLUGIN_DEFINE): the core walks the table, and the nested table of
 *                      a group list (cp_group_spec, itself stamped with `size`), in steps of
 *                      option_size and reads no byte of an entry beyond it;
 *     cp_schema        `size` and `field_size` (stamped by CP_SCHEMA()): the core walks
 *                      `fields` in steps of field_size;
 *     cp_http_request  `size` and `response_size` (stamped by CP_HTTP_REQUEST()): the core
 *                      walks the request array in steps of size and the response array in
 *                      steps of response_size, and writes no byte of a response beyond it;
 *     cp_series        `size` (stamped by CP_SERIES());
 *     cp_http_limits   `size`;
 *     cp_column        `size` (stamped by cp_batch_column(), since ABI 2.1): the core writes
 *                      no byte of it beyond that size.
 *   A stamp of 0 is read as the ABI 2.0 size of that struct (code built against 2.0 that
 *   zero-initialises is therefore right, later code must use the macros). A stamp smaller
 *   than the 2.0 size is refused (CP_ERR_INVALID, or the loader refuses the plugin).
 * - In the other direction, structs the core fills (cp_host, cp_read_query, cp_check, the
 *   schemas of batches the core hands out) carry the core's sizes: a plugin checks `size`
 *   before reading a field added after the minor it was built against (the wrappers below
 *   do: CP_HOST_HAS), and reads a schema it did not build through cp_schema_field(), which
 *   steps by its field_size. Additions are marked "since ABI 2.N": 2.1 added the column
 *   view (cp_batch_column) and cp_batch_set_decimal_until, 2.2 cp_batch_fill_down and
 *   cp_batch_set_json_elements (the SDK's wrappers fall back to the older calls on an older core).
 * - Status codes (cp_status) are never renumbered.
 * - Threads: the core never calls one instance's callbacks concurrently. A source and the
 *   transforms of a pipeline run on one worker thread per cycle; each sink instance runs on
 *   its own thread; a continuous source (run()) runs on a thread of its own and its pipeline's
 *   transforms on the pipeline's flush thread. Plugins therefore need no locks for their own
 *   instance state.
 *
 * Ownership rules in one place (each function repeats its own):
 * - A batch passed to cp_emit() belongs to the core from then on, on success and on error.
 * - A batch passed to process() or write() is borrowed and read-only until the callback
 *   returns; a plugin copies (cp_batch_copy) what it keeps.
 * - Strings the core returns from a batch stay valid as long as the batch.
 * - Config structs are filled and owned by the core; they stay valid until destroy().
 */
#ifndef COINPIPE_COINPIPE_H
#define COINPIPE_COINPIPE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coinpipe/text.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CP_ABI_MAJOR 2
#define CP_ABI_MINOR 2

#if defined(__GNUC__)
#define CP_EXPORT __attribute__((visibility("default")))
#define CP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CP_EXPORT
#define CP_PRINTF(a, b)
#endif

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

/** Result of every fallible SDK call and plugin callback. Values never change. */
typedef enum cp_status {
    CP_OK = 0,            /**< success */
    CP_RETRY = 1,         /**< transient failure (network, server down): try again later */
    CP_REJECT = 2,        /**< permanent failure: this batch can never be written */
    CP_PENDING = 3,       /**< sink only: batch accepted into the sink's own buffer, not yet durable */
    CP_ERR_NOMEM = 4,     /**< out of memory */
    CP_ERR_INVALID = 5,   /**< invalid argument (bad column index, wrong type, NULL) */
    CP_ERR_CONFIG = 6,    /**< configuration error */
    CP_ERR_IO = 7,        /**< file or socket I/O error */
    CP_ERR_PARSE = 8,     /**< malformed input (JSON, numbers, truncated body) */
    CP_ERR_HTTP = 9,      /**< HTTP request failed after all retries, or non-2xx status */
    CP_ERR_TIMEOUT = 10,  /**< timed out */
    CP_ERR_NOT_FOUND = 11,/**< key, column or file not found */
    CP_ERR_BANNED = 12,   /**< host refuses us (HTTP 418 IP ban) until its Retry-After */
    CP_ERR_STOPPED = 13,  /**< the core is shutting down; the call was not carried out */
    CP_ERR_UNSUPPORTED = 14, /**< not supported by this core or plugin */
    CP_ERR_INTERNAL = 15, /**< a bug: please report */
} cp_status;

/** Returns a static, human-readable string for a status code; never NULL. */
static inline const char *cp_strerror(cp_status s)
{
    switch (s) {
    case CP_OK: return "ok";
    case CP_RETRY: return "transient failure, will retry";
    case CP_REJECT: return "permanent failure, batch rejected";
    case CP_PENDING: return "accepted, pending flush";
    case CP_ERR_NOMEM: return "out of memory";
    case CP_ERR_INVALID: return "invalid argument";
    case CP_ERR_CONFIG: return "configuration error";
    case CP_ERR_IO: return "I/O error";
    case CP_ERR_PARSE: return "malformed input";
    case CP_ERR_HTTP: return "HTTP request failed";
    case CP_ERR_TIMEOUT: return "timed out";
    case CP_ERR_NOT_FOUND: return "not found";
    case CP_ERR_BANNED: return "host has banned us until Retry-After";
    case CP_ERR_STOPPED: return "shutting down";
    case CP_ERR_UNSUPPORTED: return "not supported";
    case CP_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

/* ------------------------------------------------------------------------- */
/* Batches: one stream, a schema, N rows                                     */
/* ------------------------------------------------------------------------- */

/** Column types (docs/streams.md: int, dbl, dec, text, ts, bool). Values never change. */
typedef enum cp_type {
    CP_T_INT64 = 1,     /**< int64_t */
    CP_T_DOUBLE = 2,    /**< double */
    CP_T_DECIMAL = 3,   /**< exact decimal text as the exchange wrote it, plus a parsed double */
    CP_T_STRING = 4,    /**< UTF-8 text */
    CP_T_TIMESTAMP = 5, /**< int64_t UTC milliseconds since the epoch */
    CP_T_BOOL = 6,      /**< bool */
} cp_type;

#define CP_FIELD_KEY 0x1u      /**< part of the stream's natural primary key */
#define CP_FIELD_NULLABLE 0x2u /**< may be NULL (key fields never are) */

/** One column of a schema. */
typedef struct cp_field {
    const char *name; /**< column name, [a-z0-9_]+ */
    cp_type type;
    unsigned flags;   /**< CP_FIELD_* */
} cp_field;

/**
 * A stream's schema: its name and ordered columns. Plugins usually declare it static const
 * with CP_SCHEMA(). `size` and `field_size` tell the core the layout the plugin was built
 * with (0 = ABI 2.0's): the core steps through `fields` by field_size.
 */
typedef struct cp_schema {
    const char *stream;      /**< stream name, e.g. "ticker" (a table name / S3 path segment) */
    size_t nfields;
    const cp_field *fields;  /**< nfields entries, field_size bytes apart */
    uint32_t size;           /**< sizeof(cp_schema) the schema was built with */
    uint32_t field_size;     /**< sizeof(cp_field) the fields array was built with */
} cp_schema;

/** Number of elements of an array (not a pointer). */
#define CP_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/**
 * A schema initialiser for stream `stream_` over the array `fields_` (an array, not a
 * pointer: its length is counted), stamped with this header's sizes, e.g.
 *   static const cp_schema my_schema = CP_SCHEMA("ticker", my_fields);
 */
#define CP_SCHEMA(stream_, fields_)                                                                            \
    {.stream = (stream_), .nfields = CP_COUNTOF(fields_), .fields = (fields_), .size = (uint32_t)sizeof(cp_schema), \
     .field_size = (uint32_t)sizeof(cp_field)}

/** sizeof(cp_field) and sizeof(cp_schema) in ABI 2.0 (the end of their last 2.0 member): what a
 * zero stamp stands for, and the smallest stamp the core accepts. */
#define CP_FIELD_SIZE_2_0 ((uint32_t)(offsetof(cp_field, flags) + sizeof(unsigned)))
#define CP_SCHEMA_SIZE_2_0 ((uint32_t)(offsetof(cp_schema, field_size) + sizeof(uint32_t)))

/**
 * Column `i` of `schema`, stepping by the schema's field_size (0 = ABI 2.0's): the way to read a
 * schema the core handed out (cp_batch_schema(), cp_read_query), whose cp_field may be larger
 * than the one this plugin was built with. No bounds check: `i` < schema->nfields.
 */
static inline const cp_field *cp_schema_field(const cp_schema *schema, size_t i)
{
    size_t stride = schema->field_size ? schema->field_size : CP_FIELD_SIZE_2_0;
    return (const cp_field *)(const void *)((const char *)schema->fields + i * stride);
}

/** Opaque batch of rows. Created by cp_batch_new(), owned as each function documents. */
typedef struct cp_batch cp_batch;

/**
 * A read-only view of every cell of one column of a batch (since ABI 2.1), filled by
 * cp_batch_column(): a plugin that reads many rows (a sink) reads them in place, without a host
 * call per cell. Read it with cp_column_is_null(), cp_column_int(), cp_column_double() and
 * cp_column_text(). Every pointer points into the batch: valid until the batch is modified or
 * freed (a batch borrowed by write() or process(): until the callback returns). Row r's value,
 * text offset and text length are `stride` bytes after row r - 1's.
 */
typedef struct cp_column {
    size_t size;              /**< sizeof(cp_column) of the plugin (cp_batch_column() stamps it) */
    cp_type type;             /**< the column's type */
    size_t rows;              /**< the batch's rows */
    const uint8_t *null;      /**< `rows` bytes, non-zero where the cell is NULL (its value and
                               *   text are then meaningless) */
    const void *values;       /**< row 0's value: an int64_t for INT64, TIMESTAMP and BOOL (0 or 1),
                               *   a double for DOUBLE and DECIMAL (its parsed double, never NaN);
                               *   NULL for STRING */
    size_t stride;            /**< bytes from one row's value (text offset, text length) to the next */
    const char *text;         /**< STRING and DECIMAL (the exact text): where text offsets count
                               *   from; NULL for the other types */
    const uint32_t *text_off; /**< row 0's text offset (STRING, DECIMAL), else NULL */
    const uint32_t *text_len; /**< row 0's text length in bytes (the text is NUL-terminated too) */
} cp_column;

/** sizeof(cp_column) in ABI 2.1 (the end of its last 2.1 member): the smallest stamp the core
 *  accepts. */
#define CP_COLUMN_SIZE_2_1 ((size_t)(offsetof(cp_column, text_len) + sizeof(const uint32_t *)))

/** True when row `row` of the column is NULL. No bounds check: row < c->rows. */
static inline bool cp_column_is_null(const cp_column *c, size_t row) { return c->null[row] != 0; }

/** Row `row`'s value of an INT64, TIMESTAMP or BOOL column (a non-NULL row; no bounds or type
 *  check). */
static inline int64_t cp_column_int(const cp_column *c, size_t row)
{
    return *(const int64_t *)(const void *)((const char *)c->values + row * c->stride);
}

/** Row `row`'s value of a DOUBLE or DECIMAL column (a non-NULL row; no bounds or type check). */
static inline double cp_column_double(const cp_column *c, size_t row)
{
    return *(const double *)(const void *)((const char *)c->values + row * c->stride);
}

/** Row `row`'s text of a STRING or DECIMAL column, NUL-terminated, its length in *len (a
 *  non-NULL row; no bounds or type check). */
static inline const char *cp_column_text(const cp_column *c, size_t row, size_t *len)
{
    size_t at = row * c->stride;
    *len = *(const uint32_t *)(const void *)((const char *)c->text_len + at);
    return c->text + *(const uint32_t *)(const void *)((const char *)c->text_off + at);
}

/* ------------------------------------------------------------------------- */
/* Options: the declarative table the core validates config against         */
/* ------------------------------------------------------------------------- */

/** Option types and the C type each fills at `offset` in the plugin's config struct. */
typedef enum cp_opt_type {
    CP_OPT_BOOL = 1,     /**< bool */
    CP_OPT_INT = 2,      /**< int64_t */
    CP_OPT_DOUBLE = 3,   /**< double (an int in the config is accepted) */
    CP_OPT_STRING = 4,   /**< char * (core-owned, NULL when unset without default) */
    CP_OPT_ENUM = 5,     /**< char * holding one of `choices` */
    CP_OPT_DURATION = 6, /**< int64_t milliseconds; config "250ms", "30s", "5m", "1h", "1d" or an int of seconds */
    CP_OPT_SIZE = 7,     /**< int64_t bytes; config "512", "64k", "4M", "1G" or an int of bytes */
    CP_OPT_STRLIST = 8,  /**< cp_strlist */
    CP_OPT_GROUPLIST = 9,/**< cp_grouplist: a list of groups `( { ... }, { ... } )`, each validated
                          *   against the nested table `group->options` (since ABI 2.0) */
} cp_opt_type;

#define CP_OPT_REQUIRED 0x1u /**< must be present in the config */
#define CP_OPT_SECRET 0x2u   /**< value is redacted in logs and --describe output */

/** A list of strings as filled for CP_OPT_STRLIST. Core-owned. */
typedef struct cp_strlist {
    size_t n;
    char **v;
} cp_strlist;

struct cp_option;

/**
 * What one element of a CP_OPT_GROUPLIST option holds (since ABI 2.0): the nested option table
 * each group of the list is validated against and filled by (any type but CP_OPT_GROUPLIST), and
 * the size of the struct it fills. Declare it static const beside the option table.
 */
typedef struct cp_group_spec {
    size_t size;                      /**< sizeof(cp_group_spec) */
    const struct cp_option *options;  /**< NULL-name-terminated table, offsets into one element */
    size_t item_size;                 /**< sizeof the element struct */
} cp_group_spec;

/**
 * A list of groups as filled for CP_OPT_GROUPLIST (since ABI 2.0). Core-owned, like every
 * filled option: the plugin reads it and never frees it. Element i is the struct at
 * `(char *)items + i * item_size`, filled from its group as a plugin's config is filled
 * (defaults applied, unknown keys, wrong types and missing required members refused with the
 * member's file:line). `where[i]` is "file:line" of group i, for the plugin's own messages.
 */
typedef struct cp_grouplist {
    size_t n;
    void *items;
    size_t item_size;
    char **where;
} cp_grouplist;

/** Element i of a filled group list (no bounds check). */
static inline const void *cp_grouplist_item(const cp_grouplist *l, size_t i)
{
    return (const char *)l->items + i * l->item_size;
}

/**
 * One option. Tables end with an entry whose name is NULL (CP_OPTION_END). Write entries with
 * designated initializers; members left out are 0/NULL, e.g.
 *   {.name = "depth", .type = CP_OPT_INT, .def = "5", .min = 1, .max = 1000,
 *    .offset = offsetof(my_cfg, depth), .doc = "Order book levels per side."},
 * The core walks a plugin's table in steps of the descriptor's `option_size` (sizeof(cp_option)
 * of the plugin's header, stamped by CP_PLUGIN_DEFINE), so entries can grow by appending.
 */
typedef struct cp_option {
    const char *name;   /**< config key, [a-z0-9_]+ */
    cp_opt_type type;
    const char *def;    /**< default written as config text ("5m", "true", "[\"a\", \"b\"]"), or NULL */
    unsigned flags;     /**< CP_OPT_* */
    double min, max;    /**< inclusive bounds for INT/DOUBLE/DURATION(ms)/SIZE/STRLIST(count); both 0 = none */
    size_t offset;      /**< offsetof(your_config, field) */
    /** CP_OPT_ENUM: NULL-terminated list of accepted values; CP_OPT_GROUPLIST: the group's
     *  cp_group_spec, written CP_GROUP_SPEC(spec) (read it with cp_option_group()) */
    const char *const *choices;
    const char *doc;    /**< one sentence for --describe and the man page */
} cp_option;

/**
 * The `choices` value of a CP_OPT_GROUPLIST option: the address of its static const
 * cp_group_spec (since ABI 2.0; the option struct keeps its 1.0 layout, so the spec travels in
 * this pointer).
 */
#define CP_GROUP_SPEC(spec) ((const char *const *)(const void *)&(spec))

/** The group spec of a CP_OPT_GROUPLIST option, or NULL for any other type. */
static inline const cp_group_spec *cp_option_group(const cp_option *o)
{
    return o->type == CP_OPT_GROUPLIST ? (const cp_group_spec *)(const void *)o->choices : NULL;
}

/** The entry that ends an option table. */
#define CP_OPTION_END {.name = NULL}
/** sizeof(cp_option) in ABI 2.0 (the end of its last 2.0 member): what option_size 0 stands for. */
#define CP_OPTION_SIZE_2_0 ((uint32_t)(offsetof(cp_option, doc) + sizeof(const char *)))

/* ------------------------------------------------------------------------- */
/* HTTP service                                                              */
/* ------------------------------------------------------------------------- */

/**
 * One HTTP request a source (or sink) asks the core to perform. Build it with CP_HTTP_REQUEST(),
 * which stamps `size` and `response_size`: the core steps through a request array by the first
 * request's `size` and through the response array by its `response_size` (every request of one
 * call must carry the same stamps).
 */
typedef struct cp_http_request {
    uint32_t size;          /**< sizeof(cp_http_request) the caller was built with */
    uint32_t response_size; /**< sizeof(cp_http_response) the caller was built with */
    const char *method;   /**< "GET" when NULL */
    const char *url;      /**< absolute URL */
    const char *const *headers; /**< NULL-terminated "Name: value" strings, or NULL */
    const void *body;     /**< request body or NULL */
    size_t body_len;
    unsigned weight;      /**< rate-limit weight of this request (Binance request weight); 0 = 1 */
    unsigned no_log;      /**< non-zero: the caller logs failures itself, the core does not */
    long timeout_ms;      /**< total timeout per attempt; 0 = core default (10 s) */
    int max_attempts;     /**< attempts including the first; 0 = core default (4) */
    const char *aws_sigv4;/**< if set, sign with libcurl's CURLOPT_AWS_SIGV4 (e.g. "aws:amz:us-east-1:s3") */
    const char *userpwd;  /**< "user:password" for aws_sigv4 (access key id : secret key); secret */
    /** Formats the server's error message of a response with code >= 400 into `out` (a
     * NUL-terminated line of at most outlen - 1 bytes) from its body; the core logs it and puts it
     * in cp_http_response.error. NULL, or nothing written: the body's first line. */
    void (*error_message)(const char *body, size_t len, char *out, size_t outlen);
} cp_http_request;

/**
 * A cp_http_request compound literal stamped with this header's sizes; the arguments are its
 * designated members, e.g. `cp_http_request rq = CP_HTTP_REQUEST(.url = url, .weight = 20);`.
 */
#define CP_HTTP_REQUEST(...)                                                                            \
    ((cp_http_request){.size = (uint32_t)sizeof(cp_http_request),                                       \
                       .response_size = (uint32_t)sizeof(cp_http_response), __VA_ARGS__})

/** The result of one request, filled by the core. Release with cp_http_response_clear(): until
 * then its body counts against the process's memory budget (http_memory_budget), so a body
 * kept longer than needed makes later responses fail as over the budget. */
typedef struct cp_http_response {
    cp_status status;     /**< CP_OK when a response arrived (any HTTP code); else why not */
    long code;            /**< HTTP status code (0 when no response arrived) */
    char *body;           /**< response body, NUL-terminated (also when binary), core-allocated */
    size_t body_len;
    char *headers;        /**< raw header block of the final response, core-allocated */
    int attempts;         /**< attempts made */
    int64_t received_at;  /**< UTC ms when the final response completed */
    char error[256];      /**< one-line reason when status != CP_OK or code >= 400 */
} cp_http_response;

/** sizeof(cp_http_request) and sizeof(cp_http_response) in ABI 2.0 (the end of their last 2.0
 * members): what a zero stamp stands for, and the smallest stamps the core accepts. */
#define CP_HTTP_REQUEST_SIZE_2_0 ((uint32_t)(offsetof(cp_http_request, error_message) + sizeof(void (*)(void))))
#define CP_HTTP_RESPONSE_SIZE_2_0 ((uint32_t)(offsetof(cp_http_response, error) + 256))

/**
 * Receives the final result of request `i` of a cp_http_perform_each() call as soon as it is
 * known (after any retries), on the thread that called cp_http_perform_each(), once per
 * request, in the order the requests finish. `resp` is the caller's resps[i],
 * filled as cp_http_perform() fills it; the callback may release it at once with
 * cp_http_response_clear() (so that bodies do not pile up), or leave it for the caller. It may
 * use every host function (parse, build and cp_emit() batches) except cp_http_perform and
 * cp_http_perform_each: the other requests wait in their sockets while it runs.
 */
typedef void (*cp_http_done_fn)(void *user, size_t i, cp_http_response *resp);

/** Per-host limits a plugin declares for the hosts it talks to. Zero-initialise, then fill. */
typedef struct cp_http_limits {
    size_t size;          /**< sizeof(cp_http_limits) */
    int max_concurrent;   /**< requests in flight to this host; 0 = 4 */
    double weight_per_minute; /**< token bucket capacity and refill per minute; 0 = unlimited */
    const char *used_weight_header; /**< e.g. "X-MBX-USED-WEIGHT-1m": server's count of used weight */
} cp_http_limits;

/* ------------------------------------------------------------------------- */
/* WebSocket service (since ABI 2.0)                                         */
/* ------------------------------------------------------------------------- */

/** Opaque client connection of the core's WebSocket service (since ABI 2.0). */
typedef struct cp_ws cp_ws;

/** What happened on a connection (since ABI 2.0). Values never change. */
typedef enum cp_ws_event {
    CP_WS_OPEN = 1,    /**< the upgrade succeeded: subscribe now (data NULL) */
    CP_WS_MESSAGE = 2, /**< one complete text message (fragments joined), not NUL-terminated */
    CP_WS_CLOSED = 3,  /**< the connection is gone (refused, cut, closed by the peer, too big a
                        *   message, ping unanswered); data is a one-line reason. The handle stays
                        *   valid until cp_ws_close(); no event follows this one. */
} cp_ws_event;

/**
 * Receives the events of a connection, on the thread that calls cp_ws_poll() (never on the
 * service thread, so a source needs no locks). `data` is borrowed for the call only.
 */
typedef void (*cp_ws_fn)(void *user, cp_ws *ws, cp_ws_event ev, const char *data, size_t len);

/** How to open a connection (since ABI 2.0). Zero-initialise, then fill. */
typedef struct cp_ws_options {
    size_t size;              /**< sizeof(cp_ws_options) */
    const char *url;          /**< ws://host[:port]/path or wss://... (TLS verified against the system CAs) */
    size_t max_message;       /**< bound on one message, fragments joined; a larger one closes the
                               *   connection (1009) with CP_WS_CLOSED; 0 = 1 MiB */
    long connect_timeout_ms;  /**< TCP, TLS and the upgrade together; 0 = 10 s */
    long ping_interval_ms;    /**< the core pings an idle connection this often and drops it when no
                               *   pong comes within the same time again; 0 = 20 s */
} cp_ws_options;

/**
 * What a continuous source counts for its pipeline's metrics (since ABI 2.0), reported with
 * cp_stream_count(). Values never change.
 */
typedef enum cp_stream_event {
    CP_STREAM_MESSAGES = 1,      /**< messages received (frames, NATS messages) */
    CP_STREAM_RECONNECTS = 2,    /**< connections opened again after a loss, stall or error */
    CP_STREAM_GAPS = 3,          /**< holes detected (a sequence or id skipped, a reconnect to repair) */
    CP_STREAM_GAPS_FILLED = 4,   /**< holes repaired completely (e.g. over REST) */
    CP_STREAM_REPAIRED_ROWS = 5, /**< rows the repairs fetched */
    CP_STREAM_BAD_MESSAGES = 6,  /**< messages that could not be read (malformed, unknown) */
    CP_ROWS_INVALID = 7,         /**< rows any source (polled too) dropped for a bad value, or a
                                  *   sink could not store exactly (the object-store sinks' Parquet
                                  *   decimals): coinpipe_rows_invalid_total; an older core ignores it */
    /* A message broker between processes (the nats sink and nats-consumer source); an older
     * core ignores them: */
    CP_MSG_PUBLISHED = 8,   /**< sink: messages the broker acknowledged as stored
                             *   (coinpipe_messages_published_total) */
    CP_MSG_ACKED = 9,       /**< source: messages acknowledged to the broker after their rows were
                             *   committed to the spools (coinpipe_messages_acked_total) */
    CP_MSG_REDELIVERED = 10,/**< source: messages the broker delivered more than once
                             *   (coinpipe_messages_redelivered_total) */
    CP_MSG_LAG = 11,        /**< source: a gauge, not a count: `n` is how many messages the consumer
                             *   has yet to receive right now (coinpipe_consumer_lag_messages) */
} cp_stream_event;

/* ------------------------------------------------------------------------- */
/* Host table and context                                                    */
/* ------------------------------------------------------------------------- */

typedef enum cp_log_level {
    CP_LOG_ERROR = 0,
    CP_LOG_WARN = 1,
    CP_LOG_INFO = 2,
    CP_LOG_DEBUG = 3,
} cp_log_level;

typedef struct cp_host cp_host;

/** Per-instance context handed to every callback. Its head is public; the rest is the core's. */
typedef struct cp_ctx {
    const cp_host *host; /**< the core's services */
} cp_ctx;

/* ------------------------------------------------------------------------- */
/* Candle series and gaps                                                    */
/* ------------------------------------------------------------------------- */

/**
 * One candle series of the `ohlcv` stream: the values of its key columns
 * `exchange`, `symbol` and `interval`, and of `native_symbol`. The strings are borrowed: they
 * are valid only during the call that passes them; copy what you keep.
 */
typedef struct cp_series {
    const char *exchange;      /**< `exchange` column, e.g. "binance" */
    const char *symbol;        /**< normalized `symbol` column (BTC-USDT), or NULL when not known */
    const char *native_symbol; /**< `native_symbol` column (BTCUSDT), or NULL when not known */
    const char *interval;      /**< `interval` column, e.g. "1m" */
    size_t size;               /**< sizeof(cp_series) of whoever filled it (0 = ABI 2.0's); CP_SERIES() stamps it */
} cp_series;

/** A cp_series compound literal stamped with this header's size, e.g.
 *  CP_SERIES(.exchange = "binance", .native_symbol = "BTCUSDT", .interval = "1m"). */
#define CP_SERIES(...) ((cp_series){.size = sizeof(cp_series), __VA_ARGS__})

/** Receives one series (borrowed, see cp_series). Returns false to end the listing early. */
typedef bool (*cp_series_fn)(void *user, const cp_series *series);

/**
 * Receives two consecutive stored open_times of a series, `before_ms` < `after_ms` (UTC ms),
 * from the sink's candle_gaps callback; INT64_MIN / INT64_MAX stand for the edges of the
 * range (see candle_gaps). Returns false to end the report early.
 */
typedef bool (*cp_gap_fn)(void *user, int64_t before_ms, int64_t after_ms);

/**
 * What a sink's read callbacks read back (since ABI 2.0; the dashboard and its JSON API ask).
 * Filled by the core; grows by appending (check `size` before reading a later field).
 */
typedef struct cp_read_query {
    size_t size;                     /**< sizeof(cp_read_query) in the core */
    const cp_schema *schema;         /**< the stream (table) and the columns to read, in order */
    size_t nseries;                  /**< columns that name a series (e.g. exchange, symbol, interval) */
    const char *const *series;       /**< their names */
    const char *const *values;       /**< read_range: the series' values (equal); read_latest: NULL */
    const char *time_column;         /**< the timestamp column that orders a series' rows */
    int64_t from_ms, to_ms;          /**< read_range: [from_ms, to_ms) on time_column (INT64_MIN/MAX: open) */
    size_t limit;                    /**< read_range: at most this many rows, the newest ones; 0 = none */
} cp_read_query;

/**
 * Receives rows a sink read back, as a batch of the query's schema (borrowed: valid during the
 * call only). Return false to stop early.
 */
typedef bool (*cp_batch_fn)(void *user, const cp_batch *batch);

/**
 * Receives one schema a plugin's `schemas` callback declares (since ABI 2.0). The schema is
 * borrowed: valid during the call only (the core copies what it keeps). Returns false to end
 * the declaration early (the callback then returns CP_OK without further calls).
 */
typedef bool (*cp_schema_fn)(void *user, const cp_schema *schema);

/**
 * Receives text a sink's `ddl` callback renders (since ABI 2.0): one complete statement, or a
 * few that belong together, with the comment lines that go with them and the blank line that
 * ends them, `len` bytes (no NUL needed). The text is borrowed: valid during the call only.
 */
typedef void (*cp_text_fn)(void *user, const char *text, size_t len);

/** Flags for the sink flush callback. */
#define CP_FLUSH_FORCE 0x1u /**< write everything buffered now (shutdown, --once, reload) */

/**
 * The core's services. Append-only; check `size` before using a field added after 2.0.
 * Every function is thread-safe unless stated otherwise.
 */
struct cp_host {
    size_t size;          /**< sizeof(cp_host) in the core */
    uint32_t abi_major;
    uint32_t abi_minor;
    const char *version;  /**< the core's version string, e.g. "0.1.0" */

    /* logging */
    void (*logv)(cp_ctx *ctx, cp_log_level level, const char *fmt, va_list ap);
    bool (*log_enabled)(cp_ctx *ctx, cp_log_level level);

    /* batches */
    cp_batch *(*batch_new)(cp_ctx *ctx, const cp_schema *schema, size_t rows_hint);
    void (*batch_free)(cp_batch *b);
    cp_batch *(*batch_copy)(const cp_batch *b);
    size_t (*batch_add_row)(cp_batch *b);
    cp_status (*batch_set_int)(cp_batch *b, size_t row, size_t col, int64_t v);
    cp_status (*batch_set_double)(cp_batch *b, size_t row, size_t col, double v);
    cp_status (*batch_set_decimal)(cp_batch *b, size_t row, size_t col, const char *text, size_t len);
    cp_status (*batch_set_string)(cp_batch *b, size_t row, size_t col, const char *text, size_t len);
    cp_status (*batch_set_bool)(cp_batch *b, size_t row, size_t col, bool v);
    cp_status (*batch_set_null)(cp_batch *b, size_t row, size_t col);
    void (*batch_drop_last_row)(cp_batch *b);
    const cp_schema *(*batch_schema)(const cp_batch *b);
    size_t (*batch_rows)(const cp_batch *b);
    int (*batch_col)(const cp_batch *b, const char *name);
    bool (*batch_is_null)(const cp_batch *b, size_t row, size_t col);
    int64_t (*batch_get_int)(const cp_batch *b, size_t row, size_t col);
    double (*batch_get_double)(const cp_batch *b, size_t row, size_t col);
    const char *(*batch_get_text)(const cp_batch *b, size_t row, size_t col, size_t *len);
    bool (*batch_get_bool)(const cp_batch *b, size_t row, size_t col);

    /* pipeline */
    cp_status (*emit)(cp_ctx *ctx, cp_batch *b);
    void (*drop_input)(cp_ctx *ctx);
    bool (*stopping)(cp_ctx *ctx);
    const char *(*pipeline_name)(cp_ctx *ctx);
    const char *(*instance_name)(cp_ctx *ctx);

    /* state store */
    cp_status (*state_get)(cp_ctx *ctx, const char *key, char **value);
    cp_status (*state_set)(cp_ctx *ctx, const char *key, const char *value);
    void (*free)(void *p);

    /* clock */
    int64_t (*now_ms)(cp_ctx *ctx);
    void (*sleep_ms)(cp_ctx *ctx, int64_t ms);

    /* HTTP */
    cp_status (*http_limits)(cp_ctx *ctx, const char *host, const cp_http_limits *limits);
    cp_status (*http_perform)(cp_ctx *ctx, const cp_http_request *reqs, cp_http_response *resps, size_t n);
    void (*http_response_clear)(cp_http_response *r);
    const char *(*http_header)(const cp_http_response *r, const char *name, size_t *len);

    /* progress of long operations (backfill) */
    void (*progress)(cp_ctx *ctx, double fraction, uint64_t rows);

    /* HTTP with a callback per finished request */
    cp_status (*http_perform_each)(cp_ctx *ctx, const cp_http_request *reqs, cp_http_response *resps, size_t n,
                                   cp_http_done_fn done, void *user);

    /* the latest-rows table (any pipeline's newest row per stream and series) */
    bool (*latest_value)(cp_ctx *ctx, const char *stream, const char *const *series, size_t nseries,
                         const char *column, double *value, int64_t *ts_ms);

    /* WebSocket service (since ABI 2.0; see cp_ws_open) */
    cp_status (*ws_open)(cp_ctx *ctx, const cp_ws_options *o, cp_ws_fn fn, void *user, cp_ws **out);
    cp_status (*ws_send)(cp_ws *ws, const char *text, size_t len);
    cp_status (*ws_poll)(cp_ctx *ctx, int64_t timeout_ms);
    void (*ws_close)(cp_ws *ws);

    /* metrics of continuous sources (since ABI 2.0; see cp_stream_count) */
    void (*stream_count)(cp_ctx *ctx, cp_stream_event ev, uint64_t n);

    /* continuous sources: what is committed (added in 2.0 after the first cores: check with
     * CP_HOST_HAS; see cp_commit_ticket) */
    uint64_t (*commit_ticket)(cp_ctx *ctx);
    cp_status (*commit_wait)(cp_ctx *ctx, uint64_t ticket, int64_t timeout_ms);

    /* sources: the symbols of this collector's shard (added in 2.0 after the first cores; see
     * cp_shard_keep) */
    bool (*shard_keep)(cp_ctx *ctx, const char *symbol, size_t len);

    /* sources: a decimal read in place, its end found as it is parsed (since ABI 2.1: check with
     * CP_HOST_HAS; see cp_batch_set_decimal_until) */
    cp_status (*batch_set_decimal_until)(cp_batch *b, size_t row, size_t col, const char *text, size_t avail,
                                         char term, size_t *len, double *value);

    /* a column of a batch read at once (since ABI 2.1; see cp_batch_column) */
    cp_status (*batch_column)(const cp_batch *b, size_t col, cp_column *out);

    /* sources: one value for a range of rows at once (since ABI 2.2: check with CP_HOST_HAS; see
     * cp_batch_fill_down) */
    cp_status (*batch_fill_down)(cp_batch *b, size_t col, size_t from, size_t to);
    /* sources: the elements of a JSON array read in place into a row (since ABI 2.2: check with
     * CP_HOST_HAS; see cp_batch_set_json_elements) */
    cp_status (*batch_set_json_elements)(cp_batch *b, size_t row, const char *kinds, const size_t *cols,
                                         const char *text, size_t avail, size_t *len);
};

/** True when the host table has `field` (added after ABI 2.0): `size` covers it and it is set. */
#define CP_HOST_HAS(host, field)                                                                   \
    ((host)->size >= offsetof(cp_host, field) + sizeof((host)->field) && (host)->field != NULL)

/* ------------------------------------------------------------------------- */
/* The plugin descriptor                                                     */
/* ------------------------------------------------------------------------- */

/**
 * Where a check callback reports what is wrong with a configuration. The core's (or
 * cp_check_logged's): its head is public; use cp_check_error() and cp_check_error_at().
 */
typedef struct cp_check {
    size_t size; /**< sizeof(cp_check) of whoever made it */
    /** one report about `option` (NULL: the plugin's block); see cp_check_error */
    void (*reportv)(struct cp_check *chk, const char *option, const char *fmt, va_list ap);
    /** one report about the place `where` ("file:line"); see cp_check_error_at */
    void (*reportv_at)(struct cp_check *chk, const char *where, const char *fmt, va_list ap);
    /** since ABI 2.0, may be absent (check `size`) or NULL: one explanation, not a problem; see cp_check_note */
    void (*notev)(struct cp_check *chk, const char *option, const char *fmt, va_list ap);
} cp_check;

/**
 * Reports one problem of the configuration being checked: `option` is the config key it is
 * about (the core puts that option's file:line first, or the plugin block's line when the
 * option is not written in the file), or NULL for the block as a whole; the message (printf
 * format, one line) should say what is allowed. Any number of reports may be made; each becomes
 * one error line, "FILE:LINE: option 'OPTION' for plugin 'NAME': MESSAGE". Strings are copied.
 */
static inline CP_PRINTF(3, 4) void cp_check_error(cp_check *chk, const char *option, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chk->reportv(chk, option, fmt, ap);
    va_end(ap);
}

/**
 * Reports one problem at a place the plugin knows better than an option name: `where` is a
 * "file:line" such as cp_grouplist.where[i] (a group inside a group list). The error reads
 * "WHERE: MESSAGE"; the message may go on over lines indented by spaces (a caret under an
 * expression), which stay part of the same error. Strings are copied.
 */
static inline CP_PRINTF(3, 4) void cp_check_error_at(cp_check *chk, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chk->reportv_at(chk, where, fmt, ap);
    va_end(ap);
}

/**
 * Explains how the configuration will be read where that is not obvious from the text (a rule
 * such as symbols = ["top:50"] that resolves to symbols only at run time): not a problem, the
 * check still passes. `coinpipe run --check` prints it as "FILE:LINE: note: option 'OPTION' for
 * plugin 'NAME': MESSAGE"; elsewhere it is dropped (a plugin says the same in its log at start).
 * A no-op with a core whose cp_check has no notes. Strings are copied.
 */
static inline CP_PRINTF(3, 4) void cp_check_note(cp_check *chk, const char *option, const char *fmt, ...)
{
    if (chk->size < offsetof(cp_check, notev) + sizeof chk->notev || !chk->notev)
        return;
    va_list ap;
    va_start(ap, fmt);
    chk->notev(chk, option, fmt, ap);
    va_end(ap);
}

typedef enum cp_kind {
    CP_SOURCE = 1,
    CP_TRANSFORM = 2,
    CP_SINK = 3,
} cp_kind;

/**
 * What a plugin exports as `coinpipe_plugin`. Define it with CP_PLUGIN_DEFINE().
 * Callbacks a kind does not use stay NULL; the core refuses a plugin that lacks one its
 * kind needs (create, destroy, and collect | process | write).
 */
typedef struct cp_plugin {
    uint32_t abi_major;   /**< CP_ABI_MAJOR the plugin was built against */
    uint32_t abi_minor;   /**< CP_ABI_MINOR the plugin was built against */
    uint32_t size;        /**< sizeof(cp_plugin) the plugin was built against */
    uint32_t option_size; /**< sizeof(cp_option) the plugin was built against: the stride of `options` */
    const char *name;     /**< config `plugin = "name"`; file name with '-' mapped to '_' */
    cp_kind kind;
    const char *version;  /**< the plugin's own version */
    const char *description; /**< one line */
    const cp_option *options; /**< NULL-name-terminated table, or NULL for none */
    size_t config_size;   /**< size of the config struct the options fill */

    /**
     * Optional: checks the meaning of a filled config beyond what the option table says
     * (types, bounds, required and enum choices are checked already): stream names, options
     * that need each other, values valid only for this service. Reports each problem with
     * cp_check_error(chk, option, ...) and returns CP_OK when there is none, else
     * CP_ERR_CONFIG (any report fails the check, whatever the status; an error status without
     * a report gets a generic line). The core calls it on the main thread for every instance in
     * the config, after filling its options without error and before any create(): in `run
     * --check` and in every command that starts from the config (the daemon, --once, backfill,
     * gaps, dead replay), so a config `--check` accepts never fails at start for a reason check
     * could have seen. It must not do I/O (no network, files or state store): it runs with no
     * instance and no context. `config` is borrowed, read-only.
     */
    cp_status (*check)(const void *config, cp_check *chk);

    /**
     * Creates an instance. `config` is the filled config struct (core-owned, valid until
     * destroy). On success store the instance in *instance and return CP_OK; on failure log
     * why (cp_log_error) and return an error: the pipeline does not start.
     */
    cp_status (*create)(cp_ctx *ctx, const void *config, void **instance);
    /** Frees an instance. Called once, after the last callback, never concurrently. */
    void (*destroy)(void *instance);
    /** Source: collect one cycle and cp_emit() the batches. An error marks the cycle failed. */
    cp_status (*collect)(void *instance, cp_ctx *ctx);
    /**
     * Transform: read the borrowed `batch`, cp_emit() derived batches. The input is passed
     * on unchanged after the call unless the plugin calls cp_drop_input(ctx).
     */
    cp_status (*process)(void *instance, cp_ctx *ctx, const cp_batch *batch);
    /**
     * Sink: write the borrowed `batch`. Return CP_OK once it is durably stored (this also
     * confirms every earlier CP_PENDING batch), CP_PENDING if it is only buffered, CP_RETRY
     * on a transient failure (the core re-delivers it and every pending batch later; the sink
     * must have discarded them), CP_REJECT if it can never be written.
     */
    cp_status (*write)(void *instance, cp_ctx *ctx, const cp_batch *batch);
    /**
     * Sink, optional: write out buffered batches. Called about once a second while batches
     * are pending, and with CP_FLUSH_FORCE at shutdown, reload and the end of --once.
     * Returns as write() does: CP_OK confirms all pending; CP_PENDING keeps them pending.
     */
    cp_status (*flush)(void *instance, cp_ctx *ctx, unsigned flags);
    /**
     * Source, optional: collect history for [from_ms, to_ms) (UTC ms) and cp_emit() it like
     * collect() does, paging within the rate limits. Checkpoint progress with cp_state_set()
     * so an interrupted run resumes; report it with cp_progress(); return early with
     * CP_ERR_STOPPED when cp_stopping() turns true. `coinpipe backfill` calls it.
     */
    cp_status (*backfill)(void *instance, cp_ctx *ctx, int64_t from_ms, int64_t to_ms);

    /**
     * Source, optional: lists the candle series this instance collects into the
     * `ohlcv` stream (and backfill() fills), calling fn once per series, until fn returns false.
     * Set `exchange` and `interval`, and `symbol` or `native_symbol` or both: the core matches
     * the series a sink holds on the fields given. Report what the configuration says without
     * network requests (`coinpipe gaps` must work offline); no `ohlcv` stream, no call. Strings
     * need only live during the call of fn. Called on the main thread, on an instance of its own
     * that never collects. Returns CP_OK, or an error that fails `coinpipe gaps`.
     */
    cp_status (*candle_series)(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user);
    /**
     * Sink, optional (a sink implements both stored_series and candle_gaps, or
     * neither): lists the series held in the sink's `ohlcv` table in key order, one call of fn
     * per distinct (exchange, symbol, interval) with all four fields set (`native_symbol` from
     * any of its rows, NULL if that is NULL), until fn returns false. A table of 10^8 rows must
     * not be read in full or loaded into memory: seek from series to series along the primary
     * key. CP_OK without a call when there is no `ohlcv` table; CP_RETRY when the database
     * cannot be reached. Called on an instance of its own (never concurrently with write()).
     */
    cp_status (*stored_series)(void *instance, cp_ctx *ctx, cp_series_fn fn, void *user);
    /**
     * Sink, optional (with stored_series): reports the holes of one stored series
     * (`series` exchange, symbol and interval; native_symbol is ignored) among its open_times in
     * [from_ms, to_ms) (UTC ms; INT64_MIN and INT64_MAX mean unbounded), in ascending order:
     * fn(user, INT64_MIN, first) for the first stored open_time in the range, fn(user, a, b)
     * for every two consecutive stored open_times further apart than `step_ms`, and
     * fn(user, last, INT64_MAX) for the last one. No call means no candle in the range. Must
     * stream along the primary key (e.g. SQL LAG() over open_time), holding only the current
     * row in memory, and read one consistent snapshot. Stops early, returning CP_OK, when fn
     * returns false. Errors as stored_series.
     */
    cp_status (*candle_gaps)(void *instance, cp_ctx *ctx, const cp_series *series, int64_t step_ms,
                             int64_t from_ms, int64_t to_ms, cp_gap_fn fn, void *user);

    /* ---- since ABI 2.0: reading back what a sink stored (the core leaves them NULL for a
     * plugin built against an older header; a sink implements both or neither) ---- */

    /**
     * Sink, optional (since ABI 2.0): reads the stored rows of one series of `q->schema->stream`
     * (rows whose `q->series` columns equal `q->values`) with `q->time_column` in [from_ms,
     * to_ms), in ascending time; when more than `q->limit` (non-zero) rows match, the newest
     * `limit` of them. Calls fn with batches of `q->schema` (columns by name; a column the store
     * lacks is NULL) of any size, until fn returns false. Read only: never writes, creates or
     * alters anything, on the instance's own connection and one consistent snapshot. CP_OK
     * without a call when there is no such table or row; CP_RETRY when the store cannot be
     * reached; another error (logged) when the table cannot be read. Called on an instance of
     * its own that never writes, never concurrently with its other callbacks.
     */
    cp_status (*read_range)(void *instance, cp_ctx *ctx, const cp_read_query *q, cp_batch_fn fn, void *user);
    /**
     * Sink, optional (since ABI 2.0, with read_range): reads the newest stored row (greatest
     * `q->time_column`) of every series of `q->schema->stream`, a series being a distinct value
     * of the `q->series` columns (`values`, range and limit are unused). Batches, errors and
     * threads as read_range.
     */
    cp_status (*read_latest)(void *instance, cp_ctx *ctx, const cp_read_query *q, cp_batch_fn fn, void *user);

    /* ---- since ABI 2.0: what a pipeline writes, for `coinpipe ddl` (the core leaves them NULL
     * for a plugin built against an older header). The core names no plugin: the streams of
     * a pipeline are what its source and transforms declare, and each sink renders its own
     * DDL for them. ---- */

    /**
     * Source or transform, optional (since ABI 2.0): declares the streams this plugin emits
     * when configured with `config` (its filled config struct, as create() gets it), calling
     * fn once per stream with the schema of its batches, in the order a user would read them,
     * until fn returns false. A source gets `inputs` NULL and `ninputs` 0. A transform gets the
     * streams that reach it (the source's and those of the transforms before it) and declares
     * only the streams it adds: its inputs pass on by themselves (a transform that emits a
     * stream only from a certain input may look for it there, e.g. by `stream` name). Declare
     * exactly what the batches will carry (the same columns, types and flags in the same
     * order), so that tables made from the declaration take the rows. Stateless and offline:
     * no instance exists, and the callback makes no network request, opens no file and keeps
     * nothing. Called on the main thread with a context that logs (tagged as usual) and has
     * no state store. Returns CP_OK; or CP_ERR_CONFIG after logging why (cp_log_error) when
     * the config names something the plugin cannot emit (an unknown stream); CP_ERR_NOMEM.
     */
    cp_status (*schemas)(cp_ctx *ctx, const void *config, const cp_schema *const *inputs, size_t ninputs,
                         cp_schema_fn fn, void *user);
    /**
     * Sink, optional (since ABI 2.0, with `ddl`): the SQL dialects the `ddl` callback renders,
     * as `coinpipe ddl DIALECT` names them, NULL-terminated, e.g. {"postgresql", NULL}. Names
     * in use: "athena", "snowflake", "postgresql", "sqlite"; a new one is fine.
     */
    const char *const *ddl_dialects;
    /**
     * Sink, optional (since ABI 2.0, with `ddl_dialects`): renders the DDL that makes the
     * `n` streams of `schemas` queryable where this sink writes them (CREATE TABLE, external
     * tables over its files, ...), in `dialect` (one of ddl_dialects), passing the text to fn
     * statement by statement (see cp_text_fn). `config` is the sink's filled config struct; NULL
     * when no sink of this plugin is configured: then render for the option defaults, with a
     * placeholder such as YOUR-BUCKET where a required option has none. `coinpipe ddl` calls it
     * for every configured sink, pipeline by pipeline, with that pipeline's streams, and
     * prints each distinct text once: two sinks that write to the same place share their
     * statements, so render the same text for the same table (emit the statements a stream's
     * table needs first, e.g. CREATE SCHEMA, as text of their own). Stateless and offline, on
     * the main thread, like `schemas`. Returns CP_OK; CP_ERR_UNSUPPORTED (nothing rendered)
     * for a dialect it does not render; CP_ERR_NOMEM.
     */
    cp_status (*ddl)(cp_ctx *ctx, const void *config, const char *dialect, const cp_schema *const *schemas, size_t n,
                     cp_text_fn fn, void *user);

    /* ---- since ABI 2.0: continuous sources (the core leaves it NULL for an older plugin) ---- */

    /**
     * Source, optional (since ABI 2.0): runs continuously. A pipeline with neither `interval` nor
     * `schedule` calls it once, on a thread of its own, when the pipeline starts; it returns when
     * cp_stopping() turns true (CP_OK) or on a failure it cannot recover from (an error, logged:
     * the core calls it again after a growing pause, as it would retry a failed cycle, except after
     * CP_ERR_CONFIG). Meanwhile it
     * cp_emit()s rows as they arrive, in batches of any size (one row is fine): the core merges
     * them per stream and cuts micro-batches every `batch_interval` or `batch_rows` of the
     * pipeline, which go through the transforms (on the core's flush thread, never concurrently
     * with each other) into the spool and the sinks as a cycle's batches do. After each
     * micro-batch is in every sink's spool, the checkpoints set before its rows were emitted are
     * made durable. cp_emit() may block while a micro-batch is being committed. A WebSocket
     * source waits in cp_ws_poll(); a NATS consumer in its own library's fetch with a timeout.
     */
    cp_status (*run)(void *instance, cp_ctx *ctx);

    /* ---- since ABI 2.0: time passing without rows ---- */

    /**
     * Transform, optional (since ABI 2.0): `now_ms` (UTC ms, as cp_now_ms) has come, whether or
     * not rows did: for what depends on time alone, such as a feed that went quiet. The core
     * calls it on the pipeline's worker thread, never concurrently with process(): after every
     * poll cycle, whether the cycle succeeded or failed (also when the source emitted nothing),
     * and about once a second for a continuous pipeline (on its flush thread). Like process(),
     * it may cp_emit() batches: they go through the transforms after this one, then the latest
     * rows and the sinks, and are committed with the cycle (or, for a continuous pipeline, right
     * after the call). An error is logged and marks the cycle failed.
     */
    cp_status (*tick)(void *instance, cp_ctx *ctx, int64_t now_ms);
} cp_plugin;

/** sizeof(cp_plugin) in ABI 2.0 (the end of its last 2.0 member): the smallest descriptor the core loads. */
#define CP_PLUGIN_SIZE_2_0 ((uint32_t)(offsetof(cp_plugin, tick) + sizeof(void (*)(void))))

/**
 * Defines the descriptor with the ABI fields stamped from this header, e.g.
 *   CP_PLUGIN_DEFINE(.name = "stdout", .kind = CP_SINK, .write = my_write, ...);
 */
#define CP_PLUGIN_DEFINE(...)                                                              \
    CP_EXPORT extern const cp_plugin coinpipe_plugin;                                      \
    CP_EXPORT const cp_plugin coinpipe_plugin = {.abi_major = CP_ABI_MAJOR,                \
                                                 .abi_minor = CP_ABI_MINOR,                \
                                                 .size = (uint32_t)sizeof(cp_plugin),      \
                                                 .option_size = (uint32_t)sizeof(cp_option), \
                                                 __VA_ARGS__}

/* ------------------------------------------------------------------------- */
/* Readable wrappers over the host table                                     */
/* ------------------------------------------------------------------------- */

/** Logs at `level`, tagged with pipeline and [kind:plugin:instance]. Never fails. */
static inline CP_PRINTF(3, 4) void cp_log(cp_ctx *ctx, cp_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx->host->logv(ctx, level, fmt, ap);
    va_end(ap);
}
#define cp_log_error(ctx, ...) cp_log((ctx), CP_LOG_ERROR, __VA_ARGS__)
#define cp_log_warn(ctx, ...) cp_log((ctx), CP_LOG_WARN, __VA_ARGS__)
#define cp_log_info(ctx, ...) cp_log((ctx), CP_LOG_INFO, __VA_ARGS__)
#define cp_log_debug(ctx, ...) cp_log((ctx), CP_LOG_DEBUG, __VA_ARGS__)

/** True when `level` would be logged: skip building expensive messages otherwise. */
static inline bool cp_log_enabled(cp_ctx *ctx, cp_log_level level)
{
    return ctx->host->log_enabled(ctx, level);
}

/**
 * Creates an empty batch for `schema`. The core copies the schema, so a static or
 * stack schema is fine. `rows_hint` preallocates. Returns NULL when out of memory.
 * The caller owns the batch until it passes it to cp_emit() or cp_batch_free().
 */
static inline cp_batch *cp_batch_new(cp_ctx *ctx, const cp_schema *schema, size_t rows_hint)
{
    return ctx->host->batch_new(ctx, schema, rows_hint);
}
/** Frees a batch the caller owns. NULL is a no-op. */
static inline void cp_batch_free(cp_ctx *ctx, cp_batch *b) { ctx->host->batch_free(b); }
/** Deep-copies a batch (e.g. a borrowed one); the caller owns the copy. NULL when out of memory. */
static inline cp_batch *cp_batch_copy(cp_ctx *ctx, const cp_batch *b) { return ctx->host->batch_copy(b); }
/** Appends a row with every column NULL; returns its index, or SIZE_MAX when out of memory. Amortised O(1). */
static inline size_t cp_batch_add_row(cp_ctx *ctx, cp_batch *b) { return ctx->host->batch_add_row(b); }
/** Removes the last row (e.g. when parsing it failed half-way). No-op on an empty batch. */
static inline void cp_batch_drop_last_row(cp_ctx *ctx, cp_batch *b) { ctx->host->batch_drop_last_row(b); }
/** Sets an INT64 or TIMESTAMP cell. CP_ERR_INVALID on a bad index or another column type. */
static inline cp_status cp_batch_set_int(cp_ctx *ctx, cp_batch *b, size_t row, size_t col, int64_t v)
{
    return ctx->host->batch_set_int(b, row, col, v);
}
/** Sets a DOUBLE cell. A non-finite value stores NULL. CP_ERR_INVALID on a bad index or type. */
static inline cp_status cp_batch_set_double(cp_ctx *ctx, cp_batch *b, size_t row, size_t col, double v)
{
    return ctx->host->batch_set_double(b, row, col, v);
}
/**
 * Sets a DECIMAL cell from its exact text (copied; need not be NUL-terminated), which must be
 * a plain decimal number ("-0.00012300", "42", "1.5e-7"); the core keeps the text verbatim
 * and parses a double alongside. CP_ERR_PARSE for text that is not a number (cell unchanged).
 */
static inline cp_status cp_batch_set_decimal(cp_ctx *ctx, cp_batch *b, size_t row, size_t col,
                                             const char *text, size_t len)
{
    return ctx->host->batch_set_decimal(b, row, col, text, len);
}
/**
 * Sets a DECIMAL cell (since ABI 2.1) from the decimal text that starts at `text` and ends right
 * before the first byte `term` (e.g. the closing quote of a JSON string read in place), looked for in the
 * first `avail` bytes: what cp_batch_set_decimal(text, n) does for the n bytes before that
 * `term`, but the end is found while the text is validated and parsed, in one pass. On CP_OK
 * *len gets n and *value (if not NULL) the parsed double. CP_ERR_PARSE (cell unchanged) when
 * the text before the first byte that cannot continue a decimal is not one, when that byte is
 * not `term`, or when no `term` is among the first 65 bytes (a decimal is at most 64);
 * CP_ERR_INVALID for a bad index or type, or a `term` that can be part of a decimal (a digit,
 * '+', '-', '.', 'e', 'E'). A source reads the usual form this way and, on CP_ERR_PARSE, the
 * same value its general way, which logs what is wrong. On an older core it falls back to
 * looking for `term` and cp_batch_set_decimal.
 */
static inline cp_status cp_batch_set_decimal_until(cp_ctx *ctx, cp_batch *b, size_t row, size_t col,
                                                   const char *text, size_t avail, char term, size_t *len,
                                                   double *value)
{
    if (CP_HOST_HAS(ctx->host, batch_set_decimal_until))
        return ctx->host->batch_set_decimal_until(b, row, col, text, avail, term, len, value);
    size_t n = 0;
    while (n < avail && n < 65 && text[n] != term)
        n++;
    if (n == avail || n == 65)
        return CP_ERR_PARSE;
    cp_status st = ctx->host->batch_set_decimal(b, row, col, text, n);
    if (st == CP_OK) {
        *len = n;
        if (value)
            *value = ctx->host->batch_get_double(b, row, col);
    }
    return st;
}
/**
 * Copies the cell of row `from` in column `col` (its value, its text, or its NULL) into rows
 * from + 1 to to - 1 (since ABI 2.2): a source sets what every row of a response shares (its
 * exchange, symbol, interval, received time) on the response's first row and fills it down
 * once, instead of a call per row. Texts are shared, not copied. CP_ERR_INVALID (nothing
 * changed) for a bad column, or unless from < to <= the batch's rows. On an older core it falls
 * back to a cp_batch_set_*() call per row (reading row `from`'s cell with cp_batch_get_*()),
 * which can also fail with CP_ERR_NOMEM (the rows before the failing one are filled).
 */
static inline cp_status cp_batch_fill_down(cp_ctx *ctx, cp_batch *b, size_t col, size_t from, size_t to)
{
    if (CP_HOST_HAS(ctx->host, batch_fill_down))
        return ctx->host->batch_fill_down(b, col, from, to);
    const cp_schema *sc = ctx->host->batch_schema(b);
    if (!sc || col >= sc->nfields || from >= to || to > ctx->host->batch_rows(b))
        return CP_ERR_INVALID;
    cp_type t = cp_schema_field(sc, col)->type;
    bool null = ctx->host->batch_is_null(b, from, col), text = !null && (t == CP_T_STRING || t == CP_T_DECIMAL);
    int64_t i = ctx->host->batch_get_int(b, from, col);
    double d = ctx->host->batch_get_double(b, from, col);
    size_t len = 0;
    char *copy = NULL; /* a text set may move the batch's texts: the value is read from a copy */
    if (text) {
        const char *at = ctx->host->batch_get_text(b, from, col, &len);
        if (!at || !(copy = (char *)malloc(len + 1)))
            return CP_ERR_NOMEM;
        memcpy(copy, at, len + 1);
    }
    cp_status st = CP_OK;
    for (size_t r = from + 1; r < to && st == CP_OK; r++) {
        if (null)
            st = ctx->host->batch_set_null(b, r, col);
        else if (t == CP_T_STRING)
            st = ctx->host->batch_set_string(b, r, col, copy, len);
        else if (t == CP_T_DECIMAL)
            st = ctx->host->batch_set_decimal(b, r, col, copy, len);
        else if (t == CP_T_DOUBLE)
            st = ctx->host->batch_set_double(b, r, col, d);
        else if (t == CP_T_BOOL)
            st = ctx->host->batch_set_bool(b, r, col, i != 0);
        else
            st = ctx->host->batch_set_int(b, r, col, i);
    }
    free(copy);
    return st;
}
/**
 * Reads the elements of a JSON array in their usual forms, in place, into row `row` (since ABI
 * 2.2): a source reads a row-shaped element (a Binance kline) in one call instead of a call per
 * cell. `kinds` has a letter per element: 'i' an integer of 1 to 18 digits without sign or
 * leading zero (then a byte that is not a digit, '.', 'e' or 'E'), into the INT64 or TIMESTAMP
 * column cols[i]; 'd' a JSON string holding a decimal, "0.50051097", what
 * cp_batch_set_decimal_until reads up to the closing quote, finite, into the DECIMAL column
 * cols[i] (text kept, the double strtod gives). The elements are separated by single commas, no
 * whitespace; `text` is where the first one starts (after the '['), `avail` the bytes readable
 * from it; at most 64 elements. On CP_OK *len gets the bytes read: what follows the last element
 * is the caller's. CP_ERR_INVALID for a bad row, a NULL pointer, more than 64 letters, or on
 * reaching an element whose letter is neither or whose column is out of range or of another type.
 * CP_ERR_PARSE when the text is not of that form: the source then reads the array its general
 * way, which logs what is wrong. On either, cells of the row before the element where it
 * stopped may have been set (drop the row, or set them again). On an older core it
 * falls back to cp_batch_set_decimal_until() and cp_batch_set_int() per element.
 */
static inline cp_status cp_batch_set_json_elements(cp_ctx *ctx, cp_batch *b, size_t row, const char *kinds,
                                                   const size_t *cols, const char *text, size_t avail, size_t *len)
{
    if (CP_HOST_HAS(ctx->host, batch_set_json_elements))
        return ctx->host->batch_set_json_elements(b, row, kinds, cols, text, avail, len);
    const cp_schema *sc = ctx->host->batch_schema(b);
    if (!sc || row >= ctx->host->batch_rows(b) || !kinds || !cols || !text || !len || strlen(kinds) > 64)
        return CP_ERR_INVALID;
    size_t at = 0;
    for (size_t i = 0; kinds[i]; i++) {
        cp_type t = cols[i] < sc->nfields ? cp_schema_field(sc, cols[i])->type : (cp_type)0;
        if (kinds[i] == 'i' ? t != CP_T_INT64 && t != CP_T_TIMESTAMP : kinds[i] != 'd' || t != CP_T_DECIMAL)
            return CP_ERR_INVALID;
        if (i && (at >= avail || text[at++] != ','))
            return CP_ERR_PARSE;
        cp_status st;
        if (kinds[i] == 'i') {
            int64_t v;
            const char *end = cp_json_uint(text + at, text + avail, &v);
            if (!end)
                return CP_ERR_PARSE;
            at = (size_t)(end - text);
            st = ctx->host->batch_set_int(b, row, cols[i], v);
        } else {
            size_t n = 0;
            double d = 0;
            if (at >= avail || text[at] != '"')
                return CP_ERR_PARSE;
            st = cp_batch_set_decimal_until(ctx, b, row, cols[i], text + at + 1, avail - at - 1, '"', &n, &d);
            if (st == CP_OK && !(d - d == 0)) /* not finite */
                return CP_ERR_PARSE;
            at += n + 2;
        }
        if (st != CP_OK)
            return st;
    }
    *len = at;
    return CP_OK;
}
/** Sets a STRING cell (text copied; need not be NUL-terminated). CP_ERR_INVALID on a bad index or type. */
static inline cp_status cp_batch_set_string(cp_ctx *ctx, cp_batch *b, size_t row, size_t col,
                                            const char *text, size_t len)
{
    return ctx->host->batch_set_string(b, row, col, text, len);
}
/** Sets a BOOL cell. CP_ERR_INVALID on a bad index or type. */
static inline cp_status cp_batch_set_bool(cp_ctx *ctx, cp_batch *b, size_t row, size_t col, bool v)
{
    return ctx->host->batch_set_bool(b, row, col, v);
}
/** Sets a cell to NULL (any type). CP_ERR_INVALID on a bad index. */
static inline cp_status cp_batch_set_null(cp_ctx *ctx, cp_batch *b, size_t row, size_t col)
{
    return ctx->host->batch_set_null(b, row, col);
}
/** The batch's schema (owned by the batch). */
static inline const cp_schema *cp_batch_schema(cp_ctx *ctx, const cp_batch *b) { return ctx->host->batch_schema(b); }
/** Number of rows. */
static inline size_t cp_batch_rows(cp_ctx *ctx, const cp_batch *b) { return ctx->host->batch_rows(b); }
/** Index of the column named `name`, or -1. */
static inline int cp_batch_col(cp_ctx *ctx, const cp_batch *b, const char *name) { return ctx->host->batch_col(b, name); }
/** True when the cell is NULL (or the index is out of range). */
static inline bool cp_batch_is_null(cp_ctx *ctx, const cp_batch *b, size_t row, size_t col)
{
    return ctx->host->batch_is_null(b, row, col);
}
/** INT64/TIMESTAMP value (BOOL as 0/1, DOUBLE/DECIMAL truncated); 0 for NULL. */
static inline int64_t cp_batch_get_int(cp_ctx *ctx, const cp_batch *b, size_t row, size_t col)
{
    return ctx->host->batch_get_int(b, row, col);
}
/** DOUBLE value, or a DECIMAL's parsed double, or an INT64/TIMESTAMP converted; NAN for NULL. */
static inline double cp_batch_get_double(cp_ctx *ctx, const cp_batch *b, size_t row, size_t col)
{
    return ctx->host->batch_get_double(b, row, col);
}
/**
 * Text of a STRING or the exact text of a DECIMAL, NUL-terminated, valid as long as the
 * batch; its length in *len if len is not NULL. NULL for a NULL cell or another type.
 */
static inline const char *cp_batch_get_text(cp_ctx *ctx, const cp_batch *b, size_t row, size_t col, size_t *len)
{
    return ctx->host->batch_get_text(b, row, col, len);
}
/** BOOL value; false for NULL. */
static inline bool cp_batch_get_bool(cp_ctx *ctx, const cp_batch *b, size_t row, size_t col)
{
    return ctx->host->batch_get_bool(b, row, col);
}
/**
 * Fills *out with a view of column `col` of `b` (since ABI 2.1; see cp_column): all its rows at
 * once, read in place, for a plugin that reads many cells (a sink writing a batch) and would
 * otherwise make a host call per cell. Stamps out->size itself. The view borrows from the batch
 * and stays valid until the batch is modified or freed. CP_ERR_INVALID for a bad column index;
 * CP_ERR_UNSUPPORTED (out left as it was, but for `size`) on a core older than 2.1, or one that
 * cannot show this column in place: read it cell by cell with cp_batch_get_*() then.
 */
static inline cp_status cp_batch_column(cp_ctx *ctx, const cp_batch *b, size_t col, cp_column *out)
{
    out->size = sizeof *out;
    if (!CP_HOST_HAS(ctx->host, batch_column))
        return CP_ERR_UNSUPPORTED;
    return ctx->host->batch_column(b, col, out);
}

/**
 * Sends a batch downstream (the next transforms, then every sink's queue). Takes ownership
 * of `b` in every case, success or error. An empty batch is freed and ignored. Returns
 * CP_ERR_STOPPED when shutting down with the policy refusing new data, else CP_OK.
 */
static inline cp_status cp_emit(cp_ctx *ctx, cp_batch *b) { return ctx->host->emit(ctx, b); }
/** Transform only, inside process(): do not pass the input batch on. */
static inline void cp_drop_input(cp_ctx *ctx) { ctx->host->drop_input(ctx); }
/** True once shutdown has begun: long loops (backfill) should return soon. */
static inline bool cp_stopping(cp_ctx *ctx) { return ctx->host->stopping(ctx); }
/** Name of the instance's pipeline (valid as long as the instance). */
static inline const char *cp_pipeline_name(cp_ctx *ctx) { return ctx->host->pipeline_name(ctx); }
/** Name of the instance (its config `name`, default the plugin name). */
static inline const char *cp_instance_name(cp_ctx *ctx) { return ctx->host->instance_name(ctx); }

/**
 * Reads `key` from the instance's persistent key-value store (namespaced by pipeline and
 * instance, survives restarts). On CP_OK *value is a NUL-terminated copy the caller frees
 * with cp_free(); CP_ERR_NOT_FOUND when absent.
 */
static inline cp_status cp_state_get(cp_ctx *ctx, const char *key, char **value)
{
    return ctx->host->state_get(ctx, key, value);
}
/**
 * Stores `value` under `key` (both copied); NULL deletes. Inside a pipeline the store is
 * made durable at the end of the cycle (and by cp_progress() during a backfill, at most once a
 * second, and at its end), right
 * after the batches emitted so far reached every sink's spool: a checkpoint never runs ahead
 * of the data it describes, and setting a key often costs no fsync. Errors: CP_ERR_NOMEM,
 * CP_ERR_IO when written at once (outside a pipeline).
 */
static inline cp_status cp_state_set(cp_ctx *ctx, const char *key, const char *value)
{
    return ctx->host->state_set(ctx, key, value);
}
/** Frees memory the core allocated for the caller (cp_state_get values). NULL is a no-op. */
static inline void cp_free(cp_ctx *ctx, void *p) { ctx->host->free(p); }

/** Current UTC time in milliseconds (tests may pin it; use it, not time()). */
static inline int64_t cp_now_ms(cp_ctx *ctx) { return ctx->host->now_ms(ctx); }
/** Sleeps up to `ms`, returning early when shutdown begins. */
static inline void cp_sleep_ms(cp_ctx *ctx, int64_t ms) { ctx->host->sleep_ms(ctx, ms); }

/**
 * Declares limits for `host` (a host name as in the URL, e.g. "api.binance.com"), shared by
 * every instance that talks to it. Copies `limits`. Later calls for the same host take the
 * tighter values.
 */
static inline cp_status cp_http_limits_set(cp_ctx *ctx, const char *host, const cp_http_limits *limits)
{
    return ctx->host->http_limits(ctx, host, limits);
}
/**
 * Performs `n` requests concurrently within the per-host limits, retrying timeouts,
 * connection errors, 5xx and 429 with exponential backoff and jitter (honouring
 * Retry-After), and blocks until all have finished. Fills resps[i] for reqs[i]; the caller
 * releases each with cp_http_response_clear(). Returns CP_OK when every request got a
 * response (check each `code`), else the first failure's status. A 418 stops all requests
 * to that host until its Retry-After: those fail with CP_ERR_BANNED.
 */
static inline cp_status cp_http_perform(cp_ctx *ctx, const cp_http_request *reqs, cp_http_response *resps, size_t n)
{
    return ctx->host->http_perform(ctx, reqs, resps, n);
}
/**
 * cp_http_perform() that hands each response to `done` as soon as it is final, instead of
 * only when all have finished: a source parses and emits while the other
 * requests are still in flight, and frees each body early. Fills resps[i] for reqs[i] and
 * calls done(user, i, &resps[i]) exactly once per request (see cp_http_done_fn), then returns
 * as cp_http_perform() does (the first failure by request index, else CP_OK). The caller
 * releases what the callbacks did not clear.
 */
static inline cp_status cp_http_perform_each(cp_ctx *ctx, const cp_http_request *reqs, cp_http_response *resps,
                                             size_t n, cp_http_done_fn done, void *user)
{
    if (CP_HOST_HAS(ctx->host, http_perform_each))
        return ctx->host->http_perform_each(ctx, reqs, resps, n, done, user);
    cp_status st = ctx->host->http_perform(ctx, reqs, resps, n);
    for (size_t i = 0; i < n; i++)
        done(user, i, &resps[i]);
    return st;
}
/**
 * Reads the latest-rows table (since ABI 2.0): the value of `column` in the newest row that any
 * pipeline of this process passed to its sinks in `stream` for the series `series[0..nseries)`,
 * given in the order of the stream's text key columns except trade_id (ticker: exchange,
 * symbol; ohlcv and indicator: exchange, symbol, interval; market: source, coin_id,
 * vs_currency), e.g. {"binance", "BTC-USDT"} for the last price of a ticker (`column` "last").
 * The newest row is the one with the greatest time (the first timestamp key column, else
 * `ts`); stores it as a double in *value and that row's time (UTC ms; INT64_MIN when the row
 * has none) in *ts_ms if not NULL. Returns false when no such row was seen since start, the
 * column is absent, NULL or not a number, or the core is older than 2.0. Thread-safe and
 * cheap (a hash lookup); strings are borrowed for the call only. For rules that compare
 * pipelines (the alerts transform); a row of this process's own pipeline is there once it
 * passed the transforms.
 */
static inline bool cp_latest_value(cp_ctx *ctx, const char *stream, const char *const *series, size_t nseries,
                                   const char *column, double *value, int64_t *ts_ms)
{
    if (!CP_HOST_HAS(ctx->host, latest_value))
        return false;
    return ctx->host->latest_value(ctx, stream, series, nseries, column, value, ts_ms);
}
/** A cp_check whose reports go to an instance's log (see cp_check_run_logged). */
typedef struct cp_check_log {
    cp_check chk; /**< first */
    cp_ctx *ctx;
    size_t reports;
} cp_check_log;

static inline CP_PRINTF(3, 0) void cp_check_log_reportv(cp_check *chk, const char *option, const char *fmt, va_list ap)
{
    cp_check_log *l = (cp_check_log *)(void *)chk;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cp_log_error(l->ctx, "%s%s%s", option ? option : "", option ? ": " : "", msg);
    l->reports++;
}

static inline CP_PRINTF(3, 0) void cp_check_log_reportv_at(cp_check *chk, const char *where, const char *fmt,
                                                            va_list ap)
{
    cp_check_log *l = (cp_check_log *)(void *)chk;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cp_log_error(l->ctx, "%s%s%s", where ? where : "", where ? ": " : "", msg);
    l->reports++;
}

/**
 * Runs a plugin's own check callback from its create(), with each report logged as an error
 * ("OPTION: MESSAGE"): for instances made without the core's config loader (which has run the
 * check already and printed its reports with file:line). Returns CP_OK, or CP_ERR_CONFIG when
 * the check failed or reported anything.
 */
static inline cp_status cp_check_run_logged(cp_ctx *ctx, const void *config,
                                            cp_status (*check)(const void *config, cp_check *chk))
{
    cp_check_log l = {{sizeof(cp_check), cp_check_log_reportv, cp_check_log_reportv_at, NULL}, ctx, 0};
    cp_status st = check(config, &l.chk);
    return st == CP_OK && l.reports == 0 ? CP_OK : CP_ERR_CONFIG;
}

/** Frees the body and headers of a response, gives the body's bytes back to the memory budget
 * and zeroes the response. Safe to call twice. */
static inline void cp_http_response_clear(cp_ctx *ctx, cp_http_response *r) { ctx->host->http_response_clear(r); }
/**
 * Value of header `name` (case-insensitive) in a response, not NUL-terminated: its length
 * goes to *len. Points into r->headers; NULL when absent.
 */
static inline const char *cp_http_header(cp_ctx *ctx, const cp_http_response *r, const char *name, size_t *len)
{
    return ctx->host->http_header(r, name, len);
}

/**
 * Reports progress of a long operation (backfill): `fraction` of the work done (0..1) and
 * rows emitted so far. The core shows it on a TTY (rows, percent, ETA) or logs it at info
 * level now and then, and makes the rows emitted so far, then the checkpoints set so far,
 * durable (at most once a second, and when fraction reaches 1). Cheap: call it after every page.
 */
static inline void cp_progress(cp_ctx *ctx, double fraction, uint64_t rows) { ctx->host->progress(ctx, fraction, rows); }

/**
 * Opens a WebSocket client connection (since ABI 2.0) on the core's service thread (one thread
 * serves every connection; the plugin links no WebSocket library). Returns at once: the upgrade
 * goes on in the background and its outcome arrives as CP_WS_OPEN or CP_WS_CLOSED through
 * cp_ws_poll(). On CP_OK *out is the caller's until cp_ws_close(), whatever happens to the
 * connection (a closed one stays a valid handle). CP_ERR_CONFIG for a URL that is not
 * ws:// or wss://, CP_ERR_UNSUPPORTED on an older core, CP_ERR_NOMEM.
 */
static inline cp_status cp_ws_open(cp_ctx *ctx, const cp_ws_options *o, cp_ws_fn fn, void *user, cp_ws **out)
{
    if (!CP_HOST_HAS(ctx->host, ws_open))
        return CP_ERR_UNSUPPORTED;
    return ctx->host->ws_open(ctx, o, fn, user, out);
}
/**
 * Queues a text message (copied; subscribe/unsubscribe requests) for sending once the
 * connection is open, in order. Thread-safe. CP_ERR_IO when the connection is closed,
 * CP_ERR_INVALID for a message over the connection's max_message.
 */
static inline cp_status cp_ws_send(cp_ctx *ctx, cp_ws *ws, const char *text, size_t len)
{
    return ctx->host->ws_send(ws, text, len);
}
/**
 * Delivers the queued events of every connection the instance opened to their callbacks, on the
 * calling thread, waiting up to `timeout_ms` for the first one (0: only what is queued). Returns
 * CP_OK when it delivered something, CP_ERR_TIMEOUT when nothing came, CP_ERR_STOPPED as soon as
 * shutdown begins (a continuous source then returns from run()).
 */
static inline cp_status cp_ws_poll(cp_ctx *ctx, int64_t timeout_ms) { return ctx->host->ws_poll(ctx, timeout_ms); }
/**
 * Closes the connection (a close frame with 1000 when it is open) and releases the handle: no
 * callback of it runs after this returns, events still queued are dropped. NULL is a no-op.
 */
static inline void cp_ws_close(cp_ctx *ctx, cp_ws *ws)
{
    if (ws)
        ctx->host->ws_close(ws);
}

/**
 * Adds `n` to the pipeline's counter `ev` (since ABI 2.0): coinpipe_stream_<event>_total on
 * /metrics, shown by `coinpipe status`. Thread-safe, cheap (one lock, no allocation); a no-op on
 * an older core.
 */
static inline void cp_stream_count(cp_ctx *ctx, cp_stream_event ev, uint64_t n)
{
    if (CP_HOST_HAS(ctx->host, stream_count))
        ctx->host->stream_count(ctx, ev, n);
}

/**
 * Continuous source only, inside run(): a ticket for every row the source cp_emit()ted so far,
 * to pass to cp_commit_wait(). A source that must tell its upstream what is safe (a message
 * broker's ack, a replication slot's position) takes a ticket after emitting the rows of some
 * messages and acknowledges those messages once the ticket is committed. Cheap (one lock).
 * Returns 0 when the core lacks it (cores before this addition) or outside a continuous
 * pipeline: then cp_commit_wait() answers CP_ERR_UNSUPPORTED.
 */
static inline uint64_t cp_commit_ticket(cp_ctx *ctx)
{
    return CP_HOST_HAS(ctx->host, commit_ticket) ? ctx->host->commit_ticket(ctx) : 0;
}
/**
 * Continuous source only: waits up to `timeout_ms` (0: just looks) until every row emitted
 * before cp_commit_ticket() returned `ticket` is in every sink's spool (fsynced, the micro-batch
 * committed as the pipeline commits), so that losing this process can no longer lose them.
 * CP_OK when committed; CP_ERR_TIMEOUT when not yet; CP_ERR_IO when a micro-batch could not
 * be committed (at shutdown): the rows are not safe, never acknowledge them upstream;
 * CP_ERR_UNSUPPORTED for ticket 0 (see cp_commit_ticket). Waiting does not speed the commit
 * up: micro-batches are cut every `batch_interval` or `batch_rows` as usual.
 */
static inline cp_status cp_commit_wait(cp_ctx *ctx, uint64_t ticket, int64_t timeout_ms)
{
    if (!ticket || !CP_HOST_HAS(ctx->host, commit_wait))
        return CP_ERR_UNSUPPORTED;
    return ctx->host->commit_wait(ctx, ticket, timeout_ms);
}

/**
 * Source: true when the normalized symbol `symbol` ("BTC-USDT", `len` bytes, need not be
 * NUL-terminated) belongs to this instance's shard (the core option `shard = "I/N"` of every
 * source: FNV-1a 32 of the symbol's bytes modulo N equals I). Always true without `shard` or on
 * a core that lacks it. Ask it before fetching a symbol, so that N collectors with the same
 * configuration and shards 0/N .. N-1/N split the work; whatever a source emits is filtered by
 * the same rule anyway (rows whose `symbol` column belongs to another shard are dropped on
 * cp_emit). Thread-safe, cheap, no allocation.
 */
static inline bool cp_shard_keep(cp_ctx *ctx, const char *symbol, size_t len)
{
    return !CP_HOST_HAS(ctx->host, shard_keep) || ctx->host->shard_keep(ctx, symbol, len);
}

#ifdef __cplusplus
}
#endif
#endif /* COINPIPE_COINPIPE_H */
