package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Workload names accepted by -workload.
const (
	workloadCounters    = "counters"
	workloadMixed       = "mixed"
	workloadCardinality = "cardinality"
)

// minPoolLines is the smallest number of lines pre-generated for a pool, so
// that workloads with few series still cycle through varied values.
const minPoolLines = 1 << 16

// typeMix is the fixed mix of statsd types in the mixed workload. Name i has
// type typeMix[i%len(typeMix)], so a name never changes type (statsd_exporter
// refuses a name that changes type) and the mix is 40 % counters, 20 % gauges,
// 20 % timers, 5 % histograms, 10 % distributions and 5 % sets.
var typeMix = [20]string{
	"c", "g", "ms", "c", "d", "c", "g", "ms", "c", "h",
	"c", "g", "ms", "c", "d", "c", "g", "ms", "c", "s",
}

// tagKeys are the DogStatsD tag keys used by workloads with tags; tag values
// are derived from the name index, so each name is one series.
var tagKeys = []string{"env", "region", "host", "service", "zone", "team", "version", "shard"}

// errConfig reports an invalid generator configuration.
var errConfig = errors.New("loadgen: invalid configuration")

// genConfig describes what lines a pool holds.
type genConfig struct {
	Workload string // counters, mixed or cardinality
	Names    int    // distinct metric names
	Tags     int    // DogStatsD tags per line, values fixed per name; < 0: workload default (mixed 3, else 0); cardinality adds an id tag
	Series   int    // distinct series (cardinality only; Names × ids)
	Seed     uint64 // PRNG seed; same seed, same pool
	Packet   int    // maximum packet payload in bytes
	TCP      bool   // end every line, the last included, with '\n'
}

// withDefaults fills zero fields with the workload's defaults.
func (c genConfig) withDefaults() genConfig {
	if c.Packet == 0 {
		c.Packet = 1432
	}
	switch c.Workload {
	case workloadCounters:
		if c.Names == 0 {
			c.Names = 1000
		}
	case workloadMixed:
		if c.Names == 0 {
			c.Names = 10000
		}
		if c.Tags < 0 {
			c.Tags = 3
		}
	case workloadCardinality:
		if c.Names == 0 {
			c.Names = 1000
		}
		if c.Series == 0 {
			c.Series = 1000000
		}
	}
	if c.Tags < 0 {
		c.Tags = 0
	}
	return c
}

func (c genConfig) validate() error {
	switch c.Workload {
	case workloadCounters, workloadMixed, workloadCardinality:
	default:
		return fmt.Errorf("%w: unknown workload %q", errConfig, c.Workload)
	}
	if c.Names <= 0 {
		return fmt.Errorf("%w: names must be positive", errConfig)
	}
	if c.Tags > len(tagKeys) {
		return fmt.Errorf("%w: at most %d tags", errConfig, len(tagKeys))
	}
	if c.Workload == workloadCardinality && c.Series < c.Names {
		return fmt.Errorf("%w: series (%d) below names (%d)", errConfig, c.Series, c.Names)
	}
	if c.Packet < 128 || c.Packet > 65507 {
		return fmt.Errorf("%w: packet size %d outside [128, 65507]", errConfig, c.Packet)
	}
	return nil
}

// series returns the number of distinct series the workload sends.
func (c genConfig) series() int {
	if c.Workload == workloadCardinality {
		return c.Series
	}
	return c.Names
}

// pool is a pre-generated, immutable sequence of packets. The load stream is
// the pool repeated: packet i of the stream is pool packet i % len.
type pool struct {
	data     []byte    // all packets back to back
	off      []uint32  // packet k is data[off[k]:off[k+1]]
	lines    []uint16  // lines in packet k
	counter  []float64 // sum of counter increments in packet k, scaled by 1/rate
	counters []uint16  // counter lines in packet k
	series   int       // distinct series in the pool
	total    int       // lines in the pool
	tcp      bool      // lines end with '\n'
}

func (p *pool) len() int { return len(p.lines) }

func (p *pool) packet(k int) []byte { return p.data[p.off[k]:p.off[k+1]] }

// newPool generates the pool for cfg. The pool is a concatenation of seeded
// random permutations of all series, so any window of series() consecutive
// lines from the start covers every series once.
func newPool(cfg genConfig) (*pool, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x74656c6c74616c65)) // "telltale"
	n := cfg.series()
	rounds := 1
	if n < minPoolLines {
		rounds = (minPoolLines + n - 1) / n
	}
	p := &pool{series: n, tcp: cfg.TCP, off: []uint32{0}}
	p.data = make([]byte, 0, n*rounds*lineEstimate(cfg))
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	var line []byte
	pktStart := 0
	var pktLines, pktCounters int
	var pktSum float64
	closePacket := func() {
		if pktLines == 0 {
			return
		}
		p.off = append(p.off, uint32(len(p.data)))
		p.lines = append(p.lines, uint16(pktLines))
		p.counter = append(p.counter, pktSum)
		p.counters = append(p.counters, uint16(pktCounters))
		pktStart = len(p.data)
		pktLines, pktCounters, pktSum = 0, 0, 0
	}
	for range rounds {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for _, s := range perm {
			var inc float64
			var isCounter bool
			line, inc, isCounter = appendLine(line[:0], cfg, int(s), rng)
			need := len(line)
			if cfg.TCP {
				need++ // own trailing '\n'
			} else if pktLines > 0 {
				need++ // separator before this line
			}
			if need > cfg.Packet {
				return nil, fmt.Errorf("%w: line of %d bytes exceeds packet size %d", errConfig, len(line), cfg.Packet)
			}
			if len(p.data)-pktStart+need > cfg.Packet {
				closePacket()
			}
			if !cfg.TCP && pktLines > 0 {
				p.data = append(p.data, '\n')
			}
			p.data = append(p.data, line...)
			if cfg.TCP {
				p.data = append(p.data, '\n')
			}
			pktLines++
			p.total++
			if isCounter {
				pktCounters++
				pktSum += inc
			}
		}
	}
	closePacket()
	return p, nil
}

