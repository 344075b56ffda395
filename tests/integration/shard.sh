#!/usr/bin/env bash
# shard = "I/N" on a source: three binance-spot collectors with the same symbols and shards
# 0/3, 1/3, 2/3 collect disjoint sets whose union is what one unsharded collector gets; each
# symbol lands where FNV-1a 32 of its normalized name modulo 3 says (the documented rule); the
# sharded collectors do not even request the other shards' symbols; a source that does not ask
# (fake-source) is filtered on emit; a malformed shard is refused with file:line.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
command -v sqlite3 >/dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }
start_mock
ctl "/_mock/config?now_ms=$(( ($(date +%s) / 60) * 60000 + 30000 ))"
syms='"BTCUSDT", "ETHBTC", "BNBBTC"'
for i in $(seq 0 11); do syms="$syms, \"SYM$(printf %03d $i)USDT\""; done

collect() { # NAME SHARD-LINE
    { conf_head; cat <<C
pipelines = ( { name = "p"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = [$syms]; streams = ["ticker", "ohlcv"]; $2 };
  sinks = ( { plugin = "sqlite"; path = "$TMP/$1.db"; } ); } );
C
    } | sed "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-$1\"|" > "$TMP/$1.conf"
    ctl /_mock/reset; ctl "/_mock/config?now_ms=$(( ($(date +%s) / 60) * 60000 + 30000 ))"
    $B --once -c "$TMP/$1.conf" > /dev/null 2> "$TMP/$1.err"
    python3 - "$URL" <<'P' > "$TMP/$1.klines"
import json, sys, urllib.parse, urllib.request
reqs = json.load(urllib.request.urlopen(sys.argv[1] + "/_mock/requests"))["requests"]
print("\n".join(sorted({urllib.parse.parse_qs(r["query"])["symbol"][0] for r in reqs if r["path"] == "/api/v3/klines"})))
P
}
collect all ""
expect_eq "$?" 0 "unsharded collection"
for i in 0 1 2; do
    collect s$i "shard = \"$i/3\";"
    expect_eq "$?" 0 "collection of shard $i/3"
done
q="SELECT DISTINCT symbol FROM ohlcv ORDER BY 1"
all=$(sqlite3 "$TMP/all.db" "$q")
expect_eq "$(echo "$all" | wc -l)" 15 "the unsharded collector has 15 symbols"
union=$(for i in 0 1 2; do sqlite3 "$TMP/s$i.db" "$q"; done | sort)
expect_eq "$union" "$(echo "$all" | sort)" "the three shards together hold every symbol"
expect_eq "$(echo "$union" | uniq -d | wc -l)" 0 "no symbol is in two shards"
expect_eq "$(for i in 0 1 2; do sqlite3 "$TMP/s$i.db" "SELECT count(*) FROM ohlcv"; done | paste -sd+ | bc)" \
    "$(sqlite3 "$TMP/all.db" "SELECT count(*) FROM ohlcv")" "the shards' candles add up to the unsharded ones"
fnv() { python3 -c 'import sys
h = 2166136261
for c in sys.argv[1].encode(): h = ((h ^ c) * 16777619) & 0xffffffff
print(h % int(sys.argv[2]))' "$1" "$2"; }
bad=0
for i in 0 1 2; do
    for s in $(sqlite3 "$TMP/s$i.db" "$q"); do [ "$(fnv "$s" 3)" = "$i" ] || bad=$((bad + 1)); done
    for s in $(sqlite3 "$TMP/s$i.db" "SELECT DISTINCT symbol FROM ticker"); do [ "$(fnv "$s" 3)" = "$i" ] || bad=$((bad + 1)); done
done
expect_eq "$bad" 0 "every symbol is in shard FNV-1a(symbol) % 3"
n0=$(sqlite3 "$TMP/s0.db" "$q" | wc -l)
expect_eq "$(wc -l < "$TMP/s0.klines")" "$n0" "shard 0/3 requested the candles of its own $n0 symbols only"
expect_contains "$TMP/s0.err" "shard: $n0 of 15 symbols are this collector's" "the collector says which part it holds"

# a source that does not ask cp_shard_keep: its rows are filtered on emit
fake() { # SYMBOL SHARD
    { conf_head; cat <<C
pipelines = ( { name = "f"; interval = "1m"; source = { plugin = "fake-source"; rows = 3; symbol = "$1"; shard = "$2"; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/f.db"; } ); } );
C
    } > "$TMP/f.conf"
    rm -f "$TMP/f.db"
    $B --once -c "$TMP/f.conf" > /dev/null 2>&1
    sqlite3 "$TMP/f.db" "SELECT count(*) FROM ticker" 2>/dev/null || echo 0
}
k=$(fnv BTC-USDT 2)
expect_eq "$(fake BTC-USDT "$k/2")" 3 "fake-source's BTC-USDT rows kept by shard $k/2"
expect_eq "$(fake BTC-USDT "$((1 - k))/2")" 0 "and dropped by shard $((1 - k))/2"

# one config for N collectors: COINPIPE_SHARD (what coinpipe@I-N.service sets) shards every
# source that has no shard of its own
sed -i 's|shard = "[^"]*";||' "$TMP/f.conf"
rm -f "$TMP/f.db"; COINPIPE_SHARD="$((1 - k))/2" $B --once -c "$TMP/f.conf" > /dev/null 2>&1
expect_eq "$(sqlite3 "$TMP/f.db" "SELECT count(*) FROM ticker" 2>/dev/null || echo 0)" 0 "COINPIPE_SHARD=$((1 - k))/2 drops BTC-USDT"
rm -f "$TMP/f.db"; COINPIPE_SHARD="$k/2" $B --once -c "$TMP/f.conf" > /dev/null 2>&1
expect_eq "$(sqlite3 "$TMP/f.db" "SELECT count(*) FROM ticker" 2>/dev/null || echo 0)" 3 "COINPIPE_SHARD=$k/2 keeps it"
COINPIPE_SHARD=7/2 $B --check -c "$TMP/f.conf" > "$TMP/env.out" 2>&1
expect_contains "$TMP/env.out" "f.conf:2: environment variable COINPIPE_SHARD: '7/2' is not a shard" "a bad COINPIPE_SHARD is refused"
fake BTC-USDT "$k/2" > /dev/null

for bad in '"3/3"' '"1-3"' '"0/0"' '"x/2"' '2'; do
    sed "s|shard = \"[^\"]*\"|shard = $bad|" "$TMP/f.conf" > "$TMP/bad.conf"
    $B --check -c "$TMP/bad.conf" > "$TMP/bad.out" 2>&1
    expect_eq "$?" 1 "--check refuses shard = $bad"
    expect_contains "$TMP/bad.out" "bad.conf:2: source option 'shard'" "the error names file:line for $bad"
done
finish
