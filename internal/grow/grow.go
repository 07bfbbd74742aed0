// Package grow grows slices that are filled by appends, doubling their
// capacity: for large slices append grows by only a quarter, so the
// values are copied about four times instead of once.
package grow

import "slices"

// Slice makes room for n more elements of s, at least doubling its
// capacity when it must grow.
func Slice[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	return slices.Grow(s, max(n, cap(s)))
}
