package events

import (
	_ "embed" // the reference list of participants
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

//go:embed participants.csv
var referenceCSV string

// Participant kinds.
const (
	KindMember    = "member"     // UN member State
	KindObserver  = "observer"   // non-member observer State
	KindNonMember = "non-member" // Cook Islands, Niue
	KindREIO      = "reio"       // regional economic integration organization
	KindOther     = "other"      // registered by an officer
)

// Participant is one canonical identity that can act on treaties.
type Participant struct {
	// Name is the UN Treaty Collection spelling ("Viet Nam", "Türkiye").
	Name      string   `json:"name"`
	ISO3      string   `json:"iso3,omitempty"`
	M49       string   `json:"m49,omitempty"`
	Region    string   `json:"region,omitempty"`
	Subregion string   `json:"subregion,omitempty"`
	Kind      string   `json:"kind"`
	EUMember  bool     `json:"eu_member,omitempty"`
	Aliases   []string `json:"aliases,omitempty"`
}

// IsREIO reports whether p is a regional economic integration organization.
func (p Participant) IsREIO() bool { return p.Kind == KindREIO }

// Directory resolves names to canonical participants: the reference list
// shipped with treatywatch plus participants registered in the ledger.
// Matching ignores case, accents, curly apostrophes, footnote markers and
// extra spaces. A Directory is safe for concurrent reads; Add is not safe
// concurrently with anything.
type Directory struct {
	list  []Participant
	index map[string]int      // normalized name or alias → list index
	exact map[string]exactKey // name, alias or code exactly as added (a fast path: no folding)
}

// NewDirectory returns a directory of the shipped reference list (198
// participants: UN members and observers, Cook Islands, Niue, the EU).
func NewDirectory() (*Directory, error) {
	r := csv.NewReader(strings.NewReader(referenceCSV))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reference participants: %w", err)
	}
	d := &Directory{index: map[string]int{}, exact: map[string]exactKey{}}
	for i, row := range rows[1:] {
		if len(row) != 8 {
			return nil, fmt.Errorf("reference participants line %d: want 8 columns, got %d", i+2, len(row))
		}
		eu, _ := strconv.ParseBool(row[6])
		p := Participant{Name: row[0], ISO3: row[1], M49: row[2], Region: row[3], Subregion: row[4], Kind: row[5], EUMember: eu}
		if row[7] != "" {
			p.Aliases = strings.Split(row[7], ";")
		}
		if err := d.Add(p); err != nil {
			return nil, fmt.Errorf("reference participants line %d: %w", i+2, err)
		}
	}
	return d, nil
}

// Add registers a participant. It refuses a name or alias that is not a
// plausible name (see CheckName), an ISO code that is not three capital
// letters, and a name, alias or ISO code that already resolves to another
// participant.
func (d *Directory) Add(p Participant) error {
	if err := CheckName("participant", p.Name); err != nil {
		return err
	}
	for i, a := range p.Aliases {
		if err := CheckName(fmt.Sprintf("participant %s: alias %d", p.Name, i+1), a); err != nil {
			return err
		}
	}
	if p.ISO3 != "" && !isISO3(p.ISO3) {
		return &InvalidError{Field: "participant " + p.Name, Reason: fmt.Sprintf("ISO 3166 alpha-3 code %q is not three capital letters", clip(p.ISO3))}
	}
	if p.Kind == "" {
		p.Kind = KindOther
	}
	idx := len(d.list)
	keys := append([]string{p.Name}, p.Aliases...)
	if p.ISO3 != "" {
		keys = append(keys, p.ISO3)
	}
	for _, k := range keys {
		if j, ok := d.index[Normalize(k)]; ok {
			return &InvalidError{Field: "participant", Reason: fmt.Sprintf("%q already names %s", k, d.list[j].Name)}
		}
	}
	d.list = append(d.list, p)
	for _, k := range keys {
		d.index[Normalize(k)] = idx
		d.exact[k] = exactKey{idx, Normalize(k)}
	}
	return nil
}

// CheckName checks a name a participant is registered under: not empty
// nor only spaces, no surrounding spaces, text a NameText field may hold
// (see CheckText: at most MaxNameBytes bytes, no control, bidirectional or
// invisible format character), and at least one letter. It returns nil or
// an error wrapping ErrInvalid that names field.
func CheckName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return &InvalidError{Field: field, Reason: "name is empty"}
	}
	if err := CheckText(field, name, NameText); err != nil {
		return err
	}
	if strings.TrimSpace(name) != name {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("name %q has spaces around it", name)}
	}
	if strings.IndexFunc(name, unicode.IsLetter) < 0 {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("name %q has no letter", name)}
	}
	return nil
}

