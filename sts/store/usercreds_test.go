package store

import (
	"context"
	"testing"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/sts/account"
)

// TestUserCredentialsAndServerCertificates: the records of issue 13's credentials on
// both backends, with their indexes kept in the same transaction (Check agrees after
// every step) and IAM's quotas and conflicts.
func TestUserCredentialsAndServerCertificates(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *clocktest.Clock) {
		ctx := context.Background()
		checked := func(step string) {
			t.Helper()
			if err := s.Check(ctx); err != nil {
				t.Fatalf("after %s: Check: %v", step, err)
			}
		}
		update(t, s, func(tx *Tx) error { _, err := tx.CreateUser(account.User{Name: "dana"}); return err })
		var ssh, cert account.UserCredential
		update(t, s, func(tx *Tx) error {
			var err error
			if ssh, err = tx.AddUserCredential("dana", account.UserCredential{Kind: account.CredSSHPublicKey, Body: "ssh-ed25519 AAAA", Digest: "aa:bb"}); err != nil {
				return err
			}
			cert, err = tx.AddUserCredential("dana", account.UserCredential{Kind: account.CredSigningCertificate, Body: "PEM", Digest: "sha"})
			return err
		})
		checked("adding")
		err := s.Update(ctx, func(tx *Tx) error {
			_, err := tx.AddUserCredential("dana", account.UserCredential{Kind: account.CredSSHPublicKey, Digest: "aa:bb"})
			return err
		})
		wantCode(t, "same SSH key", err, account.DuplicateSSHPublicKey, "")
		err = s.Update(ctx, func(tx *Tx) error {
			_, err := tx.AddUserCredential(account.RootUserName, account.UserCredential{Kind: account.CredSigningCertificate, Digest: "sha"})
			return err
		})
		wantCode(t, "same certificate for another user", err, account.DuplicateCertificate, "")
		err = s.Update(ctx, func(tx *Tx) error {
			_, err := tx.AddUserCredential(account.RootUserName, account.UserCredential{Kind: account.CredSSHPublicKey, Digest: "cc"})
			return err
		})
		wantCode(t, "root's SSH key", err, account.InvalidInput, "")
		err = s.Update(ctx, func(tx *Tx) error { return tx.DeleteUser("dana") })
		wantCode(t, "DeleteUser", err, account.DeleteConflict, "Cannot delete entity, must delete signing certificates first.")
		// Another user's id is not found; an update cannot change the owner or body.
		update(t, s, func(tx *Tx) error { _, err := tx.CreateUser(account.User{Name: "erin"}); return err })
		view(t, s, func(tx *Tx) error {
			_, err := tx.UserCredential(account.CredSSHPublicKey, "erin", ssh.ID)
			wantCode(t, "erin's view of dana's key", err, account.NoSuchEntity, "The Public Key with id "+ssh.ID+" cannot be found.")
			_, err = tx.UserCredential(account.CredSigningCertificate, "dana", ssh.ID)
			wantCode(t, "a key read as a certificate", err, account.NoSuchEntity, "")
			return nil
		})
		update(t, s, func(tx *Tx) error {
			_, err := tx.UpdateUserCredential(account.CredSSHPublicKey, "dana", ssh.ID, func(c *account.UserCredential) error {
				c.Status, c.UserID, c.Body = account.KeyInactive, "AIDAOTHER", "other"
				return nil
			})
			return err
		})
		view(t, s, func(tx *Tx) error {
			got, err := tx.UserCredential(account.CredSSHPublicKey, "dana", ssh.ID)
			if err == nil && (got.Status != account.KeyInactive || got.Body != "ssh-ed25519 AAAA") {
				t.Errorf("after update: %+v", got)
			}
			return err
		})
		for _, c := range []account.UserCredential{ssh, cert} {
			update(t, s, func(tx *Tx) error { return tx.DeleteUserCredential(c.Kind, "dana", c.ID) })
		}
		checked("deleting")
		update(t, s, func(tx *Tx) error { return tx.DeleteUser("dana") })

		// Server certificates: a name index renamed in the same transaction, a key sealed.
		update(t, s, func(tx *Tx) error {
			_, err := tx.UploadServerCertificate(account.ServerCertificate{Name: "www", Body: "PEM", PrivateKey: []byte("key")})
			return err
		})
		err = s.Update(ctx, func(tx *Tx) error {
			_, err := tx.UploadServerCertificate(account.ServerCertificate{Name: "WWW", Body: "PEM", PrivateKey: []byte("key")})
			return err
		})
		wantCode(t, "same name", err, account.EntityAlreadyExists, "")
		update(t, s, func(tx *Tx) error { _, err := tx.UpdateServerCertificate("www", "web", "/elb/"); return err })
		checked("renaming")
		view(t, s, func(tx *Tx) error {
			k, err := tx.ServerCertificatePrivateKey("web")
			if string(k) != "key" {
				t.Errorf("key %q", k)
			}
			sc, _ := tx.ServerCertificate("web")
			if sc.ARN != "arn:aws:iam::"+testAccount+":server-certificate/elb/web" {
				t.Errorf("ARN %s", sc.ARN)
			}
			_, err2 := tx.ServerCertificate("www")
			wantCode(t, "old name", err2, account.NoSuchEntity, "")
			return err
		})
		update(t, s, func(tx *Tx) error { return tx.DeleteServerCertificate("web") })
		checked("deleting the certificate")
	})
}

