package treatyfile_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// FuzzParse: a definition file Parse accepts validates, marshals, and
// round-trips: Parse(Marshal(def)) is def again, and marshalling that
// gives the same bytes. A file it refuses is refused as invalid input
// (never "not found"), with at least one located problem. The seed corpus
// (testdata/fuzz/FuzzParse) holds the shipped definitions and variants of
// them; weights.csv beside the file is the Paris Agreement's table.
func FuzzParse(f *testing.F) {
	dir := MustDirectory(f)
	weights := fstest.MapFS{
		"weights.csv": {Data: []byte("participant,weight\nChina,20.09\nUnited States of America,17.89\nTurkey,1.24\nCzech Republic,0.34\n")},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := treatyfile.Parse(data, weights, dir)
		if err != nil {
			var errs treatyfile.Errors
			if !errors.As(err, &errs) || len(errs) == 0 || !errors.Is(err, events.ErrInvalid) || errors.Is(err, events.ErrNotFound) {
				t.Fatalf("Parse error %T %v: want a non-empty treatyfile.Errors wrapping only ErrInvalid", err, err)
			}
			for _, e := range errs {
				if e.Msg == "" {
					t.Fatalf("a problem without a message in %v", err)
				}
			}
			return
		}
		if err := def.Validate(); err != nil {
			t.Fatalf("Parse accepted a definition that does not validate: %v", err)
		}
		out, err := treatyfile.Marshal(def)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := treatyfile.Parse(out, nil, dir)
		if err != nil {
			t.Fatalf("Parse(Marshal(def)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, def) {
			t.Fatalf("round trip changed the definition:\n%+v\n%+v\n%s", def, back, out)
		}
		again, err := treatyfile.Marshal(back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Marshal not stable (%v):\n%s\n%s", err, out, again)
		}
	})
}
