package web

// RouteInfo describes a route for the external tests: its method and
// pattern, the role it needs ("" for none, "reader", "officer", "admin")
// and its surface ("api", "page", "ops").
type RouteInfo struct {
	Method, Pattern, Access, Surface string
}

// Routes returns the server's routing table.
func Routes(s *Server) []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes {
		ri := RouteInfo{Method: rt.method, Pattern: rt.pattern}
		ri.Access = map[access]string{public: "", reader: "reader", officer: "officer", admin: "admin"}[rt.access]
		ri.Surface = map[surface]string{apiSurface: "api", pageSurface: "page", opsSurface: "ops"}[rt.surface]
		out = append(out, ri)
	}
	return out
}

// SafeNext is safeNext, for the open-redirect tests.
func SafeNext(next string) string { return safeNext(next) }
