# credbroker configuration (HCL). Every setting shown with its default is
# optional; `credbroker serve --config FILE` reports any mistake with the
# file, line and column, and what to write instead. A SIGHUP reloads this
# file (so does `credbroker reload`, which `systemctl reload` runs); a bad
# new version is refused and the old one keeps serving.
#
# Looked up, when --config is not given: $CREDBROKER_CONFIG, then
# ~/.config/credbroker/credbroker.hcl (a user), then
# $CONFIGURATION_DIRECTORY/credbroker.hcl (systemd) and
# /etc/credbroker/credbroker.hcl.

# The region announced to SDKs (AWS_REGION, AWS_DEFAULT_REGION).
# Default: $AWS_REGION, else $AWS_DEFAULT_REGION, else "us-east-1".
region = "eu-west-1"

# Where the endpoints listen. Loopback only (or, for imds and container, the
# link-local addresses 169.254.169.254 / 169.254.170.2 once added to lo).
# Port 0 picks a free port; "off" turns a listener off.
listen {
  imds      = "127.0.0.1:8911"
  container = "127.0.0.1:8912"
  # The embedded core's STS and IAM endpoint, for the AWS CLI and SDKs
  # (AWS_ENDPOINT_URL_STS / _IAM). Off unless set.
  # core    = "127.0.0.1:8913"
  # TLS on the core's listener (PEM files; both or neither): https for the
  # STS/IAM endpoints and the IAM console (its cookie then __Host- and Secure,
  # with HSTS). Renewed files are picked up without a restart; the key file
  # must not be readable by other users. With TLS the core may listen on a
  # non-loopback address; clients trust the CA with AWS_CA_BUNDLE.
  # core_tls_cert_file = "/etc/credbroker/core.crt"
  # core_tls_key_file  = "/etc/credbroker/core.key"
  # Prometheus metrics. Off unless set.
  # metrics = "127.0.0.1:8914"
  # The control socket (mode 0600). Default: <runtime-dir>/control.sock.
  # control_socket = "/run/credbroker/control.sock"
}

# The emulated instance metadata service.
imds {
  require_v2     = true # refuse IMDSv1 (token-less) requests, as EC2 can
  hop_limit      = 1    # IP TTL of token responses: the token stays on this host
  # Callers' source addresses, for IMDS and the container endpoint alike:
  # loopback, plus the link-local addresses when serving there
  # ("169.254.169.254/32", "169.254.170.2/32").
  allowed_remote = ["127.0.0.0/8", "::1/128"]
}

# Where roles are assumed: the embedded IAM/STS core (the default) ...
upstream "core" {
  # Default: $STATE_DIRECTORY (systemd), else /var/lib/credbroker for root,
  # else ~/.local/state/credbroker.
  state_dir  = "/var/lib/credbroker"
  account_id = "123456789012"

  # Where the account is kept: default state_dir/core.db (bbolt). Several
  # replicas share a PostgreSQL database instead; the URL carries no password:
  # it comes from store_password_file, else the systemd credential
  # core-store-password (LoadCredentialEncrypted=core-store-password).
  # store               = "postgres://credbroker@db.internal/credbroker?sslmode=verify-full"
  # store_password_file = "/etc/credbroker/pgpass"

  # Host names the IAM console answers to besides IP addresses and localhost
  # (any other Host header is refused: a DNS-rebinding page's).
  # console_hosts = ["iam.example.internal"]

  # Credential-issuing STS calls (AssumeRole*, GetSessionToken,
  # GetFederationToken) per second this core admits; more get AWS's
  # Throttling error, which SDKs and brokers retry with backoff. AWS's own
  # per-account quota; each replica has its own bucket: give N replicas
  # 600/N each. 0: no limit.
  sts_rate_limit = 600

  # The key that encrypts the core's state. "credential" reads
  # $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredentialEncrypted=, which
  # survives reboots); "keyring" keeps it in the keyring below (the kernel
  # keyring is emptied at reboot); "file" reads 32 bytes from path.
  master_key {
    source = "credential"
    name   = "credbroker-master-key"
  }
}

