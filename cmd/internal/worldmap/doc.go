// Package worldmap draws a treaty's participants on a world map, server
// side, as SVG: each country coloured by its participant's state on a date
// (signed, party, in force for it, withdrawn, no act), with a legend, a
// <title> per country, a text alternative, and the participants too small
// to see (or absent from the map data) listed beside it.
//
// The map data, countries.tsv, is Natural Earth's 1:110m Admin 0 countries
// (public domain) from the npm package world-atlas, projected (Equal
// Earth), simplified and quantized once by the generator in gen/ and
// embedded; see README.md for how to regenerate it. Rendering is a pure
// function of its input: it reads no clock, no ledger and no network.
//
// worldmap must not read the ledger or the projections' stores: the
// caller (the web layer) folds the statuses and passes them in.
package worldmap

//go:generate go run ./gen -atlas $WORLD_ATLAS -participants ../../../events/participants.csv -out countries.tsv
