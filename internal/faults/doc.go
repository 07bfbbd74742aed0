// Package faults holds the fault-injection and concurrency harness of
// focus-ingest (its tests only): the real binary is killed with SIGKILL at
// random moments and at the commit point, as a CLI run and as a server,
// then restarted; storage fails and fills up under it; two servers write
// to one dataset at once. Every state is checked by an independent reader
// (check.py: pyarrow and DuckDB over the Hive layout, Python's csv, decimal
// and json over the inputs) and through DoGet, and the tree is checked for
// files the commit log does not hold. docs/RELIABILITY.md lists the cases,
// the figures measured and how to rerun them.
package faults
