package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// Output geometry: the Equal Earth projection scaled so the map (without
// Antarctica) is Width units wide; coordinates are rounded to whole units.
const (
	// Width is the width of the map in SVG user units.
	Width = 1000.0
	// Tolerance is the Douglas–Peucker tolerance, in units.
	Tolerance = 0.5
	// earthKM2 is the surface of the Earth in km² (the authalic sphere).
	earthKM2 = 510_065_622.0
)

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	atlas := fs.String("atlas", "", "folder of the unpacked world-atlas npm package (countries-110m.json, countries-50m.json, countries-10m.json)")
	participants := fs.String("participants", "", "the reference participants CSV (events/participants.csv)")
	out := fs.String("out", "countries.tsv", "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *atlas == "" {
		return errors.New("-atlas is empty: unpack the npm package world-atlas@2 (npm pack world-atlas@2.0.2; tar xzf world-atlas-2.0.2.tgz) and pass its folder, e.g. WORLD_ATLAS=$PWD/package go generate ./cmd/internal/worldmap")
	}
	if *participants == "" {
		return errors.New("-participants is empty: pass events/participants.csv")
	}
	m49s, err := readParticipants(*participants)
	if err != nil {
		return err
	}
	var sums []string
	load := func(name string) (*topology, error) {
		path := filepath.Join(*atlas, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		h := sha256.Sum256(b)
		sums = append(sums, fmt.Sprintf("# %s sha256 %s", name, hex.EncodeToString(h[:])))
		var t topology
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if t.Objects.Countries.Type != "GeometryCollection" {
			return nil, fmt.Errorf("%s: objects.countries is %q, want a GeometryCollection", path, t.Objects.Countries.Type)
		}
		return &t, nil
	}
	small, err := load("countries-110m.json")
	if err != nil {
		return err
	}
	var points []*topology
	for _, name := range []string{"countries-50m.json", "countries-10m.json"} {
		t, err := load(name)
		if err != nil {
			return err
		}
		points = append(points, t)
	}

	shapes := small.shapes()
	// Drop Antarctica: it is no participant and takes a fifth of the height.
	kept := shapes[:0]
	for _, s := range shapes {
		if s.id != "010" {
			kept = append(kept, s)
		}
	}
	shapes = kept
	// The scale: the projected x extent of the sphere at the equator.
	x0, _ := equalEarth(-math.Pi, 0)
	x1, _ := equalEarth(math.Pi, 0)
	scale := Width / (x1 - x0)
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, s := range shapes {
		for _, poly := range s.polys {
			for _, ring := range poly {
				for _, p := range ring {
					_, y := equalEarth(p[0]*math.Pi/180, p[1]*math.Pi/180)
					minY, maxY = math.Min(minY, -y), math.Max(maxY, -y)
				}
			}
		}
	}
	height := math.Ceil((maxY - minY) * scale)
	proj := func(lon, lat float64) (float64, float64) {
		x, y := equalEarth(lon*math.Pi/180, lat*math.Pi/180)
		return (x - x0) * scale, (-y - minY) * scale
	}
	unitKM2 := earthKM2 / (4 * math.Pi) // km² per unit² of the unit-sphere projection

	// Simplify every arc once, so that shared borders stay shared: the
	// points kept are chosen in the projection, and stay in degrees until
	// each ring is cut at the antimeridian.
	ll := small.lonLatArcs()
	simple := make([][][2]float64, len(ll))
	for i, a := range ll {
		simple[i] = simplify(a, proj, Tolerance)
	}

	type row struct {
		id, name string
		area     float64
		cx, cy   float64
		path     string
	}
	var rows []row
	drawn := map[string]bool{}
	for _, s := range shapes {
		r := row{id: s.id, name: s.name}
		var best float64
		r.path = shapePath(s.arcRefs, simple, proj)
		if r.path == "" { // simplified away: draw the unsimplified outline
			r.path = shapePath(s.arcRefs, ll, proj)
		}
		for _, poly := range s.polys {
			var a float64
			for _, ring := range poly {
				a += sphereArea(ring)
			}
			a = math.Abs(a)
			r.area += a * unitKM2
			if a > best {
				best = a
				r.cx, r.cy = centroid(poly[0], proj)
			}
		}
		if r.id == "" {
			r.id = "-"
		}
		drawn[r.id] = true
		rows = append(rows, r)
	}
	// Participants missing from the 1:110m data: a marker point only.
	var missing []string
	for _, id := range m49s {
		if drawn[id] {
			continue
		}
		found := false
		for _, t := range points {
			for _, s := range t.shapes() {
				if s.id != id {
					continue
				}
				r := row{id: id, name: s.name}
				var best float64
				for _, poly := range s.polys {
					var a float64
					for _, ring := range poly {
						a += sphereArea(ring)
					}
					a = math.Abs(a)
					r.area += a * unitKM2
					if a > best {
						best = a
						r.cx, r.cy = centroid(poly[0], proj)
					}
				}
				rows = append(rows, r)
				found = true
				break
			}
			if found {
				break
			}
		}
		if !found {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("participants %s are in none of the atlas files", strings.Join(missing, ", "))
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].id != rows[j].id {
			return rows[i].id < rows[j].id
		}
		return rows[i].name < rows[j].name
	})

	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "# Generated by cmd/internal/worldmap/gen from the npm package world-atlas 2.0.2 (Natural Earth 4.1.0, public domain). Do not edit.")
	for _, s := range sums {
		fmt.Fprintln(w, s)
	}
	fmt.Fprintf(w, "# Equal Earth projection; columns: m49, name, area_km2, marker x, marker y, SVG path (empty: too small for 1:110m)\n")
	fmt.Fprintf(w, "size\t%d\t%d\n", int(Width), int(height))
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%d\t%.1f\t%.1f\t%s\n", r.id, r.name, int(math.Round(r.area)), r.cx, r.cy, r.path)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows, %d bytes, %dx%d\n", *out, len(rows), st.Size(), int(Width), int(height))
	return nil
}

