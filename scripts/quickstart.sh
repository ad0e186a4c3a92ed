#!/usr/bin/env bash
# Installs what is missing, builds, and runs Progress Bridge locally: Mosquitto
# with the project's broker-config, the bridge and the demo worker, all on
# 127.0.0.1. Stop with Ctrl-C. State and logs live in .run/, and .run/env sets
# up a shell for the examples in docs/ (`source .run/env`).
#
#   ./scripts/quickstart.sh [--no-build]   (--no-build: use what $BUILD_DIR holds)
#
# Environment: MQTT_PORT (default 1883, or the next free one), MQTT_WS_PORT
# (default 9001), HTTP_PORT (default 8080), ADMIN_PORT (default: the one after HTTP_PORT; the
# bridge's probes and metrics), RUN_DIR (default .run), BUILD_DIR (default build).
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [[ ${1:-} != --no-build ]]; then
  ensure_packages "${PROGRESS_PACKAGES[@]}"
  say "building in $BUILD_DIR"
  build_project progress-bridge progress-publish progress-demo-worker
fi

RUN_DIR=${RUN_DIR:-$PROJECT_ROOT/.run}
mkdir -p "$RUN_DIR"
chmod 755 "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
# .run/ as the user sees it from the project's root, for the lines printed below.
SHOWN_RUN_DIR=${RUN_DIR#"$PROJECT_ROOT"/}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A Debian mosquitto service may already hold 1883: take the next free port.
pick_port() {
  local port=$1
  while port_busy "$port"; do port=$((port + 1)); done
  echo "$port"
}
MQTT_PORT=$(pick_port "${MQTT_PORT:-1883}")
MQTT_WS_PORT=$(pick_port "${MQTT_WS_PORT:-9001}")
HTTP_PORT=$(pick_port "${HTTP_PORT:-8080}")
ADMIN_PORT=$(pick_port "${ADMIN_PORT:-$((HTTP_PORT + 1))}")

# Accounts and passwords are made once and kept in .run/credentials.env (mode 600).
CREDENTIALS=$RUN_DIR/credentials.env
if [[ ! -f $CREDENTIALS ]]; then
  rm -f "$RUN_DIR/passwd"
  install -m 600 /dev/null "$CREDENTIALS"
  for account in worker bridge alice bob carol; do
    password=$("$PROJECT_ROOT/broker-config/progress-user" add "$RUN_DIR/passwd" "$account")
    echo "${account^^}_PASSWORD=$password" >>"$CREDENTIALS"
  done
  echo "JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')" >>"$CREDENTIALS"
fi
# shellcheck source=/dev/null
source "$CREDENTIALS"
chmod 600 "$RUN_DIR/passwd"  # mosquitto runs as this user (render-config)
"$PROJECT_ROOT/broker-config/render-config" "$RUN_DIR" --port "$MQTT_PORT" --ws-port "$MQTT_WS_PORT"

# .run/env: what a shell needs to run the examples in docs/ against this system.
write_run_env() {
  local file=$1
  install -m 600 /dev/null "$file"
  {
    echo "# Written by scripts/quickstart.sh for the system it runs: source it in a shell."
    printf 'export PATH=%q:"$PATH"\n' "$BUILD_DIR/bridge:$BUILD_DIR/publisher-sdk"
    printf 'export BRIDGE_JWT_SECRET=%q\n' "$JWT_SECRET"
    printf 'export TOKEN=%q  # alice, valid 12 h\n' "$TOKEN"
    printf 'export BRIDGE_URL=%q ADMIN_URL=%q MQTT_URL=%q\n' \
      "http://127.0.0.1:$HTTP_PORT" "http://127.0.0.1:$ADMIN_PORT" "$MQTT_URL"
    echo "# The worker account, for progress-publish and the SDK examples:"
    printf 'export PROGRESS_MQTT_URL=%q PROGRESS_MQTT_USERNAME=worker PROGRESS_MQTT_PASSWORD=%q\n' \
      "$MQTT_URL" "$WORKER_PASSWORD"
  } >"$file"
}

# The children, and what to call each one when it ends on its own.
pids=()
declare -A name_of=() log_of=()
start_child() {
  local name=$1 log=$2
  shift 2
  "$@" >"$RUN_DIR/$log" 2>&1 &
  pids+=($!)
  name_of[$!]=$name
  log_of[$!]=$RUN_DIR/$log
}
stop_children() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_children EXIT
trap 'exit 130' INT TERM  # while starting: stop at once (the EXIT trap stops the children)

say "starting mosquitto on 127.0.0.1:$MQTT_PORT (websockets :$MQTT_WS_PORT)"
start_child mosquitto mosquitto.log "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$RUN_DIR/mosquitto.conf"
for _ in $(seq 50); do port_busy "$MQTT_PORT" && break; sleep 0.1; done
port_busy "$MQTT_PORT" || { cat "$RUN_DIR/mosquitto.log"; exit 1; }

MQTT_URL=tcp://127.0.0.1:$MQTT_PORT
BRIDGE=$BUILD_DIR/bridge/progress-bridge
if [[ -x $BRIDGE ]]; then
  say "starting progress-bridge on http://127.0.0.1:$HTTP_PORT"
  BRIDGE_MQTT_URL=$MQTT_URL BRIDGE_MQTT_USERNAME=bridge BRIDGE_MQTT_PASSWORD=$BRIDGE_PASSWORD \
  BRIDGE_JWT_SECRET=$JWT_SECRET BRIDGE_HTTP_LISTEN=127.0.0.1:$HTTP_PORT BRIDGE_ADMIN_LISTEN=127.0.0.1:$ADMIN_PORT \
  BRIDGE_WEB_ROOT=$PROJECT_ROOT/web \
  BRIDGE_DATA_DIR=$RUN_DIR/bridge-data \
    start_child progress-bridge bridge.log "$BRIDGE"
fi

say "starting the demo worker"
PROGRESS_MQTT_URL=$MQTT_URL PROGRESS_MQTT_USERNAME=worker PROGRESS_MQTT_PASSWORD=$WORKER_PASSWORD \
  start_child progress-demo-worker demo-worker.log "$BUILD_DIR/examples/progress-demo-worker"

cat <<INFO

Progress Bridge is running (logs in $SHOWN_RUN_DIR/). Watch alice's jobs straight from the broker:

  mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -u alice -P '$ALICE_PASSWORD' -t 'users/alice/jobs/+' -v

Alice may read only her own jobs; this one gets nothing of bob's:

  mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -u alice -P '$ALICE_PASSWORD' -t 'users/#' -v
INFO
if [[ -x $BRIDGE ]]; then
  for _ in $(seq 50); do port_busy "$HTTP_PORT" && break; sleep 0.1; done
  TOKEN=$(BRIDGE_JWT_SECRET=$JWT_SECRET "$BRIDGE" token --user alice --ttl 12h)
  ADMIN_TOKEN=$(BRIDGE_JWT_SECRET=$JWT_SECRET "$BRIDGE" token --user ops --admin --ttl 12h)
  write_run_env "$RUN_DIR/env"
  cat <<INFO

Ask the bridge for alice's jobs (tokens valid 12 h):

  curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$HTTP_PORT/api/v1/users/alice/jobs

Follow them live (server-sent events):

  curl -sN -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$HTTP_PORT/api/v1/users/alice/stream

Open the dashboard in a browser, as alice or as an admin who sees every user:

  http://127.0.0.1:$HTTP_PORT/#token=$TOKEN
  http://127.0.0.1:$HTTP_PORT/#token=$ADMIN_TOKEN

Probes and Prometheus metrics are on the admin listener:

  curl -s http://127.0.0.1:$ADMIN_PORT/readyz
  curl -s http://127.0.0.1:$ADMIN_PORT/metrics

For the examples in docs/, in another shell from here:

  source $SHOWN_RUN_DIR/env

sets PATH (progress-bridge, progress-publish), BRIDGE_JWT_SECRET, TOKEN (alice's), BRIDGE_URL,
ADMIN_URL, MQTT_URL and the worker's PROGRESS_MQTT_URL, _USERNAME and _PASSWORD.
INFO
fi
printf '\nPress Ctrl-C to stop.\n'

stopping=false
trap 'stopping=true' INT TERM
status=0
wait -n -p ended "${pids[@]}" || status=$?
if $stopping; then
  say "Ctrl-C: stopping mosquitto, the bridge and the demo worker"
  stop_children
  say "stopped; logs and credentials stay in $SHOWN_RUN_DIR/"
  exit 0
fi
say "${name_of[$ended]} stopped on its own (exit status $status); its log, ${log_of[$ended]#"$PROJECT_ROOT"/}, ends with:"
tail -n 20 "${log_of[$ended]}"
say "stopping the others"
exit 1
