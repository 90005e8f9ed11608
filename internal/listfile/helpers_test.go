package listfile

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

// outcome is one result of Reader.Next in a comparable form.
type outcome struct {
	Line     int
	Err      string // "" for a valid row, else the RowError code
	Code     string // personal code (valid row) or the RowError column
	From, To string // dates of a valid row, or the RowError value in From
	FirstRow int
}

func ok(line int, code, from, to string) outcome {
	return outcome{Line: line, Code: code, From: from, To: to}
}

func bad(line int, errCode, column, value string) outcome {
	return outcome{Line: line, Err: errCode, Code: column, From: value}
}

func dup(line int, column, value string, first int) outcome {
	return outcome{Line: line, Err: CodeRowDuplicate, Code: column, From: value, FirstRow: first}
}

func (o outcome) String() string {
	if o.Err == "" {
		return fmt.Sprintf("row %d ok %s %s..%s", o.Line, o.Code, o.From, o.To)
	}
	return fmt.Sprintf("row %d %s col=%q val=%q first=%d", o.Line, o.Err, o.Code, o.From, o.FirstRow)
}

// drain reads r to the end and returns every outcome and the final error
// (nil for io.EOF). It checks the Reader contract on the way: rows come in
// increasing order, and after a fatal error Next repeats it.
func drain(t testing.TB, r Reader) ([]outcome, *FileError) {
	t.Helper()
	var out []outcome
	last := 0
	for i := 0; ; i++ {
		if i > 10_000_000 {
			t.Fatal("reader does not stop")
		}
		row, err := r.Next()
		var re *RowError
		var fe *FileError
		switch {
		case err == nil:
			o := ok(row.Line, string(row.PersonCode), row.ValidFrom.Format(time.DateOnly), "")
			if row.ValidTo != nil {
				o.To = row.ValidTo.Format(time.DateOnly)
			}
			if row.Line <= last {
				t.Errorf("row %d after row %d", row.Line, last)
			}
			last = row.Line
			out = append(out, o)
		case errors.As(err, &re):
			if re.Row <= last {
				t.Errorf("error row %d after row %d", re.Row, last)
			}
			last = re.Row
			out = append(out, outcome{Line: re.Row, Err: re.Code, Code: re.Column, From: re.Value, FirstRow: re.FirstRow})
		case errors.Is(err, io.EOF):
			if _, err2 := r.Next(); !errors.Is(err2, io.EOF) {
				t.Errorf("Next after EOF = %v", err2)
			}
			return out, nil
		case errors.As(err, &fe):
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("Next after fatal %v = %v", err, err2)
			}
			return out, fe
		default:
			t.Fatalf("Next returned %T %v", err, err)
		}
	}
}

func fileErrCode(err error) string {
	var fe *FileError
	if errors.As(err, &fe) {
		if fe == nil {
			return ""
		}
		return fe.Code
	}
	if err != nil {
		return fmt.Sprintf("not a FileError: %v", err)
	}
	return ""
}
