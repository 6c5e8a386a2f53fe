package treatyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/treatywatch/treatywatch/events"
)

// The keys each mapping of the schema accepts, in the order the schema
// documents them (and Marshal writes them).
func topKeys() []string {
	return []string{"id", "title", "short_title", "depositary", "adopted", "signature", "requires_signature", "entry_into_force", "withdrawal", "parent", "clause", "sources"}
}
func signatureKeys() []string  { return []string{"opens", "closes"} }
func withdrawalKeys() []string { return []string{"takes_effect"} }
func groupKeys() []string      { return []string{"name", "at_least", "members"} }
func shareKeys() []string      { return []string{"name", "at_least", "weights", "weights_file"} }
func ruleKeys() []string {
	return []string{"instruments", "counts", "regional_organizations_additional", "group", "share", "delay", "not_before", "later_parties"}
}

// Parse parses a treaty definition file's contents into a validated
// events.Definition.
//
// dir is the folder the file was read from: a share's weights_file is
// opened in it, so it must name a file in that folder or below it. dir may
// be nil when the file has no weights_file. participants resolves the
// names in a group or a share to canonical names; it may be nil only when
// the file has neither.
//
// Defaults: requires_signature and
// entry_into_force.regional_organizations_additional are true; counts,
// when absent, means every kind of consent to be bound (the Definition
// keeps it empty); later_parties, when absent, means the same as delay
// (the Definition keeps it nil).
//
// When the file is not a valid definition, Parse returns an Errors listing
// every problem with its line and field; it wraps events.ErrInvalid.
//
// Beyond the schema, a file must be plain UTF-8 text of at most
// MaxFileBytes: no tab, no control character, no bidirectional or
// invisible format character (not even in a comment); exactly one YAML
// document; no anchors, aliases, merge keys or explicit tags; numbers
// written in decimal digits (40, 55.5), never 0x28, 4_0, +40 or 5.5e1.
func Parse(data []byte, dir fs.FS, participants *events.Directory) (events.Definition, error) {
	p := &parser{dir: dir, participants: participants, lines: map[string]int{}}
	if len(data) > MaxFileBytes {
		return events.Definition{}, Errors{{Msg: fmt.Sprintf("the file is %d bytes long; a treaty definition is at most %d bytes", len(data), MaxFileBytes)}}
	}
	if e := scanBytes(data); e != nil {
		return events.Definition{}, Errors{e}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return events.Definition{}, Errors{syntaxError(err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return events.Definition{}, Errors{{Line: 1, Msg: "empty file: want a treaty definition (id, title, entry_into_force, ...)"}}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return events.Definition{}, Errors{syntaxError(err)}
	default:
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return events.Definition{}, Errors{{Line: line, Msg: "a second YAML document (after ---): a treaty definition file holds exactly one treaty"}}
	}
	p.plainTree(&doc)
	if len(p.errs) > 0 {
		return events.Definition{}, p.errs
	}
	def := p.definition(doc.Content[0])
	if len(p.errs) == 0 {
		p.validate(def)
	}
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return events.Definition{}, p.errs
	}
	return def, nil
}

// ParseFS reads the definition file name from fsys and parses it; a
// weights_file is resolved relative to name's folder. Errors name the file.
func ParseFS(fsys fs.FS, name string, participants *events.Directory) (events.Definition, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return events.Definition{}, fmt.Errorf("treaty definition: %w", err)
	}
	dir, err := fs.Sub(fsys, path.Dir(name))
	if err != nil {
		return events.Definition{}, fmt.Errorf("treaty definition %s: %w", name, err)
	}
	def, err := Parse(data, dir, participants)
	if err != nil {
		return events.Definition{}, fmt.Errorf("%s: %w", name, err)
	}
	return def, nil
}

