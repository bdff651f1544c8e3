#!/usr/bin/env bash
# credbroker under a real systemd: `make test-systemd DEB=dist/credbroker_*.deb`.
#
# Boots a Debian 12 root (packaging/nspawn/root.sh, cached) with systemd 252 as
# PID 1 under systemd-nspawn, in a network namespace of its own (only lo), and
# follows packaging/README.md as written: every block marked
# `<!-- test-systemd: NAME -->` runs as it stands, in the README's words, as root
# (host blocks) or as a user (the user service), and a step that fails fails
# the test. Around the steps it checks what the README promises and issue 12
# lists: READY, socket activation after a stop, the watchdog (WatchdogSec=4s
# in a test drop-in, to keep the run short), reload with a good and a bad
# config, journald priorities, a refused config that does not loop, the
# sandbox at runtime, the EC2 experience for aws and boto3 with no AWS_*
# variable and no ~/.aws, the user unit, and dpkg --purge.
#
# Needs root, systemd-nspawn (systemd-container), debootstrap, nsenter. Skips,
# loudly, only where those are missing or nspawn cannot boot a container here.
# CREDBROKER_TEST_KEEP=1 keeps the container's root and log for a post-mortem.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
readme="$here/../README.md"
deb=${1:?usage: test-systemd.sh CREDBROKER.deb}
deb=$(realpath "$deb")

passed=0 failed=0
say() { printf 'test-systemd: %s\n' "$*"; }
skip() {
	printf '\n##########\ntest-systemd: SKIPPED: %s\n##########\n' "$*"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}
pass() { passed=$((passed + 1)); say "PASS $1"; }
fail() {
	failed=$((failed + 1))
	say "FAIL $1"
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/    | /' | redact
}
# redact hides the secrets the test handles (the root key, alice's keys) in
# what it prints.
redact() { sed -E 's/(aws_secret_access_key *= *|"SecretAccessKey": *"|SecretAccessKey=)[^" ]+/\1<redacted>/g'; }

[ "$(id -u)" = 0 ] || skip "needs root: systemd-nspawn boots a Debian root with systemd as PID 1"
for tool in systemd-nspawn debootstrap nsenter flock pgrep timeout; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found: apt-get install systemd-container debootstrap util-linux procps (as .ci/run does)"
done
[ -f "$deb" ] || { echo "test-systemd: no package $deb"; exit 1; }

