package storage

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goforward/goforward/internal/httpx"
)

// Limits on names, as Supabase Storage has them.
const (
	maxBucketNameLength = 100
	maxObjectKeyBytes   = 1024 // S3's limit
	// emptyFolderPlaceholder is the file Supabase Studio creates to make a folder exist;
	// it is exempt from a bucket's MIME type list.
	emptyFolderPlaceholder = ".emptyFolderPlaceholder"
)

// validBucketName follows S3's bucket naming: ASCII, no slash.
var validBucketName = regexp.MustCompile(`^[A-Za-z0-9_!.*'() &$=@;:+,?-]+$`)

func checkBucketName(name string) error {
	if len(name) > maxBucketNameLength || !validBucketName.MatchString(name) {
		return errInvalidBucketName()
	}
	return nil
}

// routeWords are the first path segments of the Storage API's own routes under /object
// (/object/list/{bucket}, /object/sign/{bucket}/{name}, ...), and render. A bucket with such a
// name would share its paths with those routes: POST /object/list/a/b would upload into a
// bucket "list" while POST /object/list/a lists bucket "a". Supabase relies on its router
// preferring the fixed segment and does not refuse these names; here they are refused.
var routeWords = map[string]bool{
	"authenticated": true, "copy": true, "info": true, "list": true, "list-v2": true, "move": true,
	"public": true, "render": true, "sign": true, "upload": true,
}

// checkNewBucketName is checkBucketName plus the route words, in any case, for a bucket
// about to be created. (Buckets that already have such a name keep working through the
// routes that name the bucket after a fixed word, such as /object/public/{bucket}/...)
func checkNewBucketName(name string) error {
	if err := checkBucketName(name); err != nil {
		return err
	}
	if routeWords[strings.ToLower(name)] {
		return storageError(http.StatusBadRequest, CodeInvalidBucketName, "Invalid Input",
			fmt.Sprintf("Bucket name invalid: %q is reserved by the Storage API's routes", name))
	}
	return nil
}

// checkObjectName applies Supabase's object key rules: any UTF-8 except control characters,
// the characters S3 tells to avoid (# [ ] { } ^ ` " < > \ | % ~) and invisible characters
// that can disguise a path; no "." or ".." segment; at most 1024 bytes. On top of Supabase's
// rules, empty segments (a leading, doubled or trailing slash) are refused: supabase-js
// never sends them, and they would make two names for one object.
func checkObjectName(name string) error {
	if name == "" || len(name) > maxObjectKeyBytes || !utf8.ValidString(name) {
		return errInvalidKey(name)
	}
	for _, r := range name {
		if forbiddenInKey(r) {
			return errInvalidKey(name)
		}
	}
	for segment := range strings.SplitSeq(name, "/") {
		if segment == "" || segment == "." || segment == ".." {
			return errInvalidKey(name)
		}
	}
	return nil
}

func forbiddenInKey(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case strings.ContainsRune("#[]{}^`\"<>\\|%~", r):
		return true
	}
	switch r {
	case 0x034f, 0x061c, 0x200b, 0x200e, 0x200f, 0x2028, 0x2029, 0x2060, 0xfeff:
		return true
	}
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// blobKey is where an object version's bytes live in the backend. Every upload gets a new
// version, so no two uploads ever write the same blob.
func blobKey(bucket, name, version string) string {
	return bucket + "/" + name + "/" + version
}

// fileSizeLimit is a bucket's file_size_limit as clients send it: a number of bytes, a
// string such as "50MB" (decimal units, as Supabase reads them), or null for none.
type fileSizeLimit struct {
	set   bool   // the field was present
	bytes *int64 // nil: no limit
}

func (f *fileSizeLimit) UnmarshalJSON(data []byte) error {
	f.set = true
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	switch v := raw.(type) {
	case nil:
		f.bytes = nil
		return nil
	case float64:
		if v < 0 || v > math.MaxInt64 || v != math.Trunc(v) {
			return errInvalidRequest("file_size_limit must be a whole number of bytes")
		}
		n := int64(v)
		f.bytes = &n
		return nil
	case string:
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		f.bytes = &n
		return nil
	default:
		return errInvalidRequest("file_size_limit must be a number or a string such as 50MB")
	}
}

