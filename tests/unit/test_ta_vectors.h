/* Reader of the TA-Lib reference vectors (tests/fixtures/talib/vectors.csv) for the tests and bench.
 * SPDX-License-Identifier: MIT
 *
 * Header-only. The CSV: '#' comment lines, a header, then one row per candle:
 * symbol,interval,open_time,open,high,low,close,volume,<indicator columns...>; an empty
 * indicator cell means TA-Lib gave no value there (NAN here).
 */
#ifndef COINPIPE_TEST_TA_VECTORS_H
#define COINPIPE_TEST_TA_VECTORS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TV_MAXCOLS 40
#define TV_TEXT 32

typedef struct tv_row {
    char symbol[TV_TEXT], interval[TV_TEXT];
    int64_t open_time;
    char open[TV_TEXT], high[TV_TEXT], low[TV_TEXT], close[TV_TEXT], volume[TV_TEXT];
    double v[TV_MAXCOLS]; /* indicator values, NAN = none */
} tv_row;

typedef struct tv_set {
    size_t nrows, ncols;
    char names[TV_MAXCOLS][TV_TEXT];
    tv_row *rows;
} tv_set;

/* Path of the committed vectors: $COINPIPE_SRC/tests/fixtures/talib/vectors.csv, or `fallback`. */
static inline const char *tv_default_path(const char *fallback)
{
    static char path[4096];
    const char *src = getenv("COINPIPE_SRC");
    if (!src)
        return fallback;
    snprintf(path, sizeof path, "%s/tests/fixtures/talib/vectors.csv", src);
    return path;
}

static inline void tv_copy(char *dst, const char *s, size_t n)
{
    if (n >= TV_TEXT)
        n = TV_TEXT - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Loads the vectors; returns 0 or -1 (message on stderr). Free with tv_free. */
static inline int tv_load(const char *path, tv_set *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char line[4096];
    size_t cap = 0;
    bool header = false;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        if (!header) {
            header = true;
            size_t col = 0;
            for (char *p = line, *tok; (tok = strsep(&p, ",")); col++)
                if (col >= 8 && col - 8 < TV_MAXCOLS)
                    tv_copy(out->names[out->ncols++], tok, strlen(tok));
            continue;
        }
        if (out->nrows == cap) {
            cap = cap ? cap * 2 : 1024;
            tv_row *r = realloc(out->rows, cap * sizeof *r);
            if (!r) {
                fclose(f);
                return -1;
            }
            out->rows = r;
        }
        tv_row *r = &out->rows[out->nrows++];
        size_t col = 0;
        for (char *p = line, *tok; (tok = strsep(&p, ",")); col++) {
            size_t n = strlen(tok);
            switch (col) {
            case 0: tv_copy(r->symbol, tok, n); break;
            case 1: tv_copy(r->interval, tok, n); break;
            case 2: r->open_time = strtoll(tok, NULL, 10); break;
            case 3: tv_copy(r->open, tok, n); break;
            case 4: tv_copy(r->high, tok, n); break;
            case 5: tv_copy(r->low, tok, n); break;
            case 6: tv_copy(r->close, tok, n); break;
            case 7: tv_copy(r->volume, tok, n); break;
            default:
                if (col - 8 < TV_MAXCOLS)
                    r->v[col - 8] = n ? strtod(tok, NULL) : NAN;
            }
        }
    }
    fclose(f);
    return out->nrows ? 0 : -1;
}

static inline void tv_free(tv_set *s)
{
    free(s->rows);
    memset(s, 0, sizeof *s);
}

/* Index of column `name` among the indicator columns, or -1. */
static inline int tv_col(const tv_set *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Relative error of `got` against TA-Lib's `want`. Values that are zero up to rounding (a
 * MACD of -2.8e-17 on a flat run) are compared against `scale` (the candle's close) instead,
 * so a difference of a few ulps of the price never counts as a huge relative error. Two NANs
 * agree; one NAN is an error of INFINITY. */
static inline double tv_relerr(double got, double want, double scale)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want) ? 0 : INFINITY;
    double denom = fabs(want);
    if (denom < fabs(scale) * 1e-6)
        denom = fabs(scale) * 1e-6;
    if (denom == 0)
        return got == want ? 0 : INFINITY;
    return fabs(got - want) / denom;
}

#endif
