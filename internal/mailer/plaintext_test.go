package mailer_test

import (
	"testing"

	"github.com/goforward/goforward/internal/mailer"
	"github.com/stretchr/testify/require"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, html, want string }{
		{"paragraphs", "<h2>Title</h2>\n  <p>First   line\n continues</p><p>Second</p>", "Title\n\nFirst line continues\n\nSecond"},
		{"link keeps its target", `<p><a href="https://x.example/v?a=1&amp;b=2">Confirm</a></p>`, "Confirm <https://x.example/v?a=1&b=2>"},
		{"link whose text is its target", `<a href='https://x.example/'>https://x.example/</a>`, "https://x.example/"},
		{"link without href", `<a name="top">Top</a>`, "Top"},
		{"unquoted attribute", `<a class=btn href=https://x.example/>Go</a>`, "Go <https://x.example/>"},
		{"entities", "<p>Fish &amp; chips &lt;b&gt; &quot;q&quot; &#39;s&#39;</p>", `Fish & chips <b> "q" 's'`},
		{"escaped markup stays text", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<script>alert(1)</script>"},
		{"head, style and script dropped", "<html><head><title>T</title><style>p { color: red }</style></head><body><script>var x = '<p>';</script><p>Body</p></body></html>", "Body"},
		{"breaks and lists", "Line one<br>Line two<br/><ul><li>a</li><li>b</li></ul>", "Line one\nLine two\n\n- a\n- b"},
		{"table cells", "<table><tr><td>Code:</td><td>123456</td></tr></table>", "Code: 123456"},
		{"comments dropped", "<p>A<!-- hidden <b>x</b> -->B</p>", "AB"},
		{"a lone angle bracket is text", "<p>1 < 2 and 3 > 2</p>", "1 < 2 and 3 > 2"},
		{"quoted > inside an attribute", `<a title="a>b" href="https://x.example/">X</a>`, "X <https://x.example/>"},
		{"plain text passes through", "just text", "just text"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, mailer.PlainText(tc.html))
		})
	}
}
