package auth

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/stretchr/testify/require"

	"github.com/goforward/goforward/internal/security"
)

var runPattern = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v(\d+)h-(\d+)z`)

func TestQRSVGDrawsEveryModuleOfTheCode(t *testing.T) {
	t.Parallel()
	content := "otpauth://totp/localhost:3000:ann@example.com?algorithm=SHA1&digits=6&issuer=localhost%3A3000&period=30&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	svg, err := qrSVG(content)
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal([]byte(svg), new(struct{})), "well-formed XML")

	code, err := qr.Encode(content, qr.M, qr.Auto)
	require.NoError(t, err)
	n := code.Bounds().Dx()
	side := (n + 2*qrQuietZone) * qrModuleSize
	require.Contains(t, svg, fmt.Sprintf(`viewBox="0 0 %d %d"`, side, side))

	drawn := make([][]bool, n)
	for y := range drawn {
		drawn[y] = make([]bool, n)
	}
	for _, m := range runPattern.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		col, row := x/qrModuleSize-qrQuietZone, y/qrModuleSize-qrQuietZone
		for i := range w / qrModuleSize {
			require.False(t, drawn[row][col+i], "module drawn twice")
			drawn[row][col+i] = true
		}
	}
	for y := range n {
		for x := range n {
			require.Equal(t, dark(code, x, y), drawn[y][x], "module %d,%d", x, y)
		}
	}
}

func TestSecretBox(t *testing.T) {
	t.Parallel()
	keys, err := security.NewKeys([]byte("secretbox-test-secret-0123456789abcdef"), "", time.Unix(1_700_000_000, 0))
	require.NoError(t, err)
	box, err := newSecretBox(keys)
	require.NoError(t, err)

	sealed := box.seal("JBSWY3DPEHPK3PXP", "factor-1")
	require.NotContains(t, sealed, "JBSWY3DPEHPK3PXP")
	require.NotEqual(t, sealed, box.seal("JBSWY3DPEHPK3PXP", "factor-1"), "a fresh nonce each time")
	opened, err := box.open(sealed, "factor-1")
	require.NoError(t, err)
	require.Equal(t, "JBSWY3DPEHPK3PXP", opened)

	_, err = box.open(sealed, "factor-2")
	require.Error(t, err, "a secret copied to another factor does not open")
	otherKeys, err := security.NewKeys([]byte("another-secret-0123456789abcdef-xyz"), "", time.Unix(1_700_000_000, 0))
	require.NoError(t, err)
	other, err := newSecretBox(otherKeys)
	require.NoError(t, err)
	_, err = other.open(sealed, "factor-1")
	require.Error(t, err, "nor with another JWT secret")
	_, err = box.open(sealedPrefix+"!!!", "factor-1")
	require.Error(t, err)

	plain, err := box.open("JBSWY3DPEHPK3PXP", "factor-1")
	require.NoError(t, err)
	require.Equal(t, "JBSWY3DPEHPK3PXP", plain, "secrets imported unencrypted are read as they are")
}