var sizeWithUnit = regexp.MustCompile(`(?i)^([0-9]+(?:\.[0-9]+)?)(gb|mb|kb|b)$`)

// parseSize reads "20GB", "1.5MB", "30KB" or "3B" as Supabase does (decimal units).
func parseSize(s string) (int64, error) {
	m := sizeWithUnit.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, errInvalidRequest("Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B")
	}
	value, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, errInvalidRequest("Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B")
	}
	unit := map[string]float64{"gb": 1e9, "mb": 1e6, "kb": 1e3, "b": 1}[strings.ToLower(m[2])]
	bytes := math.Round(value * unit)
	if bytes > math.MaxInt64 {
		return 0, errInvalidRequest("file_size_limit is too large")
	}
	return int64(bytes), nil
}

// baseMediaType is a MIME type without parameters, lower-cased: "text/plain;charset=UTF-8"
// is "text/plain". An unparsable type is returned trimmed and lower-cased.
func baseMediaType(contentType string) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return mt
	}
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// mimeAllowed reports whether contentType matches one of allowed, each an exact type or a
// wildcard such as image/*. Parameters are ignored on both sides.
func mimeAllowed(contentType string, allowed []string) bool {
	typ, sub, ok := strings.Cut(baseMediaType(contentType), "/")
	if !ok {
		return false
	}
	for _, a := range allowed {
		aTyp, aSub, ok := strings.Cut(baseMediaType(a), "/")
		if ok && (aTyp == typ || aTyp == "*") && (aSub == sub || aSub == "*") {
			return true
		}
	}
	return false
}

// checkMimeType enforces a bucket's allowed_mime_types on the type the client declared.
func checkMimeType(declared string, allowed []string, name string) *httpx.AppError {
	if len(allowed) == 0 || strings.HasSuffix(name, emptyFolderPlaceholder) {
		return nil
	}
	if !mimeAllowed(declared, allowed) {
		return errInvalidMimeType(declared)
	}
	return nil
}

// checkSniffedType enforces the bucket's list on what the bytes look like
// (http.DetectContentType of the first 512 bytes), so a declared image/png that is really an
// HTML page is refused. Where sniffing cannot tell the formats apart, the declared type
// stands: unknown binary (application/octet-stream); plain text or XML declared as a text
// format such as application/json, text/csv or image/svg+xml; a ZIP declared as a format
// built on ZIP (docx, xlsx, epub, jar, ...).
func checkSniffedType(sniffed, declared string, allowed []string, name string) *httpx.AppError {
	if len(allowed) == 0 || strings.HasSuffix(name, emptyFolderPlaceholder) {
		return nil
	}
	if mimeAllowed(sniffed, allowed) || sniffInconclusive(baseMediaType(sniffed), baseMediaType(declared)) {
		return nil
	}
	return errInvalidMimeType(baseMediaType(sniffed))
}

func sniffInconclusive(sniffed, declared string) bool {
	typ, sub, _ := strings.Cut(declared, "/")
	switch sniffed {
	case "application/octet-stream":
		return true
	case "text/plain", "text/xml":
		textual := typ == "text" || typ == "application" ||
			strings.HasSuffix(sub, "+xml") || strings.HasSuffix(sub, "+json")
		return textual
	case "application/zip":
		return strings.HasSuffix(sub, "+zip") || strings.HasPrefix(sub, "vnd.") ||
			sub == "java-archive" || sub == "x-zip-compressed"
	}
	return false
}

// cacheControlValue is how Supabase stores cache control: a bare number of seconds becomes
// max-age=N, anything else is kept, and nothing means no-cache.
func cacheControlValue(v string) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "no-cache"
	case isDigits(v):
		return "max-age=" + v
	default:
		return v
	}
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// contentDisposition is Supabase's answer to ?download: a bare attachment, or one with the
// name given, percent-encoded as encodeURIComponent does.
func contentDisposition(filename string) string {
	if filename == "" {
		return "attachment;"
	}
	enc := encodeURIComponent(filename)
	return fmt.Sprintf("attachment; filename=%s; filename*=UTF-8''%s;", enc, enc)
}

func encodeURIComponent(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
