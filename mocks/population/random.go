package population

import "math/bits"

// mix is the splitmix64 finaliser: a fast, well-distributed 64-bit hash.
// Every random choice in the population is a pure function of the seed and
// the person's index through it, which is what makes the population the
// same on every run and machine without storing it.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// stream is a splitmix64 generator for one person's draws.
type stream struct{ state uint64 }

func newStream(seed uint64, index uint64, purpose uint64) *stream {
	return &stream{state: mix(seed^mix(index+0x9e3779b97f4a7c15*purpose)) + index}
}

func (s *stream) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	return mix(s.state)
}

// float returns a uniform value in [0, 1).
func (s *stream) float() float64 {
	return float64(s.next()>>11) / (1 << 53)
}

// intn returns a uniform value in [0, n), n > 0.
func (s *stream) intn(n int) int {
	hi, _ := bits.Mul64(s.next(), uint64(n))
	return int(hi)
}

// between returns a uniform value in [lo, hi]; hi < lo yields lo.
func (s *stream) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + s.intn(hi-lo+1)
}

// chance reports true with probability p.
func (s *stream) chance(p float64) bool { return s.float() < p }

// permutation is a keyed bijection on [0, n): a four-round Feistel network on
// the smallest even-width bit domain covering n, with cycle walking to stay
// inside [0, n). Its inverse lets a personal code be mapped back to the
// person's index without any table, so a population of millions costs no
// memory.
type permutation struct {
	n    uint64
	half uint
	mask uint64
	keys [4]uint64
}

func newPermutation(n uint64, seed uint64, purpose uint64) permutation {
	width := uint(bits.Len64(n - 1))
	if width < 2 {
		width = 2
	}
	half := (width + 1) / 2
	p := permutation{n: n, half: half, mask: 1<<half - 1}
	for i := range p.keys {
		p.keys[i] = mix(seed ^ mix(purpose*4+uint64(i)+1))
	}
	return p
}

func (p permutation) round(r uint64, k uint64) uint64 {
	return mix(r^k) & p.mask
}

func (p permutation) encrypt(x uint64) uint64 {
	l, r := x>>p.half, x&p.mask
	for _, k := range p.keys {
		l, r = r, l^p.round(r, k)
	}
	return l<<p.half | r
}

func (p permutation) decrypt(y uint64) uint64 {
	l, r := y>>p.half, y&p.mask
	for i := len(p.keys) - 1; i >= 0; i-- {
		l, r = r^p.round(l, p.keys[i]), l
	}
	return l<<p.half | r
}

// forward maps x in [0, n) to its image in [0, n).
func (p permutation) forward(x uint64) uint64 {
	for {
		x = p.encrypt(x)
		if x < p.n {
			return x
		}
	}
}

// inverse maps y in [0, n) back to x with forward(x) == y.
func (p permutation) inverse(y uint64) uint64 {
	for {
		y = p.decrypt(y)
		if y < p.n {
			return y
		}
	}
}
