package chart

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/treatywatch/treatywatch/events"
)

// Format is a file format a Drawing is written in.
type Format string

// The formats.
const (
	SVG Format = "svg"
	PNG Format = "png"
)

// ContentType is the format's media type.
func (f Format) ContentType() string {
	if f == PNG {
		return "image/png"
	}
	return "image/svg+xml"
}

// FormatError is a file name or format name that is neither SVG nor PNG.
// It wraps events.ErrInvalid.
type FormatError struct {
	// Name is what was given: a file name or a format name.
	Name string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("chart format of %q: want a .svg or .png file (or the format svg or png)", e.Name)
}

// Unwrap returns events.ErrInvalid.
func (e *FormatError) Unwrap() error { return events.ErrInvalid }

// FormatOf returns the format a file name asks for by its extension
// (.svg or .png, in any case), or a *FormatError.
func FormatOf(name string) (Format, error) {
	return ParseFormat(strings.TrimPrefix(filepath.Ext(name), "."), name)
}

// ParseFormat returns the format named s ("svg" or "png", in any case),
// or a *FormatError naming what (the file name or s itself).
func ParseFormat(s, what string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case SVG, PNG:
		return f, nil
	}
	if what == "" {
		what = s
	}
	return "", &FormatError{Name: what}
}

// Layout is the shape a chart is drawn for.
type Layout string

// The layouts.
const (
	// Desktop is wide: 8 by 4.5 inches for the count (a share panel adds
	// 2.6), labels of 10 to 14 points.
	Desktop Layout = "desktop"
	// Phone is narrow: 4 inches wide, so that shown at a phone's width
	// the labels keep about their size; fewer date labels.
	Phone Layout = "phone"
)

// LayoutError is a layout name that is neither desktop nor phone. It
// wraps events.ErrInvalid.
type LayoutError struct{ Name string }

func (e *LayoutError) Error() string {
	return fmt.Sprintf("chart size %q: want desktop or phone", e.Name)
}

// Unwrap returns events.ErrInvalid.
func (e *LayoutError) Unwrap() error { return events.ErrInvalid }

// ParseLayout returns the layout named s; "" is Desktop.
func ParseLayout(s string) (Layout, error) {
	switch l := Layout(strings.ToLower(s)); l {
	case "":
		return Desktop, nil
	case Desktop, Phone:
		return l, nil
	}
	return "", &LayoutError{Name: s}
}
