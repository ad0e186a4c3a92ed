#!/usr/bin/env bash
# Benchmarks progress-bridge side by side with the Socket.IO relay, Mosquitto's own
# websockets listener and a plain ws relay (docs/benchmarks.md).
#
#   bench/run.sh            full run (~30 min): bench/results/<date>.json, docs/benchmarks.md, plots
#   bench/run.sh --quick    a few seconds per scenario, small numbers; what ctest runs
#
# Options: --quick, --contenders A,B,C,D, --scenarios S1,...,S8, --build-dir DIR,
# --no-build, --step-seconds N (full run), --s2-rates R1,R2,... (the S2 steps' publish
# rates), --keep (leave the temporary directory),
# --profile perf|heaptrack (profile the bridge during S2, and with perf also its two starts
# in S7; reports next to the results).
# Everything listens on 127.0.0.1; clients connect from 127.0.0.2 ... 127.0.0.9.
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
BENCH_DIR=$PROJECT_ROOT/bench

quick=0 build=1 keep=0 step_seconds=20 profile= s2_rates=1000,2000,5000,10000,20000,30000,40000
contenders=A,B,C,D scenarios=S1,S2,S3,S4,S5,S6,S7,S8
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1; shift ;;
    --contenders) contenders=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --step-seconds) step_seconds=$2; shift 2 ;;
    --s2-rates) s2_rates=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --profile) profile=$2; shift 2 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
wants() { [[ ,$1, == *,$2,* ]]; }

# The loaded processes need more than the usual 1024 descriptors: 10k clients, the
# contender's 10k sockets, the broker's. The hard limit here is 20000.
ulimit -n "$(ulimit -Hn)"
[[ $(ulimit -n) -ge 12000 ]] || { echo "bench/run.sh: ulimit -n is $(ulimit -n), need 12000" >&2; exit 1; }

# ---------------------------------------------------------------- tools
if [[ $build == 1 ]]; then
  ensure_packages "${PROGRESS_PACKAGES[@]}"
  ensure_bench_tools
  say "building the bridge and the benchmark tools in $BUILD_DIR"
  build_project progress-bridge progress-bench-publisher progress-bench-loadgen >/dev/null
fi
BRIDGE=$BUILD_DIR/bridge/progress-bridge
PUBLISHER=$BUILD_DIR/bench/progress-bench-publisher
LOADGEN=$BUILD_DIR/bench/progress-bench-loadgen
missing=()
for tool in "$BRIDGE" "$PUBLISHER" "$LOADGEN"; do [[ -x $tool ]] || missing+=("$tool"); done
profile_tools=()
[[ $profile == perf ]] && profile_tools=(perf)
[[ $profile == heaptrack ]] && profile_tools=(heaptrack heaptrack_print)
for tool in mosquitto mosquitto_passwd node jq gnuplot wrk "${profile_tools[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
for module in socket.io mqtt ws bufferutil jsonwebtoken; do
  [[ -d $BENCH_DIR/node_modules/$module ]] || missing+=("bench/node_modules/$module (npm ci --prefix bench)")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  printf 'bench/run.sh: missing: %s\n' "${missing[@]}" >&2
  exit 1
fi

# ---------------------------------------------------------------- sizes
if [[ $quick == 1 ]]; then
  s1_sizes=(200) s2_clients=200 s2_steps=500:0.5,2000:0.5 s3_clients=100 s3_steps=100:1
  s4_clients=200 s4_users=20 s4_rate=2000 s4_pause_ms=500 s5_seconds=1 s6_clients=200 settle=0.2
  s7_users=20 s7_jobs_per_user=100
  s8_clients=200
