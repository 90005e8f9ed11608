package listfile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Markup that Excel, LibreOffice and other writers produce, read by the
// streaming parser.
func TestXLSXMarkup(t *testing.T) {
	hdr := row(1, iCell("A1", "person_code"), iCell("B1", "valid_from"), iCell("C1", "valid_to"))
	tests := []struct {
		name  string
		data  string
		sst   string
		want  []outcome
		fatal string
	}{
		{
			name: "rich text and phonetic guide in shared strings",
			data: hdr + row(2, sCell("A2", 0), sCell("B2", 1)),
			sst: `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">` +
				`<si><r><rPr><b/></rPr><t>010190</t></r><r><t>-10001</t></r><rPh sb="0" eb="1"><t>IGNORED</t></rPh></si>` +
				`<si><t xml:space="preserve"> 2025-01-01 </t></si></sst>`,
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "namespace prefixes (strict OOXML writers)",
			data: `<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>person_code</x:t></x:is></x:c><x:c r="B1" t="inlineStr"><x:is><x:t>valid_from</x:t></x:is></x:c></x:row>` +
				`<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>010190-10001</x:t></x:is></x:c><x:c r="B2"><x:v>45658</x:v></x:c></x:row>`,
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name: "rows and cells without references",
			data: `<row><c t="inlineStr"><is><t>person_code</t></is></c><c t="inlineStr"><is><t>valid_from</t></is></c></row>` +
				`<row><c><v>1019010001</v></c><c><v>45658</v></c></row>` +
				`<row/>` +
				`<row><c t="inlineStr"><is><t>311285-12340</t></is></c><c r="B5"><v>45658</v></c></row>`,
			want: []outcome{ok(2, "01019010001", "2025-01-01", ""), ok(4, "31128512340", "2025-01-01", "")},
		},
		{
			name: "cell types: str formula result, boolean, error, ISO date",
			data: hdr +
				row(2, `<c r="A2" t="str"><f>A9</f><v>010190-10001</v></c>`, `<c r="B2" t="d"><v>2025-01-01T00:00:00</v></c>`) +
				row(3, `<c r="A3" t="b"><v>1</v></c>`, nCell("B3", "45658")) +
				row(4, `<c r="A4" t="e"><v>#N/A</v></c>`, nCell("B4", "45658")),
			want: []outcome{
				ok(2, "01019010001", "2025-01-01", ""),
				bad(3, CodePersonCodeLength, "person_code", "1"),
				bad(4, CodePersonCodeCharacters, "person_code", "#N/A"),
			},
		},
		{
			name: "columns far right are ignored, extra elements skipped",
			data: hdr + `<row r="2"><c r="A2" t="inlineStr"><is><t>010190-10001</t></is><extLst><ext/></extLst></c><c r="B2"><v>45658</v></c><c r="XFD2"><v>1</v></c></row>`,
			want: []outcome{ok(2, "01019010001", "2025-01-01", "")},
		},
		{
			name:  "rows out of order",
			data:  hdr + row(3, iCell("A3", "010190-10001"), nCell("B3", "45658")) + row(2, iCell("A2", "311285-12340"), nCell("B2", "45658")),
			want:  []outcome{ok(3, "01019010001", "2025-01-01", "")},
			fatal: CodeXLSXCorrupt,
		},
		{
			name:  "bad cell reference",
			data:  hdr + `<row r="2"><c r="2A"><v>1</v></c></row>`,
			fatal: CodeXLSXCorrupt,
		},
		{
			// (Cell text is refused sooner, at Excel's own cell limit.)
			name:  "a tag beyond the token limit",
			data:  hdr + `<row r="2" x="` + strings.Repeat("x", xmlTokenLimit+10) + `">` + nCell("B2", "45658") + `</row>`,
			fatal: CodeLineTooLong,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := xlsxLimits(t)
			r, err := openXLSX(t, buildXLSX(t, tc.data, tc.sst, false), lim)
			var fatal *FileError
			var got []outcome
			if err == nil {
				got, fatal = drain(t, r)
			} else if !asFileError(err, &fatal) {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if fileErrCode(fatal) != tc.fatal {
				t.Errorf("fatal = %v, want %q", fatal, tc.fatal)
			}
			assertNoTempFiles(t, lim.TempDir)
		})
	}
}

