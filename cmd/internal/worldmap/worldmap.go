package worldmap

import (
	"bufio"
	"bytes"
	_ "embed" // the map data
	"fmt"
	"html"
	"html/template"
	"sort"
	"strconv"
	"strings"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

//go:embed countries.tsv
var countriesTSV string

//go:embed map.html
var mapTemplate string

// SmallArea is the area, in km², under which a country is too small to
// see on the map (about 4 × 4 pixels on a desktop screen, under one on a
// phone): it gets a marker and is listed beside the map.
const SmallArea = 20_000

// State is a participant's standing in one treaty on a date.
type State string

// The states, in the order the legend shows them.
const (
	// InForce: the treaty is in force for the participant.
	InForce State = "in-force"
	// Party: the participant has consented to be bound (ratification,
	// acceptance, approval, accession, succession, definitive signature)
	// and the treaty is not yet in force for it.
	Party State = "party"
	// Signed: the participant has signed and not consented to be bound.
	Signed State = "signed"
	// Withdrawn: the participant's withdrawal has taken effect.
	Withdrawn State = "withdrawn"
	// NoAct: no signature or consent recorded (on or before the date).
	NoAct State = "none"
)

// States returns every state in legend order.
func States() []State { return []State{InForce, Party, Signed, Withdrawn, NoAct} }

// Label is the state's name for people.
func (s State) Label() string {
	switch s {
	case InForce:
		return "In force"
	case Party:
		return "Party, not yet in force"
	case Signed:
		return "Signed"
	case Withdrawn:
		return "Withdrawn"
	default: // NoAct
		return "No signature or consent"
	}
}

// style is how a state is drawn: a fill and, for withdrawn, a hatch.
// The blues are a ColorBrewer sequential ramp (light to dark as a
// participant goes further), legible to every kind of colour vision; the
// withdrawn orange is the ramp's opposite hue and is also hatched.
func (s State) fill() string {
	switch s {
	case InForce:
		return "#08519c"
	case Party:
		return "#4292c6"
	case Signed:
		return "#9ecae1"
	case Withdrawn:
		return "url(#map-hatch)"
	default: // NoAct
		return "#e4e4e4"
	}
}

// StateOf is the state of a participant's row of a treaty status on date
// d (normally the status's AsOf), with a phrase for people that says it
// with its dates ("signed 25 Oct 2025", "in force since 1 Jan 2027").
func StateOf(p projections.Participation, d events.Date) (State, string) {
	switch {
	case p.Consent != nil && p.WithdrawalEffective != nil && !p.WithdrawalEffective.After(d):
		return Withdrawn, "withdrawn: its withdrawal took effect " + Friendly(*p.WithdrawalEffective)
	case p.Consent != nil && p.EntryIntoForce != nil && !p.EntryIntoForce.After(d):
		s := "in force since " + Friendly(*p.EntryIntoForce)
		if p.WithdrawalEffective != nil {
			s += "; withdrawal notified, effective " + Friendly(*p.WithdrawalEffective)
		}
		return InForce, s
	case p.Consent != nil:
		s := "party, not yet in force (" + strings.ToLower(p.Consent.Kind.Label()) + " " + Friendly(p.Consent.Date)
		if p.EntryIntoForce != nil {
			s += "; in force for it from " + Friendly(*p.EntryIntoForce)
		}
		return Party, s + ")"
	case p.Signature != nil:
		return Signed, "signed " + Friendly(*p.Signature)
	}
	if n := len(p.Earlier); n > 0 && !p.Earlier[n-1].WithdrawalEffective.After(d) {
		return Withdrawn, "withdrawn: its withdrawal took effect " + Friendly(p.Earlier[n-1].WithdrawalEffective)
	}
	return NoAct, ""
}

// Friendly writes a date for people: "25 Oct 2025".
func Friendly(d events.Date) string {
	y, m, day := d.YMD()
	return strconv.Itoa(day) + " " + m.String()[:3] + " " + strconv.Itoa(y)
}

// Participant is one participant on the map.
type Participant struct {
	// Name is the participant's canonical name.
	Name string
	// M49 is its UN M49 (ISO 3166 numeric) code; empty for a regional
	// organization or a participant the reference list does not place,
	// which are listed beside the map.
	M49 string
	// State is its standing; Detail says it with its dates, as StateOf
	// does (empty: the state's label).
	State  State
	Detail string
}

// Map is what Render draws.
type Map struct {
	// Treaty names the treaty, for the map's title ("Hanoi Convention").
	Treaty string
	// Date is the date the states describe.
	Date events.Date
	// Participants are every participant to show, normally the whole
	// reference list with each one's state (NoAct for those without a
	// row in the status). The lists beside the map keep their order.
	Participants []Participant
}

// FromStatus builds the Map of a treaty status: every participant of dir
// in the directory's order (the reference list is in the UNTC's order),
// then every participant of the status dir does not know, each with its
// state on st.AsOf.
func FromStatus(name string, st projections.Status, dir *events.Directory) Map {
	m := Map{Treaty: name, Date: st.AsOf}
	rows := map[string]projections.Participation{}
	for _, p := range st.Participants {
		rows[p.Participant] = p
	}
	seen := map[string]bool{}
	if dir != nil {
		for _, p := range dir.All() {
			seen[p.Name] = true
			e := Participant{Name: p.Name, M49: p.M49, State: NoAct}
			if row, ok := rows[p.Name]; ok {
				e.State, e.Detail = StateOf(row, st.AsOf)
			}
			m.Participants = append(m.Participants, e)
		}
	}
	for _, row := range st.Participants {
		if seen[row.Participant] {
			continue
		}
		e := Participant{Name: row.Participant}
		e.State, e.Detail = StateOf(row, st.AsOf)
		m.Participants = append(m.Participants, e)
	}
	return m
}

// country is one row of countries.tsv.
type country struct {
	m49, name string
	area      int
	x, y      float64
	path      string
}

// Renderer draws maps from the embedded map data. It is safe for
// concurrent use.
type Renderer struct {
	width, height int
	countries     []country
	byM49         map[string]int
	tmpl          *template.Template
}

// New parses the embedded map data and template.
func New() (*Renderer, error) {
	r := &Renderer{byM49: map[string]int{}}
	sc := bufio.NewScanner(strings.NewReader(countriesTSV))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Split(t, "\t")
		if f[0] == "size" && len(f) == 3 {
			w, err1 := strconv.Atoi(f[1])
			h, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("countries.tsv line %d: bad size %q", line, t)
			}
			r.width, r.height = w, h
			continue
		}
		if len(f) != 6 {
			return nil, fmt.Errorf("countries.tsv line %d: want 6 columns, got %d", line, len(f))
		}
		area, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("countries.tsv line %d: area: %w", line, err)
		}
		x, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			return nil, fmt.Errorf("countries.tsv line %d: x: %w", line, err)
		}
		y, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return nil, fmt.Errorf("countries.tsv line %d: y: %w", line, err)
		}
		c := country{m49: f[0], name: f[1], area: area, x: x, y: y, path: f[5]}
		if c.m49 != "-" {
			if _, dup := r.byM49[c.m49]; dup {
				return nil, fmt.Errorf("countries.tsv line %d: M49 %s twice", line, c.m49)
			}
			r.byM49[c.m49] = len(r.countries)
		}
		r.countries = append(r.countries, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("countries.tsv: %w", err)
	}
	if r.width == 0 {
		return nil, fmt.Errorf("countries.tsv: no size line")
	}
	t, err := template.New("map").Parse(mapTemplate)
	if err != nil {
		return nil, fmt.Errorf("map template: %w", err)
	}
	r.tmpl = t
	return r, nil
}

