// Package units defines the physical quantities trainsim computes with —
// bytes, seconds, FLOPs, FLOP/s and bytes/s — as distinct types, so that a
// bandwidth cannot be passed where a FLOP rate is expected, and parses them from
// the unit strings scenarios use ("200Gb/s", "80GiB", "2.5us", "312TFLOP/s").
//
// Every type stores SI base units (bytes, seconds, FLOP) in a float64. Parsing
// accepts decimal prefixes (k, M, G, T, P) and, for bytes, binary prefixes
// (Ki, Mi, Gi, Ti). Bandwidths may be written in bits ("Gb/s", "Gbps") or in
// bytes ("GB/s"); bits are converted to bytes.
package units
