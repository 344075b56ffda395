#!/usr/bin/env bash
# Refreshes the chart library vendored in web/ from npm (run by a maintainer, never at build
# time: the page needs no build step). Usage: tools/vendor-web.sh [VERSION]
# SPDX-License-Identifier: MIT
set -euo pipefail
version=${1:-4.2.3}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "lightweight-charts@$version" > /dev/null && tar xzf lightweight-charts-*.tgz)
cp "$tmp/package/dist/lightweight-charts.standalone.production.js" "$here/web/"
{
    cat "$tmp/package/LICENSE"
    printf '\n\nNOTICE\n\nTradingView Lightweight Charts(TM) v%s\n' "$version"
    printf 'Copyright (c) 2025 TradingView, Inc. https://www.tradingview.com/\n\n'
    printf 'The standalone build bundles fancy-canvas (npm package fancy-canvas, MIT License).\n'
} > "$here/web/LICENSE-lightweight-charts.txt"
echo "web/: lightweight-charts $version"
