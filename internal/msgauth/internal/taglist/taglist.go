// Package taglist parses the tag=value lists of DKIM (RFC 6376 section
// 3.2) and DMARC (RFC 7489 section 6.4, which uses the same syntax).
package taglist

import (
	"errors"
	"fmt"
	"strings"
)

// MaxTags bounds the number of tags in one list; real records have about
// ten.
const MaxTags = 64

// Tag is one tag=value pair with white space (FWS) around both removed.
type Tag struct {
	Name  string
	Value string
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("taglist: syntax error")

// Parse splits s into tags in order. RFC 6376 section 3.2: tag-list =
// tag-spec *( ";" tag-spec ) [ ";" ]; a tag name is ALPHA *ALNUMPUNC
// (ALNUMPUNC is ALPHA / DIGIT / "_"), and a duplicated tag makes the list
// invalid. An empty list is valid and gives no tags.
func Parse(s string) ([]Tag, error) {
	if strings.Count(s, ";") > MaxTags {
		return nil, fmt.Errorf("%w: more than %d tags", ErrSyntax, MaxTags)
	}
	parts := strings.Split(s, ";")
	var tags []Tag
	seen := map[string]bool{}
	for _, p := range parts {
		// The grammar allows one trailing ";"; empty parts elsewhere
		// (";;") are skipped too, as most verifiers do, since they carry
		// nothing.
		if strings.TrimSpace(p) == "" {
			continue
		}
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("%w: tag without '=': %q", ErrSyntax, strings.TrimSpace(p))
		}
		name = strings.TrimSpace(name)
		if !validName(name) {
			return nil, fmt.Errorf("%w: bad tag name %q", ErrSyntax, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: duplicate tag %q", ErrSyntax, name)
		}
		seen[name] = true
		tags = append(tags, Tag{Name: name, Value: trimFWS(value)})
	}
	return tags, nil
}

// Map returns the tags of a parsed list by name.
func Map(tags []Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Name] = t.Value
	}
	return m
}

func validName(name string) bool {
	if name == "" || !isAlpha(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// trimFWS removes white space, including folding line breaks, at both ends.
func trimFWS(s string) string {
	return strings.Trim(s, " \t\r\n")
}

// StripFWS removes all white space from a value, as base64 tag values (b=,
// bh=, p=) may be folded anywhere (RFC 6376 section 3.5).
func StripFWS(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}
