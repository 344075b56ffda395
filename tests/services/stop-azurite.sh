#!/usr/bin/env bash
# Stops the Azurite start-azurite.sh started (by its pid, or the pid a test restarted it with,
# kept in its directory) and removes its temp dir.
set -uo pipefail
dir=${COINPIPE_TEST_AZURE_DIR:-}
# a server that died during the tests is reported with its log (the tests that needed it failed
# with "connection refused"; this says why), since the directory goes away below
last=$( [ -n "$dir" ] && cat "$dir/pid" 2>/dev/null || echo "${COINPIPE_TEST_AZURE_PID:-}")
if [ -n "$last" ] && { ! kill -0 "$last" 2>/dev/null || [ "$(ps -o stat= -p "$last" 2>/dev/null | cut -c1)" = Z ]; }; then
    echo "stop-azurite: Azurite (pid $last) had exited before the end of the tests; the end of its log:" >&2
    [ -n "$dir" ] && tail -n 20 "$dir/server.log" 2>/dev/null | sed 's/^/    /' >&2
fi
for pid in ${COINPIPE_TEST_AZURE_PID:-} $( [ -n "$dir" ] && cat "$dir/pid" 2>/dev/null ); do
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
done
case "$dir" in
    */coinpipe-azurite.*) rm -rf "$dir" ;;
esac
