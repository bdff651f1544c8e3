// Package browsertest drives a real headless Chromium (Debian's chromium) from Go
// tests through chromedp, with a fresh profile per test, keeps screenshots of
// each step as test artifacts, and runs axe-core's accessibility rules on pages.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Binaries are the names Chromium is looked up by, in order.
var Binaries = []string{"chromium", "chromium-browser", "google-chrome"}

// Browser is one headless Chromium for one test.
type Browser struct {
	// Ctx runs chromedp actions in the browser's tab.
	Ctx   context.Context
	t     testing.TB
	dir   string
	shots int
}

// New starts Chromium for t (skipping, loudly, when it is not installed) and stops
// it when t ends; extra are further command-line options (a test CA's key pins,
// host resolver rules). Screenshots go to $CREDBROKER_TEST_ARTIFACTS/<test name>, else to
// a directory under the system's temporary directory; the test log says where.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	var bin string
	for _, name := range Binaries {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no Chromium: install Debian's chromium (apt-get install chromium); .ci/run does")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	root := os.Getenv("CREDBROKER_TEST_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "credbroker-test-artifacts")
	}
	dir := filepath.Join(root, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	// This run's screenshots only.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return &Browser{Ctx: ctx, t: t, dir: dir}
}

// Run runs actions in the tab, failing the test (with a screenshot) on error.
func (b *Browser) Run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.Ctx, actions...); err != nil {
		b.Shot("failed-" + step)
		b.t.Fatalf("%s: %v", step, err)
	}
}

// Shot saves a screenshot of the whole page as NN-name.png.
func (b *Browser) Shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shots++
	p := filepath.Join(b.dir, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(
		twoDigits(b.shots)+"-"+name, "_")+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10%10), byte('0' + n%10)})
}

// Text returns the visible text of the first node sel matches, failing the test
// when there is none.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.Shot("failed-text")
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// axe is axe-core's script (the npm package axe-core, MPL-2.0: Deque Systems'
// accessibility engine), read once per test binary.
var axe struct {
	once sync.Once
	src  string
	path string
}

// AxePath is where axe-core's script is: $CREDBROKER_AXE_CORE, else axe.min.js of
// the axe-core package in npm's global root ("" when neither is there).
func AxePath() string {
	if p := os.Getenv("CREDBROKER_AXE_CORE"); p != "" {
		return p
	}
	out, err := exec.Command("npm", "root", "-g").Output()
	if err != nil {
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "axe-core", "axe.min.js")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// NeedAxe skips t, loudly, when axe-core is not installed, and reads it.
func NeedAxe(t testing.TB) {
	t.Helper()
	axe.once.Do(func() {
		if axe.path = AxePath(); axe.path != "" {
			if b, err := os.ReadFile(axe.path); err == nil {
				axe.src = string(b)
			}
		}
	})
	if axe.src == "" {
		t.Skip("no axe-core: install it with `npm install -g axe-core` (.ci/run does), or set CREDBROKER_AXE_CORE to its axe.min.js")
	}
}

// Violation is one rule axe-core finds broken, with the elements that break it.
type Violation struct {
	ID, Impact, Help string
	Targets          []string
}

// Axe runs axe-core (all its rules) on the page shown and returns the violations
// of impact serious or critical. The script is evaluated through DevTools, so the
// page's Content-Security-Policy does not stop it; NeedAxe must have been called.
func (b *Browser) Axe() []Violation {
	b.t.Helper()
	absent, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`typeof axe === "undefined"`))
	if err == nil && absent { // once per document, in its global scope
		_, err = chromedp.Run(b.Ctx, chromedp.Evaluate[bool](axe.src+";\ntrue"))
	}
	if err != nil {
		b.t.Fatalf("loading axe-core (%s): %v", axe.path, err)
	}
	expr := `(async function(){
	  const r = await axe.run(document, {resultTypes: ["violations"]});
	  return JSON.stringify(r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
	    ID: v.id, Impact: v.impact, Help: v.help, Targets: v.nodes.map(n => n.target.join(" "))})));
	})()`
	out, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.Shot("failed-axe")
		b.t.Fatalf("running axe-core: %v", err)
	}
	var v []Violation
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		b.t.Fatalf("axe-core's answer %q: %v", out, err)
	}
	return v
}
