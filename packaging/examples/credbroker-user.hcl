# credbroker for one developer: the user service (`systemctl --user`).
#
# Your IAM user's long-term key lives in your keyring (the Secret Service of
# your desktop session, else your kernel keyring); your processes get
# short-lived sessions of a role, through IMDS and the container endpoint,
# and never see the key.
#
#   mkdir -p ~/.config/credbroker
#   sed "s/YOUR_LOGIN/$USER/" /usr/share/doc/credbroker/examples/credbroker-user.hcl \
#     > ~/.config/credbroker/credbroker.hcl
#   $EDITOR ~/.config/credbroker/credbroker.hcl     # the role's ARN, the region
#   credbroker keys add me                           # asks for the key id and secret
#   systemctl --user enable --now credbroker.service
#   eval "$(credbroker env)"                         # or put it in ~/.profile
#   aws sts get-caller-identity
#
# Every setting: /usr/share/doc/credbroker/README.md (Configuration) and the host
# example /etc/credbroker/credbroker.hcl.

region = "eu-west-1"

# Roles are assumed at AWS STS (the regional endpoint of `region`). For the
# embedded IAM/STS core instead, leave this block out: its state goes to
# ~/.local/state/credbroker, sealed by a master key kept in your keyring.
upstream "sts" {}

keyring {
  backend = "auto" # Secret Service with a D-Bus session, else keyctl
}

# The key stored with `credbroker keys add me`.
source "keyring" "me" {}

role "dev" {
  arn          = "arn:aws:iam::123456789012:role/developer"
  source       = "me"
  duration     = "1h"
  session_name = "{user}-{host}"
  # mfa_serial = "arn:aws:iam::123456789012:mfa/YOUR_LOGIN" # then `credbroker mfa dev` once a session
}

# Only your own processes get the role: other users of this machine can
# reach 127.0.0.1 too. "YOUR_LOGIN" matches nobody until the sed above.
client "me" {
  users = ["YOUR_LOGIN"]
  role  = "dev"
}
