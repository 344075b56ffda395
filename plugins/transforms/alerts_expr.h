/* The alert rules' expression language: parser, checker and evaluator (used by alerts.c).
 * SPDX-License-Identifier: MIT
 *
 * Grammar (whitespace free between tokens):
 *   expr  := or
 *   or    := and { ("or" | "||") and }
 *   and   := not { ("and" | "&&") not }
 *   not   := ("not" | "!") not | cmp
 *   cmp   := sum [ (">" | ">=" | "<" | "<=" | "==" | "!=") sum ]
 *   sum   := prod { ("+" | "-") prod }
 *   prod  := unary { ("*" | "/") unary }
 *   unary := "-" unary | atom
 *   atom  := NUMBER | STREAM "." COLUMN | FUNC "(" args ")" | "(" expr ")" | "true" | "false"
 * Functions: change_pct(col, window), zscore(col, window), stale(STREAM, DURATION),
 *   candle_gap(ohlcv), abs(x), latest(STREAM.COLUMN, "series", ...). A window is a DURATION
 *   ("1h", "30m", "90s") or a count of rows. latest() reads the newest value of any pipeline's
 *   stream for the series named by string literals (the stream's text key columns in order:
 *   latest(ticker.last, "coinbase", "BTC-USD")); it does not count as the rule's stream.
 *
 * Numbers are exact where they can be: a decimal column's text and a number literal are read
 * into a 128-bit integer and a scale ("60000.00000000" = 6000000000000 x 10^-8), and +, -, *
 * and the comparisons work on those exactly ("60000" == "60000.00000000"; 0.1 + 0.2 == 0.3).
 * Division, functions and values too large for 38 digits fall back to doubles.
 *
 * A rule reads one stream (every column it names is of that stream); stale() names its stream.
 * Comparisons against NULL are NULL; a NULL result neither fires nor resolves a rule.
 */
#ifndef COINPIPE_ALERTS_EXPR_H
#define COINPIPE_ALERTS_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

__extension__ typedef __int128 ax_i128;

/** A value: NULL, a boolean, or a number (exact when `exact`, always with a double). */
typedef struct ax_value {
    enum { AX_NULL, AX_BOOL, AX_NUM } kind;
    bool b;
    bool exact;
    ax_i128 m; /* exact value = m x 10^-scale */
    int scale;
    double d;
} ax_value;

typedef struct ax_expr ax_expr;

/** Reads the column values of the row being evaluated. */
typedef struct ax_row {
    /* the value of column `col` (index into the stream's schema) of the current row */
    ax_value (*column)(void *user, int col);
    /* the age in ms of the newest row of the rule's stream for the current series, or -1 */
    int64_t (*age_ms)(void *user);
    /* the current row's time (ms) and, for candle_gap, the previous candle's open_time and the
     * interval in ms (-1 when not known) */
    int64_t row_ts;
    int64_t prev_open_time, interval_ms;
    /* latest(): the newest value of `column` of `stream` for the series, false when none (may be NULL) */
    bool (*latest)(void *user, const char *stream, const char *const *series, size_t nseries, const char *column,
                   double *value);
    void *user;
} ax_row;

/**
 * Parses `text`. `columns` are the names of the columns of each stream the rule may read:
 * lookup(stream, column) returns the column's index, -1 for an unknown column, -2 for an
 * unknown stream. On success returns the expression (free with ax_free); on error NULL with
 * a one-line reason in err and the byte offset of the offending token in *at.
 */
ax_expr *ax_parse(const char *text, int (*lookup)(void *user, const char *stream, const char *column, bool *decimal),
                  void *user, char *err, size_t errlen, size_t *at);
void ax_free(ax_expr *e);
/** The lookup for ax_parse over the data contract's catalog (coinpipe/streams.h); `user` unused. */
int ax_catalog_lookup(void *user, const char *stream, const char *column, bool *decimal);
/** The stream the expression reads (borrowed from the expression), or NULL for none. */
const char *ax_stream(const ax_expr *e);
/** True when the expression uses stale() (it is then evaluated without a new row). */
bool ax_uses_stale(const ax_expr *e);

/**
 * Evaluates the expression for one series (history functions keep one history per series, in
 * `hist`: pass the same pointer for the same series every time, NULL-initialised, and release
 * it with ax_history_free). `advance` false evaluates without recording the row (staleness
 * checks between rows). Returns the result; *lhs and *rhs (if not NULL) get the two sides of
 * the top comparison (AX_NULL when there is none).
 */
ax_value ax_eval(const ax_expr *e, const ax_row *row, void **hist, bool advance, ax_value *lhs, ax_value *rhs);
void ax_history_free(const ax_expr *e, void *hist);

/** Parses a decimal number ("-0.00012300", "42", "1.5e-7") into v; false when it is not one. */
bool ax_number(const char *text, size_t len, ax_value *v);
/** Writes a number as text (exact when exact); "" for NULL, "true"/"false" for booleans. */
void ax_format(const ax_value *v, char *out, size_t len);
/** Parses a duration ("250ms", "30s", "5m", "1h", "1d"); false when it is not one. */
bool ax_duration(const char *text, size_t len, int64_t *ms);

#endif /* COINPIPE_ALERTS_EXPR_H */
