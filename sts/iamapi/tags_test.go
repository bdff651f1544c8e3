package iamapi_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

// taggable is one entity type, whose Tag<noun>, Untag<noun> and List<noun>Tags take
// its id in the parameter idParam.
type taggable struct {
	name, noun, idParam string
	create              func(f *fixture) string // returns the id the calls take
	missing             string
}

func (tc taggable) tag(t testing.TB, c *iam.Client, ctx context.Context, id string, tags []types.Tag) error {
	return ignore(call(t, ctx, c, "Tag"+tc.noun, in{tc.idParam: id, "Tags": tags}))
}

func (tc taggable) untag(t testing.TB, c *iam.Client, ctx context.Context, id string, keys []string) error {
	return ignore(call(t, ctx, c, "Untag"+tc.noun, in{tc.idParam: id, "TagKeys": keys}))
}

// list answers one page of the tags (MaxItems max, from marker when not nil) and the
// next page's marker.
func (tc taggable) list(t testing.TB, c *iam.Client, ctx context.Context, id string, max int32, marker *string) ([]types.Tag, *string, error) {
	params := in{tc.idParam: id, "Marker": marker}
	if max > 0 {
		params["MaxItems"] = max
	}
	out, err := call(t, ctx, c, "List"+tc.noun+"Tags", params)
	if err != nil {
		return nil, nil, err
	}
	v := reflect.ValueOf(out).Elem()
	return v.FieldByName("Tags").Interface().([]types.Tag), v.FieldByName("Marker").Interface().(*string), nil
}

