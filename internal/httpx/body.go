package httpx

import "bytes"

// BufferedBody is a request body already read into memory (by the contract
// check); handlers decode Bytes instead of reading it again.
type BufferedBody struct {
	*bytes.Reader
	b []byte
}

// NewBufferedBody wraps b.
func NewBufferedBody(b []byte) *BufferedBody { return &BufferedBody{Reader: bytes.NewReader(b), b: b} }

// Bytes is the whole body, however much of it was read.
func (b *BufferedBody) Bytes() []byte { return b.b }

// Close implements io.Closer.
func (*BufferedBody) Close() error { return nil }
