package storage

import (
	"bytes"
	"crypto/md5"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// The hash of what went through a hashingReader is the hash of the bytes, however the reads
// are cut and whatever the reader's caller does with its buffer afterwards.
func TestHashingReaderHashesEveryByteOnce(t *testing.T) {
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i*31 + i>>8)
	}
	want := md5.Sum(data)
	for _, src := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data[:4096])), iotest.HalfReader(bytes.NewReader(data))} {
		hr := newHashingReader(src, md5.New())
		var got bytes.Buffer
		buf := make([]byte, 64<<10)
		for {
			n, err := hr.Read(buf)
			got.Write(buf[:n])
			clear(buf) // a caller may reuse its buffer at once
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		expected := want
		if got.Len() != len(data) {
			expected = md5.Sum(data[:got.Len()])
		}
		require.Equal(t, expected[:], hr.Sum())
		hr.close() // a second close is harmless
	}
}
