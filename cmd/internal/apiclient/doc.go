// Package apiclient is a Go client of treatywatch's HTTP API, generated
// by oapi-codegen (pinned as a tool in go.mod) from the OpenAPI document
// the server serves, cmd/internal/web/openapi.json. It owns nothing but
// the generated code: edit the document, then run go generate; never edit
// client.gen.go by hand. The end-to-end tests use it to call a real
// server, so a document that no longer describes the server fails them.
package apiclient

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../web/openapi.json
