/* libFuzzer target for the CoinGecko response parsers (coins/markets, simple/price, global, coins/{id}, market_chart/range), chosen by FUZZ_COINGECKO_PARSER.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

#include "../../plugins/sources/coingecko.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_ctx *ctx = fuzz_ctx();
    json_object *root = fuzz_json(ctx, data, size);
    if (!root)
        return 0;
    int64_t at = 1700000000000LL;
#if FUZZ_COINGECKO_PARSER == 0
    size_t count;
    cp_batch *b = fuzz_batch(ctx, &cp_market_schema);
    cg_parse_markets(ctx, root, "usd", at, 250, false, b, &count);
#elif FUZZ_COINGECKO_PARSER == 1
    static char *vs[] = {"usd", "eur", "btc"};
    const cp_strlist l = {3, vs};
    cp_batch *b = fuzz_batch(ctx, &cp_spot_price_schema);
    cg_parse_simple(ctx, root, &l, at, b);
#elif FUZZ_COINGECKO_PARSER == 2
    cp_batch *b = fuzz_batch(ctx, &cp_global_schema);
    cg_parse_global(ctx, root, at, b);
#elif FUZZ_COINGECKO_PARSER == 3
    cp_batch *b = fuzz_batch(ctx, &cp_coin_schema);
    cg_parse_coin(ctx, root, "bitcoin", at, b);
#else
    cp_batch *b = fuzz_batch(ctx, size % 2 ? &cp_spot_price_schema : &cp_market_schema);
    cg_parse_chart(ctx, root, "bitcoin", "usd", INT64_MIN, INT64_MAX, at, b);
#endif
    fuzz_drain(ctx, b);
    json_object_put(root);
    return 0;
}
