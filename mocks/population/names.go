package population

// Common Latvian given names and surnames. Surnames are gendered in
// Latvian; each entry holds the masculine and the feminine form.
var (
	femaleNames = [...]string{
		"Anna", "Marija", "Elizabete", "Sofija", "Emīlija", "Alise", "Laura", "Kristīne", "Inese", "Ilze",
		"Līga", "Ieva", "Dace", "Sandra", "Anita", "Inga", "Zane", "Agnese", "Evija", "Baiba",
		"Gunta", "Aija", "Vija", "Rasma", "Valentīna", "Ludmila", "Olga", "Jeļena", "Tatjana", "Marta",
	}
	maleNames = [...]string{
		"Jānis", "Andris", "Juris", "Edgars", "Māris", "Aivars", "Pēteris", "Kārlis", "Roberts", "Artūrs",
		"Mārtiņš", "Gints", "Valdis", "Uldis", "Aleksandrs", "Sergejs", "Dmitrijs", "Ivars", "Raimonds", "Kristaps",
		"Gustavs", "Markuss", "Daniels", "Olivers", "Rihards", "Toms", "Dāvis", "Emīls", "Nikolajs", "Oskars",
	}
	surnames = [...][2]string{
		{"Bērziņš", "Bērziņa"}, {"Kalniņš", "Kalniņa"}, {"Ozoliņš", "Ozoliņa"}, {"Jansons", "Jansone"},
		{"Ozols", "Ozola"}, {"Liepiņš", "Liepiņa"}, {"Krūmiņš", "Krūmiņa"}, {"Balodis", "Balode"},
		{"Eglītis", "Eglīte"}, {"Zariņš", "Zariņa"}, {"Pētersons", "Pētersone"}, {"Vītols", "Vītola"},
		{"Kļaviņš", "Kļaviņa"}, {"Kārkliņš", "Kārkliņa"}, {"Vanags", "Vanaga"}, {"Zeltiņš", "Zeltiņa"},
		{"Siliņš", "Siliņa"}, {"Lapiņš", "Lapiņa"}, {"Grants", "Grante"}, {"Ivanovs", "Ivanova"},
		{"Kuzņecovs", "Kuzņecova"}, {"Petrovs", "Petrova"}, {"Smirnovs", "Smirnova"}, {"Vasiļjevs", "Vasiļjeva"},
		{"Sproģis", "Sproģe"}, {"Celmiņš", "Celmiņa"}, {"Līcis", "Līce"}, {"Strazds", "Strazda"},
	}
	universities = [...]string{
		"Latvijas Universitāte", "Rīgas Tehniskā universitāte", "Rīgas Stradiņa universitāte",
		"Latvijas Biozinātņu un tehnoloģiju universitāte", "Daugavpils Universitāte", "Liepājas Universitāte",
		"Vidzemes Augstskola", "Rēzeknes Tehnoloģiju akadēmija", "Ventspils Augstskola",
	}
)
