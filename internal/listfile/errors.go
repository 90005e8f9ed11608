package listfile

import (
	"fmt"
	"strings"
	"time"
)

// Stable file-level error codes: the file cannot be read and reading stops.
const (
	CodeFileEmpty          = "file.empty"
	CodeFileNoRows         = "file.no_rows"
	CodeFileHeader         = "file.header"
	CodeFileHeaderDup      = "file.header_duplicate"
	CodeFileNotUTF8        = "file.not_utf8"
	CodeFileTooLarge       = "file.too_large"
	CodeFileTooManyRows    = "file.too_many_rows"
	CodeFileTooManyErrors  = "file.too_many_errors"
	CodeFileZipBomb        = "file.zip_bomb"
	CodeFileFormat         = "file.format"
	CodeFileRead           = "file.read"
	CodeLineTooLong        = "line.too_long"
	CodeXLSXCorrupt        = "xlsx.corrupt"
	CodeXLSXTruncated      = "xlsx.truncated"
	CodeXLSXTooManyStrings = "xlsx.too_many_strings"
	CodeXLSXNoSheet        = "xlsx.no_sheet"
	CodeXLSXCellTooLong    = "xlsx.cell_too_long"
)

// FileError is fatal: the file as a whole cannot be read.
type FileError struct {
	Code string `json:"code"`
	// Row is the row where reading stopped, or 0 when it is not tied to a row.
	Row int `json:"row,omitempty"`
	// Detail adds a language-neutral fact to the message: the missing column
	// name, the limit that was exceeded, the offending part of a package.
	Detail string `json:"detail,omitempty"`
	// Err is the underlying cause, for logs and errors.Is; never shown to
	// the clerk.
	Err error `json:"-"`
}

func (e *FileError) Error() string {
	if e.Err != nil {
		return e.Message("en") + ": " + e.Err.Error()
	}
	return e.Message("en")
}

func (e *FileError) Unwrap() error { return e.Err }

func isLatvian(lang string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(lang)), "lv")
}

