#!/usr/bin/env bash
# The dashboard's JSON API against a SQLite pipeline fed by the mock exchange: /api/v1/candles
# returns exactly the stored candles, /api/v1/latest the newest rows, a restarted daemon serves
# the stored latest rows before its first cycle, the live stream delivers a new row within a
# second of the sink's commit, bad requests get a 400 with a reason, files outside web/ are not
# served, and no response carries the token.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
command -v curl > /dev/null || { echo "SKIP: curl is not installed"; exit 77; }
start_mock
port=$(free_port)
api="http://127.0.0.1:$port"
token="tok-$RANDOM-$RANDOM"
conf() { # conf RUN_AT_START
    cat <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; http_listen = "127.0.0.1:$port";
           http_auth_token = "$token"; shutdown_timeout = "10s"; };
pipelines = (
 { name = "spot"; interval = "1s"; run_at_start = $1;
   source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT", "ETHBTC"];
              streams = ["ticker", "book_top", "ohlcv", "trade"]; kline_interval = "1h"; };
   transforms = ( { plugin = "spread"; } );
   sinks = ( { plugin = "sqlite"; path = "$TMP/c.db"; } ); }
);
CONF
}
export COINPIPE_WEB_DIR="$COINPIPE_SRC/web"
conf true > "$TMP/c.conf"
"$COINPIPE_BIN" -c "$TMP/c.conf" > /dev/null 2> "$TMP/err" &
pid=$!
PIDS+=("$pid")
wait_port "$port" 20 || { fail "no listener"; cat "$TMP/err" >&2; finish; exit 1; }
expect_contains "$TMP/err" "dashboard on http://127.0.0.1:$port/" "the dashboard's URL is logged"
get() { curl -s -H "Authorization: Bearer $token" "$api$1"; }
wait_for "[ \"\$(get '/api/v1/latest?stream=ticker' | grep -c BTC-USDT)\" -ge 1 ]" 20 \
    && pass "latest rows appear" || fail "no latest ticker"
sleep 1.5

get "/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1h" > "$TMP/candles.json"
get "/api/v1/latest?stream=ticker" > "$TMP/latest.json"
python3 - "$TMP/c.db" "$TMP/candles.json" "$TMP/latest.json" > "$TMP/cmp" 2>&1 <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
stored = db.execute("SELECT open_time, open, high, low, close, volume, trade_count FROM ohlcv WHERE exchange='binance' "
                    "AND symbol='BTC-USDT' AND interval='1h' ORDER BY open_time").fetchall()
got = [(c["open_time"], c["open"], c["high"], c["low"], c["close"], c["volume"], c["trade_count"])
       for c in json.load(open(sys.argv[2]))]
print("candles", len(stored), len(got), "equal" if stored == got and stored else "DIFFERENT")
last = db.execute("SELECT last FROM ticker WHERE symbol='BTC-USDT' ORDER BY ts DESC LIMIT 1").fetchone()[0]
rows = [r for r in json.load(open(sys.argv[3])) if r["row"]["symbol"] == "BTC-USDT"]
print("latest", len(rows), "equal" if rows and rows[0]["row"]["last"] == last else "DIFFERENT %r %r" % (rows, last))
PY
expect_contains "$TMP/cmp" "equal" "candles compared"
grep -q "^candles .* equal$" "$TMP/cmp" && pass "/api/v1/candles returns exactly the stored candles ($(head -1 "$TMP/cmp"))" \
    || fail "candles differ: $(cat "$TMP/cmp")"
grep -q "^latest 1 equal$" "$TMP/cmp" && pass "/api/v1/latest has the stored last price" || fail "latest: $(cat "$TMP/cmp")"

# a window and a limit
first=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c[0]["open_time"], c[2]["open_time"], c[-1]["open_time"])' "$TMP/candles.json")
set -- $first
n=$(get "/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1h&from=$1&to=$2" | grep -c open_time)
expect_eq "$n" 2 "from/to select [from, to)"
get "/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1h&limit=3" > "$TMP/l3"
expect_eq "$(grep -c open_time "$TMP/l3")" 3 "limit 3 returns 3 candles"
expect_contains "$TMP/l3" "\"open_time\":$3," "limit keeps the newest"

# bad requests
for q in "candles?exchange=binance&symbol=BTC-USDT" "candles?exchange=binance&symbol=BTC-USDT&interval=1h&limit=0" \
    "candles?exchange=binance&symbol=BTC-USDT&interval=1h&from=yesterday" "rows?stream=nope&exchange=x" "latest?after=-1"; do
    code=$(curl -s -o "$TMP/bad" -w '%{http_code}' -H "Authorization: Bearer $token" "$api/api/v1/$q")
    [ "$code" = 400 ] && grep -q '{"error":' "$TMP/bad" && pass "400 with a reason: $q ($(cat "$TMP/bad"))" || fail "$q: $code $(cat "$TMP/bad")"
done
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$api/assets/..%2f..%2fetc%2fpasswd")" 404 "no file outside web/"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$api/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1h")" 401 "the API needs the token"

