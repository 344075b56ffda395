/* A dynamic universe for the exchange sources: symbols = ["top:50"] instead of a list.
 * SPDX-License-Identifier: MIT
 *
 * The rule names the N most active pairs quoted in `universe_quote`, ranked by the exchange's own
 * 24-hour quote volume (universe_source = "exchange") or by CoinGecko's market-cap ranking of
 * their base assets (universe_source = "coingecko", /api/v3/coins/markets), pairs under
 * `universe_min_volume` left out. A source resolves it at its first cycle and again every
 * `universe_refresh`; every change is logged at info level ("universe: added SOL-USD; removed
 * ETH-USD"), and the rows follow the new set from that cycle on. The source supplies the
 * candidates (its pairs with their quote asset and volume); this file ranks them, keeps the
 * current set, logs the changes and schedules the refreshes. Compiled into each source.
 */
#ifndef COINPIPE_SRC_UNIVERSE_H
#define COINPIPE_SRC_UNIVERSE_H

#include <coinpipe/coinpipe.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The universe options, in a source's config struct. */
typedef struct su_universe_cfg {
    char *quote;         /* universe_quote: the quote asset of the pairs, normalized (USDT, USD) */
    double min_volume;   /* universe_min_volume: 24 h quote volume below which a pair is left out */
    int64_t refresh;     /* universe_refresh (ms) */
    char *source;        /* universe_source: exchange | coingecko */
    char *coingecko_url; /* universe_coingecko_url: CoinGecko's host root */
} su_universe_cfg;

/* The option table entries of the universe, for a config struct T with a su_universe_cfg member
 * m; quote_def is the default quote asset as config text ("\"USDT\""). */
#define SU_UNIVERSE_OPTIONS(T, m, quote_def)                                                                     \
    {.name = "universe_quote", .type = CP_OPT_STRING, .def = quote_def, .offset = offsetof(T, m.quote),           \
     .doc = "With symbols = [\"top:N\"]: the quote asset of the pairs chosen."},                                   \
    {.name = "universe_min_volume", .type = CP_OPT_DOUBLE, .def = "0", .min = 0, .max = 1e18,                      \
     .offset = offsetof(T, m.min_volume),                                                                          \
     .doc = "With symbols = [\"top:N\"]: leave out pairs whose 24 h volume in the quote asset is below this."},    \
    {.name = "universe_refresh", .type = CP_OPT_DURATION, .def = "\"1h\"", .min = 1000, .max = 30 * 86400000.0,    \
     .offset = offsetof(T, m.refresh), .doc = "With symbols = [\"top:N\"]: how often the set is resolved again."}, \
    {.name = "universe_source", .type = CP_OPT_ENUM, .def = "\"exchange\"", .offset = offsetof(T, m.source),       \
     .choices = su_universe_sources,                                                                               \
     .doc = "With symbols = [\"top:N\"]: rank by the exchange's own 24 h volume or by CoinGecko's market cap."},   \
    {.name = "universe_coingecko_url", .type = CP_OPT_STRING, .def = "\"https://api.coingecko.com\"",              \
     .offset = offsetof(T, m.coingecko_url),                                                                       \
     .doc = "With universe_source = coingecko: CoinGecko's host root (the plugin appends /api/v3)."}

extern const char *const su_universe_sources[];

/* N of a rule symbols = ["top:N"] (1..1000), or 0 when the list is not a rule. */
size_t su_universe_rule(const cp_strlist *symbols);

/* The check callback's part: refuses a malformed rule ("top:0", "top:x", a rule beside other
 * symbols) and a quote that is empty; notes in words what the rule will collect (`exchange` as
 * users know it, `unit` what the volume is counted in, e.g. "24 h volume in the quote asset").
 * Returns false when it reported a problem. Nothing when symbols is an ordinary list. */
bool su_universe_check(cp_check *chk, const cp_strlist *symbols, const su_universe_cfg *u, const char *exchange);

/* A pair the exchange lists, as the source offers it. */
typedef struct su_cand {
    const char *native; /* the exchange's id (XXBTZUSD, BTCUSDT, BTC-USD) */
    const char *symbol; /* normalized BASE-QUOTE */
    double volume;      /* 24 h volume in the quote asset; NaN when unknown */
} su_cand;

/* The current set and when to resolve it again. */
typedef struct su_universe {
    size_t n;
    char **native, **symbol; /* the chosen pairs, best first */
    int64_t next_ms;         /* when it is due again (0: at the first cycle) */
    bool resolved;           /* resolved at least once */
} su_universe;

/* Whether the set is due for (re)resolution at `now`. */
bool su_universe_due(const su_universe *u, int64_t now);

/* Ranks `cands` (those quoted in the rule's quote asset: the caller filters) into the top `top` of
 * the rule: by volume (exchange), or by the CoinGecko rank of their base asset (`ranked`, upper-case
 * base symbols best first, n_ranked of them; NULL for the exchange's volume), pairs under
 * min_volume left out. Replaces the set when it differs and logs what was added and removed.
 * Schedules the next refresh `refresh` ms after now. Returns true when the set changed; false
 * when it stayed or out of memory (logged; the old set stays). */
bool su_universe_update(cp_ctx *ctx, su_universe *u, const su_universe_cfg *cfg, size_t top, su_cand *cands,
                        size_t ncands, const char *const *ranked, size_t n_ranked, int64_t now);

/* The end of a source's resolution, given the status `st` of fetching its candidates: with CP_OK
 * ranks them (asking CoinGecko's ranking first when universe_source = coingecko) and updates the
 * set (su_universe_update; *changed says whether it changed); otherwise, or when that fails, keeps
 * the old set until the next refresh and logs why. Returns CP_OK when a set is usable (the old one
 * included), else why not. */
cp_status su_universe_resolve(cp_ctx *ctx, su_universe *u, const su_universe_cfg *cfg, size_t top, cp_status st,
                              su_cand *cands, size_t ncands, int64_t now, bool *changed);

/* The base assets of CoinGecko's top `want` coins by market cap (upper-case symbols, best first),
 * from <url>/api/v3/coins/markets?vs_currency=usd&order=market_cap_desc. *out is malloc'd with its
 * strings; free with su_universe_free_list. CP_OK or why not (logged). */
cp_status su_universe_coingecko(cp_ctx *ctx, const char *url, size_t want, char ***out, size_t *n);
void su_universe_free_list(char **list, size_t n);

/* Frees the set. */
void su_universe_free(su_universe *u);

#endif
