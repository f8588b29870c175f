package tcp

import (
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"go.k6.io/k6/v2/js/modulestest"
	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/metrics"
)

type harness struct {
	rt      *modulestest.Runtime
	mu      sync.Mutex
	counts  map[string]float64
	samples chan metrics.SampleContainer
}

// newHarness gives a VU-context runtime with `Socket` as a global and a sample
// collector that sums every metric by name.
func newHarness(t *testing.T) *harness {
	t.Helper()
	rt := modulestest.NewRuntime(t)
	mi := new(RootModule).NewModuleInstance(rt.VU)
	require.NoError(t, rt.VU.RuntimeField.Set("Socket", mi.Exports().Named["Socket"]))

	h := &harness{rt: rt, counts: map[string]float64{}, samples: make(chan metrics.SampleContainer, 1000)}
	go func() {
		for c := range h.samples {
			for _, s := range c.GetSamples() {
				h.mu.Lock()
				h.counts[s.Metric.Name]++
				h.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { close(h.samples) })

	registry := rt.VU.InitEnvField.Registry
	rt.MoveToVUContext(&lib.State{
		Dialer:         &net.Dialer{},
		Samples:        h.samples,
		Tags:           lib.NewVUStateTags(registry.RootTagSet()),
		BuiltinMetrics: rt.BuiltinMetrics,
	})
	return h
}

func (h *harness) count(name string) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[name]
}

// run executes an async script body and fails the test if it throws or rejects.
func (h *harness) run(t *testing.T, port int, body string) {
	t.Helper()
	require.NoError(t, h.rt.VU.RuntimeField.Set("PORT", port))
	done := make(chan error, 1)
	go func() {
		_, err := h.rt.RunOnEventLoop(`(async () => {` + body + `})()`)
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("script did not finish: the event loop is stuck")
	}
}

// listen starts a loopback server running serve for each connection.
func listen(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				serve(c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func echo(c net.Conn) { _, _ = io.Copy(c, c) }

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func TestEchoRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run(t, listen(t, echo), `
		const s = new Socket({ tags: { link: "edge" } });
		const events = [];
		const got = [];
		const closed = new Promise((resolve) => s.on("close", () => { events.push("close"); resolve(); }));
		s.on("connect", () => events.push("connect"));
		s.on("data", (d) => {
			if (!(d instanceof Uint8Array)) throw new Error("data is not a Uint8Array");
			got.push(...d);
			if (got.length === 5) s.destroy();
		});
		if (s.ready_state !== "disconnected" || s.connected) throw new Error("bad initial state " + s.ready_state);
		const p = s.connect({ port: PORT, host: "127.0.0.1", tags: { op: "echo" } });
		if (s.ready_state !== "opening") throw new Error("expected opening, got " + s.ready_state);
		await p;
		if (!s.connected || s.ready_state !== "open") throw new Error("not open after connect");
		if (s.remote_port !== PORT || !(s.local_port > 0)) throw new Error("ports " + s.local_port + " " + s.remote_port);
		await s.write("he");
		await s.write(new Uint8Array([0x6c, 0x6c]));
		await s.write("6f", { encoding: "hex", tags: { op: "tail" } });
		await closed;
		s.destroy(); // idempotent
		if (String.fromCharCode(...got) !== "hello") throw new Error("echo " + JSON.stringify(got));
		if (events.join(",") !== "connect,close") throw new Error("events " + events);
		if (s.ready_state !== "destroyed" || s.connected) throw new Error("state after destroy " + s.ready_state);
		if (s.bytes_written !== 5 || s.bytes_read !== 5) throw new Error("bytes " + s.bytes_written + "/" + s.bytes_read);
	`)
	require.Eventually(t, func() bool { return h.count("tcp_writes") == 3 }, time.Second, 10*time.Millisecond)
	require.Equal(t, 1.0, h.count("tcp_sockets"))
	require.Equal(t, 1.0, h.count("tcp_socket_connecting"))
	require.GreaterOrEqual(t, h.count("tcp_reads"), 1.0)
	require.Equal(t, 0.0, h.count("tcp_errors"))
}

func TestConnectRefusedRejects(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run(t, closedPort(t), `
		const s = new Socket();
		let handled = null;
		let closes = 0;
		s.on("error", (e) => { handled = e; });
		s.on("close", () => { closes++; });
		try {
			await s.connect(PORT, "127.0.0.1");
			throw new Error("connect should have failed");
		} catch (e) {
			if (!(e instanceof Error) || e.name !== "TCPError" || e.method !== "connect") throw new Error("bad error " + e);
			if (!/connection refused/.test(e.message)) throw new Error("message " + e.message);
			if (handled !== e) throw new Error("'error' handler did not get the rejection value");
		}
		if (s.ready_state !== "disconnected") throw new Error("state " + s.ready_state);
		s.destroy();
		await new Promise((r) => setTimeout(r, 10));
		if (closes !== 1) throw new Error("close fired " + closes + " times");
	`)
	require.Eventually(t, func() bool { return h.count("tcp_errors") == 1 }, time.Second, 10*time.Millisecond)
	require.Equal(t, 0.0, h.count("tcp_sockets"))
}

func TestPeerCloseFiresCloseOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := listen(t, func(c net.Conn) { _, _ = c.Write([]byte("bye")) })
	h.run(t, port, `
		const s = new Socket();
		let closes = 0;
		let text = "";
		s.on("data", (d) => { text += String.fromCharCode(...new Uint8Array(d)); });
		const closed = new Promise((resolve) => s.on("close", () => { closes++; resolve(); }));
		await s.connect(PORT, "127.0.0.1");
		await closed;
		s.destroy();
		await new Promise((r) => setTimeout(r, 10));
		if (text !== "bye" || closes !== 1 || s.ready_state !== "destroyed") throw new Error(text + " " + closes + " " + s.ready_state);
	`)
}

func TestInactivityTimeoutDoesNotClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := listen(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // never answers
	h.run(t, port, `
		const s = new Socket();
		await s.connect(PORT, "127.0.0.1");
		const started = Date.now();
		s.setTimeout(50);
		await new Promise((resolve) => s.on("timeout", resolve));
		const waited = Date.now() - started;
		if (waited < 40) throw new Error("timeout after " + waited + "ms");
		if (s.ready_state !== "open") throw new Error("timeout closed the socket");
		s.setTimeout(0);
		s.destroy();
	`)
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run(t, listen(t, echo), `
		const s = new Socket();
		const expectReject = async (p, re) => {
			try { await p; } catch (e) { if (!re.test(e.message)) throw new Error("message " + e.message); return; }
			throw new Error("expected a rejection matching " + re);
		};
		await expectReject(s.write("x"), /not connected/);
		await s.connect(PORT, "127.0.0.1");
		await expectReject(s.write("zz", { encoding: "hex" }), /hex/);
		await expectReject(s.write("é", { encoding: "ascii" }), /non-ASCII/);
		await expectReject(s.write("x", { encoding: "latin1" }), /unsupported encoding/);
		await expectReject(s.write(42), /unsupported data type/);
		s.destroy();
		await expectReject(s.write("x"), /not connected/);
		await expectReject(s.connect(PORT), /destroyed/);
	`)
}

// A socket left open with handlers keeps the iteration alive; when the VU context
// ends, the socket is closed and the event loop is released.
func TestContextCancelReleasesLoop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := listen(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	require.NoError(t, h.rt.VU.RuntimeField.Set("PORT", port))
	done := make(chan error, 1)
	go func() {
		_, err := h.rt.RunOnEventLoop(`
			const s = new Socket();
			s.on("data", () => {});
			s.connect(PORT, "127.0.0.1");
		`)
		done <- err
	}()
	select {
	case <-done:
		t.Fatal("the iteration ended while the socket was open")
	case <-time.After(200 * time.Millisecond):
	}
	h.rt.CancelContext()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("event loop still held after the VU context was cancelled")
	}
}

