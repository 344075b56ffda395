#!/usr/bin/env bash
# Streamed order books and tickers (binance-spot, mode = "stream") against the local exchange of
# tests/ws_server/server.py: a local order book from the diff depth stream (<s>@depth@100ms) and
# REST snapshots, kept by Binance's update-id rules; the server leaves one update out (a sequence
# gap), the client resyncs from a new snapshot, and the book_level rows written then equal the
# server's book; the connection is cut, the book changes meanwhile, and after the reconnect the
# book is rebuilt from a new snapshot and its last rows equal the server's book again. 24-hour
# tickers (<s>@ticker) land in the ticker table as served.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/streaming.sh"
B=$COINPIPE_BIN

# levels SIDE [SEQUENCE]: "price:size ..." of the book_level rows written last (at update id
# SEQUENCE), best first
levels() {
    sq "$TMP/book.db" "SELECT group_concat(price || ':' || size, ' ') FROM (SELECT price, size FROM book_level
        WHERE side = '$1' AND ts = (SELECT max(ts) FROM book_level ${2:+WHERE sequence = $2}) ORDER BY level)"
}

serve depth
collect book '"book_level", "ticker", "book_top"' "" 'depth = 10; book_interval = "200ms";'
wait_for "[ \"\$(status depth phase_done)\" = 2 ]" 30 || fail "depth: the server's second connection did not end"
sleep 1.5 # more than a book_interval after the last update
stop; expect_eq "$(cat "$TMP/rc")" 0 "depth: coinpipe stops cleanly"
expect_eq "$(levels bid "$(status depth "extra['uid1']")")" \
    "$(status depth "' '.join('%s:%s' % tuple(x) for x in extra['book1']['bids'])")" \
    "depth: after the gap, the 10 best bids written at the first connection's last update are the server's"
expect_eq "$(levels ask "$(status depth "extra['uid1']")")" \
    "$(status depth "' '.join('%s:%s' % tuple(x) for x in extra['book1']['asks'])")" \
    "depth: after the gap, the 10 best asks written at the first connection's last update are the server's"
expect_eq "$(levels bid)" "$(status depth "' '.join('%s:%s' % tuple(x) for x in depth_book['bids'])")" \
    "depth: after the reconnect, the 10 best bids written last are the server's, level by level"
expect_eq "$(levels ask)" "$(status depth "' '.join('%s:%s' % tuple(x) for x in depth_book['asks'])")" \
    "depth: the 10 best asks written last are the server's, level by level"
expect_eq "$(sq "$TMP/book.db" "SELECT DISTINCT sequence FROM book_level WHERE ts = (SELECT max(ts) FROM book_level)")" \
    "$(status depth depth_uid)" "depth: the last book carries the server's last update id as its sequence"
expect_eq "$(sq "$TMP/book.db" "SELECT count(*) FROM book_level WHERE ts = (SELECT max(ts) FROM book_level)")" 20 \
    "depth: 10 levels a side"
expect_eq "$(status depth snapshots)" 3 "depth: one snapshot to start, one after the gap, one after the reconnect"
expect_contains "$TMP/book.err" "book: BTCUSDT depth update ids" "depth: the gap is logged with its update ids"
expect_contains "$TMP/book.err" "resync 1 from a new snapshot" "depth: the resync is logged and counted"
expect_contains "$TMP/book.err" "book_resyncs=1" "depth: one resync in the stream stats"
expect_eq "$(sq "$TMP/book.db" "SELECT count(*) FROM book_level WHERE level >= 10")" 0 "depth: no level past depth"
# every book written is ordered: bids descending, asks ascending, best bid under best ask
expect_eq "$(sq "$TMP/book.db" "SELECT count(*) FROM book_level a JOIN book_level b ON a.ts = b.ts AND a.side = b.side
    AND b.level = a.level + 1 WHERE (a.side = 'bid' AND CAST(b.price AS REAL) >= CAST(a.price AS REAL))
    OR (a.side = 'ask' AND CAST(b.price AS REAL) <= CAST(a.price AS REAL))")" 0 "depth: every written book is ordered"
expect_eq "$(sq "$TMP/book.db" "SELECT count(*) FROM book_level b JOIN book_level a ON a.ts = b.ts AND b.side = 'bid'
    AND a.side = 'ask' AND a.level = 0 AND b.level = 0 WHERE CAST(b.price AS REAL) >= CAST(a.price AS REAL)")" 0 \
    "depth: no crossed book is written"
# tickers: the last one as served (<s>@ticker fields c, b, x, n, C)
expect_eq "$(sq "$TMP/book.db" "SELECT count(*) FROM ticker")" 6 "ticker: one row per ticker event"
expect_eq "$(sq "$TMP/book.db" "SELECT last || ' ' || bid || ' ' || ask_size || ' ' || prev_close || ' ' || change_pct || ' ' ||
    vwap || ' ' || trade_count || ' ' || ts || ' ' || open_time FROM ticker ORDER BY ts DESC LIMIT 1")" \
    "42000.00 42001.00 2.5 41989.00 0.030 42005.10 5060 1704067200060 1703980800060" "ticker: the last ticker's values"
finish
