#!/usr/bin/env bash
# One owner of a plugin instance (core/instance.c): a sink that reads a checkpoint in create()
# (the state-probe fixture) sees the same state store in the daemon, in `coinpipe gaps` and in
# `coinpipe dead replay`, each life continuing the count of the one before; and `dead replay`
# has a stop flag like the daemon's: SIGTERM ends the current write early (cp_stopping true),
# keeps the files not yet replayed and says so.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN

mkconf() { # $1 = config name, $2 = the sink's plugin and options
    { conf_head; cat <<C
pipelines = ( { name = "p"; interval = "1m"; source = { plugin = "fake-source"; rows = 3; batches = 2; };
  sinks = ( { name = "probe"; $2 retry_max_attempts = 1; } ); } );
C
    } > "$TMP/$1.conf"
}
mkconf probe "plugin = \"state-probe\"; out = \"$TMP/probe.out\";"
mkconf reject "plugin = \"test-sink\"; out = \"$TMP/reject.out\"; mode = \"reject\";"
mkconf slow "plugin = \"state-probe\"; out = \"$TMP/probe.out\"; delay = \"30s\";"
mkconf slowgaps "plugin = \"state-probe\"; out = \"$TMP/probe.out\"; delay = \"30s\"; series = 3;"
# interrupted WHAT RC ARGS...: runs `coinpipe ARGS` with the probe's output emptied, sends SIGTERM
# half a second after the probe's create(), and checks the exit code and that it ended within 5 s
interrupted() {
    local what=$1 want=$2; shift 2
    : > "$TMP/probe.out"
    $B "$@" > "$TMP/out" 2> "$TMP/err" &
    local pid=$!
    wait_for "grep -q '^create' $TMP/probe.out" 10 || fail "$what did not create the probe"
    sleep 0.5
    local t0=$(date +%s%N)
    kill -TERM $pid
    wait $pid; local rc=$?
    local ms=$((($(date +%s%N) - t0) / 1000000))
    expect_eq "$rc" "$want" "$what interrupted: exit code $want"
    [ "$ms" -lt 5000 ] && pass "$what stops within 5 s of SIGTERM ($ms ms)" || fail "$what took $ms ms to stop"
}
deadfiles() { ls "$TMP/state/dead/p/probe/" 2> /dev/null | wc -l; }

# 1. the daemon: the first life
$B --once -c "$TMP/probe.conf" > /dev/null 2> "$TMP/err"; rc=$?
expect_eq "$rc" 0 "--once with the probe"
expect_eq "$(sed -n 1p "$TMP/probe.out")" "create lives=1" "daemon: create() finds no checkpoint yet"
expect_eq "$(grep -c '^write ticker 3 lives=1 stopping=0$' "$TMP/probe.out")" 2 "daemon: both batches written"

# 2. `gaps` creates the sink with the same state store: the second life
$B gaps --pipeline p -c "$TMP/probe.conf" > /dev/null 2> "$TMP/err"; rc=$?
expect_eq "$rc" 0 "gaps reads the probe (no series, no gaps)"
expect_eq "$(sed -n 4p "$TMP/probe.out")" "create lives=2" "gaps: create() reads the daemon's checkpoint"

# 3. two dead letters from a rejecting sink of the same name, replayed into the probe: the third life
$B --once -c "$TMP/reject.conf" > /dev/null 2>&1
expect_eq "$(deadfiles)" 2 "two dead-letter files"
$B dead replay -c "$TMP/probe.conf" > "$TMP/out" 2> "$TMP/err"; rc=$?
expect_eq "$rc" 0 "dead replay"
expect_contains "$TMP/out" "2 of 2 dead-letter files replayed" "dead replay: both replayed"
expect_eq "$(sed -n '5,$p' "$TMP/probe.out" | tr '\n' '|')" \
    "create lives=3|write ticker 3 lives=3 stopping=0|create lives=4|write ticker 3 lives=4 stopping=0|" \
    "dead replay: one instance per file, each create() reading the checkpoint the last life stored"
expect_eq "$(cat "$TMP/state/state/p/probe.kv" 2> /dev/null | tr -d '\n')" "lives=4" "the checkpoint file after dead replay"

# 4. the daemon again continues from what gaps and dead replay stored
$B --once -c "$TMP/probe.conf" > /dev/null 2>&1
expect_eq "$(sed -n 9p "$TMP/probe.out")" "create lives=5" "daemon: create() reads the checkpoint dead replay left"

# 5. the stop flag: SIGTERM during a slow write of `dead replay`
$B --once -c "$TMP/reject.conf" > /dev/null 2>&1
expect_eq "$(deadfiles)" 2 "two new dead-letter files"
interrupted "dead replay" 1 dead replay -c "$TMP/slow.conf"
expect_eq "$(grep -c '^write ticker 3 lives=6 stopping=1$' "$TMP/probe.out")" 1 \
    "the write in progress saw cp_stopping and ended its sleep early"
expect_contains "$TMP/err" "dead replay interrupted: 1 dead-letter file left for the next replay" "says what is left"
expect_contains "$TMP/out" "1 of 2 dead-letter files replayed" "one replayed"
expect_eq "$(deadfiles)" 1 "the other file kept"

# 6. the same stop flag in `gaps`: SIGTERM while the sink reads a series ends that read early
#    and the check stops there, saying so
interrupted gaps 2 gaps --pipeline p -c "$TMP/slowgaps.conf"
expect_eq "$(grep '^candle_gaps' "$TMP/probe.out" | tr '\n' '|')" "candle_gaps S-0 stopping=1|" \
    "the read in progress saw cp_stopping; no further series was read"
expect_contains "$TMP/err" "coinpipe gaps: interrupted after 1 series" "gaps says where it stopped"

finish
