package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

//go:embed templates/*.html
var defaultBodies embed.FS

// defaultSubjects are GoTrue's long-standing default subjects, the ones the Supabase CLI's
// config.toml and Supabase's documentation show, so that mail reads the same to users moving
// over. (Recent GoTrue releases reword them; these are what existing projects expect.)
var defaultSubjects = map[string]string{
	KindConfirmation:     "Confirm Your Signup",
	KindRecovery:         "Reset Your Password",
	KindMagicLink:        "Your Magic Link",
	KindInvite:           "You have been invited",
	KindEmailChange:      "Confirm Email Change",
	KindReauthentication: "Confirm reauthentication",
}

// TemplateData is what a template sees. The field names are GoTrue's, so templates written for
// Supabase ({{ .ConfirmationURL }}, {{ .Token }}, {{ .Data.name }}, …) work verbatim. As in
// GoTrue, a name the data does not have renders as nothing rather than failing the send.
type TemplateData struct {
	// SiteURL is the application's URL (auth.site_url).
	SiteURL string
	// ConfirmationURL is the link that completes the flow.
	ConfirmationURL string
	// Token is the 6-digit one-time code, the alternative to the link.
	Token string
	// TokenHash is the hashed token, for templates that build their own link.
	TokenHash string
	// Email is the user's current address.
	Email string
	// NewEmail is the requested address in an email_change mail.
	NewEmail string
	// SendingTo is the address this copy goes to (an email_change mail goes to both addresses).
	SendingTo string
	// RedirectTo is the redirect the client asked for.
	RedirectTo string
	// Data is the user's user_metadata.
	Data map[string]any
}

// fields is the data as GoTrue passes it: a map, so that a template naming a field this
// version does not know renders it empty instead of failing.
func (d TemplateData) fields() map[string]any {
	return map[string]any{
		"SiteURL":         d.SiteURL,
		"ConfirmationURL": d.ConfirmationURL,
		"Token":           d.Token,
		"TokenHash":       d.TokenHash,
		"Email":           d.Email,
		"NewEmail":        d.NewEmail,
		"SendingTo":       d.SendingTo,
		"RedirectTo":      d.RedirectTo,
		"Data":            d.Data,
	}
}

// ErrUnknownKind is wrapped by Render for a kind that has no template.
var ErrUnknownKind = errors.New("mailer: unknown mail kind")

// Templates renders the subject and body of each kind of mail. It is immutable and safe for
// concurrent use.
type Templates struct {
	kinds map[string]kindTemplates
}

type kindTemplates struct {
	// subject is a text template: it becomes a header, where HTML escaping would only garble
	// an address like "a+b@example.com".
	subject *texttemplate.Template
	body    *htmltemplate.Template
}

// DefaultTemplates returns the built-in templates: GoTrue's default subjects and bodies that,
// like GoTrue's, carry both the link and the one-time code.
func DefaultTemplates() *Templates {
	t := &Templates{kinds: make(map[string]kindTemplates, len(defaultSubjects))}
	for _, kind := range Kinds() {
		src, err := defaultBodies.ReadFile("templates/" + kind + ".html")
		if err != nil {
			panic(fmt.Sprintf("mailer: embedded template %s is missing: %v", kind, err))
		}
		t.kinds[kind] = kindTemplates{
			subject: texttemplate.Must(texttemplate.New(kind + ".subject").Parse(defaultSubjects[kind])),
			body:    htmltemplate.Must(htmltemplate.New(kind + ".html").Parse(string(src))),
		}
	}
	return t
}

// LoadTemplates returns the defaults overridden by the files in dir: <kind>.html replaces a
// body and <kind>.subject (one line) a subject; kinds without a file keep the defaults. Files
// with other extensions are ignored. Every file is parsed and trial-rendered here, so a broken
// template or a file named after no kind fails at start, naming the file (and the line, for a
// syntax error). An empty dir means the defaults.
func LoadTemplates(dir string) (*Templates, error) {
	t := DefaultTemplates()
	if dir == "" {
		return t, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mailer: templates: %w", err)
	}
	for _, entry := range entries {
		name := entry.Name()
		ext := filepath.Ext(name)
		if entry.IsDir() || (ext != ".html" && ext != ".subject") {
			continue
		}
		kind := strings.TrimSuffix(name, ext)
		current, ok := t.kinds[kind]
		if !ok {
			return nil, fmt.Errorf("mailer: template %s: no mail kind %q (kinds: %s)", filepath.Join(dir, name), kind, strings.Join(Kinds(), ", "))
		}
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("mailer: template: %w", err)
		}
		if ext == ".html" {
			current.body, err = parseBody(name, string(src))
		} else {
			current.subject, err = parseSubject(name, string(src))
		}
		if err != nil {
			return nil, fmt.Errorf("mailer: template %s: %w", filepath.Join(dir, name), err)
		}
		t.kinds[kind] = current
	}
	return t, nil
}

func parseBody(name, src string) (*htmltemplate.Template, error) {
	body, err := htmltemplate.New(name).Parse(src)
	if err != nil {
		return nil, err
	}
	// html/template works out its escaping on the first execution, so a body that cannot be
	// escaped (a {{ }} inside an unquoted attribute name, say) would otherwise fail only when
	// the first mail goes out. Errors that depend on the data are left for Render.
	var escapeErr *htmltemplate.Error
	if err := body.Execute(&bytes.Buffer{}, sampleData().fields()); errors.As(err, &escapeErr) {
		return nil, err
	}
	return body, nil
}

func parseSubject(name, src string) (*texttemplate.Template, error) {
	src = strings.TrimSpace(src)
	if src == "" {
		return nil, errors.New("empty subject")
	}
	return texttemplate.New(name).Parse(src)
}

// sampleData fills every field, for trial renders.
func sampleData() TemplateData {
	return TemplateData{
		SiteURL: "http://localhost:3000", ConfirmationURL: "http://localhost:3000/confirm",
		Token: "123456", TokenHash: "hash", Email: "user@example.com", NewEmail: "new@example.com",
		SendingTo: "user@example.com", RedirectTo: "http://localhost:3000", Data: map[string]any{},
	}
}

// Render returns the subject (one line), the HTML body and its plain-text rendering for kind.
// User-supplied values (metadata, addresses) are HTML-escaped in the body.
func (t *Templates) Render(kind string, data TemplateData) (subject, html, text string, err error) {
	tpl, ok := t.kinds[kind]
	if !ok {
		return "", "", "", fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	fields := data.fields()
	var buf bytes.Buffer
	if err := tpl.subject.Execute(&buf, fields); err != nil {
		return "", "", "", fmt.Errorf("mailer: render %s subject: %w", kind, err)
	}
	subject = oneLine(buf.String())
	buf.Reset()
	if err := tpl.body.Execute(&buf, fields); err != nil {
		return "", "", "", fmt.Errorf("mailer: render %s body: %w", kind, err)
	}
	html = buf.String()
	return subject, html, PlainText(html), nil
}
