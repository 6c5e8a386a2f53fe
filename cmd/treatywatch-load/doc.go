// Command treatywatch-load drives a running treatywatch server with
// concurrent clients — by default 100 for 60 s, 90 % reads and 10 %
// writes — and reports throughput, latency percentiles and errors. Writes
// record declarations of the Hanoi Convention, each unique, so the only
// expected refusals are concurrent-write conflicts; at the end it reads
// the whole log back through the API and checks that every acknowledged
// write is in it.
//
// Only loopback servers are targets: the tool refuses any other address.
//
//	treatywatch-load --url http://127.0.0.1:8080 --token tw_... [--clients 100] [--duration 60s] [--writes 0.1]
package main
