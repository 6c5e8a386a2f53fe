// Package benchratio is the bookkeeping of the benchmarks that measure
// treatywatch against a raw baseline in the same run (make bench): each
// pair's raw loops and measured sides, their rates by wall time and by
// process CPU time, and the summary of ratios a test binary prints when its
// benchmarks are done (the median over rounds with -count N, and each
// pair's target). events/sqlite, events/postgres and projections use it.
//
// It decides nothing about treaties and does no I/O but the summary it is
// asked to write.
package benchratio
