package grow

import "testing"

func TestSlice(t *testing.T) {
	var s []int
	grown := 0
	for i := range 100000 {
		c := cap(s)
		s = append(Slice(s, 1), i)
		if cap(s) != c {
			grown++
			if c > 0 && cap(s) < 2*c {
				t.Fatalf("capacity %d grew to %d, want at least %d", c, cap(s), 2*c)
			}
		}
	}
	if grown > 20 {
		t.Errorf("grew %d times for 100000 appends", grown)
	}
	for i, v := range s {
		if v != i {
			t.Fatalf("s[%d] = %d", i, v)
		}
	}
	if s := Slice(make([]int, 3, 10), 7); cap(s) != 10 {
		t.Errorf("grew a slice with room: cap %d", cap(s))
	}
}
