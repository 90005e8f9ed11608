package lists

import (
	"fmt"
	"strings"

	"github.com/avis-lv/gateway/internal/listfile"
)

// Stable failure codes of uploads, beside the file-level codes of package
// listfile (file.*, line.*, xlsx.*). Clients match on them; never rename one.
const (
	CodeInvalidRows  = "upload.invalid_rows"
	CodeNoValidRows  = "upload.no_valid_rows"
	CodeInterrupted  = "upload.interrupted"
	CodePushedSince  = "upload.list_changed_since"
	CodeXMLMalformed = "xml.malformed"
	CodeXMLTooLarge  = "xml.too_large"
	CodeXMLNotSigned = "xml.not_signed"
	CodeXMLWrapped   = "xml.signature_wrapped"
	CodeXMLAlgorithm = "xml.signature_algorithm"
	CodeXMLUntrusted = "xml.certificate_untrusted"
	CodeXMLExpired   = "xml.certificate_expired"
	CodeXMLTampered  = "xml.signature_invalid"
	CodeXMLNoCert    = "xml.no_certificate"
	CodeXMLFormat    = "xml.format"
	CodeXMLListID    = "xml.list_id"
)

// messages holds [English, Latvian] texts; %s is the failure's detail.
var messages = map[string][2]string{
	CodeInvalidRows: {
		"Invalid rows in the file: %s. The list was not changed (policy all-or-nothing). Correct them using the error report and upload the file again, or upload with the policy skip-invalid.",
		"Nederīgu rindu skaits failā: %s. Saraksts netika mainīts (politika all-or-nothing). Izlabojiet tās pēc kļūdu pārskata un augšupielādējiet failu vēlreiz vai izmantojiet politiku skip-invalid.",
	},
	CodeNoValidRows: {
		"The file has no valid row, so the list was not changed.",
		"Failā nav nevienas derīgas rindas, tāpēc saraksts netika mainīts.",
	},
	CodePushedSince: {
		"The list was changed through the API after this file was uploaded, so replacing it with the file would undo that change; the list was not changed. If the file should replace the list as it is now, upload it again.",
		"Saraksts tika mainīts caur API pēc šī faila augšupielādes, tāpēc, aizstājot to ar failu, šīs izmaiņas tiktu atsauktas; saraksts netika mainīts. Ja failam jāaizstāj saraksts tā pašreizējā stāvoklī, augšupielādējiet to vēlreiz.",
	},
	CodeInterrupted: {
		"Processing was interrupted %s times; the list was not changed. Upload the file again; if this repeats, contact the gateway operator.",
		"Apstrāde tika pārtraukta %s reizes; saraksts netika mainīts. Augšupielādējiet failu vēlreiz; ja tas atkārtojas, sazinieties ar vārtejas operatoru.",
	},
	CodeXMLMalformed: {
		"The XML file is not well-formed or uses forbidden constructs (DTD, entities, a non-UTF-8 encoding): %s.",
		"XML fails nav pareizi veidots vai satur aizliegtas konstrukcijas (DTD, entītijas, kodējums, kas nav UTF-8): %s.",
	},
	CodeXMLTooLarge: {
		"The signed XML file is too large (limit %s); upload large lists as CSV.",
		"Parakstītais XML fails ir pārāk liels (ierobežojums %s); lielus sarakstus augšupielādējiet CSV formātā.",
	},
	CodeXMLNotSigned: {
		"The XML file carries no XML signature; only signed XML lists are accepted.",
		"XML failam nav XML paraksta; tiek pieņemti tikai parakstīti XML saraksti.",
	},
	CodeXMLWrapped: {
		"The XML signature must be exactly one enveloped signature over the whole PersonList element; this file is shaped differently and was refused.",
		"XML parakstam jābūt tieši vienam ietvertam parakstam par visu PersonList elementu; šis fails ir veidots citādi un tika noraidīts.",
	},
	CodeXMLAlgorithm: {
		"The XML signature uses an algorithm that is not allowed (use RSA or ECDSA with SHA-256 or stronger and exclusive canonicalisation): %s.",
		"XML parakstā izmantots neatļauts algoritms (izmantojiet RSA vai ECDSA ar SHA-256 vai stiprāku un ekskluzīvo kanonizāciju): %s.",
	},
	CodeXMLUntrusted: {
		"The XML file was signed with a certificate your organisation has not registered: %s.",
		"XML fails parakstīts ar sertifikātu, ko jūsu organizācija nav reģistrējusi: %s.",
	},
	CodeXMLExpired: {
		"The XML file was signed with a registered certificate that is outside its validity period: %s.",
		"XML fails parakstīts ar reģistrētu sertifikātu, kura derīguma termiņš nav spēkā: %s.",
	},
	CodeXMLTampered: {
		"The XML signature does not match the content: the file was changed after signing or signed with another key.",
		"XML paraksts neatbilst saturam: fails mainīts pēc parakstīšanas vai parakstīts ar citu atslēgu.",
	},
	CodeXMLNoCert: {
		"Your organisation has registered no certificate for signed XML lists; ask the gateway operator to register one.",
		"Jūsu organizācija nav reģistrējusi sertifikātu parakstītiem XML sarakstiem; lūdziet vārtejas operatoram to reģistrēt.",
	},
	CodeXMLFormat: {
		"The XML file is not a person list in the format urn:avis:person-list:1: %s.",
		"XML fails nav personu saraksts formātā urn:avis:person-list:1: %s.",
	},
	CodeXMLListID: {
		"The signed file is for the list %s, not for the list it was uploaded to.",
		"Parakstītais fails ir sarakstam %s, nevis sarakstam, kuram tas augšupielādēts.",
	},
}

// FailureMessage renders why an upload was rejected or failed, in Latvian
// ("lv") or English.
func FailureMessage(f Failure, lang string) string {
	if m, ok := messages[f.Code]; ok {
		text := m[0]
		if lang == "lv" {
			text = m[1]
		}
		if strings.Contains(text, "%s") {
			text = fmt.Sprintf(text, f.Detail)
		}
		if f.Row > 0 {
			if lang == "lv" {
				return fmt.Sprintf("%d. rinda: %s", f.Row, text)
			}
			return fmt.Sprintf("Row %d: %s", f.Row, text)
		}
		return text
	}
	fe := &listfile.FileError{Code: f.Code, Row: f.Row, Detail: f.Detail}
	return fe.Message(lang)
}

// IssueMessage renders one line of an upload's error report.
func IssueMessage(is Issue, lang string) string {
	if is.Fatal {
		return FailureMessage(Failure{Code: is.Code, Row: is.Row, Detail: is.Value}, lang)
	}
	re := &listfile.RowError{
		Row: is.Row, Column: is.Column, Code: is.Code, Value: is.Value,
		FirstRow: is.FirstRow, Fields: is.Fields, HeaderFields: is.HeaderFields,
	}
	return re.Message(lang)
}
