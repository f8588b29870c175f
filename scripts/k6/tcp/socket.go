package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/js/modules"
	"go.k6.io/k6/v2/metrics"
)

// dialTimeout bounds connect(), like grafana/xk6-tcp (a fixed 30 s dial). Scripts
// that need a shorter connect timeout run their own timer and destroy() the socket.
const dialTimeout = 30 * time.Second

const (
	defaultHost = "localhost"
	readBufSize = 32 * 1024
)

// socketEvents are the events on() accepts.
var socketEvents = map[string]bool{"connect": true, "data": true, "close": true, "error": true, "timeout": true}

type readyState int

const (
	stateDisconnected readyState = iota
	stateOpening
	stateOpen
	stateDestroyed
)

func (s readyState) String() string {
	switch s {
	case stateOpening:
		return "opening"
	case stateOpen:
		return "open"
	case stateDestroyed:
		return "destroyed"
	default:
		return "disconnected"
	}
}

// socket is one `new Socket()`.
//
// Threading: JavaScript-facing methods and handlers run on the VU event loop.
// Each open socket has a reader goroutine, a watcher goroutine (closes the socket
// when the VU context ends) and, per write(), a short-lived writer goroutine.
// Goroutines reach JavaScript only through the loopQueue.
type socket struct {
	vu      modules.VU
	metrics *tcpMetrics
	this    *sobek.Object
	tags    map[string]string // from new Socket({tags})

	// loop thread only
	handlers      map[string]sobek.Callable
	closeSent     bool
	userDestroyed bool // after destroy() no 'data' or 'timeout' reaches the script

	bytesRead    atomic.Int64
	bytesWritten atomic.Int64

	mu         sync.Mutex
	state      readyState
	conn       net.Conn
	queue      *loopQueue // non-nil while open: holds the event loop until close
	dialCancel context.CancelFunc
	done       chan struct{} // closed by shutdown once the socket has been open
	localPort  int
	remotePort int
	idle       time.Duration // setTimeout(); 0 = off
	idleTimer  *time.Timer
	idleGen    int           // identifies the current idleTimer to its callback
	lastWrite  chan struct{} // closed when the latest write() finished: keeps writes in call order
	ctx        context.Context
	samples    chan<- metrics.SampleContainer
	metricTags *metrics.TagSet
}

func (s *socket) define(rt *sobek.Runtime) {
	must := func(err error) {
		if err != nil {
			common.Throw(rt, err)
		}
	}
	method := func(name string, fn func(sobek.FunctionCall) sobek.Value) {
		must(s.this.DefineDataProperty(name, rt.ToValue(fn), sobek.FLAG_FALSE, sobek.FLAG_FALSE, sobek.FLAG_TRUE))
	}
	getter := func(name string, fn func() sobek.Value) {
		must(s.this.DefineAccessorProperty(name, rt.ToValue(fn), nil, sobek.FLAG_FALSE, sobek.FLAG_TRUE))
	}
	method("connect", s.jsConnect)
	method("write", s.jsWrite)
	method("on", s.jsOn)
	method("setTimeout", s.jsSetTimeout)
	method("destroy", s.jsDestroy)

	getter("ready_state", func() sobek.Value { return rt.ToValue(s.readyState().String()) })
	getter("connected", func() sobek.Value { return rt.ToValue(s.readyState() == stateOpen) })
	getter("bytes_written", func() sobek.Value { return rt.ToValue(s.bytesWritten.Load()) })
	getter("bytes_read", func() sobek.Value { return rt.ToValue(s.bytesRead.Load()) })
	getter("local_port", func() sobek.Value { return s.port(&s.localPort) })
	getter("remote_port", func() sobek.Value { return s.port(&s.remotePort) })
}

func (s *socket) readyState() readyState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// port is undefined until the socket has connected; it keeps its value after close.
func (s *socket) port(p *int) sobek.Value {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *p == 0 {
		return sobek.Undefined()
	}
	return s.vu.Runtime().ToValue(*p)
}

// jsOn is on(event, handler): one handler per event, a later call replaces it.
func (s *socket) jsOn(call sobek.FunctionCall) sobek.Value {
	rt := s.vu.Runtime()
	event := call.Argument(0).String()
	if !socketEvents[event] {
		panic(rt.NewTypeError("on: unknown event %q (use connect, data, close, error or timeout)", event))
	}
	fn, ok := sobek.AssertFunction(call.Argument(1))
	if !ok {
		panic(rt.NewTypeError("on(%q): the handler must be a function", event))
	}
	s.handlers[event] = fn
	return s.this
}

