package listgen

import "math/bits"

func mul64(a, b uint64) (hi, lo uint64) { return bits.Mul64(a, b) }

func mod128(hi, lo, n uint64) uint64 {
	_, r := bits.Div64(hi%n, lo, n)
	return r
}
