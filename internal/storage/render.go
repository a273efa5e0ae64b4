package storage

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/webp" // decode WebP sources (there is no WebP encoder; they are re-encoded as PNG)

	"github.com/goforward/goforward/internal/httpx"
)

// Resize modes, as Supabase names them.
const (
	resizeCover   = "cover"   // fill the box, cropping what overflows (the default)
	resizeContain = "contain" // fit inside the box, keeping the aspect ratio
	resizeFill    = "fill"    // stretch to the box
	formatOrigin  = "origin"
	// Quality bounds and default, as Supabase documents them.
	minQuality     = 20
	maxQuality     = 100
	defaultQuality = 80
)

// transformSpec is a transformation as a client asks for it, in a sign request's body
// ({"transform":{...}}) or in render query parameters.
type transformSpec struct {
	Width   *int   `json:"width"`
	Height  *int   `json:"height"`
	Resize  string `json:"resize"`
	Format  string `json:"format"`
	Quality *int   `json:"quality"`
}

func (t transformSpec) empty() bool {
	return t.Width == nil && t.Height == nil && t.Resize == "" && t.Format == "" && t.Quality == nil
}

// transformFromQuery reads ?width=&height=&resize=&quality=&format=.
func transformFromQuery(q url.Values) (transformSpec, error) {
	var t transformSpec
	for name, dst := range map[string]**int{"width": &t.Width, "height": &t.Height, "quality": &t.Quality} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return transformSpec{}, errInvalidParameter(name, name+" must be a whole number")
		}
		*dst = &n
	}
	t.Resize, t.Format = q.Get("resize"), q.Get("format")
	return t, nil
}

// transform is a validated transformation.
type transform struct {
	width, height int // 0: follow the other dimension, or keep the image's
	resize        string
	quality       int
	qualitySet    bool   // quality was asked for (else the default applies, unlisted)
	format        string // "" or formatOrigin: the source's format
}

func (t transformSpec) validate(maxDimension int) (transform, error) {
	out := transform{resize: resizeCover, quality: defaultQuality}
	for name, v := range map[string]*int{"width": t.Width, "height": t.Height} {
		if v != nil && (*v < 0 || *v > maxDimension) {
			return transform{}, errInvalidParameter(name, fmt.Sprintf("%s must be between 1 and %d", name, maxDimension))
		}
	}
	if t.Width != nil {
		out.width = *t.Width
	}
	if t.Height != nil {
		out.height = *t.Height
	}
	switch t.Resize {
	case "":
	case resizeCover, resizeContain, resizeFill:
		out.resize = t.Resize
	default:
		return transform{}, errInvalidParameter("resize", "resize must be cover, contain or fill")
	}
	if t.Quality != nil {
		if *t.Quality < minQuality || *t.Quality > maxQuality {
			return transform{}, errInvalidParameter("quality", fmt.Sprintf("quality must be between %d and %d", minQuality, maxQuality))
		}
		out.quality, out.qualitySet = *t.Quality, true
	}
	switch t.Format {
	case "", formatOrigin:
		out.format = t.Format
	default:
		return transform{}, errInvalidParameter("format", "format must be origin")
	}
	return out, nil
}

// String is the transformation as a signed render URL's token records it, in Supabase's
// notation and order ("height:100,width:200,resize:cover,quality:80"): the dimensions asked
// for, the resize mode when there is a dimension, the quality when one was asked for. (The
// format is left out, as Supabase keeps it in a claim of its own; only the source's format
// is produced here anyway.)
func (t transform) String() string {
	return strings.Join(t.segments("resize:"+t.resize), ",")
}

// header is the X-Transformations header of a rendered image: what was applied, in the
// names and order Supabase reports (its imgproxy options): "height:100,width:200,
// resizing_type:fill,quality:80", where cover is fill, contain fit and fill force.
func (t transform) header() string {
	kind := map[string]string{resizeCover: "fill", resizeContain: "fit", resizeFill: "force"}[t.resize]
	return strings.Join(t.segments("resizing_type:"+kind), ",")
}

func (t transform) segments(resize string) []string {
	parts := []string{}
	if t.height > 0 {
		parts = append(parts, "height:"+strconv.Itoa(t.height))
	}
	if t.width > 0 {
		parts = append(parts, "width:"+strconv.Itoa(t.width))
	}
	if t.width > 0 || t.height > 0 {
		parts = append(parts, resize)
	}
	if t.qualitySet {
		parts = append(parts, "quality:"+strconv.Itoa(t.quality))
	}
	return parts
}