var taggables = []taggable{
	{
		name: "instance profile",
		create: func(f *fixture) string {
			check(f.t, ignore(f.rootClient().CreateInstanceProfile(f.ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web")})))
			return "web"
		},
		missing: "nope",
		noun:    "InstanceProfile", idParam: "InstanceProfileName",
	},
	{
		name: "OIDC provider",
		create: func(f *fixture) string {
			out := must[*iam.CreateOpenIDConnectProviderOutput](f.t)(f.rootClient().CreateOpenIDConnectProvider(f.ctx, &iam.CreateOpenIDConnectProviderInput{
				Url: aws.String("https://token.example.com"), ClientIDList: []string{"sts.amazonaws.com"}}))
			return aws.ToString(out.OpenIDConnectProviderArn)
		},
		missing: "arn:aws:iam::123456789012:oidc-provider/missing.example.com",
		noun:    "OpenIDConnectProvider", idParam: "OpenIDConnectProviderArn",
	},
	{
		name: "MFA device",
		create: func(f *fixture) string {
			out := must[*iam.CreateVirtualMFADeviceOutput](f.t)(f.rootClient().CreateVirtualMFADevice(f.ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("phone")}))
			return aws.ToString(out.VirtualMFADevice.SerialNumber)
		},
		missing: "arn:aws:iam::123456789012:mfa/missing",
		noun:    "MFADevice", idParam: "SerialNumber",
	},
	{
		name: "server certificate",
		create: func(f *fixture) string {
			now := f.clock.Now()
			leaf := makeCert(f.t, "www.example.com", now.Add(-time.Hour), now.Add(time.Hour), nil, false)
			check(f.t, ignore(f.rootClient().UploadServerCertificate(f.ctx, &iam.UploadServerCertificateInput{ServerCertificateName: aws.String("www"),
				CertificateBody: aws.String(leaf.pem), PrivateKey: aws.String(leaf.keyPEM(f.t))})))
			return "www"
		},
		missing: "nope",
		noun:    "ServerCertificate", idParam: "ServerCertificateName",
	},
}

// onlyTeamA allows tagging only what is tagged team=a, and never the key "owner".
const onlyTeamA = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["iam:Tag*","iam:Untag*","iam:List*Tags"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"a"}}},
 {"Effect":"Deny","Action":"iam:Tag*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["owner"]}}}]}`

func TestTagsOnEveryTaggable(t *testing.T) {
	for _, tc := range taggables {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c, ctx := f.rootClient(), f.ctx
			id := tc.create(f)
			tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("b")}, {Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("cost"), Value: aws.String("1")}}
			check(t, tc.tag(t, c, ctx, id, tags))
			got, marker, err := tc.list(t, c, ctx, id, 2, nil)
			check(t, err)
			rest, last, err := tc.list(t, c, ctx, id, 2, marker)
			check(t, err)
			if len(got) != 2 || marker == nil || len(rest) != 1 || last != nil {
				t.Fatalf("pages = %v (%v), %v (%v)", got, marker, rest, last)
			}
			if diff := cmp.Diff(tagMap(append(got, rest...)), map[string]string{"team": "b", "env": "prod", "cost": "1"}); diff != "" {
				t.Errorf("tags (-got +want):\n%s", diff)
			}
			check(t, tc.untag(t, c, ctx, id, []string{"cost", "absent"}))
			got, _, err = tc.list(t, c, ctx, id, 0, nil)
			check(t, err)
			if diff := cmp.Diff(tagMap(got), map[string]string{"team": "b", "env": "prod"}); diff != "" {
				t.Errorf("after untag (-got +want):\n%s", diff)
			}
			// Too many tags: IAM's quota of 50.
			many := make([]types.Tag, 49)
			for i := range many {
				many[i] = types.Tag{Key: aws.String("k" + string(rune('A'+i%26)) + string(rune('a'+i/26))), Value: aws.String("v")}
			}
			err = tc.tag(t, c, ctx, id, many)
			wantErr(t, err, "LimitExceeded", http.StatusConflict, "")

			// The resource's tags and the request's keys are condition keys.
			user := f.client(f.inlineUser("tagger", onlyTeamA))
			err = tc.tag(t, user, ctx, id, []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}})
			wantErr(t, err, "AccessDenied", http.StatusForbidden, "because no identity-based policy allows")
			check(t, tc.tag(t, c, ctx, id, []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}))
			check(t, tc.tag(t, user, ctx, id, []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}))
			err = tc.tag(t, user, ctx, id, []types.Tag{{Key: aws.String("owner"), Value: aws.String("me")}})
			wantErr(t, err, "AccessDenied", http.StatusForbidden, "with an explicit deny")
			check(t, tc.untag(t, user, ctx, id, []string{"x"}))

			// A missing entity: NoSuchEntity for a caller allowed to know, AccessDenied else.
			_, _, err = tc.list(t, c, ctx, tc.missing, 0, nil)
			wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
			_, _, err = tc.list(t, user, ctx, tc.missing, 0, nil)
			wantErr(t, err, "AccessDenied", http.StatusForbidden, "")
		})
	}
}

func TestGetMFADevice(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	self := f.client(f.inlineUser("dana", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetMFADevice","Resource":"arn:aws:iam::*:user/${aws:username}"}]}`))
	f.user("erin")
	serial := aws.ToString(must[*iam.CreateVirtualMFADeviceOutput](t)(c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("dana")})).VirtualMFADevice.SerialNumber)
	_, err := c.GetMFADevice(ctx, &iam.GetMFADeviceInput{SerialNumber: &serial, UserName: aws.String("dana")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "does not exist for user dana")
	f.update(func(tx *storeTx) error { return tx.EnableMFADevice("dana", serial) })

	got := must[*iam.GetMFADeviceOutput](t)(self.GetMFADevice(ctx, &iam.GetMFADeviceInput{SerialNumber: &serial}))
	if aws.ToString(got.UserName) != "dana" || aws.ToString(got.SerialNumber) != serial || got.EnableDate == nil ||
		!got.EnableDate.Equal(f.clock.Now()) {
		t.Errorf("GetMFADevice = %+v", got)
	}
	_, err = c.GetMFADevice(ctx, &iam.GetMFADeviceInput{SerialNumber: &serial, UserName: aws.String("erin")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	_, err = self.GetMFADevice(ctx, &iam.GetMFADeviceInput{SerialNumber: &serial, UserName: aws.String("erin")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "iam:GetMFADevice on resource: arn:aws:iam::123456789012:user/erin")
}
