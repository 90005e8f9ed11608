package lists

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/avis-lv/gateway/internal/listfile"
)

// TempFilePrefix begins the names of the files an upload is spooled to on
// local disk (while it arrives, and an XLSX file while it is read). They
// are unlinked as soon as they are made, so that a crash leaves no copy of
// the personal codes in them behind.
const TempFilePrefix = "avis-upload-"

// staleTempFileAge is how old a temporary file must be for SweepTempFiles
// to remove it: a younger one may be in use by another gateway process on
// the same host (a release from before files were unlinked at once).
// Reading the largest XLSX file takes seconds.
const staleTempFileAge = time.Hour

// SweepTempFiles removes from dir ("" for $TMPDIR) the gateway's upload
// files that a crash of an earlier release left behind: they hold
// personal codes. It returns how many it removed.
func SweepTempFiles(dir string, now time.Time) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("sweep temporary files: %w", err)
	}
	removed := 0
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !(strings.HasPrefix(name, TempFilePrefix) || strings.HasPrefix(name, listfile.TempFilePrefix)) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if now.Sub(info.ModTime()) < staleTempFileAge {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("sweep temporary files: %w", err)
	}
	return removed, nil
}
