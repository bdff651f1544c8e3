//lint:file-ignore SA1019 PackedPolicySize is what the STS API of this core answers; the SDK now prefers SessionTokenUtilization, which botocore 1.43 does not know.

package sts_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

const (
	allowAssumeAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Resource":"*"}]}`
	trustAccount   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	readOnlySTS    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetAccessKeyInfo","Resource":"*"}]}`
)

func trustWith(actions, condition string) string {
	if condition == "" {
		condition = "{}"
	}
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":%s,"Condition":%s}]}`, actions, condition)
}

func roleARN(name string) string { return "arn:aws:iam::123456789012:role/" + name }

func TestAssumeRole(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	role := f.role("app", trustAccount, 4*time.Hour, map[string]string{"sts": readOnlySTS})

	out, err := f.client(alice).AssumeRole(f.ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(role.ARN), RoleSessionName: aws.String("alice-session"), DurationSeconds: aws.Int32(7200),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || len(*c.AccessKeyId) != 20 || len(*c.SecretAccessKey) != 40 || *c.SessionToken == "" {
		t.Errorf("credentials %s %d %d", *c.AccessKeyId, len(*c.SecretAccessKey), len(*c.SessionToken))
	}
	if want := f.clock.Now().Add(2 * time.Hour); !c.Expiration.Equal(want) {
		t.Errorf("Expiration %v, want %v", c.Expiration, want)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/app/alice-session" ||
		*out.AssumedRoleUser.AssumedRoleId != role.ID+":alice-session" {
		t.Errorf("AssumedRoleUser %s %s", *out.AssumedRoleUser.Arn, *out.AssumedRoleUser.AssumedRoleId)
	}
	if out.PackedPolicySize != nil || out.SourceIdentity != nil {
		t.Errorf("PackedPolicySize %v SourceIdentity %v without policies, tags or source identity", out.PackedPolicySize, out.SourceIdentity)
	}

	// The session authenticates by its token, and acts with the role's policies.
	sess := f.client(sessionCreds(c))
	id, err := sess.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *id.Arn != *out.AssumedRoleUser.Arn || *id.UserId != role.ID+":alice-session" || *id.Account != testAccount {
		t.Errorf("GetCallerIdentity %s %s", *id.Arn, *id.UserId)
	}
	info, err := sess.GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: c.AccessKeyId})
	if err != nil || *info.Account != testAccount {
		t.Fatalf("GetAccessKeyInfo: %v", err)
	}
	// The role's policies do not allow sts:AssumeRole: a chained AssumeRole is denied
	// by the identity side.
	_, err = sess.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(role.ARN), RoleSessionName: aws.String("again")})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/app/alice-session is not authorized to perform: sts:AssumeRole on resource: "+role.ARN, 403)

	if !strings.Contains(f.logs.String(), `"action":"AssumeRole"`) {
		t.Error("no audit line for AssumeRole")
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	f := newFixture(t)
	allowed := f.user("allowed", map[string]string{"assume": allowAssumeAll})
	nopolicy := f.user("nopolicy", nil)
	denied := f.user("denied", map[string]string{"assume": allowAssumeAll,
		"deny": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}`})
	f.role("open", trustAccount, 0, nil)
	f.role("only-bob", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:AssumeRole"}]}`, 0, nil)
	f.role("no-tags", trustWith(`"sts:AssumeRole"`, ""), 0, nil)
	f.role("ext", trustWith(`"sts:AssumeRole"`, `{"StringEquals":{"sts:ExternalId":"s3cr3t-ext"}}`), 0, nil)
	f.role("local", trustWith(`"sts:AssumeRole"`, `{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`), 0, nil)
	f.role("remote", trustWith(`"sts:AssumeRole"`, `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), 0, nil)
	f.role("named", trustWith(`"sts:AssumeRole"`, `{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}`), 0, nil)
	f.role("blue", trustWith(`"sts:AssumeRole"`, `{"StringEquals":{"aws:PrincipalTag/team":"blue"}}`), 0, nil)
	blue := f.user("bluey", map[string]string{"assume": allowAssumeAll}, account.Tag{Key: "team", Value: "blue"})

	msg := func(user, role string) string {
		return "User: arn:aws:iam::123456789012:user/" + user + " is not authorized to perform: sts:AssumeRole on resource: " + roleARN(role)
	}
	cases := map[string]struct {
		creds aws.Credentials
		in    awssts.AssumeRoleInput
		code  string
		msg   string
	}{
		"no identity policy":                      {nopolicy, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open"))}, "AccessDenied", msg("nopolicy", "open")},
		"explicit deny":                           {denied, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open"))}, "AccessDenied", msg("denied", "open")},
		"trust names another":                     {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("only-bob"))}, "AccessDenied", msg("allowed", "only-bob")},
		"no such role":                            {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("ghost"))}, "AccessDenied", msg("allowed", "ghost")},
		"other account":                           {allowed, awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/open")}, "AccessDenied", ""},
		"external id missing":                     {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("ext"))}, "AccessDenied", msg("allowed", "ext")},
		"external id wrong":                       {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("ext")), ExternalId: aws.String("wrong-ext")}, "AccessDenied", msg("allowed", "ext")},
		"external id right":                       {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("ext")), ExternalId: aws.String("s3cr3t-ext")}, "", ""},
		"source ip inside":                        {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("local"))}, "", ""},
		"source ip outside":                       {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("remote"))}, "AccessDenied", msg("allowed", "remote")},
		"session name is user":                    {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("named")), RoleSessionName: aws.String("allowed")}, "", ""},
		"session name is not":                     {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("named")), RoleSessionName: aws.String("someone")}, "AccessDenied", msg("allowed", "named")},
		"principal tag matches":                   {blue, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("blue"))}, "", ""},
		"principal tag missing":                   {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("blue"))}, "AccessDenied", msg("allowed", "blue")},
		"tags need TagSession":                    {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("no-tags")), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}, "AccessDenied", "User: arn:aws:iam::123456789012:user/allowed is not authorized to perform: sts:TagSession on resource: " + roleARN("no-tags")},
		"source identity needs SetSourceIdentity": {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("no-tags")), SourceIdentity: aws.String("alice")}, "AccessDenied", "User: arn:aws:iam::123456789012:user/allowed is not authorized to perform: sts:SetSourceIdentity on resource: " + roleARN("no-tags")},
		"duration over max":                       {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open")), DurationSeconds: aws.Int32(3601)}, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		"duration under 900":                      {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open")), DurationSeconds: aws.Int32(899)}, "ValidationError", "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		"session name too short":                  {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open")), RoleSessionName: aws.String("x")}, "ValidationError", "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		"session name pattern":                    {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open")), RoleSessionName: aws.String("a b")}, "ValidationError", `1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		"source identity prefix":                  {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open")), SourceIdentity: aws.String("aws:x")}, "ValidationError", ""},
		"duplicate tag keys":                      {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open")), Tags: []types.Tag{{Key: aws.String("K"), Value: aws.String("1")}, {Key: aws.String("k"), Value: aws.String("2")}}}, "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		"transitive not a tag":                    {allowed, awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open")), TransitiveTagKeys: []string{"nope"}}, "InvalidParameterValue", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			in := c.in
			if in.RoleSessionName == nil {
				in.RoleSessionName = aws.String("s1")
			}
			_, err := f.client(c.creds).AssumeRole(f.ctx, &in)
			if c.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			status := 400
			if c.code == "AccessDenied" {
				status = 403
			}
			assertAPIError(t, err, c.code, c.msg, status)
		})
	}
}

func TestAssumeRoleRoot(t *testing.T) {
	f := newFixture(t)
	var k account.AccessKey
	f.update(func(tx *store.Tx) (err error) {
		k, err = tx.CreateAccessKey(account.RootUserName)
		return err
	})
	f.role("open", trustAccount, 0, nil)
	root := f.client(aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret})
	id, err := root.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::123456789012:root" || *id.UserId != testAccount {
		t.Fatalf("root GetCallerIdentity: %v %v", err, id)
	}
	_, err = root.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("open")), RoleSessionName: aws.String("r1")})
	assertAPIError(t, err, "AccessDenied", "Roles may not be assumed by root accounts.", 403)
	// Root's session token lasts at most an hour.
	st, err := root.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{DurationSeconds: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(time.Hour); !st.Credentials.Expiration.Equal(want) {
		t.Errorf("root session expires %v, want %v", st.Credentials.Expiration, want)
	}
}

