package browsertest_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/credbroker/credbroker/internal/browsertest"
)

// TestAxeFindsViolations: the check can fail: an image without alternative text,
// an unlabelled field and a button with no name are reported, with where they are;
// the same page fixed passes.
func TestAxeFindsViolations(t *testing.T) {
	browsertest.NeedAxe(t)
	b := browsertest.New(t)
	b.Run("bad page", chromedp.Navigate(`data:text/html,<!doctype html><html lang="en"><title>t</title><main><h1>t</h1>`+
		`<img src="x.png" id="pic"><input id="field"><button id="b"></button></main>`))
	got := map[string]string{}
	for _, v := range b.Axe() {
		got[v.ID] = strings.Join(v.Targets, " ")
	}
	for id, target := range map[string]string{"image-alt": "#pic", "label": "#field", "button-name": "#b"} {
		if !strings.Contains(got[id], target) {
			t.Errorf("axe-core did not report %s at %s: %v", id, target, got)
		}
	}
	b.Run("fixed page", chromedp.Navigate(`data:text/html,<!doctype html><html lang="en"><title>t</title><main><h1>t</h1>`+
		`<img src="x.png" alt="a picture"><label for="field">Name</label><input id="field"><button>Go</button></main>`))
	if v := b.Axe(); len(v) != 0 {
		t.Errorf("the fixed page: %+v", v)
	}
}
