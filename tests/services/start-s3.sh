#!/usr/bin/env bash
# Starts an S3-compatible server (s3rver, from npm) on 127.0.0.1 with a temp data dir and one
# bucket, for the s3-csv sink tests, behind s3_verifier.py (botocore's SigV4 check of every
# request: s3rver's own check is lax), and prints the export lines tests/services/run.sh
# evaluates. The endpoint is the verifier's; COINPIPE_TEST_S3_PID is s3rver's (tests stop it),
# COINPIPE_TEST_S3_VERIFIER_LOG has one line per request ("ok ..." or "refused ...: why").
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
python3 -c 'import botocore.auth' 2>/dev/null \
    || { echo "start-s3: python3-botocore is missing (apt-get install python3-botocore)" >&2; kill "$pid"; exit 1; }
vport=$(free_port)
: >"$dir/verifier.log"
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
    python3 "$here/s3_verifier.py" "$vport" "$port" "$dir/verifier.log" </dev/null >"$dir/verifier.err" 2>&1 &
vpid=$!
echo "$vpid" >"$dir/verifier.pid"
if ! wait_port "$vport" 30; then
    echo "start-s3: the SigV4 verifier did not answer on 127.0.0.1:$vport" >&2
    cat "$dir/verifier.err" >&2
    kill "$pid" "$vpid" 2>/dev/null || true
    exit 1
fi
echo "export COINPIPE_TEST_S3_ENDPOINT=http://127.0.0.1:$vport COINPIPE_TEST_S3_BUCKET=$bucket" \
     "AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1" \
     "COINPIPE_TEST_S3_DIR='$dir' COINPIPE_TEST_S3_PID=$pid COINPIPE_TEST_S3_VERIFIER_PID=$vpid" \
     "COINPIPE_TEST_S3_VERIFIER_LOG='$dir/verifier.log'"
