// Package testnet hosts a local Storj network (one satellite, several storage
// nodes) for uplink-py's tests, examples and benchmarks.
//
// It is a Go test only because storj's testplanet needs a *testing.T; it is
// built with `go test -c` and driven by scripts/testnet, never by `go test`.
// It runs until SIGINT/SIGTERM or POST /shutdown on its control address.
package testnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"storj.io/common/macaroon"
	"storj.io/common/memory"
	"storj.io/common/pb"
	"storj.io/common/storj"
	"storj.io/common/testcontext"
	"storj.io/storj/private/testplanet"
	"storj.io/storj/satellite"
	"storj.io/storj/satellite/overlay"
	"storj.io/storj/storagenode"
	"storj.io/uplink"
)

// state is what the network publishes for its clients, as JSON in the state
// file. The file is written once the network has served a real upload.
type state struct {
	PID            int      `json:"pid"`
	Control        string   `json:"control"`
	Satellite      string   `json:"satellite"`
	APIKey         string   `json:"api_key"`
	Passphrase     string   `json:"passphrase"`
	Access         string   `json:"access"`
	StorageNodes   int      `json:"storage_nodes"`
	RS             rsScheme `json:"rs"`
	StartupSeconds float64  `json:"startup_seconds"`
	// With TESTNET_PROXY=1: the satellite's node URL through its proxy (the nodes are
	// always reached through theirs then); "" without.
	SatelliteProxy string `json:"satellite_proxy,omitempty"`
	Profile        string `json:"profile"`
}

type rsScheme struct {
	Min     int `json:"min"`
	Repair  int `json:"repair"`
	Success int `json:"success"`
	Total   int `json:"total"`
}

type nodeStatus struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Address string `json:"address"`
	Running bool   `json:"running"`
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// parseRS reads "min/repair/success/total".
func parseRS(t *testing.T, v string, nodes int) rsScheme {
	parts := strings.Split(v, "/")
	if len(parts) != 4 {
		t.Fatalf("TESTNET_RS=%q: want min/repair/success/total", v)
	}
	var n [4]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x <= 0 {
			t.Fatalf("TESTNET_RS=%q: %q is not a positive integer", v, p)
		}
		n[i] = x
	}
	rs := rsScheme{Min: n[0], Repair: n[1], Success: n[2], Total: n[3]}
	if !(rs.Min <= rs.Repair && rs.Repair <= rs.Success && rs.Success <= rs.Total && rs.Total <= nodes) {
		t.Fatalf("TESTNET_RS=%q: want min <= repair <= success <= total <= nodes (%d)", v, nodes)
	}
	return rs
}

