# Shared by scripts/quickstart.sh and scripts/test.sh: install what is missing,
# then configure and build. Meant to be sourced.

PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$PROJECT_ROOT/build}

# Debian 12 packages the project builds, runs and tests with (dpkg-dev and file:
# cpack's Debian packages, whose dependencies dpkg-shlibdeps computes).
PROGRESS_PACKAGES=(
  g++ cmake ninja-build pkg-config ca-certificates curl
  libpaho-mqttpp-dev libpaho-mqtt-dev libssl-dev
  mosquitto mosquitto-clients
  libboost-dev nlohmann-json3-dev libsimdjson-dev libcli11-dev libspdlog-dev prometheus-cpp-dev libjwt-dev libsqlite3-dev
  libgtest-dev libgmock-dev docker-compose
  nginx-light haproxy
  dpkg-dev file
)

# What the Python publisher SDK and its tests need (publisher-sdk/python).
PROGRESS_SDK_TEST_PACKAGES=(python3 python3-paho-mqtt python3-pytest)

# What bench/run.sh needs beyond the above (docs/benchmarks.md).
PROGRESS_BENCH_PACKAGES=(jq gnuplot-nox wrk)

# What the fuzz targets need (tests/fuzz, docs/security.md): clang and its libFuzzer.
PROGRESS_FUZZ_PACKAGES=(clang-14 libfuzzer-14-dev)
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-$PROJECT_ROOT/build-fuzz}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Installs the packages that are not installed yet; silent when none is missing.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  say "installing ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures (tests included) and builds; arguments name targets, default all.
build_project() {
  local generator=() targets=()
  [[ -f $BUILD_DIR/CMakeCache.txt ]] || generator=(-G Ninja)
  cmake -S "$PROJECT_ROOT" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPROGRESS_BUILD_TESTS=ON >/dev/null
  [[ $# -gt 0 ]] && targets=(--target "$@")
  cmake --build "$BUILD_DIR" -j "$(nproc)" "${targets[@]}"
}

# Configures the clang build of the fuzz targets (every target instrumented for libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer; -O1 with line tables, as fuzzing wants)
# and builds them and nothing else.
build_fuzzers() {
  local generator=()
  [[ -f $FUZZ_BUILD_DIR/CMakeCache.txt ]] || generator=(-G Ninja)
  cmake -S "$PROJECT_ROOT" -B "$FUZZ_BUILD_DIR" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" -DPROGRESS_FUZZ=ON \
    -DPROGRESS_BUILD_TESTS=OFF -DPROGRESS_BUILD_EXAMPLES=OFF -DPROGRESS_BUILD_BENCH=OFF >/dev/null
  cmake --build "$FUZZ_BUILD_DIR" -j "$(nproc)" --target progress_fuzzers
}

# Runs `npm ci` in DIR when its node_modules is missing or older than its package-lock.json.
ensure_npm_packages() {
  local dir=$1 what=$2
  if [[ ! -f $dir/node_modules/.package-lock.json || $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    say "installing the npm packages of $what"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# The browser side's tests: Node (client unit tests, playwright-core), the system's Chromium
# (playwright-core never downloads a browser), and React, Vue, jsdom and TypeScript for the
# tests of the client package (tests/web). A Node already installed from any source is kept.
ensure_web_test_tools() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_packages nodejs npm
  fi
  ensure_packages chromium
  ensure_npm_packages "$PROJECT_ROOT/tests/e2e" "the end-to-end tests"
  ensure_npm_packages "$PROJECT_ROOT/tests/web" "the client package's tests"
}

# The publisher SDKs' tests: Node with the Node SDK's npm packages (mqtt, and typescript to
# check its types) in publisher-sdk/js/node_modules, and Debian's Python with paho-mqtt and
# pytest (run as /usr/bin/python3: PyPI is not used).
ensure_sdk_test_tools() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_packages nodejs npm
  fi
  ensure_packages "${PROGRESS_SDK_TEST_PACKAGES[@]}"
  local sdk=$PROJECT_ROOT/publisher-sdk/js
  if [[ ! -f $sdk/node_modules/.package-lock.json || $sdk/package-lock.json -nt $sdk/node_modules/.package-lock.json ]]; then
    say "installing the Node SDK's npm packages"
    npm ci --prefix "$sdk" --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# The benchmark's tools: jq, gnuplot and wrk from Debian, and the Node contenders' npm
# packages in bench/node_modules (socket.io, mqtt, ws, bufferutil, jsonwebtoken).
ensure_bench_tools() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_packages nodejs npm
  fi
  ensure_packages "${PROGRESS_BENCH_PACKAGES[@]}"
  ensure_npm_packages "$PROJECT_ROOT/bench" "the benchmark"
}
