# NATS servers with JetStream for the integration tests (sourced after common.sh): each on free
# loopback ports, its store under $TMP, started and stopped by pid.
# SPDX-License-Identifier: MIT
command -v nats-server >/dev/null || { echo "nats-server missing (tools/deps-debian.txt)" >&2; exit 1; }
. "$COINPIPE_SRC/tests/services/free-port.sh"
declare -A NATS_PORT NATS_MON NATS_ROUTE NATS_PID
# nats_define NAME... : ports for each server; more than one name makes them a cluster
nats_define() {
    local n
    for n in "$@"; do
        NATS_PORT[$n]=$(free_port); NATS_MON[$n]=$(free_port); NATS_ROUTE[$n]=$(free_port)
    done
    for n in "$@"; do
        {
            echo "server_name: $n"
            echo "listen: 127.0.0.1:${NATS_PORT[$n]}"
            echo "http: 127.0.0.1:${NATS_MON[$n]}"
            echo "jetstream { store_dir: \"$TMP/nats-$n\" }"
            if [ $# -gt 1 ]; then
                local routes="" m
                for m in "$@"; do [ "$m" != "$n" ] && routes="$routes${routes:+, }\"nats-route://127.0.0.1:${NATS_ROUTE[$m]}\""; done
                echo "cluster { name: coinpipe_test, listen: \"127.0.0.1:${NATS_ROUTE[$n]}\", routes: [$routes] }"
            fi
        } > "$TMP/$n.nats.conf"
    done
}
# nats_start NAME: starts (or restarts) the server and waits for its client port
nats_start() {
    nats-server -c "$TMP/$1.nats.conf" >> "$TMP/$1.nats.log" 2>&1 &
    NATS_PID[$1]=$!; PIDS+=($!)
    wait_port "${NATS_PORT[$1]}" 20 || { echo "nats-server $1 did not start:" >&2; tail -n 20 "$TMP/$1.nats.log" >&2; exit 1; }
}
# nats_stop NAME [SIGNAL]: stops the server by pid and waits for it
nats_stop() { kill "-${2:-TERM}" "${NATS_PID[$1]}" 2>/dev/null; wait "${NATS_PID[$1]}" 2>/dev/null; }
# nats_url NAME: its client URL
nats_url() { echo "nats://127.0.0.1:${NATS_PORT[$1]}"; }
# nats_jsz NAME FIELD: a top-level number of the server's /jsz (e.g. messages)
nats_jsz() {
    python3 -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))[sys.argv[2]])' \
        "http://127.0.0.1:${NATS_MON[$1]}/jsz" "$2"
}
# nats_consumer_field NAME STREAM DURABLE FIELD: a number of the consumer's state (num_pending,
# num_ack_pending) as its leader sees it (followers' copies lag); NAME is asked when it is alone
nats_consumer_field() {
    local urls="" n
    for n in "${!NATS_MON[@]}"; do
        [ "$n" = "$1" ] || [ ${#NATS_MON[@]} -gt 1 ] && urls="$urls http://127.0.0.1:${NATS_MON[$n]}"
    done
    python3 - "$2" "$3" "$4" $urls <<'P'
import json, sys, urllib.request
stream, durable, field = sys.argv[1:4]
for url in sys.argv[4:]:
    try:
        j = json.load(urllib.request.urlopen(url + "/jsz?consumers=true", timeout=5))
        name = json.load(urllib.request.urlopen(url + "/varz", timeout=5))["server_name"]
    except OSError:
        continue  # a server that is down
    for a in j.get("account_details", []):
        for s in a.get("stream_detail", []):
            if s["name"] != stream:
                continue
            for c in s.get("consumer_detail", []):
                leader = c.get("cluster", {}).get("leader")
                if c["name"] == durable and (leader is None or leader == name):
                    print(c[field]); sys.exit(0)
print(-1)
P
}
# nats_stream_leader STREAM: the server that leads the stream's replicas (asks each server until
# one knows)
nats_stream_leader() {
    local n urls=""
    for n in "${!NATS_MON[@]}"; do urls="$urls http://127.0.0.1:${NATS_MON[$n]}/jsz?streams=true"; done
    python3 - "$1" $urls <<'P'
import json, sys, urllib.request
for url in sys.argv[2:]:
    try:
        j = json.load(urllib.request.urlopen(url, timeout=5))
    except OSError:
        continue
    for a in j.get("account_details", []):
        for s in a.get("stream_detail", []):
            leader = s.get("cluster", {}).get("leader", "")
            if s["name"] == sys.argv[1] and leader:
                print(leader); sys.exit(0)
P
}