# ... or a remote STS (real AWS or any STS-compatible service):
# upstream "sts" {
#   endpoint = "https://sts.eu-west-1.amazonaws.com" # default: AWS's regional endpoint
#   region   = "eu-west-1"                           # default: region above
# }

# Where IAM users' long-term keys live (`credbroker keys add NAME`).
keyring {
  # auto: Secret Service when a D-Bus session bus is there, else the kernel
  # keyring (keyctl). Or: keyctl, secret-service, pass, file,
  # systemd-credentials (read-only: one LoadCredentialEncrypted= per key).
  backend      = "auto"
  name         = "credbroker" # keyctl keyring / Secret Service item tag / pass prefix
  # The Secret Service collection: unset keeps keys in the default one (the
  # login keyring, unlocked at login); or an alias ("login") or a label.
  # collection = "login"
  # user: until reboot, shared by the user's processes. session, process
  # and thread are narrower (process/thread: one process only; tests).
  keyctl_scope = "user"
  # pass_dir = "~/.password-store"
  # pass_cmd = "pass"
  # file_dir = "~/.local/share/credbroker/keyring"
  # The file backend's passphrase, for a daemon that cannot prompt:
  # passphrase_file       = "/etc/credbroker/keyring-passphrase"
  # passphrase_credential = "keyring-passphrase"
}

# Sources, roles and client rules. As shipped there are none: the service
# starts on a fresh host (with no roles, a core not made yet is no error)
# and gives every caller no role (IMDS answers 404) until you add them.
# They name users, groups, keys and
# roles of your own; the examples below show each kind (uncomment, adapt,
# then `systemctl restart credbroker.service`: the first roles open the
# upstream; later changes take `systemctl reload credbroker.service`).
# packaging/README.md walks through a first role on the embedded core.
#
# ---- examples: everything below is commented out as shipped ----

## Sources: the identities roles are assumed with.

## An IAM user's key, stored with `credbroker keys add alice`.
# source "keyring" "alice" {
#   key = "alice" # the keyring name; default: the source's name
# }

## A CI job's OIDC token (AssumeRoleWithWebIdentity). provider is "file"
## (token_file, re-read at every refresh), "github" (GitHub Actions'
## ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN, with an audience) or "gitlab" (the
## variable the job's id_tokens defines).
# source "web_identity" "github" {
#   provider = "github"
#   audience = "sts.amazonaws.com"
# }

## Another role's session (role chaining; AWS caps the result at 1h).
# source "role" "via-deploy" {
#   role = "deploy"
# }

## An X.509 certificate (IAM Roles Anywhere's CreateSession): a key file
## (private_key, mode 0600) or a key that stays in a PKCS #11 token
## (pkcs11_module, pkcs11_token, pkcs11_key, pin_file) or in a TPM 2.0
## (tpm_device = "/dev/tpmrm0", tpm_key_handle = "0x81000100"). Sessions come from the core when the
## upstream is the core, else from AWS's Roles Anywhere of region (default:
## the trust anchor's); endpoint overrides both.
# source "x509" "edge" {
#   certificate      = "/etc/credbroker/edge.pem"
#   intermediates    = "/etc/credbroker/issuing-ca.pem"
#   private_key      = "/etc/credbroker/edge.key"
#   trust_anchor_arn = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/00000000-0000-4000-8000-000000000001"
#   profile_arn      = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/00000000-0000-4000-8000-000000000002"
# }

## Roles: what the broker hands out, under the name IMDS lists.
# role "deploy" {
#   arn      = "arn:aws:iam::123456789012:role/deploy"
#   source   = "alice"
#   duration = "1h" # 30m to 12h; refreshed ahead, never handed out with < 15m left

