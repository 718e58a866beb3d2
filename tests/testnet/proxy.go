package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A fault-injecting TCP proxy on loopback. With TESTNET_PROXY=1 every storage node
// announces its proxy's address to the satellite (clients reach nodes only through
// it), and the satellite has one too (clients that use its address go through it).
// The control API sets a fault per proxy (POST /fault):
//
//	pass    forward (the default)
//	stall   accept, then go silent: new connections are never forwarded, and bytes on
//	        open ones are held, until the fault changes
//	reset   reset connections (TCP RST) once they carried after_bytes more bytes
//	        (0: at once), and new ones as they come
//	slow    forward at most rate bytes per second, each direction of each connection
//	refuse  reset every connection as it is accepted, and the open ones (a peer gone)
//
// delay_ms adds one-way latency to every mode that forwards (a WAN-like link keeps its
// throughput: chunks are queued with a timestamp, not slept on one by one), and seconds
// ends the fault by itself. The kernel here has no netem, hence user space.
//
// Under any fault, a proxy has the shape its network profile gave it (profile.go):
// one-way delay with jitter, and a bandwidth cap per connection and direction.

// fault is what a proxy does now.
type fault struct {
	Mode       string  `json:"mode"`
	Rate       int64   `json:"rate,omitempty"`
	AfterBytes int64   `json:"after_bytes,omitempty"`
	DelayMs    int64   `json:"delay_ms,omitempty"`
	Seconds    float64 `json:"seconds,omitempty"`
}

func (f fault) validate() error {
	switch f.Mode {
	case "pass", "stall", "reset", "refuse":
	case "slow":
		if f.Rate <= 0 {
			return errors.New("slow needs rate > 0 (bytes per second)")
		}
	default:
		return fmt.Errorf("unknown mode %q (pass, stall, reset, slow, refuse)", f.Mode)
	}
	if f.AfterBytes < 0 || f.DelayMs < 0 || f.Seconds < 0 {
		return errors.New("after_bytes, delay_ms and seconds must be >= 0")
	}
	return nil
}

const proxyChunk = 32 << 10

// shape is a proxy's standing link: one-way delay, jitter (uniform in +-Jitter, per
// chunk; the order of bytes is kept), and a cap in bytes per second per connection and
// direction (0: none). The zero shape is loopback.
type shape struct {
	OneWay time.Duration `json:"one_way"`
	Jitter time.Duration `json:"jitter"`
	Rate   int64         `json:"rate"`
}

type faultProxy struct {
	name     string
	ln       net.Listener
	upstream string
	shape    shape

	rngMu sync.Mutex
	rng   *rand.Rand // jitter, from the profile's seed

	mu         sync.Mutex
	fault      fault
	generation uint64
	changed    chan struct{} // closed when the fault changes
	conns      map[*proxyConn]struct{}
	closed     bool
}

func newFaultProxy(name, upstream string, sh shape, seed int64) (*faultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &faultProxy{name: name, ln: ln, upstream: upstream, shape: sh, rng: rand.New(rand.NewSource(seed)),
		fault: fault{Mode: "pass"}, changed: make(chan struct{}), conns: map[*proxyConn]struct{}{}}
	go p.serve()
	return p, nil
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

// delay is a chunk's one-way delay: the fault's delay_ms, else the shape's.
func (p *faultProxy) delay(f fault) time.Duration {
	if f.DelayMs > 0 {
		return time.Duration(f.DelayMs) * time.Millisecond
	}
	d := p.shape.OneWay
	if p.shape.Jitter > 0 {
		p.rngMu.Lock()
		d += time.Duration(p.rng.Int63n(int64(2*p.shape.Jitter))) - p.shape.Jitter
		p.rngMu.Unlock()
	}
	return max(0, d)
}

// rate is the cap in force: a slow fault's, else the shape's (0: none).
func (p *faultProxy) rate(f fault) int64 {
	if f.Mode == "slow" {
		return f.Rate
	}
	return p.shape.Rate
}

// current returns the fault and a channel closed when it changes.
func (p *faultProxy) current() (fault, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault, p.changed
}

// set changes the fault; connections that must end now are reset.
func (p *faultProxy) set(f fault) {
	p.mu.Lock()
	p.fault = f
	p.generation++
	generation := p.generation
	close(p.changed)
	p.changed = make(chan struct{})
	var doomed []*proxyConn
	for c := range p.conns {
		c.sinceFault.Store(0)
		if f.Mode == "refuse" || (f.Mode == "reset" && f.AfterBytes == 0) {
			doomed = append(doomed, c)
		}
	}
	p.mu.Unlock()
	for _, c := range doomed {
		c.reset()
	}
	if f.Seconds > 0 {
		time.AfterFunc(time.Duration(f.Seconds*float64(time.Second)), func() {
			p.mu.Lock()
			still := p.generation == generation
			p.mu.Unlock()
			if still {
				p.set(fault{Mode: "pass"})
			}
		})
	}
}

func (p *faultProxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		c.reset()
	}
}

func (p *faultProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		c := &proxyConn{proxy: p, client: client.(*net.TCPConn)}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.reset()
			return
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		go c.run()
	}
}

