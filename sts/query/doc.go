// Package query is the AWS Query protocol on the wire, as STS and IAM speak it: the
// request's form, its validation against the API's model, and AWS's XML responses and
// errors. It knows nothing of authentication or of what an action does; package sts
// routes requests and runs the actions.
//
// # Requests
//
// ParseForm decodes a POST's form-encoded body and a GET's query string (presigned
// GetCallerIdentity URLs carry their parameters there) into a Form. Params reads it
// by member name, as botocore and the SDKs serialize structures, lists and maps:
// "Tags.member.1.Key", "PolicyArns.member.2.arn", "Attributes.entry.1.key".
//
// # Models and validation
//
// A Model is a botocore service model trimmed by internal/modelgen to what a server
// needs: each operation's input shape with AWS's constraints, and each error code's
// HTTP status. Validate checks a request against its operation's input before the
// handler runs, and reports every violation in one ValidationError worded as AWS
// words it:
//
//	1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy
//	constraint: Member must have length greater than or equal to 2
//
// Missing required members are "Value null at 'roleArn' failed to satisfy constraint:
// Member must not be null"; list elements are named 'tags.1.member.key'; sensitive
// values are not repeated, long ones are cut at account.MaxEchoedValue bytes. Patterns are
// AWS's (Java syntax) translated to Go's; the one pattern Go cannot express (IAM's
// account alias, with a lookahead) is left to the handler. account.Violations serves
// the checks a handler makes itself.
//
// To refresh a model from botocore:
//
//	B=$(python3 -c "import botocore,os;print(os.path.dirname(botocore.__file__))")
//	go run ./sts/query/internal/modelgen -in $B/data/sts/2011-06-15/service-2.json.gz -out sts/model_sts.json.gz
//	go run ./sts/query/internal/modelgen -in $B/data/iam/2010-05-08/service-2.json.gz -out sts/iamapi/model_iam.json.gz
//
// # Responses
//
// WriteResult writes <ActionResponse xmlns=…><ActionResult>…</ActionResult>
// <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></ActionResponse>, the
// result rendered by its own MarshalQueryXML (XMLMarshaler, for hot paths) or by
// encoding/xml (Timestamp writes times as AWS does). WriteError writes
// <ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/></Error>
// <RequestId/></ErrorResponse> with the code's HTTP status (the model's, else
// StatusOf's). Both set x-amzn-RequestId.
//
// Handlers return errors; Classify turns them into an *Error: an *Error as it is, the
// signer's, the store's and the policy engine's typed errors with their own codes and
// messages, anything else as InternalFailure whose cause only the log sees.
package query