func TestNetwork(t *testing.T) {
	started := time.Now()
	stateFile := os.Getenv("TESTNET_STATE_FILE")
	if stateFile == "" {
		t.Fatal("TESTNET_STATE_FILE is not set: this network is started by scripts/testnet, not by go test")
	}
	if os.Getenv("STORJ_TEST_POSTGRES") == "" {
		// testplanet would skip and the binary would still say PASS.
		t.Fatal("STORJ_TEST_POSTGRES is not set")
	}
	nodes := envInt(t, "TESTNET_NODES", 10)
	rs := parseRS(t, envOr("TESTNET_RS", "2/3/4/6"), nodes)

	// Limits far above what tests and benchmarks use; the test defaults
	// (10 buckets, 10,000 segments, 1 upload per key per second) are not a
	// client's concern.
	const bigSize = 100 * memory.TB
	reconfigureSatellite := func(log *zap.Logger, index int, config *satellite.Config) {
		config.Server.UsePeerCAWhitelist = false
		config.Metainfo.RS.Min = rs.Min
		config.Metainfo.RS.Repair = rs.Repair
		config.Metainfo.RS.Success = rs.Success
		config.Metainfo.RS.Total = rs.Total
		config.Metainfo.ProjectLimits.MaxBuckets = 1_000_000
		config.Metainfo.RateLimiter.Enabled = false
		config.Metainfo.UploadLimiter.Enabled = false
		config.Metainfo.DownloadLimiter.Enabled = false
		config.Console.UsageLimits.Storage.Free = bigSize
		config.Console.UsageLimits.Bandwidth.Free = bigSize
		config.Console.UsageLimits.Segment.Free = 1_000_000_000
	}
	prof, err := loadProfile(nodes)
	if err != nil {
		t.Fatal(err)
	}
	ps, nodeAddresses := nodeProxies(t, prof, nodes)
	reconfigureNode := func(index int, config *storagenode.Config) {
		if ps != nil {
			config.Server.Address = nodeAddresses[index]
			config.Contact.ExternalAddress = ps.nodes[index].addr()
		}
		config.Server.UsePeerCAWhitelist = false
		config.Storage2.Monitor.MinimumDiskSpace = 0
		config.Storage.AllocatedDiskSpace = 50 * memory.GB
	}

	testplanet.Run(t, testplanet.Config{
		SatelliteCount:   1,
		StorageNodeCount: nodes,
		UplinkCount:      1,
		NonParallel:      true,
		Timeout:          -1, // live until told to stop
		Reconfigure: testplanet.Reconfigure{
			SatelliteDBOptions: testplanet.SatelliteDBDisableCaches,
			Satellite:          reconfigureSatellite,
			StorageNode:        reconfigureNode,
			// Object Lock is refused to API keys older than this version (versioning
			// needs nothing: the satellite allows it on every bucket).
			Uplink: func(_ *zap.Logger, _ int, config *testplanet.UplinkConfig) {
				config.APIKeyVersion = macaroon.APIKeyVersionObjectLock
			},
		},
	}, func(t *testing.T, ctx *testcontext.Context, planet *testplanet.Planet) {
		serve(t, ctx, planet, stateFile, rs, started, ps, prof)
	})
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// nodeProxies makes a proxy per storage node when TESTNET_PROXY=1 (nil otherwise),
// and the address each node then listens on (the proxy's upstream, known before the
// node starts: the satellite checks a node by dialing the address it announces).
func nodeProxies(t *testing.T, prof profile, nodes int) (*proxies, []string) {
	if !prof.proxied() {
		return nil, nil
	}
	ps := &proxies{byName: map[string]*faultProxy{}}
	addresses := make([]string, nodes)
	ports := newPortPicker()
	for i := range nodes {
		addr, err := ports.pick()
		if err != nil {
			t.Fatalf("pick a node address: %+v", err)
		}
		addresses[i] = addr
		p, err := newFaultProxy(fmt.Sprintf("node:%d", i), addresses[i], prof.nodes[i], prof.seed+int64(i)+1)
		if err != nil {
			t.Fatalf("node proxy: %+v", err)
		}
		ps.nodes = append(ps.nodes, p)
		ps.byName[p.name] = p
	}
	return ps, addresses
}

// portPicker picks free loopback ports below the kernel's ephemeral range: a port
// picked by binding :0 and closed again may be handed to any later bind of :0 (a
// proxy's, or one of testplanet's hundreds) before the node binds it, which failed
// network start-up with "address already in use", often with 110 nodes. No bind of
// :0 returns a port outside ip_local_port_range.
type portPicker struct {
	next, end int
}

func newPortPicker() *portPicker {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	start := 10000
	if low-start < 2000 { // an unusual range: fall back on the ports above it
		return &portPicker{}
	}
	// a random start: networks side by side rarely probe the same ports
	var r [2]byte
	_, _ = rand.Read(r[:])
	offset := (int(r[0])<<8 | int(r[1])) % (low - start - 1000)
	return &portPicker{next: start + offset, end: low}
}

func (pp *portPicker) pick() (string, error) {
	for pp.end != 0 && pp.next < pp.end {
		addr := fmt.Sprintf("127.0.0.1:%d", pp.next)
		pp.next++
		if ln, err := net.Listen("tcp", addr); err == nil {
			_ = ln.Close()
			return addr, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// announceProxies records each node at its proxy's address in the satellite's
// overlay. testplanet checks nodes in at their own addresses as it starts them; the
// nodes' own check-ins (Contact.ExternalAddress) come only at the contact interval.
func announceProxies(ctx context.Context, planet *testplanet.Planet, ps *proxies) error {
	for _, sat := range planet.Satellites {
		for i, node := range planet.StorageNodes {
			address := ps.nodes[i].addr()
			_, _, lastNet, err := sat.Overlay.Service.ResolveIPAndNetwork(ctx, address)
			if err != nil {
				return err
			}
			space, err := node.Storage2.Monitor.AvailableSpace(ctx)
			if err != nil {
				return err
			}
			self := node.Contact.Service.Local()
			err = sat.DB.OverlayCache().UpdateCheckIn(ctx, overlay.NodeCheckInInfo{
				NodeID:     node.ID(),
				Address:    &pb.NodeAddress{Address: address},
				IsUp:       true,
				Version:    &self.Version,
				LastNet:    lastNet,
				LastIPPort: address,
				Capacity:   &pb.NodeCapacity{FreeDisk: space},
				Operator:   &pb.NodeOperator{Email: node.Config.Operator.Email, Wallet: node.Config.Operator.Wallet},
			}, time.Now(), sat.Config.Overlay.Node)
			if err != nil {
				return err
			}
		}
		if err := sat.Overlay.UploadSelectionCache.Refresh(ctx); err != nil {
			return err
		}
		if err := sat.Overlay.DownloadSelectionCache.Refresh(ctx); err != nil {
			return err
		}
	}
	return nil
}

func serve(t *testing.T, ctx *testcontext.Context, planet *testplanet.Planet, stateFile string, rs rsScheme, started time.Time, ps *proxies, prof profile) {
	sat := planet.Satellites[0]
	up := planet.Uplinks[0]
	satelliteProxy := ""
	if ps != nil {
		p, err := newFaultProxy("satellite", sat.Addr(), prof.satellite, prof.seed)
		if err != nil {
			t.Fatalf("satellite proxy: %+v", err)
		}
		ps.byName[p.name] = p
		satelliteProxy = storj.NodeURL{ID: sat.ID(), Address: p.addr()}.String()
		if err := announceProxies(ctx, planet, ps); err != nil {
			t.Fatalf("announce the node proxies: %+v", err)
		}
		defer func() {
			for _, p := range ps.byName {
				p.close()
			}
		}()
	}

	// Prove the network stores and returns data before announcing it.
	if err := selfCheck(ctx, up, sat); err != nil {
		t.Fatalf("self check: %+v", err)
	}

	apiKey := up.APIKey[sat.ID()].Serialize()
	passphrase := randomHex(16)
	// A shaped profile publishes the satellite through its proxy: every client goes there.
	satelliteURL := sat.NodeURL().String()
	if prof.name != "loopback" {
		satelliteURL = satelliteProxy
	}
	access, err := uplink.Config{}.RequestAccessWithPassphrase(ctx, satelliteURL, apiKey, passphrase)
	if err != nil {
		t.Fatalf("request access: %+v", err)
	}
	serialized, err := access.Serialize()
	if err != nil {
		t.Fatalf("serialize access: %+v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("control listener: %+v", err)
	}
	stop := make(chan string, 1)
	ctl := &control{ctx: ctx, planet: planet, stop: stop, proxies: ps}
	srv := &http.Server{Handler: ctl.routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()

	st := state{
		PID:            os.Getpid(),
		Control:        "http://" + ln.Addr().String(),
		Satellite:      satelliteURL,
		APIKey:         apiKey,
		Passphrase:     passphrase,
		Access:         serialized,
		StorageNodes:   len(planet.StorageNodes),
		RS:             rs,
		StartupSeconds: time.Since(started).Seconds(),
		SatelliteProxy: satelliteProxy,
		Profile:        prof.name,
	}
	if err := writeState(stateFile, st); err != nil {
		t.Fatalf("write state: %+v", err)
	}
	defer func() { _ = os.Remove(stateFile) }()
	fmt.Printf("testnet: ready in %.1fs: satellite %s, %d storage nodes, RS %d/%d/%d/%d, control %s\n",
		st.StartupSeconds, st.Satellite, st.StorageNodes, rs.Min, rs.Repair, rs.Success, rs.Total, st.Control)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	select {
	case sig := <-signals:
		fmt.Printf("testnet: %v received, shutting down\n", sig)
	case why := <-stop:
		fmt.Printf("testnet: %s, shutting down\n", why)
	case <-ctx.Done():
		fmt.Printf("testnet: context done (%v), shutting down\n", ctx.Err())
	}
}

func selfCheck(ctx context.Context, up *testplanet.Uplink, sat *testplanet.Satellite) error {
	data := make([]byte, 5*memory.KiB.Int())
	if _, err := rand.Read(data); err != nil {
		return err
	}
	const bucket = "testnet-self-check"
	if err := up.Upload(ctx, sat, bucket, "probe", data); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	got, err := up.Download(ctx, sat, bucket, "probe")
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if !bytes.Equal(got, data) {
		return errors.New("downloaded bytes differ from uploaded bytes")
	}
	if err := up.DeleteObject(ctx, sat, bucket, "probe"); err != nil {
		return fmt.Errorf("delete object: %w", err)
	}
	return up.DeleteBucket(ctx, sat, bucket)
}

// writeState writes atomically and privately: the file holds secrets.
func writeState(path string, st state) error {
	buf, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Clean(path))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// control serves the loopback-only HTTP API used by scripts/testnet.
type control struct {
	ctx     *testcontext.Context
	planet  *testplanet.Planet
	stop    chan<- string
	proxies *proxies

	mu      sync.Mutex
	stopped map[int]bool
}

func (c *control) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", c.status)
	mux.HandleFunc("POST /stop-node/{index}", c.stopNode)
	mux.HandleFunc("POST /fault", c.setFault)
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.proxies.status())
	})
	// Every goroutine's stack, for the suite's report on a test about to time out
	// (tests/hang_report.py): a satellite stuck in a request shows where.
	mux.HandleFunc("GET /stacks", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<20)
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				buf = buf[:n]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(buf)
	})
	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
		select {
		case c.stop <- "shutdown requested":
		default:
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

func (c *control) status(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nodes := make([]nodeStatus, len(c.planet.StorageNodes))
	for i, n := range c.planet.StorageNodes {
		nodes[i] = nodeStatus{Index: i, ID: n.ID().String(), Address: n.Addr(), Running: !c.stopped[i]}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"storage_nodes": nodes})
}

// setFault: POST /fault {"target": "satellite" | "nodes" | "node:<i>", "mode": ..., ...}
// (see proxy.go).
func (c *control) setFault(w http.ResponseWriter, r *http.Request) {
	req, err := decodeFault(r.Body)
	if err != nil {
		http.Error(w, "bad fault: "+err.Error(), http.StatusBadRequest)
		return
	}
	targets, err := c.proxies.targets(req.Target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, p := range targets {
		p.set(req.fault)
	}
	_, _ = fmt.Fprintf(w, "%s: %s\n", req.Target, req.Mode)
}

func (c *control) stopNode(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 || index >= len(c.planet.StorageNodes) {
		http.Error(w, fmt.Sprintf("no storage node %q (have 0..%d)", r.PathValue("index"), len(c.planet.StorageNodes)-1), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped == nil {
		c.stopped = map[int]bool{}
	}
	if c.stopped[index] {
		_, _ = fmt.Fprintf(w, "storage node %d already stopped\n", index)
		return
	}
	node := c.planet.StorageNodes[index]
	if err := c.planet.StopNodeAndUpdate(c.ctx, node); err != nil {
		http.Error(w, fmt.Sprintf("stop node %d: %v", index, err), http.StatusInternalServerError)
		return
	}
	c.stopped[index] = true
	// New uploads must not be offered the stopped node.
	for _, sat := range c.planet.Satellites {
		if err := sat.Overlay.UploadSelectionCache.Refresh(c.ctx); err != nil {
			http.Error(w, fmt.Sprintf("refresh upload selection: %v", err), http.StatusInternalServerError)
			return
		}
	}
	_, _ = fmt.Fprintf(w, "storage node %d (%s) stopped\n", index, node.ID())
}