else
  s1_sizes=(1000 5000 10000) s2_clients=5000 s3_clients=1000 s3_steps=100:$step_seconds
  s2_steps=$(printf '%s:'"$step_seconds"',' ${s2_rates//,/ })
  s2_steps=${s2_steps%,}
  s4_clients=2000 s4_users=200 s4_rate=20000 s4_pause_ms=10000 s5_seconds=15 s6_clients=5000 settle=2
  s7_users=1000 s7_jobs_per_user=1000
  s8_clients=5000
fi
s8_jobs_per_user=10
max_users=$s2_clients
for n in "${s1_sizes[@]}" "$s6_clients" "$s8_clients"; do [[ $n -gt $max_users ]] && max_users=$n; done

# ---------------------------------------------------------------- workspace
WORK=$(mktemp -d /tmp/progress-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/results"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $keep == 0 ]]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port=$1
  while port_busy "$port"; do port=$((port + 1)); done
  echo "$port"
}
wait_port() {  # wait_port PORT SECONDS
  local i
  for ((i = 0; i < $2 * 50; i++)); do port_busy "$1" && return 0; sleep 0.02; done
  return 1
}
MQTT_PORT=$(free_port 21883)
MQTT_WS_PORT=$(free_port 29001)
CONTENDER_PORT=$(free_port 28080)
ADMIN_PORT=$(free_port $((CONTENDER_PORT + 1)))
REPLICA_PORT=$(free_port $((ADMIN_PORT + 1)))  # S8: the second bridge replica
REPLICA_ADMIN_PORT=$(free_port $((REPLICA_PORT + 1)))

# Accounts: worker, bridge and one per benchmark user, all made with progress-user.
# mosquitto_passwd rewrites the whole file per account, so users go into small files
# made in parallel and joined; the result is kept in the build directory for next time.
BENCH_PASSWORD=bench-user-password
WORKER_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
BRIDGE_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')
make_accounts() {
  local cache=$BUILD_DIR/bench-accounts/users-$max_users.passwd
  if [[ ! -s $cache ]]; then
    say "creating $max_users broker accounts (once; kept in $BUILD_DIR/bench-accounts)"
    mkdir -p "$BUILD_DIR/bench-accounts/parts.$$"
    local chunk=250 first
    for ((first = 0; first < max_users; first += chunk)); do echo "$first"; done |
      xargs -P "$(nproc)" -I{} bash -c '
        for ((i = {}; i < {} + '"$chunk"' && i < '"$max_users"'; i++)); do
          PROGRESS_USER_PASSWORD='"$BENCH_PASSWORD"' "$0" add "$1/part-{}" "u$i" || exit 1
        done' "$PROJECT_ROOT/broker-config/progress-user" "$BUILD_DIR/bench-accounts/parts.$$"
    cat "$BUILD_DIR/bench-accounts/parts.$$"/part-* >"$cache.tmp"
    rm -rf "$BUILD_DIR/bench-accounts/parts.$$"
    [[ $(wc -l <"$cache.tmp") -eq $max_users ]] || { echo "account creation failed" >&2; exit 1; }
    mv "$cache.tmp" "$cache"
  fi
  install -m 644 "$cache" "$WORK/passwd"
  "$PROJECT_ROOT/broker-config/progress-user" add "$WORK/passwd" worker "$WORKER_PASSWORD"
  "$PROJECT_ROOT/broker-config/progress-user" add "$WORK/passwd" bridge "$BRIDGE_PASSWORD"
  chmod 644 "$WORK/passwd"
}
make_accounts
"$PROJECT_ROOT/broker-config/render-config" "$WORK" --port "$MQTT_PORT" --ws-port "$MQTT_WS_PORT"

# ---------------------------------------------------------------- processes
broker_pid='' contender_pid='' heaptrack_pid=''
start_broker() {  # start_broker [CONFIG]
  rm -rf "$WORK/data" && mkdir -p "$WORK/data"
  mosquitto -c "${1:-$WORK/mosquitto.conf}" >>"$WORK/mosquitto.log" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
  wait_port "$MQTT_PORT" 10 && wait_port "$MQTT_WS_PORT" 10 ||
    { tail -20 "$WORK/mosquitto.log" >&2; echo "mosquitto did not start" >&2; exit 1; }
}
stop_pid() {
  [[ -n $1 ]] || return 0
  kill "$1" 2>/dev/null || true
  local i
  for ((i = 0; i < 250; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.02; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
bridge_flags=()
probe_bridge_flags() {
  local help extra
  help=$("$BRIDGE" --help)
  bridge_flags=(--rate-limit 0 --max-jobs 1000000 --jobs-per-user 1000 --log-level "${BENCH_BRIDGE_LOG_LEVEL:-warn}")
  # For experiments (docs/benchmarks.md, profile): BENCH_BRIDGE_FLAGS="--threads 2".
  read -r -a extra <<<"${BENCH_BRIDGE_FLAGS:-}"
  bridge_flags+=("${extra[@]}")
  # Options that newer bridges have; generous values so the benchmark measures the server.
  [[ $help == *--max-connections* ]] && bridge_flags+=(--max-connections 19000)
  # Every load-generator client comes from 127.0.0.1.
  [[ $help == *--max-connections-per-address* ]] && bridge_flags+=(--max-connections-per-address 19000)
  # Probes on the admin listener where there is one, else on the public one.
  probe_port=$CONTENDER_PORT
  [[ $help == *--admin-listen* ]] && bridge_flags+=(--admin-listen "127.0.0.1:$ADMIN_PORT") && probe_port=$ADMIN_PORT
  [[ $help == *--ws-max-connections* ]] && bridge_flags+=(--ws-max-connections 19000)
  [[ $help == *--data-dir* ]] && bridge_flags+=(--data-dir "$WORK/bridge-data")
  # Stopped with SIGTERM between scenarios: no load balancer to drain for.
  [[ $help == *--drain-period* ]] && bridge_flags+=(--drain-period 0)
  return 0
}
probe_bridge_flags
start_contender() {  # start_contender A|B|C|D; sets contender_pid, wire, port
  case $1 in
    A)
      local wrapper=()
      # heaptrack runs the bridge as its child: /proc numbers of such a run are the wrapper's.
      [[ $profile == heaptrack && ${profiling:-0} == 1 ]] && wrapper=(heaptrack -o "$WORK/heaptrack.bridge")
      rm -rf "$WORK/bridge-data"  # each scenario starts with an empty journal
      BRIDGE_MQTT_PASSWORD=$BRIDGE_PASSWORD BRIDGE_JWT_SECRET=$JWT_SECRET "${wrapper[@]}" "$BRIDGE" \
        --mqtt-url "tcp://127.0.0.1:$MQTT_PORT" --mqtt-client-id "bench-bridge-$$" \
        --http-listen "127.0.0.1:$CONTENDER_PORT" "${bridge_flags[@]}" >>"$WORK/contender-A.log" 2>&1 &
      contender_pid=$! wire=bridge port=$CONTENDER_PORT
      if [[ ${#wrapper[@]} -gt 0 ]]; then  # measure and stop the bridge itself, not heaptrack's script
        heaptrack_pid=$contender_pid
        pids+=("$heaptrack_pid")
        local i
        for ((i = 0; i < 100; i++)); do
          contender_pid=$(pgrep -P "$heaptrack_pid" -x progress-bridge || true)
          [[ -n $contender_pid ]] && break
          sleep 0.05
        done
        [[ -n $contender_pid ]] || { echo "heaptrack did not start the bridge" >&2; exit 1; }
      fi ;;
    B | D)
      local script=socketio-relay.mjs
      [[ $1 == D ]] && script=ws-relay.mjs
      BENCH_JWT_SECRET=$JWT_SECRET BENCH_MQTT_PASSWORD=$BRIDGE_PASSWORD node "$BENCH_DIR/contenders/$script" \
        --port "$CONTENDER_PORT" --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" --mqtt-username bridge \
        >>"$WORK/contender-$1.log" 2>&1 &
      contender_pid=$! wire=socketio port=$CONTENDER_PORT
      [[ $1 == D ]] && wire=plain ;;
    C) contender_pid=$broker_pid wire=mqtt port=$MQTT_WS_PORT; return 0 ;;
  esac
  pids+=("$contender_pid")
  wait_port "$CONTENDER_PORT" 15 || { tail -20 "$WORK/contender-$1.log" >&2; echo "contender $1 did not start" >&2; exit 1; }
  if [[ $1 == A ]]; then  # ready once the retained states are loaded
    local i
    for ((i = 0; i < 200; i++)); do
      curl -sf "http://127.0.0.1:$probe_port/readyz" >/dev/null && break
      sleep 0.05
    done
  fi
}
stop_stack() {
  [[ $contender_pid != "$broker_pid" ]] && stop_pid "$contender_pid"
  stop_pid "$broker_pid"
  contender_pid='' broker_pid=''
}

# The bridge's WebSocket endpoint is being built; contender A runs once it answers.
bridge_has_websocket() {
  start_broker
  start_contender A
  local token code
  token=$("$BRIDGE" token --user u0 --jwt-secret "$JWT_SECRET")
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    "http://127.0.0.1:$CONTENDER_PORT/api/v1/ws?access_token=$token" || true)
  stop_stack
  [[ $code == 101 ]]
}

# /proc/<pid>: CPU seconds (user + system) and memory in KiB.
CLK_TCK=$(getconf CLK_TCK)
cpu_seconds() { sed 's/^.*) //' "/proc/$1/stat" | awk -v tck="$CLK_TCK" '{printf "%.2f", ($12 + $13) / tck}'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
memory_kib() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }  # memory_kib PID VmRSS|VmHWM

perf_pid=''
perf_start() {  # perf_start PID: samples the process, with call graphs, until perf_finish
  perf record -F 199 --call-graph dwarf,16384 -p "$1" -o "$WORK/perf.data" >"$WORK/perf-record.log" 2>&1 &
  perf_pid=$!
  pids+=("$perf_pid")
}
perf_finish() {  # perf_finish NAME: profile-NAME-perf-{self,children}.txt
  [[ -n $perf_pid ]] || return 0
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  perf_pid=''
  # Squeezed: perf pads its symbol column to the longest template name.
  perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 0.7 -g none \
    2>/dev/null | sed -E 's/ +/ /g' | cut -c1-300 >"$WORK/profile-$1-perf-self.txt"
  perf report -i "$WORK/perf.data" --stdio --children --sort symbol --percent-limit 3 -g none \
    2>/dev/null | sed -E 's/ +/ /g' | cut -c1-300 >"$WORK/profile-$1-perf-children.txt"
}

publish() {  # publish REPORT ARGS...
  local report=$1
  shift
  BENCH_WORKER_PASSWORD=$WORKER_PASSWORD "$PUBLISHER" --url "tcp://127.0.0.1:$MQTT_PORT" \
    --client-id "bench-publisher-$$" --report "$report" "$@" 2>>"$WORK/publisher.log"
}
loadgen_pid=''
start_loadgen() {  # start_loadgen NAME ARGS...; waits until its clients are ready
  local name=$1
  shift
  rm -f "$WORK/$name.ready"
  BENCH_JWT_SECRET=$JWT_SECRET BENCH_MQTT_PASSWORD=$BENCH_PASSWORD "$LOADGEN" --wire "$wire" --port "$port" \
    --ready-file "$WORK/$name.ready" --report "$WORK/$name.loadgen.json" "$@" 2>>"$WORK/loadgen.log" &
  loadgen_pid=$!
  pids+=("$loadgen_pid")
  local i
  for ((i = 0; i < 1800; i++)); do
    [[ -f $WORK/$name.ready ]] && return 0
    kill -0 "$loadgen_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "load generator $name never got ready" >&2
  return 1
}
finish_loadgen() {  # ends the clients and waits for the report
  kill -TERM "$loadgen_pid" 2>/dev/null || true
  wait "$loadgen_pid" || { echo "load generator failed" >&2; return 1; }
  loadgen_pid=''
}
record() {  # record SCENARIO CONTENDER JSON
  echo "$3" | jq --arg s "$1" --arg c "$2" '{scenario: $s, contender: $c} + .' >"$WORK/results/$1-$2-$(date +%s%N).json"
}
state_capable() { [[ $1 == A || $1 == C ]]; }  # contenders that hand a new client the current state

# ---------------------------------------------------------------- scenarios
# S1: idle capacity. Memory per connection and connect+snapshot time, no traffic.
scenario_s1() {
  local c=$1 n expect
  for n in "${s1_sizes[@]}"; do
    say "S1 $c: $n idle clients"
    start_broker
    publish "$WORK/s1-seed.json" --users "$n" --seed
    start_contender "$c"
    expect=0
    state_capable "$c" && expect=1
    sleep "$settle"
    local rss_before cpu_before
    rss_before=$(memory_kib "$contender_pid" VmRSS)
    cpu_before=$(cpu_seconds "$contender_pid")
    start_loadgen "s1-$c-$n" --clients "$n" --users "$n" --jobs-expected "$expect" --ready-timeout 120 --max-run 300
    sleep "$settle"
    local rss_after cpu_after
    rss_after=$(memory_kib "$contender_pid" VmRSS)
    cpu_after=$(cpu_seconds "$contender_pid")
    finish_loadgen
    record S1 "$c" "$(jq --argjson n "$n" --argjson before "$rss_before" --argjson after "$rss_after" \
      --argjson cpu "$(minus "$cpu_after" "$cpu_before")" --argjson state "$expect" \
      '{clients: $n, ready: .ready_clients, rss_before_kib: $before, rss_after_kib: $after,
        rss_per_connection_kib: (($after - $before) / $n), connect_wall_s, connect_to_state: .connect_to_state_ms,
        with_state: ($state == 1), contender_cpu_s: $cpu, cpu_us_per_connection: ($cpu * 1e6 / $n),
        connect_failures, loadgen_cpu_s}' "$WORK/s1-$c-$n.loadgen.json")"
    stop_stack
  done
}

# S2: targeted progress. One user per client, publish rate stepped up.
scenario_s2() {
  local c=$1 name=s2-$1 steps=${2:-$s2_steps} tag=${3:-S2}
  say "$tag $c: $s2_clients clients, steps $steps"
  local profiling=0
  [[ -n $profile && $c == A ]] && profiling=1
  start_broker
  publish "$WORK/$name-seed.json" --users "$s2_clients" --seed
  start_contender "$c"
  start_loadgen "$name" --clients "$s2_clients" --users "$s2_clients" --max-run 900 \
    --publisher-report "$WORK/$name.publisher.json"
  local cpu_before broker_cpu_before server_pid=$contender_pid
  [[ $c == C ]] && server_pid=$broker_pid  # C's server is the broker itself
  cpu_before=$(cpu_seconds "$contender_pid")
  broker_cpu_before=$(cpu_seconds "$broker_pid")
  if [[ $tag == S5 ]]; then
    publish "$WORK/$name.publisher.json" --users "$s2_clients" --first-seq 2 --steps "$steps" \
      --watch-pid "$server_pid" &
    local publisher_pid=$!
    pids+=("$publisher_pid")
    sleep 1
    run_wrk "$c" "$name"
    wait "$publisher_pid"
  else
    [[ $profile == perf && $c == A ]] && perf_start "$contender_pid"
    publish "$WORK/$name.publisher.json" --users "$s2_clients" --first-seq 2 --steps "$steps" \
      --watch-pid "$server_pid"
    perf_finish s2
  fi
  sleep "$settle"  # let the last messages arrive
  local cpu_after broker_cpu_after hwm
  cpu_after=$(cpu_seconds "$contender_pid")
  broker_cpu_after=$(cpu_seconds "$broker_pid")
  hwm=$(memory_kib "$contender_pid" VmHWM)
  finish_loadgen
  local extra='{}'
  [[ $tag == S5 && -f $WORK/$name.wrk.json ]] && extra=$(jq '{rest: .}' "$WORK/$name.wrk.json")
  if [[ $profile == heaptrack && $c == A ]]; then
    stop_pid "$contender_pid"
    local i
    for ((i = 0; i < 600; i++)); do kill -0 "$heaptrack_pid" 2>/dev/null || break; sleep 0.1; done
    # Totals, then the 25 busiest allocation sites with the first frames above them.
    heaptrack_print "$WORK"/heaptrack.bridge*.zst --print-peaks 0 --print-allocators 1 --print-temporary 0 \
      --print-leaks 0 --peak-limit 25 --sub-peak-limit 1 2>/dev/null |
      grep -vE '^\s+(at|in) |^reading file|^Debuggee command' | sed -E 's/std::__cxx11::basic_string<[^>]*>/string/g' | cut -c1-200 \
      >"$WORK/profile-heaptrack.txt" || true
  fi
  record "$tag" "$c" "$(jq --argjson cpu "$(minus "$cpu_after" "$cpu_before")" \
    --argjson bcpu "$(minus "$broker_cpu_after" "$broker_cpu_before")" --argjson hwm "$hwm" \
    --argjson extra "$extra" --arg c "$c" '
    .steps as $steps | (if $c == "C" then $bcpu else $cpu end) as $server_cpu |
    {clients, steps: $steps, contender_cpu_s: (if $c == "C" then null else $cpu end), broker_cpu_s: $bcpu,
     cpu_us_per_message: ($server_cpu * 1e6 / ([$steps[].sent] | add)),
     cpu_us_per_delivery: ($server_cpu * 1e6 / ([$steps[].count] | add)),
     peak_rss_kib: $hwm, loadgen_cpu_s, run_wall_s, disconnects, close_codes,
     max_sustainable_rate: ([$steps[] | select(.p99 < 100 and .delivered_ratio >= 0.999 and
                                             .achieved_rate >= 0.97 * .rate) | .rate] | max)} + $extra' \
    "$WORK/$name.loadgen.json")"
  stop_stack
}

# S3: fan-out. Every client watches the same user.
scenario_s3() {
  local c=$1 name=s3-$1
  say "S3 $c: $s3_clients clients watching one user, $s3_steps"
  start_broker
  publish "$WORK/$name-seed.json" --users 1 --jobs-per-user 10 --seed
  start_contender "$c"
  start_loadgen "$name" --clients "$s3_clients" --users 1 --max-run 600
  local cpu_before
  cpu_before=$(cpu_seconds "$contender_pid")
  publish "$WORK/$name.publisher.json" --users 1 --jobs-per-user 10 --first-seq 2 --steps "$s3_steps"
  sleep "$settle"
  local cpu_after
  cpu_after=$(cpu_seconds "$contender_pid")
  finish_loadgen
  record S3 "$c" "$(jq --slurpfile pub "$WORK/$name.publisher.json" --argjson n "$s3_clients" \
    --argjson cpu "$(minus "$cpu_after" "$cpu_before")" '
    ($pub[0].steps[0].sent * $n) as $expected |
    {clients, sent: $pub[0].steps[0].sent, latency: .steps[0], delivered_ratio: (.steps[0].count / $expected),
     contender_cpu_s: $cpu, cpu_us_per_message: ($cpu * 1e6 / $pub[0].steps[0].sent),
     cpu_us_per_delivery: ($cpu * 1e6 / .steps[0].count), loadgen_cpu_s, disconnects}' "$WORK/$name.loadgen.json")"
  stop_stack
}

# S4: a one-second burst while 5 % of the clients stop reading.
scenario_s4() {
  local c=$1 name=s4-$1
  local jobs_per_user=5 jobs=$((s4_users * 5)) per_job=$((s4_rate / (s4_users * 5)))
  say "S4 $c: $s4_clients clients, burst of $s4_rate over $jobs jobs, 5% stop reading for ${s4_pause_ms} ms"
  start_broker
  publish "$WORK/$name-seed.json" --users "$s4_users" --jobs-per-user "$jobs_per_user" --seed
  start_contender "$c"
  local expect=0
  state_capable "$c" && expect=$jobs_per_user
  start_loadgen "$name" --clients "$s4_clients" --users "$s4_users" --jobs-expected "$expect" \
    --final-jobs "$jobs_per_user" --final-seq $((1 + per_job)) --slow-fraction 0.05 --slow-pause-ms "$s4_pause_ms" \
    --max-reconnects 5 --max-run 300
  local cpu_before
  cpu_before=$(cpu_seconds "$contender_pid")
  publish "$WORK/$name.publisher.json" --users "$s4_users" --jobs-per-user "$jobs_per_user" --first-seq 2 \
    --complete-at-seq $((1 + per_job)) --steps "$s4_rate:1"
  sleep "$(awk -v ms="$s4_pause_ms" -v s="$settle" 'BEGIN {print ms / 1000 + 2 * s}')"  # the slow clients catch up
  local hwm cpu
  hwm=$(memory_kib "$contender_pid" VmHWM)
  cpu=$(minus "$(cpu_seconds "$contender_pid")" "$cpu_before")
  finish_loadgen
  record S4 "$c" "$(jq --slurpfile pub "$WORK/$name.publisher.json" --argjson hwm "$hwm" --argjson cpu "$cpu" \
    --argjson fanout $((s4_clients / s4_users)) '
    {clients, sent: $pub[0].steps[0].sent, others: .steps[0], slow: .slow_deliveries_ms,
     others_delivered_ratio: (.steps[0].count / ($pub[0].steps[0].sent * $fanout * 0.95)),
     final_state, peak_rss_kib: $hwm, disconnects, reconnects, close_codes, contender_cpu_s: $cpu,
     cpu_us_per_message: ($cpu * 1e6 / $pub[0].steps[0].sent)}' "$WORK/$name.loadgen.json")"
  stop_stack
}

# S5: REST latest state with wrk while S2 runs at half the bridge's sustainable rate.
run_wrk() {
  local c=$1 name=$2 token
  token=$("$BRIDGE" token --user admin --admin --jwt-secret "$JWT_SECRET")
  TOKEN=$token USERS=$s2_clients wrk -t1 -c32 -d"${s5_seconds}s" --timeout 5s -s "$BENCH_DIR/rest-latest.lua" \
    "http://127.0.0.1:$port" >"$WORK/$name.wrk.txt" 2>&1 || true
  sed -n '/^{/,$p' "$WORK/$name.wrk.txt" >"$WORK/$name.wrk.json"
  jq -e . "$WORK/$name.wrk.json" >/dev/null || { cat "$WORK/$name.wrk.txt" >&2; echo "wrk failed" >&2; return 1; }
}
scenario_s5() {
  local c=$1
  if [[ $c != A ]]; then
    record S5 "$c" '{"na": "no REST API"}'
    return
  fi
  local max rate
  max=$(jq -s '[.[] | select(.scenario == "S2" and .contender == "A") | .max_sustainable_rate] | max // empty' \
    "$WORK"/results/*.json 2>/dev/null || true)
  [[ -n $max && $max != null ]] || max=2000
  rate=$((max / 2))
  scenario_s2 A "$rate:$s5_seconds" S5
}

# S6: drop every client at once and reconnect; time until 99 % hold their state again.
scenario_s6() {
  local c=$1 name=s6-$1 expect=0
  state_capable "$c" && expect=1
  say "S6 $c: $s6_clients clients reconnect at once"
  start_broker
  publish "$WORK/$name-seed.json" --users "$s6_clients" --seed
  start_contender "$c"
  local variant=${2:-} how=()
  case $variant in
    -fresh) how=(--storm-without-cursor) ;;
    -state) how=(--storm-without-cursor --state-resume) ;;
  esac
  start_loadgen "$name" --clients "$s6_clients" --users "$s6_clients" --jobs-expected "$expect" \
    --storm-after 1 --storm-timeout 60 --max-run 300 "${how[@]}"
  local cpu_before
  cpu_before=$(cpu_seconds "$contender_pid")
  wait "$loadgen_pid"
  loadgen_pid=''
  local cpu
  cpu=$(minus "$(cpu_seconds "$contender_pid")" "$cpu_before")
  record S6 "$c$variant" "$(jq --argjson state "$expect" --argjson cpu "$cpu" '
    {clients, recovered: .storm.recovered, wall_s: .storm.wall_s, recovery: .storm.recovery_ms,
     with_state: ($state == 1), connect_failures, contender_cpu_s: $cpu,
     cpu_us_per_reconnect: ($cpu * 1e6 / .clients)}' "$WORK/$name.loadgen.json")"
  stop_stack
  # The bridge again, its clients without their cursors: a fresh snapshot for everyone, as
  # after a bridge restart; then with the job versions they hold instead (a state resume).
  if [[ $c == A && -z $variant ]]; then
    scenario_s6 A -fresh
    scenario_s6 A -state
  fi
  return 0
}

# S7: start-up with many retained jobs. The time Mosquitto takes to replay them to a plain
# mosquitto_sub, against the time a bridge takes to be ready with every one of them: first
# with an empty data directory, then restarted with its journal.
now_ms() { date +%s%3N; }
wait_ready() {  # wait_ready SECONDS: until the bridge's /readyz answers 200
  local i
  for ((i = 0; i < $1 * 50; i++)); do
    curl -sf "http://127.0.0.1:$probe_port/readyz" >/dev/null && return 0
    sleep 0.02
  done
  return 1
}
metric_total() {  # metric_total NAME: the sum of a metric's samples
  curl -sf "http://127.0.0.1:$probe_port/metrics" |
    awk -v n="$1" '$1 == n || index($1, n "{") == 1 {sum += $2} END {printf "%d", sum}'
}
start_bridge_timed() {  # start_bridge_timed NAME FILE [PROFILE]: starts the bridge; once ready, FILE gets its numbers
  local name=$1 started ready_ms
  started=$(now_ms)
  BRIDGE_MQTT_PASSWORD=$BRIDGE_PASSWORD BRIDGE_JWT_SECRET=$JWT_SECRET "$BRIDGE" \
    --mqtt-url "tcp://127.0.0.1:$MQTT_PORT" --mqtt-client-id "bench-bridge-$$" \
    --http-listen "127.0.0.1:$CONTENDER_PORT" "${bridge_flags[@]}" --max-bytes 8G \
    >>"$WORK/contender-A.log" 2>&1 &
  contender_pid=$!
  pids+=("$contender_pid")
  # perf follows the threads that exist when it attaches: the bridge's start theirs at once.
  [[ -n ${3:-} && $profile == perf ]] && sleep 0.3 && perf_start "$contender_pid"
  wait_ready 600 || { tail -20 "$WORK/contender-A.log" >&2; echo "S7: the bridge never got ready" >&2; exit 1; }
  local ready_at
  ready_at=$(now_ms)
  ready_ms=$((ready_at - started))
  [[ -n ${3:-} ]] && perf_finish "$3"
  jq -n --arg name "$name" --argjson ms "$ready_ms" --argjson at "$ready_at" --argjson cpu "$(cpu_seconds "$contender_pid")" \
    --argjson rss "$(memory_kib "$contender_pid" VmRSS)" --argjson hwm "$(memory_kib "$contender_pid" VmHWM)" \
    --argjson received "$(metric_total progress_bridge_mqtt_messages_received_total)" \
    '{start: $name, ready_ms: $ms, ready_at_ms: $at, cpu_s: $cpu, rss_kib: $rss, peak_rss_kib: $hwm, received: $received}' >"$2"
}
s7_served() {  # prints how many of a sample of users hold all their jobs, and of sampled jobs answer
  local token users_ok=0 jobs_ok=0 i u
  token=$("$BRIDGE" token --user admin --admin --jwt-secret "$JWT_SECRET")
  for ((i = 0; i < s7_samples; i++)); do
    u=$(((i * 7919) % s7_users))
    [[ $(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$CONTENDER_PORT/api/v1/users/u$u/stats" |
      jq .total) == "$s7_jobs_per_user" ]] && users_ok=$((users_ok + 1))
    curl -sf -o /dev/null -H "Authorization: Bearer $token" \
      "http://127.0.0.1:$CONTENDER_PORT/api/v1/users/u$u/jobs/j$(((i * 104729) % s7_jobs_per_user))" && jobs_ok=$((jobs_ok + 1))
  done
  jq -n --argjson users "$users_ok" --argjson jobs "$jobs_ok" --argjson n "$s7_samples" \
    '{sampled: $n, users_complete: $users, jobs_found: $jobs}'
}
s7_samples=50
scenario_s7() {
  local c=$1 jobs=$((s7_users * s7_jobs_per_user))
  if [[ $c != A && $c != C ]]; then
    record S7 "$c" '{"na": "keeps no state"}'
    return
  fi
  say "S7 $c: start-up with $jobs retained jobs"
  # Mosquitto queues the retained messages of a new subscription like any other message:
  # the subscriber's queue must hold them all (docs/broker.md).
  sed -E -e "s/^max_queued_messages .*/max_queued_messages $((jobs + 10000))/" \
    -e "s/^max_queued_bytes .*/max_queued_bytes 0/" "$WORK/mosquitto.conf" >"$WORK/mosquitto-s7.conf"
  start_broker "$WORK/mosquitto-s7.conf"
  if [[ $c == A ]]; then  # the bridge's own memory before any job
    rm -rf "$WORK/bridge-data"
    start_bridge_timed empty "$WORK/s7-empty.json"
    stop_pid "$contender_pid"
  fi
  local seed_started seed_ms
  seed_started=$(now_ms)
  publish "$WORK/s7-seed.json" --users "$s7_users" --jobs-per-user "$s7_jobs_per_user" --small-states --seed \
    --seed-rate 200000
  seed_ms=$(($(now_ms) - seed_started))
  if [[ $c == C ]]; then
    local started replay_ms broker_cpu
    broker_cpu=$(cpu_seconds "$broker_pid")
    started=$(now_ms)
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -u bridge -P "$BRIDGE_PASSWORD" -i "bench-s7-$$" -q 1 \
      -t 'users/+/jobs/+' -C "$jobs" -W "$((quick == 1 ? 30 : 600))" -F '%t' >"$WORK/s7-sub.txt"
    replay_ms=$(($(now_ms) - started))
    record S7 C "$(jq -n --argjson jobs "$jobs" --argjson seed "$seed_ms" --argjson ms "$replay_ms" \
      --argjson received "$(wc -l <"$WORK/s7-sub.txt")" \
      --argjson bcpu "$(minus "$(cpu_seconds "$broker_pid")" "$broker_cpu")" \
      '{jobs: $jobs, seed_ms: $seed, replay_ms: $ms, received: $received, broker_cpu_s: $bcpu}')"
  else
    rm -rf "$WORK/bridge-data"
    local served
    start_bridge_timed "empty data directory" "$WORK/s7-cold.json" s7
    served=$(s7_served)
    # The journal writes behind the store: stop once it holds every job.
    local i
    for ((i = 0; i < 6000; i++)); do
      [[ $(metric_total progress_bridge_journal_backlog) == 0 ]] && break
      sleep 0.1
    done
    jq --argjson now "$(now_ms)" '. + {journal_done_after_ready_ms: ($now - .ready_at_ms)}' \
      "$WORK/s7-cold.json" >"$WORK/s7-cold.json.tmp"
    mv "$WORK/s7-cold.json.tmp" "$WORK/s7-cold.json"
    stop_pid "$contender_pid"
    start_bridge_timed "restart with its journal" "$WORK/s7-warm.json" s7-restart
    record S7 A "$(jq -n --argjson jobs "$jobs" --argjson seed "$seed_ms" --slurpfile empty "$WORK/s7-empty.json" \
      --slurpfile cold "$WORK/s7-cold.json" --slurpfile warm "$WORK/s7-warm.json" --argjson served "$served" \
      '{jobs: $jobs, seed_ms: $seed, empty_rss_kib: $empty[0].rss_kib, served: $served,
        starts: [$cold[0], $warm[0]] | map(. + {rss_per_job_bytes: ((.rss_kib - $empty[0].rss_kib) * 1024 / $jobs | round)})}')"
    stop_pid "$contender_pid"
    contender_pid=''
  fi
  stop_stack
}

# S8: failover between two bridge replicas on one broker. Every client holds replica 1,
# which is killed (SIGKILL); all reconnect to replica 2, which cannot resume their cursors.
# Time until 99 % hold their current state again and the bytes it took: with full snapshots
# (-full), and with the versions they hold (-state, docs/protocol.md "State resume").
replica_pid=''
start_replica() {  # a second bridge: its own ports, journal and MQTT client id
  local flags=("${bridge_flags[@]}") i
  for i in "${!flags[@]}"; do
    case ${flags[$i]} in
      127.0.0.1:$ADMIN_PORT) flags[$i]=127.0.0.1:$REPLICA_ADMIN_PORT ;;
      $WORK/bridge-data) flags[$i]=$WORK/bridge-data-2 ;;
    esac
  done
  rm -rf "$WORK/bridge-data-2"
  BRIDGE_MQTT_PASSWORD=$BRIDGE_PASSWORD BRIDGE_JWT_SECRET=$JWT_SECRET "$BRIDGE" \
    --mqtt-url "tcp://127.0.0.1:$MQTT_PORT" --mqtt-client-id "bench-bridge-2-$$" \
    --http-listen "127.0.0.1:$REPLICA_PORT" "${flags[@]}" >>"$WORK/replica-2.log" 2>&1 &
  replica_pid=$!
  pids+=("$replica_pid")
  wait_port "$REPLICA_PORT" 15 || { tail -20 "$WORK/replica-2.log" >&2; echo "replica 2 did not start" >&2; exit 1; }
  for ((i = 0; i < 200; i++)); do
    curl -sf "http://127.0.0.1:$REPLICA_ADMIN_PORT/readyz" >/dev/null && break
    sleep 0.05
  done
}
scenario_s8() {
  local c=$1 variant
  if [[ $c != A ]]; then
    record S8 "$c" '{"na": "no replicas"}'
    return
  fi
  for variant in full state; do
    local name=s8-$variant
    say "S8 $c-$variant: $s8_clients clients fail over from a killed replica"
    start_broker
    publish "$WORK/$name-seed.json" --users "$s8_clients" --jobs-per-user "$s8_jobs_per_user" --seed
    start_contender A
    start_replica
    local resume=()
    [[ $variant == state ]] && resume=(--state-resume)
    start_loadgen "$name" --clients "$s8_clients" --users "$s8_clients" --jobs-expected "$s8_jobs_per_user" \
      --failover-port "$REPLICA_PORT" --storm-timeout 60 --max-run 300 "${resume[@]}"
    sleep "$settle"
    kill -9 "$contender_pid"
    wait "$contender_pid" 2>/dev/null || true
    contender_pid=''
    wait "$loadgen_pid"
    loadgen_pid=''
    record S8 "A-$variant" "$(jq '{clients, recovered: .storm.recovered, failed_over: .storm.failed_over,
      wall_s: .storm.wall_s, recovery: .storm.recovery_ms, bytes_received: .storm.bytes_received,
      bytes_sent: .storm.bytes_sent, bytes_per_client: (.storm.bytes_received / .clients), connect_failures}' \
      "$WORK/$name.loadgen.json")"
    stop_pid "$replica_pid"
    replica_pid=''
    stop_stack
  done
}

