# credbroker on a GitHub Actions runner: the job's OIDC token is exchanged
# for a role (AssumeRoleWithWebIdentity) and every later step's SDK gets the
# role's sessions from credbroker. The workflow needs
#   permissions: { id-token: write }
# and the role's trust policy must trust token.actions.githubusercontent.com
# for this repository. See the README's "On a CI runner".

region = "eu-west-1"

# Real AWS STS (or any STS-compatible endpoint).
upstream "sts" {}

# The token from ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN, fetched again at every
# refresh, with this audience.
source "web_identity" "github" {
  provider = "github"
  audience = "sts.amazonaws.com"
}

role "ci" {
  arn          = "arn:aws:iam::123456789012:role/github-ci"
  source       = "github"
  duration     = "1h"
  session_name = "github-{host}"
}

# The runner is the job's alone: every local caller gets the role.
default_role = "ci"
