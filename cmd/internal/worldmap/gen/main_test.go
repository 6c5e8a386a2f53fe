package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCutAntimeridian: a ring across the antimeridian (as Fiji and
// Chukotka are in world-atlas) becomes a piece on each side of it.
func TestCutAntimeridian(t *testing.T) {
	ring := [][2]float64{{170, 10}, {-170, 10}, {-170, -10}, {170, -10}, {170, 10}}
	pieces := cutAntimeridian(ring)
	if len(pieces) != 2 {
		t.Fatalf("%d pieces; want 2: %v", len(pieces), pieces)
	}
	for _, p := range pieces {
		east, west := false, false
		for _, pt := range p {
			if pt[0] < -180 || pt[0] > 180 {
				t.Errorf("point %v outside ±180", pt)
			}
			east, west = east || pt[0] > 0, west || pt[0] < 0
		}
		if east == west {
			t.Errorf("piece %v is not on one side", p)
		}
	}
	if got := cutAntimeridian(ring[:0:0]); len(got) != 1 {
		t.Errorf("a ring that does not cross: %d pieces", len(got))
	}
}

// TestRunWritesTheTable runs the generator on a tiny topology: two
// countries sharing an arc, and a participant found only in the 1:50m file.
func TestRunWritesTheTable(t *testing.T) {
	dir := t.TempDir()
	// Arc 0: the shared border (0,0)→(0,10); arc 1: A's rest; arc 2: B's rest.
	// No transform: coordinates are degrees.
	topo := `{"type":"Topology","objects":{"countries":{"type":"GeometryCollection","geometries":[
	 {"type":"Polygon","id":"111","properties":{"name":"A"},"arcs":[[0,1]]},
	 {"type":"Polygon","id":"222","properties":{"name":"B"},"arcs":[[-1,2]]}]}},
	 "arcs":[[[0,0],[0,10]],[[0,10],[-10,10],[-10,0],[0,0]],[[0,0],[10,0],[10,10],[0,10]]]}`
	small := `{"type":"Topology","objects":{"countries":{"type":"GeometryCollection","geometries":[
	 {"type":"Polygon","id":"333","properties":{"name":"C"},"arcs":[[0]]}]}},
	 "arcs":[[[20,20],[20.1,20],[20.1,20.1],[20,20.1],[20,20]]]}`
	for name, body := range map[string]string{"countries-110m.json": topo, "countries-50m.json": small, "countries-10m.json": small} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	csv := "name,iso3,m49,region,subregion,kind,eu_member,aliases\nA,AAA,111,,,member,false,\nB,BBB,222,,,member,false,\nC,CCC,333,,,member,false,\nEU,,,,,reio,false,\n"
	pcsv := filepath.Join(dir, "participants.csv")
	if err := os.WriteFile(pcsv, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "countries.tsv")
	if err := run([]string{"-atlas", dir, "-participants", pcsv, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.HasPrefix(line, "#") {
			f := strings.Split(line, "\t")
			rows[f[0]] = f
		}
	}
	if len(rows["111"]) != 6 || !strings.HasPrefix(rows["111"][5], "M") || !strings.HasSuffix(rows["111"][5], "z") {
		t.Errorf("A = %q; want a closed path", rows["111"])
	}
	if len(rows["333"]) != 6 || rows["333"][5] != "" || rows["333"][3] == "" {
		t.Errorf("C = %q; want a marker point and no path", rows["333"])
	}
	// A and B are 10° squares at the equator: about 1.23 million km² each.
	for _, id := range []string{"111", "222"} {
		if a := rows[id][2]; len(a) != 7 || a[0] != '1' {
			t.Errorf("area of %s = %s km²; want about 1,230,000", id, a)
		}
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-participants", pcsv}, io.Discard); err == nil || !strings.Contains(err.Error(), "-atlas is empty") {
		t.Errorf("without -atlas: %v", err)
	}
}
