#!/usr/bin/env bash
# The dashboard in a real browser: Debian's headless chromium, driven by puppeteer-core, opens
# the page of a coinpipe whose SQLite pipeline is fed by the mock exchange. The page shows the
# stored last price, its chart holds the stored candle count, a new row appears without a
# reload, every request stays on coinpipe's own address, and screenshots are kept in
# <build>/tests/artifacts/.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { fail "$chromium is missing (tools/deps-debian.txt lists chromium)"; finish; exit 1; }
command -v node > /dev/null || { fail "node is missing"; finish; exit 1; }
services="$COINPIPE_SRC/tests/services"
if [ ! -d "$services/node_modules/puppeteer-core" ]; then
    (cd "$services" && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; }) >&2 \
        || { fail "npm could not install puppeteer-core"; finish; exit 1; }
fi
start_mock
port=$(free_port)
token="tok-$RANDOM$RANDOM"
cat > "$TMP/c.conf" <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; http_listen = "127.0.0.1:$port";
           http_auth_token = "$token"; shutdown_timeout = "10s"; };
pipelines = (
 { name = "spot"; interval = "1s";
   source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT", "ETHBTC", "BNBBTC"];
              streams = ["ticker", "book_top", "ohlcv", "trade"]; kline_interval = "1h"; };
   transforms = ( { plugin = "spread"; }, { plugin = "indicators"; },
                  { plugin = "alerts"; rules = ( { name = "btc-above-one"; when = "ticker.last > 1"; symbols = ["BTC-USDT"]; } ); } );
   sinks = ( { plugin = "sqlite"; path = "$TMP/c.db"; } ); }
);
CONF
"$COINPIPE_BIN" -c "$TMP/c.conf" > /dev/null 2> "$TMP/err" &
pid=$!
PIDS+=("$pid")
wait_port "$port" 20 || { fail "no listener"; cat "$TMP/err" >&2; finish; exit 1; }
wait_for "[ -s $TMP/c.db ] && python3 -c 'import sqlite3,sys; sys.exit(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from ticker\").fetchone()[0] < 1)' $TMP/c.db 2>/dev/null" 20 \
    || { fail "nothing stored"; cat "$TMP/err" >&2; finish; exit 1; }
shots="$COINPIPE_BUILD/tests/artifacts"
mkdir -p "$shots"
timeout 90 node "$COINPIPE_SRC/tests/integration/dashboard_browser.cjs" "http://127.0.0.1:$port/?access_token=$token" \
    "$shots" binance BTC-USDT > "$TMP/page.json" 2> "$TMP/node.err"
cat "$TMP/node.err" >&2
python3 - "$TMP/page.json" "$TMP/c.db" "$port" > "$TMP/verdict" 2>&1 <<'PY'
import json, sqlite3, sys
p = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
db = sqlite3.connect(sys.argv[2])
last = db.execute("SELECT last FROM ticker WHERE exchange='binance' AND symbol='BTC-USDT' ORDER BY ts DESC LIMIT 1").fetchone()[0]
n = db.execute("SELECT count(*) FROM ohlcv WHERE exchange='binance' AND symbol='BTC-USDT' AND interval='1h'").fetchone()[0]
ts = set()
for t in ("ticker", "book_top", "spread", "trade"):
    ts |= {r[0] for r in db.execute(f"SELECT ts FROM {t} WHERE exchange='binance' AND symbol='BTC-USDT'")}
def say(ok, what):
    print(("ok " if ok else "FAIL ") + what)
say(not p["errors"], "no page errors: %r" % p["errors"])
shown = p["first"]["text"].replace(",", "").replace("\u202f", "").replace(" ", "")
say(float(p["first"]["last"]) == float(last) and float(shown) == float(last), "the page shows the stored last price (%s, stored %s, shown \"%s\")" % (p["first"]["last"], last, p["first"]["text"]))
say(p["candles"] == n and n > 0, "the chart holds the stored candle count (%s of %s)" % (p["candles"], n))
live = p.get("live")
say(bool(live) and p["still_same_page"], "a new row appears without a reload (%s -> %s)" % (p["first"]["ts"], live and live["ts"]))
say(bool(live) and live["ts"] in ts, "the live row's time is a stored row's time")
say(p["live_rows"] > 0, "rows arrived over the event stream (%d)" % p["live_rows"])
say(all(u.startswith("http://127.0.0.1:%s/" % sys.argv[3]) for u in p["requests"]) and p["requests"],
    "every request goes to coinpipe itself (%d requests)" % len(p["requests"]))
say(any(s.startswith("Min") for s in p["stats"]) and any(s.startswith("Change %") for s in p["stats"]), "statistics shown")
say(any(s.startswith("Bid") for s in p["book"]), "book top shown")
say(p["trades"] > 0, "recent trades shown (%d)" % p["trades"])
say(p.get("alerts") == ["btc-above-one BTC-USDT"], "the firing alert is shown: %r" % p.get("alerts"))
say(p["lower_chart"], "RSI/MACD pane shown (the indicators transform runs)")
say(any(h.startswith("spot") for h in p["health"]), "health view lists the pipeline")
say(p["interactive_ms"] < 5000, "interactive in %d ms" % p["interactive_ms"])
PY
while read -r verdict what; do
    if [ "$verdict" = ok ]; then pass "$what"; else fail "$verdict $what"; fi
done < "$TMP/verdict"
for f in dashboard-markets.png dashboard-symbol.png dashboard-health.png; do
    [ -s "$shots/$f" ] && pass "screenshot $f kept in $shots" || fail "no screenshot $f"
done
kill -TERM "$pid"
wait "$pid"
finish
