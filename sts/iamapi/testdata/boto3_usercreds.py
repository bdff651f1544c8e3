"""SSH public keys and signing certificates through boto3 against the core
(AWS_ENDPOINT_URL_IAM). SSH_KEY and CERT name files made by the Go test; prints what
the test checks, as JSON."""
import json
import os

import boto3

iam = boto3.client("iam")
out = {}
iam.create_user(UserName="boto-keys")

with open(os.environ["SSH_KEY"]) as f:
    body = f.read()
key = iam.upload_ssh_public_key(UserName="boto-keys", SSHPublicKeyBody=body)["SSHPublicKey"]
kid = key["SSHPublicKeyId"]
out["fingerprint"] = key["Fingerprint"]
out["status"] = key["Status"]
out["upload_date_is_datetime"] = key["UploadDate"].tzinfo is not None
pem = iam.get_ssh_public_key(UserName="boto-keys", SSHPublicKeyId=kid, Encoding="PEM")["SSHPublicKey"]
out["pem_header"] = pem["SSHPublicKeyBody"].splitlines()[0]
iam.update_ssh_public_key(UserName="boto-keys", SSHPublicKeyId=kid, Status="Inactive")
out["listed"] = [(k["SSHPublicKeyId"] == kid, k["Status"]) for k in iam.list_ssh_public_keys(UserName="boto-keys")["SSHPublicKeys"]]
try:
    iam.upload_ssh_public_key(UserName="boto-keys", SSHPublicKeyBody=body)
except iam.exceptions.DuplicateSSHPublicKeyException as e:
    out["duplicate"] = e.response["Error"]["Code"]
iam.delete_ssh_public_key(UserName="boto-keys", SSHPublicKeyId=kid)

with open(os.environ["CERT"]) as f:
    cert = f.read()
c = iam.upload_signing_certificate(UserName="boto-keys", CertificateBody=cert)["Certificate"]
out["cert_body_same"] = c["CertificateBody"] == cert
out["cert_id_len"] = len(c["CertificateId"])
iam.update_signing_certificate(UserName="boto-keys", CertificateId=c["CertificateId"], Status="Inactive")
out["certs"] = [x["Status"] for x in iam.list_signing_certificates(UserName="boto-keys")["Certificates"]]
try:
    iam.upload_signing_certificate(UserName="boto-keys", CertificateBody="not a certificate")
except iam.exceptions.MalformedCertificateException as e:
    out["malformed"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
iam.delete_signing_certificate(UserName="boto-keys", CertificateId=c["CertificateId"])
iam.delete_user(UserName="boto-keys")
out["deleted"] = True
print(json.dumps(out))
