// Package browsertest drives a real headless Chromium (Debian's chromium) from Go
// tests through chromedp, with a fresh profile per test, and keeps screenshots of
// each step as test artifacts.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