// ParseFile reads the definition file at filename on disk and parses it; a
// weights_file is resolved relative to the file's folder. Errors name the
// file.
func ParseFile(filename string, participants *events.Directory) (events.Definition, error) {
	data, err := os.ReadFile(filename)
	if err != nil {
		return events.Definition{}, fmt.Errorf("treaty definition: %w", err)
	}
	def, err := Parse(data, os.DirFS(filepath.Dir(filename)), participants)
	if err != nil {
		return events.Definition{}, fmt.Errorf("%s: %w", filename, err)
	}
	return def, nil
}

// syntaxError turns a yaml.v3 syntax error ("yaml: line 3: ...") into an
// *Error with its line.
func syntaxError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, convErr := strconv.Atoi(num); convErr == nil {
				return &Error{Line: line, Msg: "not valid YAML: " + text, Err: err}
			}
		}
	}
	return &Error{Msg: "not valid YAML: " + msg, Err: err}
}

type parser struct {
	dir          fs.FS
	participants *events.Directory
	errs         Errors
	// lines maps a field path to the line of its value, so that the
	// problems Definition.Validate finds get a line too.
	lines map[string]int
}

func (p *parser) fail(n *yaml.Node, field string, cause error, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{Line: line, Field: field, Msg: fmt.Sprintf(format, args...), Err: cause})
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// fields is a checked mapping: its known keys and their value nodes.
type fields struct {
	path string
	line int // the line that introduces the mapping (its key's line)
	vals map[string]*yaml.Node
}

// mapping checks that n is a mapping whose keys are all known and
// distinct, and returns them. line is where the mapping is introduced, for
// "missing key" errors.
func (p *parser) mapping(n *yaml.Node, field string, line int, known []string) (*fields, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.fail(n, field, nil, "want a mapping of %s, got %s", strings.Join(known, ", "), describe(n))
		return nil, false
	}
	f := &fields{path: field, line: line, vals: map[string]*yaml.Node{}}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.fail(k, field, nil, "a key must be a plain name, got %s", describe(k))
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			p.fail(k, join(field, key), nil, "duplicate key (first given on line %d)", first)
			continue
		}
		seen[key] = k.Line
		if !slices.Contains(known, key) {
			msg := "unknown key (known: " + strings.Join(known, ", ") + ")"
			if s := closestKey(key, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			p.fail(k, join(field, key), nil, "%s", msg)
			continue
		}
		f.vals[key] = v
		p.lines[join(field, key)] = k.Line
	}
	return f, true
}

// get returns the value of key, or nil when the key is absent or its
// value is null (an optional key left empty counts as absent).
func (f *fields) get(key string) *yaml.Node {
	v, ok := f.vals[key]
	if !ok || isNull(v) {
		return nil
	}
	return v
}

// require returns the value of key, reporting a missing or empty key.
func (p *parser) require(f *fields, key string) *yaml.Node {
	v, ok := f.vals[key]
	switch {
	case !ok:
		p.errs = append(p.errs, &Error{Line: f.line, Field: join(f.path, key), Msg: "missing required key"})
		return nil
	case isNull(v):
		p.fail(v, join(f.path, key), nil, "is required but empty")
		return nil
	}
	return v
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	default: // a scalar (aliases are refused before)
	}
	switch n.Tag {
	case "!!null":
		return "nothing"
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	}
	return strconv.Quote(n.Value)
}

// text returns the trimmed text of a scalar, checked as a field of kind
// kind holds text (events.CheckText).
func (p *parser) text(n *yaml.Node, field string, kind events.TextKind) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		p.fail(n, field, nil, "want text, got %s", describe(n))
		return "", false
	}
	s := strings.TrimSpace(n.Value)
	if s == "" {
		p.fail(n, field, nil, "is empty")
		return "", false
	}
	if err := events.CheckText("", s, kind); err != nil {
		p.fail(n, field, err, "%v", err)
		return "", false
	}
	return s, true
}

// treatyID returns a treaty id, checked against the grammar of ids.
func (p *parser) treatyID(n *yaml.Node, field string) (string, bool) {
	s, ok := p.text(n, field, events.NameText)
	if !ok {
		return "", false
	}
	if err := events.CheckTreatyID("", s); err != nil {
		p.fail(n, field, err, "%v", err)
		return "", false
	}
	return s, true
}

