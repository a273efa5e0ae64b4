//go:build !no_dashboard

package dashboard_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	export "github.com/goforward/goforward/dashboard"
)

// budget is issue 16's limit on the JavaScript a first page load fetches, gzip-compressed
// (what the service sends a browser that accepts gzip).
const budget = 300 * 1024

var scriptSrcRE = regexp.MustCompile(`<script[^>]*\ssrc="([^"]+)"`)

// TestFirstLoadBudget reads every page of the embedded export and adds up the gzip size of the
// scripts it loads, inline ones included: each must stay under the budget. The sizes are
// logged (-v) for bench/RESULTS.md.
func TestFirstLoadBudget(t *testing.T) {
	files := export.Files()
	pages, err := fs.Glob(files, "*.html")
	require.NoError(t, err)
	require.NotEmpty(t, pages)
	sort.Strings(pages)
	for _, page := range pages {
		html, err := fs.ReadFile(files, page)
		require.NoError(t, err)
		total := gzipSize(t, inlineScriptText(html))
		for _, m := range scriptSrcRE.FindAllSubmatch(html, -1) {
			js, err := fs.ReadFile(files, strings.TrimPrefix(string(m[1]), "/"))
			require.NoError(t, err, "%s loads %s", page, m[1])
			total += gzipSize(t, js)
		}
		t.Logf("%-20s %6.1f KB of gzip-compressed JavaScript", page, float64(total)/1024)
		require.Less(t, total, budget, fmt.Sprintf("%s: first load over %d KB", page, budget/1024))
	}
}

var inlineRE = regexp.MustCompile(`(?s)<script(?:\s[^>]*)?>(.*?)</script>`)

func inlineScriptText(html []byte) []byte {
	var b bytes.Buffer
	for _, m := range inlineRE.FindAllSubmatch(html, -1) {
		b.Write(m[1])
	}
	return b.Bytes()
}

func gzipSize(t *testing.T, b []byte) int {
	t.Helper()
	var out bytes.Buffer
	w, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	require.NoError(t, err)
	_, err = w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return out.Len()
}