func TestHandlerExceptionAbortsAndReleases(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := listen(t, echo)
	require.NoError(t, h.rt.VU.RuntimeField.Set("PORT", strconv.Itoa(port)))
	done := make(chan error, 1)
	go func() {
		done <- h.rt.EventLoop.Start(func() error {
			_, err := h.rt.VU.RuntimeField.RunString(`
				const s = new Socket();
				s.on("data", () => { throw new Error("boom"); });
				s.connect(PORT, "127.0.0.1").then(() => s.write("ping"));
			`)
			return err
		})
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "boom")
	case <-time.After(5 * time.Second):
		t.Fatal("a throwing handler did not end the iteration")
	}
	h.rt.CancelContext() // as k6 does after a failed iteration; WaitOnRegistered must return
	waited := make(chan struct{})
	go func() { h.rt.EventLoop.WaitOnRegistered(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("reservation leaked after the VU context was cancelled")
	}
}

func TestPeerResetEmitsErrorThenClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	port := listen(t, func(c net.Conn) {
		buf := make([]byte, 4)
		_, _ = io.ReadFull(c, buf)
		_ = c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	h.run(t, port, `
		const s = new Socket();
		const events = [];
		s.on("error", (e) => events.push("error:" + e.method + ":" + e.message));
		const closed = new Promise((resolve) => s.on("close", () => { events.push("close"); resolve(); }));
		await s.connect(PORT, "127.0.0.1");
		await s.write("ping");
		await closed;
		if (events.length !== 2 || !/^error:read:.*connection reset by peer$/.test(events[0]) || events[1] !== "close") {
			throw new Error("events " + JSON.stringify(events));
		}
		s.destroy();
	`)
	require.Eventually(t, func() bool { return h.count("tcp_errors") == 1 }, time.Second, 10*time.Millisecond)
}

// Not parallel: it counts goroutines, so it runs while the parallel tests wait.
func TestNoGoroutineLeftAfterContextCancel(t *testing.T) {
	h := newHarness(t)
	var received atomic.Int64
	port := listen(t, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		received.Add(n)
	})
	require.NoError(t, h.rt.VU.RuntimeField.Set("PORT", port))
	time.Sleep(10 * time.Millisecond)
	baseline := runtime.NumGoroutine()
	done := make(chan error, 1)
	go func() {
		_, err := h.rt.RunOnEventLoop(`
			for (let i = 0; i < 5; i++) {
				const s = new Socket();
				s.on("data", () => {});
				s.setTimeout(1000);
				s.connect(PORT, "127.0.0.1").then(() => s.write("x".repeat(1 << 16))).catch(() => {});
			}
		`)
		done <- err
	}()
	// 5 sockets open: each has a reader, a watcher, an idle timer; the server has 5 handlers
	require.Eventually(t, func() bool { return runtime.NumGoroutine() >= baseline+15 }, 5*time.Second, 10*time.Millisecond)
	h.rt.CancelContext()
	require.NoError(t, <-done)
	// +1: Eventually evaluates the condition in a goroutine of its own
	ok := assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+1 }, 5*time.Second, 10*time.Millisecond)
	if !ok {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: baseline %d, now %d\n%s", baseline, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	}
}

