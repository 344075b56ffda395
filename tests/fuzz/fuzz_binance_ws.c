/* libFuzzer target for the Binance stream mode's message path: WebSocket text messages as the combined streams bring them.
 * SPDX-License-Identifier: MIT
 *
 * The first input byte picks spot (even) or USD-M futures (odd); the rest is cut at newlines into
 * messages fed in order to the stream's parser (common/binance_ws.c): trades and aggregate trades
 * with their id checks, klines, book tickers, 24-hour tickers, mark prices, forced orders, SUBSCRIBE
 * replies and errors, and depth updates applied to a local book seeded with one level a side at
 * update id 100. A gap's REST repair or snapshot goes to an HTTP service that fails, as an API that
 * is down would. Every row left in the stream's batches is read back cell by cell; key columns are
 * never NULL. Seeds: tests/fixtures/binance_ws/.
 */
#include "fuzz.h"

#include "common/binance.h"

static const bn_api spot = {"binance", "/api/v3", false};
static const bn_api fut = {"binance-futures", "/fapi/v1", true};
static bn_sym syms[] = {{"BTCUSDT", "BTC-USDT"}, {"ETHBTC", "ETH-BTC"}};

static cp_status no_http(cp_ctx *ctx, const cp_http_request *reqs, cp_http_response *resps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&resps[i], 0, sizeof resps[i]);
        resps[i].status = CP_ERR_IO;
        snprintf(resps[i].error, sizeof resps[i].error, "connection refused");
    }
    return CP_ERR_IO;
}

static void no_count(cp_ctx *ctx, cp_stream_event ev, uint64_t n) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cp_host host;
    static bn_cfg cfg = {.depth = 5, .kline_interval = "1m"};
    static bn b = {.cfg = &cfg, .interval_ms = 60000, .n = 2, .sym = syms, .resolved = true,
                   .base = "http://127.0.0.1:9"};
    cp_ctx *ctx = fuzz_ctx();
    if (ctx->host != &host) {
        host = *ctx->host;
        host.http_perform = no_http;
        host.stream_count = no_count;
        ctx->host = &host;
    }
    if (size == 0)
        return 0;
    b.api = data[0] & 1 ? &fut : &spot;
    for (size_t k = 0; k < BN_ST_COUNT; k++)
        b.want[k] = k != BN_ST_OI && (b.api->futures || (k != BN_ST_FUNDING && k != BN_ST_LIQ));
    bn_live *lv = bn_live_new(&b, ctx);
    if (!lv || !bn_live_book(lv, 0, 100, "42000.10", "1.5", "42000.20", "2.5"))
        abort();
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        char *msg = malloc(len ? len : 1); /* exactly the message: reading past it is caught */
        if (!msg)
            abort();
        memcpy(msg, p, len);
        bn_live_message(lv, msg, len);
        free(msg);
        p += len + 1;
    }
    for (size_t k = 0; k < BN_ST_COUNT; k++) {
        cp_batch *out = bn_live_rows(lv, k);
        if (out)
            fuzz_drain_cells(out, true);
    }
    bn_live_free(lv);
    return 0;
}
