"""A few IAM calls through boto3 against the core (AWS_ENDPOINT_URL_IAM); prints what
the Go test checks, as JSON."""
import json

import boto3
from botocore.exceptions import ClientError

iam = boto3.client("iam")
out = {}

iam.create_user(UserName="boto-user", Tags=[{"Key": "via", "Value": "boto3"}])
user = iam.get_user(UserName="boto-user")["User"]
out["arn"] = user["Arn"]
out["tags"] = {t["Key"]: t["Value"] for t in user.get("Tags", [])}
out["created_is_datetime"] = hasattr(user["CreateDate"], "tzinfo") and user["CreateDate"].tzinfo is not None

doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}
iam.put_user_policy(UserName="boto-user", PolicyName="list", PolicyDocument=json.dumps(doc))
# boto3 decodes IAM's URL-encoded documents into dicts.
out["policy_roundtrip"] = iam.get_user_policy(UserName="boto-user", PolicyName="list")["PolicyDocument"] == doc

key = iam.create_access_key(UserName="boto-user")["AccessKey"]
out["secret_len"] = len(key["SecretAccessKey"])

names = []
for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1}):
    names += [u["UserName"] for u in page["Users"]]
out["users"] = names

sim = iam.simulate_principal_policy(PolicySourceArn=user["Arn"], ActionNames=["s3:ListAllMyBuckets", "s3:DeleteBucket"])
out["decisions"] = {r["EvalActionName"]: r["EvalDecision"] for r in sim["EvaluationResults"]}

try:
    iam.delete_user(UserName="boto-user")
except ClientError as e:
    out["delete_error"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
try:
    iam.get_user(UserName="nobody")
except iam.exceptions.NoSuchEntityException as e:
    out["missing_error"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]

iam.delete_access_key(UserName="boto-user", AccessKeyId=key["AccessKeyId"])
iam.delete_user_policy(UserName="boto-user", PolicyName="list")
iam.delete_user(UserName="boto-user")
out["deleted"] = "boto-user" not in [u["UserName"] for u in iam.list_users()["Users"]]
print(json.dumps(out, sort_keys=True))
