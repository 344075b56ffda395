#!/usr/bin/env bash
# Soak test (`make soak`, not part of `make test`): SOAK_MINUTES (default 30) at a 1-second
# interval against the mock exchange with 50 symbols, into a sink that fails 10% of writes.
# Passes when RSS at the end is within 10% of RSS after the first minute and every row the
# source emitted was confirmed by the sink exactly as counted (no loss).
# SPDX-License-Identifier: MIT
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${BUILD:-$src/build}
minutes=${SOAK_MINUTES:-30}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coinpipe-soak-XXXXXX")
python3 "$src/tests/mock_exchange/server.py" --port-file "$tmp/port" > "$tmp/mock.log" 2>&1 &
mock=$!
trap 'kill $mock ${cp:-} 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
syms=$(for i in $(seq 0 49); do printf '"SYM%03dUSDT", ' "$i"; done)
cat > "$tmp/soak.conf" <<C
global = { state_dir = "$tmp/state"; log_format = "logfmt"; plugin_path = ["$build/test-plugins"]; };
pipelines = ( { name = "soak"; interval = "1s";
  source = { plugin = "binance-spot"; base_url = "http://127.0.0.1:$port";
             symbols = [ ${syms%, } ]; streams = ["ticker", "book_top"]; };
  transforms = ( { plugin = "spread"; } );
  sinks = ( { plugin = "test-sink"; out = "$tmp/sink.out"; fail_ratio = 0.1;
              retry_initial_interval = "100ms"; retry_max_interval = "1s"; } ); } );
C
"$build/coinpipe" -c "$tmp/soak.conf" > /dev/null 2> "$tmp/coinpipe.log" &
cp=$!
rss() { awk '/VmRSS/ {print $2}' "/proc/$cp/status"; }
sleep 60
rss1=$(rss)
echo "soak: RSS after 1 minute: ${rss1} kB"
end=$(( $(date +%s) + (minutes - 1) * 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
    sleep 60
    echo "soak: $(date -u +%H:%M:%S) RSS $(rss) kB, rows confirmed $(awk '{s += $2} END {print s + 0}' "$tmp/sink.out")"
done
rss2=$(rss)
kill -TERM $cp; wait $cp; rc=$?
rows_in=$(grep -o 'rows_in=[0-9]*' "$tmp/coinpipe.log" | tail -1 | cut -d= -f2)
rows_out=$(grep -o 'rows_out=[0-9]*' "$tmp/coinpipe.log" | tail -1 | cut -d= -f2)
written=$(awk '{s += $2} END {print s + 0}' "$tmp/sink.out")
retries=$(grep -o 'retries=[0-9]*' "$tmp/coinpipe.log" | tail -1 | cut -d= -f2)
cycles=$(grep -o 'cycles=[0-9]*' "$tmp/coinpipe.log" | tail -1 | cut -d= -f2)
skipped=$(grep -o 'skipped_ticks=[0-9]*' "$tmp/coinpipe.log" | tail -1 | cut -d= -f2)
growth=$(awk -v a="$rss1" -v b="$rss2" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
echo "soak: ${minutes} min, cycles=$cycles skipped_ticks=$skipped rows emitted=$rows_in confirmed=$rows_out written=$written retries=$retries"
echo "soak: RSS ${rss1} kB after 1 min, ${rss2} kB at the end (${growth}%)"
ok=0
[ "$rc" -eq 0 ] || { echo "soak: FAIL exit code $rc"; ok=1; }
[ "${rows_in:-0}" -gt 0 ] && [ "$rows_in" = "$rows_out" ] && [ "$rows_out" = "$written" ] || { echo "soak: FAIL rows lost"; ok=1; }
awk -v g="$growth" 'BEGIN {exit !(g <= 10 && g >= -50)}' || { echo "soak: FAIL RSS grew ${growth}%"; ok=1; }
[ $ok -eq 0 ] && echo "soak: PASS"
exit $ok
