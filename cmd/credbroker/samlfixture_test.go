package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/logtest"
)

// The federation fixtures: a Samba Active Directory domain (provisioned once,
// kept as a template in the user's cache directory and copied for each test),
// and SimpleSAMLphp on php's built-in server in front of it, configured by the
// test. Samba runs in a network namespace of its own (it cannot bind a
// loopback address other than lo's, nor change LDAP's port 389): the IdP
// reaches it through its ldapi socket, so nothing of it listens on the host.

// Directory users. alice is in aws-Developers and aws-Admins; bob in no aws-
// group; carol in aws-Developers but disabled.
const (
	adRealm     = "CORP.EXAMPLE"
	adAdminPass = "Adm1n-Passw0rd!"
	alicePass   = "Al1ce-Passw0rd!"
	bobPass     = "B0b-Passw0rd!!"
	carolPass   = "Car0l-Passw0rd!"
)

// fixtureCost records what each component cost to start, for the report.
var fixtureCost sync.Map

func noteCost(t testing.TB, what string, d time.Duration) {
	fixtureCost.Store(what, d)
	t.Logf("start cost: %s %v", what, d.Round(time.Millisecond))
}

// needFederationTools skips loudly when a component is missing.
func needFederationTools(t *testing.T) {
	t.Helper()
	needTools(t, "samba=samba samba-ad-dc samba-ad-provision", "samba-tool=samba", "php=php-cli php-ldap php-xml php-mbstring",
		"chromium", "aws=awscli", "unshare=util-linux", "ip=iproute2")
	if _, err := os.Stat("/usr/share/simplesamlphp/www"); err != nil {
		t.Skip("SAML federation e2e needs SimpleSAMLphp: apt-get install simplesamlphp (.ci/run does)")
	}
	out, _ := exec.Command("php", "-m").Output()
	for _, m := range []string{"ldap", "dom", "mbstring", "openssl"} {
		if !bytes.Contains(out, []byte("\n"+m+"\n")) {
			t.Skipf("SAML federation e2e needs php's %s module: apt-get install php-%s (.ci/run does)", m, m)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("SAML federation e2e runs Samba AD in a network namespace of its own: run as root (CI does)")
	}
}

var provisionMu sync.Mutex

// adTemplate returns the provisioned domain's template directory, making it
// the first time (samba-tool domain provision and the users: the slow part).
func adTemplate(t *testing.T) string {
	t.Helper()
	provisionMu.Lock()
	defer provisionMu.Unlock()
	ver, err := exec.Command("samba", "-V").Output()
	if err != nil {
		t.Fatalf("samba -V: %v", err)
	}
	sum := sha256.Sum256(append(ver, []byte("users-v1")...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "credbroker-test", "samba-ad-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		return dir
	}
	start := time.Now()
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("samba-tool", "domain", "provision", "--realm="+adRealm, "--domain=CORP", "--server-role=dc", "--dns-backend=NONE",
		"--adminpass="+adAdminPass, "--targetdir="+tmp, "--use-rfc2307", "--option=interfaces=lo", "--option=bind interfaces only=yes",
		"--option=server services=ldap", "--option=log file="+tmp+"/log.%m",
		"--option=pid directory="+tmp+"/run", "--option=smb ports=1445")
	conf := "--configfile=" + filepath.Join(tmp, "etc", "smb.conf")
	run("samba-tool", "user", "create", "alice", alicePass, "--mail-address=alice@corp.example", conf)
	run("samba-tool", "user", "create", "bob", bobPass, conf)
	run("samba-tool", "user", "create", "carol", carolPass, conf)
	run("samba-tool", "group", "add", "aws-Developers", conf)
	run("samba-tool", "group", "add", "aws-Admins", conf)
	run("samba-tool", "group", "addmembers", "aws-Developers", "alice,carol", conf)
	run("samba-tool", "group", "addmembers", "aws-Admins", "alice", conf)
	run("samba-tool", "user", "disable", "carol", conf)
	if err := os.WriteFile(filepath.Join(tmp, "ready"), []byte(tmp+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	noteCost(t, "Samba AD provision (once, then cached)", time.Since(start))
	return dir
}

// directory is a running Samba AD domain controller.
type directory struct {
	ldapi string // the ldapi:// URL of its socket
}

// startDirectory copies the template domain and runs Samba on it.
func startDirectory(t *testing.T) *directory {
	t.Helper()
	tmpl := adTemplate(t)
	start := time.Now()
	dir := filepath.Join(t.TempDir(), "ad")
	if out, err := exec.Command("cp", "-a", tmpl, dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the domain: %v\n%s", err, out)
	}
	old, err := os.ReadFile(filepath.Join(tmpl, "ready"))
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "etc", "smb.conf")
	conf, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	conf = bytes.ReplaceAll(conf, bytes.TrimSpace(old), []byte(dir))
	// The IdP binds with a password over ldapi, a local socket: no TLS to require
	// (provision does not keep this option).
	conf = bytes.Replace(conf, []byte("[global]\n"), []byte("[global]\n\tldap server require strong auth = no\n"), 1)
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "run"))
	os.MkdirAll(filepath.Join(dir, "run"), 0o755)
	sock := filepath.Join(dir, "private", "ldapi")
	os.Remove(sock)
	cmd := exec.Command("unshare", "--net", "sh", "-c", `ip link set lo up && exec samba --interactive --configfile="$1"`, "sh", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("samba did not open %s in 30s:\n%s", sock, out.String())
		}
	}
	noteCost(t, "Samba AD start", time.Since(start))
	return &directory{ldapi: "ldapi://" + strings.ReplaceAll(sock, "/", "%2F")}
}