func readParticipants(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 || len(rows[0]) < 3 || rows[0][2] != "m49" {
		return nil, fmt.Errorf("%s: want a header with m49 as the third column", path)
	}
	var out []string
	for _, r := range rows[1:] {
		if r[2] != "" {
			out = append(out, r[2])
		}
	}
	return out, nil
}

// topology is the part of a TopoJSON topology gen reads.
type topology struct {
	Type      string `json:"type"`
	Transform *struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Objects struct {
		Countries struct {
			Type       string     `json:"type"`
			Geometries []geometry `json:"geometries"`
		} `json:"countries"`
	} `json:"objects"`
	Arcs [][][2]float64 `json:"arcs"`
}

type geometry struct {
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	Arcs       json.RawMessage `json:"arcs"`
	Properties struct {
		Name string `json:"name"`
	} `json:"properties"`
}

// shape is one country: its polygons as arc references and as lon/lat rings.
type shape struct {
	id, name string
	arcRefs  [][][]int
	polys    [][][][2]float64
}

// lonLatArcs decodes the delta-encoded, quantized arcs to degrees.
func (t *topology) lonLatArcs() [][][2]float64 {
	out := make([][][2]float64, len(t.Arcs))
	for i, a := range t.Arcs {
		pts := make([][2]float64, len(a))
		var x, y float64
		for j, p := range a {
			if t.Transform != nil {
				x, y = x+p[0], y+p[1]
				pts[j] = [2]float64{x*t.Transform.Scale[0] + t.Transform.Translate[0], y*t.Transform.Scale[1] + t.Transform.Translate[1]}
			} else {
				pts[j] = p
			}
		}
		out[i] = pts
	}
	return out
}

func (t *topology) shapes() []shape {
	ll := t.lonLatArcs()
	var out []shape
	for _, g := range t.Objects.Countries.Geometries {
		s := shape{id: g.ID, name: g.Properties.Name}
		switch g.Type {
		case "Polygon":
			var p [][]int
			if json.Unmarshal(g.Arcs, &p) == nil {
				s.arcRefs = [][][]int{p}
			}
		case "MultiPolygon":
			_ = json.Unmarshal(g.Arcs, &s.arcRefs)
		default:
			continue
		}
		for _, poly := range s.arcRefs {
			var rings [][][2]float64
			for _, ring := range poly {
				var pts [][2]float64
				for _, a := range ring {
					pts = appendArcF(pts, ll[arcIndex(a)], a < 0)
				}
				rings = append(rings, pts)
			}
			s.polys = append(s.polys, rings)
		}
		out = append(out, s)
	}
	return out
}

// arcIndex resolves a TopoJSON arc reference: ~i (negative) is arc i reversed.
func arcIndex(a int) int {
	if a < 0 {
		return ^a
	}
	return a
}

