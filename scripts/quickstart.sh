#!/usr/bin/env bash
# Installs what is missing, builds, and runs Progress Bridge locally: Mosquitto
# with the project's broker-config, the bridge and the demo worker, all on
# 127.0.0.1. Stop with Ctrl-C. State and logs live in .run/.
#
# Environment: MQTT_PORT (default 1883, or the next free one), MQTT_WS_PORT
# (default 9001), HTTP_PORT (default 8080), ADMIN_PORT (default: the one after HTTP_PORT; the
# bridge's probes and metrics).
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_packages "${PROGRESS_PACKAGES[@]}"
say "building in $BUILD_DIR"
build_project progress-bridge progress-demo-worker

RUN_DIR=$PROJECT_ROOT/.run
mkdir -p "$RUN_DIR"
chmod 755 "$RUN_DIR"

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

pids=()
cleanup() {
  trap - EXIT INT TERM
  say "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

say "starting mosquitto on 127.0.0.1:$MQTT_PORT (websockets :$MQTT_WS_PORT)"
"$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$RUN_DIR/mosquitto.conf" >"$RUN_DIR/mosquitto.log" 2>&1 &
pids+=($!)
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
    "$BRIDGE" >"$RUN_DIR/bridge.log" 2>&1 &
  pids+=($!)
fi

say "starting the demo worker"
PROGRESS_MQTT_URL=$MQTT_URL PROGRESS_MQTT_USERNAME=worker PROGRESS_MQTT_PASSWORD=$WORKER_PASSWORD \
  "$BUILD_DIR/examples/progress-demo-worker" >"$RUN_DIR/demo-worker.log" 2>&1 &
pids+=($!)

cat <<INFO

Progress Bridge is running (logs in .run/). Watch alice's jobs straight from the broker:

  mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -u alice -P '$ALICE_PASSWORD' -t 'users/alice/jobs/+' -v

Alice may read only her own jobs; this one gets nothing of bob's:

  mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -u alice -P '$ALICE_PASSWORD' -t 'users/#' -v
INFO
if [[ -x $BRIDGE ]]; then
  for _ in $(seq 50); do port_busy "$HTTP_PORT" && break; sleep 0.1; done
  TOKEN=$("$BRIDGE" token --user alice --ttl 12h --jwt-secret "$JWT_SECRET")
  ADMIN_TOKEN=$("$BRIDGE" token --user ops --admin --ttl 12h --jwt-secret "$JWT_SECRET")
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
INFO
fi
printf '\nPress Ctrl-C to stop.\n'
wait -n "${pids[@]}" || true
say "a process exited; see the logs in .run/"
