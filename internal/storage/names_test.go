package storage

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestObjectNameRules(t *testing.T) {
	t.Parallel()
	valid := []string{"a.txt", "folder/sub/file.png", "with space (1)!.txt", "日本語/ファイル", "emoji😀", "a..b/...", ".emptyFolderPlaceholder", strings.Repeat("x", 1024)}
	for _, name := range valid {
		require.NoError(t, checkObjectName(name), "%q", name)
	}
	invalid := []string{
		"", "/abs", "trailing/", "double//slash", "..", "a/../b", "./a", "a/.", "nul\x00", "tab\t", "del\x7f", "c1\u0085",
		"hash#", "percent%", "tilde~", "back\\slash", "pipe|", "quote\"", "zero\u200bwidth", "rtl\u202eoverride", "\xff",
		strings.Repeat("x", 1025),
	}
	for _, name := range invalid {
		require.Error(t, checkObjectName(name), "%q", name)
	}
}

func TestBucketNameRules(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"avatars", "my-bucket_1", "Dots.And Spaces", strings.Repeat("b", 100)} {
		require.NoError(t, checkBucketName(name), "%q", name)
	}
	for _, name := range []string{"", "a/b", "ünï", "tilde~", strings.Repeat("b", 101)} {
		require.Error(t, checkBucketName(name), "%q", name)
	}
}

func TestParseSizeReadsDecimalUnits(t *testing.T) {
	t.Parallel()
	cases := map[string]int64{"3B": 3, "30KB": 30_000, "20MB": 20_000_000, "1.5GB": 1_500_000_000, "1gb": 1_000_000_000, " 2mb ": 2_000_000}
	for in, want := range cases {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MB", "12", "-1MB", "1TB", "1.MB"} {
		_, err := parseSize(in)
		require.Error(t, err, in)
	}
}

func TestMimeMatching(t *testing.T) {
	t.Parallel()
	allowed := []string{"image/*", "application/json", "Text/Plain"}
	for _, mt := range []string{"image/png", "IMAGE/JPEG", "application/json; charset=utf-8", "text/plain;charset=UTF-8"} {
		require.True(t, mimeAllowed(mt, allowed), mt)
	}
	for _, mt := range []string{"video/mp4", "application/jsonx", "text/html", "png", ""} {
		require.False(t, mimeAllowed(mt, allowed), mt)
	}
	require.True(t, mimeAllowed("anything/at-all", []string{"*/*"}))
}

func TestSniffedTypeRules(t *testing.T) {
	t.Parallel()
	images := []string{"image/*"}
	require.Nil(t, checkSniffedType("image/png", "image/png", images, "a.png"))
	require.Nil(t, checkSniffedType("application/octet-stream", "image/heic", images, "a.heic"), "unknown binary: the declared type stands")
	require.Nil(t, checkSniffedType("text/xml; charset=utf-8", "image/svg+xml", images, "a.svg"))
	require.NotNil(t, checkSniffedType("text/html; charset=utf-8", "image/png", images, "a.png"))
	require.NotNil(t, checkSniffedType("text/plain; charset=utf-8", "image/png", images, "a.png"))
	require.Nil(t, checkSniffedType("text/plain; charset=utf-8", "application/json", []string{"application/json"}, "a.json"))
	require.Nil(t, checkSniffedType("application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		[]string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}, "a.docx"))
	require.Nil(t, checkSniffedType("text/html", "image/png", nil, "a.png"), "no list, no check")
	require.Nil(t, checkSniffedType("text/html", "image/png", images, "f/.emptyFolderPlaceholder"))
}

func TestCacheControlAndContentDisposition(t *testing.T) {
	t.Parallel()
	require.Equal(t, "max-age=3600", cacheControlValue("3600"))
	require.Equal(t, "no-cache", cacheControlValue(""))
	require.Equal(t, "public, max-age=60", cacheControlValue("public, max-age=60"))
	require.Equal(t, "attachment;", contentDisposition(""))
	require.Equal(t, "attachment; filename=r%C3%A9sum%C3%A9%20(1).pdf; filename*=UTF-8''r%C3%A9sum%C3%A9%20(1).pdf;", contentDisposition("résumé (1).pdf"))
	require.Equal(t, "attachment; filename=a%22b%0D%0A.txt; filename*=UTF-8''a%22b%0D%0A.txt;", contentDisposition("a\"b\r\n.txt"), "no header injection")
}

func TestTransformNotationRoundTrips(t *testing.T) {
	t.Parallel()
	w, h, q := 200, 100, 60
	tr, err := transformSpec{Width: &w, Height: &h, Resize: "contain", Quality: &q}.validate(2500)
	require.NoError(t, err)
	require.Equal(t, "height:100,width:200,resize:contain,quality:60", tr.String(), "Supabase's order")
	back, err := parseTransform(tr.String(), 2500)
	require.NoError(t, err)
	require.Equal(t, tr, back)
	// Tokens signed before the notation followed Supabase's order still read back.
	old, err := parseTransform("width:200,height:100,resize:contain,quality:60,format:origin", 2500)
	require.NoError(t, err)
	require.Equal(t, tr.String(), old.String())
}

func TestBlobKeysSplitBack(t *testing.T) {
	t.Parallel()
	bucket, name, version := splitBlobKey(blobKey("b", "a/deep/name.txt", "v1"))
	require.Equal(t, []string{"b", "a/deep/name.txt", "v1"}, []string{bucket, name, version})
}