func TestAssumeRoleChaining(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	first := f.role("first", trustWith(`["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]`, ""), 12*time.Hour, map[string]string{"assume": allowAssumeAll})
	second := f.role("second", trustWith(`["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]`, `{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:SourceIdentity":"alice"}}`), 12*time.Hour, nil)

	out, err := f.client(alice).AssumeRole(f.ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(first.ARN), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43200),
		Tags:              []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}, {Key: aws.String("cost"), Value: aws.String("42")}},
		TransitiveTagKeys: []string{"team"}, SourceIdentity: aws.String("alice"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize < 1 || aws.ToString(out.SourceIdentity) != "alice" {
		t.Errorf("PackedPolicySize %v SourceIdentity %v", out.PackedPolicySize, out.SourceIdentity)
	}
	sess := f.client(sessionCreds(out.Credentials))

	_, err = sess.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(second.ARN), RoleSessionName: aws.String("s2"), DurationSeconds: aws.Int32(3601)})
	assertAPIError(t, err, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.", 400)

	// The transitive tag team=blue and the source identity carry over: second's trust
	// policy sees them.
	out2, err := sess.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(second.ARN), RoleSessionName: aws.String("s2")})
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(time.Hour); !out2.Credentials.Expiration.Equal(want) {
		t.Errorf("chained session expires %v, want %v", out2.Credentials.Expiration, want)
	}
	if aws.ToString(out2.SourceIdentity) != "alice" {
		t.Errorf("SourceIdentity %v", out2.SourceIdentity)
	}
	// A transitive tag cannot be set again, nor the source identity changed.
	_, err = sess.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(second.ARN), RoleSessionName: aws.String("s3"),
		Tags: []types.Tag{{Key: aws.String("TEAM"), Value: aws.String("red")}}})
	assertAPIError(t, err, "InvalidParameterValue", "", 400)
	_, err = sess.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(second.ARN), RoleSessionName: aws.String("s3"), SourceIdentity: aws.String("mallory")})
	assertAPIError(t, err, "ValidationError", "", 400)
	// A third hop sees the tag only if it was transitive: through s2 (team passed on)
	// yes; through a session where team was a plain session tag, no.
	// (Transitive tags are session tags of the new session, and the source identity
	// is set on it too: the trust policy must allow sts:TagSession and
	// sts:SetSourceIdentity, as AWS's.)
	f.role("third", trustWith(`["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]`, `{"StringEquals":{"aws:PrincipalTag/team":"blue"}}`), 0, nil)
	f.update(func(tx *store.Tx) error {
		return tx.PutInlinePolicy(account.RoleRef("second"), "assume", allowAssumeAll)
	})
	if _, err := f.client(sessionCreds(out2.Credentials)).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("third")), RoleSessionName: aws.String("s6")}); err != nil {
		t.Fatalf("third hop with the transitive tag: %v", err)
	}
	out3, err := f.client(alice).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(first.ARN), RoleSessionName: aws.String("s4"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}, SourceIdentity: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	out4, err := f.client(sessionCreds(out3.Credentials)).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(second.ARN), RoleSessionName: aws.String("s5")})
	if err != nil {
		t.Fatalf("second hop (the caller's own session tag counts): %v", err)
	}
	_, err = f.client(sessionCreds(out4.Credentials)).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("third")), RoleSessionName: aws.String("s7")})
	assertAPIError(t, err, "AccessDenied", "", 403)
}

