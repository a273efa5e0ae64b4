package auth

import (
	"fmt"
	"strings"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// qrQuietZone is the blank margin around a QR code, in modules: the 4 the standard asks for,
// without which some scanners fail.
const qrQuietZone = 4

// qrModuleSize is the rendered size of one module in SVG user units: a 33-module code (what
// an otpauth URI usually needs) comes out at about 200 units wide.
const qrModuleSize = 5

// qrSVG encodes content as a QR code (error correction level M) and returns it as SVG
// markup, which supabase-js prefixes with "data:image/svg+xml;utf-8," to show as an image.
func qrSVG(content string) (string, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("encode QR code: %w", err)
	}
	return renderQR(code), nil
}

// renderQR draws the dark modules of code as one path, a rectangle per horizontal run, on a
// white background.
func renderQR(code barcode.Barcode) string {
	bounds := code.Bounds()
	n := bounds.Dx()
	side := (n + 2*qrQuietZone) * qrModuleSize
	var path strings.Builder
	for y := 0; y < n; y++ {
		for x := 0; x < n; {
			if !dark(code, bounds.Min.X+x, bounds.Min.Y+y) {
				x++
				continue
			}
			run := 1
			for x+run < n && dark(code, bounds.Min.X+x+run, bounds.Min.Y+y) {
				run++
			}
			fmt.Fprintf(&path, "M%d %dh%dv%dh-%dz", (x+qrQuietZone)*qrModuleSize, (y+qrQuietZone)*qrModuleSize,
				run*qrModuleSize, qrModuleSize, run*qrModuleSize)
			x += run
		}
	}
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#ffffff"/><path fill="#000000" d="%s"/></svg>`,
		side, side, side, side, side, side, path.String())
}

// dark reports whether the module at (x, y) is dark.
func dark(code barcode.Barcode, x, y int) bool {
	r, g, b, _ := code.At(x, y).RGBA()
	return r+g+b < 3*0x8000
}
