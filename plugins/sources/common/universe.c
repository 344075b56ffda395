/* A dynamic universe for the exchange sources: the rule, its ranking, the changes logged (see universe.h).
 * SPDX-License-Identifier: MIT
 */
#include "universe.h"
#include "srcutil.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const su_universe_sources[] = {"exchange", "coingecko", NULL};

/* "top:N" → N (1..1000), else 0 */
static size_t parse_rule(const char *s)
{
    if (strncmp(s, "top:", 4) != 0)
        return 0;
    char *end;
    long n = strtol(s + 4, &end, 10);
    return s[4] >= '0' && s[4] <= '9' && *end == 0 && n >= 1 && n <= 1000 ? (size_t)n : 0;
}

size_t su_universe_rule(const cp_strlist *symbols)
{
    return symbols->n == 1 ? parse_rule(symbols->v[0]) : 0;
}

bool su_universe_check(cp_check *chk, const cp_strlist *symbols, const su_universe_cfg *u, const char *exchange)
{
    bool any = false, ok = true;
    for (size_t i = 0; i < symbols->n; i++) {
        if (strncmp(symbols->v[i], "top", 3) != 0 || (symbols->v[i][3] != ':' && symbols->v[i][3] != 0))
            continue;
        any = true;
        if (!parse_rule(symbols->v[i])) {
            cp_check_error(chk, "symbols", "\"%s\" is not a rule: write \"top:N\" with N from 1 to 1000",
                           symbols->v[i]);
            ok = false;
        }
    }
    if (!any)
        return true;
    if (symbols->n > 1) {
        cp_check_error(chk, "symbols", "a rule such as \"top:50\" stands alone: it cannot be mixed with symbols");
        return false;
    }
    if (!u->quote || !*u->quote) {
        cp_check_error(chk, "universe_quote", "the rule needs the quote asset of its pairs, e.g. \"USDT\"");
        ok = false;
    }
    if (!ok)
        return false;
    bool gecko = u->source && strcmp(u->source, "coingecko") == 0;
    char minv[96] = "";
    if (u->min_volume > 0)
        snprintf(minv, sizeof minv, ", leaving out pairs under %.15g %s of 24 h volume", u->min_volume, u->quote);
    char every[32];
    int64_t r = u->refresh;
    if (r % 86400000 == 0)
        snprintf(every, sizeof every, "%lldd", (long long)(r / 86400000));
    else if (r % 3600000 == 0)
        snprintf(every, sizeof every, "%lldh", (long long)(r / 3600000));
    else if (r % 60000 == 0)
        snprintf(every, sizeof every, "%lldm", (long long)(r / 60000));
    else
        snprintf(every, sizeof every, "%llds", (long long)(r / 1000));
    cp_check_note(chk, "symbols",
                  "\"%s\" collects the %zu %s pairs quoted in %s %s%s; resolved at the first cycle and again every %s "
                  "(universe_refresh), each change logged as \"universe: added ...; removed ...\"",
                  symbols->v[0], parse_rule(symbols->v[0]), exchange, u->quote,
                  gecko ? "whose base assets rank highest by market cap at CoinGecko (universe_source = coingecko)"
                        : "with the largest 24 h volume on the exchange itself (universe_source = exchange)",
                  minv, every);
    return true;
}

bool su_universe_due(const su_universe *u, int64_t now) { return !u->resolved || now >= u->next_ms; }

typedef struct ranked_cand {
    const su_cand *c;
    double score;
} ranked_cand;

static int by_score(const void *a, const void *b)
{
    const ranked_cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->c->native, y->c->native); /* stable for equal volumes */
}

/* position of `base` (the symbol's part before '-') in ranked, or SIZE_MAX */
static size_t rank_of(const char *symbol, const char *const *ranked, size_t n)
{
    const char *dash = strchr(symbol, '-');
    size_t len = dash ? (size_t)(dash - symbol) : strlen(symbol);
    for (size_t i = 0; i < n; i++)
        if (strlen(ranked[i]) == len && strncmp(ranked[i], symbol, len) == 0)
            return i;
    return SIZE_MAX;
}

static bool in_set(char *const *set, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], s) == 0)
            return true;
    return false;
}

/* "A, B, C" of the entries of `a` (symbols) not in `b` (natives of b_nat...), into buf */
static void list_missing(cp_buf *out, char *const *a_sym, char *const *a_nat, size_t na, char *const *b_nat, size_t nb)
{
    for (size_t i = 0; i < na; i++)
        if (!in_set(b_nat, nb, a_nat[i]))
            cp_buf_printf(out, "%s%s", out->len ? ", " : "", a_sym[i]);
}

