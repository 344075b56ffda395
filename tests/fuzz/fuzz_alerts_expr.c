/* libFuzzer target for the alert rules' expression language: parse any text, and evaluate what parses against a fuzzed row.
 * SPDX-License-Identifier: MIT
 *
 * Input: the expression text, optionally followed by a NUL byte and NUL-separated decimal texts
 * given to the ticker columns in order (a column without one is NULL). The parser must never
 * crash or leak, report an error offset inside the text, and the evaluator must survive any
 * value (exactness overflow falls back to doubles).
 */
#include "../../plugins/transforms/alerts_expr.h"

#include <coinpipe/streams.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct row {
    const char *v[CP_TICKER_NCOLS > CP_OHLCV_NCOLS ? CP_TICKER_NCOLS : CP_OHLCV_NCOLS];
} row;

static ax_value column(void *user, int col)
{
    row *r = user;
    ax_value v = {.kind = AX_NULL};
    if (col >= 0 && (size_t)col < sizeof r->v / sizeof r->v[0] && r->v[col] &&
        !ax_number(r->v[col], strlen(r->v[col]), &v))
        v.kind = AX_NULL;
    return v;
}

static int64_t age(void *user)
{
    (void)user;
    return 120000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    size_t tlen = strlen(buf);
    row r = {{0}};
    size_t ncols = 0;
    for (size_t p = tlen + 1; p < size && ncols < sizeof r.v / sizeof r.v[0]; p += strlen(buf + p) + 1)
        r.v[ncols++] = buf + p;
    char err[256];
    size_t at = 0;
    ax_expr *e = ax_parse(buf, ax_catalog_lookup, NULL, err, sizeof err, &at);
    if (!e) {
        if (at > tlen || !err[0])
            abort();
    } else {
        ax_row ar = {.column = column, .age_ms = age, .row_ts = 60000, .prev_open_time = 0, .interval_ms = 60000,
                     .user = &r};
        void *hist = NULL;
        for (int i = 0; i < 3; i++) {
            ax_value l, rr;
            ax_value v = ax_eval(e, &ar, &hist, true, &l, &rr);
            char out[96];
            ax_format(&v, out, sizeof out);
            ax_format(&l, out, sizeof out);
            ar.row_ts += 60000;
        }
        ax_history_free(e, hist);
        ax_free(e);
    }
    free(buf);
    return 0;
}
