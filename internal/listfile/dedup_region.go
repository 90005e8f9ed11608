package listfile

import (
	"runtime"
	"sync/atomic"
	"syscall"
)

// Once the size of a big file is known, the duplicate table moves out of the
// Go heap into one anonymous mapping with room for every bucket's share of
// the expected codes. The collector then neither scans it nor lets the heap
// grow to twice its size around it, so memory grows by the table's own 6.5
// bytes per code and no more. A bucket that outgrows its room continues on
// the heap, as before.
const (
	// presizeAfter is the row after which the expected row count is
	// estimated from the bytes read so far.
	presizeAfter = 4096
	// presizeMin is the smallest expected row count worth a mapping.
	presizeMin = 200_000
)

type region struct {
	mem      []byte
	released atomic.Bool
}

func (r *region) unmap() {
	if r.released.CompareAndSwap(false, true) {
		_ = syscall.Munmap(r.mem)
	}
}

// presize moves the table into a mapping sized for expected codes (with a
// twentieth to spare and a little per bucket for the unevenness of hashing;
// the few buckets that outgrow it continue on the heap).
// It does nothing for small files, twice, or when mapping fails.
func (s *codeSet) presize(expected int) {
	if s.region != nil || expected < presizeMin || expected > MaxRowNumber {
		return
	}
	per := (expected*21/20)/len(s.buckets) + 16
	mem, err := syscall.Mmap(-1, 0, len(s.buckets)*per*entryBytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return
	}
	r := &region{mem: mem}
	// A reader dropped without Close still gives the mapping back.
	runtime.AddCleanup(s, func(r *region) { r.unmap() }, r)
	for i, b := range s.buckets {
		if len(b) > per*entryBytes {
			continue // stays on the heap
		}
		slot := mem[i*per*entryBytes : i*per*entryBytes : (i+1)*per*entryBytes]
		s.buckets[i] = append(slot, b...)
	}
	s.region = r
}

// release gives the mapping back; the table is empty afterwards.
func (s *codeSet) release() {
	if s.region == nil {
		return
	}
	s.buckets = [1 << bucketBits][]byte{}
	s.n = 0
	s.region.unmap()
	s.region = nil
}
