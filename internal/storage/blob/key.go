package blob

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxKeyLength is the longest key a backend accepts, in bytes: room for a bucket id, an
// object name of S3's 1024-byte maximum and a version suffix.
const MaxKeyLength = 2048

// ReservedChar never appears in a key. Backends may use it to build names of their own that
// can never collide with a key's (the local backend marks its files and its temporary
// directory with it).
const ReservedChar = '~'

// CheckKey reports whether key is acceptable to every backend, wrapping ErrInvalidKey when it
// is not. A key is a relative, slash-separated path of at most MaxKeyLength bytes of valid
// UTF-8 whose segments are neither empty, "." nor "..", and which contains no control
// character (C0, DEL, C1), no backslash and no ReservedChar. Together these make it
// impossible for a key to name anything outside the backend's own space, on any file system.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLength)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	}
	for _, r := range key {
		switch {
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return fmt.Errorf("%w: control character %U", ErrInvalidKey, r)
		case r == '\\':
			return fmt.Errorf("%w: backslash", ErrInvalidKey)
		case r == ReservedChar:
			return fmt.Errorf("%w: %q is reserved", ErrInvalidKey, ReservedChar)
		}
	}
	for segment := range strings.SplitSeq(key, "/") {
		switch segment {
		case "":
			return fmt.Errorf("%w: empty segment (absolute path, doubled or trailing slash)", ErrInvalidKey)
		case ".", "..":
			return fmt.Errorf("%w: %q segment", ErrInvalidKey, segment)
		}
	}
	return nil
}
