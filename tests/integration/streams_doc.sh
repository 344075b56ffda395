#!/usr/bin/env bash
# The data contract lives in docs/streams.md: the SDK header <coinpipe/streams.h> is exactly what
# tools/gen-streams.py generates from it (a change to the document without regenerating, or to
# the header by hand, fails here), and the indicators transform's fixed columns are the
# document's.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
S=$COINPIPE_SRC

(cd "$S" && python3 tools/gen-streams.py --check) > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 0 "streams.h is what docs/streams.md gives"
[ "$rc" = 0 ] || sed 's/^/    /' "$TMP/out" >&2

# the check can fail: a copy of the tree whose document says ticker.last is a double
mkdir -p "$TMP/tree/docs" "$TMP/tree/tools" "$TMP/tree/core/include/coinpipe"
cp "$S/docs/streams.md" "$TMP/tree/docs/"
cp "$S/tools/gen-streams.py" "$TMP/tree/tools/"
cp "$S/core/include/coinpipe/streams.h" "$TMP/tree/core/include/coinpipe/"
sed -i '0,/^| `last` | dec |/s//| `last` | dbl |/' "$TMP/tree/docs/streams.md"
(cd "$TMP/tree" && python3 tools/gen-streams.py --check) > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 1 "a document that differs from the header fails the check"
expect_contains "$TMP/out" '+    {"last", CP_T_DOUBLE, CP_FIELD_NULLABLE},' "the diff shows the changed column"
(cd "$TMP/tree" && python3 tools/gen-streams.py) && grep -q '{"last", CP_T_DOUBLE' "$TMP/tree/core/include/coinpipe/streams.h" \
    && pass "regenerating takes the document's type" || fail "regenerating"
sed -i '0,/^| `bid` | dec |/s//| `x` | float |  | |\n&/' "$TMP/tree/docs/streams.md"
(cd "$TMP/tree" && python3 tools/gen-streams.py --check) > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 1 "a malformed row is refused"
expect_contains "$TMP/out" "docs/streams.md:" "the refusal names the document and line"

# every stream of the catalog has a section, and the indicators transform's fixed columns match
for s in ticker ohlcv book_top book_level trade funding open_interest liquidation market spot_price global spread alert indicator; do
    grep -q "^### $s\$\|^## $s\$" "$S/docs/streams.md" && pass "docs/streams.md documents $s" || fail "no section for $s"
done
ind=$(sed -n '/^## indicator$/,/^## Notes$/p' "$S/docs/streams.md" | grep -o '^| `[a-z_]*` | [a-z]* | ★\? *|' |
      sed 's/^| `\([a-z_]*\)` | \([a-z]*\) | \(★\?\).*/\1 \2 \3/' | tr '\n' ';')
expect_eq "$ind" "exchange text ★;symbol text ★;interval text ★;open_time ts ★;close dec ;" \
    "indicator's fixed columns in the document"
code=$(grep -o 'fields\[[0-4]\] = (cp_field){[^}]*}' "$S/plugins/transforms/indicators.c" | sed 's/\.[a-z]* = //g' |
       sed 's/.*{"\([a-z_]*\)", CP_T_\([A-Z]*\), CP_FIELD_\([A-Z]*\)}/\1 \2 \3/' |
       sed 's/ STRING / text /; s/ TIMESTAMP / ts /; s/ DECIMAL / dec /; s/ KEY$/ ★/; s/ NULLABLE$/ /' | tr '\n' ';')
expect_eq "$code" "$ind" "indicators.c builds the same fixed columns"
finish
