package problem

import "strings"

// messages holds the Latvian and English text of each field-error code. The
// codes are stable and documented; the text may improve.
var messages = map[string][2]string{
	// Schema violations found by the OpenAPI validator, by the schema keyword.
	"schema.required":             {"is required", "ir obligāts"},
	"schema.type":                 {"has the wrong type", "ir nepareiza tipa"},
	"schema.enum":                 {"is not one of the allowed values", "nav neviena no atļautajām vērtībām"},
	"schema.pattern":              {"does not have the required form", "neatbilst prasītajam formātam"},
	"schema.format":               {"is not in the required format", "nav prasītajā formātā"},
	"schema.minimum":              {"is too small", "ir pārāk mazs"},
	"schema.maximum":              {"is too large", "ir pārāk liels"},
	"schema.minLength":            {"is too short", "ir pārāk īss"},
	"schema.maxLength":            {"is too long", "ir pārāk garš"},
	"schema.minItems":             {"has too few items", "satur pārāk maz elementu"},
	"schema.maxItems":             {"has too many items", "satur pārāk daudz elementu"},
	"schema.uniqueItems":          {"has duplicate items", "satur atkārtotus elementus"},
	"schema.additionalProperties": {"is not a known field", "nav zināms lauks"},
	"schema.invalid":              {"is not valid", "nav derīgs"},
	"body.malformed":              {"the body is not valid JSON", "saturs nav derīgs JSON"},
	"body.required":               {"a body is required", "saturs ir obligāts"},
	"parameter.invalid":           {"is not valid", "nav derīgs"},
	"parameter.required":          {"is required", "ir obligāts"},
	"cursor.invalid":              {"is not a cursor this gateway issued", "nav šīs vārtejas izsniegts kursors"},
	"dates.range":                 {"the dates span too long a period", "datumu periods ir par garu"},

	// Business rules of benefit instructions.
	"dates.order":               {"the end date is before the start date", "beigu datums ir pirms sākuma datuma"},
	"means.eid_card_registered": {"eID cards are resolved through PMLP's register and cannot be registered", "eID kartes nosaka PMLP reģistrs; tās nevar reģistrēt"},
	"discount.percent_missing":  {"a percent discount needs percentBasisPoints", "procentu atlaidei vajag percentBasisPoints"},
	"discount.amount_missing":   {"a fixed discount needs amountCents", "fiksētai atlaidei vajag amountCents"},
	"discount.extra_field":      {"does not belong to this discount type", "neattiecas uz šo atlaides veidu"},
	"recipients.exactly_one":    {"give exactly one of registryGroup and personListId", "norādiet tieši vienu no registryGroup un personListId"},
	"age.order":                 {"maxAge is below minAge", "maxAge ir mazāks par minAge"},
	"ekk.unknown":               {"is not an expenditure code of the 6000 group", "nav 6000. grupas izdevumu kods"},
	"ekk.repealed":              {"this EKK code has been repealed", "šis EKK kods ir svītrots"},
	"ekk.not_leaf":              {"use the most detailed EKK code, not a group heading", "norādiet detalizētāko EKK kodu, nevis grupas kodu"},
	"ekk.cash_benefit":          {"AVIS does not cover benefits paid in money", "AVIS neaptver naudā izmaksātus pabalstus"},
	"ekk.employer_benefit":      {"AVIS does not cover benefits paid by an employer", "AVIS neaptver darba devēja pabalstus"},
	"category.excluded":         {"AVIS does not cover this kind of benefit", "AVIS neaptver šāda veida atvieglojumus"},
	"goods.wildcard_alone":      {"'*' must be the only goods code", "'*' jābūt vienīgajam preču kodam"},

	// Eligibility checks, identification means and transactions.
	"eligibility.at_out_of_range":          {"the sale time is too far in the past or the future", "pārdošanas laiks ir pārāk tālu pagātnē vai nākotnē"},
	"eligibility.line_id_duplicate":        {"each receipt line needs its own lineId", "katrai čeka rindai vajag savu lineId"},
	"eligibility.person_exactly_one":       {"give exactly one of personCode and means", "norādiet tieši vienu no personCode un means"},
	"decision.unknown":                     {"no eligibility decision with this id was given to you", "jums nav izsniegts atbilstības lēmums ar šo identifikatoru"},
	"decision.expired":                     {"the eligibility decision has expired; check eligibility again", "atbilstības lēmuma derīgums ir beidzies; pārbaudiet atbilstību vēlreiz"},
	"decision.used":                        {"the eligibility decision was already used by another transaction", "atbilstības lēmums jau izmantots citā darījumā"},
	"benefit.not_in_decision":              {"the eligibility decision does not include this benefit", "atbilstības lēmumā šī atvieglojuma nav"},
	"benefit.duplicate":                    {"each benefit may appear once", "katrs atvieglojums drīkst būt tikai vienreiz"},
	"benefit.exclusive_combined":           {"this benefit is exclusive and cannot be applied together with others", "šis atvieglojums nav apvienojams ar citiem"},
	"discount.above_decision":              {"the discount is larger than the eligibility decision allows", "atlaide ir lielāka, nekā atļauj atbilstības lēmums"},
	"discount.above_limit":                 {"the discount exceeds what is left of the person's limit for the period", "atlaide pārsniedz personas perioda limita atlikumu"},
	"discount.above_total":                 {"the discounts exceed the total of the sale", "atlaides pārsniedz pirkuma kopsummu"},
	"discount.above_sale":                  {"the discounts together exceed the receipt lines of the eligibility check", "atlaides kopā pārsniedz atbilstības pārbaudes čeka rindu summu"},
	"transaction.total_required":           {"the eligibility check had no receipt lines, so the sale's totalCents is needed to bound the discounts", "atbilstības pārbaudē nebija čeka rindu, tāpēc atlaižu ierobežošanai vajag pirkuma totalCents"},
	"transaction.occurred_at_out_of_range": {"the sale time does not fit the eligibility decision", "pārdošanas laiks neatbilst atbilstības lēmumam"},
	"transaction.already_reversed":         {"the transaction is already reversed", "darījums jau ir stornēts"},
	"text.invalid_character":               {"contains a character a signed XML receipt cannot hold (a control character other than tab and line breaks, U+FFFE or U+FFFF)", "satur rakstzīmi, ko parakstīta XML kvīts nevar saturēt (vadības rakstzīmi, izņemot tabulāciju un rindu pārnesumus, U+FFFE vai U+FFFF)"},
	"idempotency.key_reused":               {"this key was used before with a different request; use a new key for a new request", "šī atslēga jau izmantota citam pieprasījumam; jaunam pieprasījumam izmantojiet jaunu atslēgu"},

	// Person lists: pushed members and uploaded files.
	"person_code.required":         {"a personal code is required", "personas kods ir obligāts"},
	"person_code.length":           {"a personal code has 11 digits, optionally with a hyphen after the sixth", "personas kodā ir 11 cipari, pēc sestā var būt defise"},
	"person_code.characters":       {"a personal code may contain only digits and one hyphen after the sixth digit", "personas kodā drīkst būt tikai cipari un viena defise pēc sestā cipara"},
	"person_code.birth_date":       {"the personal code holds an impossible birth date (no such day, or one after today)", "personas kodā ir neiespējams dzimšanas datums (tādas dienas nav, vai tā ir pēc šodienas)"},
	"person_code.century":          {"the personal code has an invalid century digit", "personas kodā ir nederīgs gadsimta cipars"},
	"person_code.invalid_checksum": {"the check digit of the personal code is wrong", "personas koda kontrolcipars nav pareizs"},
	"date.out_of_range":            {"the date is outside the accepted range (1990-01-01 to 2199-12-31)", "datums ir ārpus pieļaujamā laika (1990-01-01–2199-12-31)"},
	"date.order":                   {"the end date is before the start date", "beigu datums ir pirms sākuma datuma"},
	"members.duplicate":            {"the same person appears twice", "tā pati persona norādīta divreiz"},
	"list.not_owner":               {"this person list belongs to another grantor; a benefit can be given only to your own lists", "šis personu saraksts pieder citam atvieglojuma devējam; atvieglojumu var piešķirt tikai saviem sarakstiem"},
	"upload.file_repeated":         {"send exactly one file", "nosūtiet tieši vienu failu"},
	"upload.too_many_parts":        {"the form has too many parts", "formā ir pārāk daudz daļu"},
	"upload.fields_too_large":      {"the form's fields besides the file are too large", "formas lauki, izņemot failu, ir pārāk lieli"},
	"file.empty":                   {"the file is empty", "fails ir tukšs"},
}

