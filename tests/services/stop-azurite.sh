#!/usr/bin/env bash
# Stops the Azurite start-azurite.sh started (by its pid, or the pid a test restarted it with,
# kept in its directory) and removes its temp dir.
set -uo pipefail
dir=${COINPIPE_TEST_AZURE_DIR:-}
for pid in ${COINPIPE_TEST_AZURE_PID:-} $( [ -n "$dir" ] && cat "$dir/pid" 2>/dev/null ); do
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
done
case "$dir" in
    */coinpipe-azurite.*) rm -rf "$dir" ;;
esac
