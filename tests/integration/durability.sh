#!/usr/bin/env bash
# Durability: the spool keeps unconfirmed batches across restarts and kill -9, overflow
# policies count every drop, a permanently failing sink fills the dead-letter directory
# while its sibling keeps writing, and `coinpipe dead replay` writes them back.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN
command -v sqlite3 >/dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }

# 1. a sink that is down when the process stops: its batches wait in the spool and are
#    written by the next run, before the new cycle's
pipeline() { # name sink-options source-options
    { conf_head; cat <<C
pipelines = ( { name = "$1"; interval = "1m";
  source = { plugin = "fake-source"; $3 };
  sinks = ( { plugin = "test-sink"; out = "$TMP/$1.out"; $2 } ); } );
C
    } > "$TMP/$1.conf"
}
pipeline down 'mode = "retry"; fail_times = 1000000; retry_initial_interval = "50ms"; retry_max_interval = "100ms";' 'rows = 3; batches = 2; start = 1000;'
sed -i 's/shutdown_timeout = "20s"/shutdown_timeout = "1s"/' "$TMP/down.conf"
$B --once -c "$TMP/down.conf" > /dev/null 2> "$TMP/down.err"; rc=$?
expect_eq "$rc" 1 "--once fails while the sink is down"
expect_contains "$TMP/down.err" "what is left stays in their spools" "the leftovers are kept, and it says so"
expect_contains "$TMP/down.err" "2 batches not yet written stay in the spool" "spool holds both batches"
[ ! -s "$TMP/down.out" ] && pass "nothing written while down" || fail "sink wrote while down"
pipeline down 'mode = "ok";' 'rows = 3; batches = 1; start = 5000;'
$B --once -c "$TMP/down.conf" > /dev/null 2> "$TMP/up.err"; rc=$?
expect_eq "$rc" 0 "next run succeeds"
expect_contains "$TMP/up.err" "replaying 2 unconfirmed batches from the spool" "replay announced"
expect_eq "$(cat "$TMP/down.out" | tr '\n' '|')" "ticker 3 1000|ticker 3 1003|ticker 3 5000|" "replayed batches first, in order, then the new one"
$B --once -c "$TMP/down.conf" > /dev/null 2> "$TMP/again.err"
expect_not_contains "$TMP/again.err" "replaying" "confirmed batches are not replayed again"

# 2. kill -9 at random moments, restart each time: SQLite ends with every committed row
#    once and no holes (fake-source numbers its rows per process from `start`)
db="$TMP/kill.db"
kills=0
for run in $(seq 1 12); do
    { conf_head; cat <<C
pipelines = ( { name = "k"; interval = "100ms";
  source = { plugin = "fake-source"; rows = 50; batches = 2; start = $((run * 1000000)); };
  sinks = ( { plugin = "sqlite"; path = "$db"; } ); } );
C
    } > "$TMP/kill.conf"
    COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR" $B -c "$TMP/kill.conf" > /dev/null 2>> "$TMP/kill.err" &
    pid=$!
    sleep "0.$((RANDOM % 6 + 3))"
    kill -9 $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null
done
# a final clean run drains whatever the spool still holds
{ conf_head; cat <<C
pipelines = ( { name = "k"; interval = "1m";
  source = { plugin = "fake-source"; rows = 1; start = 99000000; };
  sinks = ( { plugin = "sqlite"; path = "$db"; } ); } );
C
} > "$TMP/kill.conf"
COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR" $B --once -c "$TMP/kill.conf" > /dev/null 2>> "$TMP/kill.err"; rc=$?
expect_eq "$rc" 0 "clean run after $kills kills"
[ "$kills" -ge 10 ] && pass "killed $kills times" || fail "only $kills kills"
total=$(sqlite3 "$db" "select count(*) from ticker")
distinct=$(sqlite3 "$db" "select count(distinct ts) from ticker")
expect_eq "$total" "$distinct" "no duplicate rows ($total)"
holes=$(sqlite3 "$db" "select count(*) from (select ts/1000000 as run, max(ts)-min(ts)+1 - count(*) as gap from ticker group by run) where gap != 0")
expect_eq "$holes" 0 "no holes: every run's rows form one unbroken range"
[ "$total" -gt 100 ] && pass "rows collected across kills: $total" || fail "too few rows: $total"

