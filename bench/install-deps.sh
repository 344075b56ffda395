#!/usr/bin/env bash
# Installs the bench-only Debian packages of bench/deps-debian.txt that are missing.
# SPDX-License-Identifier: MIT
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../tools/install-deps.sh" "$here/deps-debian.txt"
