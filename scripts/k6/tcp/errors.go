package tcp

import (
	"errors"
	"fmt"

	"github.com/grafana/sobek"
)

var (
	errDestroyed    = errors.New("socket destroyed before the connection was established")
	errNotConnected = errors.New("socket is not connected")
)

// jsError builds the value given to 'error' handlers and promise rejections: a
// real JavaScript Error (so `instanceof Error`, `.stack` and `String(e)` work)
// with name "TCPError", `method`, and `message` set to the Go error text, e.g.
// "dial tcp 127.0.0.1:9: connect: connection refused".
func jsError(rt *sobek.Runtime, method string, err error) sobek.Value {
	ctor := rt.Get("Error")
	obj, newErr := rt.New(ctor, rt.ToValue(err.Error()))
	if newErr != nil {
		return rt.ToValue(fmt.Errorf("TCP error during %s: %w", method, err))
	}
	_ = obj.Set("name", "TCPError")
	_ = obj.Set("method", method)
	return obj
}
