#!/usr/bin/env bash
# Installs the Debian packages listed in tools/deps-debian.txt that are not installed yet.
# Idempotent and fast when everything is present (no apt-get update then).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# A line is "package" or "package cmd=COMMAND": the second form is skipped when COMMAND is
# already on the PATH (e.g. npm, which NodeSource's nodejs package provides and Debian's npm
# package would conflict with).
missing=()
while read -r p opt; do
    [ -n "$p" ] || continue
    if [ "${opt#cmd=}" != "$opt" ] && command -v "${opt#cmd=}" >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done < <(sed -e 's/#.*//' "$here/deps-debian.txt")
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