// jsSetTimeout is setTimeout(ms): emit 'timeout' after ms of inactivity (no bytes
// read or written), again after each further ms of inactivity. 0 disables it.
// The socket stays open.
func (s *socket) jsSetTimeout(call sobek.FunctionCall) sobek.Value {
	rt := s.vu.Runtime()
	ms := call.Argument(0).ToFloat()
	if ms < 0 || math.IsNaN(ms) || math.IsInf(ms, 0) {
		panic(rt.NewTypeError("setTimeout: expected a number of milliseconds >= 0, got %s", call.Argument(0)))
	}
	s.mu.Lock()
	s.idle = time.Duration(ms * float64(time.Millisecond))
	s.armIdleLocked()
	s.mu.Unlock()
	return s.this
}

func (s *socket) armIdleLocked() {
	if s.idleTimer != nil {
		s.idleTimer.Stop()
		s.idleTimer = nil
	}
	if s.idle > 0 && s.state == stateOpen {
		s.idleGen++
		gen := s.idleGen
		s.idleTimer = time.AfterFunc(s.idle, func() { s.onIdle(gen) })
	}
}

// touch restarts the inactivity timer after a read or a write.
func (s *socket) touch() {
	s.mu.Lock()
	if s.idleTimer != nil {
		s.idleTimer.Reset(s.idle)
	}
	s.mu.Unlock()
}

func (s *socket) onIdle(gen int) {
	s.mu.Lock()
	if s.idleTimer == nil || s.idleGen != gen || s.state != stateOpen { // replaced by setTimeout(), or closed
		s.mu.Unlock()
		return
	}
	s.idleTimer.Reset(s.idle)
	s.mu.Unlock()
	s.post(func() error {
		if s.userDestroyed || s.readyState() != stateOpen {
			return nil
		}
		return s.emit("timeout")
	})
}

// jsDestroy is destroy(): close the socket. Idempotent; 'close' fires once.
func (s *socket) jsDestroy(sobek.FunctionCall) sobek.Value {
	s.userDestroyed = true
	if !s.shutdown(nil, false) {
		return s.this
	}
	// A socket that never opened has no queue: deliver 'close' with a one-off reservation.
	if s.handlers["close"] != nil && !s.closeSent {
		enqueue := s.vu.RegisterCallback()
		enqueue(s.emitClose)
	}
	return s.this
}

// shutdown moves the socket to destroyed, closes the connection and stops its
// goroutines. cause is a read error to report as 'error' before 'close'; abandon
// (VU context done) drops pending events instead of delivering them. It returns
// true when the socket had no queue (never open) and this call destroyed it.
// Safe from any goroutine; only the first call has an effect.
func (s *socket) shutdown(cause error, abandon bool) (wasNeverOpen bool) {
	s.mu.Lock()
	if s.state == stateDestroyed {
		s.mu.Unlock()
		return false
	}
	s.state = stateDestroyed
	conn, q, cancelDial := s.conn, s.queue, s.dialCancel
	s.queue, s.dialCancel = nil, nil
	if s.idleTimer != nil {
		s.idleTimer.Stop()
		s.idleTimer = nil
	}
	if s.done != nil {
		close(s.done)
	}
	s.mu.Unlock()

	if cancelDial != nil {
		cancelDial()
	}
	if conn != nil {
		_ = conn.Close()
	}
	if cause != nil {
		s.count(s.metrics.errors, nil)
	}
	if q == nil {
		return true
	}
	q.stop(func() error {
		if cause != nil {
			if err := s.emit("error", jsError(s.vu.Runtime(), "read", cause)); err != nil {
				return err
			}
		}
		return s.emitClose()
	}, abandon)
	return false
}

func (s *socket) emitClose() error {
	if s.closeSent {
		return nil
	}
	s.closeSent = true
	return s.emit("close")
}

// emit calls the handler for event, if any, on the loop thread. An exception in
// the handler is returned, which aborts the iteration.
func (s *socket) emit(event string, args ...sobek.Value) error {
	fn := s.handlers[event]
	if fn == nil {
		return nil
	}
	_, err := fn(s.this, args...)
	return err
}

// post runs task on the loop thread if the socket is still open.
func (s *socket) post(task func() error) {
	s.mu.Lock()
	q := s.queue
	s.mu.Unlock()
	if q != nil {
		q.push(task)
	}
}