// Has reports whether the map data holds a shape or a marker point for
// the M49 code.
func (r *Renderer) Has(m49 string) bool {
	_, ok := r.byM49[m49]
	return ok
}

// Drawn reports whether the M49 code has a shape big enough to see.
func (r *Renderer) Drawn(m49 string) bool {
	i, ok := r.byM49[m49]
	return ok && r.countries[i].path != "" && r.countries[i].area >= SmallArea
}

// Render returns the map as an HTML figure: the SVG, the legend with the
// count of each state, the participants too small to see with their
// state, and the whole map as a list (its text alternative).
func (r *Renderer) Render(m Map) (template.HTML, error) {
	var b bytes.Buffer
	if err := r.tmpl.ExecuteTemplate(&b, "figure", r.view(m)); err != nil {
		return "", fmt.Errorf("render map: %w", err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // html/template output
}

// SVG returns the map alone, a standalone SVG document.
func (r *Renderer) SVG(m Map) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	v := r.view(m)
	v.Standalone = true
	if err := r.tmpl.ExecuteTemplate(&b, "svg", v); err != nil {
		return nil, fmt.Errorf("render map: %w", err)
	}
	return b.Bytes(), nil
}

// view is what the template draws.
type view struct {
	Width, Height int
	Standalone    bool
	Title, Desc   string
	Shapes        []shape
	Markers       []marker
	Body          template.HTML // the shapes and markers, drawn by body
	Legend        []legendRow
	OtherFill     string
	Small         []group
	All           []group
	Total         int
}

type shape struct {
	M49, Path, Fill, Stroke, Title string
	State                          State
}

// otherFill and otherStroke draw a territory that is not a participant in
// the reference list (Greenland, Western Sahara, Taiwan, Puerto Rico...):
// near white with a grey outline, unlike the grey of "no act".
const (
	otherFill   = "#fbfbfb"
	otherStroke = "#b0b7bf"
)

type marker struct {
	M49, Fill, Title string
	State            State
	X, Y             float64
}

type legendRow struct {
	State       State
	Label, Fill string
	Count       int
}

type group struct {
	State       State
	Label, Fill string
	Names       []string
}

func (r *Renderer) view(m Map) view {
	v := view{Width: r.width, Height: r.height, Total: len(m.Participants), OtherFill: otherFill}
	counts := map[State]int{}
	small := map[State][]string{}
	all := map[State][]string{}
	placed := make([]*Participant, len(r.countries))
	for i := range m.Participants {
		p := &m.Participants[i]
		st := p.State
		if st == "" {
			st = NoAct
		}
		counts[st]++
		all[st] = append(all[st], p.Name)
		idx, ok := r.byM49[p.M49]
		if !ok || p.M49 == "" {
			small[st] = append(small[st], p.Name)
			continue
		}
		placed[idx] = p
		c := r.countries[idx]
		if c.path == "" || c.area < SmallArea {
			small[st] = append(small[st], p.Name)
			v.Markers = append(v.Markers, marker{M49: c.m49, Fill: st.fill(), Title: titleOf(p.Name, st, p.Detail), State: st, X: c.x, Y: c.y})
		}
	}
	for i, c := range r.countries {
		if c.path == "" {
			continue
		}
		if p := placed[i]; p != nil {
			st := p.State
			if st == "" {
				st = NoAct
			}
			v.Shapes = append(v.Shapes, shape{M49: c.m49, Path: c.path, Fill: st.fill(), Title: titleOf(p.Name, st, p.Detail), State: st})
			continue
		}
		v.Shapes = append(v.Shapes, shape{M49: c.m49, Path: c.path, Fill: otherFill, Stroke: otherStroke, Title: c.name + ": not a participant in the list", State: "other"})
	}
	// Markers of participants with an act on top, so the Caribbean's
	// non-signatories do not hide a signatory.
	sort.SliceStable(v.Markers, func(i, j int) bool { return v.Markers[i].State == NoAct && v.Markers[j].State != NoAct })
	var parts []string
	for _, s := range States() {
		v.Legend = append(v.Legend, legendRow{State: s, Label: s.Label(), Fill: s.fill(), Count: counts[s]})
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", s.Label(), counts[s]))
		}
		if n := small[s]; len(n) > 0 {
			v.Small = append(v.Small, group{State: s, Label: s.Label(), Fill: s.fill(), Names: n})
		}
		if n := all[s]; len(n) > 0 {
			v.All = append(v.All, group{State: s, Label: s.Label(), Fill: s.fill(), Names: n})
		}
	}
	v.Body = v.body()
	v.Title = m.Treaty + ": its participants on the world map as of " + Friendly(m.Date)
	v.Desc = fmt.Sprintf("%d participants. %s.", len(m.Participants), strings.Join(parts, "; "))
	return v
}

