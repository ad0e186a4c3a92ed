#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit and
# integration tests: real Mosquitto, real bridge, real sockets, all on 127.0.0.1),
# then builds the fuzz targets with clang and fuzzes each for a short while.
#   ./scripts/test.sh [ctest arguments...]   (with arguments: those tests only, no fuzzing)
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${PROGRESS_PACKAGES[@]}" "${PROGRESS_FUZZ_PACKAGES[@]}"
ensure_web_test_tools
ensure_sdk_test_tools
ensure_bench_tools
say "building in $BUILD_DIR"
build_project
say "running the tests"
cd "$BUILD_DIR"
ctest --output-on-failure --no-tests=error --timeout 300 -j "$(nproc)" "$@"
[[ $# -eq 0 ]] || exit 0

say "building the fuzz targets in $FUZZ_BUILD_DIR"
build_fuzzers
say "fuzzing each target for a short while (tests/fuzz)"
ctest --test-dir "$FUZZ_BUILD_DIR" --output-on-failure --no-tests=error -L fuzz -j "$(nproc)"
