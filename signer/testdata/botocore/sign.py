"""Sign requests with botocore's own SigV4 signers, for signer's tests.

Reads a JSON list of cases on stdin, prints the signed requests as JSON. The clock is
fixed at each case's "time" (UTC, ISO-8601 basic), so the Go test can verify with it.
"""
import datetime
import json
import sys
from unittest import mock
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

out = []
for c in json.load(sys.stdin):
    creds = Credentials(c["akid"], c["secret"], c.get("token"))
    data = c.get("body", "")
    if c["presign"] and data:  # botocore's query serializer hands the presigner a dict
        data = dict(parse_qsl(data))
    req = AWSRequest(method=c["method"], url=c["url"], data=data, headers=c.get("headers", {}))
    if c["presign"]:
        auth = SigV4QueryAuth(creds, c["service"], c["region"], expires=c["expires"])
    else:
        auth = SigV4Auth(creds, c["service"], c["region"])
    now = datetime.datetime.strptime(c["time"], "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        auth.add_auth(req)
    p = req.prepare()
    body = p.body or b""
    if isinstance(body, str):
        body = body.encode()
    out.append({"method": p.method, "url": p.url, "headers": dict(p.headers.items()), "body": body.decode("latin-1")})
json.dump(out, sys.stdout)
