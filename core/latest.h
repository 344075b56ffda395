/* The latest-rows table: the newest row per stream and series, for the API and for rules.
 * SPDX-License-Identifier: MIT
 */
#ifndef COINPIPE_CORE_LATEST_H
#define COINPIPE_CORE_LATEST_H

#include <coinpipe/buf.h>
#include <coinpipe/coinpipe.h>

/* The newest row per stream and series (the stream's text key
 * columns but trade_id: ticker (exchange, symbol), ohlcv (exchange, symbol, interval), market
 * (source, coin_id, vs_currency)), by the row's time (first timestamp key column, else `ts`).
 * All thread-safe; the table copies what it keeps.
 * core_latest_update: the runtime calls it for every batch on its way to the sinks (after the
 *   transforms); b is borrowed. Out of memory drops the update silently (the table is a view).
 * core_latest_json: appends a JSON array of the stored rows of `stream` (NULL: all) whose
 *   "symbol" is `symbol` (NULL: any) changed after sequence `after_seq` (0: all), each
 *   {"pipeline","stream","seq","ts","row":{column: value}} (decimals as JSON numbers in their
 *   exact text, timestamps in UTC ms); stores the table's current sequence in *seq (if not
 *   NULL); returns how many rows it wrote.
 * core_latest_number: the value of `column` in the newest row of `stream` whose series values
 *   are series[0..nseries) in the order of the stream's key columns (e.g. {"binance",
 *   "BTC-USDT"} for ticker, {"binance", "BTC-USDT", "1h"} for ohlcv), as a double, and that
 *   row's time (INT64_MIN: none) in *ts if not NULL; false when no such row, or the column is
 *   absent, NULL or not a number.
 * core_latest_count: how many stored series of `stream` have "field":"value" in their newest
 *   row (text values; e.g. the alert series whose newest state is "firing").
 * core_latest_seq: the sequence of the last change (grows; 0 = empty table).
 * core_latest_put_value: appends cell (r, c) of b as a JSON value (the rendering above).
 * core_latest_series: appends a JSON array with one object per stored series, its stream and
 *   series columns ({"stream":"ohlcv","exchange":"binance","symbol":"BTC-USDT","interval":"1h"});
 *   returns how many.
 * core_latest_schema: a copy of the first schema seen of `stream` (valid until
 *   core_latest_reset), or NULL when none passed yet.
 * core_latest_reset: empties the table (tests). */
void core_latest_update(const char *pipeline, const cp_batch *b);
size_t core_latest_json(cp_buf *out, const char *stream, const char *symbol, uint64_t after_seq, uint64_t *seq);
bool core_latest_number(const char *stream, const char *const *series, size_t nseries, const char *column,
                        double *value, int64_t *ts);
uint64_t core_latest_seq(void);
size_t core_latest_count(const char *stream, const char *field, const char *value);
size_t core_latest_series(cp_buf *out);
const cp_schema *core_latest_schema(const char *stream);
void core_latest_put_value(cp_buf *out, const cp_batch *b, size_t r, size_t c);
void core_latest_reset(void);

#endif /* COINPIPE_CORE_LATEST_H */
