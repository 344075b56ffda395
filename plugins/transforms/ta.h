/* Incremental technical indicators, bit-for-bit TA-Lib's arithmetic, one candle at a time.
 * SPDX-License-Identifier: MIT
 *
 * Pure math, no coinpipe API: the indicators plugin, its tests and the bench use it.
 *
 * A ta_engine holds the configuration (which indicators, which parameters) and the column
 * layout; a ta_series holds the state of one candle series in one flat allocation of
 * ta_series_size() bytes, so it can be copied with memcpy (a provisional update of a still
 * open candle works on a copy). ta_update() costs O(1) per indicator (the Fibonacci window
 * uses monotonic deques: amortised O(1)).
 *
 * Every indicator repeats TA-Lib's operations in TA-Lib's order (TA-Lib C 0.6: ta_SMA.c,
 * ta_EMA.c, ta_RSI.c, ta_MACD.c, ta_BBANDS.c with ta_STDDEV.c's precalc-MA variance,
 * ta_ATR.c, ta_TRANGE.c), so on the same input series the values are the same doubles
 * TA-Lib computes when it is called once over the whole series from index 0. That includes
 * TA-Lib's quirks: MACD seeds its fast EMA with the mean of closes [slow-fast, slow-1]
 * (not [0, fast-1]), RSI is 0 when the average gain and loss are both zero, and the
 * Bollinger variance is clamped to 0 below 1e-14.
 */
#ifndef COINPIPE_TA_H
#define COINPIPE_TA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TA_MAX_LIST 8       /* periods per list option (sma, ema, rsi, atr) */
#define TA_MAX_PERIOD 1000  /* largest accepted period / lookback */
#define TA_MAX_COLS (4 * TA_MAX_LIST + 3 + 3 + 7 + 5)
#define TA_NAME_MAX 40

typedef struct ta_config {
    int nsma, nema, nrsi, natr;
    int sma[TA_MAX_LIST], ema[TA_MAX_LIST], rsi[TA_MAX_LIST], atr[TA_MAX_LIST];
    int macd_fast, macd_slow, macd_signal; /* all 0: no MACD */
    int bb_period;                         /* 0: no Bollinger bands */
    double bb_k;                           /* band width in standard deviations */
    bool pivots;
    int fib_lookback;                      /* 0: no Fibonacci levels */
} ta_config;

/* The default set of docs/streams.md (sma 20, ema 20, rsi 14, macd 12/26/9, bbands 20/2, atr 14,
 * pivots, fib 20). */
void ta_config_default(ta_config *c);

typedef struct ta_engine {
    ta_config cfg;
    size_t ncols;
    char names[TA_MAX_COLS][TA_NAME_MAX]; /* column names, docs/streams.md rule */
    char signature[256];                  /* identifies the configuration in saved state */
    /* layout of a series block (offsets in doubles / int64s from the block's arrays) */
    size_t rc, rf;                        /* close ring size, high/low ring size */
    size_t ndoubles;                      /* persistent doubles */
    size_t size;                          /* bytes of a series block */
    size_t off_close, off_high, off_low, off_sma, off_ema, off_rsi, off_atr, off_macd, off_bb, off_prev;
} ta_engine;

/* Validates `c` and computes names and layout. Returns 0, or -1 with a reason in err. */
int ta_engine_init(ta_engine *e, const ta_config *c, char *err, size_t errlen);

typedef struct ta_series ta_series;

/* Bytes of one series block (copy it with memcpy). */
size_t ta_series_size(const ta_engine *e);
/* Allocates a fresh series (no candles yet); NULL when out of memory. Free with free(). */
ta_series *ta_series_new(const ta_engine *e);
/* Number of candles the series has seen. */
int64_t ta_series_count(const ta_series *s);

/* Feeds the next candle and writes ncols values to out (NAN where the lookback is not filled). */
void ta_update(const ta_engine *e, ta_series *s, double high, double low, double close, double *out);

/* Appends the series state as text ("<count> <double> ..." with %.17g, exact) to buf; returns
 * the length it needs (like snprintf: nothing beyond cap is written). */
size_t ta_series_format(const ta_engine *e, const ta_series *s, char *buf, size_t cap);
/* Restores a series from text written by ta_series_format for the same engine. Returns a
 * pointer past the parsed text, or NULL when malformed (s is then undefined: reset it). */
const char *ta_series_parse(const ta_engine *e, ta_series *s, const char *text);

#endif
