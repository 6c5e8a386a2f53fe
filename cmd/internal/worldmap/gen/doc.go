// Command gen converts Natural Earth's 1:110m countries, as TopoJSON from
// the npm package world-atlas, into countries.tsv, the compact map that
// package worldmap embeds: per country its M49 code, name, area, marker
// point and a simplified, quantized SVG path in the Equal Earth
// projection. Participants absent from the 1:110m data get a marker point
// from the 1:50m (then 1:10m) data of the same package.
//
// It reads only the files named on its command line and never the
// network:
//
//	npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
//	WORLD_ATLAS=$PWD/package go generate ./cmd/internal/worldmap
package main