func (p *parser) date(n *yaml.Node, field string) (events.Date, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		p.fail(n, field, nil, "want a date YYYY-MM-DD, got %s", describe(n))
		return events.Date{}, false
	}
	d, err := events.ParseDate(n.Value)
	if err != nil {
		p.fail(n, field, err, "%v", err)
		return events.Date{}, false
	}
	return d, true
}

func (p *parser) period(n *yaml.Node, field string) (events.Period, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.fail(n, field, nil, "want a period such as \"90 days\", \"6 months\", \"1 year\" or \"first day of month after 30 days\", got %s", describe(n))
		return events.Period{}, false
	}
	pd, err := events.ParsePeriod(n.Value)
	if err != nil {
		p.fail(n, field, err, "%v", err)
		return events.Period{}, false
	}
	return pd, true
}

func (p *parser) integer(n *yaml.Node, field string) (int, bool) {
	n = deref(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || !isDecimalInt(n.Value) || n.Decode(&i) != nil {
		p.fail(n, field, nil, "want a whole number written with the digits 0-9 (such as 40), got %s", describe(n))
		return 0, false
	}
	return i, true
}

func (p *parser) number(n *yaml.Node, field string) (float64, bool) {
	n = deref(n)
	var f float64
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || !isDecimalNumber(n.Value) || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.fail(n, field, nil, "want a number written with the digits 0-9 and an optional decimal point (such as 55 or 0.05), got %s", describe(n))
		return 0, false
	}
	return f, true
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	n = deref(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		p.fail(n, field, nil, "want true or false, got %s", describe(n))
		return false, false
	}
	return b, true
}

// list returns the items of a sequence node.
func (p *parser) list(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, nil, "want a list, got %s", describe(n))
		return nil, false
	}
	return n.Content, true
}

func (p *parser) definition(root *yaml.Node) events.Definition {
	d := events.Definition{RequiresSignature: true}
	f, ok := p.mapping(root, "", deref(root).Line, topKeys())
	if !ok {
		return d
	}
	if v := p.require(f, "id"); v != nil {
		d.ID, _ = p.treatyID(v, "id")
	}
	if v := p.require(f, "title"); v != nil {
		d.Title, _ = p.text(v, "title", events.LineText)
	}
	if v := f.get("short_title"); v != nil {
		d.ShortTitle, _ = p.text(v, "short_title", events.LineText)
	}
	if v := f.get("depositary"); v != nil {
		d.Depositary, _ = p.text(v, "depositary", events.LineText)
	}
	if v := f.get("adopted"); v != nil {
		d.Adopted, _ = p.date(v, "adopted")
	}
	if v := f.get("signature"); v != nil {
		d.Signature = p.signature(v, p.lines["signature"])
	}
	if v := f.get("requires_signature"); v != nil {
		if b, ok := p.boolean(v, "requires_signature"); ok {
			d.RequiresSignature = b
		}
	}
	if v := f.get("parent"); v != nil {
		d.Parent, _ = p.treatyID(v, "parent")
	}
	if v := p.require(f, "entry_into_force"); v != nil {
		d.EntryIntoForce = p.rule(v, p.lines["entry_into_force"], d.Parent != "")
	}
	if v := f.get("withdrawal"); v != nil {
		d.Withdrawal = p.withdrawal(v, p.lines["withdrawal"])
	}
	if v := f.get("clause"); v != nil {
		d.Clause, _ = p.text(v, "clause", events.FreeText)
	}
	if v := f.get("sources"); v != nil {
		if items, ok := p.list(v, "sources"); ok {
			for i, it := range items {
				if s, ok := p.text(it, fmt.Sprintf("sources[%d]", i), events.LineText); ok {
					d.Sources = append(d.Sources, s)
				}
			}
		}
	}
	if d.Parent != "" && d.Parent == d.ID {
		p.fail(f.vals["parent"], "parent", nil, "a treaty cannot be its own parent")
	}
	return d
}

