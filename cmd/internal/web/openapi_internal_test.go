package web

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// openAPIPath turns a net/http pattern into an OpenAPI path:
// "/{$}" is "/", "{file...}" is "{file}".
func openAPIPath(pattern string) string {
	p := strings.TrimSuffix(pattern, "{$}")
	return regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
}

// TestOpenAPICoversEveryRoute keeps openapi.json true: every registered
// route is described, every described operation is routed, and every path
// parameter is declared.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q; want 3.x", doc.OpenAPI)
	}
	s := &Server{}
	s.metrics = &metrics{}
	routed := map[string]bool{}
	for _, rt := range s.routeTable() {
		key := strings.ToLower(rt.method) + " " + openAPIPath(rt.pattern)
		if routed[key] {
			t.Errorf("route %s registered twice", key)
		}
		routed[key] = true
	}
	described := map[string]bool{}
	param := regexp.MustCompile(`\{(\w+)\}`)
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			key := method + " " + path
			described[key] = true
			var op struct {
				Parameters []struct {
					Name string `json:"name"`
					In   string `json:"in"`
				} `json:"parameters"`
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s has no responses", key)
			}
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				if !slices.ContainsFunc(op.Parameters, func(p struct {
					Name string `json:"name"`
					In   string `json:"in"`
				}) bool {
					return p.Name == m[1] && p.In == "path"
				}) {
					t.Errorf("%s does not declare path parameter %s", key, m[1])
				}
			}
		}
	}
	var missing, extra []string
	for k := range routed {
		if !described[k] {
			missing = append(missing, k)
		}
	}
	for k := range described {
		if !routed[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, k := range missing {
		t.Errorf("route %s is not in openapi.json", k)
	}
	for _, k := range extra {
		t.Errorf("openapi.json describes %s, which is not routed", k)
	}
}
