package broker

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker/session"
	"github.com/credbroker/credbroker/internal/logtest"
)

// TestAuditEarlySummary: with auditMaxKeys connections seen since the
// last summary, the summary is written at once (not at the interval, an
// hour here) and the keys forgotten, so memory stays bounded under a
// storm of new connections; no count is lost.
func TestAuditEarlySummary(t *testing.T) {
	buf := &logtest.Buffer{}
	a := newAuditor(hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Info, JSONFormat: true}), time.Hour, time.Now)
	bd := &binding{key: session.Key{Role: "deploy"}, sessionName: "s"}
	creds := aws.Credentials{AccessKeyID: "ASIAEXAMPLE", Expires: time.Now().Add(time.Hour)}
	for i := 0; i < auditMaxKeys; i++ {
		c := &fakeCaller{uid: uint32(i)}
		a.served("imds", c, netip.AddrPort{}, bd, creds)
		a.served("imds", c, netip.AddrPort{}, bd, creds) // one repeat each
	}
	buf.WaitLine(t, "credentials handed out again", `"count":1`)
	a.close()
	// Every credential is in a full line or a count (a repeat that came
	// just after the early summary is a full line of its own).
	full, counted := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct {
			Msg   string `json:"@message"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		switch rec.Msg {
		case "credentials handed out":
			full++
		case "credentials handed out again":
			counted += rec.Count
		}
	}
	if full+counted != 2*auditMaxKeys || full < auditMaxKeys {
		t.Errorf("%d full lines + %d counted = %d credentials, want %d", full, counted, full+counted, 2*auditMaxKeys)
	}
}
