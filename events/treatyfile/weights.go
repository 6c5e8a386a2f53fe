package treatyfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/treatywatch/treatywatch/events"
)

// weightsFile reads a share's weights from a CSV file of participant,weight
// rows, named relative to the definition's folder. A header row
// "participant,weight" is optional; lines starting with # are comments.
// Every problem in the file is reported at the weights_file line, with the
// CSV file's own line in the message.
func (p *parser) weightsFile(n *yaml.Node, field string) map[string]float64 {
	name, ok := p.text(n, field, events.LineText)
	if !ok {
		return nil
	}
	clean := path.Clean(strings.ReplaceAll(name, `\`, "/"))
	if !fs.ValidPath(clean) {
		p.fail(n, field, nil, "%q must name a file in the definition's folder or below it", name)
		return nil
	}
	if p.dir == nil {
		p.fail(n, field, nil, "cannot read %q: no folder to read it from (parse the definition with ParseFile or ParseFS)", name)
		return nil
	}
	data, err := readLimited(p.dir, clean)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			p.fail(n, field, err, "cannot read %q: no such file next to the definition", name)
		} else {
			p.fail(n, field, err, "cannot read %q: %v", name, err)
		}
		return nil
	}
	r := csv.NewReader(strings.NewReader(string(data)))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	out := map[string]float64{}
	first := map[string]int{}
	before := len(p.errs)
	for row := 0; ; row++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			p.fail(n, field, err, "%s: %v", name, err)
			return nil
		}
		line, _ := r.FieldPos(0)
		at := func(format string, args ...any) {
			p.fail(n, field, nil, "%s line %d: %s", name, line, fmt.Sprintf(format, args...))
		}
		if len(rec) != 2 {
			at("want 2 columns (participant,weight), got %d", len(rec))
			continue
		}
		who, weight := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if row == 0 && strings.EqualFold(who, "participant") && strings.EqualFold(weight, "weight") {
			continue
		}
		if err := events.CheckText("", who, events.NameText); err != nil {
			at("%v", err)
			continue
		}
		w, err := strconv.ParseFloat(weight, 64)
		if !isDecimalNumber(weight) || err != nil || math.IsNaN(w) || math.IsInf(w, 0) || w < 0 || w > events.MaxSharePercent {
			at("weight %q is not a percentage from 0 to 100 written with the digits 0-9 and an optional decimal point", weight)
			continue
		}
		pt, err := p.resolve(who)
		if err != nil {
			p.fail(n, field, err, "%s line %d: %v", name, line, err)
			continue
		}
		if l, dup := first[pt]; dup {
			at("%q is %s, already weighted on line %d", who, pt, l)
			continue
		}
		first[pt] = line
		out[pt] = w
	}
	if len(out) == 0 && len(p.errs) == before {
		p.fail(n, field, nil, "%s has no weights", name)
	}
	return out
}

// readLimited reads a file of at most MaxFileBytes from fsys.
func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("the file is more than %d bytes long", MaxFileBytes)
	}
	return data, nil
}
