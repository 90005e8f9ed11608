// Package listfile reads grantors' person lists (personu saraksti) from CSV
// and XLSX files, one row at a time in bounded memory, and validates each row:
// the personal code, the validity dates and duplicates within the file.
//
// A reader reports three kinds of outcome from Next: a valid Row; a *RowError
// for a bad row, after which reading continues; and a fatal *FileError (or
// io.EOF at the end), after which every call returns the same error. Error
// texts exist in Latvian and English, and every value repeated in an error is
// neutralised against spreadsheet formula injection.
package listfile

import (
	"fmt"
)

// Reader streams the rows of one list file. It is not safe for concurrent
// use: call Progress between calls of Next.
type Reader interface {
	// Next returns the next valid row; a *RowError for a bad row (call Next
	// again for the following row); io.EOF at the end; or a fatal
	// *FileError, after which the file must be abandoned.
	Next() (Row, error)
	// Progress reports data rows read so far (valid or not, blank rows not
	// counted) and bytes of the input consumed.
	Progress() (rowsRead int, bytesRead int64)
	// Close releases temporary files. Readers also clean up by themselves at
	// io.EOF or a fatal error, but Close is always safe to call.
	Close() error
}

// formatBytes renders a limit for a message: 64 KiB, 256 MiB.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
