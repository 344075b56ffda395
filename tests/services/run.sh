#!/usr/bin/env bash
# Runs a command with the test services (PostgreSQL, S3 server) started on 127.0.0.1,
# their addresses exported as COINPIPE_TEST_* variables, and stops them by pid afterwards.
# Usage: tests/services/run.sh COMMAND [ARGS...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pids=()
cleanup() {
    for f in "$here"/stop-*.sh; do
        [ -e "$f" ] && bash "$f" || true
    done
}
trap cleanup EXIT INT TERM
for f in "$here"/start-*.sh; do
    [ -e "$f" ] || continue
    # each start script prints "export VAR=value" lines for the services it started
    out=$(bash "$f") || { echo "services: $f failed" >&2; exit 1; }
    eval "$out"
done
"$@"
