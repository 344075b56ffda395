#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster on 127.0.0.1 (and a unix socket in its temp dir) for
# the sink tests and prints the export lines tests/services/run.sh evaluates.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/free-port.sh"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "start-postgres: no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)" >&2
    exit 1
fi
# the server refuses to run as root: run it as the Debian package's postgres user then
runas=
user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
    runas=postgres
    user=postgres
    id -u "$runas" >/dev/null 2>&1 || { echo "start-postgres: no '$runas' user to run the server as" >&2; exit 1; }
fi
as() { if [ -n "$runas" ]; then runuser -u "$runas" -- "$@"; else "$@"; fi; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/coinpipe-pg.XXXXXX")
chmod 755 "$dir"
[ -n "$runas" ] && chown "$runas" "$dir"
fail() {
    echo "start-postgres: $1 (logs in $dir)" >&2
    [ -f "$dir/server.log" ] && tail -n 20 "$dir/server.log" >&2
    if [ -f "$dir/data/postmaster.pid" ]; then kill -9 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null || true; fi
    exit 1
}
as "$bindir/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || fail "initdb failed"
port=$(free_port)
as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=50" start >/dev/null || fail "pg_ctl start failed"
as "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$user" coinpipe_test || fail "createdb failed"

echo "export COINPIPE_TEST_PG='host=127.0.0.1 port=$port dbname=coinpipe_test user=$user'"
# for tests that restart the server (pg_ctl -D DATA restart, as RUNAS when set) and for stop-postgres.sh
echo "export COINPIPE_TEST_PG_DIR='$dir' COINPIPE_TEST_PG_DATA='$dir/data'" \
     "COINPIPE_TEST_PG_PIDFILE='$dir/data/postmaster.pid' COINPIPE_TEST_PG_BIN='$bindir' COINPIPE_TEST_PG_RUNAS='$runas'"
