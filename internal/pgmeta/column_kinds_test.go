package pgmeta_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestColumnKindChecks: the domains of migration 0012 accept their kind's shape and refuse
// anything else, with their CHECK's name in the error.
func TestColumnKindChecks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.exec(t, `CREATE TABLE public.kinds (r goforward.rich_text, f goforward.file_reference)`)
	cases := []struct {
		column, value string
		ok            bool
	}{
		{"r", `{"html": "<p>Hi</p>", "text": "Hi"}`, true},
		{"r", `{"html": "", "text": "", "metadata": {"words": 0, "nested": {"a": [1]}}}`, true},
		{"r", `{"html": "<p/>", "text": "", "metadata": null}`, true},
		{"r", `{"html": "<p>Hi</p>"}`, false},
		{"r", `{"text": "Hi"}`, false},
		{"r", `{"html": 1, "text": "Hi"}`, false},
		{"r", `{"html": "", "text": "", "metadata": [1]}`, false},
		{"r", `{"html": "", "text": "", "extra": 1}`, false},
		{"r", `"<p>Hi</p>"`, false},
		{"r", `[]`, false},
		{"r", `null`, false},
		{"f", `{"file_id": "8f2b", "url": "/storage/v1/object/public/a/b.png", "filename": "b.png", "size": 1234, "mime_type": "image/png"}`, true},
		{"f", `{"file_id": "x", "url": "", "filename": "", "size": 0, "mime_type": "", "metadata": {"alt": "a cat"}}`, true},
		{"f", `{"file_id": "x", "url": "", "filename": "", "size": 1e3, "mime_type": "", "metadata": null}`, true},
		{"f", `{"file_id": "", "url": "", "filename": "", "size": 0, "mime_type": ""}`, false},
		{"f", `{"file_id": "x", "url": "", "filename": "", "size": -1, "mime_type": ""}`, false},
		{"f", `{"file_id": "x", "url": "", "filename": "", "size": 1.5, "mime_type": ""}`, false},
		{"f", `{"file_id": "x", "url": "", "filename": "", "size": "12", "mime_type": ""}`, false},
		{"f", `{"file_id": "x", "url": "", "filename": "", "mime_type": ""}`, false},
		{"f", `{"file_id": "x", "url": "", "filename": "", "size": 1, "mime_type": "", "metadata": {"n": 1}}`, false},
		{"f", `{"file_id": "x", "url": "", "filename": "", "size": 1, "mime_type": "", "bucket": "b"}`, false},
		{"f", `{"file_id": 7, "url": "", "filename": "", "size": 1, "mime_type": ""}`, false},
		{"f", `12`, false},
	}
	for _, tc := range cases {
		_, err := h.DB.Pool.Exec(t.Context(), "INSERT INTO public.kinds ("+tc.column+") VALUES ($1::jsonb)", tc.value)
		if tc.ok {
			assert.NoError(t, err, "%s %s", tc.column, tc.value)
			continue
		}
		if assert.Error(t, err, "%s %s", tc.column, tc.value) {
			constraint := map[string]string{"r": "rich_text_shape", "f": "file_reference_shape"}[tc.column]
			assert.Contains(t, err.Error(), constraint)
		}
	}
	// SQL NULL is the column's business (NOT NULL), not the kind's.
	h.exec(t, "INSERT INTO public.kinds VALUES (NULL, NULL)")
}