work=$(mktemp -d /var/tmp/credbroker-nspawn.XXXXXX)
nspawn_pid=""
# forget_keys: the container has no user namespace, so a uid's kernel keyring
# is the host kernel's, and outlives the container: drop the keyring named
# credbroker of the users the test fills, and nothing else.
forget_keys() {
	cin 'for u in credbroker dev; do id -u $u >/dev/null 2>&1 || continue
		k=$(runuser -u $u -- keyctl search @u keyring credbroker 2>/dev/null) && runuser -u $u -- keyctl unlink $k @u; done' >/dev/null 2>&1
}
cleanup() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		[ -z "${leader:-}" ] || forget_keys
		kill -TERM "$nspawn_pid" 2>/dev/null # nspawn powers the container off
		for _ in $(seq 40); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
		kill -KILL "$nspawn_pid" 2>/dev/null
		wait "$nspawn_pid" 2>/dev/null
	fi
	if [ "${CREDBROKER_TEST_KEEP:-}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

start=$(date +%s)
cached=$("$here/root.sh") || { echo "test-systemd: building the Debian root failed"; exit 1; }
# The cached root stays as it is: the container writes to a tmpfs over it
# (--volatile=overlay), or, with CREDBROKER_TEST_COPY=1, to a copy.
root_opts=(-D "$cached" --volatile=overlay)
if [ "${CREDBROKER_TEST_COPY:-}" = 1 ]; then
	cp -a "$cached" "$work/root"
	root_opts=(-D "$work/root")
fi
say "root $cached ready in $(($(date +%s) - start))s"

# The container: its own network namespace (the link-local addresses go on its
# lo, not the host's), keyctl allowed (nspawn's default filter blocks it).
systemd-nspawn -q "${root_opts[@]}" -M "cbtest$$" --register=no --keep-unit --private-network \
	--bind-ro="$deb:/root/dist/$(basename "$deb")" \
	--system-call-filter='add_key keyctl request_key' --boot >"$work/console.log" 2>&1 &
nspawn_pid=$!
leader=""
for _ in $(seq 100); do
	leader=$(pgrep -P "$nspawn_pid" -x systemd || true)
	[ -n "$leader" ] && break
	kill -0 "$nspawn_pid" 2>/dev/null || break
	sleep 0.2
done
[ -n "$leader" ] || { tail -20 "$work/console.log"; skip "systemd-nspawn cannot boot a container on this machine (console above)"; }

# in runs a bash script in the container as root, in /root, with a clean
# environment (no AWS_*, no ~/.aws); stdin is passed on.
PATHS=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cin() {
	timeout 300 nsenter -t "$leader" -m -u -i -n -p -r -w -- /usr/bin/env -i PATH=$PATHS HOME=/root USER=root LANG=C.UTF-8 \
		/bin/bash -c 'cd /root && eval "$1"' cin "$1"
}
# as USER SCRIPT runs it as a user of the container with a login's variables.
as() {
	local uid
	uid=$(cin "id -u $1")
	timeout 300 nsenter -t "$leader" -m -u -i -n -p -r -w -- /usr/bin/env -i PATH=$PATHS LANG=C.UTF-8 \
		/usr/sbin/runuser -u "$1" -- /usr/bin/env HOME="/home/$1" USER="$1" LOGNAME="$1" \
		XDG_RUNTIME_DIR="/run/user/$uid" EDITOR=/usr/local/bin/cb-test-editor \
		/bin/bash -c 'cd && eval "$1"' as "$2"
}
# block NAME prints the README's block marked NAME; drop lines that reach AWS.
block() {
	awk -v m="<!-- test-systemd: $1 -->" '$0 == m {f = 1; next} f == 1 && /^```/ {f = 2; next} f == 2 && /^```/ {exit} f == 2 {print}' "$readme"
}
# step NAME [USER]: the README's block NAME, as written, under bash -e. The
# step's output is in $out.
step() {
	local name=$1 user=${2:-} script
	script=$(block "$name")
	if [ -z "$script" ]; then
		fail "README step $name" "no <!-- test-systemd: $name --> block in packaging/README.md"
		return 1
	fi
	if grep -q '(reaches AWS)' <<<"$script"; then
		say "README step $name: left out here (no network): $(grep '(reaches AWS)' <<<"$script" | sed 's/  *#.*//')"
		script=$(grep -v '(reaches AWS)' <<<"$script")
	fi
	if [ -n "$user" ]; then
		out=$(as "$user" "set -e; $script" 2>&1)
	else
		out=$(cin "set -e; $script" 2>&1)
	fi
	local rc=$?
	if [ $rc -eq 0 ]; then pass "README step $name"; else fail "README step $name (exit $rc)" "$out"; fi
	return $rc
}
# check NAME SCRIPT: passes when SCRIPT (run as root in the container) exits 0.
check() {
	local o
	if o=$(cin "$2" 2>&1); then pass "$1"; else fail "$1" "$o"; fi
}
# eventually NAME SECONDS SCRIPT: check, retried every half second.
eventually() {
	local o end=$(($(date +%s) + $2))
	while :; do
		if o=$(cin "$3" 2>&1); then pass "$1"; return 0; fi
		[ "$(date +%s)" -lt "$end" ] || break
		sleep 0.5
	done
	fail "$1" "$o"
	return 1
}
prop() { cin "systemctl show -p $2 --value $1"; }

for _ in $(seq 120); do # until the manager answers on its bus
	cin 'test -S /run/systemd/private' && break
	sleep 0.5
done
cin 'timeout 90 systemctl is-system-running --wait' >/dev/null 2>&1
state=$(cin 'systemctl is-system-running' 2>&1)
case "$state" in
running | degraded) say "booted: systemd $(cin 'systemctl --version | head -1'), state $state" ;;
*) tail -20 "$work/console.log"; fail "boot" "system state: $state"; echo "$passed passed, $failed failed"; exit 1 ;;
esac