func TestDestroyWhileConnecting(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run(t, listen(t, echo), `
		const s = new Socket();
		let closes = 0;
		let errors = 0;
		s.on("close", () => closes++);
		s.on("error", () => errors++);
		const p = s.connect(PORT, "127.0.0.1");
		s.destroy(); // the dial result reaches the loop only after this
		try { await p; throw new Error("connect resolved after destroy"); } catch (e) {
			if (!/socket destroyed/.test(e.message)) throw e;
		}
		await new Promise((r) => setTimeout(r, 10));
		if (closes !== 1 || errors !== 0 || s.ready_state !== "destroyed") throw new Error(closes + " " + errors + " " + s.ready_state);
	`)
	require.Equal(t, 0.0, h.count("tcp_errors"))
}

func TestWritesKeepCallOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run(t, listen(t, echo), `
		const s = new Socket();
		let text = "";
		const want = Array.from({ length: 50 }, (_, i) => String(i).padStart(3, "0")).join("");
		const done = new Promise((resolve) => s.on("data", (d) => {
			text += String.fromCharCode(...d);
			if (text.length >= want.length) resolve();
		}));
		await s.connect(PORT, "127.0.0.1");
		const writes = [];
		for (let i = 0; i < 50; i++) writes.push(s.write(String(i).padStart(3, "0")));
		await Promise.all(writes);
		await done;
		s.destroy();
		if (text !== want) throw new Error("out of order: " + text);
	`)
}
