package mailer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goforward/goforward/internal/mailer"
	"github.com/stretchr/testify/require"
)

func sampleData() mailer.TemplateData {
	return mailer.TemplateData{
		SiteURL:         "https://app.example.com",
		ConfirmationURL: "https://api.example.com/auth/v1/verify?token=abc123&type=signup&redirect_to=https://app.example.com",
		Token:           "482913",
		TokenHash:       "abc123",
		Email:           "ann@example.com",
		NewEmail:        "ann.new@example.com",
		RedirectTo:      "https://app.example.com/welcome",
		Data:            map[string]any{"name": "Ann"},
	}
}

func TestDefaultTemplatesRenderEveryKindWithLinkAndCode(t *testing.T) {
	t.Parallel()
	subjects := map[string]string{
		mailer.KindConfirmation:     "Confirm Your Signup",
		mailer.KindRecovery:         "Reset Your Password",
		mailer.KindMagicLink:        "Your Magic Link",
		mailer.KindInvite:           "You have been invited",
		mailer.KindEmailChange:      "Confirm Email Change",
		mailer.KindReauthentication: "Confirm reauthentication",
	}
	require.Len(t, mailer.Kinds(), len(subjects))
	data := sampleData()
	templates := mailer.DefaultTemplates()

	for _, kind := range mailer.Kinds() {
		subject, html, text, err := templates.Render(kind, data)
		require.NoError(t, err, kind)
		require.Equal(t, subjects[kind], subject, kind)
		require.Contains(t, html, data.Token, kind)
		require.Contains(t, text, data.Token, kind)
		// The link, HTML-escaped in the attribute and plain in the text part.
		require.Contains(t, html, `href="`+strings.ReplaceAll(data.ConfirmationURL, "&", "&amp;")+`"`, kind)
		require.Contains(t, text, "<"+data.ConfirmationURL+">", kind)
		require.NotContains(t, text, "<p>", kind)
	}

	_, html, _, err := templates.Render(mailer.KindEmailChange, data)
	require.NoError(t, err)
	require.Contains(t, html, "ann@example.com")
	require.Contains(t, html, "ann.new@example.com")
}

func TestReauthenticationWithoutALinkShowsOnlyTheCode(t *testing.T) {
	t.Parallel()
	_, html, text, err := mailer.DefaultTemplates().Render(mailer.KindReauthentication, mailer.TemplateData{Token: "102938"})
	require.NoError(t, err)
	require.Contains(t, text, "102938")
	require.NotContains(t, html, "<a ")
}

func TestRenderUnknownKind(t *testing.T) {
	t.Parallel()
	_, _, _, err := mailer.DefaultTemplates().Render("welcome", sampleData())
	require.ErrorIs(t, err, mailer.ErrUnknownKind)
}

func TestLoadTemplatesOverridesFromADirectory(t *testing.T) {
	t.Parallel()
	templates, err := mailer.LoadTemplates(filepath.Join("testdata", "overrides"))
	require.NoError(t, err)
	data := sampleData()

	subject, html, text, err := templates.Render(mailer.KindConfirmation, data)
	require.NoError(t, err)
	require.Equal(t, "Acme: confirm ann@example.com", subject)
	require.Contains(t, html, "Welcome to Acme, Ann!")
	// html/template escapes by context: a value inside a URL query is query-escaped.
	require.Contains(t, html, "token_hash=abc123&type=signup&next=https%3a%2f%2fapp.example.com%2fwelcome")
	require.Contains(t, text, "https://app.example.com/auth/confirm?token_hash=abc123&type=signup")
	require.Contains(t, text, "Your code: 482913")

	// A subject override alone keeps the default body.
	subject, html, _, err = templates.Render(mailer.KindReauthentication, data)
	require.NoError(t, err)
	require.Equal(t, "482913 is your Acme code", subject)
	_, defaultHTML, _, err := mailer.DefaultTemplates().Render(mailer.KindReauthentication, data)
	require.NoError(t, err)
	require.Equal(t, defaultHTML, html)

	// Kinds without files keep both defaults.
	subject, _, _, err = templates.Render(mailer.KindRecovery, data)
	require.NoError(t, err)
	require.Equal(t, "Reset Your Password", subject)
}

func TestLoadTemplatesEmptyDirMeansDefaults(t *testing.T) {
	t.Parallel()
	templates, err := mailer.LoadTemplates("")
	require.NoError(t, err)
	subject, _, _, err := templates.Render(mailer.KindMagicLink, sampleData())
	require.NoError(t, err)
	require.Equal(t, "Your Magic Link", subject)
}

func TestLoadTemplatesFailsAtLoadNamingTheFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, content string
		want                []string
	}{
		{"syntax error", "recovery.html", "<p>Hello</p>\n<p>{{ .Token </p>\n", []string{"recovery.html:2"}},
		{"undefined function", "invite.html", "<p>{{ shout .Email }}</p>", []string{"invite.html:1", "shout"}},
		{"cannot be escaped", "magic_link.html", `<p><a href="{{ .ConfirmationURL }}>Sign in</a></p>`, []string{"magic_link.html"}},
		{"subject syntax error", "invite.subject", "Hi {{ .Email", []string{"invite.subject:1"}},
		{"empty subject", "invite.subject", " \n", []string{"invite.subject", "empty subject"}},
		{"no such kind", "welcome.html", "<p>hi</p>", []string{"welcome.html", `"welcome"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o600))

			_, err := mailer.LoadTemplates(dir)
			require.Error(t, err)
			for _, want := range tc.want {
				require.ErrorContains(t, err, want)
			}
		})
	}

	t.Run("missing directory", func(t *testing.T) {
		t.Parallel()
		_, err := mailer.LoadTemplates(filepath.Join(t.TempDir(), "nope"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestRenderEscapesUserDataInHTMLOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "confirmation.html"), []byte(`<p>Hi {{ .Data.name }}</p><p>{{ .Email }}</p>`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "confirmation.subject"), []byte(`Welcome {{ .Data.name }} <{{ .Email }}>`), 0o600))
	templates, err := mailer.LoadTemplates(dir)
	require.NoError(t, err)

	data := sampleData()
	data.Email = "ann+news@example.com"
	data.Data = map[string]any{"name": `<script>alert("x")</script>` + "\r\nBcc: mallory@example.com"}
	subject, html, text, err := templates.Render(mailer.KindConfirmation, data)
	require.NoError(t, err)

	require.NotContains(t, html, "<script>")
	require.Contains(t, html, "&lt;script&gt;")
	// A subject is a header, not HTML: no entities, and no line breaks to inject headers with.
	require.Equal(t, `Welcome <script>alert("x")</script> Bcc: mallory@example.com <ann+news@example.com>`, subject)
	// The text part shows the user's text as text.
	require.Contains(t, text, `Hi <script>alert("x")</script>`)
	require.Contains(t, text, "ann+news@example.com")
}

func TestRenderLeavesFieldsItDoesNotKnowEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Written for a newer GoTrue, or naming metadata this user lacks: renders, as in GoTrue.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "recovery.html"), []byte(`<p>[{{ .OldEmail }}][{{ .Data.profile.nickname }}] {{ .Token }}</p>`), 0o600))
	templates, err := mailer.LoadTemplates(dir)
	require.NoError(t, err)

	_, _, text, err := templates.Render(mailer.KindRecovery, mailer.TemplateData{Token: "111222"})
	require.NoError(t, err)
	require.Equal(t, "[][] 111222", text)
}
