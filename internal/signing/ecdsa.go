package signing

import (
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// XML-DSig (RFC 4050, XML Signature 1.1 §6.4.3) encodes an ECDSA signature
// as the fixed-width concatenation r‖s, whereas Go's crypto (and so
// goxmldsig) produces and expects ASN.1 DER. We write the standard form so
// that xmlsec, Apache Santuario and DSS accept our receipts, and convert back
// to DER before handing a document to goxmldsig.

type ecdsaSig struct {
	R, S *big.Int
}

func ecdsaOctets(pub *ecdsa.PublicKey) int {
	return (pub.Curve.Params().BitSize + 7) / 8
}

// derToRaw converts an ASN.1 DER ECDSA signature to r‖s for pub's curve.
func derToRaw(der []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	var sig ecdsaSig
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("parse DER ECDSA signature: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("trailing bytes after DER ECDSA signature")
	}
	n := ecdsaOctets(pub)
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 8*n || sig.S.BitLen() > 8*n {
		return nil, errors.New("ECDSA signature integers out of range")
	}
	raw := make([]byte, 2*n)
	sig.R.FillBytes(raw[:n])
	sig.S.FillBytes(raw[n:])
	return raw, nil
}

// rawToDER converts r‖s to ASN.1 DER. A value that is not exactly twice the
// curve's octet length is assumed to be DER already and returned unchanged,
// so documents signed by tools that (wrongly) emit DER still verify.
func rawToDER(raw []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	n := ecdsaOctets(pub)
	if len(raw) != 2*n {
		return raw, nil
	}
	der, err := asn1.Marshal(ecdsaSig{
		R: new(big.Int).SetBytes(raw[:n]),
		S: new(big.Int).SetBytes(raw[n:]),
	})
	if err != nil {
		return nil, fmt.Errorf("encode ECDSA signature as DER: %w", err)
	}
	return der, nil
}
