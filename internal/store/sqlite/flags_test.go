package sqlite

import (
	"slices"
	"strings"
	"testing"

	"mailport/internal/store"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string
		wantErr bool
	}{
		{nil, nil, false},
		{[]string{`\seen`, `\ANSWERED`, `\Draft`}, []string{`\Answered`, `\Draft`, `\Seen`}, false},
		{[]string{"b", "$Label", "a", "$label", `\Deleted`}, []string{`\Deleted`, "$Label", "a", "b"}, false},
		{[]string{"B", "a"}, []string{"a", "B"}, false},
		{[]string{`\Recent`}, nil, true},
		{[]string{`\Whatever`}, nil, true},
		{[]string{"has space"}, nil, true},
		{[]string{"tab\t"}, nil, true},
		{[]string{"caf\u00e9"}, nil, true},
		{[]string{""}, nil, true},
		{[]string{strings.Repeat("k", maxKeywordLen+1)}, nil, true},
	}
	for _, tc := range tests {
		fs, err := parseFlags(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseFlags(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		got := flagList(fs.bits, encodeKeywords(fs.keywords))
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseFlags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	many := make([]string, maxKeywords+1)
	for i := range many {
		many[i] = "k" + strings.Repeat("x", i)
	}
	if _, err := parseFlags(many); err == nil {
		t.Errorf("parseFlags accepted %d keywords", len(many))
	}
}

func TestApplyFlags(t *testing.T) {
	mustParse := func(f ...string) flagSet {
		fs, err := parseFlags(f)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	tests := []struct {
		name        string
		cur         []string
		op          store.FlagOp
		change      []string
		want        []string
		wantChanged bool
	}{
		{"add new", []string{`\Seen`}, store.FlagsAdd, []string{"Work"}, []string{`\Seen`, "Work"}, true},
		{"add present keeps spelling", []string{"Work"}, store.FlagsAdd, []string{"WORK"}, []string{"Work"}, false},
		{"remove other case", []string{"Work", `\Seen`}, store.FlagsRemove, []string{"work"}, []string{`\Seen`}, true},
		{"remove absent", []string{"Work"}, store.FlagsRemove, []string{`\Seen`}, []string{"Work"}, false},
		{"set same ignoring case", []string{"Work"}, store.FlagsSet, []string{"work"}, []string{"Work"}, false},
		{"set different", []string{"Work", `\Seen`}, store.FlagsSet, []string{`\Flagged`}, []string{`\Flagged`}, true},
		{"set empty", []string{"Work"}, store.FlagsSet, nil, nil, true},
	}
	for _, tc := range tests {
		next, changed, err := apply(mustParse(tc.cur...), tc.op, mustParse(tc.change...))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := flagList(next.bits, encodeKeywords(next.keywords))
		if !slices.Equal(got, tc.want) || changed != tc.wantChanged {
			t.Errorf("%s: got %q changed %v, want %q changed %v", tc.name, got, changed, tc.want, tc.wantChanged)
		}
	}
	if _, _, err := apply(flagSet{}, store.FlagOp(42), flagSet{}); err == nil {
		t.Error("apply accepted an unknown operation")
	}
}

func TestApplyKeywordLimit(t *testing.T) {
	var cur, add flagSet
	for i := range maxKeywords {
		cur.keywords = append(cur.keywords, "a"+strings.Repeat("x", i))
	}
	add.keywords = []string{"new"}
	if _, _, err := apply(cur, store.FlagsAdd, add); err == nil {
		t.Error("apply let a message grow past the keyword limit")
	}
}
