#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit and
# integration tests: real Mosquitto, real bridge, real sockets, all on 127.0.0.1).
#   ./scripts/test.sh [ctest arguments...]
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${PROGRESS_PACKAGES[@]}"
ensure_web_test_tools
ensure_sdk_test_tools
ensure_bench_tools
say "building in $BUILD_DIR"
build_project
say "running the tests"
cd "$BUILD_DIR"
ctest --output-on-failure --no-tests=error --timeout 300 -j "$(nproc)" "$@"
