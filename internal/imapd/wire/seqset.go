package wire

import (
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// Star stands for "*" in a SeqRange: the largest number in use (the
// number of messages for sequence numbers, the highest UID for UIDs).
const Star uint32 = 0

// SeqRange is one element of a sequence set, Start:Stop as the client
// wrote it (Start may be larger than Stop; either may be Star). A single
// number n is the range n:n.
type SeqRange struct {
	Start, Stop uint32
}

// SeqSet is an RFC 9051 sequence-set (section 9), or "$", the result
// saved by a previous SEARCH RETURN (SAVE) (RFC 5182), when Saved is true.
// The session substitutes its saved set for a Saved SeqSet before using
// the methods below.
type SeqSet struct {
	Ranges []SeqRange
	Saved  bool
}

// maxSeqRanges bounds the number of ranges one set may hold.
const maxSeqRanges = 100000

// ParseSeqSet parses a sequence set such as "1,3:5,7:*" or "$".
func ParseSeqSet(s string) (SeqSet, error) {
	if s == "$" {
		return SeqSet{Saved: true}, nil
	}
	if s == "" {
		return SeqSet{}, errors.New("empty sequence set")
	}
	var set SeqSet
	for part := range strings.SplitSeq(s, ",") {
		if len(set.Ranges) >= maxSeqRanges {
			return SeqSet{}, errors.New("sequence set has too many ranges")
		}
		a, b, isRange := strings.Cut(part, ":")
		start, err := parseSeqNumber(a)
		if err != nil {
			return SeqSet{}, err
		}
		stop := start
		if isRange {
			if stop, err = parseSeqNumber(b); err != nil {
				return SeqSet{}, err
			}
		}
		set.Ranges = append(set.Ranges, SeqRange{start, stop})
	}
	return set, nil
}

// parseSeqNumber parses seq-number = nz-number / "*".
func parseSeqNumber(s string) (uint32, error) {
	if s == "*" {
		return Star, nil
	}
	if s == "" || !isAllDigits(s) {
		return 0, errors.New("invalid sequence set element " + strconv.Quote(s))
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, errors.New("sequence number " + strconv.Quote(s) + " out of range")
	}
	return uint32(n), nil
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// String formats the set as the client would write it.
func (s SeqSet) String() string {
	if s.Saved {
		return "$"
	}
	var b strings.Builder
	for i, r := range s.Ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		writeSeqNumber(&b, r.Start)
		if r.Stop != r.Start {
			b.WriteByte(':')
			writeSeqNumber(&b, r.Stop)
		}
	}
	return b.String()
}

func writeSeqNumber(b *strings.Builder, n uint32) {
	if n == Star {
		b.WriteByte('*')
		return
	}
	b.WriteString(strconv.FormatUint(uint64(n), 10))
}

// IsEmpty reports whether the set holds no ranges (and is not "$").
func (s SeqSet) IsEmpty() bool { return !s.Saved && len(s.Ranges) == 0 }

// HasStar reports whether "*" occurs in the set.
func (s SeqSet) HasStar() bool {
	for _, r := range s.Ranges {
		if r.Start == Star || r.Stop == Star {
			return true
		}
	}
	return false
}

// Normalize resolves "*" to max and returns the ranges sorted, with
// Start <= Stop, overlapping and adjacent ranges merged. RFC 9051 section
// 9 (seq-range): "*" is the largest number in use, and a range n:* with n
// above it still contains that largest number (so 559:* with max 500 is
// 500:559). When max is 0 (an empty mailbox) "*" resolves to 0 and ranges
// are left as written; the caller matches them against numbers that
// exist.
func (s SeqSet) Normalize(max uint32) []SeqRange {
	out := make([]SeqRange, 0, len(s.Ranges))
	for _, r := range s.Ranges {
		a, b := r.Start, r.Stop
		if a == Star {
			a = max
		}
		if b == Star {
			b = max
		}
		if a > b {
			a, b = b, a
		}
		out = append(out, SeqRange{a, b})
	}
	slices.SortFunc(out, func(x, y SeqRange) int {
		switch {
		case x.Start < y.Start:
			return -1
		case x.Start > y.Start:
			return 1
		}
		return 0
	})
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && (r.Start <= merged[n-1].Stop || r.Start-1 == merged[n-1].Stop) {
			if r.Stop > merged[n-1].Stop {
				merged[n-1].Stop = r.Stop
			}
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// Contains reports whether n is in the set, "*" standing for max.
func (s SeqSet) Contains(n, max uint32) bool {
	for _, r := range s.Ranges {
		a, b := r.Start, r.Stop
		if a == Star {
			a = max
		}
		if b == Star {
			b = max
		}
		if a > b {
			a, b = b, a
		}
		if a <= n && n <= b {
			return true
		}
	}
	return false
}

// All yields the numbers of the set in ascending order without
// duplicates, "*" standing for max, never beyond max: for sequence
// numbers, max is the message count, so every number yielded exists.
// For UID sets iterate the session's UID list and use Contains instead,
// since a UID range may be sparse and huge.
func (s SeqSet) All(max uint32) iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for _, r := range s.Normalize(max) {
			if r.Start == 0 {
				r.Start = 1
			}
			for n := r.Start; n <= r.Stop && n <= max; n++ {
				if !yield(n) {
					return
				}
				if n == ^uint32(0) {
					break
				}
			}
		}
	}
}

// SeqSetFromNumbers builds the most compact set holding nums (which need
// not be sorted), e.g. for UIDPLUS COPYUID/APPENDUID and ESEARCH ALL.
func SeqSetFromNumbers(nums []uint32) SeqSet {
	sorted := slices.Clone(nums)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var set SeqSet
	for _, n := range sorted {
		if n == 0 {
			continue
		}
		if k := len(set.Ranges); k > 0 && set.Ranges[k-1].Stop+1 == n {
			set.Ranges[k-1].Stop = n
			continue
		}
		set.Ranges = append(set.Ranges, SeqRange{n, n})
	}
	return set
}
