package storagebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// client calls /storage/v1 of the stack with the service-role key, as a trusted backend would.
type client struct {
	http    *http.Client
	baseURL string
	key     string
	bucket  string
}

func (c *client) do(req *http.Request, want int) (*http.Response, error) {
	req.Header.Set("apikey", c.key)
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return resp, nil
}

func (c *client) objectURL(prefix, name string) string {
	return c.baseURL + "/storage/v1/object/" + prefix + url.PathEscape(c.bucket) + "/" + name
}

// createBucket makes the private bucket every object goes to, without a size limit of its own.
func (c *client) createBucket(ctx context.Context) error {
	body, err := json.Marshal(map[string]any{"name": c.bucket, "public": false})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/storage/v1/bucket", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	return drain(resp)
}

// upload streams size bytes from body as object name, with the length declared up front
// as supabase-js does for a Blob.
func (c *client) upload(ctx context.Context, name string, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.objectURL("", name), body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	return drain(resp)
}

// download copies object name to w.
func (c *client) download(ctx context.Context, name string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.objectURL("authenticated/", name), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	return nil
}

// maxDeletePerRequest is Supabase's bound on one bulk delete.
const maxDeletePerRequest = 1000

// remove deletes the named objects, and with them their bytes on disk.
func (c *client) remove(ctx context.Context, names []string) error {
	for len(names) > 0 {
		batch := names[:min(len(names), maxDeletePerRequest)]
		names = names[len(batch):]
		body, err := json.Marshal(map[string]any{"prefixes": batch})
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.baseURL+"/storage/v1/object/"+url.PathEscape(c.bucket), bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.do(req, http.StatusOK)
		if err != nil {
			return fmt.Errorf("delete objects: %w", err)
		}
		var removed []json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&removed)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("delete objects: %w", err)
		}
		if len(removed) != len(batch) {
			return fmt.Errorf("delete objects: %d of %d removed", len(removed), len(batch))
		}
	}
	return nil
}

func drain(resp *http.Response) error {
	defer resp.Body.Close()
	_, err := io.Copy(io.Discard, resp.Body)
	return err
}
