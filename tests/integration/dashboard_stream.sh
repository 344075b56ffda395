#!/usr/bin/env bash
# Large reads of the dashboard's API are streamed (issue 15's 100,000 candles): 30,000 stored 1m
# candles come back as a chunked answer whose every row and column equals SQLite's, the same by
# HTTP/1.0 (no chunks: the connection ends it), by /api/v1/rows and from 12 clients at once (more
# than the reads that get a thread of their own); a small answer keeps its Content-Length; HEAD
# sends no body; clients that leave in the middle of an answer leave the daemon serving; errors
# stay 4xx/5xx JSON; SIGTERM during a slow read exits 0.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
command -v curl > /dev/null || { echo "SKIP: curl is not installed"; exit 77; }
start_mock
port=$(free_port)
api="http://127.0.0.1:$port"
cat > "$TMP/c.conf" <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; http_listen = "127.0.0.1:$port"; shutdown_timeout = "20s"; };
pipelines = ( { name = "b"; interval = "1d"; run_at_start = false;
   source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT"]; streams = ["ohlcv"];
              kline_interval = "1m"; };
   sinks = ( { plugin = "sqlite"; path = "$TMP/c.db"; } ); } );
CONF
# 30,000 closed candles: 2024-01-01T00:00Z + 500 h
"$COINPIPE_BIN" backfill --pipeline b -c "$TMP/c.conf" --from 2024-01-01 --to 2024-01-21T20:00:00Z \
    > /dev/null 2> "$TMP/backfill.err" || { fail "backfill"; cat "$TMP/backfill.err" >&2; }
export COINPIPE_WEB_DIR="$COINPIPE_SRC/web"
"$COINPIPE_BIN" -c "$TMP/c.conf" > /dev/null 2> "$TMP/err" &
pid=$!
PIDS+=("$pid")
wait_port "$port" 20 || { fail "no listener"; cat "$TMP/err" >&2; finish; exit 1; }
q="exchange=binance&symbol=BTC-USDT&interval=1m"

# compare FILE: every candle of the answer equals the stored row, column by column, in order
compare() {
    python3 - "$TMP/c.db" "$1" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cur = db.execute("SELECT * FROM ohlcv WHERE exchange='binance' AND symbol='BTC-USDT' AND interval='1m' ORDER BY open_time")
cols = [d[0] for d in cur.description]
stored = [dict(zip(cols, r)) for r in cur.fetchall()]
got = json.load(open(sys.argv[2]))
same = len(stored) == len(got) and all(list(g.keys()) == cols and g == s for g, s in zip(got, stored))
print(len(stored), len(got), "equal" if same and stored else "DIFFERENT")
PY
}
curl -s -D "$TMP/h_big" -o "$TMP/big.json" "$api/api/v1/candles?$q&limit=100000"
expect_eq "$(compare "$TMP/big.json")" "30000 30000 equal" "30,000 streamed candles equal the stored rows"
expect_contains "$TMP/h_big" "Transfer-Encoding: chunked" "a large answer is streamed in chunks"
expect_contains "$TMP/h_big" "Content-Type: application/json" "a streamed answer is JSON"
curl -s -0 -D "$TMP/h_10" -o "$TMP/http10.json" "$api/api/v1/candles?$q&limit=100000"
expect_eq "$(compare "$TMP/http10.json")" "30000 30000 equal" "the same by HTTP/1.0 (ended by the connection)"
expect_not_contains "$TMP/h_10" "chunked" "no chunks for HTTP/1.0"
curl -s -o "$TMP/rows.json" "$api/api/v1/rows?stream=ohlcv&$q"
cmp -s "$TMP/rows.json" "$TMP/big.json" && pass "/api/v1/rows streams the same bytes" || fail "/api/v1/rows differs"
curl -s -D "$TMP/h_small" -o "$TMP/small.json" "$api/api/v1/candles?$q&limit=3"
expect_contains "$TMP/h_small" "Content-Length: " "a small answer is sent whole with its length"
expect_eq "$(grep -c open_time "$TMP/small.json")" 3 "limit 3: the newest 3"
tail -c 400 "$TMP/big.json" | grep -qF "$(tail -c 200 "$TMP/small.json")" && pass "the newest 3 end the long answer" \
    || fail "the newest 3 are not the long answer's last"
head_code=$(curl -s -I -o "$TMP/h_head" -w '%{http_code}' "$api/api/v1/candles?$q&limit=100000")
expect_eq "$head_code" 200 "HEAD answers 200"
expect_not_contains "$TMP/h_head" "open_time" "HEAD sends no body"

# 12 at once: 8 on threads of their own, the rest on the listener's thread; all equal
for i in $(seq 1 12); do curl -s -o "$TMP/par$i.json" "$api/api/v1/candles?$q&limit=100000" & done
wait $(jobs -p | grep -v "^$pid$" | grep -v "^$MOCK$") 2> /dev/null
same=0
for i in $(seq 1 12); do cmp -s "$TMP/par$i.json" "$TMP/big.json" && same=$((same + 1)); done
expect_eq "$same" 12 "12 clients at once get the same answer"

# clients that leave after the first bytes, 20 at once: the daemon stops their reads and serves on
python3 - "$port" "$q" <<'PY'
import socket, sys, threading
def leave():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(("GET /api/v1/candles?%s&limit=100000 HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[2]).encode())
    got = 0
    while got < 100000:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    s.close()
t = [threading.Thread(target=leave) for _ in range(20)]
[x.start() for x in t]
[x.join() for x in t]
PY
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$api/health")" 200 "after clients left mid-answer /health answers"
curl -s -o "$TMP/after.json" "$api/api/v1/candles?$q&limit=100000"
cmp -s "$TMP/after.json" "$TMP/big.json" && pass "and a full read still equals" || fail "a read after clients left differs"

# errors are whole JSON answers with their status
code=$(curl -s -o "$TMP/e1" -w '%{http_code}' "$api/api/v1/candles?$q&limit=100001")
expect_eq "$code" 400 "limit over 100000: 400"
expect_contains "$TMP/e1" '{"error":"limit is 1 to 100000"}' "with the reason"
code=$(curl -s -o "$TMP/e2" -w '%{http_code}' "$api/api/v1/candles?$q&pipeline=nope")
expect_eq "$code" 404 "an unknown pipeline: 404"
expect_contains "$TMP/e2" "no pipeline of that name" "with the reason"
expect_eq "$(curl -s "$api/api/v1/candles?exchange=binance&symbol=NOPE&interval=1m")" "[]" "no such series: []"

# SIGTERM while a slow client reads: the read ends, the daemon exits 0
curl -s --limit-rate 200k -o /dev/null "$api/api/v1/candles?$q&limit=100000" &
slow=$!
sleep 1
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" 0 "SIGTERM during a slow streamed read exits 0"
wait "$slow" 2> /dev/null
expect_not_contains "$TMP/err" "ERROR" "no error logged"
finish