// lineEstimate guesses the average line length, to size the pool once.
func lineEstimate(cfg genConfig) int {
	return 24 + 16*cfg.Tags + 8
}

// appendLine appends series s as one statsd line to dst, drawing its value
// from rng. It returns the counter increment (value / sample rate) and
// whether the line is a counter.
func appendLine(dst []byte, cfg genConfig, s int, rng *rand.Rand) ([]byte, float64, bool) {
	name := s
	if cfg.Workload == workloadCardinality {
		name = s % cfg.Names
	}
	switch cfg.Workload {
	case workloadCounters:
		dst = append(dst, "bench.counter.n"...)
	case workloadMixed:
		dst = append(dst, "bench.mixed.n"...)
	case workloadCardinality:
		dst = append(dst, "bench.card.n"...)
	}
	dst = strconv.AppendInt(dst, int64(name), 10)
	dst = append(dst, ':')

	typ := "c"
	if cfg.Workload == workloadMixed {
		typ = typeMix[name%len(typeMix)]
	}
	var inc float64
	switch typ {
	case "c":
		v := 1 + rng.IntN(9)
		dst = strconv.AppendInt(dst, int64(v), 10)
		dst = append(dst, "|c"...)
		inc = float64(v)
		// One mixed counter line in ten is sampled at 50 %, so the
		// server must scale it; the expected total stays exact.
		if cfg.Workload == workloadMixed && rng.IntN(10) == 0 {
			dst = append(dst, "|@0.5"...)
			inc *= 2
		}
	case "g":
		dst = strconv.AppendInt(dst, int64(rng.IntN(10000)), 10)
		dst = append(dst, "|g"...)
	case "ms":
		dst = strconv.AppendFloat(dst, float64(rng.IntN(10000))/10, 'f', -1, 64)
		dst = append(dst, "|ms"...)
	case "h":
		dst = strconv.AppendInt(dst, int64(rng.IntN(1000)), 10)
		dst = append(dst, "|h"...)
	case "d":
		dst = strconv.AppendFloat(dst, float64(rng.IntN(10000))/1000, 'f', -1, 64)
		dst = append(dst, "|d"...)
	case "s":
		dst = append(dst, 'u')
		dst = strconv.AppendInt(dst, int64(rng.IntN(100)), 10)
		dst = append(dst, "|s"...)
	}

	if cfg.Workload == workloadCardinality {
		dst = append(dst, "|#id:"...)
		dst = strconv.AppendInt(dst, int64(s/cfg.Names), 10)
		for t := range cfg.Tags {
			dst = append(dst, ',')
			dst = appendTag(dst, t, name)
		}
	} else if cfg.Tags > 0 {
		dst = append(dst, "|#"...)
		for t := range cfg.Tags {
			if t > 0 {
				dst = append(dst, ',')
			}
			dst = appendTag(dst, t, name)
		}
	}
	return dst, inc, typ == "c"
}

// tagCardinality is the number of values of each tag key; values are a
// function of the name index, so a name always carries the same tags.
var tagCardinality = []int{3, 7, 50, 20, 5, 11, 4, 16}

func appendTag(dst []byte, t, name int) []byte {
	dst = append(dst, tagKeys[t]...)
	dst = append(dst, ':')
	dst = append(dst, tagKeys[t][0])
	return strconv.AppendInt(dst, int64((name/(t+1))%tagCardinality[t]), 10)
}

// prefix returns the first k lines of packet b (a prefix of it) and the
// counter total of those lines.
func prefix(b []byte, k int, tcp bool) ([]byte, float64, int) {
	var sum float64
	var counters int
	end := 0
	for i := 0; i < k; i++ {
		j := bytes.IndexByte(b[end:], '\n')
		var line []byte
		if j < 0 {
			line = b[end:]
			end = len(b)
		} else {
			line = b[end : end+j]
			end += j + 1
		}
		if inc, ok := counterIncrement(line); ok {
			sum += inc
			counters++
		}
	}
	if !tcp && end > 0 && end <= len(b) && b[end-1] == '\n' {
		end-- // a UDP packet carries no trailing newline
	}
	return b[:end], sum, counters
}

// counterIncrement returns the scaled increment of a counter line in the
// shape appendLine writes, and false for any other line.
func counterIncrement(line []byte) (float64, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return 0, false
	}
	rest := line[colon+1:]
	bar := bytes.IndexByte(rest, '|')
	if bar < 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(rest[:bar]), 64)
	if err != nil {
		return 0, false
	}
	fields := bytes.Split(rest[bar+1:], []byte{'|'})
	if string(fields[0]) != "c" {
		return 0, false
	}
	for _, f := range fields[1:] {
		if len(f) > 1 && f[0] == '@' {
			r, err := strconv.ParseFloat(string(f[1:]), 64)
			if err != nil || r <= 0 {
				return 0, false
			}
			v /= r
		}
	}
	return v, true
}
