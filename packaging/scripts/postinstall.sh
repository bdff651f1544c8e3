#!/bin/sh
# credbroker postinstall, for both package formats:
#   deb: postinst configure [OLD-VERSION] | abort-upgrade | ...
#   rpm: %post 1 (install) | 2+ (upgrade)
# It creates the service user and directories, reloads systemd and, on an
# upgrade, restarts a running service. It enables nothing: the admin chooses
# the system or the user service (printed below).
# With $DPKG_ROOT set (dpkg --root --force-script-chrootless) it works on that
# root and leaves the running system alone.
set -e

root="${DPKG_ROOT:-}"
case "$1" in
configure) if [ -z "$2" ]; then action=install; else action=upgrade; fi ;;
1) action=install ;;
[0-9]*) action=upgrade ;;
*) exit 0 ;;
esac

# The service user (sysusers.d/credbroker.conf) and its state directory.
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers ${root:+--root="$root"} credbroker.conf
elif ! grep -q '^credbroker:' "$root/etc/passwd" 2>/dev/null; then
	useradd ${root:+--root "$root"} --system --user-group --home-dir /var/lib/credbroker \
		--no-create-home --shell /usr/sbin/nologin --comment "credbroker AWS credentials broker" credbroker
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	systemd-tmpfiles ${root:+--root="$root"} --create credbroker.conf
else
	install -d -m 0700 -o credbroker -g credbroker "$root/var/lib/credbroker"
fi

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || :
	if [ "$action" = upgrade ]; then
		# Socket-activated: connections queue while it restarts.
		systemctl try-restart credbroker.service || :
	fi
fi

if [ "$action" = install ]; then
	cat <<'MSG'
credbroker is installed; nothing is enabled or running. Next step, one of:
  * A developer machine (runs as you, keys in your keyring):
      mkdir -p ~/.config/credbroker
      sed "s/YOUR_LOGIN/$USER/" /usr/share/doc/credbroker/examples/credbroker-user.hcl > ~/.config/credbroker/credbroker.hcl
      $EDITOR ~/.config/credbroker/credbroker.hcl     # the role's ARN
      credbroker keys add me
      systemctl --user enable --now credbroker.service
      eval "$(credbroker env)"
  * A host (system service, user credbroker): the shipped config starts with
      no roles; the embedded core, its first user, role and key, step by step:
      /usr/share/doc/credbroker/PACKAGING.md ("On a host"), which begins with
      head -c32 /dev/urandom | systemd-creds encrypt --name=credbroker-master-key - /etc/credstore.encrypted/credbroker-master-key
  Try it first with no set-up at all: credbroker serve --dev
  CI runners (OIDC), well-known addresses, hardening:
      /usr/share/doc/credbroker/PACKAGING.md, man credbroker
MSG
fi
exit 0