func TestAssumeRoleMFA(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	f.user("bob", nil)
	serial, seed := f.mfaDevice("alice")
	bobSerial, bobSeed := f.mfaDevice("bob")
	f.role("mfa", trustWith(`"sts:AssumeRole"`, `{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`), 0, nil)
	c := f.client(alice)
	in := func(serial, code string) *awssts.AssumeRoleInput {
		i := &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("mfa")), RoleSessionName: aws.String("m1")}
		if serial != "" {
			i.SerialNumber, i.TokenCode = aws.String(serial), aws.String(code)
		}
		return i
	}
	_, err := c.AssumeRole(f.ctx, in("", ""))
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: "+roleARN("mfa"), 403)

	good := f.code(seed)
	bad := "000000"
	if bad == good {
		bad = "111111"
	}
	_, err = c.AssumeRole(f.ctx, in(serial, bad))
	assertAPIError(t, err, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.", 403)
	_, err = c.AssumeRole(f.ctx, in(bobSerial, f.code(bobSeed)))
	assertAPIError(t, err, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.", 403)

	if _, err := c.AssumeRole(f.ctx, in(serial, good)); err != nil {
		t.Fatal(err)
	}
	// The same code again is refused: a code is good once.
	_, err = c.AssumeRole(f.ctx, in(serial, good))
	assertAPIError(t, err, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.", 403)
	// The next time step's code is accepted.
	f.clock.Advance(30 * time.Second)
	if _, err := c.AssumeRole(f.ctx, in(serial, f.code(seed))); err != nil {
		t.Fatal(err)
	}

	// A GetSessionToken session made with MFA carries it to AssumeRole.
	f.clock.Advance(30 * time.Second)
	st, err := c.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(f.code(seed))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client(sessionCreds(st.Credentials)).AssumeRole(f.ctx, in("", "")); err != nil {
		t.Fatalf("AssumeRole with an MFA session: %v", err)
	}
	// One without MFA does not.
	st, err = c.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.client(sessionCreds(st.Credentials)).AssumeRole(f.ctx, in("", ""))
	assertAPIError(t, err, "AccessDenied", "", 403)
}

func TestAssumeRoleSessionPolicies(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	f.role("wide", trustWith(`["sts:AssumeRole","sts:TagSession"]`, ""), 0, map[string]string{"all": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}`})
	f.role("target", trustWith(`"sts:AssumeRole"`, ""), 0, nil)
	c := f.client(alice)

	// The session policy narrows the role: GetAccessKeyInfo stays allowed, AssumeRole
	// (allowed by the role) is not.
	policy := `{
	  "Version": "2012-10-17",
	  "Statement": [{"Effect": "Allow", "Action": "sts:GetAccessKeyInfo", "Resource": "*"}]
	}`
	out, err := c.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("wide")), RoleSessionName: aws.String("narrow"), Policy: aws.String(policy)})
	if err != nil {
		t.Fatal(err)
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize < 3 || *out.PackedPolicySize > 10 {
		t.Errorf("PackedPolicySize %v", out.PackedPolicySize)
	}
	sess := f.client(sessionCreds(out.Credentials))
	if _, err := sess.GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: out.Credentials.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = sess.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("target")), RoleSessionName: aws.String("x1")})
	assertAPIError(t, err, "AccessDenied", "", 403)

	// A managed session policy (AWS's ReadOnlyAccess is not in the catalog;
	// IAMReadOnlyAccess is) narrows too.
	out, err = c.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("wide")), RoleSessionName: aws.String("managed"),
		PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.client(sessionCreds(out.Credentials)).GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: out.Credentials.AccessKeyId})
	assertAPIError(t, err, "AccessDenied", "", 403)

	cases := map[string]struct {
		in        awssts.AssumeRoleInput
		code, msg string
	}{
		"malformed":              {awssts.AssumeRoleInput{Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`)}, "MalformedPolicyDocument", ""},
		"not json":               {awssts.AssumeRoleInput{Policy: aws.String(`{`)}, "MalformedPolicyDocument", "Syntax errors in policy."},
		"too large":              {awssts.AssumeRoleInput{Policy: aws.String(bigPolicy(2300))}, "PackedPolicyTooLarge", "Packed policy consumes 113% of allotted space, please use smaller policy."},
		"tags too large":         {awssts.AssumeRoleInput{Tags: bigTags(9, 256)}, "PackedPolicyTooLarge", "Packed size of session tags consumes 114% of allotted space."},
		"unknown managed policy": {awssts.AssumeRoleInput{PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")}}}, "InvalidParameterValue", "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable."},
	}
	for name, cs := range cases {
		t.Run(name, func(t *testing.T) {
			in := cs.in
			in.RoleArn, in.RoleSessionName = aws.String(roleARN("wide")), aws.String("s1")
			_, err := c.AssumeRole(f.ctx, &in)
			assertAPIError(t, err, cs.code, cs.msg, 400)
		})
	}
}

// bigPolicy returns a valid compact policy of exactly n characters.
func bigPolicy(n int) string {
	head := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`
	tail := `"}]}`
	return head + strings.Repeat("b", n-len(head)-len(tail)) + tail
}

// bigTags returns n tags with values of size bytes (keys k01…).
func bigTags(n, size int) []types.Tag {
	var out []types.Tag
	for i := 0; i < n; i++ {
		out = append(out, types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String(strings.Repeat("v", size))})
	}
	return out
}

