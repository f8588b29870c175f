package tcp

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEncodeString(t *testing.T) {
	t.Parallel()
	ok := []struct{ in, enc, want string }{
		{"héllo", "", "h\xc3\xa9llo"},
		{"héllo", "utf8", "h\xc3\xa9llo"},
		{"héllo", "UTF-8", "h\xc3\xa9llo"},
		{"0800", "ascii", "0800"},
		{"AQID/w==", "base64", "\x01\x02\x03\xff"},
		{"AQID/w", "base64", "\x01\x02\x03\xff"},
		{"AQID_w", "base64url", "\x01\x02\x03\xff"},
		{"AQID_w==", "base64url", "\x01\x02\x03\xff"},
		{"00ff7F", "hex", "\x00\xff\x7f"},
	}
	for _, c := range ok {
		got, err := encodeString(c.in, c.enc)
		require.NoError(t, err, "%s/%s", c.in, c.enc)
		require.Equal(t, []byte(c.want), got, "%s/%s", c.in, c.enc)
	}
	bad := []struct{ in, enc, msg string }{
		{"é", "ascii", "non-ASCII character at byte 0"},
		{"abc", "hex", "encoding hex"},
		{"zz", "hex", "encoding hex"},
		{"A-B_", "base64", "encoding base64"},
		{"x", "latin1", `unsupported encoding "latin1"`},
	}
	for _, c := range bad {
		_, err := encodeString(c.in, c.enc)
		require.ErrorContains(t, err, c.msg, "%s/%s", c.in, c.enc)
	}
}