// Message is the clerk-facing text in Latvian ("lv") or English (anything
// else).
func (e FileError) Message(lang string) string {
	lv := isLatvian(lang)
	pick := func(l, en string) string {
		if lv {
			return l
		}
		return en
	}
	var msg string
	switch e.Code {
	case CodeFileEmpty:
		msg = pick("Fails ir tukšs.", "The file is empty.")
	case CodeFileNoRows:
		msg = pick("Failā ir galvenes rinda, bet nav nevienas datu rindas.",
			"The file has a header row but no data rows.")
	case CodeFileHeader:
		msg = pick(fmt.Sprintf("Galvenes rindā trūkst kolonnas %q. Vajadzīgās kolonnas: personas_kods;derīgs_no;derīgs_līdz (vai person_code,valid_from,valid_to).", e.Detail),
			fmt.Sprintf("The header row lacks the column %q. Required columns: person_code,valid_from,valid_to (or personas_kods;derīgs_no;derīgs_līdz).", e.Detail))
	case CodeFileHeaderDup:
		msg = pick(fmt.Sprintf("Kolonna %q galvenes rindā ir vairāk nekā vienu reizi.", e.Detail),
			fmt.Sprintf("The column %q appears more than once in the header row.", e.Detail))
	case CodeFileNotUTF8:
		msg = pick("Fails nav UTF-8 kodējumā. Excel saglabājiet kā \"CSV UTF-8 (atdalīts ar komatiem)\".",
			"The file is not UTF-8 text. In Excel save it as \"CSV UTF-8 (Comma delimited)\".")
		if e.Detail != "" {
			msg += " (" + e.Detail + ")"
		}
	case CodeFileTooLarge:
		msg = pick(fmt.Sprintf("Fails ir pārāk liels (ierobežojums %s).", e.Detail),
			fmt.Sprintf("The file is too large (limit %s).", e.Detail))
	case CodeFileTooManyRows:
		msg = pick(fmt.Sprintf("Failā ir pārāk daudz rindu (ierobežojums %s). Sadaliet sarakstu vairākos failos.", e.Detail),
			fmt.Sprintf("The file has too many rows (limit %s). Split the list into several files.", e.Detail))
	case CodeFileTooManyErrors:
		msg = pick(fmt.Sprintf("Lasīšana pārtraukta: vairāk nekā %s kļūdainu rindu. Pārbaudiet, vai augšupielādēts pareizais fails.", e.Detail),
			fmt.Sprintf("Reading stopped: more than %s bad rows. Check that this is the right file.", e.Detail))
	case CodeFileZipBomb:
		msg = pick(fmt.Sprintf("Excel fails atarhivējas neticami lielā apjomā (%s), tāpēc tas netiek apstrādāts.", e.Detail),
			fmt.Sprintf("The Excel file unpacks to an implausible size (%s), so it is refused.", e.Detail))
	case CodeFileFormat:
		msg = pick("Faila formāts nav atbalstīts. Augšupielādējiet CSV (UTF-8), XLSX vai parakstītu XML failu.",
			"The file format is not supported. Upload CSV (UTF-8), XLSX or a signed XML file.")
		if e.Detail != "" {
			msg += " (" + e.Detail + ")"
		}
	case CodeFileRead:
		msg = pick("Failu neizdevās nolasīt.", "The file could not be read.")
	case CodeLineTooLong:
		msg = pick(fmt.Sprintf("Rinda ir pārāk gara (vairāk nekā %s); iespējams, trūkst aizverošās pēdiņas vai tas nav saraksta fails.", e.Detail),
			fmt.Sprintf("The line is too long (over %s); perhaps a closing quote is missing or this is not a list file.", e.Detail))
	case CodeXLSXCorrupt:
		msg = pick("Excel fails ir bojāts vai nav XLSX formātā.", "The Excel file is damaged or not in XLSX format.")
	case CodeXLSXCellTooLong:
		msg = pick("Excel failā ir šūna ar vairāk teksta, nekā Excel atļauj (32 767 rakstzīmes); tas nav saraksta fails.",
			"A cell of the Excel file holds more text than Excel allows (32 767 characters); this is not a list file.")
	case CodeXLSXTruncated:
		msg = pick("Excel fails ir nepilnīgs (augšupielāde, iespējams, pārtrūka). Augšupielādējiet to vēlreiz.",
			"The Excel file is incomplete (the upload may have been cut off). Upload it again.")
	case CodeXLSXTooManyStrings:
		msg = pick(fmt.Sprintf("Excel failā ir pārāk daudz teksta vērtību (ierobežojums %s).", e.Detail),
			fmt.Sprintf("The Excel file holds too many text values (limit %s).", e.Detail))
	case CodeXLSXNoSheet:
		msg = pick("Excel failā nav nevienas darblapas.", "The Excel file has no worksheet.")
	default:
		msg = pick("Failu neizdevās apstrādāt ("+e.Code+").", "The file could not be processed ("+e.Code+").")
	}
	if e.Row > 0 {
		if lv {
			return fmt.Sprintf("%d. rinda: %s", e.Row, msg)
		}
		return fmt.Sprintf("Row %d: %s", e.Row, msg)
	}
	return msg
}

