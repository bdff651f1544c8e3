package awsfake

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer"
)

// accessKeysPerUser is IAM's quota of access keys per user.
const accessKeysPerUser = 2

// target is the user an IAM key action names: UserName, else the caller.
func target(form url.Values, p *principal) string {
	if u := form.Get("UserName"); u != "" {
		return u
	}
	return p.user
}

func (s *Server) listAccessKeys(a *answer, form url.Values, p *principal) {
	user := target(form, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	var members strings.Builder
	for _, id := range s.userKeysLocked(user) {
		fmt.Fprintf(&members, `<member><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><CreateDate>%s</CreateDate></member>`,
			esc(user), id, s.keys[id].created.Format(time.RFC3339))
	}
	a.ok(fmt.Sprintf(`<UserName>%s</UserName><AccessKeyMetadata>%s</AccessKeyMetadata><IsTruncated>false</IsTruncated>`, esc(user), members.String()))
}

func (s *Server) createAccessKey(a *answer, form url.Values, p *principal) {
	user := target(form, p)
	id, secret := s.newID(signer.PrefixAccessKey), s.newSecret()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.userKeysLocked(user)) >= accessKeysPerUser {
		a.fail("LimitExceeded", fmt.Sprintf("Cannot exceed quota for AccessKeysPerUser: %d", accessKeysPerUser))
		return
	}
	now := s.now().UTC()
	s.keys[id] = &principal{user: user, arn: userARN(user), secret: secret, created: now, refuse: s.newKeyDelay}
	a.ok(fmt.Sprintf(`<AccessKey><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><SecretAccessKey>%s</SecretAccessKey><CreateDate>%s</CreateDate></AccessKey>`,
		esc(user), id, secret, now.Format(time.RFC3339)))
}

func (s *Server) deleteAccessKey(a *answer, form url.Values, p *principal) {
	user, id := target(form, p), form.Get("AccessKeyId")
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[id]; k == nil || k.token != "" || k.user != user {
		a.fail("NoSuchEntity", fmt.Sprintf("The Access Key with id %s cannot be found.", id))
		return
	}
	delete(s.keys, id) // success: a response with no result element
}
