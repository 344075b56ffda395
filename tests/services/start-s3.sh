#!/usr/bin/env bash
# Starts an S3-compatible server (s3rver, from npm) on 127.0.0.1 with a temp data dir and one
# bucket, for the s3-csv sink tests, and prints the export lines tests/services/run.sh evaluates.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/free-port.sh"
command -v node >/dev/null || { echo "start-s3: node is missing (apt-get install nodejs npm)" >&2; exit 1; }
server="$here/node_modules/s3rver/bin/s3rver.js"
if [ ! -f "$server" ]; then
    command -v npm >/dev/null || { echo "start-s3: npm is missing (apt-get install npm)" >&2; exit 1; }
    (cd "$here" && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; }) >&2 \
        || { echo "start-s3: npm could not install s3rver" >&2; exit 1; }
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/coinpipe-s3.XXXXXX")
bucket=coinpipe-test
port=$(free_port)
# node directly (not npx) so that $! is the server's own pid
node "$server" --directory "$dir/data" --address 127.0.0.1 --port "$port" --silent \
    --configure-bucket "$bucket" </dev/null >"$dir/server.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/pid"
if ! wait_port "$port" 30; then
    echo "start-s3: s3rver did not answer on 127.0.0.1:$port" >&2
    cat "$dir/server.log" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
fi
echo "export COINPIPE_TEST_S3_ENDPOINT=http://127.0.0.1:$port COINPIPE_TEST_S3_BUCKET=$bucket" \
     "AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1" \
     "COINPIPE_TEST_S3_DIR='$dir' COINPIPE_TEST_S3_PID=$pid"
