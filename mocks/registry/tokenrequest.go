package registry

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/beevik/etree"
)

// TokenRequestTag is the root element of a token request. The children are
// ClientId, Created, Expires and Nonce, in that order, each exactly once, no
// namespace; the client signs the whole element with an enveloped XML-DSig
// signature (see internal/signing).
const TokenRequestTag = "TokenRequest"

// TokenRequest is what a technical client sends to POST /dagr/v1/token.
type TokenRequest struct {
	ClientID string
	Created  time.Time
	Expires  time.Time
	Nonce    string
}

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	noncePattern    = regexp.MustCompile(`^[A-Za-z0-9+/=_-]{16,128}$`)
)

// FieldError names the token request element that is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// NewTokenRequest returns a request for clientID created now, valid for ttl,
// with a fresh random nonce.
func NewTokenRequest(clientID string, now time.Time, ttl time.Duration) (TokenRequest, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return TokenRequest{}, fmt.Errorf("token request nonce: %w", err)
	}
	r := TokenRequest{
		ClientID: clientID,
		Created:  now.UTC().Truncate(time.Second),
		Expires:  now.UTC().Truncate(time.Second).Add(ttl),
		Nonce:    base64.RawURLEncoding.EncodeToString(b[:]),
	}
	if err := r.validate(); err != nil {
		return TokenRequest{}, err
	}
	return r, nil
}

// Document returns the unsigned XML document of r.
func (r TokenRequest) Document() *etree.Document {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement(TokenRequestTag)
	root.CreateElement("ClientId").SetText(r.ClientID)
	root.CreateElement("Created").SetText(r.Created.UTC().Format(time.RFC3339))
	root.CreateElement("Expires").SetText(r.Expires.UTC().Format(time.RFC3339))
	root.CreateElement("Nonce").SetText(r.Nonce)
	return doc
}

// ParseTokenRequest reads a token request from a verified element. Pass only
// the element signing.Verifier returned, never the raw document.
func ParseTokenRequest(el *etree.Element) (TokenRequest, error) {
	if el.Tag != TokenRequestTag || el.Space != "" {
		return TokenRequest{}, &FieldError{"/", fmt.Sprintf("root element is <%s>, want <%s> without namespace", el.FullTag(), TokenRequestTag)}
	}
	names := []string{"ClientId", "Created", "Expires", "Nonce"}
	kids := el.ChildElements()
	for i, k := range kids {
		if i >= len(names) || k.FullTag() != names[i] {
			want := "nothing"
			if i < len(names) {
				want = "<" + names[i] + ">"
			}
			return TokenRequest{}, &FieldError{"/" + TokenRequestTag + "/" + k.FullTag(), "unexpected element, expected " + want}
		}
		if len(k.ChildElements()) > 0 {
			return TokenRequest{}, &FieldError{"/" + TokenRequestTag + "/" + k.Tag, "must hold text only"}
		}
	}
	if len(kids) < len(names) {
		return TokenRequest{}, &FieldError{"/" + TokenRequestTag + "/" + names[len(kids)], "missing"}
	}
	var r TokenRequest
	r.ClientID = kids[0].Text()
	var err error
	if r.Created, err = parseInstant("Created", kids[1].Text()); err != nil {
		return TokenRequest{}, err
	}
	if r.Expires, err = parseInstant("Expires", kids[2].Text()); err != nil {
		return TokenRequest{}, err
	}
	r.Nonce = kids[3].Text()
	if err := r.validate(); err != nil {
		return TokenRequest{}, err
	}
	return r, nil
}

func parseInstant(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, &FieldError{"/" + TokenRequestTag + "/" + field, fmt.Sprintf("%q is not an RFC 3339 date-time with zone, e.g. 2026-01-31T10:00:00Z", s)}
	}
	return t, nil
}

func (r TokenRequest) validate() error {
	switch {
	case !clientIDPattern.MatchString(r.ClientID):
		return &FieldError{"/TokenRequest/ClientId", "must be 1-128 characters of A-Z a-z 0-9 . _ : -"}
	case !r.Expires.After(r.Created):
		return &FieldError{"/TokenRequest/Expires", "must be after Created"}
	case !noncePattern.MatchString(r.Nonce):
		return &FieldError{"/TokenRequest/Nonce", "must be 16-128 characters of base64 or base64url"}
	}
	return nil
}

// AsFieldError returns err's FieldError, if it has one.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
