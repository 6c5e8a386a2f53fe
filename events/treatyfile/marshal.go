package treatyfile

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/treatywatch/treatywatch/events"
)

// Marshal writes def as a treaty definition file in the documented schema,
// keys in the documented order. It validates def first. A share's weights
// are written inline (sorted by participant), never as a weights_file.
// Parse(Marshal(def)) gives back def.
func Marshal(def events.Definition) ([]byte, error) {
	if err := def.Validate(); err != nil {
		return nil, fmt.Errorf("write treaty definition: %w", err)
	}
	root := mapping(false)
	put(root, "id", str(def.ID))
	put(root, "title", str(def.Title))
	if def.ShortTitle != "" {
		put(root, "short_title", str(def.ShortTitle))
	}
	if def.Depositary != "" {
		put(root, "depositary", str(def.Depositary))
	}
	if !def.Adopted.IsZero() {
		put(root, "adopted", date(def.Adopted))
	}
	if w := def.Signature; w != nil {
		sig := mapping(true)
		if !w.Opens.IsZero() {
			put(sig, "opens", date(w.Opens))
		}
		if !w.Closes.IsZero() {
			put(sig, "closes", date(w.Closes))
		}
		put(root, "signature", sig)
	}
	put(root, "requires_signature", boolean(def.RequiresSignature))
	put(root, "entry_into_force", rule(def.EntryIntoForce))
	if !def.Withdrawal.TakesEffect.IsZero() {
		w := mapping(true)
		put(w, "takes_effect", period(def.Withdrawal.TakesEffect))
		put(root, "withdrawal", w)
	}
	if def.Parent != "" {
		put(root, "parent", str(def.Parent))
	}
	if def.Clause != "" {
		put(root, "clause", str(def.Clause))
	}
	if len(def.Sources) > 0 {
		put(root, "sources", strs(def.Sources, false))
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("write treaty definition %s: %w", def.ID, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write treaty definition %s: %w", def.ID, err)
	}
	return buf.Bytes(), nil
}

func rule(r events.Rule) *yaml.Node {
	n := mapping(false)
	if r.Fraction != nil {
		put(n, "instruments", str(r.Fraction.String()))
	} else {
		put(n, "instruments", integer(r.Instruments))
	}
	if len(r.Counts) > 0 {
		kinds := make([]string, len(r.Counts))
		for i, a := range r.Counts {
			kinds[i] = string(a)
		}
		put(n, "counts", strs(kinds, true))
	}
	put(n, "regional_organizations_additional", boolean(r.RegionalOrganizationsAdditional))
	if g := r.Group; g != nil {
		gn := mapping(false)
		put(gn, "name", str(g.Name))
		put(gn, "at_least", integer(g.AtLeast))
		put(gn, "members", strs(g.Members, false))
		put(n, "group", gn)
	}
	if s := r.Share; s != nil {
		sn := mapping(false)
		put(sn, "name", str(s.Name))
		put(sn, "at_least", number(s.AtLeast))
		names := make([]string, 0, len(s.Weights))
		for name := range s.Weights {
			names = append(names, name)
		}
		slices.Sort(names)
		wn := mapping(false)
		for _, name := range names {
			put(wn, name, number(s.Weights[name]))
		}
		put(sn, "weights", wn)
		put(n, "share", sn)
	}
	put(n, "delay", period(r.Delay))
	if !r.NotBefore.IsZero() {
		put(n, "not_before", date(r.NotBefore))
	}
	if r.LaterParties != nil {
		put(n, "later_parties", period(*r.LaterParties))
	}
	return n
}

func mapping(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func put(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, str(key), v)
}

// str writes text. Text of several lines is a literal block, unless it
// holds a tab or a carriage return: a definition file holds neither raw
// (Parse refuses tabs), so such text is double-quoted with escapes.
func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.ContainsAny(s, "\t\r"):
		n.Style = yaml.DoubleQuotedStyle
	case strings.Contains(s, "\n"):
		n.Style = yaml.LiteralStyle
	}
	return n
}

func strs(items []string, flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// period writes p as ParsePeriod reads it, with a singular unit for one
// ("1 year", not "1 years").
func period(p events.Period) *yaml.Node {
	s := p.String()
	if p.N == 1 {
		s = strings.TrimSuffix(s, "s")
	}
	return str(s)
}

func date(d events.Date) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: d.String()}
}

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func number(f float64) *yaml.Node {
	v := strconv.FormatFloat(f, 'f', -1, 64)
	tag := "!!float"
	if !strings.Contains(v, ".") {
		tag = "!!int" // a whole number: plain "55", not "!!float 55"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}