func appendArcF(ring [][2]float64, arc [][2]float64, reversed bool) [][2]float64 {
	n := len(arc)
	for k := range n {
		p := arc[k]
		if reversed {
			p = arc[n-1-k]
		}
		if k == 0 && len(ring) > 0 {
			continue // the previous arc ended here
		}
		ring = append(ring, p)
	}
	return ring
}

// shapePath is the SVG path of a country's polygons, given as arc
// references into arcs (degrees): each ring is cut at the antimeridian,
// projected and quantized.
func shapePath(polys [][][]int, arcs [][][2]float64, proj func(lon, lat float64) (float64, float64)) string {
	var rings [][][2]int
	for _, poly := range polys {
		for _, refs := range poly {
			var ring [][2]float64
			for _, a := range refs {
				ring = appendArcF(ring, arcs[arcIndex(a)], a < 0)
			}
			for _, piece := range cutAntimeridian(ring) {
				pts := make([][2]float64, len(piece))
				for i, p := range piece {
					x, y := proj(p[0], p[1])
					pts[i] = [2]float64{x, y}
				}
				rings = append(rings, quantize(pts))
			}
		}
	}
	return pathOf(rings)
}

// cutAntimeridian returns a ring that crosses the antimeridian (a step of
// more than 180° of longitude) as the pieces on either side of it, each
// closed along the meridian; any other ring as it is. Polar rings
// (Antarctica) are not handled: gen drops Antarctica.
func cutAntimeridian(ring [][2]float64) [][][2]float64 {
	crosses := false
	for i := 1; i < len(ring); i++ {
		crosses = crosses || math.Abs(ring[i][0]-ring[i-1][0]) > 180
	}
	if !crosses {
		return [][][2]float64{ring}
	}
	// Unwrap the longitudes, so the ring is continuous past ±180.
	un := make([][2]float64, len(ring))
	off := 0.0
	for i, p := range ring {
		if i > 0 {
			switch d := p[0] + off - un[i-1][0]; {
			case d > 180:
				off -= 360
			case d < -180:
				off += 360
			}
		}
		un[i] = [2]float64{p[0] + off, p[1]}
	}
	var out [][][2]float64
	for _, w := range []struct{ lo, hi, shift float64 }{{-180, 180, 0}, {180, 540, -360}, {-540, -180, 360}} {
		piece := clipLon(clipLon(un, w.lo, true), w.hi, false)
		if len(piece) < 3 {
			continue
		}
		for i := range piece {
			piece[i][0] += w.shift
		}
		out = append(out, piece)
	}
	return out
}

// clipLon clips a ring to lon ≥ at (keepAbove) or lon ≤ at
// (Sutherland–Hodgman against one meridian).
func clipLon(ring [][2]float64, at float64, keepAbove bool) [][2]float64 {
	in := func(p [2]float64) bool {
		if keepAbove {
			return p[0] >= at
		}
		return p[0] <= at
	}
	var out [][2]float64
	for i := range ring {
		cur, prev := ring[i], ring[(i+len(ring)-1)%len(ring)]
		if in(cur) != in(prev) {
			t := (at - prev[0]) / (cur[0] - prev[0])
			out = append(out, [2]float64{at, prev[1] + t*(cur[1]-prev[1])})
		}
		if in(cur) {
			out = append(out, cur)
		}
	}
	return out
}

// simplify chooses the points of an arc that Douglas–Peucker keeps in the
// projection, and always the two ends of a step across the antimeridian.
func simplify(arc [][2]float64, proj func(lon, lat float64) (float64, float64), tol float64) [][2]float64 {
	if len(arc) < 3 {
		return arc
	}
	pts := make([][2]float64, len(arc))
	for i, p := range arc {
		x, y := proj(p[0], p[1])
		pts[i] = [2]float64{x, y}
	}
	keep := make([]bool, len(arc))
	keep[0], keep[len(arc)-1] = true, true
	for i := 1; i < len(arc); i++ {
		if math.Abs(arc[i][0]-arc[i-1][0]) > 180 {
			keep[i], keep[i-1] = true, true
		}
	}
	// Douglas–Peucker between consecutive forced points.
	var rec func(i, j int)
	rec = func(i, j int) {
		if j <= i+1 {
			return
		}
		best, at := -1.0, -1
		for k := i + 1; k < j; k++ {
			if d := segDist(pts[k], pts[i], pts[j]); d > best {
				best, at = d, k
			}
		}
		if best > tol {
			keep[at] = true
			rec(i, at)
			rec(at, j)
		}
	}
	start := 0
	for k := 1; k < len(arc); k++ {
		if keep[k] {
			rec(start, k)
			start = k
		}
	}
	var out [][2]float64
	for i, p := range arc {
		if keep[i] {
			out = append(out, p)
		}
	}
	return out
}