# 3. overflow: a sink that never succeeds, a spool bound of 4 KiB
for policy in drop_newest drop_oldest; do
    pipeline "ovf_$policy" "mode = \"retry\"; fail_times = 1000000; spool_max_bytes = \"4k\"; overflow = \"$policy\"; retry_initial_interval = \"1s\";" 'rows = 10; batches = 40;'
    sed -i 's/shutdown_timeout = "20s"/shutdown_timeout = "500ms"/' "$TMP/ovf_$policy.conf"
    $B --once -c "$TMP/ovf_$policy.conf" > /dev/null 2> "$TMP/ovf.err"
    bin=$(grep -o 'batches_in=[0-9]*' "$TMP/ovf.err" | cut -d= -f2)
    dropped=$(grep -o ' dropped=[0-9]*' "$TMP/ovf.err" | cut -d= -f2)
    drows=$(grep -o 'dropped_rows=[0-9]*' "$TMP/ovf.err" | cut -d= -f2)
    logged=$(grep -c "dropped the $( [ $policy = drop_newest ] && echo newest || echo oldest) batch" "$TMP/ovf.err")
    [ "${dropped:-0}" -gt 0 ] && pass "$policy: drops happen ($dropped)" || fail "$policy: nothing dropped"
    expect_eq "$(( ${bin:-0} + $( [ $policy = drop_newest ] && echo "${dropped:-0}" || echo 0) ))" "$( [ $policy = drop_newest ] && echo 40 || echo 40)" "$policy: every batch either queued or dropped"
    expect_eq "$logged" "$dropped" "$policy: every drop logged with its stream"
    expect_eq "$drows" "$((dropped * 10))" "$policy: dropped rows counted"
    spool=$(grep -o 'spool_bytes=[0-9]*' "$TMP/ovf.err" | cut -d= -f2)
    [ "${spool:-99999}" -le 8192 ] && pass "$policy: spool stays near its bound ($spool bytes)" || fail "$policy: spool grew to $spool"
done
# block: the pipeline waits for the sink, nothing is dropped
pipeline blk 'delay = "100ms"; spool = false; queue_size = 2;' 'rows = 1; batches = 8;'
$B --once -c "$TMP/blk.conf" > /dev/null 2> "$TMP/blk.err"; rc=$?
expect_eq "$rc" 0 "block: the cycle completes once the sink catches up"
expect_contains "$TMP/blk.err" "queue full: the pipeline waits for the sink (overflow = block)" "block: waiting is logged"
expect_eq "$(wc -l < "$TMP/blk.out")" 8 "block: all 8 batches written"

# 4. dead letters: a rejecting sink next to a healthy one; then replay into a healthy sink
{ conf_head; cat <<C
pipelines = ( { name = "dl"; interval = "1m";
  source = { plugin = "fake-source"; rows = 4; batches = 3; };
  sinks = ( { plugin = "test-sink"; name = "bad"; out = "$TMP/bad.out"; mode = "reject"; },
            { plugin = "test-sink"; name = "good"; out = "$TMP/good.out"; } ); } );
C
} > "$TMP/dl.conf"
$B --once -c "$TMP/dl.conf" > /dev/null 2> "$TMP/dl.err"; rc=$?
expect_eq "$rc" 1 "--once reports the rejecting sink"
expect_eq "$(wc -l < "$TMP/good.out")" 3 "the healthy sibling got every batch"
expect_eq "$(ls "$TMP/state/dead/dl/bad/" | wc -l)" 3 "3 dead-letter files"
expect_contains "$TMP/dl.err" "dead_lettered=3" "dead letters counted"
$B dead list -c "$TMP/dl.conf" > "$TMP/list" 2>&1
expect_contains "$TMP/list" "dl               bad              ticker            4  the sink rejected it permanently" "dead list shows them"
sed -i 's/mode = "reject";/mode = "ok";/' "$TMP/dl.conf"
$B dead replay --pipeline dl -c "$TMP/dl.conf" > "$TMP/replay" 2>&1; rc=$?
expect_eq "$rc" 0 "dead replay succeeds once the sink accepts"
expect_contains "$TMP/replay" "3 of 3 dead-letter files replayed" "replay count"
expect_eq "$(wc -l < "$TMP/bad.out")" 3 "replayed batches written"
expect_eq "$(ls "$TMP/state/dead/dl/bad/" | wc -l)" 0 "replayed files removed"

