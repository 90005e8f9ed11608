package listfile

import (
	"testing"
)

func TestDetect(t *testing.T) {
	xlsx := readTestdata(t, "list.xlsx")
	tests := []struct {
		name        string
		head        []byte
		filename    string
		contentType string
		want        Format
		wantErr     string
	}{
		{"xlsx by magic", xlsx[:DetectBytes], "saraksts.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", FormatXLSX, ""},
		{"xlsx misnamed as csv", xlsx[:DetectBytes], "saraksts.csv", "text/csv", FormatXLSX, ""},
		{"csv with BOM", []byte("\ufeffpersonas_kods;derīgs_no\r\n"), "a.csv", "application/vnd.ms-excel", FormatCSV, ""},
		{"csv without name", []byte("person_code,valid_from\n"), "", "", FormatCSV, ""},
		{"windows-1257 csv is still csv", []byte("personas_kods;der\xeegs_no\r\n"), "a.csv", "text/csv", FormatCSV, ""},
		{"xml", []byte("<?xml version=\"1.0\"?><PersonuSaraksts/>"), "a.xml", "application/xml", FormatXML, ""},
		{"xml with BOM and blank", []byte("\ufeff\r\n  <Saraksts>"), "", "", FormatXML, ""},
		{"xml named csv", []byte("<?xml version=\"1.0\"?>"), "a.csv", "text/csv", FormatXML, ""},
		{"old xls", append(magicOLE, 0, 0, 0), "a.xls", "application/vnd.ms-excel", "", CodeFileFormat},
		{"pdf", []byte("%PDF-1.7\n"), "a.pdf", "application/pdf", "", CodeFileFormat},
		{"ods", []byte("PK\x03\x04\x14\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00mimetypeapplication/vnd.oasis.opendocument.spreadsheet"), "a.ods", "", "", CodeFileFormat},
		{"utf-16", []byte("\xff\xfep\x00e\x00"), "a.csv", "text/csv", "", CodeFileNotUTF8},
		{"binary", []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0}, "a.bin", "", "", CodeFileFormat},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "a.png", "image/png", "", CodeFileFormat},
		{"empty", nil, "a.csv", "text/csv", "", CodeFileEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect(tc.head, tc.filename, tc.contentType)
			if got != tc.want || fileErrCode(err) != tc.wantErr {
				t.Errorf("Detect = %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
	if _, err := Detect(append(magicOLE, 0), "x.xls", ""); err == nil || (err.(*FileError)).Detail == "" {
		t.Errorf("xls error should say what the file is: %v", err)
	}
}
