# credbroker in a GitLab CI job: the job's OIDC token (an id_tokens variable)
# is exchanged for a role (AssumeRoleWithWebIdentity) and every later
# command's SDK gets the role's sessions from credbroker. The job needs
#   id_tokens: { AWS_ID_TOKEN: { aud: sts.amazonaws.com } }
# and the role's trust policy must trust your GitLab instance's issuer for
# this project. See the README's "On a CI runner".

region = "eu-west-1"

upstream "sts" {}

source "web_identity" "gitlab" {
  provider  = "gitlab"
  token_env = "AWS_ID_TOKEN"
}

role "ci" {
  arn          = "arn:aws:iam::123456789012:role/gitlab-ci"
  source       = "gitlab"
  duration     = "1h"
  session_name = "gitlab-{host}"
}

default_role = "ci"
