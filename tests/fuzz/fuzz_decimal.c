/* libFuzzer target for decimal text: core_decimal_parse and core_batch_set_decimal_until (one pass, fast paths) against the grammar and strtod, bit for bit;
 * core_batch_set_json_elements against the SDK wrapper's reading on a core without it (same status, bytes read, cells).
 * SPDX-License-Identifier: MIT
 */
#include "core/batch.h"
#include "core/host.h"
#include "../unit/decimal_ref.h"
#include "../unit/row_text.h"

#include <coinpipe/streams.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a kline's elements (after its '['), read by the core and by the wrapper on a
 * core of ABI 2.1: the same status, and on success the same bytes read and cells. */
static void json_elements(const char *s, size_t size)
{
    static const size_t cols[11] = {CP_OHLCV_OPEN_TIME,  CP_OHLCV_OPEN,         CP_OHLCV_HIGH,
                                    CP_OHLCV_LOW,        CP_OHLCV_CLOSE,        CP_OHLCV_VOLUME,
                                    CP_OHLCV_CLOSE_TIME, CP_OHLCV_QUOTE_VOLUME, CP_OHLCV_TRADE_COUNT,
                                    CP_OHLCV_TAKER_BUY_BASE_VOLUME, CP_OHLCV_TAKER_BUY_QUOTE_VOLUME};
    static cp_host old;
    static cp_batch *b[2];
    old = core_host;
    old.size = offsetof(cp_host, batch_set_json_elements);
    cp_ctx ctx[2] = {{.host = &core_host}, {.host = &old}};
    char *t = malloc(size ? size : 1), got[2][1024];
    size_t n[2] = {0, 0};
    cp_status st[2];
    if (!t)
        abort();
    memcpy(t, s, size); /* exactly sized: reading past it is caught */
    for (int k = 0; k < 2; k++) {
        if (!b[k] || core_batch_rows(b[k]) >= 4096) {
            core_batch_unref(b[k]);
            b[k] = core_batch_new(&cp_ohlcv_schema, 0);
        }
        size_t row = core_batch_add_row(b[k]);
        if (!b[k] || row == SIZE_MAX)
            abort();
        st[k] = cp_batch_set_json_elements(&ctx[k], b[k], row, "idddddididd", cols, t, size, &n[k]);
        row_text(b[k], row, got[k], sizeof got[k]);
    }
    if (st[0] != st[1] || (st[0] == CP_OK && (n[0] != n[1] || strcmp(got[0], got[1]) != 0)))
        abort();
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 256)
        return 0;
    json_elements((const char *)data, size);
    if (size >= 128)
        return 0;
    const char *s = (const char *)data;
    double got = 0;
    bool ok = core_decimal_parse(s, size, &got);
    if (ok != decimal_ref_valid(s, size))
        abort();
    double want = ok ? decimal_ref_value(s, size) : 0;
    if (ok && memcmp(&got, &want, sizeof got) != 0)
        abort();
    /* read in place as a JSON string's text (core_batch_set_decimal_until): the input, a closing
     * quote, and what the rest of a body may be (exactly sized: reading past it is caught) */
    static cp_batch *b;
    if (!b || core_batch_rows(b) >= 4096) {
        core_batch_unref(b);
        b = core_batch_new(&cp_ticker_schema, 0);
    }
    size_t more = size % 20, row = core_batch_add_row(b), n = 0;
    char *t = malloc(size + 1 + more);
    if (!b || !t || row == SIZE_MAX)
        abort();
    memcpy(t, s, size);
    t[size] = '"';
    memset(t + size + 1, '7', more);
    double d = 0;
    cp_status st = core_batch_set_decimal_until(b, row, CP_TICKER_LAST, t, size + 1 + more, '"', &n, &d);
    bool until_ok = ok && size <= 64 && !memchr(s, '"', size);
    if (!memchr(s, '"', size) && (st == CP_OK) != until_ok)
        abort();
    if (st == CP_OK) {
        size_t tl = 0;
        const char *x = core_batch_get_text(b, row, CP_TICKER_LAST, &tl);
        double want_n = 0;
        if (!core_decimal_parse(t, n, &want_n) || tl != n || memcmp(x, t, n) != 0 || memcmp(&d, &want_n, sizeof d) != 0)
            abort();
    }
    free(t);
    return 0;
}