func isISO3(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Resolve returns the canonical participant a name, alias or ISO 3166
// alpha-3 code stands for. A name that is empty (or only spaces) gives an
// *InvalidError, and a name a NameText field cannot hold an
// *InvalidTextError or *TextTooLongError (see CheckText), all wrapping
// ErrInvalid; a name that resolves to nobody gives an
// *UnknownParticipantError listing the closest known names.
func (d *Directory) Resolve(name string) (Participant, error) {
	if strings.TrimSpace(name) == "" {
		return Participant{}, &InvalidError{Field: "participant", Reason: "is required"}
	}
	if err := CheckText("participant", name, NameText); err != nil {
		return Participant{}, err
	}
	if k, ok := d.exact[name]; ok {
		return d.list[k.index], nil
	}
	if i, ok := d.index[Normalize(name)]; ok {
		return d.list[i], nil
	}
	return Participant{}, &UnknownParticipantError{Name: name, Closest: d.Closest(name, 3)}
}

// Nearest returns the canonical name of the participant one of whose
// names, aliases or ISO code is nearest to name, and that edit distance
// between the normalized forms (see Normalize); "" and -1 for an empty
// directory.
func (d *Directory) Nearest(name string) (string, int) {
	q := Normalize(name)
	best, bestDist := -1, -1
	for key, i := range d.index {
		dist := EditDistance(q, key)
		if bestDist < 0 || dist < bestDist || dist == bestDist && d.list[i].Name < d.list[best].Name {
			best, bestDist = i, dist
		}
	}
	if best < 0 {
		return "", -1
	}
	return d.list[best].Name, bestDist
}

// Lookup is Resolve without the error: the participant and whether it exists.
func (d *Directory) Lookup(name string) (Participant, bool) {
	if k, ok := d.exact[name]; ok {
		return d.list[k.index], true
	}
	i, ok := d.index[Normalize(name)]
	if !ok {
		return Participant{}, false
	}
	return d.list[i], true
}

// All returns every participant, in the order they were added.
func (d *Directory) All() []Participant { return append([]Participant(nil), d.list...) }

// EUMembers returns the canonical names of the member States of the
// European Union.
func (d *Directory) EUMembers() []string {
	var out []string
	for _, p := range d.list {
		if p.EUMember {
			out = append(out, p.Name)
		}
	}
	return out
}

// Closest returns up to n canonical names closest to name (by edit
// distance over names and aliases, and by prefix), best first.
func (d *Directory) Closest(name string, n int) []string {
	q := Normalize(name)
	best := map[int]int{}
	for key, i := range d.index {
		dist := EditDistance(q, key)
		if strings.HasPrefix(key, q) || strings.Contains(key, q) && len(q) >= 4 {
			dist = min(dist, 1+len(key)/10)
		}
		if cur, ok := best[i]; !ok || dist < cur {
			best[i] = dist
		}
	}
	type cand struct {
		i, dist int
	}
	var cands []cand
	for i, dist := range best {
		cands = append(cands, cand{i, dist})
	}
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].dist != cands[b].dist {
			return cands[a].dist < cands[b].dist
		}
		return d.list[cands[a].i].Name < d.list[cands[b].i].Name
	})
	var out []string
	for _, c := range cands {
		if len(out) == n {
			break
		}
		out = append(out, d.list[c.i].Name)
	}
	return out
}

var foldMap = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'å': 'a', 'ā': 'a', 'ă': 'a', 'ą': 'a',
	'ç': 'c', 'ć': 'c', 'č': 'c', 'ď': 'd', 'đ': 'd',
	'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e', 'ē': 'e', 'ė': 'e', 'ę': 'e', 'ě': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ī': 'i', 'ı': 'i',
	'ñ': 'n', 'ń': 'n', 'ň': 'n',
	'ò': 'o', 'ó': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o', 'ø': 'o', 'ō': 'o', 'ő': 'o',
	'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u', 'ū': 'u', 'ů': 'u', 'ű': 'u',
	'ý': 'y', 'ÿ': 'y', 'ś': 's', 'š': 's', 'ş': 's', 'ș': 's', 'ť': 't', 'ţ': 't', 'ț': 't',
	'ź': 'z', 'ż': 'z', 'ž': 'z', 'ł': 'l', 'ř': 'r', 'ğ': 'g',
	'’': '\'', '‘': '\'', 'ʼ': '\'', '`': '\'',
	'–': '-', '—': '-',
}

// Normalize folds a participant name for matching: lower case, accents
// removed, curly apostrophes straightened, UNTC footnote digits after the
// name dropped ("Netherlands (Kingdom of the)1"), spaces collapsed.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if f, ok := foldMap[r]; ok {
			r = f
		}
		b.WriteRune(r)
	}
	out := strings.TrimRightFunc(b.String(), func(r rune) bool { return unicode.IsDigit(r) || unicode.IsSpace(r) || r == ',' })
	if out == "" { // a name of digits only is not a footnote
		out = strings.ToLower(strings.TrimSpace(s))
	}
	return strings.Join(strings.Fields(out), " ")
}

// EditDistance is the Levenshtein distance between a and b, in runes: how
// many insertions, deletions and substitutions turn one into the other.
// It ranks "did you mean" suggestions.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// exactKey is what a name exactly as added stands for: its participant's
// index and the name's normalized form.
type exactKey struct {
	index int
	norm  string
}

// Key returns Normalize(name), from the directory's memory when name is a
// name, alias or code exactly as added.
func (d *Directory) Key(name string) string {
	if k, ok := d.exact[name]; ok {
		return k.norm
	}
	return Normalize(name)
}

// Clone returns a copy of d that can be extended without changing d.
func (d *Directory) Clone() *Directory {
	c := &Directory{list: append([]Participant(nil), d.list...), index: make(map[string]int, len(d.index)), exact: make(map[string]exactKey, len(d.exact))}
	for k, v := range d.index {
		c.index[k] = v
	}
	for k, v := range d.exact {
		c.exact[k] = v
	}
	return c
}