// TestServiceLinkedRoleTasks: service-linked roles live on their path; deleting one
// takes its policies along, or fails as a task while the role is in use.
func TestServiceLinkedRoleTasks(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *clocktest.Clock) {
		ctx := context.Background()
		const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"x.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
		slr := account.Role{Name: "AWSServiceRoleForX", Path: "/aws-service-role/x.amazonaws.com/", AssumeRolePolicy: trust,
			InlinePolicies: account.InlinePolicies{{Name: "p", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"x:*","Resource":"*"}]}`}}}
		err := s.Update(ctx, func(tx *Tx) error {
			_, err := tx.CreateServiceLinkedRole(account.Role{Name: "plain", Path: "/", AssumeRolePolicy: trust})
			return err
		})
		wantCode(t, "a service-linked role off its path", err, account.InvalidInput, "")
		update(t, s, func(tx *Tx) error {
			if _, err := tx.CreateServiceLinkedRole(slr); err != nil {
				return err
			}
			if _, err := tx.CreateRole(account.Role{Name: "plain", AssumeRolePolicy: trust}); err != nil {
				return err
			}
			if _, err := tx.CreateInstanceProfile(account.InstanceProfile{Name: "ip"}); err != nil {
				return err
			}
			return tx.AddRoleToInstanceProfile("ip", slr.Name)
		})
		err = s.Update(ctx, func(tx *Tx) error { return tx.DeleteServiceLinkedRole("plain", "task/plain") })
		wantCode(t, "an ordinary role", err, account.InvalidInput, "Role plain is not a service-linked role.")
		status := func(task string) (string, string) {
			var st, reason string
			view(t, s, func(tx *Tx) error {
				var err error
				st, reason, err = tx.ServiceLinkedRoleDeletionStatus(task)
				return err
			})
			return st, reason
		}
		update(t, s, func(tx *Tx) error { return tx.DeleteServiceLinkedRole(slr.Name, "task/busy") })
		if st, reason := status("task/busy"); st != "FAILED" || reason == "" {
			t.Errorf("in use: %s %q", st, reason)
		}
		update(t, s, func(tx *Tx) error {
			if err := tx.RemoveRoleFromInstanceProfile("ip", slr.Name); err != nil {
				return err
			}
			return tx.DeleteServiceLinkedRole(slr.Name, "task/x")
		})
		if st, _ := status("task/x"); st != "SUCCEEDED" {
			t.Errorf("status %s", st)
		}
		view(t, s, func(tx *Tx) error {
			_, err := tx.Role(slr.Name)
			wantCode(t, "deleted role", err, account.NoSuchEntity, "")
			_, _, err = tx.ServiceLinkedRoleDeletionStatus("task/none")
			wantCode(t, "unknown task", err, account.NoSuchEntity, "")
			return nil
		})
		if err := s.Check(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
