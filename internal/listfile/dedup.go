package listfile

import (
	"encoding/binary"

	"github.com/avis-lv/gateway/internal/personcode"
)

// The duplicate table must stay small and grow smoothly: at 1.6 million rows
// a map[uint64]uint32 costs 50-80 MB, and a doubling hash table spikes to
// three times its size while it rehashes. Instead the table is 4096 buckets,
// each a sorted byte slice of 6-byte entries grown in small steps.
//
// A personal code is 11 digits, below 10^11 < 2^37. A bijective mix of those
// 37 bits spreads codes evenly; its top 12 bits pick the bucket and the other
// 25 are stored with the row number (23 bits) as one 48-bit entry. Measured
// cost: ~6.5 bytes per distinct code plus 96 KiB of bucket headers.
const (
	keyBits    = 37
	bucketBits = 12
	remBits    = keyBits - bucketBits // 25
	rowBits    = 48 - remBits         // 23
	entryBytes = 6
	keyMask    = 1<<keyBits - 1
)

type codeSet struct {
	buckets [1 << bucketBits][]byte
	n       int
	region  *region // the mapping the buckets live in, once presized
}

func newCodeSet() *codeSet { return &codeSet{} }

// codeKey packs a normalised code into 37 bits.
func codeKey(c personcode.Code) uint64 {
	var k uint64
	for i := 0; i < len(c); i++ {
		k = k*10 + uint64(c[i]-'0')
	}
	return k
}

// mix is a bijection on 37-bit values (odd multipliers and xor-shifts are
// each invertible modulo 2^37), so distinct codes stay distinct while
// consecutive serial numbers of one birth date land in different buckets.
func mix(k uint64) uint64 {
	k = (k * 0x9E3779B97F4A7C15) & keyMask
	k ^= k >> 19
	k = (k * 0xBF58476D1CE4E5B9) & keyMask
	k ^= k >> 17
	return k
}

func getEntry(b []byte) uint64 {
	return uint64(binary.BigEndian.Uint16(b))<<32 | uint64(binary.BigEndian.Uint32(b[2:]))
}

func putEntry(b []byte, v uint64) {
	binary.BigEndian.PutUint16(b, uint16(v>>32))
	binary.BigEndian.PutUint32(b[2:], uint32(v))
}

// insert records key at row unless it is already present, in which case it
// returns the first row and true. row must be in 1..MaxRowNumber.
func (s *codeSet) insert(key uint64, row int) (first int, dup bool) {
	m := mix(key)
	bi, rem := m>>remBits, m&(1<<remBits-1)
	b := s.buckets[bi]
	n := len(b) / entryBytes
	// Entries are sorted by remainder, and mixed remainders are uniform, so
	// the expected position is rem·n/2^25 and the true one is a few entries
	// away: one cache line instead of a binary search's eight.
	remAt := func(i int) uint64 { return getEntry(b[i*entryBytes:]) >> rowBits }
	i := int(rem * uint64(n) >> remBits)
	for i > 0 && remAt(i-1) >= rem {
		i--
	}
	for i < n && remAt(i) < rem {
		i++
	}
	if i < n {
		if e := getEntry(b[i*entryBytes:]); e>>rowBits == rem {
			return int(e & (1<<rowBits - 1)), true
		}
	}
	if len(b)+entryBytes > cap(b) {
		// Grow by an eighth: little slack, and no large copy at any moment.
		nb := make([]byte, len(b), cap(b)+max(cap(b)/8, 16*entryBytes))
		copy(nb, b)
		b = nb
	}
	b = b[:len(b)+entryBytes]
	copy(b[(i+1)*entryBytes:], b[i*entryBytes:])
	putEntry(b[i*entryBytes:], rem<<rowBits|uint64(row))
	s.buckets[bi] = b
	s.n++
	return 0, false
}

// bytes is the memory the table holds, for measurements.
func (s *codeSet) bytes() int {
	total := len(s.buckets) * 24 // slice headers
	for _, b := range s.buckets {
		total += cap(b)
	}
	return total
}