#   # The session name; placeholders {user} (the caller's user name), {uid},
#   # {host}, {role}. A role whose name or tags use {user} or {uid} gets one
#   # session per caller, fetched at its first call; otherwise all callers
#   # share one, fetched at start-up. Default: "credbroker-{host}".
#   session_name = "credbroker-{user}"

#   # external_id = "a-shared-secret-of-the-trust-policy"
#   # mfa_serial  = "arn:aws:iam::123456789012:mfa/alice" # needs `credbroker mfa`

#   # A session policy narrows the role for this session.
#   policy = jsonencode({
#     Version   = "2012-10-17"
#     Statement = [{ Effect = "Allow", Action = ["s3:*", "sts:GetCallerIdentity"], Resource = "*" }]
#   })
#   policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]

#   tags                = { team = "platform", caller = "{user}" }
#   transitive_tag_keys = ["team"]
#   source_identity     = "{user}"
# }

# role "readonly" {
#   arn      = "arn:aws:iam::123456789012:role/readonly"
#   source   = "via-deploy"
#   duration = "1h"
# }

# role "ci" {
#   arn          = "arn:aws:iam::123456789012:role/ci"
#   source       = "github"
#   session_name = "github-{host}"
# }

## Roles Anywhere names the session after the certificate's serial number.
# role "edge" {
#   arn    = "arn:aws:iam::123456789012:role/edge"
#   source = "edge"
# }

## A person's SAML sign-in at the corporate IdP (AD FS, Okta, Entra ID,
## Keycloak, SimpleSAMLphp): `credbroker login corp` opens idp_url, receives the
## IdP's POST on http://CALLBACK/saml (list it at the IdP as an assertion
## consumer service), and the daemon redeems it with AssumeRoleWithSAML. No
## key on the machine; the role is needs-human in status until someone signs
## in, and again 30 minutes before the session ends. README: SAML federation.
# source "saml" "corp" {
#   idp_url      = "https://adfs.example.com/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp=urn:amazon:webservices"
#   provider_arn = "arn:aws:iam::123456789012:saml-provider/corp"
#   callback     = "127.0.0.1:8975" # the default; loopback, a fixed port
#   # sp_initiated = true # idp_url is the IdP's SSO service; login sends an AuthnRequest
# }
## With the embedded core, IdPs may also post to the core's own
## http://CORE/saml (SP metadata: http://CORE/static/saml-metadata.xml): the
## console signs in, or RelayState = the callback's URL hands it to login.
# role "developers" {
#   arn    = "arn:aws:iam::123456789012:role/Developers"
#   source = "corp"
# }

## A role may also read role_arn, source_profile, mfa_serial, external_id,
## duration_seconds, role_session_name and web_identity_token_file from a
## profile of ~/.aws/config (aws_config_file, else $AWS_CONFIG_FILE); what the
## role block sets wins. source_profile must name a source above:
## role "prod" {
##   profile = "prod"
## }
## aws_config_file = "/etc/credbroker/aws-config"

## Client rules: which caller gets which role. The caller of a loopback
## connection is found from the kernel (the socket's owner, then its
## process). The first rule that matches decides; within a rule every
## criterion given must match, a criterion matching if any value does.
## Criteria: uids, users, gids, groups (the process's groups), units (the
## systemd unit, a pattern like "ci-*.service"), exes (the executable, as
## /proc/PID/exe shows it, or a pattern).
# client "alice" {
#   users       = ["alice"]
#   role        = "deploy"
#   allow_roles = ["readonly"] # may also be asked for by name (exec, credential-process)
# }

# client "ci-runner" {
#   units = ["gitlab-runner.service", "actions.runner.*.service"]
#   role  = "ci"
# }

# client "terraform" {
#   groups = ["ops"]
#   exes   = ["/usr/bin/terraform", "/opt/terraform/*/terraform"]
#   role   = "deploy"
# }

## The role of a caller no rule matches. Without it such a caller gets no
## role at all (IMDS answers 404), never someone else's.
# default_role = "readonly"