# ---------------------------------------------------------------- run
available=()
for c in ${contenders//,/ }; do
  if [[ $c == A ]] && ! bridge_has_websocket; then
    say "contender A: this progress-bridge has no WebSocket endpoint yet; skipped"
    continue
  fi
  available+=("$c")
done
[[ ${#available[@]} -gt 0 ]] || { echo "no contender to run" >&2; exit 1; }
say "contenders: ${available[*]}; scenarios: $scenarios"
for s in S1 S2 S3 S4 S5 S6 S7 S8; do
  wants "$scenarios" "$s" || continue
  for c in "${available[@]}"; do
    "scenario_${s,,}" "$c"
  done
done

# ---------------------------------------------------------------- report
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
jq -s --arg date "$stamp" --argjson quick "$quick" --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
  --arg mosquitto "$(mosquitto -h 2>&1 | head -1)" --arg node "$(node --version)" --arg steps "$s2_steps" \
  --arg contenders "${available[*]}" '
  {date: $date, quick: ($quick == 1), host: {cpus: $cpus, kernel: $kernel, mosquitto: $mosquitto, node: $node},
   contenders: ($contenders | split(" ")), s2_steps: $steps,
   results: (group_by(.scenario) | map({key: .[0].scenario, value: .}) | from_entries)}' \
  "$WORK"/results/*.json >"$WORK/results.json"
"$BENCH_DIR/report.sh" "$WORK/results.json" "$WORK/report.md" "$WORK/plots"
cat "$WORK/report.md"
if [[ $quick == 1 ]]; then
  # Quick runs prove that every contender and scenario works: all clients connect, every
  # message arrives, slow clients end with the final state, the storm recovers.
  failures=$(jq -r '.results | [
      ((.S1 // [])[] | select(.ready != .clients) | "S1 \(.contender): \(.ready) of \(.clients) ready"),
      ((.S2 // [])[] | .contender as $c | .steps[] | select(.delivered_ratio < 0.99) | "S2 \($c): step \(.step) delivered \(.delivered_ratio)"),
      ((.S3 // [])[] | select(.delivered_ratio < 0.99) | "S3 \(.contender): delivered \(.delivered_ratio)"),
      ((.S4 // [])[] | select(.final_state.slow_ok != .final_state.slow_clients or .final_state.normal_ok != .final_state.normal_clients) | "S4 \(.contender): final state \(.final_state | tojson)"),
      ((.S5 // [])[] | select(.na == null and (.rest.requests == 0 or .rest.errors + .rest.non2xx > 0)) | "S5 \(.contender): REST \(.rest | tojson)"),
      ((.S6 // [])[] | select(.recovered < 0.99 * .clients) | "S6 \(.contender): \(.recovered) of \(.clients) recovered"),
      ((.S7 // [])[] | select(.contender == "C" and .received != .jobs) | "S7 C: mosquitto_sub received \(.received) of \(.jobs)"),
      ((.S7 // [])[] | select(.contender == "A" and (.served.users_complete != .served.sampled or .served.jobs_found != .served.sampled or .starts[0].received < .jobs)) | "S7 A: \(.served | tojson), received \(.starts[0].received) of \(.jobs)"),
      ((.S8 // [])[] | select(.na == null and .recovered < 0.99 * .clients) | "S8 \(.contender): \(.recovered) of \(.clients) recovered")
    ] | .[]' "$WORK/results.json")
  if [[ -n $failures ]]; then
    echo "quick benchmark failed:" >&2
    echo "$failures" >&2
    exit 1
  fi
  say "quick benchmark passed"
else
  mkdir -p "$BENCH_DIR/results" "$PROJECT_ROOT/docs/benchmarks"
  cp "$WORK/results.json" "$BENCH_DIR/results/$stamp.json"
  for f in "$WORK"/profile-*.txt; do [[ -f $f ]] && cp "$f" "$BENCH_DIR/results/$stamp-${f##*/}"; done
  # Only S1 and S2 draw plots: a run without them has none.
  for f in "$WORK"/plots/*.png; do [[ -f $f ]] && cp "$f" "$PROJECT_ROOT/docs/benchmarks/"; done
  "$BENCH_DIR/report.sh" --update-doc "$PROJECT_ROOT/docs/benchmarks.md" "$WORK/report.md" "$stamp"
  say "results in bench/results/$stamp.json and docs/benchmarks.md"
fi
