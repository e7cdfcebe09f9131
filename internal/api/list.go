package api

import (
	"cmp"
	"slices"
	"strings"
)

// DefaultPageSize and MaxPageSize bound list answers.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page selects part of a list: limit items from offset.
type Page struct {
	Limit  int `query:"limit" minimum:"0" maximum:"1000" default:"100" doc:"Items per page (0 = the default, 100)"`
	Offset int `query:"offset" minimum:"0" maximum:"100000000" doc:"Items to skip"`
}

// List is one page of a collection; Total counts every item that matched
// the filter.
type List[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

// size is the number of items the page holds at most.
func (p Page) size() int {
	if p.Limit <= 0 {
		return DefaultPageSize
	}
	return min(p.Limit, MaxPageSize)
}

// paginate cuts the page p out of items (already filtered and sorted).
func paginate[T any](items []T, p Page) List[T] {
	limit := p.size()
	total := len(items)
	start := min(p.Offset, total)
	end := min(start+limit, total)
	out := make([]T, end-start)
	copy(out, items[start:end])
	return List[T]{Items: out, Total: total}
}

// filterSort keeps the items whose key contains q (case-insensitively)
// and sorts them by key, descending when desc.
func filterSort[T any](items []T, q string, desc bool, key func(T) string) []T {
	q = strings.ToLower(q)
	out := make([]T, 0, len(items))
	for _, it := range items {
		if q == "" || strings.Contains(strings.ToLower(key(it)), q) {
			out = append(out, it)
		}
	}
	slices.SortStableFunc(out, func(a, b T) int {
		c := cmp.Compare(key(a), key(b))
		if desc {
			return -c
		}
		return c
	})
	return out
}
