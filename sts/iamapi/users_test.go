package iamapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

func TestUsers(t *testing.T) {
	f := newFixture(t)
	c := f.rootClient()
	ctx := f.ctx

	created := must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{
		UserName: aws.String("alice"), Path: aws.String("/engineering/"),
		PermissionsBoundary: aws.String(powerUserARN),
		Tags:                []types.Tag{{Key: aws.String("team"), Value: aws.String("platform")}},
	}))
	u := created.User
	if got, want := aws.ToString(u.Arn), "arn:aws:iam::123456789012:user/engineering/alice"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if id := aws.ToString(u.UserId); len(id) != 21 || id[:4] != "AIDA" {
		t.Errorf("UserId = %q, want AIDA + 17 characters", id)
	}
	if u.CreateDate == nil || !u.CreateDate.Equal(f.clock.Now()) {
		t.Errorf("CreateDate = %v, want %v", u.CreateDate, f.clock.Now())
	}
	if u.PermissionsBoundary == nil || aws.ToString(u.PermissionsBoundary.PermissionsBoundaryArn) != powerUserARN {
		t.Errorf("PermissionsBoundary = %+v", u.PermissionsBoundary)
	}

	got := must[*iam.GetUserOutput](t)(c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("ALICE")}))
	if diff := cmp.Diff(tagMap(got.User.Tags), map[string]string{"team": "platform"}); diff != "" {
		t.Errorf("tags (-got +want):\n%s", diff)
	}
	if aws.ToString(got.User.UserName) != "alice" {
		t.Errorf("names are case-insensitive but kept as created: got %q", aws.ToString(got.User.UserName))
	}

	// Who am I: without UserName, the caller (root here).
	me := must[*iam.GetUserOutput](t)(c.GetUser(ctx, &iam.GetUserInput{}))
	if aws.ToString(me.User.Arn) != "arn:aws:iam::123456789012:root" || aws.ToString(me.User.UserId) != testAccount {
		t.Errorf("root GetUser = %s %s", aws.ToString(me.User.Arn), aws.ToString(me.User.UserId))
	}

	wantErrs(t, ctx, c, map[string]errCase{
		"duplicate": {"CreateUser", in{"UserName": "Alice"}, "EntityAlreadyExists", http.StatusConflict, "User with name Alice already exists."},
		"bad name": {"CreateUser", in{"UserName": "a b"}, "ValidationError", http.StatusBadRequest,
			"failed to satisfy constraint: Member must satisfy regular expression pattern"},
		"missing": {"GetUser", in{"UserName": "nobody"}, "NoSuchEntity", http.StatusNotFound, "The user with name nobody cannot be found."},
		"unknown boundary": {"CreateUser", in{"UserName": "b", "PermissionsBoundary": "arn:aws:iam::aws:policy/NoSuchPolicy"},
			"NoSuchEntity", http.StatusNotFound, "does not exist or is not attachable"},
		"aws: tag": {"TagUser", in{"UserName": "alice", "Tags": []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}},
			"InvalidInput", http.StatusBadRequest, "reserved for AWS use"},
	})

	check(t, ignore(c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("alice"), Tags: []types.Tag{
		{Key: aws.String("cost-center"), Value: aws.String("42")}, {Key: aws.String("TEAM"), Value: aws.String("infra")}}})))
	check(t, ignore(c.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("alice"), TagKeys: []string{"cost-center"}})))
	tags := must[*iam.ListUserTagsOutput](t)(c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice")}))
	if diff := cmp.Diff(tagMap(tags.Tags), map[string]string{"TEAM": "infra"}); diff != "" {
		t.Errorf("tags after tag/untag (-got +want):\n%s", diff)
	}

	check(t, ignore(c.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("alice"), NewUserName: aws.String("alicia"), NewPath: aws.String("/ops/")})))
	moved := must[*iam.GetUserOutput](t)(c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alicia")}))
	if aws.ToString(moved.User.Arn) != "arn:aws:iam::123456789012:user/ops/alicia" || aws.ToString(moved.User.UserId) != aws.ToString(u.UserId) {
		t.Errorf("after UpdateUser: %s %s", aws.ToString(moved.User.Arn), aws.ToString(moved.User.UserId))
	}

	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}))
	ops := must[*iam.ListUsersOutput](t)(c.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/ops/")}))
	if len(ops.Users) != 1 || aws.ToString(ops.Users[0].UserName) != "alicia" || ops.IsTruncated {
		t.Errorf("ListUsers /ops/ = %+v", ops.Users)
	}
	if ops.Users[0].Tags != nil || ops.Users[0].PermissionsBoundary != nil {
		t.Errorf("ListUsers shows tags or boundary, which IAM leaves out")
	}

	// A user with an access key cannot be deleted until the key is.
	k := must[*iam.CreateAccessKeyOutput](t)(c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")}))
	_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "Cannot delete entity, must delete access keys first.")
	check(t, ignore(c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: k.AccessKey.AccessKeyId})))
	check(t, ignore(c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")})))
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("bob")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
}

func TestListUsersPagination(t *testing.T) {
	f := newFixture(t)
	c := f.rootClient()
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("user-%02d", i)
		want = append(want, name)
		must[*iam.CreateUserOutput](t)(c.CreateUser(f.ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
	}
	var got []string
	pages := 0
	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{MaxItems: aws.Int32(10)})
	for p.HasMorePages() {
		out := must[*iam.ListUsersOutput](t)(p.NextPage(f.ctx))
		pages++
		if len(out.Users) > 10 {
			t.Fatalf("page of %d users, MaxItems 10", len(out.Users))
		}
		for _, u := range out.Users {
			got = append(got, aws.ToString(u.UserName))
		}
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("users (-got +want):\n%s", diff)
	}
	_, err := c.ListUsers(f.ctx, &iam.ListUsersInput{Marker: aws.String("not-a-marker")})
	wantErr(t, err, "InvalidInput", http.StatusBadRequest, "Invalid Marker.")
	_, err = c.ListUsers(f.ctx, &iam.ListUsersInput{MaxItems: aws.Int32(0)})
	wantErr(t, err, "ValidationError", http.StatusBadRequest, "Member must have value greater than or equal to 1")
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// ignore drops an action's empty output.
func ignore[T any](_ T, err error) error { return err }

// TestUpdateMoveNeedsTheNewARN: renaming or moving a user or a group needs Update* on
// the ARN it moves to as well, as IAM requires.
func TestUpdateMoveNeedsTheNewARN(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol"), Path: aws.String("/ops/")}))
	must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("qa"), Path: aws.String("/ops/")}))
	mover := f.client(f.inlineUser("mover", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["iam:UpdateUser","iam:UpdateGroup"],"Resource":["arn:aws:iam::*:user/ops/*","arn:aws:iam::*:group/ops/*"]}]}`))

	_, err := mover.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("carol"), NewPath: aws.String("/other/")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "user/other/carol")
	check(t, ignore(mover.UpdateUser(ctx, &iam.UpdateUserInput{UserName: aws.String("carol"), NewUserName: aws.String("caroline")})))

	_, err = mover.UpdateGroup(ctx, &iam.UpdateGroupInput{GroupName: aws.String("qa"), NewPath: aws.String("/other/")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "group/other/qa")
	check(t, ignore(mover.UpdateGroup(ctx, &iam.UpdateGroupInput{GroupName: aws.String("qa"), NewGroupName: aws.String("quality")})))
}