// parseTransform reads String's notation back (the token's content was signed by us).
func parseTransform(s string, maxDimension int) (transform, error) {
	var spec transformSpec
	for part := range strings.SplitSeq(s, ",") {
		key, value, _ := strings.Cut(part, ":")
		switch key {
		case "width", "height", "quality":
			n, err := strconv.Atoi(value)
			if err != nil {
				return transform{}, errInvalidSignature("")
			}
			switch key {
			case "width":
				spec.Width = &n
			case "height":
				spec.Height = &n
			default:
				spec.Quality = &n
			}
		case "resize":
			spec.Resize = value
		case "format":
			spec.Format = value
		}
	}
	return spec.validate(maxDimension)
}

// renderImage serves /render/image/{authenticated|public|sign}/{bucket}/{name}: the image
// resized and re-encoded. Access follows the same rules as the object routes. The source's
// size and pixel count are bounded before it is decoded, and at most ImageConcurrency
// decodes run at once, so transformations cannot exhaust memory.
func (s *Service) renderImage(mode access) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.DisableImageTransformation {
			return errFeatureNotEnabled("image transformation")
		}
		obj, err := s.findReadable(r, mode)
		if err != nil {
			return err
		}
		var t transform
		if mode == accessSigned {
			t, err = parseTransform(obj.transform, s.cfg.ImageMaxDimension)
		} else {
			var spec transformSpec
			if spec, err = transformFromQuery(r.URL.Query()); err == nil {
				t, err = spec.validate(s.cfg.ImageMaxDimension)
			}
		}
		if err != nil {
			return err
		}
		meta := obj.row.meta()
		etag := transformedETag(meta.ETag, t)
		setObjectHeaders(w.Header(), obj, meta)
		w.Header().Set("ETag", etag)
		if h := t.header(); h != "" {
			w.Header().Set("X-Transformations", h)
		}
		if matchesETag(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		out, contentType, err := s.transformBlob(r, obj.row.blobKey(), meta.Size, t)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", contentType)
		if filename, ok := downloadName(r); ok {
			w.Header().Set("Content-Disposition", contentDisposition(filename))
		}
		http.ServeContent(w, r, "", lastModified(obj.row, meta), bytes.NewReader(out))
		return nil
	}
}

func (s *Service) transformBlob(r *http.Request, key string, size int64, t transform) ([]byte, string, error) {
	ctx := r.Context()
	if size > s.cfg.ImageMaxSourceBytes {
		return nil, "", errImageTooLarge()
	}
	select {
	case s.images <- struct{}{}:
		defer func() { <-s.images }()
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	rc, _, err := s.backend.Open(ctx, key, 0, s.cfg.ImageMaxSourceBytes+1)
	if err != nil {
		return nil, "", blobError(err)
	}
	source, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, "", fmt.Errorf("read image: %w", err)
	}
	if int64(len(source)) > s.cfg.ImageMaxSourceBytes {
		return nil, "", errImageTooLarge()
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(source))
	if err != nil {
		return nil, "", errInvalidRequest("The object is not an image that can be transformed").WithCause(err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > s.cfg.ImageMaxSourcePixels {
		return nil, "", errImageTooLarge()
	}
	img, err := imaging.Decode(bytes.NewReader(source), imaging.AutoOrientation(true))
	if err != nil {
		return nil, "", errInvalidRequest("The object is not an image that can be transformed").WithCause(err)
	}
	img = t.apply(img)
	outFormat, err := imaging.FormatFromExtension(format)
	if err != nil {
		outFormat = imaging.PNG // no encoder for the source's format (WebP)
	}
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, img, outFormat, imaging.JPEGQuality(t.quality)); err != nil {
		return nil, "", fmt.Errorf("encode image: %w", err)
	}
	return buf.Bytes(), "image/" + strings.ToLower(outFormat.String()), nil
}

func (t transform) apply(img image.Image) image.Image {
	switch {
	case t.width == 0 && t.height == 0:
		return img
	case t.width == 0 || t.height == 0:
		return imaging.Resize(img, t.width, t.height, imaging.Lanczos)
	case t.resize == resizeContain:
		return imaging.Fit(img, t.width, t.height, imaging.Lanczos)
	case t.resize == resizeFill:
		return imaging.Resize(img, t.width, t.height, imaging.Lanczos)
	default:
		return imaging.Fill(img, t.width, t.height, imaging.Center, imaging.Lanczos)
	}
}

func errImageTooLarge() *httpx.AppError {
	return storageError(http.StatusRequestEntityTooLarge, CodeEntityTooLarge, "Payload too large", "The image is too large to transform")
}

// transformedETag names one rendering of one version of an image.
func transformedETag(sourceETag string, t transform) string {
	sum := md5.Sum([]byte(sourceETag + "|" + t.String()))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// matchesETag reports whether an If-None-Match header lists etag (or is "*"), comparing
// weakly as RFC 9110 says for If-None-Match.
func matchesETag(header, etag string) bool {
	for candidate := range strings.SplitSeq(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || candidate == etag {
			return true
		}
	}
	return false
}
