"""Benchmarks: `make bench` prints figures and ratios; nothing here is asserted."""
