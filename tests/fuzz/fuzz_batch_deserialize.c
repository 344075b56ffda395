/* libFuzzer target for core_batch_deserialize, the spool record decoder: no crash, and what decodes re-encodes stably, also when decoded into the batch it decoded before.
 * SPDX-License-Identifier: MIT
 *
 * Both payload layouts go through it: the compact one ("CPB2") and v1, of earlier releases'
 * spools. With FUZZ_WRITE_SEED=FILE set, LLVMFuzzerInitialize writes a serialized sample batch
 * (a ticker with decimals, NULLs, strings, in the compact layout) there: tools/run-fuzz.sh uses
 * it as a seed, with the v1 payloads of tests/fixtures/spool/v1-payloads.seg.
 */
#include "fuzz.h"

#include "core/batch.h"

#include <stdio.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void write_seed(const char *path)
{
    cp_ctx *ctx = fuzz_ctx();
    cp_batch *b = fuzz_batch(ctx, &cp_ticker_schema);
    for (int i = 0; i < 3; i++) {
        size_t r = cp_batch_add_row(ctx, b);
        cp_batch_set_string(ctx, b, r, CP_TICKER_EXCHANGE, "binance", 7);
        cp_batch_set_string(ctx, b, r, CP_TICKER_SYMBOL, "BTC-USDT", 8);
        cp_batch_set_int(ctx, b, r, CP_TICKER_TS, 1700000000000LL + i);
        cp_batch_set_decimal(ctx, b, r, CP_TICKER_LAST, "-0.00012300", 11);
        cp_batch_set_int(ctx, b, r, CP_TICKER_TRADE_COUNT, 76 * i);
    }
    cp_buf out = {0};
    if (core_batch_serialize(b, &out) == CP_OK) {
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(out.p, 1, out.len, f);
            fclose(f);
        }
    }
    cp_buf_free(&out);
    cp_batch_free(ctx, b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seed = getenv("FUZZ_WRITE_SEED");
    if (seed && *seed)
        write_seed(seed);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_batch *b = NULL;
    /* what the spool reads back after the checksum: decimals unchecked, still memory-safe, and
     * the checked decoder accepts a subset of it */
    cp_status unchecked = core_batch_deserialize_checked(data, size, false, &b);
    for (size_t r = 0; b && r < core_batch_rows(b); r++) /* any bytes in a decimal's text: read all */
        for (size_t k = 0; k < core_batch_schema(b)->nfields; k++) {
            size_t len = 0;
            const char *t = core_batch_get_text(b, r, k, &len);
            if (t && t[len] != '\0')
                abort();
            (void)core_batch_get_double(b, r, k);
            (void)core_batch_get_int(b, r, k);
        }
    core_batch_unref(b);
    b = NULL;
    if (core_batch_deserialize(data, size, &b) != CP_OK)
        return 0;
    if (unchecked != CP_OK)
        abort();
    fuzz_drain_cells(b, false);
    cp_buf one = {0}, two = {0};
    cp_batch *c = NULL;
    if (core_batch_serialize(b, &one) != CP_OK || core_batch_deserialize(one.p, one.len, &c) != CP_OK ||
        core_batch_serialize(c, &two) != CP_OK || one.len != two.len || memcmp(one.p, two.p, one.len) != 0)
        abort(); /* a record that decodes must survive a re-encode unchanged */
    /* and every cell comes back: a DECIMAL's double too when it was computed from the text (a
     * v1 payload carries any 8 bytes there) */
    bool compact = size >= 4 && memcmp(data, "CPB2", 4) == 0;
    const cp_schema *sc = core_batch_schema(b);
    for (size_t r = 0; r < core_batch_rows(b); r++)
        for (size_t k = 0; k < sc->nfields; k++) {
            size_t n1 = 0, n2 = 0;
            const char *t1 = core_batch_get_text(b, r, k, &n1), *t2 = core_batch_get_text(c, r, k, &n2);
            double d1 = core_batch_get_double(b, r, k), d2 = core_batch_get_double(c, r, k);
            if (core_batch_is_null(b, r, k) != core_batch_is_null(c, r, k) || (t1 == NULL) != (t2 == NULL) ||
                (t1 && (n1 != n2 || memcmp(t1, t2, n1) != 0)) ||
                ((sc->fields[k].type != CP_T_DECIMAL || compact) && memcmp(&d1, &d2, sizeof d1) != 0) ||
                (sc->fields[k].type != CP_T_DECIMAL && core_batch_get_int(b, r, k) != core_batch_get_int(c, r, k)))
                abort();
        }
    /* decoded again into c itself, as the sink refills the batch it read back before: the same
     * batch, the same bytes once re-encoded */
    cp_batch *d = NULL;
    if (core_batch_deserialize_into(one.p, one.len, false, c, &d) != CP_OK || d != c)
        abort();
    cp_buf_reset(&two);
    if (core_batch_serialize(d, &two) != CP_OK || one.len != two.len || memcmp(one.p, two.p, one.len) != 0)
        abort();
    cp_buf_free(&one);
    cp_buf_free(&two);
    core_batch_unref(b);
    core_batch_unref(d);
    return 0;
}
