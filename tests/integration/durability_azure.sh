#!/usr/bin/env bash
# Azure Blob durability against Azurite: a sink with a wrong account key (HTTP 403) fills the
# dead-letter directory, its error naming the container, while its SQLite sibling keeps every
# row; Azurite stopped mid-run (connections refused) and started again loses nothing: the spool
# keeps the batches until the uploads succeed.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_AZURE_ENDPOINT:?run under tests/services/run.sh (make test)}"
azurite_up || fail "Azurite does not answer on port $COINPIPE_TEST_AZURE_PORT"
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
prefix="dur-$$-$RANDOM"
azconf() { # name extra-sink-options source-options
    { conf_head; cat <<C
pipelines = ( { name = "$1"; interval = "1m";
  source = { plugin = "fake-source"; $3 };
  sinks = ( { plugin = "azure-blob"; account = "$COINPIPE_TEST_AZURE_ACCOUNT"; container = "$COINPIPE_TEST_AZURE_CONTAINER";
              endpoint = "$COINPIPE_TEST_AZURE_ENDPOINT"; prefix = "$prefix/$1"; timeout = "2s";
              retry_initial_interval = "200ms"; retry_max_interval = "1s"; $2 },
            { plugin = "sqlite"; path = "$TMP/$1.db"; } ); } );
C
    } > "$TMP/$1.conf"
}
blobs() { python3 "$COINPIPE_SRC/tests/services/azure_blob.py" list "$COINPIPE_TEST_AZURE_CONTAINER" "$prefix/$1/"; }

# 1. 403: dead letters for the Azure sink, every row for its sibling
azconf forbidden 'account_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=";' 'rows = 5; batches = 3;'
"$COINPIPE_BIN" --once -c "$TMP/forbidden.conf" > /dev/null 2> "$TMP/forbidden.err"; rc=$?
expect_eq "$rc" 1 "--once reports the failing Azure sink"
expect_contains "$TMP/forbidden.err" "access to container $COINPIPE_TEST_AZURE_CONTAINER of account $COINPIPE_TEST_AZURE_ACCOUNT denied (HTTP 403" "the 403 error names the container"
expect_not_contains "$TMP/forbidden.err" "d3Jvbmcta2V5" "the key is not logged"
expect_eq "$(ls "$TMP/state/dead/forbidden/azure-blob/" 2>/dev/null | wc -l)" 3 "three batches dead-lettered"
expect_eq "$(sqlite3 "$TMP/forbidden.db" 'select count(*) from ticker')" 15 "the SQLite sibling has all 15 rows"
expect_eq "$(blobs forbidden | wc -l)" 0 "no blob written"

# 2. Azurite goes down mid-run, then comes back on the same port with its data
azconf down "account_key = \"$COINPIPE_TEST_AZURE_KEY\"; flush_interval = \"1s\";" 'rows = 4; batches = 1;'
sed -i 's/interval = "1m"/interval = "500ms"/' "$TMP/down.conf"
"$COINPIPE_BIN" -c "$TMP/down.conf" > /dev/null 2> "$TMP/down.err" &
pid=$!; PIDS+=($pid)
sleep 2
azpid=$(cat "$COINPIPE_TEST_AZURE_DIR/pid")
kill "$azpid"
wait_for "! kill -0 $azpid 2>/dev/null" 10 && pass "Azurite stopped" || fail "Azurite did not stop"
sleep 5
"$COINPIPE_TEST_AZURE_DIR/start"
. "$COINPIPE_SRC/tests/services/free-port.sh"
wait_port "$COINPIPE_TEST_AZURE_PORT" 30 && pass "Azurite started again" || fail "Azurite did not come back"
sleep 4
kill -TERM $pid; wait $pid; rc=$?
expect_eq "$rc" 0 "SIGTERM after Azurite came back exits 0"
expect_contains "$TMP/down.err" "retrying in" "uploads were retried while Azurite was down"
rows_in=$(grep 'azure-blob stats' "$TMP/down.err" | grep -o 'rows_in=[0-9]*' | cut -d= -f2)
rows_out=$(grep 'azure-blob stats' "$TMP/down.err" | grep -o 'rows_out=[0-9]*' | cut -d= -f2)
[ -n "$rows_in" ] && [ "${rows_in:-0}" -gt 0 ] && pass "rows emitted: $rows_in" || fail "no rows counted"
expect_eq "$rows_out" "$rows_in" "every row uploaded after recovery"
mkdir -p "$TMP/dl"
for b in $(blobs down); do
    python3 "$COINPIPE_SRC/tests/services/azure_blob.py" get "$COINPIPE_TEST_AZURE_CONTAINER" "$b" "$TMP/dl/$(basename "$b")"
done
in_blobs=$(cat "$TMP"/dl/*.csv 2>/dev/null | grep -c '^fake,')
distinct=$(cat "$TMP"/dl/*.csv 2>/dev/null | grep '^fake,' | cut -d, -f4 | sort -u | wc -l)
expect_eq "$distinct" "$rows_in" "the container holds every row's key"
[ "$in_blobs" -ge "$distinct" ] && pass "blobs read back ($in_blobs lines)" || fail "blobs unreadable"
finish
