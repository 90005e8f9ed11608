package store

import (
	"encoding/binary"
	"io"
	"time"

	"github.com/avis-lv/gateway/internal/lists"
)

// memberCopy encodes members as PostgreSQL's binary COPY stream, pulled by
// the connection as it sends. A million-row version is ingested as fast as
// the file is read: no per-value interface boxing or type lookups, no
// goroutine hand-off, and one reused buffer.
//
// Each row is (person_code bigint, valid_from date, valid_to date); a zero
// date is NULL.
type memberCopy struct {
	src     lists.MemberSource
	buf     []byte
	off     int
	started bool
	done    bool
	n       int64
}

// copyHeader is the binary COPY signature, flags and header extension.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// pgEpochDays is 2000-01-01, day 0 of PostgreSQL's date, in Unix days.
const pgEpochDays = 10957

func newMemberCopy(src lists.MemberSource) *memberCopy {
	return &memberCopy{src: src, buf: make([]byte, 0, 64<<10)}
}

func (c *memberCopy) Read(p []byte) (int, error) {
	if c.off == len(c.buf) {
		c.buf, c.off = c.buf[:0], 0
		if err := c.fill(len(p)); err != nil {
			return 0, err
		}
		if len(c.buf) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

// fill encodes rows until about want bytes are ready or the source ends.
func (c *memberCopy) fill(want int) error {
	if !c.started {
		c.buf = append(c.buf, copyHeader...)
		c.started = true
	}
	for !c.done && len(c.buf) < want {
		if !c.src.Next() {
			if err := c.src.Err(); err != nil {
				return err
			}
			c.buf = binary.BigEndian.AppendUint16(c.buf, 0xffff) // trailer: -1
			c.done = true
			break
		}
		m := c.src.Member()
		c.buf = binary.BigEndian.AppendUint16(c.buf, 3)
		c.buf = appendInt8(c.buf, m.Code)
		c.buf = appendDate(c.buf, m.ValidFrom)
		c.buf = appendDate(c.buf, m.ValidTo)
		c.n++
	}
	return nil
}

func appendInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendDate(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.BigEndian.AppendUint32(b, 0xffffffff) // NULL: length -1
	}
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400 - pgEpochDays
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(int32(days)))
}
