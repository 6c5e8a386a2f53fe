// Package chart owns the pictures of treatywatch: a treaty's cumulative
// count of counted instruments over time with its threshold and milestones
// (and, for a weighted condition such as the Paris Agreement's 55 % of
// emissions, the share in a second panel), and the comparison of several
// treaties on days since they opened for signature. A chart is drawn once
// (gonum.org/v1/plot) and written as SVG or PNG from that one drawing, so
// the command line and the dashboard hand out the same picture in either
// format.
//
// It draws projections.Curve values it is given; it does not read the
// ledger, compute statuses or read a clock. A Drawing may be written any
// number of times, in either format, but by one goroutine at a time.
package chart
