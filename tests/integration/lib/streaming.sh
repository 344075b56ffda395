# Helpers of the streaming tests (sourced after common.sh): the local Binance exchange of
# tests/ws_server/server.py and a streaming pipeline into SQLite.
# SPDX-License-Identifier: MIT
. "$COINPIPE_SRC/tests/services/free-port.sh"
PY=/usr/bin/python3 # Debian's, with python3-websockets
export COINPIPE_HTTP_BACKOFF_MS=20

sq() { $PY -c 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone())' "$@"; }
# status SCENARIO EXPR: EXPR evaluated over the server's status file
status() { $PY -c 'import json, sys; print(eval(sys.argv[2], json.load(open(sys.argv[1]))))' "$TMP/$1.status" "$2"; }

# serve SCENARIO [server options...]: the exchange; sets WS and REST (URLs)
serve() {
    local sc=$1
    shift
    $PY "$COINPIPE_SRC/tests/ws_server/server.py" --scenario "$sc" --port-file "$TMP/$sc.ports" \
        --status "$TMP/$sc.status" --max-message 4096 "$@" > "$TMP/$sc.server.log" 2>&1 &
    PIDS+=($!)
    wait_for "[ -s $TMP/$sc.ports ]" 10 || { echo "ws server did not start" >&2; exit 1; }
    read -r wp rp < "$TMP/$sc.ports"
    WS="ws://127.0.0.1:$wp" REST="http://127.0.0.1:$rp"
}
# collect NAME STREAMS [LISTEN] [MORE SOURCE OPTIONS] [PLUGIN] [SYMBOLS]: a streaming pipeline
# into $TMP/NAME.db (decimals as exact text), started in the background; CP is its pid
collect() {
    { conf_head | sed "s|};\$|${3:+http_listen = \"$3\"; }};|; s|$TMP/state|$TMP/$1.state|"; cat <<C
pipelines = (
  { name = "live"; batch_interval = "50ms";
    source = { plugin = "${5:-binance-spot}"; mode = "stream"; ws_url = "$WS"; base_url = "$REST";
               symbols = [${6:-\"BTCUSDT\"}]; streams = [$2]; stall_timeout = "${STALL:-2s}"; max_message = "4k"; ${4:-} };
    sinks = ( { plugin = "sqlite"; path = "$TMP/$1.db"; decimal_as = "text"; } ); } );
C
    } > "$TMP/$1.conf"
    $B -c "$TMP/$1.conf" > /dev/null 2> "$TMP/$1.err" &
    CP=$!
}
stop() { kill -TERM "$CP"; wait "$CP"; echo $? > "$TMP/rc"; }
# ids_ok DB N [SYMBOL]: trade ids 1..N, each once
ids_ok() {
    [ "$(sq "$1" "SELECT count(*), count(DISTINCT trade_id), min(CAST(trade_id AS INTEGER)), max(CAST(trade_id AS INTEGER)) FROM trade WHERE native_symbol = '${3:-BTCUSDT}'" 2>/dev/null)" = "$2 $2 1 $2" ]
}
