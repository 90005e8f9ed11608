package listfile

// Limits bound the resources one list file may consume. Every reader enforces
// them while streaming, so a hostile or broken upload fails fast with a
// FileError instead of exhausting memory or disk. A zero field takes its
// value from DefaultLimits, except MaxRowErrors, where zero means no limit.
type Limits struct {
	// MaxRows is the largest number of data rows (header and blank rows not
	// counted). A national group is ~1.6 million people. It is capped at
	// MaxRowNumber because the duplicate table packs row numbers in 23 bits.
	MaxRows int
	// MaxRowBytes is the longest CSV record that is still examined. A longer
	// one is reported as row.too_long and reading continues.
	MaxRowBytes int
	// MaxLineBytes is the longest CSV record tolerated at all; a longer one
	// means the file is not a list (or has an unclosed quote), so reading
	// stops with line.too_long. The reader never buffers more than
	// MaxRowBytes of a record, whatever this is set to.
	MaxLineBytes int
	// MaxFileBytes is the largest CSV file, and the largest XLSX file, read.
	MaxFileBytes int64
	// MaxXLSXFileBytes is the largest XLSX (compressed) file.
	MaxXLSXFileBytes int64
	// MaxXLSXUncompressed caps the sum of the declared uncompressed sizes of
	// all parts of an XLSX package; archive/zip holds each part to its
	// declaration while inflating.
	MaxXLSXUncompressed int64
	// MaxXLSXInMemory caps the small package parts read whole (the workbook
	// and its relationships).
	MaxXLSXInMemory int64
	// XLSXSpillBytes is how much shared-string text is kept in memory; a
	// larger table moves to a temporary file in TempDir, with only 4 bytes
	// per string left in memory.
	XLSXSpillBytes int64
	// MaxCompressionRatio is the highest uncompressed/compressed ratio of a
	// part larger than 1 MiB; real sheets compress 5-30×, zip bombs 1000×.
	MaxCompressionRatio int64
	// MaxSharedStrings caps the shared-string table (one per distinct text
	// cell: a list typed as text has one per row).
	MaxSharedStrings int
	// MaxZipEntries caps the number of parts in an XLSX package.
	MaxZipEntries int
	// MaxRowErrors stops reading after this many bad rows: a file where most
	// rows are bad is the wrong file, and the error report must stay bounded.
	// Zero means no limit.
	MaxRowErrors int
	// SizeHint is the file's size in bytes when it is known beforehand
	// (0 otherwise). A CSV reader then sizes the duplicate table for the
	// rows the file will hold and keeps it off the Go heap.
	SizeHint int64
	// TempDir holds a large shared-string table while an XLSX file is read;
	// empty means the system default.
	TempDir string
	// DatesIgnored reads personal codes only: the date columns may be
	// missing, and their cells are neither checked nor returned (a file of
	// persons to remove from a list).
	DatesIgnored bool
}

// MaxRowNumber is the largest row number the duplicate table can record.
const MaxRowNumber = 1<<rowBits - 1

// DefaultLimits suits a national list of ~1.6 million rows uploaded as CSV,
// or the 1,048,575 data rows an Excel sheet can hold.
func DefaultLimits() Limits {
	return Limits{
		MaxRows:             2_000_000,
		MaxRowBytes:         4 << 10,
		MaxLineBytes:        64 << 10,
		MaxFileBytes:        256 << 20,
		MaxXLSXFileBytes:    64 << 20,
		MaxXLSXUncompressed: 512 << 20,
		MaxXLSXInMemory:     4 << 20,
		XLSXSpillBytes:      4 << 20,
		MaxCompressionRatio: 100,
		MaxSharedStrings:    2_000_000,
		MaxZipEntries:       1_000,
		MaxRowErrors:        100_000,
	}
}

// normalised fills zero fields with defaults so a caller may set only the
// limits it cares about.
func (l Limits) normalised() Limits {
	d := DefaultLimits()
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxRows > MaxRowNumber-1 {
		l.MaxRows = MaxRowNumber - 1
	}
	if l.MaxRowBytes <= 0 {
		l.MaxRowBytes = d.MaxRowBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = d.MaxLineBytes
	}
	if l.MaxLineBytes < l.MaxRowBytes {
		l.MaxLineBytes = l.MaxRowBytes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxXLSXFileBytes <= 0 {
		l.MaxXLSXFileBytes = d.MaxXLSXFileBytes
	}
	if l.MaxXLSXUncompressed <= 0 {
		l.MaxXLSXUncompressed = d.MaxXLSXUncompressed
	}
	if l.MaxXLSXInMemory <= 0 {
		l.MaxXLSXInMemory = d.MaxXLSXInMemory
	}
	if l.XLSXSpillBytes <= 0 {
		l.XLSXSpillBytes = d.XLSXSpillBytes
	}
	if l.XLSXSpillBytes > l.MaxXLSXUncompressed {
		l.XLSXSpillBytes = l.MaxXLSXUncompressed
	}
	if l.MaxCompressionRatio <= 0 {
		l.MaxCompressionRatio = d.MaxCompressionRatio
	}
	if l.MaxSharedStrings <= 0 {
		l.MaxSharedStrings = d.MaxSharedStrings
	}
	if l.MaxZipEntries <= 0 {
		l.MaxZipEntries = d.MaxZipEntries
	}
	if l.MaxRowErrors < 0 {
		l.MaxRowErrors = 0
	}
	return l
}
