package sqlite

import (
	"fmt"
	"sort"
	"strings"

	"mailport/internal/store"
)

// System flags are kept as bits in messages.flags (RFC 9051 section
// 2.3.2); the unseen counter tests bit 1 directly in SQL.
const (
	bitSeen int64 = 1 << iota
	bitAnswered
	bitFlagged
	bitDeleted
	bitDraft
)

// systemFlags lists the system flags in the order they are returned:
// alphabetical, before all keywords.
var systemFlags = [...]struct {
	name string
	bit  int64
}{
	{store.FlagAnswered, bitAnswered},
	{store.FlagDeleted, bitDeleted},
	{store.FlagDraft, bitDraft},
	{store.FlagFlagged, bitFlagged},
	{store.FlagSeen, bitSeen},
}

// Limits on keywords so that one client cannot grow a row without bound.
const (
	maxKeywordLen = 200
	maxKeywords   = 100
)

// flagSet is a parsed set of flags: system flag bits plus keywords in
// canonical order (sorted case-insensitively, no two equal ignoring case).
type flagSet struct {
	bits     int64
	keywords []string
}

// parseFlags canonicalizes flags: system flags in any case become their
// canonical spelling, keywords keep the first spelling given and
// duplicates differing only in case collapse into one (keywords are
// case-insensitive, RFC 9051 section 2.3.2).
func parseFlags(flags []string) (flagSet, error) {
	var fs flagSet
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			bit := systemBit(f)
			if bit == 0 {
				// \Recent is session state and other \-flags are
				// reserved for future standards; neither is stored.
				return flagSet{}, fmt.Errorf("flag %q cannot be stored", f)
			}
			fs.bits |= bit
			continue
		}
		if err := checkKeyword(f); err != nil {
			return flagSet{}, err
		}
		fs.keywords = addKeyword(fs.keywords, f)
	}
	if len(fs.keywords) > maxKeywords {
		return flagSet{}, fmt.Errorf("more than %d keywords", maxKeywords)
	}
	sortKeywords(fs.keywords)
	return fs, nil
}

func systemBit(f string) int64 {
	for _, s := range systemFlags {
		if strings.EqualFold(f, s.name) {
			return s.bit
		}
	}
	return 0
}

// checkKeyword accepts keywords that are IMAP atoms as far as the store
// cares: printable ASCII without space (the column separator), since
// RFC 9051 section 9 makes flag-keyword an atom.
func checkKeyword(k string) error {
	if k == "" {
		return fmt.Errorf("empty keyword")
	}
	if len(k) > maxKeywordLen {
		return fmt.Errorf("keyword longer than %d bytes", maxKeywordLen)
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("keyword %q has a character not allowed in an IMAP atom", k)
		}
	}
	return nil
}

// addKeyword appends k unless an equal keyword (ignoring case) is there.
func addKeyword(kws []string, k string) []string {
	for _, have := range kws {
		if strings.EqualFold(have, k) {
			return kws
		}
	}
	return append(kws, k)
}

func removeKeyword(kws []string, k string) []string {
	out := kws[:0]
	for _, have := range kws {
		if !strings.EqualFold(have, k) {
			out = append(out, have)
		}
	}
	return out
}

func sortKeywords(kws []string) {
	sort.Slice(kws, func(i, j int) bool {
		a, b := strings.ToLower(kws[i]), strings.ToLower(kws[j])
		if a != b {
			return a < b
		}
		return kws[i] < kws[j]
	})
}

// encodeKeywords gives the column value of canonical keywords.
func encodeKeywords(kws []string) string { return strings.Join(kws, " ") }

func decodeKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// flagList builds Message.Flags from the stored columns: system flags in
// canonical order, then the keywords as stored (already canonical).
func flagList(bits int64, keywords string) []string {
	n := 0
	for _, s := range systemFlags {
		if bits&s.bit != 0 {
			n++
		}
	}
	if n == 0 && keywords == "" {
		return nil
	}
	nk := 0
	if keywords != "" {
		nk = strings.Count(keywords, " ") + 1
	}
	out := make([]string, 0, n+nk)
	for _, s := range systemFlags {
		if bits&s.bit != 0 {
			out = append(out, s.name)
		}
	}
	if keywords != "" {
		out = append(out, strings.Split(keywords, " ")...)
	}
	return out
}

// apply combines the current flags with change according to op and reports
// whether the result differs. Keyword spelling already on the message wins
// over the spelling given for a keyword that is equal ignoring case.
func apply(cur flagSet, op store.FlagOp, change flagSet) (flagSet, bool, error) {
	var next flagSet
	switch op {
	case store.FlagsSet:
		next.bits = change.bits
		for _, k := range change.keywords {
			spelled := k
			for _, have := range cur.keywords {
				if strings.EqualFold(have, k) {
					spelled = have
					break
				}
			}
			next.keywords = append(next.keywords, spelled)
		}
	case store.FlagsAdd:
		next.bits = cur.bits | change.bits
		next.keywords = append([]string(nil), cur.keywords...)
		for _, k := range change.keywords {
			next.keywords = addKeyword(next.keywords, k)
		}
		if len(next.keywords) > maxKeywords {
			return flagSet{}, false, fmt.Errorf("more than %d keywords", maxKeywords)
		}
	case store.FlagsRemove:
		next.bits = cur.bits &^ change.bits
		next.keywords = append([]string(nil), cur.keywords...)
		for _, k := range change.keywords {
			next.keywords = removeKeyword(next.keywords, k)
		}
	default:
		return flagSet{}, false, fmt.Errorf("unknown flag operation %d", op)
	}
	sortKeywords(next.keywords)
	changed := next.bits != cur.bits || len(next.keywords) != len(cur.keywords)
	if !changed {
		for i := range next.keywords {
			if !strings.EqualFold(next.keywords[i], cur.keywords[i]) {
				changed = true
				break
			}
		}
	}
	return next, changed, nil
}
