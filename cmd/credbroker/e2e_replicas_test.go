package main

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/awserr"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/internal/pgtest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/console"
)

// replicaClients are SDK v2 clients of one replica's core listener.
func iamAt(endpoint, id, secret, token string) *iam.Client {
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, token),
		Retryer:     aws.NopRetryer{}})
}

func stsAt(endpoint, id, secret, token string) *awssts.Client {
	return awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, token),
		Retryer:     aws.NopRetryer{}})
}

// TestE2EReplicasOnPostgres runs two real `credbroker serve` processes on one PostgreSQL
// database and checks what replicas promise: a key made through A authenticates through
// B at once (the aws CLI judges), session tokens minted by A open on B, a key deactivated
// through A is refused by B within one second, an MFA code used on A is refused on B, a
// replica killed with SIGKILL during writes loses no acknowledged write, and a database
// restart is survived: cached keys keep authenticating, writes fail with
// ServiceUnavailable while it is down and succeed after.
func TestE2EReplicasOnPostgres(t *testing.T) {
	needTools(t, "aws=awscli")
	ctx := context.Background()
	pg := pgtest.New(t)
	dbURL := pg.NewDatabase(t)
	a, b := newE2E(t), newE2E(t)
	const acct = "111122223333"
	keyFile := filepath.Join(a.root, "master.key")
	cfgPath := filepath.Join(a.root, "replica.hcl")
	cfg := fmt.Sprintf(`region = "us-east-1"
upstream "core" {
  account_id          = %q
  store               = %q
  store_password_file = %q
  master_key {
    source = "file"
    path   = %q
  }
}
`, acct, dbURL, pg.PasswordFile(), keyFile)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	a.cfgPath, b.cfgPath = cfgPath, cfgPath
	rootID, rootSecret, printed := a.coreInitWith("", "--master-key-file", keyFile, "--account-id", acct)
	if strings.Contains(printed, pg.PasswordFile()) && strings.Contains(printed, "password=") {
		t.Errorf("init output shows a password")
	}

	da := a.serve(nil, "--core-addr", "127.0.0.1:0")
	db := b.serve(nil, "--core-addr", "127.0.0.1:0")
	rootA := iamAt(da.eps.Core, rootID, rootSecret, "")

	// A key made through A authenticates through B, with the aws CLI.
	if _, err := rootA.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	k, err := rootA.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	opsID, opsSecret := aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)
	cli := b.command([]string{"AWS_ACCESS_KEY_ID=" + opsID, "AWS_SECRET_ACCESS_KEY=" + opsSecret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL_STS=http://" + db.eps.Core}, "aws", "sts", "get-caller-identity", "--output", "json")
	raw, err := cli.Output()
	var id callerIdentity
	if err != nil || json.Unmarshal(raw, &id) != nil || id.Arn != "arn:aws:iam::"+acct+":user/ops" {
		t.Fatalf("aws sts get-caller-identity through B with A's new key: %v %s %s", err, raw, stderrOf(err))
	}

	// A session minted by A opens on B.
	opsA := stsAt(da.eps.Core, opsID, opsSecret, "")
	sess, err := opsA.GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	c := sess.Credentials
	gid, err := stsAt(db.eps.Core, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(gid.Arn) != "arn:aws:iam::"+acct+":user/ops" {
		t.Fatalf("A's session token through B: %v", err)
	}

	// A console SigninToken made on A signs a browser in on B, once.
	login, err := consoleLoginURL(ctx, http.DefaultClient, "http://"+da.eps.Core+console.FederationPath, console.Prefix+"/",
		aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)})
	if err != nil {
		t.Fatalf("a sign-in token from A: %v", err)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, try := range []struct {
		core string
		want int
	}{{db.eps.Core, http.StatusFound}, {da.eps.Core, http.StatusBadRequest}} {
		resp, err := browser.Get(strings.Replace(login, da.eps.Core, try.core, 1))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != try.want {
			t.Errorf("A's sign-in token at %s: %d, want %d (it signs in on any replica, once)", try.core, resp.StatusCode, try.want)
		}
	}

	// An MFA code used through A is refused through B.
	rootB := iamAt(db.eps.Core, rootID, rootSecret, "")
	dev, err := rootB.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(dev.VirtualMFADevice.Base32StringSeed))
	if err != nil {
		t.Fatal(err)
	}
	code := func(offset int64) string {
		c, err := sts.TOTPCode(seed, uint64(int64(sts.TOTPStep(time.Now()))+offset))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	serial := dev.VirtualMFADevice.SerialNumber
	if _, err := rootA.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("ops"), SerialNumber: serial,
		AuthenticationCode1: aws.String(code(-1)), AuthenticationCode2: aws.String(code(0))}); err != nil {
		t.Fatal(err)
	}
	next := code(1)
	if _, err := opsA.GetSessionToken(ctx, &awssts.GetSessionTokenInput{SerialNumber: serial, TokenCode: aws.String(next)}); err != nil {
		t.Fatalf("GetSessionToken with a fresh code through A: %v", err)
	}
	opsB := stsAt(db.eps.Core, opsID, opsSecret, "")
	if _, err := opsB.GetSessionToken(ctx, &awssts.GetSessionTokenInput{SerialNumber: serial, TokenCode: aws.String(next)}); err == nil {
		t.Error("the MFA code used through A was accepted again through B")
	} else {
		t.Logf("replayed code through B: %s", awserr.Code(err))
	}

	// A deactivation through A is refused by B within one second.
	if _, err := opsB.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rootA.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("ops"), AccessKeyId: &opsID, Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		_, err := opsB.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
		if err != nil {
			t.Logf("B refused the key deactivated through A after %v (%s)", time.Since(start), awserr.Code(err))
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("B still accepts the key 1 s after A deactivated it")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := rootA.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("ops"), AccessKeyId: &opsID, Status: iamtypes.StatusTypeActive}); err != nil {
		t.Fatal(err)
	}

	// kill -9 of A during writes: every acknowledged write is there through B.
	acked := make(chan string, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(acked)
		for i := 0; i < 1000; i++ {
			name := fmt.Sprintf("w%04d", i)
			if _, err := rootA.CreateUser(ctx, &iam.CreateUserInput{UserName: &name}); err != nil {
				return
			}
			acked <- name
		}
	}()
	time.Sleep(700 * time.Millisecond)
	if err := da.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	var names []string
	for n := range acked {
		names = append(names, n)
	}
	if len(names) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	for _, n := range names {
		if _, err := rootB.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(n)}); err != nil {
			t.Fatalf("acknowledged write %s lost after kill -9 of A: %v", n, err)
		}
	}
	t.Logf("kill -9 of A after %d acknowledged writes: all present through B", len(names))

	// The database restarts: B's cached keys keep authenticating, writes answer
	// ServiceUnavailable while it is down and succeed after.
	if _, err := opsB.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err) // the core caches the key and its user for the current generation
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := opsB.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("a cached key through B with the database down: %v", err)
	}
	_, err = rootB.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("during")})
	if awserr.Code(err) != "ServiceUnavailable" {
		t.Errorf("a write with the database down = %v, want ServiceUnavailable", err)
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := rootB.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("after")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a write 10 s after the database came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := db.stop(); err != nil {
		t.Errorf("B: %v\n%s", err, db.stderr.String())
	}
	for _, d := range []*daemonProc{da, db} {
		for _, secret := range []string{rootSecret, opsSecret} {
			if strings.Contains(d.stderr.String(), secret) {
				t.Errorf("a replica's log holds a secret access key")
			}
		}
	}
}