// Codes lists the field-error codes of the catalogue, for documentation
// checks.
func Codes() []string {
	out := make([]string, 0, len(messages))
	for code := range messages {
		out = append(out, code)
	}
	return out
}

// Message returns the text of code in lang. detail is an English specific
// (a minimum, a time window, the codes that would do) and detailLV the same
// in Latvian; either may be empty.
//
// A Latvian message never carries English: a detail with no Latvian form is
// left out, because a sentence half in one language and half in another
// reads as a defect, and the catalogue text with the field's pointer still
// says what to fix. An English detail that says again what the catalogue
// text says is left out too.
func Message(code, lang, detail, detailLV string) string {
	m, ok := messages[code]
	if !ok || m[0] == "" {
		if lang == "lv" && detailLV != "" {
			return detailLV
		}
		return detail
	}
	if lang == "lv" {
		if detailLV != "" && detailLV != m[1] {
			return m[1] + " (" + detailLV + ")"
		}
		return m[1]
	}
	if detail != "" && !Repeats(m[0], detail) {
		return m[0] + ": " + detail
	}
	return m[0]
}

// Repeats tells whether detail only says again what text says: the same
// words, or a part of them. Such a detail would make a message read "X: X".
// A detail that says more is kept, even if it repeats text on the way.
func Repeats(text, detail string) bool {
	return strings.Contains(normalise(text), normalise(detail))
}

func normalise(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "the ")
	return strings.TrimSuffix(s, ".")
}