// Message is the clerk-facing text in Latvian ("lv") or English (anything
// else), naming the row, the column and the offending value.
func (e RowError) Message(lang string) string {
	lv := isLatvian(lang)
	pick := func(l, en string) string {
		if lv {
			return l
		}
		return en
	}
	v := e.Value
	var msg string
	switch e.Code {
	case CodePersonCodeRequired:
		msg = pick("personas kods nav norādīts.", "the personal code is missing.")
	case CodePersonCodeLength:
		msg = pick(fmt.Sprintf("personas kodam %q jābūt 11 cipariem (ar vai bez defises pēc sestā).", v),
			fmt.Sprintf("the personal code %q must have 11 digits (with or without a hyphen after the sixth).", v))
	case CodePersonCodeCharacters:
		msg = pick(fmt.Sprintf("personas kodā %q drīkst būt tikai cipari un viena defise pēc sestā cipara.", v),
			fmt.Sprintf("the personal code %q may contain only digits and one hyphen after the sixth digit.", v))
	case CodePersonCodeBirthDate:
		msg = pick(fmt.Sprintf("personas kodā %q ir neiespējams dzimšanas datums (tādas dienas nav, vai tā ir pēc šodienas).", v),
			fmt.Sprintf("the personal code %q holds an impossible birth date (no such day, or one after today).", v))
	case CodePersonCodeCentury:
		msg = pick(fmt.Sprintf("personas kodā %q ir nederīgs gadsimta cipars (septītajam ciparam jābūt 0, 1 vai 2).", v),
			fmt.Sprintf("the personal code %q has an invalid century digit (the seventh digit must be 0, 1 or 2).", v))
	case CodePersonCodeChecksum:
		msg = pick(fmt.Sprintf("personas koda %q kontrolcipars nav pareizs; pārbaudiet, vai kods nav kļūdaini ierakstīts.", v),
			fmt.Sprintf("the check digit of the personal code %q is wrong; check the code for a typo.", v))
	case CodeDateRequired:
		msg = pick("datums nav norādīts.", "the date is missing.")
	case CodeDateInvalid:
		msg = pick(fmt.Sprintf("%q nav derīgs datums; rakstiet GGGG-MM-DD vai DD.MM.GGGG.", v),
			fmt.Sprintf("%q is not a valid date; write YYYY-MM-DD or DD.MM.YYYY.", v))
	case CodeDateOutOfRange:
		msg = pick(fmt.Sprintf("datums %q ir ārpus pieļaujamā laika (%s–%s).", v, minDate.Format(time.DateOnly), maxDate.Format(time.DateOnly)),
			fmt.Sprintf("the date %q is outside the accepted range (%s to %s).", v, minDate.Format(time.DateOnly), maxDate.Format(time.DateOnly)))
	case CodeDateOrder:
		msg = pick(fmt.Sprintf("beigu datums %q ir agrāks par sākuma datumu.", v),
			fmt.Sprintf("the end date %q is before the start date.", v))
	case CodeRowDuplicate:
		msg = pick(fmt.Sprintf("personas kods %q jau ir %d. rindā.", v, e.FirstRow),
			fmt.Sprintf("the personal code %q already appears in row %d.", v, e.FirstRow))
	case CodeRowColumns:
		msg = pick(fmt.Sprintf("rindā ir %d lauki, bet galvenē %d; pārbaudiet atdalītājus un pēdiņas.", e.Fields, e.HeaderFields),
			fmt.Sprintf("the row has %d fields but the header has %d; check the separators and quotes.", e.Fields, e.HeaderFields))
	case CodeRowTooLong:
		msg = pick("rinda ir pārāk gara, lai būtu saraksta ieraksts.", "the row is too long to be a list entry.")
	case CodeRowQuotes:
		msg = pick("rindā ir nepareizi izvietotas pēdiņas.", "the row has misplaced quotation marks.")
	default:
		msg = pick("nederīga rinda ("+e.Code+").", "invalid row ("+e.Code+").")
	}
	switch {
	case lv && e.Column != "":
		return fmt.Sprintf("%d. rinda, kolonna %q: %s", e.Row, e.Column, msg)
	case lv:
		return fmt.Sprintf("%d. rinda: %s", e.Row, msg)
	case e.Column != "":
		return fmt.Sprintf("Row %d, column %q: %s", e.Row, e.Column, msg)
	default:
		return fmt.Sprintf("Row %d: %s", e.Row, msg)
	}
}