# 5. a slower sink behind a fast source: at most 6 MiB of queued batches stay in memory; a sink
#    that confirms each batch within 100 ms paces the source (a batch past the bound waits for
#    room), so none is read back from the spool; every batch arrives, in order
pipeline slow 'mode = "ok"; delay = "10ms";' 'rows = 10000; batches = 40; start = 0;'
/usr/bin/time -f %M -o "$TMP/slow.rss" $B --once -c "$TMP/slow.conf" > /dev/null 2> "$TMP/slow.err"; rc=$?
expect_eq "$rc" 0 "--once with a slow sink succeeds"
expect_eq "$(wc -l < "$TMP/slow.out")" 40 "every batch written"
expect_eq "$(awk '{print $3}' "$TMP/slow.out" | tr '\n' ' ')" "$(seq 0 10000 390000 | tr '\n' ' ')" "in the order emitted"
expect_eq "$(grep -o 'read_back=[0-9]*' "$TMP/slow.err")" "read_back=0" "a sink of 10 ms a batch paces the source: none read back"
rss=$(tail -1 "$TMP/slow.rss")
# 40 batches of 10000 ticker rows are ~170 MB in memory; bounded, the peak stays far below
# (not measured under ASan, whose quarantine keeps freed memory)
if ! ldd "$B" | grep -q libasan; then
    [ "${rss:-999999}" -lt 80000 ] && pass "queued batches wait in the spool (peak RSS ${rss} kB)" ||
        fail "peak RSS ${rss} kB: the queue held the batches in memory"
fi

# three batches of 8000 rows: while the sink writes the first, the next two wait in memory (the
# 6 MiB bound, or pacing when they do not fit): the sink takes them from memory, none is read back
pipeline slow 'mode = "ok"; delay = "30ms";' 'rows = 8000; batches = 3; start = 0;'
rm -f "$TMP/slow.out"
$B --once -c "$TMP/slow.conf" > /dev/null 2> "$TMP/slow2.err"; rc=$?
expect_eq "$rc" 0 "--once with a slow sink and three batches succeeds"
expect_eq "$(wc -l < "$TMP/slow.out")" 3 "the three batches written"
expect_eq "$(grep -o 'read_back=[0-9]*' "$TMP/slow2.err")" "read_back=0" "the three taken from memory, none read back from the spool"
# four, while the sink's first write takes a second (too slow to pace the source, which is not
# held up): the fourth is past the bound, waits in the spool alone and is read back from it (the
# source emits them in well under a second)
pipeline slow 'mode = "ok"; delay = "1s";' 'rows = 10000; batches = 4; start = 0;'
rm -f "$TMP/slow.out"
$B --once -c "$TMP/slow.conf" > /dev/null 2> "$TMP/slow3.err"; rc=$?
expect_eq "$rc" 0 "--once with a slow sink and four batches succeeds"
expect_eq "$(awk '{print $3}' "$TMP/slow.out" | tr '\n' ' ')" "0 10000 20000 30000 " "the four batches written, in order"
expect_eq "$(grep -c 'read_back=[1-9]' "$TMP/slow3.err")" 1 "the batch past the memory bound was read back from the spool"

# 6. ENOSPC: the spool on a tiny tmpfs (needs mount rights)
mnt="$TMP/small"
mkdir -p "$mnt"
if mount -t tmpfs -o size=256k tmpfs "$mnt" 2>/dev/null; then
    PIDS+=()
    { cat <<C
global = { state_dir = "$mnt"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; shutdown_timeout = "500ms"; };
pipelines = ( { name = "full"; interval = "1m";
  source = { plugin = "fake-source"; rows = 200; batches = 30; };
  sinks = ( { plugin = "test-sink"; out = "$TMP/full.out"; mode = "retry"; fail_times = 1000000; overflow = "drop_newest"; } ); } );
C
    } > "$TMP/full.conf"
    $B --once -c "$TMP/full.conf" > /dev/null 2> "$TMP/full.err"
    expect_contains "$TMP/full.err" "cannot write the spool: No space left on device" "ENOSPC reported clearly"
    expect_contains "$TMP/full.err" "spool write failed: dropped the newest batch" "ENOSPC falls back to the overflow policy"
    umount "$mnt"
else
    echo "note: mounting a tmpfs is not permitted here; the ENOSPC case is skipped"
fi
finish