// equalEarth projects a point on the unit sphere (radians) with the Equal
// Earth projection (Šavrič, Patterson and Jenny, 2018); y grows north.
func equalEarth(lambda, phi float64) (float64, float64) {
	const a1, a2, a3, a4 = 1.340264, -0.081106, 0.000893, 0.003796
	m := math.Sqrt(3) / 2
	theta := math.Asin(m * math.Sin(phi))
	t2 := theta * theta
	t6 := t2 * t2 * t2
	x := lambda * math.Cos(theta) / (m * (a1 + 3*a2*t2 + t6*(7*a3+9*a4*t2)))
	y := theta * (a1 + a2*t2 + t6*(a3+a4*t2))
	return x, y
}

// sphereArea is the signed area of a lon/lat ring in the (equal-area)
// projection of the unit sphere, so that the whole sphere is 4π.
func sphereArea(ring [][2]float64) float64 {
	var s float64
	for i := range ring {
		j := (i + 1) % len(ring)
		x1, y1 := equalEarth(ring[i][0]*math.Pi/180, ring[i][1]*math.Pi/180)
		x2, y2 := equalEarth(ring[j][0]*math.Pi/180, ring[j][1]*math.Pi/180)
		s += x1*y2 - x2*y1
	}
	return s / 2
}

// centroid is the area centroid of a ring, in map units.
func centroid(ring [][2]float64, proj func(lon, lat float64) (float64, float64)) (float64, float64) {
	var a, cx, cy float64
	pts := make([][2]float64, len(ring))
	for i, p := range ring {
		x, y := proj(p[0], p[1])
		pts[i] = [2]float64{x, y}
	}
	for i := range pts {
		j := (i + 1) % len(pts)
		c := pts[i][0]*pts[j][1] - pts[j][0]*pts[i][1]
		a += c
		cx += (pts[i][0] + pts[j][0]) * c
		cy += (pts[i][1] + pts[j][1]) * c
	}
	if math.Abs(a) < 1e-9 { // a degenerate ring: the mean of its points
		for _, p := range pts {
			cx, cy = cx+p[0], cy+p[1]
		}
		return cx / float64(len(pts)), cy / float64(len(pts))
	}
	return cx / (3 * a), cy / (3 * a)
}

func segDist(p, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	if dx == 0 && dy == 0 {
		return math.Hypot(p[0]-a[0], p[1]-a[1])
	}
	t := ((p[0]-a[0])*dx + (p[1]-a[1])*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(p[0]-a[0]-t*dx, p[1]-a[1]-t*dy)
}

// quantize rounds to whole units and drops repeated points.
func quantize(pts [][2]float64) [][2]int {
	var out [][2]int
	for _, p := range pts {
		q := [2]int{int(math.Round(p[0])), int(math.Round(p[1]))}
		if len(out) > 0 && out[len(out)-1] == q {
			continue
		}
		out = append(out, q)
	}
	return out
}

// pathOf writes rings as SVG path data: an absolute move, relative lines,
// and a close; rings with fewer than three distinct points are dropped.
func pathOf(rings [][][2]int) string {
	var b strings.Builder
	for _, ring := range rings {
		if len(ring) > 1 && ring[len(ring)-1] == ring[0] {
			ring = ring[:len(ring)-1]
		}
		if len(ring) < 3 {
			continue
		}
		b.WriteString("M")
		b.WriteString(strconv.Itoa(ring[0][0]))
		b.WriteString(" ")
		b.WriteString(strconv.Itoa(ring[0][1]))
		b.WriteString("l")
		for i := 1; i < len(ring); i++ {
			dx, dy := ring[i][0]-ring[i-1][0], ring[i][1]-ring[i-1][1]
			if i > 1 && dx >= 0 {
				b.WriteString(" ")
			}
			b.WriteString(strconv.Itoa(dx))
			if dy >= 0 {
				b.WriteString(" ")
			}
			b.WriteString(strconv.Itoa(dy))
		}
		b.WriteString("z")
	}
	return b.String()
}