// jsConnect is connect(port, host?) or connect({port, host?, tags?}) → Promise<void>.
func (s *socket) jsConnect(call sobek.FunctionCall) sobek.Value {
	rt := s.vu.Runtime()
	promise, resolve, reject := rt.NewPromise()
	fail := func(err error) sobek.Value {
		_ = reject(jsError(rt, "connect", err))
		return rt.ToValue(promise)
	}

	host, port, connectTags, err := parseConnectArgs(call.Argument(0), call.Argument(1))
	if err != nil {
		return fail(err)
	}
	state := s.vu.State()
	if state == nil {
		return fail(errors.New("connect: only available in the VU context (not in the init context)"))
	}

	s.mu.Lock()
	if s.state != stateDisconnected {
		current := s.state
		s.mu.Unlock()
		return fail(fmt.Errorf("connect: socket is %s", current))
	}
	vuCtx := s.vu.Context()
	tagSet := state.Tags.GetCurrentValues().Tags.WithTagsFromMap(s.tags).WithTagsFromMap(connectTags)
	dialCtx, cancel := context.WithTimeout(vuCtx, dialTimeout)
	s.state = stateOpening
	s.dialCancel = cancel
	s.ctx, s.samples, s.metricTags = vuCtx, state.Samples, tagSet
	s.mu.Unlock()

	enqueue := s.vu.RegisterCallback()
	dialer := state.Dialer
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	go func() {
		start := time.Now()
		conn, err := dialer.DialContext(dialCtx, "tcp", addr)
		elapsed := time.Since(start)
		cancel()
		s.push(s.metrics.connecting, nil, metrics.D(elapsed))
		enqueue(func() error { return s.dialed(conn, err, resolve, reject) })
	}()
	return rt.ToValue(promise)
}

// dialed finishes connect() on the loop thread.
func (s *socket) dialed(conn net.Conn, err error, resolve, reject func(any) error) error {
	rt := s.vu.Runtime()
	s.mu.Lock()
	s.dialCancel = nil
	destroyed := s.state == stateDestroyed
	if destroyed { // destroy() while dialing; it may also have cancelled the dial
		if conn != nil {
			_ = conn.Close()
		}
		err = errDestroyed
	} else if err == nil && s.ctx.Err() != nil { // the iteration ended while dialing
		_ = conn.Close()
		err = s.ctx.Err()
	}
	if err != nil {
		if !destroyed {
			s.state = stateDisconnected
		}
		s.mu.Unlock()
		jsErr := jsError(rt, "connect", err)
		if !destroyed { // destroy() during connect is the script's choice, not a failure
			s.count(s.metrics.errors, nil)
			if hErr := s.emit("error", jsErr); hErr != nil {
				return hErr
			}
		}
		return reject(jsErr)
	}

	s.state = stateOpen
	s.conn = conn
	s.done = make(chan struct{})
	if a, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		s.localPort = a.Port
	}
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		s.remotePort = a.Port
	}
	s.queue = newLoopQueue(s.vu.RegisterCallback)
	s.armIdleLocked()
	done, ctx := s.done, s.ctx
	s.mu.Unlock()

	s.count(s.metrics.sockets, nil)
	go s.readLoop(conn)
	go func() {
		select {
		case <-ctx.Done():
			s.shutdown(nil, true)
		case <-done:
		}
	}()
	if hErr := s.emit("connect"); hErr != nil {
		return hErr
	}
	return resolve(sobek.Undefined())
}

func (s *socket) readLoop(conn net.Conn) {
	buf := make([]byte, readBufSize)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			s.bytesRead.Add(int64(n))
			s.touch()
			s.count(s.metrics.reads, nil)
			s.post(func() error { return s.emitData(chunk) })
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			s.shutdown(nil, false) // peer closed, or we did (then this is a no-op)
		} else {
			s.shutdown(err, false)
		}
		return
	}
}

func (s *socket) emitData(chunk []byte) error {
	fn := s.handlers["data"]
	if fn == nil || s.userDestroyed {
		return nil
	}
	rt := s.vu.Runtime()
	u8, err := rt.New(rt.Get("Uint8Array"), rt.ToValue(rt.NewArrayBuffer(chunk)))
	if err != nil {
		return err
	}
	_, err = fn(s.this, u8)
	return err
}

