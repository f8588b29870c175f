package tcp

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
)

// encodeString turns the string argument of write() into bytes.
//
// Encodings: "utf8"/"utf-8" (default), "ascii" (7-bit only: a character above
// 0x7F is an error rather than silently becoming two UTF-8 bytes), "base64" and
// "base64url" (padding optional), "hex" (even length). Anything else is an error.
func encodeString(s, encoding string) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "", "utf8", "utf-8":
		return []byte(s), nil
	case "ascii":
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return nil, fmt.Errorf("write: encoding ascii: non-ASCII character at byte %d", i)
			}
		}
		return []byte(s), nil
	case "base64":
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil, fmt.Errorf("write: encoding base64: %w", err)
		}
		return b, nil
	case "base64url":
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil, fmt.Errorf("write: encoding base64url: %w", err)
		}
		return b, nil
	case "hex":
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("write: encoding hex: %w", err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf(
			"write: unsupported encoding %q (use utf8, utf-8, ascii, base64, base64url or hex)", encoding)
	}
}

// payloadBytes copies the data argument of write(): a string (encoded), an
// ArrayBuffer, or any ArrayBuffer view (Uint8Array, DataView, ...). The copy lets
// the script reuse its buffer as soon as write() returns.
func payloadBytes(rt *sobek.Runtime, v sobek.Value, encoding string) ([]byte, error) {
	if common.IsNullish(v) {
		return nil, fmt.Errorf("write: data is %s; expected a string, ArrayBuffer or Uint8Array", v)
	}
	switch exported := v.Export().(type) {
	case string:
		return encodeString(exported, encoding)
	case sobek.ArrayBuffer:
		if exported.Detached() {
			return nil, fmt.Errorf("write: the ArrayBuffer is detached")
		}
		return append([]byte(nil), exported.Bytes()...), nil
	}
	if obj, ok := v.(*sobek.Object); ok && obj.Get("byteLength") != nil && obj.Get("buffer") != nil {
		var view []byte
		if err := rt.ExportTo(v, &view); err == nil {
			return append([]byte(nil), view...), nil
		}
	}
	return nil, fmt.Errorf("write: unsupported data type %s; expected a string, ArrayBuffer or Uint8Array",
		v.ExportType())
}
