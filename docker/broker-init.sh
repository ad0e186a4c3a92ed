#!/usr/bin/env bash
# Prepares the shared broker volume for docker-compose: renders the project's
# mosquitto.conf (listeners on all interfaces of the broker's container,
# published to the host's loopback by docker-compose.yml) and creates the
# accounts from the environment. With BROKER_PEER (host:port) the broker
# joins that peer (render-config --peer, docs/scaling.md); with
# BROKER_PEER_PASSWORD it has the account broker-peer that a peer logs in as.
set -euo pipefail
config=/usr/local/share/progress-bridge/broker-config
target=${BROKER_DIR:-/broker}
peer_options=()
if [[ -n ${BROKER_PEER:-} ]]; then
  install -m 600 /dev/null "$target/peer-password"
  printf '%s\n' "${BROKER_PEER_PASSWORD:?set BROKER_PEER_PASSWORD}" > "$target/peer-password"
  peer_options=(--peer "$BROKER_PEER" --peer-password-file "$target/peer-password")
fi
"$config/render-config" "$target" --bind 0.0.0.0 --run-as mosquitto "${peer_options[@]}"
rm -f "$target/passwd" "$target/peer-password"
accounts=(worker bridge alice bob carol)
[[ -n ${BROKER_PEER_PASSWORD:-} ]] && accounts+=(broker-peer)
for account in "${accounts[@]}"; do
  variable="${account^^}_PASSWORD"
  variable=${variable//-/_}
  "$config/progress-user" add "$target/passwd" "$account" "${!variable:?set $variable}"
done
# The eclipse-mosquitto image runs as uid 1883: only it may read the passwords
# (and the peer's password, written into mosquitto.conf with --peer).
chown 1883:1883 "$target/passwd" "$target/mosquitto.conf"
chmod 600 "$target/passwd"
chown -R 1883:1883 "$target/data"