// The first sheet is the first in the workbook's order, wherever its part is.
func TestXLSXFirstSheetByWorkbookOrder(t *testing.T) {
	wb := `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>` +
		`<sheet name="Saraksts" sheetId="2" r:id="rId7"/><sheet name="Cits" sheetId="1" r:id="rId1"/></sheets></workbook>`
	rels := `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/Sheet2.xml"/>` +
		`<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.invalid" TargetMode="External"/></Relationships>`
	first := sheetHead + row(1, iCell("A1", "person_code"), iCell("B1", "valid_from")) + row(2, iCell("A2", "010190-10001"), nCell("B2", "45658")) + sheetTail
	other := sheetHead + row(1, iCell("A1", "nothing here")) + sheetTail
	var buf bytes.Buffer
	err := writeZip(&buf, []xlsxPart{
		staticPart("_rels/.rels", xlsxRootRels),
		staticPart("xl/workbook.xml", wb),
		staticPart("xl/_rels/workbook.xml.rels", rels),
		staticPart("xl/worksheets/sheet1.xml", other),
		staticPart(`xl\worksheets\sheet2.xml`, first),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := openXLSX(t, buf.Bytes(), xlsxLimits(t))
	if err != nil {
		t.Fatal(err)
	}
	got, fatal := drain(t, r)
	if diff := cmp.Diff([]outcome{ok(2, "01019010001", "2025-01-01", "")}, got); diff != "" || fatal != nil {
		t.Errorf("fatal %v; (-want +got):\n%s", fatal, diff)
	}

	// A chart sheet first: there is no worksheet to read.
	var chart bytes.Buffer
	err = writeZip(&chart, []xlsxPart{
		staticPart("xl/workbook.xml", xlsxWorkbook(false)),
		staticPart("xl/_rels/workbook.xml.rels", xlsxWorkbookRels),
		staticPart("xl/worksheets/sheet1.xml", `<chartsheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><drawing/></chartsheet>`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openXLSX(t, chart.Bytes(), xlsxLimits(t)); fileErrCode(err) != CodeXLSXNoSheet {
		t.Errorf("chart sheet: %v, want %s", err, CodeXLSXNoSheet)
	}
}

// A large shared-string table spilled to disk reads exactly like one kept
// in memory.
func TestXLSXSharedStringsSpill(t *testing.T) {
	var buf bytes.Buffer
	if err := writeSSTWorkbook(&buf, 20_000, 3); err != nil {
		t.Fatal(err)
	}
	read := func(spill int64) []outcome {
		lim := xlsxLimits(t)
		lim.XLSXSpillBytes = spill
		r, err := openXLSX(t, buf.Bytes(), lim)
		if err != nil {
			t.Fatal(err)
		}
		got, fatal := drain(t, r)
		if fatal != nil {
			t.Fatal(fatal)
		}
		assertNoTempFiles(t, lim.TempDir)
		return got
	}
	inMemory := read(64 << 20)
	if len(inMemory) != 20_000 {
		t.Fatalf("%d outcomes", len(inMemory))
	}
	if diff := cmp.Diff(inMemory, read(1000)); diff != "" {
		t.Errorf("spilled table reads differently:\n%s", diff)
	}
}

// Damage that only the checksum reveals is found when the sheet ends, so
// the caller discards what it read.
func TestXLSXChecksumAtEnd(t *testing.T) {
	sheet := []byte(sheetHead + row(1, iCell("A1", "person_code"), iCell("B1", "valid_from")) +
		row(2, iCell("A2", "010190-10001"), nCell("B2", "45658")) + sheetTail)
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.DefaultCompression)
	fw.Write(sheet)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range []xlsxPart{
		staticPart("xl/workbook.xml", xlsxWorkbook(false)),
		staticPart("xl/_rels/workbook.xml.rels", xlsxWorkbookRels),
	} {
		w, _ := zw.Create(p.name)
		p.write(w)
	}
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate,
		CRC32:            crc32.ChecksumIEEE(sheet) ^ 1,
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(len(sheet)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()

	r, err := openXLSX(t, buf.Bytes(), xlsxLimits(t))
	if err != nil {
		t.Fatal(err)
	}
	got, fatal := drain(t, r)
	if len(got) != 1 || fileErrCode(fatal) != CodeXLSXCorrupt {
		t.Errorf("got %v, fatal %v; want the row, then xlsx.corrupt", got, fatal)
	}
}

// A sheet whose XML stops mid-row inside an intact zip is truncated.
func TestXLSXTruncatedXML(t *testing.T) {
	data := row(1, iCell("A1", "person_code"), iCell("B1", "valid_from")) + row(2, iCell("A2", "010190-10001"), nCell("B2", "45658"))
	var buf bytes.Buffer
	err := writeZip(&buf, []xlsxPart{
		staticPart("xl/workbook.xml", xlsxWorkbook(false)),
		staticPart("xl/_rels/workbook.xml.rels", xlsxWorkbookRels),
		staticPart("xl/worksheets/sheet1.xml", sheetHead+data+`<row r="3"><c r="A3"><v>10`),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := openXLSX(t, buf.Bytes(), xlsxLimits(t))
	if err != nil {
		t.Fatal(err)
	}
	got, fatal := drain(t, r)
	if len(got) != 1 || fileErrCode(fatal) != CodeXLSXTruncated {
		t.Errorf("got %v, fatal %v; want one row, then xlsx.truncated", got, fatal)
	}
}

func TestColumnIndex(t *testing.T) {
	for ref, want := range map[string]int{"A1": 0, "b7": 1, "Z9": 25, "AA1": 26, "AB12": 27, "XFD1048576": 16383} {
		if got, ok := columnIndex(ref); !ok || got != want {
			t.Errorf("columnIndex(%q) = %d, %v; want %d", ref, got, ok, want)
		}
	}
	for _, ref := range []string{"", "1", "A", "A1B", "ZZZZ1", "$A$1"} {
		if _, ok := columnIndex(ref); ok {
			t.Errorf("columnIndex(%q) accepted", ref)
		}
	}
}

// A cell whose text is split over many pieces, each within the XML token
// limit, is refused once it passes Excel's own cell limit, in the sheet
// (inline strings) and in the shared strings, instead of growing in memory.
func TestXLSXCellBeyondExcelsLimit(t *testing.T) {
	piece := "<t>" + strings.Repeat("x", 60_000) + "</t>"
	long := "<is>" + strings.Repeat(piece, 5) + "</is>"
	inline := buildXLSX(t, row(1, `<c r="A1" t="inlineStr">`+long+`</c>`, iCell("B1", "valid_from")), "", false)
	if _, err := openXLSX(t, inline, xlsxLimits(t)); fileErrCode(err) != CodeXLSXCellTooLong {
		t.Errorf("inline string: %v, want %s", err, CodeXLSXCellTooLong)
	}
	shared := buildXLSX(t, row(1, sCell("A1", 0), iCell("B1", "valid_from")),
		`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si>`+strings.Repeat(piece, 5)+`</si></sst>`, false)
	if _, err := openXLSX(t, shared, xlsxLimits(t)); fileErrCode(err) != CodeXLSXCellTooLong {
		t.Errorf("shared string: %v, want %s", err, CodeXLSXCellTooLong)
	}
}
