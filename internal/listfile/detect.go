package listfile

import (
	"bytes"
	"path"
	"strings"
)

// Format is the kind of a list file.
type Format string

const (
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
	FormatXML  Format = "xml"
)

// DetectBytes is how much of the file's start Detect needs.
const DetectBytes = 512

var (
	magicZip   = []byte("PK\x03\x04")
	magicEmpty = []byte("PK\x05\x06")
	magicOLE   = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
)

// Detect tells the format of a list file from its first bytes (give at least
// DetectBytes when the file is that long). The bytes decide: a browser's
// content type and the file name are unreliable (Windows sends
// application/vnd.ms-excel for .csv files), so they only sharpen the error
// for a file that is none of the three formats.
func Detect(head []byte, filename, contentType string) (Format, error) {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(filename, `\`, "/")))
	switch {
	case len(head) == 0:
		return "", &FileError{Code: CodeFileEmpty}
	case bytes.HasPrefix(head, magicZip) && bytes.Contains(head[:min(len(head), 128)], []byte("opendocument")):
		// An OpenDocument package names its type in a first, stored entry.
		return "", &FileError{Code: CodeFileFormat, Detail: "OpenDocument (.ods)"}
	case bytes.HasPrefix(head, magicZip), bytes.HasPrefix(head, magicEmpty):
		return FormatXLSX, nil
	case bytes.HasPrefix(head, magicOLE):
		// Old binary .xls and password-protected .xlsx share this container.
		return "", &FileError{Code: CodeFileFormat, Detail: "Excel 97-2003 (.xls) or password-protected workbook"}
	case bytes.HasPrefix(head, []byte("%PDF")):
		return "", &FileError{Code: CodeFileFormat, Detail: "PDF"}
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return "", &FileError{Code: CodeFileNotUTF8, Row: 1, Detail: "UTF-16"}
	}
	text := bytes.TrimPrefix(head, bomUTF8)
	if bytes.IndexByte(text, 0) >= 0 {
		return "", &FileError{Code: CodeFileFormat, Detail: describeBinary(ext, contentType)}
	}
	if t := bytes.TrimLeft(text, " \t\r\n"); len(t) > 0 && t[0] == '<' {
		return FormatXML, nil
	}
	if !looksLikeText(text) {
		return "", &FileError{Code: CodeFileFormat, Detail: describeBinary(ext, contentType)}
	}
	return FormatCSV, nil
}

// looksLikeText accepts UTF-8 and also legacy 8-bit text (Windows-1257): the
// CSV reader then reports file.not_utf8 with the exact row, which helps the
// clerk more than "unsupported format".
func looksLikeText(b []byte) bool {
	ctl := 0
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			ctl++
		}
	}
	return ctl*20 <= len(b)
}

func describeBinary(ext, contentType string) string {
	switch {
	case ext == ".xls" || strings.Contains(contentType, "ms-excel") && ext != ".csv":
		return "Excel 97-2003 (.xls)"
	case ext == ".ods" || strings.Contains(contentType, "opendocument"):
		return "OpenDocument"
	case ext != "":
		return strings.TrimPrefix(ext, ".")
	}
	return "binary"
}
