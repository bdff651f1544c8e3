package keystore

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/internal/awsfake"
)

type rotation struct {
	fake   *awsfake.Server
	store  *Store
	r      *Rotator
	sleeps []time.Duration
}

// newRotation: user alice of a fake IAM with one key, stored for real in
// the kernel keyring, and a Rotator whose clients are the SDK's.
func newRotation(t *testing.T) *rotation {
	needKeyctl(t)
	x := &rotation{fake: awsfake.New()}
	x.fake.AddUser("alice", testID, testSecret)
	srv := httptest.NewServer(x.fake)
	t.Cleanup(srv.Close)
	x.store = openKeyctl(t, "user", uniqueName(t))
	if err := x.store.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	x.r = &Rotator{
		Store: x.store, Clients: SDKClients(cfg), VerifyTimeout: time.Minute,
		Now: func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error {
			x.sleeps = append(x.sleeps, d)
			now = now.Add(d)
			return nil
		},
	}
	return x
}

func TestRotate(t *testing.T) {
	testRotate(t, newRotation(t))
}

// TestRotateOnEachBackend: `keys rotate` on each real backend.
func TestRotateOnEachBackend(t *testing.T) {
	for name, start := range realBackends {
		t.Run(name, func(t *testing.T) {
			x := newRotation(t)
			x.store = start(t).open(t, uniqueName(t))
			x.r.Store = x.store
			if err := x.store.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
				t.Fatal(err)
			}
			testRotate(t, x)
		})
	}
}

