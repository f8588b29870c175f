// Package tcp is posstorm's in-tree k6 extension registered as "k6/x/tcp".
//
// It mirrors the public JavaScript API of grafana/xk6-tcp v0.2.0+ (async-first:
// connect() and write() return Promises, one handler per event) so that scripts
// written against it run unchanged on the official extension. See ../README.md.
package tcp

import (
	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/js/modules"
	"go.k6.io/k6/v2/metrics"
)

// ImportPath is the module name scripts import.
const ImportPath = "k6/x/tcp"

func init() {
	modules.Register(ImportPath, new(RootModule))
}

// RootModule is the global module; it hands out one ModuleInstance per VU.
type RootModule struct{}

// ModuleInstance is the per-VU instance of the module.
type ModuleInstance struct {
	vu      modules.VU
	metrics *tcpMetrics
}

var (
	_ modules.Module   = &RootModule{}
	_ modules.Instance = &ModuleInstance{}
)

// NewModuleInstance implements modules.Module. It runs in the init context, where
// the metrics registry is reachable.
func (*RootModule) NewModuleInstance(vu modules.VU) modules.Instance {
	return &ModuleInstance{vu: vu, metrics: registerMetrics(vu.InitEnv().Registry)}
}

// Exports implements modules.Instance.
func (mi *ModuleInstance) Exports() modules.Exports {
	return modules.Exports{Named: map[string]any{"Socket": mi.newSocket}}
}

// tcpMetrics are the custom metrics the extension emits; names match grafana/xk6-tcp.
type tcpMetrics struct {
	sockets    *metrics.Metric // counter: successful connects
	connecting *metrics.Metric // trend (ms): dial duration, successful or not
	reads      *metrics.Metric // counter: data chunks received
	writes     *metrics.Metric // counter: successful write() calls
	errors     *metrics.Metric // counter: failed connects, writes and reads
}

func registerMetrics(r *metrics.Registry) *tcpMetrics {
	return &tcpMetrics{
		sockets:    r.MustNewMetric("tcp_sockets", metrics.Counter),
		connecting: r.MustNewMetric("tcp_socket_connecting", metrics.Trend, metrics.Time),
		reads:      r.MustNewMetric("tcp_reads", metrics.Counter),
		writes:     r.MustNewMetric("tcp_writes", metrics.Counter),
		errors:     r.MustNewMetric("tcp_errors", metrics.Counter),
	}
}

// newSocket is the JavaScript constructor `new Socket(options?)`.
func (mi *ModuleInstance) newSocket(call sobek.ConstructorCall) *sobek.Object {
	rt := mi.vu.Runtime()
	tags, err := exportTags(call.Argument(0))
	if err != nil {
		common.Throw(rt, err)
	}
	s := &socket{
		vu:       mi.vu,
		metrics:  mi.metrics,
		this:     call.This,
		tags:     tags,
		handlers: make(map[string]sobek.Callable, len(socketEvents)),
	}
	s.define(rt)
	return nil // keep call.This, so `socket instanceof Socket` holds
}