func (p *parser) signature(n *yaml.Node, line int) *events.Window {
	f, ok := p.mapping(n, "signature", line, signatureKeys())
	if !ok {
		return nil
	}
	w := &events.Window{}
	if v := f.get("opens"); v != nil {
		w.Opens, _ = p.date(v, "signature.opens")
	}
	if v := f.get("closes"); v != nil {
		w.Closes, _ = p.date(v, "signature.closes")
	}
	if !w.Opens.IsZero() && !w.Closes.IsZero() && w.Closes.Before(w.Opens) {
		p.fail(f.vals["closes"], "signature.closes", nil, "%s is before the window opens (%s)", w.Closes, w.Opens)
	}
	return w
}

func (p *parser) withdrawal(n *yaml.Node, line int) events.Withdrawal {
	f, ok := p.mapping(n, "withdrawal", line, withdrawalKeys())
	if !ok {
		return events.Withdrawal{}
	}
	var w events.Withdrawal
	if v := p.require(f, "takes_effect"); v != nil {
		w.TakesEffect, _ = p.period(v, "withdrawal.takes_effect")
	}
	return w
}

// parseFraction reads "N/M of parent parties" (also "of the parent
// parties"), case and spacing aside.
func parseFraction(s string) (num, den int, ok bool) {
	text := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	frac, rest, found := strings.Cut(text, " of ")
	if !found || (rest != "parent parties" && rest != "the parent parties" && rest != "the parent's parties") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(frac, "/")
	if !found {
		return 0, 0, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if !isDecimalInt(a) || !isDecimalInt(b) || len(a) > 3 || len(b) > 3 || a[0] == '-' || b[0] == '-' {
		return 0, 0, false
	}
	num, _ = strconv.Atoi(a)
	den, _ = strconv.Atoi(b)
	return num, den, true
}

func instrumentsWant() string {
	return fmt.Sprintf(`want a whole number from 1 to %d, or "N/M of parent parties" for an amendment or protocol`, events.MaxInstruments)
}

func (p *parser) rule(n *yaml.Node, line int, hasParent bool) events.Rule {
	const base = "entry_into_force"
	r := events.Rule{RegionalOrganizationsAdditional: true}
	f, ok := p.mapping(n, base, line, ruleKeys())
	if !ok {
		return r
	}
	if v := p.require(f, "instruments"); v != nil {
		p.instruments(deref(v), &r, hasParent)
	}
	if v := f.get("counts"); v != nil {
		r.Counts = p.counts(v)
	}
	if v := f.get("regional_organizations_additional"); v != nil {
		if b, ok := p.boolean(v, base+".regional_organizations_additional"); ok {
			r.RegionalOrganizationsAdditional = b
		}
	}
	if v := f.get("group"); v != nil {
		r.Group = p.group(v, p.lines[base+".group"])
	}
	if v := f.get("share"); v != nil {
		r.Share = p.share(v, p.lines[base+".share"])
	}
	if v := p.require(f, "delay"); v != nil {
		r.Delay, _ = p.period(v, base+".delay")
	}
	if v := f.get("not_before"); v != nil {
		r.NotBefore, _ = p.date(v, base+".not_before")
	}
	if v := f.get("later_parties"); v != nil {
		if pd, ok := p.period(v, base+".later_parties"); ok {
			r.LaterParties = &pd
		}
	}
	return r
}

func (p *parser) instruments(v *yaml.Node, r *events.Rule, hasParent bool) {
	const field = "entry_into_force.instruments"
	if v.Kind != yaml.ScalarNode {
		p.fail(v, field, nil, "%s; got %s", instrumentsWant(), describe(v))
		return
	}
	if v.Tag == "!!int" {
		n, ok := p.integer(v, field)
		switch {
		case !ok:
		case n <= 0 || n > events.MaxInstruments:
			p.fail(v, field, nil, "is %d; %s", n, instrumentsWant())
		default:
			r.Instruments = n
		}
		return
	}
	num, den, ok := parseFraction(v.Value)
	if v.Tag != "!!str" || !ok {
		p.fail(v, field, nil, "%s; got %s", instrumentsWant(), describe(v))
		return
	}
	if num <= 0 || den <= 0 || num > den || den > events.MaxFractionDen {
		p.fail(v, field, nil, "%q is not a fraction N/M with 1 <= N <= M <= %d (want e.g. \"3/4 of parent parties\")", v.Value, events.MaxFractionDen)
		return
	}
	if !hasParent {
		p.fail(v, field, nil, "a fraction of parent parties needs a parent (set parent: to the treaty's id)")
		return
	}
	r.Fraction = &events.Fraction{Num: num, Den: den}
}

func consentNames() string {
	var names []string
	for _, a := range events.ConsentKinds() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

func (p *parser) counts(n *yaml.Node) []events.Action {
	const field = "entry_into_force.counts"
	items, ok := p.list(n, field)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.fail(n, field, nil, "is empty; leave counts out to count every kind of consent (%s)", consentNames())
		return nil
	}
	var out []events.Action
	for i, it := range items {
		item := fmt.Sprintf("%s[%d]", field, i)
		s, ok := p.text(it, item, events.NameText)
		if !ok {
			continue
		}
		a, err := events.ParseAction(s)
		if err != nil || !a.IsConsent() {
			p.fail(it, item, err, "%q is not a kind of consent to be bound (want one of: %s)", s, consentNames())
			continue
		}
		if slices.Contains(out, a) {
			p.fail(it, item, nil, "%q is listed twice", s)
			continue
		}
		out = append(out, a)
	}
	return out
}

// resolve returns the canonical name of a participant.
func (p *parser) resolve(name string) (string, error) {
	if p.participants == nil {
		return "", fmt.Errorf("cannot resolve participant %q: no participant directory was given", name)
	}
	pt, err := p.participants.Resolve(name)
	if err != nil {
		return "", err
	}
	return pt.Name, nil
}

// participant resolves the name at node n, reporting a failure there.
func (p *parser) participant(n *yaml.Node, field, name string) (string, bool) {
	canonical, err := p.resolve(name)
	if err != nil {
		p.fail(n, field, err, "%v", err)
		return "", false
	}
	return canonical, true
}

func (p *parser) group(n *yaml.Node, line int) *events.Group {
	const base = "entry_into_force.group"
	f, ok := p.mapping(n, base, line, groupKeys())
	if !ok {
		return nil
	}
	g := &events.Group{}
	if v := p.require(f, "name"); v != nil {
		g.Name, _ = p.text(v, base+".name", events.NameText)
	}
	atLeastOK := false
	if v := p.require(f, "at_least"); v != nil {
		g.AtLeast, atLeastOK = p.integer(v, base+".at_least")
	}
	membersOK := false
	if v := p.require(f, "members"); v != nil {
		var items []*yaml.Node
		items, membersOK = p.list(v, base+".members")
		first := map[string]int{}
		for i, it := range items {
			field := fmt.Sprintf("%s.members[%d]", base, i)
			s, ok := p.text(it, field, events.NameText)
			if !ok {
				membersOK = false
				continue
			}
			name, ok := p.participant(it, field, s)
			if !ok {
				membersOK = false
				continue
			}
			if l, dup := first[name]; dup {
				p.fail(it, field, nil, "%q is %s, already listed on line %d", s, name, l)
				membersOK = false
				continue
			}
			first[name] = it.Line
			g.Members = append(g.Members, name)
		}
		if membersOK && len(items) == 0 {
			p.fail(v, base+".members", nil, "is empty")
			membersOK = false
		}
	}
	if atLeastOK && (g.AtLeast <= 0 || membersOK && g.AtLeast > len(g.Members)) {
		p.fail(f.vals["at_least"], base+".at_least", nil, "is %d; want between 1 and the %d members listed", g.AtLeast, len(g.Members))
	}
	return g
}

func (p *parser) share(n *yaml.Node, line int) *events.Share {
	const base = "entry_into_force.share"
	f, ok := p.mapping(n, base, line, shareKeys())
	if !ok {
		return nil
	}
	s := &events.Share{}
	if v := p.require(f, "name"); v != nil {
		s.Name, _ = p.text(v, base+".name", events.NameText)
	}
	if v := p.require(f, "at_least"); v != nil {
		if x, ok := p.number(v, base+".at_least"); ok {
			if x <= 0 || x > events.MaxSharePercent {
				p.fail(v, base+".at_least", nil, "is %v; want a percentage above 0 and at most 100", x)
			}
			s.AtLeast = x
		}
	}
	inline, file := f.get("weights"), f.get("weights_file")
	switch {
	case inline != nil && file != nil:
		p.fail(file, base+".weights_file", nil, "give either weights or weights_file, not both")
	case inline != nil:
		s.Weights = p.inlineWeights(inline, base+".weights")
	case file != nil:
		s.Weights = p.weightsFile(file, base+".weights_file")
	default:
		p.errs = append(p.errs, &Error{Line: line, Field: base + ".weights", Msg: "missing required key: give weights (participant: weight) or weights_file (a CSV participant,weight)"})
	}
	return s
}

func (p *parser) inlineWeights(n *yaml.Node, field string) map[string]float64 {
	m := deref(n)
	if m.Kind != yaml.MappingNode {
		p.fail(m, field, nil, "want a mapping of participant: weight, got %s", describe(m))
		return nil
	}
	out := map[string]float64{}
	first := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := deref(m.Content[i]), m.Content[i+1]
		key, ok := p.text(k, field, events.NameText)
		if !ok {
			continue
		}
		item := field + "." + key
		name, nameOK := p.participant(k, item, key)
		w, wOK := p.number(v, item)
		if wOK && (w < 0 || w > events.MaxSharePercent) {
			p.fail(v, item, nil, "weight %v is not a percentage from 0 to 100", w)
			wOK = false
		}
		if !nameOK || !wOK {
			continue
		}
		if l, dup := first[name]; dup {
			p.fail(k, item, nil, "%q is %s, already weighted on line %d", key, name, l)
			continue
		}
		first[name] = k.Line
		out[name] = w
	}
	return out
}

