package samlsp

import (
	"html/template"
	"net/http"
)

// redirectPage turns the console's redirect into a page that goes there (its
// cookies kept); any other answer passes through.
type redirectPage struct {
	http.ResponseWriter
	status int
	done   bool
}

func (p *redirectPage) WriteHeader(status int) {
	p.status = status
	loc := p.Header().Get("Location")
	if status != http.StatusFound || loc == "" {
		p.ResponseWriter.WriteHeader(status)
		return
	}
	p.done = true
	p.Header().Del("Location")
	page(p.ResponseWriter, http.StatusOK, pageData{Title: "Signing in", Message: "Signed in: opening the console.", Refresh: "0;url=" + loc, Link: loc})
}

func (p *redirectPage) Write(b []byte) (int, error) {
	if p.done {
		return len(b), nil // the redirect's own body
	}
	if p.status == 0 {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

type roleChoice struct {
	Index     int
	Name, ARN string
}

type pageData struct {
	Title, Code, Message string
	// Nonce and Roles make the chooser.
	Nonce string
	Roles []roleChoice
	// HandOff and Response make the hand-off form.
	HandOff, Response string
	// Refresh and Link send the browser on.
	Refresh, Link string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<link rel="stylesheet" href="/console/static/console.css">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}</head>
<body><main><h1>{{.Title}}</h1>
{{if .Code}}<p id="code">{{.Code}}</p>{{end}}<p id="message">{{.Message}}</p>
{{if .Roles}}<form method="post" action="/saml"><input type="hidden" name="nonce" value="{{.Nonce}}">
<fieldset><legend>Select a role</legend>
{{range .Roles}}<p><label><input type="radio" name="roleIndex" value="{{.Index}}"{{if eq .Index 0}} checked{{end}}> {{.Name}} <small>({{.ARN}})</small></label></p>
{{end}}</fieldset><p><button id="signin_button" type="submit">Sign in</button></p></form>{{end}}
{{if .HandOff}}<form id="handoff" method="post" action="{{.HandOff}}"><input type="hidden" name="SAMLResponse" value="{{.Response}}">
<noscript><p><button type="submit">Continue</button></p></noscript></form><script src="/saml/continue.js"></script>{{end}}
{{if .Link}}<p><a id="continue" href="{{.Link}}">Continue to the console</a></p>{{end}}
</main></body></html>
`))

func page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}
