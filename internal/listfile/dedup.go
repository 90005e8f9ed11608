package listfile

import "github.com/avis-lv/gateway/internal/personcode"

// A personal code is 11 decimal digits, below 10^11 < 2^37, and a row number
// fits in the remaining 27 bits, so one uint64 holds both: the duplicate
// table costs 8 bytes per slot instead of the ~50 a map[uint64]uint32 needs.
const (
	keyBits = 37
	rowBits = 64 - keyBits
	keyMask = 1<<keyBits - 1
)

// codeSet remembers each valid personal code seen in a file together with
// the row it first appeared in. It is an open-addressing hash table with
// linear probing; a zero slot is empty, which is safe because an occupied
// slot always carries a row number ≥ 1 in its high bits.
type codeSet struct {
	slots []uint64
	n     int
	shift uint // 64 - log2(len(slots))
}

const codeSetInitialBits = 10

func newCodeSet() *codeSet {
	return &codeSet{slots: make([]uint64, 1<<codeSetInitialBits), shift: 64 - codeSetInitialBits}
}

// codeKey packs a normalised code into 37 bits.
func codeKey(c personcode.Code) uint64 {
	var k uint64
	for i := 0; i < len(c); i++ {
		k = k*10 + uint64(c[i]-'0')
	}
	return k
}

func (s *codeSet) home(key uint64) uint64 {
	// Fibonacci hashing spreads the sequential codes of one birth date.
	return (key * 0x9E3779B97F4A7C15) >> s.shift
}

// insert records key at row unless it is already present, in which case it
// returns the first row and true. row must be in 1..MaxRowNumber.
func (s *codeSet) insert(key uint64, row int) (first int, dup bool) {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := s.home(key); ; i = (i + 1) & mask {
		v := s.slots[i]
		if v == 0 {
			s.slots[i] = key | uint64(row)<<keyBits
			s.n++
			return 0, false
		}
		if v&keyMask == key {
			return int(v >> keyBits), true
		}
	}
}

func (s *codeSet) grow() {
	old := s.slots
	s.slots = make([]uint64, len(old)*2)
	s.shift--
	mask := uint64(len(s.slots) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := s.home(v & keyMask)
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = v
	}
}

// bytes is the memory the table holds, for measurements.
func (s *codeSet) bytes() int { return len(s.slots) * 8 }