// body draws the countries and the markers. It writes the SVG directly
// (the template engine's escaping of 200 paths per page costs 5 ms): the
// paths, codes and fills are the embedded data's and the package's own,
// and every text (a title) is escaped.
func (v view) body() template.HTML {
	var b strings.Builder
	b.Grow(48 << 10)
	b.WriteString(`<g class="countries" stroke="#ffffff" stroke-width="0.6" stroke-linejoin="round">`)
	for _, s := range v.Shapes {
		b.WriteString("\n" + `<path d="`)
		b.WriteString(s.Path)
		if s.Stroke != "" {
			b.WriteString(`" stroke="`)
			b.WriteString(s.Stroke)
		}
		b.WriteString(`"`)
		writeTail(&b, s.Fill, s.M49, s.State, s.Title, "path")
	}
	b.WriteString("\n</g>\n" + `<g class="markers">`)
	for _, m := range v.Markers {
		fmt.Fprintf(&b, "\n"+`<circle cx="%.1f" cy="%.1f" `, m.X, m.Y)
		if m.State == NoAct {
			b.WriteString(`r="2.5" stroke="#ffffff" stroke-width="0.6"`)
		} else {
			b.WriteString(`r="4" stroke="#1b1f24" stroke-width="0.8"`)
		}
		writeTail(&b, m.Fill, m.M49, m.State, m.Title, "circle")
	}
	b.WriteString("\n</g>")
	return template.HTML(b.String()) //nolint:gosec // every text is escaped above
}

// writeTail ends a country's or a marker's element: its fill, the
// attributes the page and the tests read, its escaped title, and the
// closing tag.
func writeTail(b *strings.Builder, fill, m49 string, state State, title, tag string) {
	b.WriteString(` fill="`)
	b.WriteString(fill)
	b.WriteString(`" vector-effect="non-scaling-stroke" data-m49="`)
	b.WriteString(html.EscapeString(m49))
	b.WriteString(`" data-state="`)
	b.WriteString(string(state))
	b.WriteString(`"><title>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(`</title></` + tag + `>`)
}

func titleOf(name string, st State, detail string) string {
	if detail == "" {
		detail = strings.ToLower(st.Label())
	}
	return name + ": " + detail
}
