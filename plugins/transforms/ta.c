/* Incremental technical indicators with TA-Lib's arithmetic (see ta.h).
 * SPDX-License-Identifier: MIT
 */
#include "ta.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TA-Lib's ta_utility.h (C 0.6): TA_EPSILON, TA_IS_ZERO, TA_IS_ZERO_OR_NEG, PER_TO_K */
#define TA_EPSILON (0.00000000000001)
#define TA_IS_ZERO(v) (((-TA_EPSILON) < (v)) && ((v) < TA_EPSILON))
#define TA_IS_ZERO_OR_NEG(v) ((v) < TA_EPSILON)
#define PER_TO_K(per) ((double)2.0 / ((double)((per) + 1)))

static const double fib_ratios[5] = {0.236, 0.382, 0.5, 0.618, 0.786};
static const char *const fib_names[5] = {"fib_236", "fib_382", "fib_500", "fib_618", "fib_786"};
static const char *const pivot_names[7] = {"pivot", "r1", "s1", "r2", "s2", "r3", "s3"};

struct ta_series {
    int64_t n;                    /* candles seen */
    uint32_t qmax_head, qmax_len; /* deque of candle indices whose highs decrease */
    uint32_t qmin_head, qmin_len; /* deque of candle indices whose lows increase */
    double d[];                   /* e->ndoubles persistent doubles, then the two deques (int64) */
};

void ta_config_default(ta_config *c)
{
    memset(c, 0, sizeof *c);
    c->nsma = c->nema = c->nrsi = c->natr = 1;
    c->sma[0] = 20;
    c->ema[0] = 20;
    c->rsi[0] = 14;
    c->atr[0] = 14;
    c->macd_fast = 12;
    c->macd_slow = 26;
    c->macd_signal = 9;
    c->bb_period = 20;
    c->bb_k = 2.0;
    c->pivots = true;
    c->fib_lookback = 20;
}

