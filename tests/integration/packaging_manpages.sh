#!/usr/bin/env bash
# The man pages: all three render without groff warnings, and coinpipe.conf(5) documents
# every plugin and every option that `coinpipe --describe` shows (it is generated from the
# same tables; this catches a build that forgot to regenerate it).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
man_dir="$COINPIPE_BUILD/man"
for page in coinpipe.1 coinpipe.conf.5 coinpipe-plugin.7; do
    f="$man_dir/$page"
    [ -s "$f" ] || { fail "$page not built"; continue; }
    if command -v man > /dev/null; then
        warnings=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 > /dev/null)
        expect_eq "$warnings" "" "man --warnings -l $page renders without warnings"
    fi
    if command -v groff > /dev/null; then
        warnings=$(groff -ww -man -z -Tutf8 "$f" 2>&1)
        expect_eq "$warnings" "" "groff -ww $page: no warnings"
    fi
    if grep -q '%%[A-Z_]*%%\|@[A-Z_]*@' "$f"; then fail "$page has unfilled placeholders"; else pass "$page fully generated"; fi
done
# coinpipe(1) documents every command of the command table (`coinpipe --help` lists them)
for c in backfill gaps dead ddl status; do
    grep -q "^\.B $c\$\|^\.BI $c \|^\.BR \"$c " "$man_dir/coinpipe.1" && pass "coinpipe.1 documents $c" \
        || fail "coinpipe.1 does not document the command $c"
done
conf5="$man_dir/coinpipe.conf.5"
COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR" "$COINPIPE_BIN" --list-plugins -c /dev/null 2>/dev/null | tail -n +2 \
    | awk '{ print $1 }' > "$TMP/plugins"
[ -s "$TMP/plugins" ] || fail "no plugins listed"
missing=0
while read -r name; do
    esc=${name//-/\\-}
    grep -qF ".SS $esc (" "$conf5" || { fail "plugin $name not in coinpipe.conf.5"; missing=1; continue; }
    "$COINPIPE_BIN" --describe "$name" -c /dev/null 2>/dev/null | sed -n '/^options:/,/^common options:/p' \
        | grep -E '^  [a-z_]+ +(bool|int|double|string|enum|duration|size|string list) ' | awk '{ print $1 }' > "$TMP/opts"
    while read -r opt; do
        grep -qF "\\fB$opt\\fR" "$conf5" || { fail "option $name.$opt not in coinpipe.conf.5"; missing=1; }
    done < "$TMP/opts"
done < "$TMP/plugins"
[ $missing -eq 0 ] && pass "every plugin ($(wc -l < "$TMP/plugins")) and option is in coinpipe.conf.5"
for opt in state_dir http_listen shutdown_timeout interval schedule queue_size retry_max_attempts; do
    grep -qF "\\fB$opt\\fR" "$conf5" || fail "core option $opt not in coinpipe.conf.5"
done
pass "core options documented"
"$COINPIPE_BIN" --describe-man nonsense > /dev/null 2>&1
expect_eq "$?" 2 "--describe-man rejects an unknown table"
finish
