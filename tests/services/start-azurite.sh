#!/usr/bin/env bash
# Starts Azurite's blob service (Microsoft's Azure Storage emulator, from npm) on 127.0.0.1 with a
# temp workspace, telemetry off, an account of its own with a fresh random key and one container,
# for the azure-blob sink tests, and prints the export lines tests/services/run.sh evaluates.
# COINPIPE_TEST_AZURE_PID is Azurite's pid; a test that stops it starts it again with
# $COINPIPE_TEST_AZURE_DIR/start (the new pid in $COINPIPE_TEST_AZURE_DIR/pid, which stop-azurite.sh
# reads too). COINPIPE_TEST_AZURE_SAS is an account SAS token for the same account.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/free-port.sh"
command -v node >/dev/null || { echo "start-azurite: node is missing (apt-get install nodejs npm)" >&2; exit 1; }
server="$here/node_modules/azurite/dist/src/blob/main.js"
if [ ! -f "$server" ]; then
    command -v npm >/dev/null || { echo "start-azurite: npm is missing (apt-get install npm)" >&2; exit 1; }
    (cd "$here" && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; }) >&2 \
        || { echo "start-azurite: npm could not install azurite" >&2; exit 1; }
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/coinpipe-azurite.XXXXXX")
account=coinpipetest
key=$(head -c 32 /dev/urandom | base64 -w0)
container=coinpipe-test
port=$(free_port)
# $dir/start starts it in the background (again, after a test stopped it: same port, account and
# data) and records its pid in $dir/pid; node directly (not npx) so that $! is the server's own pid
cat >"$dir/start" <<START
#!/usr/bin/env bash
AZURITE_ACCOUNTS='$account:$key' node '$server' --blobHost 127.0.0.1 --blobPort $port --location '$dir/data' \\
    --silent --disableTelemetry --skipApiVersionCheck </dev/null >>'$dir/server.log' 2>&1 &
echo \$! >'$dir/pid'
START
chmod +x "$dir/start"
"$dir/start"
pid=$(cat "$dir/pid")
if ! wait_port "$port" 30; then
    echo "start-azurite: Azurite did not answer on 127.0.0.1:$port" >&2
    cat "$dir/server.log" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
fi
export COINPIPE_TEST_AZURE_ENDPOINT="http://127.0.0.1:$port/$account" COINPIPE_TEST_AZURE_ACCOUNT=$account \
    COINPIPE_TEST_AZURE_KEY=$key
python3 "$here/azure_blob.py" mkcontainer "$container" >&2 \
    || { echo "start-azurite: could not create container $container" >&2; kill "$pid"; exit 1; }
sas=$(python3 "$here/azure_blob.py" sas)
echo "export COINPIPE_TEST_AZURE_ENDPOINT=$COINPIPE_TEST_AZURE_ENDPOINT COINPIPE_TEST_AZURE_ACCOUNT=$account" \
     "COINPIPE_TEST_AZURE_KEY='$key' COINPIPE_TEST_AZURE_CONTAINER=$container COINPIPE_TEST_AZURE_SAS='$sas'" \
     "COINPIPE_TEST_AZURE_DIR='$dir' COINPIPE_TEST_AZURE_PID=$pid COINPIPE_TEST_AZURE_PORT=$port"
