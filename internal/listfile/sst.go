package listfile

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync/atomic"
)

// TempFilePrefix begins the names of the files a large shared-string
// table spills to. They are unlinked as soon as they are made; releases
// before that left them behind after a crash, which is why the gateway
// sweeps stale ones at start.
const TempFilePrefix = "listfile-sst-"

// stringTable is an XLSX shared-string table in about 4 bytes of memory per
// string: the strings are concatenated in one arena, which moves to a
// temporary file once it outgrows Limits.XLSXSpillBytes, and only their end
// offsets stay in memory. Reads from the file go through a small block
// cache; Excel numbers strings in order of first use, so a sheet read top to
// bottom asks for them almost sequentially.
type stringTable struct {
	ends    []uint32
	arena   []byte
	spillAt int
	dir     string
	file    *os.File
	w       *bufio.Writer
	size    int64
	cache   [sstCacheBlocks]sstBlock
	tick    uint64
}

const (
	sstBlockSize   = 64 << 10
	sstCacheBlocks = 16
)

type sstBlock struct {
	idx  int64 // block number, -1 when empty
	data []byte
	used uint64
}

func (s *stringTable) len() int { return len(s.ends) }

func (s *stringTable) add(str string) error {
	if s.size+int64(len(str)) > math.MaxUint32 {
		return &FileError{Code: CodeFileTooLarge, Detail: "shared strings > 4 GiB"}
	}
	if s.file == nil && len(s.arena)+len(str) > s.spillAt {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if s.file != nil {
		if _, err := s.w.WriteString(str); err != nil {
			return &FileError{Code: CodeFileRead, Err: fmt.Errorf("write shared strings: %w", err)}
		}
	} else {
		s.arena = append(s.arena, str...)
	}
	s.size += int64(len(str))
	s.ends = append(s.ends, uint32(s.size))
	return nil
}

func (s *stringTable) spill() error {
	f, err := os.CreateTemp(s.dir, TempFilePrefix+"*")
	if err != nil {
		return &FileError{Code: CodeFileRead, Err: fmt.Errorf("spill shared strings: %w", err)}
	}
	// The strings are the file's cells, personal codes among them: the
	// file loses its name at once, so that a crash leaves nothing on
	// disk (the open descriptor keeps it readable until it is closed).
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return &FileError{Code: CodeFileRead, Err: fmt.Errorf("spill shared strings: %w", err)}
	}
	s.file = f
	s.w = bufio.NewWriterSize(f, 64<<10)
	if _, err := s.w.Write(s.arena); err != nil {
		return &FileError{Code: CodeFileRead, Err: fmt.Errorf("spill shared strings: %w", err)}
	}
	s.arena = nil
	for i := range s.cache {
		s.cache[i].idx = -1
	}
	return nil
}

// finish makes the table readable.
func (s *stringTable) finish() error {
	if s.w != nil {
		if err := s.w.Flush(); err != nil {
			return &FileError{Code: CodeFileRead, Err: fmt.Errorf("write shared strings: %w", err)}
		}
		s.w = nil
	}
	return nil
}

func (s *stringTable) get(i int) (string, error) {
	var start int64
	if i > 0 {
		start = int64(s.ends[i-1])
	}
	end := int64(s.ends[i])
	if s.file == nil {
		return string(s.arena[start:end]), nil
	}
	if start/sstBlockSize != (end-1)/sstBlockSize || end == start {
		// Spans two blocks (or is empty): read it directly.
		buf := make([]byte, end-start)
		if _, err := s.file.ReadAt(buf, start); err != nil {
			return "", fmt.Errorf("read shared string: %w", err)
		}
		return string(buf), nil
	}
	b, err := s.block(start / sstBlockSize)
	if err != nil {
		return "", err
	}
	off := start % sstBlockSize
	return string(b[off : off+end-start]), nil
}

// block returns block n from the cache, evicting the least recently used.
func (s *stringTable) block(n int64) ([]byte, error) {
	s.tick++
	victim := 0
	for i := range s.cache {
		c := &s.cache[i]
		if c.idx == n {
			c.used = s.tick
			return c.data, nil
		}
		if c.used < s.cache[victim].used {
			victim = i
		}
	}
	c := &s.cache[victim]
	if c.data == nil {
		c.data = make([]byte, sstBlockSize)
	}
	m, err := s.file.ReadAt(c.data[:sstBlockSize], n*sstBlockSize)
	if err != nil && !errors.Is(err, io.EOF) {
		c.idx = -1
		return nil, fmt.Errorf("read shared strings: %w", err)
	}
	c.idx, c.used, c.data = n, s.tick, c.data[:m]
	return c.data, nil
}

func (s *stringTable) close() {
	if s.file != nil {
		_ = s.file.Close()
		s.file = nil
	}
	s.arena, s.ends = nil, nil
}

// loadSharedStrings reads the shared-string table, refusing more than
// MaxSharedStrings entries whatever the table declares.
func loadSharedStrings(f *zip.File, lim Limits) (_ *stringTable, err error) {
	rc, err := f.Open()
	if err != nil {
		return nil, &FileError{Code: CodeXLSXCorrupt, Detail: f.Name, Err: err}
	}
	defer rc.Close()
	st := &stringTable{spillAt: int(lim.XLSXSpillBytes), dir: lim.TempDir}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	tooMany := &FileError{Code: CodeXLSXTooManyStrings, Detail: strconv.Itoa(lim.MaxSharedStrings)}
	d := xml.NewDecoder(bufio.NewReaderSize(&tokenGuard{r: rc, max: xmlTokenLimit}, 64<<10))
	depth := 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			if err := st.finish(); err != nil {
				return nil, err
			}
			return st, nil
		}
		if err != nil {
			return nil, zipReadError(f.Name, 0, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if n, err := strconv.Atoi(attr(t, "uniqueCount")); err == nil && n > 0 {
					if n > lim.MaxSharedStrings {
						return nil, tooMany
					}
					st.ends = make([]uint32, 0, n)
				}
			}
			if depth == 2 && t.Name.Local == "si" {
				s, err := richText(d, "si")
				if err != nil {
					return nil, zipReadError(f.Name, 0, err)
				}
				depth--
				if st.len() >= lim.MaxSharedStrings {
					return nil, tooMany
				}
				if err := st.add(s); err != nil {
					return nil, err
				}
			}
		case xml.EndElement:
			depth--
		}
	}
}

// countingReaderAt counts the bytes read from the upload, for Progress.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}