type proxyConn struct {
	proxy    *faultProxy
	client   *net.TCPConn
	upstream *net.TCPConn

	sinceFault atomic.Int64 // bytes carried since the fault was set
	once       sync.Once
	ended      bool // reset ran (proxy.mu held)
}

// reset ends both sides with an RST.
func (c *proxyConn) reset() {
	c.once.Do(func() {
		c.proxy.mu.Lock()
		c.ended = true // an upstream dialed from now on is closed by run
		upstream := c.upstream
		delete(c.proxy.conns, c)
		c.proxy.mu.Unlock()
		for _, conn := range []*net.TCPConn{c.client, upstream} {
			if conn != nil {
				_ = conn.SetLinger(0)
				_ = conn.Close()
			}
		}
	})
}

func (c *proxyConn) run() {
	defer c.reset()
	// A stalled or refusing proxy never dials: the peer accepted, then nothing.
	for {
		f, changed := c.proxy.current()
		if f.Mode == "refuse" || (f.Mode == "reset" && f.AfterBytes == 0) {
			return
		}
		if f.Mode != "stall" {
			break
		}
		<-changed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.proxy.upstream)
	cancel()
	if err != nil {
		return
	}
	c.proxy.mu.Lock()
	c.upstream = conn.(*net.TCPConn)
	ended := c.ended
	c.proxy.mu.Unlock()
	if ended { // reset while dialing
		_ = conn.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { c.pump(c.client, c.upstream); done <- struct{}{} }()
	go func() { c.pump(c.upstream, c.client); done <- struct{}{} }()
	<-done // one side ended: end both (the RST tells the other side at once)
}

type chunk struct {
	data []byte
	at   time.Time // when it was read
}

// pump copies src to dst through a queue, so that latency delays chunks without
// limiting throughput, and applies the fault to each chunk before it is written.
func (c *proxyConn) pump(src, dst *net.TCPConn) {
	queue := make(chan chunk, 64)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, proxyChunk)
			n, err := src.Read(buf)
			if n > 0 {
				queue <- chunk{data: buf[:n], at: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range queue {
		if !c.deliver(dst, ch) {
			c.reset()
			for range queue { // let the reader end
			}
			return
		}
	}
	_ = dst.CloseWrite()
}

// deliver writes one chunk as the current fault allows; false when the connection
// must end.
func (c *proxyConn) deliver(dst *net.TCPConn, ch chunk) bool {
	data := ch.data
	f, _ := c.proxy.current()
	delay := c.proxy.delay(f) // drawn once per chunk
	for len(data) > 0 {
		f, changed := c.proxy.current()
		if f.DelayMs > 0 {
			delay = time.Duration(f.DelayMs) * time.Millisecond
		}
		if delay > 0 && f.Mode != "stall" {
			if wait := time.Until(ch.at.Add(delay)); wait > 0 {
				select {
				case <-time.After(wait):
				case <-changed:
				}
				continue // the fault may have changed meanwhile
			}
		}
		switch f.Mode {
		case "stall":
			<-changed
			continue
		case "refuse":
			return false
		case "reset":
			if c.sinceFault.Load() >= f.AfterBytes {
				return false
			}
		}
		n := len(data)
		if f.Mode == "reset" {
			n = int(min(int64(n), f.AfterBytes-c.sinceFault.Load()))
		}
		rate := c.proxy.rate(f)
		if rate > 0 {
			n = int(min(int64(n), max(1, rate/20))) // a 50 ms slice of the rate
		}
		written, err := dst.Write(data[:n])
		c.sinceFault.Add(int64(written))
		if err != nil {
			return false
		}
		data = data[written:]
		if rate > 0 {
			select {
			case <-time.After(time.Duration(float64(written) / float64(rate) * float64(time.Second))):
			case <-changed:
			}
		}
	}
	return true
}

// proxies are the network's proxies by target name: "satellite", "node:<i>".
type proxies struct {
	byName map[string]*faultProxy
	nodes  []*faultProxy
}

// targets resolves "satellite", "node:<i>" or "nodes" (every node).
func (ps *proxies) targets(target string) ([]*faultProxy, error) {
	if ps == nil {
		return nil, errors.New("this network has no proxies (start it with UPLINK_PY_TESTNET_PROXY=1)")
	}
	if target == "nodes" {
		return ps.nodes, nil
	}
	if p, ok := ps.byName[target]; ok {
		return []*faultProxy{p}, nil
	}
	return nil, fmt.Errorf("no proxy %q (satellite, nodes, node:0..node:%d)", target, len(ps.nodes)-1)
}

func (ps *proxies) status() map[string]any {
	if ps == nil {
		return nil
	}
	out := map[string]any{}
	for name, p := range ps.byName {
		f, _ := p.current()
		p.mu.Lock()
		open := len(p.conns)
		p.mu.Unlock()
		out[name] = map[string]any{"address": p.addr(), "fault": f, "connections": open, "shape": p.shape}
	}
	return out
}

// faultRequest is the body of POST /fault.
type faultRequest struct {
	Target string `json:"target"`
	fault
}

func decodeFault(r io.Reader) (faultRequest, error) {
	var req faultRequest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, err
	}
	return req, req.validate()
}
