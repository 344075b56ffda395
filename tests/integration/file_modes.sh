#!/usr/bin/env bash
# Files coinpipe creates are 0640 whatever the umask: the SQLite database, the spool's cursor and
# segments, dead-letter files and checkpoints (the state directory's subdirectories are 0750).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN

for mask in 000 022 077; do
    rm -rf "$TMP/state" "$TMP/db"
    { conf_head; cat <<C
pipelines = ( { name = "p"; interval = "1m";
  source = { plugin = "fake-source"; rows = 2; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/db/c.db"; },
            { name = "bad"; plugin = "test-sink"; out = "$TMP/bad.out"; mode = "reject"; } ); } );
C
    } > "$TMP/m.conf"
    (umask $mask; $B --once -c "$TMP/m.conf" > /dev/null 2> "$TMP/m.err")
    files=$(find "$TMP/db" "$TMP/state" -type f | sort)
    [ -n "$(find "$TMP/state/dead" -type f)" ] && pass "umask $mask: a dead-letter file was written" ||
        fail "umask $mask: no dead-letter file"
    [ -n "$(find "$TMP/state/spool" -name cursor)" ] && pass "umask $mask: a spool cursor was written" ||
        fail "umask $mask: no spool cursor"
    [ -f "$TMP/db/c.db" ] && pass "umask $mask: the database exists" || fail "umask $mask: no database"
    bad=0
    for f in $files; do
        m=$(stat -c %a "$f")
        [ "$m" = 640 ] || { fail "umask $mask: $f is $m, not 640"; bad=1; }
    done
    [ $bad = 0 ] && pass "umask $mask: every file is 0640 ($(echo "$files" | wc -l) files)"
done
finish
