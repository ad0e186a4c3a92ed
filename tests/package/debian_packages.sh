#!/usr/bin/env bash
# Builds the Debian packages (cpack -G DEB), checks what they hold, unpacks them
# into a scratch root (dpkg -x: nothing is installed on this system) and runs
# them: Mosquitto with the packaged configuration, included from Debian's own
# /etc/mosquitto/mosquitto.conf, and progress-bridge with the environment its
# systemd unit and environment file give, on free loopback ports.
#
#   debian_packages.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: debian_packages.sh BUILD_DIR SOURCE_DIR WORK_DIR" >&2; exit 2; }
build=$1 source=$2 work=$3

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  [[ -n ${PROGRESS_KEEP_TEST_DIRS:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 30 s for a command to succeed while process $1 lives.
wait_for() {
  local pid=$1 tries=300
  shift
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || return 1
    ((--tries > 0)) || return 1
    sleep 0.1
  done
}

rm -rf "$work"
mkdir -p "$work/debs" "$work/root"

step "cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/debs" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
bridge_deb=$(echo "$work"/debs/progress-bridge_*.deb)
broker_deb=$(echo "$work"/debs/progress-bridge-broker-config_*.deb)
[[ -f $bridge_deb && -f $broker_deb ]] || { ls -l "$work/debs"; fail "expected two packages"; }

step "dpkg-deb --info and --contents"
dpkg-deb --info "$bridge_deb" >/dev/null && dpkg-deb --info "$broker_deb" >/dev/null
depends=$(dpkg-deb --field "$bridge_deb" Depends)
echo "progress-bridge Depends: $depends"
for library in libc6 libstdc++6 libssl3 libsqlite3-0 libpaho-mqttpp3-1 libjwt0; do
  [[ $depends == *"$library"* ]] || fail "progress-bridge does not depend on $library (dpkg-shlibdeps)"
done
[[ $(dpkg-deb --field "$broker_deb" Depends) == mosquitto* ]] || fail "the broker package does not depend on mosquitto"
[[ $(dpkg-deb --field "$broker_deb" Architecture) == all ]] || fail "the broker package is not Architecture: all"

contents() { dpkg-deb --contents "$1" | awk '{ print $1, $2, $6 }'; }
expect_file() {  # PACKAGE MODE-AND-OWNER PATH
  contents "$1" | grep -qxF -e "$2 ./${3#/}" ||
    { contents "$1"; fail "$(basename "$1") lacks $3 ($2)"; }
}
expect_file "$bridge_deb" "-rwxr-xr-x root/root" /usr/bin/progress-bridge
expect_file "$bridge_deb" "-rwxr-xr-x root/root" /usr/bin/progress-publish
expect_file "$bridge_deb" "-rw-r--r-- root/root" /usr/lib/systemd/system/progress-bridge.service
expect_file "$bridge_deb" "-rw------- root/root" /etc/progress-bridge/progress-bridge.env
expect_file "$broker_deb" "-rw-r--r-- root/root" /etc/mosquitto/conf.d/progress.conf
expect_file "$broker_deb" "-rw-r--r-- root/root" /etc/mosquitto/progress/acl
expect_file "$broker_deb" "-rwxr-xr-x root/root" /usr/bin/progress-user
# The dashboard is in the binary, and the SDK's headers and CMake files are no part of a package.
if contents "$bridge_deb" | grep -E '\./usr/(include|share/progress-bridge|lib/cmake)'; then
  fail "progress-bridge holds files of the SDK or a dashboard directory"
fi

dpkg-deb --control "$bridge_deb" "$work/bridge-control"
dpkg-deb --control "$broker_deb" "$work/broker-control"
grep -qxF /etc/progress-bridge/progress-bridge.env "$work/bridge-control/conffiles" || fail "the env file is no conffile"
grep -qxF /etc/mosquitto/conf.d/progress.conf "$work/broker-control/conffiles" || fail "progress.conf is no conffile"
for script in postinst prerm postrm; do
  [[ -x $work/bridge-control/$script ]] || fail "progress-bridge lacks an executable $script"
done

step "dpkg -x into a scratch root"
dpkg -x "$bridge_deb" "$work/root"
dpkg -x "$broker_deb" "$work/root"
root=$work/root
unit=$root/usr/lib/systemd/system/progress-bridge.service

if command -v systemd-analyze >/dev/null; then
  step "systemd-analyze verify"
  # A copy whose ExecStart names the binary in the scratch root (verify checks that it
  # is executable). verify exits 0 on settings it ignores: any output is a failure.
  mkdir -p "$work/verify"
  sed "s|^ExecStart=/|ExecStart=$root/|" "$unit" >"$work/verify/progress-bridge.service"
  systemd-analyze verify "$work/verify/progress-bridge.service" >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log"; fail "systemd-analyze verify refused the unit"; }
  [[ ! -s $work/verify.log ]] || { cat "$work/verify.log"; fail "systemd-analyze verify complained"; }
else
  echo "NOTE: systemd-analyze is not installed (package systemd): the unit is not verified by systemd; every other check runs"
fi

step "the unit and its environment file"
service_value() { sed -n "/^\[Service\]/,/^\[/s/^$1=//p" "$unit"; }
[[ $(service_value DynamicUser) == yes ]] || fail "the unit does not run as a dynamic user"
[[ $(service_value ProtectSystem) == strict ]] || fail "the unit lacks ProtectSystem=strict"
[[ $(service_value NoNewPrivileges) == yes && $(service_value PrivateTmp) == yes ]] || fail "the unit lacks hardening"
state_dir=/var/lib/$(service_value StateDirectory)
exec_start=$(service_value ExecStart)
env_file=$(service_value EnvironmentFile)
[[ $exec_start =~ ^/[^\ \"\'\;]+(\ [^\"\'\;]*)?$ ]] || fail "ExecStart is not a plain command line: $exec_start"
read -r -a command_line <<<"$exec_start"
command_line[0]=$root${command_line[0]}

# What systemd passes: the unit's Environment=, then the file's lines over them.
environment=()
while read -r assignments; do
  [[ $assignments != *[\"\']* ]] || fail "quoted Environment= lines are not read here: $assignments"
  read -r -a words <<<"$assignments"
  environment+=("${words[@]}")
done < <(service_value Environment)
[[ -f $root${env_file#-} ]] || fail "EnvironmentFile $env_file is not in the package"
while IFS= read -r line; do
  [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
  [[ $line =~ ^[A-Z_][A-Z0-9_]*=[^\"\']*$ ]] || fail "unexpected line in $env_file: $line"
  environment+=("$line")
done <"$root${env_file#-}"
printf '  %s\n' "${environment[@]}"
lookup() {
  local entry value=
  for entry in "${environment[@]}"; do [[ $entry == "$1="* ]] && value=${entry#*=}; done
  echo "$value"
}
[[ $(lookup BRIDGE_DATA_DIR) == "$state_dir" ]] || fail "BRIDGE_DATA_DIR is not the unit's StateDirectory $state_dir"
[[ -z $(lookup BRIDGE_WEB_ROOT) ]] || fail "the env file sets a web root: the dashboard is built in"
bridge_account=$(lookup BRIDGE_MQTT_USERNAME)
[[ -n $bridge_account ]] || fail "the env file names no broker account"

step "Mosquitto with the packaged configuration"
broker=$work/broker
mkdir -p "$broker/conf.d" "$broker/data"
mqtt_port=$(free_port) ws_port=$(free_port)
# Debian's main file, with its paths moved into the scratch directory, includes the
# packaged conf.d/progress.conf, whose /etc paths and ports are moved likewise.
[[ -f /etc/mosquitto/mosquitto.conf ]] || fail "/etc/mosquitto/mosquitto.conf (Debian's mosquitto) is missing"
sed -E -e '/^pid_file /d' -e '/^log_dest file /d' \
  -e "s|^persistence_location .*|persistence_location $broker/data/|" \
  -e "s|^include_dir .*|include_dir $broker/conf.d|" /etc/mosquitto/mosquitto.conf >"$broker/mosquitto.conf"
grep -q "^include_dir $broker/conf.d$" "$broker/mosquitto.conf" || fail "Debian's mosquitto.conf has no include_dir"
# Started as root, Mosquitto would switch to its own account, which cannot read the scratch files.
echo "user $(id -un)" >>"$broker/mosquitto.conf"
sed -E -e "s|^password_file .*|password_file $broker/passwd|" \
  -e "s|^acl_file /etc/mosquitto/progress/acl$|acl_file $root/etc/mosquitto/progress/acl|" \
  -e "s|^listener 1883 127\.0\.0\.1$|listener $mqtt_port 127.0.0.1|" \
  -e "s|^listener 9001 127\.0\.0\.1$|listener $ws_port 127.0.0.1|" \
  "$root/etc/mosquitto/conf.d/progress.conf" >"$broker/conf.d/progress.conf"
grep -q "^listener $mqtt_port 127.0.0.1$" "$broker/conf.d/progress.conf" &&
  grep -q "^acl_file $root/" "$broker/conf.d/progress.conf" || fail "progress.conf lacks the expected listener or acl_file lines"
mqtt_password=bridge-package-test-pw
"$root/usr/bin/progress-user" add "$broker/passwd" "$bridge_account" "$mqtt_password" >/dev/null
/usr/sbin/mosquitto -c "$broker/mosquitto.conf" >"$broker/mosquitto.log" 2>&1 &
pids+=($!)
wait_for "${pids[-1]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$mqtt_port" ||
  { cat "$broker/mosquitto.log"; fail "mosquitto did not start"; }

step "progress-bridge from the scratch root"
"${command_line[0]}" --version
http_port=$(free_port) admin_port=$(free_port)
mkdir -p "$work/state"
env -i PATH=/usr/bin:/bin "${environment[@]}" \
  BRIDGE_MQTT_URL="tcp://127.0.0.1:$mqtt_port" BRIDGE_MQTT_PASSWORD="$mqtt_password" \
  BRIDGE_JWT_SECRET=package-test-secret-of-at-least-32-bytes \
  BRIDGE_HTTP_LISTEN="127.0.0.1:$http_port" BRIDGE_ADMIN_LISTEN="127.0.0.1:$admin_port" \
  BRIDGE_DATA_DIR="$work/state/progress-bridge" \
  "${command_line[@]}" >"$work/bridge.log" 2>&1 &
pids+=($!)
ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/readyz") == 200 ]]; }
wait_for "${pids[-1]}" ready || { cat "$work/bridge.log" "$broker/mosquitto.log"; fail "/readyz did not answer 200"; }
echo "/readyz: 200"

fetch() {  # PATH -> status and content type; the body in $work/body
  curl -s -o "$work/body" -w '%{http_code} %{content_type}' "http://127.0.0.1:$http_port$1"
}
[[ $(fetch /) == "200 text/html; charset=utf-8" ]] || fail "/ answers $(fetch /)"
cmp -s "$work/body" "$source/web/index.html" || fail "/ is not the dashboard's index.html"
# The client and the modules it imports, each as its source.
for module in "$source"/web/*.js; do
  name=/$(basename "$module")
  [[ $(fetch "$name") == "200 text/javascript; charset=utf-8" ]] || fail "$name answers $(fetch "$name")"
  cmp -s "$work/body" "$module" || fail "$name is not web$name"
done
grep -q "from the built-in dashboard" "$work/bridge.log" || { cat "$work/bridge.log"; fail "the bridge did not serve the built-in dashboard"; }
[[ -f $work/state/progress-bridge/journal.db ]] || fail "no journal in the data directory"
echo "/: the dashboard; journal in the data directory"
echo "PASS"