func testRotate(t *testing.T, x *rotation) {
	x.fake.SetNewKeyDelay(3) // the new key works on the fourth try
	res, err := x.r.Rotate(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if res.OldKeyID != testID || res.NewKeyID == testID || res.Resumed || res.UserARN != "arn:aws:iam::123456789012:user/alice" {
		t.Errorf("result %+v", res)
	}
	if diff := cmp.Diff([]string{res.NewKeyID}, x.fake.Keys("alice")); diff != "" {
		t.Errorf("IAM keys (-want +got):\n%s", diff)
	}
	k, err := x.store.Get("alice")
	if err != nil || k.AccessKeyID != res.NewKeyID || k.SecretAccessKey != x.fake.Secret(res.NewKeyID) || k.Previous != nil {
		t.Errorf("stored %#v, %v", k, err)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, x.sleeps); diff != "" {
		t.Errorf("verify waits (-want +got):\n%s", diff)
	}
	// The rotated key is the one used next: a second rotation works too.
	res2, err := x.r.Rotate(context.Background(), "alice")
	if err != nil || res2.OldKeyID != res.NewKeyID {
		t.Fatalf("second rotation: %+v, %v", res2, err)
	}
	if err := x.store.Remove("alice"); err != nil {
		t.Fatal(err)
	}
}

func TestRotateInterruptedBeforeDelete(t *testing.T) {
	x := newRotation(t)
	x.fake.FailAction("DeleteAccessKey", "AccessDenied")
	_, err := x.r.Rotate(context.Background(), "alice")
	if err == nil || !strings.Contains(err.Error(), "credbroker keys rotate alice") {
		t.Fatalf("err = %v", err)
	}
	// State after the interruption: IAM has both; the keyring the new key
	// with the old as previous.
	k, _ := x.store.Get("alice")
	if k.Previous == nil || k.Previous.AccessKeyID != testID || len(x.fake.Keys("alice")) != 2 {
		t.Fatalf("keyring %#v previous %#v; IAM %v", k, k.Previous, x.fake.Keys("alice"))
	}
	list, _ := x.store.List()
	if len(list) != 1 || list[0].PreviousKeyID != testID {
		t.Errorf("List shows %+v", list)
	}
	// Running it again finishes the same rotation: no second new key.
	x.fake.FailAction("DeleteAccessKey", "")
	res, err := x.r.Rotate(context.Background(), "alice")
	if err != nil || !res.Resumed || res.NewKeyID != k.AccessKeyID {
		t.Fatalf("resume: %+v, %v", res, err)
	}
	if n := x.fake.Calls("CreateAccessKey"); n != 1 {
		t.Errorf("%d keys created, want 1", n)
	}
	if diff := cmp.Diff([]string{k.AccessKeyID}, x.fake.Keys("alice")); diff != "" {
		t.Errorf("IAM keys (-want +got):\n%s", diff)
	}
	if done, _ := x.store.Get("alice"); done.Previous != nil {
		t.Error("previous key not cleared")
	}
}

func TestRotateInterruptedAfterDelete(t *testing.T) {
	x := newRotation(t)
	x.fake.FailAction("DeleteAccessKey", "AccessDenied")
	if _, err := x.r.Rotate(context.Background(), "alice"); err == nil {
		t.Fatal("no error")
	}
	// The old key went away (the crash came after DeleteAccessKey).
	k, _ := x.store.Get("alice")
	x.fake.FailAction("DeleteAccessKey", "")
	iamNew, _ := x.r.Clients(k)
	if _, err := iamNew.DeleteAccessKey(context.Background(), deleteInput(testID)); err != nil {
		t.Fatal(err)
	}
	res, err := x.r.Rotate(context.Background(), "alice")
	if err != nil || !res.Resumed {
		t.Fatalf("resume: %+v, %v", res, err)
	}
	if done, _ := x.store.Get("alice"); done.Previous != nil || done.AccessKeyID != k.AccessKeyID {
		t.Errorf("after resume: %#v", done)
	}
}

// failingStore fails Put once.
type failingStore struct {
	KeyStore
	fail bool
}

func (f *failingStore) Put(name string, k Key) error {
	if f.fail {
		f.fail = false
		return errors.New("keyring locked")
	}
	return f.KeyStore.Put(name, k)
}

func TestRotateStoreFailsRollsBack(t *testing.T) {
	x := newRotation(t)
	x.r.Store = &failingStore{KeyStore: x.store, fail: true}
	_, err := x.r.Rotate(context.Background(), "alice")
	if err == nil || !strings.Contains(err.Error(), "deleted again") {
		t.Fatalf("err = %v", err)
	}
	if diff := cmp.Diff([]string{testID}, x.fake.Keys("alice")); diff != "" {
		t.Errorf("IAM keys after rollback (-want +got):\n%s", diff)
	}
	if k, _ := x.store.Get("alice"); k.AccessKeyID != testID || k.Previous != nil {
		t.Errorf("keyring changed: %#v", k)
	}
}

func TestRotateStrayKey(t *testing.T) {
	x := newRotation(t)
	x.fake.AddUser("alice", "AKIASTRAYSTRAYSTRAY1", "lostsecretlostsecret")
	_, err := x.r.Rotate(context.Background(), "alice")
	if err == nil || !strings.Contains(err.Error(), "aws iam delete-access-key --access-key-id AKIASTRAYSTRAYSTRAY1") {
		t.Fatalf("err = %v", err)
	}
	if n := x.fake.Calls("CreateAccessKey"); n != 0 {
		t.Errorf("created %d keys", n)
	}
}

func TestRotateNewKeyNeverWorks(t *testing.T) {
	x := newRotation(t)
	x.fake.SetNewKeyDelay(1 << 20)
	_, err := x.r.Rotate(context.Background(), "alice")
	if err == nil || !strings.Contains(err.Error(), "both keys are kept") || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Fatalf("err = %v", err)
	}
	if len(x.fake.Keys("alice")) != 2 {
		t.Errorf("IAM keys %v: the old key must stay", x.fake.Keys("alice"))
	}
	var total time.Duration
	for _, d := range x.sleeps {
		total += d
	}
	if total > time.Minute {
		t.Errorf("waited %v, over VerifyTimeout", total)
	}
}

func TestRotateBadStoredSecret(t *testing.T) {
	x := newRotation(t)
	x.store.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: "not-the-right-secret"})
	_, err := x.r.Rotate(context.Background(), "alice")
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("err = %v", err)
	}
	if x.fake.Calls("CreateAccessKey") != 0 {
		t.Error("created a key with an unverified old key")
	}
}

func deleteInput(id string) *iam.DeleteAccessKeyInput {
	return &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(id)}
}