static int check_list(const char *what, const int *v, int n, int min, char *err, size_t errlen)
{
    if (n < 0 || n > TA_MAX_LIST) {
        snprintf(err, errlen, "%s: at most %d periods", what, TA_MAX_LIST);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (v[i] < min || v[i] > TA_MAX_PERIOD) {
            snprintf(err, errlen, "%s: period %d is out of range (%d to %d)", what, v[i], min, TA_MAX_PERIOD);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (v[j] == v[i]) {
                snprintf(err, errlen, "%s: period %d is given twice", what, v[i]);
                return -1;
            }
    }
    return 0;
}

static void add_col(ta_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_col(ta_engine *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->names[e->ncols++], TA_NAME_MAX, fmt, ap);
    va_end(ap);
}

static void add_list_cols(ta_engine *e, const char *prefix, const int *v, int n)
{
    for (int i = 0; i < n; i++)
        add_col(e, "%s_%d", prefix, v[i]);
}

/* Appends to the signature. */
static void sig(ta_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sig(ta_engine *e, const char *fmt, ...)
{
    size_t len = strlen(e->signature);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->signature + len, sizeof e->signature - len, fmt, ap);
    va_end(ap);
}

static void sig_list(ta_engine *e, const char *what, const int *v, int n)
{
    sig(e, "%s", what);
    for (int i = 0; i < n; i++)
        sig(e, "%s%d", i ? "," : "=", v[i]);
    sig(e, ";");
}

int ta_engine_init(ta_engine *e, const ta_config *c, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    if (check_list("sma", c->sma, c->nsma, 1, err, errlen) || check_list("ema", c->ema, c->nema, 1, err, errlen) ||
        check_list("rsi", c->rsi, c->nrsi, 2, err, errlen) || check_list("atr", c->atr, c->natr, 1, err, errlen))
        return -1;
    bool macd = c->macd_fast || c->macd_slow || c->macd_signal;
    if (macd && (c->macd_fast < 2 || c->macd_slow > TA_MAX_PERIOD || c->macd_fast > c->macd_slow ||
                 c->macd_signal < 1 || c->macd_signal > TA_MAX_PERIOD)) {
        snprintf(err, errlen, "macd: want [fast, slow, signal] with 2 <= fast <= slow <= %d and 1 <= signal <= %d",
                 TA_MAX_PERIOD, TA_MAX_PERIOD);
        return -1;
    }
    if (c->bb_period && (c->bb_period < 2 || c->bb_period > TA_MAX_PERIOD || !(c->bb_k >= 0.01 && c->bb_k <= 100))) {
        snprintf(err, errlen, "bbands: want [period, k] with 2 <= period <= %d and 0.01 <= k <= 100", TA_MAX_PERIOD);
        return -1;
    }
    if (c->fib_lookback < 0 || c->fib_lookback > TA_MAX_PERIOD) {
        snprintf(err, errlen, "fib_lookback: %d is out of range (0 to %d)", c->fib_lookback, TA_MAX_PERIOD);
        return -1;
    }
    e->cfg = *c;
    ta_config *g = &e->cfg;
    if (!macd)
        g->macd_fast = g->macd_slow = g->macd_signal = 0;
    if (!g->bb_period)
        g->bb_k = 0;

    /* columns, in docs/streams.md order; non-default parameters are appended to the name */
    add_list_cols(e, "sma", g->sma, g->nsma);
    add_list_cols(e, "ema", g->ema, g->nema);
    add_list_cols(e, "rsi", g->rsi, g->nrsi);
    if (macd) {
        char sfx[40] = "";
        if (g->macd_fast != 12 || g->macd_slow != 26 || g->macd_signal != 9)
            snprintf(sfx, sizeof sfx, "_%d_%d_%d", g->macd_fast, g->macd_slow, g->macd_signal);
        add_col(e, "macd%s", sfx);
        add_col(e, "macd_signal%s", sfx);
        add_col(e, "macd_hist%s", sfx);
    }
    if (g->bb_period) {
        char sfx[40] = "";
        if (g->bb_period != 20 || g->bb_k != 2.0) {
            int n = snprintf(sfx, sizeof sfx, "_%d_%.15g", g->bb_period, g->bb_k);
            for (int i = 1; i < n; i++)
                if (sfx[i] == '.')
                    sfx[i] = '_';
        }
        add_col(e, "bb_upper%s", sfx);
        add_col(e, "bb_middle%s", sfx);
        add_col(e, "bb_lower%s", sfx);
    }
    add_list_cols(e, "atr", g->atr, g->natr);
    if (g->pivots)
        for (int i = 0; i < 7; i++)
            add_col(e, "%s", pivot_names[i]);
    if (g->fib_lookback)
        for (int i = 0; i < 5; i++) {
            if (g->fib_lookback == 20)
                add_col(e, "%s", fib_names[i]);
            else
                add_col(e, "%s_%d", fib_names[i], g->fib_lookback);
        }

    sig_list(e, "sma", g->sma, g->nsma);
    sig_list(e, "ema", g->ema, g->nema);
    sig_list(e, "rsi", g->rsi, g->nrsi);
    sig_list(e, "atr", g->atr, g->natr);
    sig(e, "macd=%d,%d,%d;bb=%d,%.17g;pivots=%d;fib=%d", g->macd_fast, g->macd_slow, g->macd_signal, g->bb_period,
        g->bb_k, g->pivots ? 1 : 0, g->fib_lookback);

    /* layout */
    size_t rc = (size_t)g->bb_period;
    for (int i = 0; i < g->nsma; i++)
        if ((size_t)g->sma[i] > rc)
            rc = (size_t)g->sma[i];
    e->rc = rc;
    e->rf = (size_t)g->fib_lookback;
    size_t off = 0;
    e->off_close = off, off += e->rc;
    e->off_high = off, off += e->rf;
    e->off_low = off, off += e->rf;
    e->off_sma = off, off += (size_t)g->nsma;
    e->off_ema = off, off += (size_t)g->nema;
    e->off_rsi = off, off += 2 * (size_t)g->nrsi;
    e->off_atr = off, off += (size_t)g->natr;
    e->off_macd = off, off += 3;
    e->off_bb = off, off += 2;
    e->off_prev = off, off += 3;
    e->ndoubles = off;
    e->size = sizeof(ta_series) + e->ndoubles * sizeof(double) + 2 * e->rf * sizeof(int64_t);
    return 0;
}

size_t ta_series_size(const ta_engine *e) { return e->size; }

ta_series *ta_series_new(const ta_engine *e) { return calloc(1, e->size); }

int64_t ta_series_count(const ta_series *s) { return s->n; }

static int64_t *qmax_of(const ta_engine *e, ta_series *s) { return (int64_t *)(s->d + e->ndoubles); }
static int64_t *qmin_of(const ta_engine *e, ta_series *s) { return (int64_t *)(s->d + e->ndoubles) + e->rf; }

/* Sliding-window extreme over the last rf candles with a monotonic deque of candle indices:
 * amortised O(1). `vals` is the ring of the window's values; `greater` picks max or min. */
static int64_t window_push(int64_t *q, uint32_t *head, uint32_t *len, size_t rf, const double *vals, int64_t i,
                           bool greater)
{
    if (*len && q[*head] <= i - (int64_t)rf) { /* the oldest index left the window */
        *head = (uint32_t)((*head + 1) % rf);
        (*len)--;
    }
    double v = vals[i % (int64_t)rf];
    while (*len) {
        double back = vals[q[(*head + *len - 1) % rf] % (int64_t)rf];
        if (greater ? back > v : back < v)
            break;
        (*len)--;
    }
    q[(*head + *len) % rf] = i;
    (*len)++;
    return q[*head];
}

void ta_update(const ta_engine *e, ta_series *s, double high, double low, double close, double *out)
{
    const ta_config *g = &e->cfg;
    double *d = s->d;
    const int64_t i = s->n;
    size_t col = 0;
    double *ring = d + e->off_close;
    if (e->rc)
        ring[i % (int64_t)e->rc] = close;
    const double prev_high = d[e->off_prev], prev_low = d[e->off_prev + 1], prev_close = d[e->off_prev + 2];

    /* SMA, TA-Lib ta_SMA.c: add the newest, output, subtract the oldest */
    for (int k = 0; k < g->nsma; k++) {
        const int p = g->sma[k];
        double *sum = d + e->off_sma + k;
        *sum += close;
        if (i >= p - 1) {
            double t = *sum;
            *sum -= ring[(i - p + 1) % (int64_t)e->rc];
            out[col++] = t / p;
        } else {
            out[col++] = NAN;
        }
    }

    /* EMA, ta_EMA.c: seeded with the SMA of the first p closes */
    for (int k = 0; k < g->nema; k++) {
        const int p = g->ema[k];
        double *v = d + e->off_ema + k;
        if (i < p) {
            *v += close;
            if (i == p - 1)
                *v = *v / p;
        } else {
            *v = ((close - *v) * PER_TO_K(p)) + *v;
        }
        out[col++] = i >= p - 1 ? *v : NAN;
    }

    /* RSI, ta_RSI.c: Wilder smoothing of average gain and loss, first value at index p */
    for (int k = 0; k < g->nrsi; k++) {
        const int p = g->rsi[k];
        double *gain = d + e->off_rsi + 2 * k, *loss = gain + 1;
        double r = NAN;
        if (i > 0) {
            double diff = close - prev_close;
            if (i > p) {
                *loss *= (p - 1);
                *gain *= (p - 1);
            }
            if (diff < 0)
                *loss -= diff;
            else
                *gain += diff;
            if (i >= p) {
                *loss /= p;
                *gain /= p;
                double t = *gain + *loss;
                r = !TA_IS_ZERO(t) ? 100.0 * (*gain / t) : 0.0;
            }
        }
        out[col++] = r;
    }

    /* MACD, ta_MACD.c: both EMAs start at index slow-1, the fast one seeded with the mean of
     * closes [slow-fast, slow-1]; the signal is an EMA of the MACD line; all three columns
     * appear at index slow+signal-2 (33 for 12/26/9). */
    if (g->macd_slow) {
        const int f = g->macd_fast, sl = g->macd_slow, sg = g->macd_signal;
        double *fast = d + e->off_macd, *slow = fast + 1, *signal = fast + 2;
        if (i < sl) {
            *slow += close;
            if (i >= sl - f)
                *fast += close;
            if (i == sl - 1) {
                *slow = *slow / sl;
                *fast = *fast / f;
            }
        } else {
            *slow = ((close - *slow) * PER_TO_K(sl)) + *slow;
            *fast = ((close - *fast) * PER_TO_K(f)) + *fast;
        }
        double m = NAN, sgl = NAN, hist = NAN;
        if (i >= sl - 1) {
            double line = *fast - *slow;
            int64_t j = i - (sl - 1); /* index in the MACD line */
            if (j < sg) {
                *signal += line;
                if (j == sg - 1)
                    *signal = *signal / sg;
            } else {
                *signal = ((line - *signal) * PER_TO_K(sg)) + *signal;
            }
            if (j >= sg - 1) {
                m = line;
                sgl = *signal;
                hist = line - *signal;
            }
        }
        out[col++] = m;
        out[col++] = sgl;
        out[col++] = hist;
    }

    /* Bollinger bands, ta_BBANDS.c with an SMA middle band and the population standard
     * deviation of ta_STDDEV.c's INT_stddev_using_precalc_ma (mean of squares minus square
     * of the mean, clamped to 0 below TA_EPSILON) */
    if (g->bb_period) {
        const int p = g->bb_period;
        double *sum = d + e->off_bb, *sq = sum + 1;
        *sum += close;
        double t = close;
        t *= t;
        *sq += t;
        if (i >= p - 1) {
            double oldest = ring[(i - p + 1) % (int64_t)e->rc];
            double mid = *sum;
            *sum -= oldest;
            mid = mid / p;
            double mean2 = *sq / p;
            t = oldest;
            t *= t;
            *sq -= t;
            t = mid;
            t *= t;
            mean2 -= t;
            double sd = !TA_IS_ZERO_OR_NEG(mean2) ? sqrt(mean2) : 0.0;
            double w = g->bb_k == 1.0 ? sd : sd * g->bb_k;
            out[col++] = mid + w;
            out[col++] = mid;
            out[col++] = mid - w;
        } else {
            out[col++] = NAN;
            out[col++] = NAN;
            out[col++] = NAN;
        }
    }

    /* ATR, ta_ATR.c over ta_TRANGE.c: the first value (index p) is the mean of the first p
     * true ranges, then Wilder smoothing */
    if (g->natr) {
        double tr = NAN;
        if (i > 0) {
            tr = high - low;
            double v2 = fabs(prev_close - high);
            if (v2 > tr)
                tr = v2;
            double v3 = fabs(prev_close - low);
            if (v3 > tr)
                tr = v3;
        }
        for (int k = 0; k < g->natr; k++) {
            const int p = g->atr[k];
            double *v = d + e->off_atr + k;
            double r = NAN;
            if (p == 1) {
                r = tr;
            } else if (i > 0 && i <= p) {
                *v += tr;
                if (i == p) {
                    *v = *v / p;
                    r = *v;
                }
            } else if (i > p) {
                *v *= p - 1;
                *v += tr;
                *v /= p;
                r = *v;
            }
            out[col++] = r;
        }
    }

    /* classic floor pivots from the previous candle */
    if (g->pivots) {
        if (i > 0) {
            double pp = (prev_high + prev_low + prev_close) / 3.0, range = prev_high - prev_low;
            out[col++] = pp;
            out[col++] = 2.0 * pp - prev_low;
            out[col++] = 2.0 * pp - prev_high;
            out[col++] = pp + range;
            out[col++] = pp - range;
            out[col++] = prev_high + 2.0 * (pp - prev_low);
            out[col++] = prev_low - 2.0 * (prev_high - pp);
        } else {
            for (int k = 0; k < 7; k++)
                out[col++] = NAN;
        }
    }

    /* Fibonacci retracements of the high-low range of the last fib_lookback candles */
    if (e->rf) {
        double *hs = d + e->off_high, *ls = d + e->off_low;
        hs[i % (int64_t)e->rf] = high;
        ls[i % (int64_t)e->rf] = low;
        int64_t imax = window_push(qmax_of(e, s), &s->qmax_head, &s->qmax_len, e->rf, hs, i, true);
        int64_t imin = window_push(qmin_of(e, s), &s->qmin_head, &s->qmin_len, e->rf, ls, i, false);
        if (i >= (int64_t)e->rf - 1) {
            double hi = hs[imax % (int64_t)e->rf], lo = ls[imin % (int64_t)e->rf];
            for (int k = 0; k < 5; k++)
                out[col++] = hi - fib_ratios[k] * (hi - lo);
        } else {
            for (int k = 0; k < 5; k++)
                out[col++] = NAN;
        }
    }

    d[e->off_prev] = high;
    d[e->off_prev + 1] = low;
    d[e->off_prev + 2] = close;
    s->n = i + 1;
}

size_t ta_series_format(const ta_engine *e, const ta_series *s, char *buf, size_t cap)
{
    size_t len = 0;
    int n = snprintf(buf, cap, "%" PRId64, s->n);
    len += n > 0 ? (size_t)n : 0;
    for (size_t k = 0; k < e->ndoubles; k++) {
        double v = s->d[k];
        n = v == 0 ? snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, " 0")
                   : snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, " %.17g", v);
        len += n > 0 ? (size_t)n : 0;
    }
    return len;
}

const char *ta_series_parse(const ta_engine *e, ta_series *s, const char *text)
{
    memset(s, 0, e->size);
    char *end;
    long long n = strtoll(text, &end, 10);
    if (end == text || n < 0)
        return NULL;
    s->n = n;
    for (size_t k = 0; k < e->ndoubles; k++) {
        const char *p = end;
        s->d[k] = strtod(p, &end);
        if (end == p || !isfinite(s->d[k]))
            return NULL;
    }
    /* the deques are a function of the window: rebuild them */
    if (e->rf) {
        int64_t from = s->n > (int64_t)e->rf ? s->n - (int64_t)e->rf : 0;
        for (int64_t j = from; j < s->n; j++) {
            window_push(qmax_of(e, s), &s->qmax_head, &s->qmax_len, e->rf, s->d + e->off_high, j, true);
            window_push(qmin_of(e, s), &s->qmin_head, &s->qmin_len, e->rf, s->d + e->off_low, j, false);
        }
    }
    return end;
}