// jsWrite is write(data, {encoding?, tags?}) → Promise<void>, resolved once the
// bytes are handed to the kernel. Writes go out in call order.
func (s *socket) jsWrite(call sobek.FunctionCall) sobek.Value {
	rt := s.vu.Runtime()
	promise, resolve, reject := rt.NewPromise()
	fail := func(err error) sobek.Value {
		s.countOnLoop(s.metrics.errors)
		_ = reject(jsError(rt, "write", err))
		return rt.ToValue(promise)
	}

	encoding, writeTags, err := parseWriteOptions(call.Argument(1))
	if err != nil {
		return fail(err)
	}
	data, err := payloadBytes(rt, call.Argument(0), encoding)
	if err != nil {
		return fail(err)
	}

	s.mu.Lock()
	if s.state != stateOpen {
		current := s.state
		s.mu.Unlock()
		return fail(fmt.Errorf("write: %w (state: %s)", errNotConnected, current))
	}
	conn := s.conn
	prev := s.lastWrite
	mine := make(chan struct{})
	s.lastWrite = mine
	s.mu.Unlock()

	enqueue := s.vu.RegisterCallback()
	go func() {
		defer close(mine)
		if prev != nil {
			<-prev
		}
		_, err := conn.Write(data) // net.Conn.Write writes everything or returns an error
		if err != nil {
			s.count(s.metrics.errors, writeTags)
			enqueue(func() error { return reject(jsError(rt, "write", err)) })
			return
		}
		s.bytesWritten.Add(int64(len(data)))
		s.touch()
		s.count(s.metrics.writes, writeTags)
		enqueue(func() error { return resolve(sobek.Undefined()) })
	}()
	return rt.ToValue(promise)
}

// countOnLoop adds 1 to a counter from the loop thread, also before the first connect().
func (s *socket) countOnLoop(m *metrics.Metric) {
	state := s.vu.State()
	if state == nil {
		return
	}
	tags := state.Tags.GetCurrentValues().Tags.WithTagsFromMap(s.tags)
	metrics.PushIfNotDone(s.vu.Context(), state.Samples, metrics.Sample{
		TimeSeries: metrics.TimeSeries{Metric: m, Tags: tags},
		Time:       time.Now(),
		Value:      1,
	})
}

// count adds 1 to a counter; extra tags (per write) override socket tags.
func (s *socket) count(m *metrics.Metric, extra map[string]string) {
	s.push(m, extra, 1)
}

func (s *socket) push(m *metrics.Metric, extra map[string]string, value float64) {
	s.mu.Lock()
	ctx, samples, tags := s.ctx, s.samples, s.metricTags
	s.mu.Unlock()
	if samples == nil {
		return
	}
	if len(extra) > 0 {
		tags = tags.WithTagsFromMap(extra)
	}
	metrics.PushIfNotDone(ctx, samples, metrics.Sample{
		TimeSeries: metrics.TimeSeries{Metric: m, Tags: tags},
		Time:       time.Now(),
		Value:      value,
	})
}

func parseConnectArgs(first, second sobek.Value) (string, int, map[string]string, error) {
	host := defaultHost
	var portValue sobek.Value
	var tags map[string]string
	if obj, ok := first.(*sobek.Object); ok && !isNumberOrString(first) {
		portValue = obj.Get("port")
		if h := obj.Get("host"); !common.IsNullish(h) {
			host = h.String()
		}
		var err error
		if tags, err = exportTags(first); err != nil {
			return "", 0, nil, err
		}
	} else {
		portValue = first
		if !common.IsNullish(second) {
			host = second.String()
		}
	}
	if common.IsNullish(portValue) {
		return "", 0, nil, errors.New("connect: port is required")
	}
	port, err := strconv.Atoi(portValue.String())
	if err != nil || port < 1 || port > 65535 {
		return "", 0, nil, fmt.Errorf("connect: invalid port %q (expected 1-65535)", portValue.String())
	}
	if host == "" {
		host = defaultHost
	}
	return host, port, tags, nil
}

func isNumberOrString(v sobek.Value) bool {
	switch v.Export().(type) {
	case int64, float64, string:
		return true
	}
	return false
}

func parseWriteOptions(v sobek.Value) (string, map[string]string, error) {
	if common.IsNullish(v) {
		return "", nil, nil
	}
	obj, ok := v.(*sobek.Object)
	if !ok {
		return "", nil, fmt.Errorf("write: options must be an object, got %s", v)
	}
	encoding := ""
	if e := obj.Get("encoding"); !common.IsNullish(e) {
		encoding = e.String()
	}
	tags, err := exportTags(v)
	return encoding, tags, err
}

// exportTags reads options.tags as string → string.
func exportTags(options sobek.Value) (map[string]string, error) {
	if common.IsNullish(options) {
		return nil, nil
	}
	obj, ok := options.(*sobek.Object)
	if !ok {
		return nil, fmt.Errorf("options must be an object, got %s", options)
	}
	tagsValue := obj.Get("tags")
	if common.IsNullish(tagsValue) {
		return nil, nil
	}
	tagsObj, ok := tagsValue.(*sobek.Object)
	if !ok {
		return nil, fmt.Errorf("options.tags must be an object of strings, got %s", tagsValue)
	}
	tags := make(map[string]string, len(tagsObj.Keys()))
	for _, k := range tagsObj.Keys() {
		tags[k] = tagsObj.Get(k).String()
	}
	return tags, nil
}
