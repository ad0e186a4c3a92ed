#!/usr/bin/env bash
# Prepares the shared broker volume for docker-compose: renders the project's
# mosquitto.conf (listeners on all interfaces of the broker's container,
# published to the host's loopback by docker-compose.yml) and creates the
# accounts from the environment.
set -euo pipefail
config=/usr/local/share/progress-bridge/broker-config
target=${BROKER_DIR:-/broker}
"$config/render-config" "$target" --bind 0.0.0.0 --run-as mosquitto
rm -f "$target/passwd"
for account in worker bridge alice bob carol; do
  variable="${account^^}_PASSWORD"
  "$config/progress-user" add "$target/passwd" "$account" "${!variable:?set $variable}"
done
# The eclipse-mosquitto image runs as uid 1883: only it may read the passwords.
chown 1883:1883 "$target/passwd"
chmod 600 "$target/passwd"
chown -R 1883:1883 "$target/data"
