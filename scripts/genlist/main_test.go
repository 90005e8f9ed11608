package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, out []byte)
	}{
		{
			name: "latvian csv",
			args: []string{"-rows", "50", "-bad", "0.2", "-seed", "3"},
			check: func(t *testing.T, out []byte) {
				if !bytes.HasPrefix(out, []byte("personas_kods;derīgs_no;derīgs_līdz\r\n")) || bytes.Count(out, []byte("\r\n")) != 51 {
					t.Errorf("unexpected output:\n%s", out)
				}
			},
		},
		{
			name: "english tab csv with BOM",
			args: []string{"-rows", "5", "-lang", "en", "-delim", "tab", "-bom"},
			check: func(t *testing.T, out []byte) {
				if !bytes.HasPrefix(out, []byte("\ufeffperson_code\tvalid_from\tvalid_to\r\n")) {
					t.Errorf("unexpected output:\n%q", out)
				}
			},
		},
		{
			name: "xlsx",
			args: []string{"-rows", "20", "-format", "xlsx"},
			check: func(t *testing.T, out []byte) {
				if !bytes.HasPrefix(out, []byte("PK\x03\x04")) {
					t.Error("not a zip package")
				}
			},
		},
		{name: "bad format", args: []string{"-format", "ods"}, wantErr: "-format"},
		{name: "bad share", args: []string{"-bad", "2"}, wantErr: "-bad"},
		{name: "bad delimiter", args: []string{"-delim", "|"}, wantErr: "-delim"},
		{name: "bad language", args: []string{"-lang", "ru"}, wantErr: "-lang"},
		{name: "too many rows for a sheet", args: []string{"-format", "xlsx", "-rows", "2000000"}, wantErr: "1048575"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+string(rune('a'+i)))
			var stderr bytes.Buffer
			err := run(append(tc.args, "-out", out), &bytes.Buffer{}, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, b)
			if !strings.Contains(stderr.String(), "rows") {
				t.Errorf("no summary on stderr: %q", stderr.String())
			}
		})
	}
}

func TestRunToStdout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-rows", "3", "-seed", "9"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := run([]string{"-rows", "3", "-seed", "9"}, &again, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if stdout.Len() == 0 || !bytes.Equal(stdout.Bytes(), again.Bytes()) {
		t.Errorf("output not deterministic or empty: %q vs %q", stdout.String(), again.String())
	}
}
