package api

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

//go:generate env MAILPORT_UPDATE_OPENAPI=1 go test -run TestOpenAPIFileCurrent .

// openapi.json is the committed copy of the document the portal's
// `npm run gen:api` reads. It must match what the server serves; `go
// generate ./internal/api` rewrites it.
func TestOpenAPIFileCurrent(t *testing.T) {
	e := newEnv(t)
	doc := e.api.OpenAPI()
	if os.Getenv("MAILPORT_UPDATE_OPENAPI") == "1" {
		if err := os.WriteFile("openapi.json", doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatalf("%v (run go generate ./internal/api)", err)
	}
	if !bytes.Equal(file, doc) {
		t.Fatal("internal/api/openapi.json is stale: run go generate ./internal/api and commit it")
	}
	served := e.do(req{method: "GET", path: "/api/v1/openapi.json"})
	if served.status != 200 || !bytes.Equal(served.body, doc) {
		t.Fatalf("GET /api/v1/openapi.json: %d, %d bytes; want 200 and the document", served.status, len(served.body))
	}
	var d struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			RequestBody *struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if d.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", d.OpenAPI)
	}
	// The two request shapes scripts rely on (issue 5).
	for path, field := range map[string][]string{"/api/v1/domains": {"name"}, "/api/v1/mailboxes": {"address", "password"}} {
		rb := d.Paths[path]["post"].RequestBody
		if rb == nil {
			t.Fatalf("POST %s has no request body", path)
		}
		ref := rb.Content["application/json"].Schema.Ref
		name := ref[len("#/components/schemas/"):]
		var s struct {
			Required             []string `json:"required"`
			AdditionalProperties *bool    `json:"additionalProperties"`
		}
		if err := json.Unmarshal(d.Components.Schemas[name], &s); err != nil {
			t.Fatal(err)
		}
		for _, f := range field {
			found := false
			for _, r := range s.Required {
				found = found || r == f
			}
			if !found {
				t.Errorf("POST %s: %q not required in %s", path, f, name)
			}
		}
		if s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("POST %s: schema %s allows unknown fields", path, name)
		}
	}
}
