#!/usr/bin/env bash
# Stops the server and the verifier start-s3.sh started (by their pids) and removes its temp dir.
set -uo pipefail
dir=${COINPIPE_TEST_S3_DIR:-}
pid=${COINPIPE_TEST_S3_PID:-}
vpid=${COINPIPE_TEST_S3_VERIFIER_PID:-}
[ -n "$vpid" ] && kill "$vpid" 2>/dev/null
if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
fi
case "$dir" in
    */coinpipe-s3.*) rm -rf "$dir" ;;
esac
