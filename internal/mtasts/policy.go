package mtasts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is the "mode" of a policy (RFC 8461 section 3.2).
type Mode string

const (
	// ModeEnforce: deliver only to matching MX hosts over verified TLS.
	ModeEnforce Mode = "enforce"
	// ModeTesting: report failures (TLSRPT) but deliver anyway.
	ModeTesting Mode = "testing"
	// ModeNone: the domain withdrew its policy.
	ModeNone Mode = "none"
)

// MaxMaxAge is the largest max_age a policy may give (RFC 8461 section
// 3.2: 31557600 seconds, about a year).
const MaxMaxAge = 31557600 * time.Second

// Policy is a parsed policy file.
type Policy struct {
	Mode Mode
	// MX holds the "mx" patterns in order: host names, or "*.domain"
	// (a wildcard for exactly one leftmost label).
	MX []string
	// MaxAge is how long the policy may be cached.
	MaxAge time.Duration
	// Extensions are unknown fields (name, value), ignored by senders.
	Extensions [][2]string
}

// Matches reports whether host is allowed by the mx patterns. RFC 8461
// section 4.1: a pattern matches the MX host name exactly, or, for
// "*.example.com", a name with exactly one more label on the left
// ("mx1.example.com", not "a.b.example.com" nor "example.com").
func (p *Policy) Matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		pat = strings.ToLower(strings.TrimSuffix(pat, "."))
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if i := strings.IndexByte(host, '.'); i > 0 && host[i+1:] == rest {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// Text renders the policy as a policy file (CRLF line ends), the form
// ParsePolicy reads back.
func (p *Policy) Text() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + string(p.Mode) + "\r\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + mx + "\r\n")
	}
	b.WriteString("max_age: " + strconv.FormatInt(int64(p.MaxAge/time.Second), 10) + "\r\n")
	return b.String()
}

// ParsePolicy parses a policy file (RFC 8461 section 3.2): "key: value"
// lines ended by LF or CRLF. version, mode and max_age are required; mx
// is required unless mode is none, and may repeat. Other fields are
// extensions and ignored. A known field other than mx given twice is an
// error rather than a guess about which one the domain meant.
func ParsePolicy(text string) (*Policy, error) {
	p := &Policy{}
	seen := map[string]bool{}
	var version string
	haveMaxAge := false
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		// Trailing whitespace is allowed after a field (*WSP before the
		// line terminator); a final empty line is the last terminator.
		line = strings.TrimRight(line, " \t")
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mtasts: policy line %d has no ':': %q", n+1, line)
		}
		value = strings.TrimLeft(value, " \t")
		if name != "mx" && seen[name] && isKnownField(name) {
			return nil, fmt.Errorf("mtasts: policy field %q given twice", name)
		}
		seen[name] = true
		switch name {
		case "version":
			version = value
		case "mode":
			switch m := Mode(value); m {
			case ModeEnforce, ModeTesting, ModeNone:
				p.Mode = m
			default:
				return nil, fmt.Errorf("mtasts: unknown policy mode %q", value)
			}
		case "max_age":
			// 1*10DIGIT
			if value == "" || len(value) > 10 || strings.Trim(value, "0123456789") != "" {
				return nil, fmt.Errorf("mtasts: max_age %q is not 1 to 10 digits", value)
			}
			secs, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("mtasts: max_age %q: %w", value, err)
			}
			// Larger values than the maximum are capped, not refused: the
			// policy itself is still valid.
			p.MaxAge = time.Duration(min(secs, int64(MaxMaxAge/time.Second))) * time.Second
			haveMaxAge = true
		case "mx":
			if !validMXPattern(value) {
				return nil, fmt.Errorf("mtasts: mx pattern %q is not a host name or *.domain", value)
			}
			p.MX = append(p.MX, strings.ToLower(value))
		default:
			if !validExtName(name) {
				return nil, fmt.Errorf("mtasts: policy line %d has a malformed field name %q", n+1, name)
			}
			p.Extensions = append(p.Extensions, [2]string{name, value})
		}
	}
	switch {
	case version != "STSv1":
		return nil, fmt.Errorf("mtasts: policy version %q, want STSv1", version)
	case p.Mode == "":
		return nil, fmt.Errorf("mtasts: policy has no mode")
	case !haveMaxAge:
		return nil, fmt.Errorf("mtasts: policy has no max_age")
	case len(p.MX) == 0 && p.Mode != ModeNone:
		return nil, fmt.Errorf("mtasts: policy in mode %s has no mx", p.Mode)
	}
	return p, nil
}

func isKnownField(name string) bool {
	switch name {
	case "version", "mode", "max_age", "mx":
		return true
	}
	return false
}

// validMXPattern checks ["*."] Domain, Domain as in RFC 5321 section
// 4.1.2: dot-separated labels of letters, digits and inner hyphens.
func validMXPattern(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}