// TestAssumeRoleSameAccount follows the AssumeRole API reference: "To allow a
// user to assume a role in the same account, you can do either of the
// following: Attach a policy to the user that allows the user to call
// AssumeRole (as long as the role's trust policy trusts the account). Add the
// user as a principal directly in the role's trust policy." The user's
// permissions boundary still applies.
func TestAssumeRoleSameAccount(t *testing.T) {
	f := newFixture(t)
	direct := f.user("direct", nil)
	bounded := f.user("bounded", nil)
	f.update(func(tx *store.Tx) error {
		b, err := tx.CreatePolicy(account.ManagedPolicy{Name: "s3-only"}, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
		if err != nil {
			return err
		}
		return tx.SetPermissionsBoundary(account.UserRef("bounded"), b.ARN)
	})
	nopolicy := f.user("nopolicy", nil)
	named := func(users ...string) string {
		var arns []string
		for _, u := range users {
			arns = append(arns, `"arn:aws:iam::123456789012:user/`+u+`"`)
		}
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[` + strings.Join(arns, ",") + `]},"Action":"sts:AssumeRole"}]}`
	}
	f.role("names-them", named("direct", "bounded"), 0, nil)
	f.role("trusts-account", trustAccount, 0, nil)
	assume := func(creds aws.Credentials, role string) error {
		_, err := f.client(creds).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN(role)), RoleSessionName: aws.String("s1")})
		return err
	}
	if err := assume(direct, "names-them"); err != nil {
		t.Errorf("named directly in the trust policy, no identity policy: %v", err)
	}
	msg := func(user, role string) string {
		return "User: arn:aws:iam::123456789012:user/" + user + " is not authorized to perform: sts:AssumeRole on resource: " + roleARN(role)
	}
	assertAPIError(t, assume(bounded, "names-them"), "AccessDenied", msg("bounded", "names-them"), 403)
	assertAPIError(t, assume(nopolicy, "trusts-account"), "AccessDenied", msg("nopolicy", "trusts-account"), 403)
	assertAPIError(t, assume(direct, "trusts-account"), "AccessDenied", msg("direct", "trusts-account"), 403)
}
