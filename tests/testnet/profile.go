package testnet

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"time"
)

// A network profile: the shape of every proxy (proxy.go). "loopback" has no proxies
// unless TESTNET_PROXY=1 (then unshaped ones); "wan" puts the satellite and every node
// behind a shaped proxy, drawn from TESTNET_SEED (default 1):
//   - the satellite 40 ms round trip away (20 ms each way, jitter 2 ms);
//   - each node 10-250 ms away (uniform; jitter a tenth of the one-way delay), with
//     100 Mbit/s per connection and direction, a tenth of the nodes (at least one)
//     at 5 Mbit/s: some nodes near, some far, a few on a poor line, as a client sees
//     nodes spread over continents. The caps are per connection, not per node (uplink
//     opens one connection per piece transfer, so the two are close).
type profile struct {
	name      string
	satellite shape
	nodes     []shape
	seed      int64
}

const mbit = 1_000_000 / 8 // bytes per second of 1 Mbit/s

func loadProfile(nodes int) (profile, error) {
	name := envOr("TESTNET_PROFILE", "loopback")
	seed := int64(1)
	if v := os.Getenv("TESTNET_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return profile{}, fmt.Errorf("TESTNET_SEED=%q: %w", v, err)
		}
		seed = n
	}
	p := profile{name: name, seed: seed, nodes: make([]shape, nodes)}
	switch name {
	case "loopback":
	case "wan":
		rng := rand.New(rand.NewSource(seed))
		p.satellite = shape{OneWay: 20 * time.Millisecond, Jitter: 2 * time.Millisecond}
		slow := map[int]bool{}
		for len(slow) < max(1, nodes/10) {
			slow[rng.Intn(nodes)] = true
		}
		for i := range p.nodes {
			rtt := 10 + rng.Intn(241) // ms
			oneWay := time.Duration(rtt) * time.Millisecond / 2
			rate := int64(100 * mbit)
			if slow[i] {
				rate = 5 * mbit
			}
			p.nodes[i] = shape{OneWay: oneWay, Jitter: oneWay / 10, Rate: rate}
		}
	default:
		return profile{}, fmt.Errorf("TESTNET_PROFILE=%q: want loopback or wan", name)
	}
	return p, nil
}

// proxied: whether the network puts its peers behind proxies.
func (p profile) proxied() bool { return p.name != "loopback" || os.Getenv("TESTNET_PROXY") == "1" }
