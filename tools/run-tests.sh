#!/usr/bin/env bash
# The test command behind `make test`: builds the normal and the ASan/UBSan trees, starts
# the test services, and runs ctest in both trees.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCOINPIPE_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
tests/services/run.sh bash -c '
  set -e
  echo "== tests (release build)"
  ctest --test-dir build --output-on-failure -j2 ${CTEST_ARGS:-}
  echo "== tests (ASan/UBSan build)"
  ctest --test-dir build-asan --output-on-failure -j2 ${CTEST_ARGS:-}
'
# Fuzz targets (clang/libFuzzer), 12 s each by default here: about 2.5 minutes in all
FUZZ_RUNS=${FUZZ_RUNS:-300000} tools/run-fuzz.sh