// idp is SimpleSAMLphp serving the directory's users.
type idp struct {
	base string // http://127.0.0.1:PORT
	log  *logtest.Buffer
}

// SSOURL is the IdP-initiated sign-in URL for AWS.
func (i *idp) SSOURL() string {
	return i.base + "/saml2/idp/SSOService.php?spentityid=urn:amazon:webservices"
}

// expiringSP is a service provider of the IdP whose assertions arrive
// expired: its assertion lifetime is negative (past the core's minute of
// clock skew). Its entity id is AWS's sign-in URL, an audience the core takes.
const expiringSP = "https://signin.aws.amazon.com/saml"

// oneRoleSP is a service provider of the IdP (a regional AWS sign-in URL, an
// audience the core takes) whose assertions name the Developers role only,
// posting to the second ACS.
const oneRoleSP = "https://us-east-1.signin.aws.amazon.com/saml"

// response signs user in at the IdP for sp with a plain HTTP client (with
// more IdP-initiated parameters: ConsumerURL, RelayState), and returns the
// SAML response (base64) the IdP's page would post.
func (i *idp) response(t *testing.T, sp, user, pass string, more url.Values) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	q := url.Values{"spentityid": {sp}}
	for k, v := range more {
		q[k] = v
	}
	resp, err := hc.Get(i.base + "/saml2/idp/SSOService.php?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	state := resp.Request.URL.Query().Get("AuthState")
	if state == "" {
		t.Fatalf("the IdP did not send a login page: %s", resp.Request.URL)
	}
	resp, err = hc.PostForm(i.base+"/module.php/core/loginuserpass.php", url.Values{"AuthState": {state}, "username": {user}, "password": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no SAMLResponse for %s at %s:\n%s", user, sp, body)
	}
	return html.UnescapeString(string(m[1]))
}

// phpEndpoints is acs as SimpleSAMLphp's AssertionConsumerService array
// (HTTP-POST, the first the default).
func phpEndpoints(acs []string) string {
	var b strings.Builder
	b.WriteString("[")
	for i, u := range acs {
		fmt.Fprintf(&b, "['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', 'Location' => '%s', 'index' => %d, 'isDefault' => %t], ", u, i, i == 0)
	}
	return b.String() + "]"
}

// MetadataURL is the IdP's SAML 2.0 metadata.
func (i *idp) MetadataURL() string { return i.base + "/saml2/idp/metadata.php" }

// startIdP configures SimpleSAMLphp for the directory with AWS (entity id
// urn:amazon:webservices) as its service provider, posting to acs (the first
// is the default; the others are taken as an AuthnRequest's or an
// IdP-initiated ConsumerURL); the Role attribute is built from the user's
// aws-NAME groups: arn:aws:iam::ACCOUNT:role/NAME,PROVIDER. Two more service
// providers: urn:example:other-sp (another audience) and expiringSP, posting to
// the second ACS.
func startIdP(t *testing.T, dir *directory, acs []string, account, provider string) *idp {
	t.Helper()
	start := time.Now()
	root := filepath.Join(t.TempDir(), "idp")
	for _, d := range []string{"config", "metadata", "cert", "tmp", "log"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=idp.corp.example",
		"-keyout", filepath.Join(root, "cert", "idp.key"), "-out", filepath.Join(root, "cert", "idp.crt")).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	files := map[string]string{
		"config/config.php": fmt.Sprintf(`<?php
$config = [
    'baseurlpath' => %q,
    'certdir' => %q, 'metadatadir' => %q, 'tempdir' => %q, 'loggingdir' => %q, 'datadir' => %q,
    'technicalcontact_email' => 'na@corp.example',
    'secretsalt' => %q,
    'auth.adminpassword' => %q,
    'admin.protectindexpage' => true,
    'admin.protectmetadata' => false,
    'timezone' => 'UTC',
    'logging.level' => SimpleSAML\Logger::INFO,
    'logging.handler' => 'stderr',
    'enable.saml20-idp' => true,
    'module.enable' => ['core' => true, 'saml' => true, 'ldap' => true, 'exampleauth' => false],
    'session.cookie.secure' => false,
    'store.type' => 'phpsession',
    'language.default' => 'en',
];
`, base+"/", root+"/cert/", root+"/metadata/", root+"/tmp/", root+"/log/", root+"/tmp/", randomHex(16), randomHex(16)),
		"config/authsources.php": fmt.Sprintf(`<?php
$config = [
    'admin' => ['core:AdminPassword'],
    'ad' => [
        'ldap:LDAP',
        'hostname' => %q,
        'enable_tls' => false,
        'referrals' => false,
        'timeout' => 5,
        'attributes' => ['sAMAccountName', 'memberOf', 'mail'],
        'search.enable' => true,
        'search.base' => 'CN=Users,DC=corp,DC=example',
        'search.attributes' => ['sAMAccountName'],
        'search.username' => 'Administrator@corp.example',
        'search.password' => %q,
    ],
];
`, dir.ldapi, adAdminPass),
		"metadata/saml20-idp-hosted.php": `<?php
$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'ad',
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
];
`,
		"metadata/saml20-sp-remote.php": fmt.Sprintf(`<?php
$metadata['urn:amazon:webservices'] = [
    'AssertionConsumerService' => %s,
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
    'saml20.sign.response' => true,
    'saml20.sign.assertion' => true,
    'authproc' => [
        50 => ['class' => 'core:PHP', 'code' => '
            $roles = [];
            foreach ($attributes["memberOf"] ?? [] as $dn) {
                if (preg_match("/^CN=aws-([A-Za-z0-9+=.@_-]+),/i", $dn, $m)) {
                    $roles[] = "arn:aws:iam::%s:role/" . $m[1] . ",%s";
                }
            }
            $out = ["https://aws.amazon.com/SAML/Attributes/RoleSessionName" => [$attributes["sAMAccountName"][0] . "@corp.example"]];
            if ($roles) { $out["https://aws.amazon.com/SAML/Attributes/Role"] = $roles; }
            $attributes = $out;
        '],
    ],
];
$metadata['urn:example:other-sp'] = [
    'AssertionConsumerService' => 'http://127.0.0.1:9/acs',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
    'saml20.sign.response' => true,
    'saml20.sign.assertion' => true,
    'authproc' => $metadata['urn:amazon:webservices']['authproc'],
];
$metadata[%q] = [
    'AssertionConsumerService' => %q,
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
    'saml20.sign.response' => true,
    'saml20.sign.assertion' => true,
    'assertion.lifetime' => -120,
    'authproc' => $metadata['urn:amazon:webservices']['authproc'],
];
$metadata[%[6]q] = $metadata[%[4]q];
unset($metadata[%[6]q]['assertion.lifetime']);
$metadata[%[6]q]['authproc'][60] = ['class' => 'core:PHP', 'code' => '
    $roles = $attributes["https://aws.amazon.com/SAML/Attributes/Role"] ?? [];
    $attributes["https://aws.amazon.com/SAML/Attributes/Role"] = array_values(array_filter($roles,
        function ($r) { return strpos($r, ":role/Developers,") !== false; }));
'];
`, phpEndpoints(acs), account, provider, expiringSP, acs[min(1, len(acs)-1)], oneRoleSP),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("php", "-S", fmt.Sprintf("127.0.0.1:%d", port), "-t", "/usr/share/simplesamlphp/www")
	cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(root, "config"))
	log := &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	i := &idp{base: base, log: log}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(i.base + "/saml2/idp/metadata.php")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("SimpleSAMLphp not up in 20s: %v\n%s", err, log.String())
		}
	}
	noteCost(t, "SimpleSAMLphp start", time.Since(start))
	return i
}
