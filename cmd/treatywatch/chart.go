package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/chart"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

func runChart(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("chart", flag.ContinueOnError)
	asOf, knownAt := timeFlags(fs)
	out := fs.String("out", "", "write the chart to this file: FILE.svg or FILE.png (required)")
	size := fs.String("size", "desktop", "desktop (wide) or phone (narrow, larger type)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("chart: want exactly one treaty ID (or name)")
	}
	if *out == "" {
		return usagef("chart: --out FILE.svg or FILE.png is required")
	}
	format, err := chart.FormatOf(*out)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	layout, err := chart.ParseLayout(*size)
	if err != nil {
		return fmt.Errorf("--size: %w", err)
	}
	l, id, err := m.openTreaty(ctx, pos[0])
	if err != nil {
		return err
	}
	d, k, err := m.timeAxes(l, *asOf, *knownAt)
	if err != nil {
		return err
	}
	c, err := m.curveAt(ctx, l, id, d, k)
	if err != nil {
		return err
	}
	drawing, err := chart.Treaty(c, layout)
	if err != nil {
		return err
	}
	return writeChartFile(m.stdout, *out, drawing, format)
}

// curveAt folds a treaty as known at knownAt and returns its curve up to
// asOf, from the same status statusAt computes (a protocol's with its
// parent's).
func (m *Main) curveAt(ctx context.Context, l *events.Ledger, id string, asOf events.Date, knownAt time.Time) (projections.Curve, error) {
	st, err := m.statusAt(ctx, l, id, asOf, knownAt)
	if err != nil {
		return projections.Curve{}, err
	}
	h, err := l.History(ctx, id, knownAt)
	if err != nil {
		return projections.Curve{}, err
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		return projections.Curve{}, err
	}
	return projections.CurveOf(h, dir, st), nil
}

// writeChartFile writes a drawing to path in format, through a temporary
// file in the same folder so that a failure leaves no half-written chart,
// and says on w what it wrote.
func writeChartFile(w io.Writer, path string, d *chart.Drawing, format chart.Format) error {
	var buf bytes.Buffer
	if err := d.Write(&buf, format); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".chart-*")
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err // not the temporary file's name: the folder's
		}
		return fmt.Errorf("--out %s: cannot write in %s: %w", path, dir, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(buf.Bytes()); err != nil {
		_ = f.Close()
		return fmt.Errorf("--out: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		_ = f.Close()
		return fmt.Errorf("--out: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	_, err = fmt.Fprintf(w, "wrote %s (%s, %d bytes): %s\n", path, format, buf.Len(), d.Title)
	return err
}
