package storagebench

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestPatternReaderStreamsExactlyTheObjectsBytes(t *testing.T) {
	t.Parallel()
	p := newPattern(5)
	size := int64(patternBlockSize*2 + 12345) // wraps around the block twice
	got, err := io.ReadAll(p.reader(3, size))
	require.NoError(t, err)
	require.Len(t, got, int(size))

	again, err := io.ReadAll(iotest.OneByteReader(newPattern(5).reader(3, size)))
	require.NoError(t, err)
	require.Equal(t, got, again, "the same seed and object give the same bytes, however they are read")

	other, err := io.ReadAll(p.reader(4, size))
	require.NoError(t, err)
	require.NotEqual(t, got, other, "two objects do not share their bytes")

	require.NoError(t, iotest.TestReader(p.reader(3, 5000), got[:5000]))
}

func TestPatternCheckerAcceptsTheObjectAndNothingElse(t *testing.T) {
	t.Parallel()
	p := newPattern(5)
	size := int64(patternBlockSize + 999)
	body, err := io.ReadAll(p.reader(7, size))
	require.NoError(t, err)

	ok := p.checker(7)
	_, err = io.Copy(ok, bytesReader(body))
	require.NoError(t, err)
	require.NoError(t, ok.check(size))
	require.Error(t, ok.check(size+1), "a short body fails the check")

	corrupt := append([]byte(nil), body...)
	corrupt[patternBlockSize+10] ^= 0xff
	bad := p.checker(7)
	_, err = io.Copy(bad, bytesReader(corrupt))
	require.ErrorContains(t, err, "content differs")

	wrongObject := p.checker(8)
	_, err = io.Copy(wrongObject, bytesReader(body))
	require.Error(t, err, "another object's bytes fail the check")
}

// bytesReader hands out b in halves of what is asked, so the checker sees writes that
// start and end anywhere in the block.
func bytesReader(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }
