#!/usr/bin/env bash
# Stops the cluster start-postgres.sh started (by the pid in its pid file) and removes its dir.
set -uo pipefail
dir=${COINPIPE_TEST_PG_DIR:-}
[ -n "$dir" ] && [ -d "$dir" ] || exit 0
pidfile=${COINPIPE_TEST_PG_PIDFILE:-$dir/data/postmaster.pid}
if [ -f "$pidfile" ]; then
    pid=$(head -n 1 "$pidfile")
    if [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; then   # SIGINT = fast shutdown
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
fi
case "$dir" in
    */coinpipe-pg.*) rm -rf "$dir" ;;
esac