# the pipelines' health
get "/api/v1/pipelines" > "$TMP/pl.json"
python3 - "$TMP/pl.json" > "$TMP/pl" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["pipelines"][0]
s = d["sinks"][0]
print(p["name"], p["schedule"], p["cycles"] > 0, p["rows"] > 0, p["next_cycle"] > p["last_cycle"],
      s["sink"], s["rows_written"] > 0, "queued" in s and "spool_bytes" in s and "dead_lettered" in s,
      d["hosts"][0]["requests"] > 0)
PY
expect_eq "$(cat "$TMP/pl")" "spot 1s True True True sqlite True True True" "/api/v1/pipelines reports schedule, cycles, rows, sinks, hosts"

# live: a new row reaches a client within a second of the sink's commit
seq=$(get "/api/v1/latest" | python3 -c 'import json,sys; print(max(r["seq"] for r in json.load(sys.stdin)))')
# a client that notes when each line arrives, while it watches the SQLite file for the moment
# each spread row becomes visible there (committed): both in wall-clock ms
python3 - "$port" "$token" "$seq" "$TMP/c.db" > "$TMP/events" 2> "$TMP/client.err" <<'PY'
import socket, sqlite3, sys, time
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[4], uri=True)
seen = set()
def watch():
    now = int(time.time() * 1000)
    for sym, ts in db.execute("SELECT symbol, ts FROM spread"):
        if (sym, ts) not in seen:
            seen.add((sym, ts))
            print(now, "committed", sym, ts)
watch()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(("GET /api/v1/events?after=%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
           % (sys.argv[3], sys.argv[2])).encode())
s.settimeout(0.02)
buf, end = b"", time.time() + 3.5
while time.time() < end:
    watch()
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        break
    now = int(time.time() * 1000)
    buf += chunk
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        print(now, line.decode(errors="replace").rstrip("\r"))
end = time.time() + 1.5  # the commits of rows already sent
while time.time() < end:
    watch()
    time.sleep(0.02)
PY
expect_contains "$TMP/events" "event: rows" "the live stream sends rows"
python3 - "$TMP/events" "$TMP/c.db" > "$TMP/lag" 2>&1 <<'PY'
import json, sys, sqlite3
rows, sent, committed, initial = [], {}, {}, set()
first = True
for line in open(sys.argv[1]):
    at, _, text = line.rstrip("\n").partition(" ")
    if text.startswith("committed "):
        _, sym, ts = text.split()
        committed.setdefault((sym, int(ts)), int(at))
        if first:  # committed before the client connected
            initial.add((sym, int(ts)))
    elif text.startswith("data: "):  # the body is chunked: chunk sizes are lines of their own
        first = False
        for r in json.loads(text[6:]):
            rows.append(r)
            if r["stream"] == "spread":
                sent.setdefault((r["row"]["symbol"], r["row"]["ts"]), int(at))
    elif text:
        first = False
lags = [sent[k] - committed[k] for k in sent if k in committed and k not in initial]
t = [r for r in rows if r["stream"] == "ticker" and r["row"]["symbol"] == "BTC-USDT"]
db = sqlite3.connect(sys.argv[2])
ts = t[-1]["ts"] if t else None
stored = db.execute("SELECT count(*) FROM ticker WHERE symbol='BTC-USDT' AND ts = ?", (ts,)).fetchone()[0] if t else 0
print("live", len(t) > 0, stored)
print("lag", len(lags), max(lags) if lags else -99999)
PY
expect_eq "$(head -1 "$TMP/lag")" "live True 1" "a new ticker row arrives live and is the stored one"
read -r _ nlag maxlag < <(sed -n 2p "$TMP/lag")
[ "$nlag" -gt 0 ] && [ "$maxlag" -gt -99999 ] && [ "$maxlag" -lt 1000 ] \
    && pass "live rows reach the client within a second of their commit ($nlag rows; sent at most $maxlag ms after the commit was visible, negative: before)" \
    || fail "live lag: $(tr '\n' ' ' < "$TMP/lag")"
all_responses="$TMP/candles.json $TMP/latest.json $TMP/pl.json $TMP/events"
cat $all_responses | grep -qF "$token" && fail "a response carries the token" || pass "no response carries the token"
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" 0 "SIGTERM with live clients exits 0"

# a restart serves the stored latest rows before its first cycle
conf false > "$TMP/c.conf"
sed -i 's/interval = "1s"/interval = "1d"/' "$TMP/c.conf"
"$COINPIPE_BIN" -c "$TMP/c.conf" > /dev/null 2> "$TMP/err2" &
pid=$!
PIDS+=("$pid")
wait_port "$port" 20
get "/api/v1/latest?stream=ticker&symbol=BTC-USDT" > "$TMP/seeded"
expect_contains "$TMP/seeded" '"symbol":"BTC-USDT"' "after a restart the latest rows come from the store"
expect_eq "$(get "/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1h" | grep -c open_time)" \
    "$(grep -c open_time "$TMP/candles.json")" "after a restart the candles come from the store"
# a page that was open across the restart resumes with a sequence of the old run: it gets everything
curl -s -N --max-time 2 -H "Authorization: Bearer $token" -H "Last-Event-ID: $((seq + 1000000))" "$api/api/v1/events" > "$TMP/events2"
expect_contains "$TMP/events2" '"symbol":"BTC-USDT"' "a reconnect with an earlier run's sequence gets the stored rows"
kill -TERM "$pid"
wait "$pid"
finish
