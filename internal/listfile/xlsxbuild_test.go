package listfile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
)

// The tests build XLSX packages by hand, because excelize's writer cannot
// produce what real Excel files and attacks contain: shared strings, cached
// formula values, 1904 dates, lying zip headers.

type xlsxPart struct {
	name  string
	write func(w io.Writer) error
}

func staticPart(name, body string) xlsxPart {
	return xlsxPart{name: name, write: func(w io.Writer) error { _, err := io.WriteString(w, body); return err }}
}

const (
	xlsxContentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`
	xlsxRootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`
	xlsxWorkbookRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
	sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
	sheetTail = `</sheetData></worksheet>`
)

func xlsxWorkbook(date1904 bool) string {
	pr := ""
	if date1904 {
		pr = `<workbookPr date1904="1"/>`
	}
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		pr + `<sheets><sheet name="Saraksts" sheetId="1" r:id="rId1"/></sheets></workbook>`
}

// sst renders a shared-string table.
func sst(strs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`, len(strs), len(strs))
	for _, s := range strs {
		fmt.Fprintf(&b, `<si><t xml:space="preserve">%s</t></si>`, xmlEscape(s))
	}
	b.WriteString(`</sst>`)
	return b.String()
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xmlEscapeTo(&b, s)
	return b.String()
}

func xmlEscapeTo(w io.Writer, s string) error { return xml.EscapeText(w, []byte(s)) }

// Cell helpers for hand-written sheet XML.
func sCell(ref string, idx int) string { return fmt.Sprintf(`<c r="%s" t="s"><v>%d</v></c>`, ref, idx) }
func nCell(ref, v string) string       { return fmt.Sprintf(`<c r="%s"><v>%s</v></c>`, ref, v) }
func iCell(ref, v string) string {
	return fmt.Sprintf(`<c r="%s" t="inlineStr"><is><t>%s</t></is></c>`, ref, xmlEscape(v))
}
func row(n int, cells ...string) string {
	return fmt.Sprintf(`<row r="%d">%s</row>`, n, strings.Join(cells, ""))
}

// buildXLSX writes a one-sheet package. sharedStrings may be "" for none.
func buildXLSX(t testing.TB, sheetData, sharedStrings string, date1904 bool) []byte {
	t.Helper()
	parts := []xlsxPart{
		staticPart("[Content_Types].xml", xlsxContentTypes),
		staticPart("_rels/.rels", xlsxRootRels),
		staticPart("xl/workbook.xml", xlsxWorkbook(date1904)),
		staticPart("xl/_rels/workbook.xml.rels", xlsxWorkbookRels),
		staticPart("xl/worksheets/sheet1.xml", sheetHead+sheetData+sheetTail),
	}
	if sharedStrings != "" {
		parts = append(parts, staticPart("xl/sharedStrings.xml", sharedStrings))
	}
	var buf bytes.Buffer
	if err := writeZip(&buf, parts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeZip(w io.Writer, parts []xlsxPart) error {
	zw := zip.NewWriter(w)
	for _, p := range parts {
		fw, err := zw.Create(p.name)
		if err != nil {
			return err
		}
		if err := p.write(fw); err != nil {
			return err
		}
	}
	return zw.Close()
}

// lyingZip stores name with a header that declares declared bytes while the
// deflate stream really inflates to real, as a hand-crafted zip bomb does.
func lyingZip(t testing.TB, base []xlsxPart, name string, real []byte, declared uint64) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(real); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range base {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.write(w); err != nil {
			t.Fatal(err)
		}
	}
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: name, Method: zip.Deflate,
		CRC32:              crc32.ChecksumIEEE(real[:declared]),
		CompressedSize64:   uint64(comp.Len()),
		UncompressedSize64: declared,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(comp.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
