#!/usr/bin/env bash
# Streaming soak (`make soak-stream`, not part of `make test`): SOAK_MINUTES (default 10) of a
# binance-spot stream pipeline (trade, book_top → sqlite) against bench/ws_replay.py at a steady
# SOAK_RATE messages/s (default 2000: trade, bookTicker and depth frames over 10 symbols), the
# connection cut without a close frame every SOAK_CUT seconds (default 120) with trades made while
# the client is away (repaired over REST). Prints RSS every 30 s. Passes when RSS at the end is
# within 10% of RSS after the first 2 minutes (a shorter run compares with the first sample), and
# every symbol's trade ids in SQLite are 1..max, each once (no hole, no duplicate, across the cuts).
# SPDX-License-Identifier: MIT
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${BUILD:-$src/build}
minutes=${SOAK_MINUTES:-10}
rate=${SOAK_RATE:-2000}
cut=${SOAK_CUT:-120}
PY=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coinpipe-stream-soak-XXXXXX")
$PY "$src/bench/ws_replay.py" --mode soak --rate "$rate" --cut-every "$cut" --symbols 10 \
    --port-file "$tmp/ports" --status "$tmp/replay.status" > "$tmp/replay.log" 2>&1 &
replay=$!
trap 'kill $replay ${cp:-} 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/ports" ] && break; sleep 0.1; done
read -r wp rp < "$tmp/ports"
syms=$(for i in $(seq 0 9); do printf '"S%03dUSDT", ' "$i"; done)
cat > "$tmp/soak.conf" <<C
global = { state_dir = "$tmp/state"; log_format = "logfmt"; };
pipelines = ( { name = "live";
  source = { plugin = "binance-spot"; mode = "stream"; ws_url = "ws://127.0.0.1:$wp"; base_url = "http://127.0.0.1:$rp";
             symbols = [ ${syms%, } ]; streams = ["trade", "book_top"]; weight_per_minute = 1000000.0; };
  sinks = ( { plugin = "sqlite"; path = "$tmp/soak.db"; } ); } );
C
"$build/coinpipe" -c "$tmp/soak.conf" > /dev/null 2> "$tmp/coinpipe.log" &
cp=$!
rss() { awk '/VmRSS/ {print $2}' "/proc/$cp/status"; }
start=$(date +%s)
end=$(( start + minutes * 60 ))
base=""
series=""
while [ "$(date +%s)" -lt "$end" ]; do
    sleep 30
    kill -0 $cp 2>/dev/null || { echo "stream soak: FAIL coinpipe exited"; tail -5 "$tmp/coinpipe.log"; exit 1; }
    r=$(rss)
    el=$(( $(date +%s) - start ))
    series="$series ${el}s:${r}"
    echo "stream soak: $(date -u +%H:%M:%S) +${el}s RSS $r kB, messages sent $($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$tmp/replay.status")"
    if [ -z "$base" ] && { [ "$el" -ge 120 ] || [ "$minutes" -le 2 ]; }; then base=$r; fi
done
last=$(rss)
kill -TERM $cp; wait $cp; rc=$?
growth=$(awk -v a="$base" -v b="$last" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
check=$($PY - "$tmp/soak.db" <<'P'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
bad, total = [], 0
for sym, n, d, lo, hi in con.execute("SELECT native_symbol, count(*), count(DISTINCT trade_id), min(CAST(trade_id AS INTEGER)),"
                                      " max(CAST(trade_id AS INTEGER)) FROM trade GROUP BY native_symbol"):
    total += n
    if not (n == d == hi and lo == 1):
        bad.append("%s: %d rows, %d ids, %d..%d" % (sym, n, d, lo, hi))
print("trades=%d symbols_bad=%d %s" % (total, len(bad), "; ".join(bad)))
P
)
repairs=$(grep -c "repair:" "$tmp/coinpipe.log")
reconnects=$(grep -o 'reconnects=[0-9]*' "$tmp/coinpipe.log" | tail -1 | cut -d= -f2)
echo "stream soak: ${minutes} min at ${rate} msg/s, RSS series (elapsed:kB):$series"
echo "stream soak: RSS ${base} kB at the baseline, ${last} kB at the end (${growth}%); $check; reconnects=${reconnects:-?} repair lines=$repairs"
ok=0
[ "$rc" -eq 0 ] || { echo "stream soak: FAIL exit code $rc"; ok=1; }
case "$check" in *symbols_bad=0*) ;; *) echo "stream soak: FAIL trade ids"; ok=1 ;; esac
awk -v g="$growth" 'BEGIN {exit !(g <= 10 && g >= -50)}' || { echo "stream soak: FAIL RSS grew ${growth}%"; ok=1; }
[ $ok -eq 0 ] && echo "stream soak: PASS"
exit $ok
