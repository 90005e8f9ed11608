package signing

import "testing"

func BenchmarkVerify(b *testing.B) {
	s := newTestSigner(b, "rsa")
	doc := mustSign(b, s, personList)
	v := NewVerifier(s.Certificate())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignDocument(b *testing.B) {
	s := newTestSigner(b, "ec")
	b.ReportAllocs()
	for b.Loop() {
		mustSign(b, s, personList)
	}
}