# What a person does in $EDITOR for the user service: the role they may assume
# on this host's core, reached as their STS.
cin 'cat >/usr/local/bin/cb-test-editor <<EOF
#!/bin/sh
sed -i -e "s|^upstream \"sts\" {}|upstream \"sts\" {\n  endpoint = \"http://127.0.0.1:8913\"\n}|" \
  -e "s|role/developer|role/deploy|" "\$1"
EOF
chmod 755 /usr/local/bin/cb-test-editor; useradd -m tester'

imds_creds() { # imds_creds ADDR: the role's credentials through IMDSv2, as a user
	echo 't=$(curl -m 10 -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://'"$1"'/latest/api/token) &&
	r=$(curl -m 10 -sf -H "X-aws-ec2-metadata-token: $t" http://'"$1"'/latest/meta-data/iam/security-credentials/) &&
	curl -m 10 -sf -H "X-aws-ec2-metadata-token: $t" http://'"$1"'/latest/meta-data/iam/security-credentials/$r | grep -q "\"AccessKeyId\""'
}
no403() { # no audit or refusal line with status 403 since the service's last start
	echo 'systemctl is-active -q credbroker.service && inv=$(systemctl show -p InvocationID --value credbroker.service) && test -n "$inv" &&
	! journalctl -q -o cat _SYSTEMD_INVOCATION_ID=$inv | grep -E "status=403|MissingAuthenticationToken|Forbidden"'
}

# --- install; the shipped config on a fresh host ---
step host-install
cin 'useradd -m dev'
forget_keys # left by an earlier run that died
check "nothing enabled or running after install" '! systemctl is-enabled -q credbroker.service credbroker-imds.socket credbroker-container.socket && ! systemctl is-active -q credbroker.service'
check "Depends installed ip (iproute2)" 'command -v ip'
check "the shipped config starts on a fresh host (no core yet, no roles)" 'systemctl start credbroker.service &&
	systemctl show -p StatusText --value credbroker.service | grep "serving 0 roles" &&
	t=$(curl -m 10 -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://127.0.0.1:8911/latest/api/token) &&
	test "$(curl -m 10 -s -o /dev/null -w %{http_code} -H "X-aws-ec2-metadata-token: $t" http://127.0.0.1:8911/latest/meta-data/iam/security-credentials/)" = 404'
cin 'systemctl stop credbroker.service'

# --- the embedded core, the bootstrap, the role ---
step host-core
core_out=$out
check "core init: the state directory stays 0700 under systemd-run" 'test "$(stat -c %a /var/lib/credbroker)" = 700'
eventually "READY (Type=notify): active, running, STATUS" 20 'test "$(systemctl show -p ActiveState,SubState --value credbroker.service | tr "\n" " ")" = "active running " &&
	systemctl show -p StatusText --value credbroker.service | grep -E "serving 0 roles.*upstream embedded|serving 0 roles"'
root_id=$(sed -nE 's/^ *aws_access_key_id *= *([A-Z0-9]+).*/\1/p' <<<"$core_out" | head -1)
root_secret=$(sed -nE 's/^ *aws_secret_access_key *= *([^ ]+).*/\1/p' <<<"$core_out" | head -1)
if [ -z "$root_id" ] || [ -z "$root_secret" ]; then
	fail "core init printed root's key" "$core_out"
fi
# The person types what core init showed.
script=$(block host-bootstrap)
out=$(printf '%s\n%s\n' "$root_id" "$root_secret" | cin "set -e; $script" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then pass "README step host-bootstrap"; else fail "README step host-bootstrap (exit $rc)" "$out"; fi
check "keys add (auto) went to the service user's kernel keyring" 'sudo -u credbroker credbroker keys list --config /etc/credbroker/credbroker.hcl | grep "^alice " && sudo -u credbroker keyctl show @u | grep -E "keyring: credbroker$"'
step host-role
eventually "READY with the role's session fetched (auto chose the kernel keyring in the sandbox)" 20 \
	'systemctl show -p StatusText --value credbroker.service | grep -F "serving 1 roles (1 sessions ready)"'
check "journal: the keyring in use is the kernel keyring" 'inv=$(systemctl show -p InvocationID --value credbroker.service); journalctl -q -o cat _SYSTEMD_INVOCATION_ID=$inv | grep "keyring open" | grep "kernel keyring"'
check "IMDS on 127.0.0.1:8911 hands a user the role" "runuser -u tester -- bash -c '$(imds_creds 127.0.0.1:8911)'"
check "no 403 audit line from the daemon's own probes" "$(no403)"

# --- link-local: the EC2 experience ---
check "systemctl refuses to restart a socket while its service runs (why the README stops them first)" \
	'! systemctl restart credbroker-imds.socket && journalctl -q -o cat -u credbroker-imds.socket | grep -F "already active, refusing"'
step host-link-local
check "IMDS and the container endpoint on their well-known addresses" 'ip -br address show dev lo | grep -F 169.254.169.254/32 && ip -br address show dev lo | grep -F 169.254.170.2/32'
eventually "the service is up on 169.254.170.2 with no restart (probe not refused)" 20 \
	'test "$(systemctl show -p SubState --value credbroker.service)" = running && test "$(systemctl show -p NRestarts --value credbroker.service)" = 0 &&
	systemctl show -p StatusText --value credbroker.service | grep -F "1 sessions ready"'
check "no 403 line from the probe of 169.254.170.2" "$(no403)"
check "the container endpoint at 169.254.170.2 serves the token's holder" 'curl -m 10 -sf -H "Authorization: $(cat /run/credbroker/container.token)" http://169.254.170.2/v1/credentials | grep -q AccessKeyId'
step host-any-user tester
if grep -q 'iam-role' <<<"$out" && grep -q 'assumed-role/deploy/' <<<"$out"; then
	pass "aws (Debian 12's awscli 2.9, botocore 1.29) and boto3 get the role from 169.254.169.254 with no AWS_* and no ~/.aws"
else
	fail "aws and boto3 get the role from 169.254.169.254" "$out"
fi
check "the user has no ~/.aws and no AWS_* variable" 'test ! -e /home/tester/.aws && ! runuser -u tester -- env | grep ^AWS_'

# --- socket activation after a stop ---
check "socket activation: a request after systemctl stop starts the service" 'systemctl stop credbroker.service && ! systemctl is-active -q credbroker.service &&
	'"$(imds_creds 169.254.169.254)"' && systemctl is-active credbroker.service'

# --- the sandbox at runtime ---
main=$(prop credbroker.service MainPID)
cbuid=$(cin 'id -u credbroker')
cbgid=$(cin 'id -g credbroker')
sandbox() { # sandbox SCRIPT: run in the service's mount namespace with its uid
	echo "nsenter -t $main -m -S $cbuid -G $cbgid -- sh -c '$1'"
}
check "sandbox: /dev/shm not writable by the service" "test $main -gt 0 && ! $(sandbox 'echo x > /dev/shm/credbroker-probe') && test ! -e /dev/shm/credbroker-probe"
check "sandbox: /home and /run/user unreadable (ProtectHome)" "test $main -gt 0 && ! $(sandbox 'ls /home/tester') && ! $(sandbox 'ls /run/user/')"
check "sandbox: no core dumps (LimitCORE=0)" "test \"\$(prop_core=\$(systemctl show -p LimitCORE --value credbroker.service); echo \$prop_core)\" = 0 && grep -E '^Max core file size +0 +0' /proc/$main/limits"
check "sandbox: read-only /usr and /etc" "test $main -gt 0 && ! $(sandbox 'touch /usr/credbroker-probe') && ! $(sandbox 'touch /etc/credbroker/probe')"
check "sandbox: no capabilities" "grep -E '^CapEff:[[:space:]]+0+$' /proc/$main/status"

# --- reload: good, then bad ---
cin 'cp /etc/credbroker/credbroker.hcl /root/good.hcl'
check "systemctl reload with a good config" 'printf "%s\n" "role \"deploy-too\" {" "  arn    = \"arn:aws:iam::123456789012:role/deploy\"" "  source = \"alice\"" "}" >> /etc/credbroker/credbroker.hcl &&
	systemctl reload credbroker.service && systemctl show -p StatusText --value credbroker.service | grep -F "serving 2 roles"'
main=$(prop credbroker.service MainPID)
cin 'printf "%s\n" "role \"broken\" {" "  arn    = \"not-an-arn\"" "  source = \"alice\"" "}" >> /etc/credbroker/credbroker.hcl'
check "systemctl reload with a bad config fails" '! systemctl reload credbroker.service'
check "after the bad reload the old config keeps serving" "test \"\$(systemctl show -p MainPID --value credbroker.service)\" = $main &&
	systemctl show -p StatusText --value credbroker.service | grep 'reload failed, still serving' && $(imds_creds 169.254.169.254)"
check "journal -p err: the reload's faults (file, line)" 'journalctl -q -u credbroker -p err -o cat | grep "credbroker.hcl:[0-9]*:[0-9]*"'
check "journal priorities: info is not an error, errors are" 'journalctl -q -u credbroker -p err -o cat | grep -q "reload refused" && ! journalctl -q -u credbroker -p err -o cat | grep -E "^ready|listening" && journalctl -q -u credbroker -p info -o cat | grep -q "ready" &&
	journalctl -q -u credbroker -p warning..warning -o cat | grep -q .'

# --- a config refused at start: no loop, a clear status, an error in the journal ---
check "a config refused at start stops at once (exit 78, not restarted)" '! systemctl restart credbroker.service; sleep 6;
	test "$(systemctl show -p ExecMainStatus --value credbroker.service)" = 78 && test "$(systemctl show -p NRestarts --value credbroker.service)" = 0 &&
	systemctl is-failed -q credbroker.service'
check "journal -p err: the fatal message" 'journalctl -q -u credbroker -p err -o cat | grep "credbroker: serve:"'
check "a request to the socket does not hang while the config is refused" 'start=$(date +%s); curl -s -m 30 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token; test $(( $(date +%s) - start )) -lt 25'
check "the status line says why it cannot start" 'systemctl status credbroker.service | grep -E "Status: \"cannot start: /etc/credbroker/credbroker.hcl:[0-9]+:[0-9]+: Invalid role ARN"'
check "the start limit stops a failing service, and its sockets" 'for i in 1 2 3 4 5 6 7; do systemctl start credbroker.service 2>/dev/null; done;
	journalctl -q -u credbroker.service -o cat | grep -F "Start request repeated too quickly" && systemctl is-failed -q credbroker-imds.socket ||
	{ systemctl show -p Result,NRestarts,ExecMainStatus,StatusText credbroker.service; systemctl status credbroker.service | head -20; false; }'
cin 'cp /root/good.hcl /etc/credbroker/credbroker.hcl && systemctl reset-failed credbroker.service credbroker-imds.socket credbroker-container.socket credbroker-core.socket;
	systemctl start credbroker-imds.socket credbroker-container.socket credbroker-core.socket credbroker.service' >/dev/null 2>&1
eventually "back to serving after fixing the config" 20 'systemctl show -p StatusText --value credbroker.service | grep -F "1 sessions ready"'

# --- the watchdog (WatchdogSec=4s in a test drop-in) ---
cin 'mkdir -p /run/systemd/system/credbroker.service.d && printf "[Service]\nWatchdogSec=4s\n" > /run/systemd/system/credbroker.service.d/test-watchdog.conf &&
	systemctl daemon-reload && systemctl restart credbroker.service' >/dev/null 2>&1
main=$(prop credbroker.service MainPID)
restarts=$(prop credbroker.service NRestarts)
sleep 40
check "watchdog: a healthy daemon lives 40s (10 intervals of 4s)" "test \"\$(systemctl show -p MainPID --value credbroker.service)\" = $main && test \"\$(systemctl show -p NRestarts --value credbroker.service)\" = $restarts"
[ "$main" -gt 0 ] && cin "kill -STOP $main"
eventually "watchdog: a SIGSTOPped daemon is killed and restarted" 40 "test \"\$(systemctl show -p NRestarts --value credbroker.service)\" -gt $restarts &&
	journalctl -q -u credbroker -o cat | grep -i 'watchdog timeout'"
eventually "serving again after the watchdog's restart" 30 'systemctl show -p StatusText --value credbroker.service | grep -F "1 sessions ready"'
cin 'rm -f /run/systemd/system/credbroker.service.d/test-watchdog.conf && systemctl daemon-reload' >/dev/null 2>&1

# --- the user service, as the README says, as user dev ---
cin 'loginctl enable-linger dev' >/dev/null 2>&1
eventually "a user manager for dev (libpam-systemd)" 20 'systemctl is-active "user@$(id -u dev).service"'
key_json=$(printf '%s\n%s\n' "$root_id" "$root_secret" | cin 'read -r AWS_ACCESS_KEY_ID; read -r AWS_SECRET_ACCESS_KEY; export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY;
	timeout 60 aws iam create-access-key --user-name alice --region eu-west-1 --endpoint-url http://127.0.0.1:8913 --output json' 2>&1)
me_id=$(sed -nE 's/.*"AccessKeyId": *"([^"]+)".*/\1/p' <<<"$key_json" | head -1)
me_secret=$(sed -nE 's/.*"SecretAccessKey": *"([^"]+)".*/\1/p' <<<"$key_json" | head -1)
[ -n "$me_id" ] || fail "a key for the user service" "$key_json"
script=$(block user-service | grep -v '(reaches AWS)')
out=$(printf '%s\n%s\n' "$me_id" "$me_secret" | as dev "set -e; $script" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then pass "README step user-service"; else fail "README step user-service (exit $rc)" "$out"; fi
user_prop() { echo "runuser -u dev -- env XDG_RUNTIME_DIR=/run/user/\$(id -u dev) systemctl --user show -p $1 --value credbroker.service"; }
# The example's session name names the caller: one session per caller, at its first call.
eventually "the user unit is READY (Type=notify)" 20 "test \"\$($(user_prop ActiveState))\" = active && $(user_prop StatusText) | grep -F 'serving 1 roles'"
check "the user unit's container endpoint serves dev" 'd=/run/user/$(id -u dev)/credbroker; runuser -u dev -- sh -c "curl -m 10 -sf -H \"Authorization: \$(cat $d/container.token)\" http://\$(sed -nE \"s/.*\\\"container\\\": *\\\"([^\\\"]+)\\\".*/\\1/p\" $d/endpoints.json)/v1/credentials" | grep -q AccessKeyId'
check "systemctl --user reload runs credbroker reload" "runuser -u dev -- env XDG_RUNTIME_DIR=/run/user/\$(id -u dev) systemctl --user reload credbroker.service &&
	journalctl -q _UID=\$(id -u dev) -o cat | grep -F 'reloading the configuration'"
check "the user unit has no core dumps either" "test \"\$($(user_prop LimitCORE))\" = 0"

# --- purge ---
check "dpkg --purge" 'dpkg --purge credbroker'
check "purge: units stopped and gone, state and config deleted" '! systemctl is-active -q credbroker.service credbroker-imds.socket && test ! -e /usr/lib/systemd/system/credbroker.service &&
	test ! -e /var/lib/credbroker && test ! -e /etc/credbroker'
check "purge: the link-local addresses are off lo" '! ip -br address show dev lo | grep -F 169.254.'
check "purge leaves what the README says: the user, the master key credential" 'id credbroker && test -f /etc/credstore.encrypted/credbroker-master-key'

say "done in $(($(date +%s) - start))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