bool su_universe_update(cp_ctx *ctx, su_universe *u, const su_universe_cfg *cfg, size_t top, su_cand *cands,
                        size_t ncands, const char *const *ranked, size_t n_ranked, int64_t now)
{
    u->next_ms = now + cfg->refresh;
    ranked_cand *rc = calloc(ncands ? ncands : 1, sizeof *rc);
    if (!rc) {
        cp_log_error(ctx, "universe: out of memory; the set stays as it was");
        return false;
    }
    size_t k = 0;
    for (size_t i = 0; i < ncands; i++) {
        double v = cands[i].volume;
        if (cfg->min_volume > 0 && !(v >= cfg->min_volume))
            continue; /* under the minimum, or volume unknown */
        double score = v;
        if (ranked) {
            size_t r = rank_of(cands[i].symbol, ranked, n_ranked);
            if (r == SIZE_MAX)
                continue; /* not among CoinGecko's ranked coins */
            score = (double)(n_ranked - r);
        } else if (isnan(v)) {
            continue;
        }
        rc[k++] = (ranked_cand){&cands[i], score};
    }
    qsort(rc, k, sizeof *rc, by_score);
    if (k > top)
        k = top;
    char **nat = calloc(k ? k : 1, sizeof *nat), **sym = calloc(k ? k : 1, sizeof *sym);
    bool ok = nat && sym;
    for (size_t i = 0; ok && i < k; i++)
        ok = (nat[i] = strdup(rc[i].c->native)) && (sym[i] = strdup(rc[i].c->symbol));
    free(rc);
    if (!ok) {
        for (size_t i = 0; nat && sym && i < k; i++)
            free(nat[i]), free(sym[i]);
        free(nat);
        free(sym);
        cp_log_error(ctx, "universe: out of memory; the set stays as it was");
        return false;
    }
    cp_buf added = {0}, removed = {0};
    list_missing(&added, sym, nat, k, u->native, u->n);
    list_missing(&removed, u->symbol, u->native, u->n, nat, k);
    bool changed = added.len || removed.len || !u->resolved;
    const char *how = ranked ? "CoinGecko market-cap rank" : "24 h volume";
    if (changed)
        cp_log_info(ctx, "universe: %zu of top %zu by %s in %s: added %s; removed %s", k, top, how, cfg->quote,
                    added.len ? added.p : "none", removed.len ? removed.p : "none");
    else
        cp_log_debug(ctx, "universe: unchanged (%zu pairs)", k);
    if (k == 0)
        cp_log_warn(ctx, "universe: no pair quoted in %s qualifies%s; nothing is collected until one does",
                    cfg->quote, cfg->min_volume > 0 ? " (see universe_min_volume)" : "");
    cp_buf_free(&added);
    cp_buf_free(&removed);
    for (size_t i = 0; i < u->n; i++)
        free(u->native[i]), free(u->symbol[i]);
    free(u->native);
    free(u->symbol);
    u->native = nat, u->symbol = sym, u->n = k;
    u->resolved = true;
    return changed;
}

cp_status su_universe_resolve(cp_ctx *ctx, su_universe *u, const su_universe_cfg *cfg, size_t top, cp_status st,
                              su_cand *cands, size_t ncands, int64_t now, bool *changed)
{
    char **ranked = NULL;
    size_t nranked = 0;
    *changed = false;
    bool gecko = cfg->source && strcmp(cfg->source, "coingecko") == 0;
    if (st == CP_OK && gecko)
        st = su_universe_coingecko(ctx, cfg->coingecko_url, 250, &ranked, &nranked);
    if (st == CP_OK)
        *changed = su_universe_update(ctx, u, cfg, top, cands, ncands, gecko ? (const char *const *)ranked : NULL,
                                      nranked, now);
    su_universe_free_list(ranked, nranked);
    if (st != CP_OK) {
        u->next_ms = now + cfg->refresh; /* the old set stays until the next refresh */
        cp_log_error(ctx, "universe: cannot resolve \"top:%zu\" (%s)%s", top, cp_strerror(st),
                     u->resolved ? "; the current set stays" : "");
    }
    return u->resolved ? CP_OK : st;
}

cp_status su_universe_coingecko(cp_ctx *ctx, const char *url, size_t want, char ***out, size_t *n)
{
    *out = NULL, *n = 0;
    char *root = su_base_root(url, "/api/v3");
    if (!root)
        return CP_ERR_NOMEM;
    char u[1200];
    snprintf(u, sizeof u, "%s/api/v3/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=%zu&page=1", root,
             want > 250 ? (size_t)250 : want);
    free(root);
    cp_http_request rq = CP_HTTP_REQUEST(.url = u);
    cp_http_response rs;
    cp_http_perform(ctx, &rq, &rs, 1);
    cp_status st = su_check(ctx, "universe: coins/markets", &rs);
    json_object *arr = st == CP_OK ? su_parse(ctx, "universe: coins/markets", &rs) : NULL;
    cp_http_response_clear(ctx, &rs);
    if (st == CP_OK && !json_object_is_type(arr, json_type_array))
        st = CP_ERR_PARSE;
    size_t len = st == CP_OK ? json_object_array_length(arr) : 0;
    char **list = st == CP_OK ? calloc(len ? len : 1, sizeof *list) : NULL;
    if (st == CP_OK && !list)
        st = CP_ERR_NOMEM;
    for (size_t i = 0; st == CP_OK && i < len; i++) {
        json_object *s = su_get(json_object_array_get_idx(arr, i), "symbol");
        if (!json_object_is_type(s, json_type_string))
            continue;
        char *c = strdup(json_object_get_string(s));
        if (!c) {
            st = CP_ERR_NOMEM;
            break;
        }
        for (char *p = c; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        list[(*n)++] = c;
    }
    json_object_put(arr);
    if (st != CP_OK) {
        su_universe_free_list(list, *n);
        *n = 0;
        cp_log_error(ctx, "universe: cannot read CoinGecko's ranking from %s (%s); the set stays as it was", u,
                     cp_strerror(st));
        return st;
    }
    *out = list;
    return CP_OK;
}

void su_universe_free_list(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

void su_universe_free(su_universe *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->native[i]), free(u->symbol[i]);
    free(u->native);
    free(u->symbol);
    memset(u, 0, sizeof *u);
}