// validate runs Definition.Validate, giving its error the line of the
// field it names.
func (p *parser) validate(d events.Definition) {
	err := d.Validate()
	if err == nil {
		return
	}
	var (
		ie *events.InvalidError
		te *events.InvalidTextError
		le *events.TextTooLongError
		de *events.InvalidTreatyIDError
	)
	switch {
	case errors.As(err, &ie):
		p.errs = append(p.errs, &Error{Line: p.lineOf(ie.Field), Field: ie.Field, Msg: ie.Reason, Err: err})
	case errors.As(err, &te):
		field := te.Field
		te.Field = ""
		p.errs = append(p.errs, &Error{Line: p.lineOf(field), Field: field, Msg: te.Error(), Err: err})
	case errors.As(err, &le):
		field := le.Field
		le.Field = ""
		p.errs = append(p.errs, &Error{Line: p.lineOf(field), Field: field, Msg: le.Error(), Err: err})
	case errors.As(err, &de):
		field := de.Field
		de.Field = ""
		p.errs = append(p.errs, &Error{Line: p.lineOf(field), Field: field, Msg: de.Error(), Err: err})
	default:
		p.errs = append(p.errs, &Error{Msg: err.Error(), Err: err})
	}
}

// lineOf returns the line of a field path, or of the nearest enclosing
// field that has one ("sources[2]" → "sources").
func (p *parser) lineOf(field string) int {
	for field != "" {
		if l, ok := p.lines[field]; ok {
			return l
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return 0
}

// closestKey suggests the known key nearest to a misspelt one.
func closestKey(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := events.EditDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}
