package wire

import (
	"reflect"
	"slices"
	"testing"
)

func TestParseSeqSet(t *testing.T) {
	good := []struct {
		in   string
		want SeqSet
	}{
		{"1", set(1, 1)},
		{"1:*", set(1, Star)},
		{"*", set(Star, Star)},
		{"*:4,7", set(Star, 4, 7, 7)},
		{"2,4:7,9,12:*", set(2, 2, 4, 7, 9, 9, 12, Star)},
		{"4294967295", set(4294967295, 4294967295)},
		{"$", SeqSet{Saved: true}},
	}
	for _, tc := range good {
		got, err := ParseSeqSet(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSeqSet(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if s := got.String(); s != tc.in {
			t.Errorf("String() = %q, want %q", s, tc.in)
		}
	}
	for _, in := range []string{"", "0", "1:0", "1:", ":2", ",", "1,,2", "a", "$,1", "1:2:3", "4294967296", "-1"} {
		if got, err := ParseSeqSet(in); err == nil {
			t.Errorf("ParseSeqSet(%q) = %+v, want error", in, got)
		}
	}
}

func TestSeqSetContainsAndAll(t *testing.T) {
	s, _ := ParseSeqSet("2,4:6,9:*")
	tests := []struct {
		max  uint32
		want []uint32
	}{
		{12, []uint32{2, 4, 5, 6, 9, 10, 11, 12}},
		// RFC 9051 section 9: "*" is the largest number in use even when
		// the range start is beyond it.
		{7, []uint32{2, 4, 5, 6, 7}},
		{3, []uint32{2, 3}},
		{0, nil},
	}
	for _, tc := range tests {
		got := slices.Collect(s.All(tc.max))
		if !slices.Equal(got, tc.want) {
			t.Errorf("All(%d) = %v, want %v", tc.max, got, tc.want)
		}
		for n := uint32(1); n <= tc.max; n++ {
			if s.Contains(n, tc.max) != slices.Contains(tc.want, n) {
				t.Errorf("Contains(%d, max %d) = %v", n, tc.max, !slices.Contains(tc.want, n))
			}
		}
	}
	// Overlapping ranges are yielded once, in order.
	o, _ := ParseSeqSet("5:3,4,1,2:4")
	if got := slices.Collect(o.All(10)); !slices.Equal(got, []uint32{1, 2, 3, 4, 5}) {
		t.Errorf("All of overlapping set = %v", got)
	}
	if got := o.Normalize(10); !reflect.DeepEqual(got, []SeqRange{{1, 5}}) {
		t.Errorf("Normalize = %v", got)
	}
	// Early stop.
	n := 0
	for range s.All(100) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("iteration did not stop")
	}
}

func TestSeqSetFromNumbers(t *testing.T) {
	got := SeqSetFromNumbers([]uint32{7, 1, 2, 3, 9, 3, 10, 0})
	if s := got.String(); s != "1:3,7,9:10" {
		t.Errorf("SeqSetFromNumbers = %q", s)
	}
	if !SeqSetFromNumbers(nil).IsEmpty() {
		t.Errorf("empty set not empty")
	}
	if !set(1, Star).HasStar() || set(1, 4).HasStar() {
		t.Errorf("HasStar wrong")
	}
}
