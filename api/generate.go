// Package api holds the gateway's contract: the OpenAPI document and the
// types and echo server interface generated from it.
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.yaml

import _ "embed"

// Spec is the OpenAPI document exactly as served at /openapi.yaml.
//
//go:embed openapi.yaml
var Spec []byte
