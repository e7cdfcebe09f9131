package domainname

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Example.TEST.":    "example.test",
		"a1.b2.example":    "a1.b2.example",
		"123.example.test": "123.example.test",
		// Both forms of an internationalized name, in any case, are
		// one name: its A-label form.
		"bücher.test":                "xn--bcher-kva.test",
		"BÜCHER.Test":                "xn--bcher-kva.test",
		"xn--bcher-kva.test":         "xn--bcher-kva.test",
		"XN--BCHER-KVA.TEST":         "xn--bcher-kva.test",
		" mail.bücher.test. ":        "mail.xn--bcher-kva.test",
		"bücher。test":                "xn--bcher-kva.test", // UTS 46 maps the ideographic full stop
		"ｅｘａｍｐｌｅ.test":               "example.test",       // and full-width letters
		"straße.test":                "xn--strae-oqa.test", // IDNA2008 keeps ß (nontransitional)
		"münchen.xn--bcher-kva.test": "xn--mnchen-3ya.xn--bcher-kva.test",

		"abc.123":             "",
		"1.2.3.4":             "",
		"localhost":           "",
		"[127.0.0.1]":         "",
		"":                    "",
		".example.test":       "",
		"a..example":          "",
		"-a.example":          "",
		"exa_mple.test":       "",
		"xn--a.test":          "", // does not decode
		"xn--abc-.test":       "",
		"xn--bcher-kva-.test": "",
		"xn--example-.test":   "",
		"bü_cher.test":        "",
		"exa mple.test":       "",
		"\xff.test":           "",
	} {
		got, err := Normalize(in)
		if want == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Normalize(%q) = %q, %v; want ErrInvalid", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestNormalizeLengthsOfALabels checks the RFC 1035 limits against the
// A-label form: a U-label short enough as written can be too long on the
// wire.
func TestNormalizeLengthsOfALabels(t *testing.T) {
	label := strings.Repeat("a", 63)
	if _, err := Normalize(label + ".test"); err != nil {
		t.Fatalf("63-octet label refused: %v", err)
	}
	if _, err := Normalize(label + "a.test"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("64-octet label accepted: %v", err)
	}
	// 60 octets as UTF-8, but "xn--" and the encoding make the A-label
	// longer than 63.
	if _, err := Normalize("ü" + strings.Repeat("a", 58) + ".test"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("U-label whose A-label is over 63 octets accepted: %v", err)
	}
	long := label + "." + label + "." + label + "." + label + ".test"
	if _, err := Normalize(long); !errors.Is(err, ErrInvalid) {
		t.Fatalf("name over 253 octets accepted: %v", err)
	}
}

func TestInAddress(t *testing.T) {
	for in, want := range map[string]string{
		"user@bücher.test":        "user@xn--bcher-kva.test",
		"jürgen@BÜCHER.test":      "jürgen@xn--bcher-kva.test",
		"user@xn--bcher-kva.test": "user@xn--bcher-kva.test",
		"a@b@bücher.test":         "a@b@xn--bcher-kva.test",
		"admin":                   "admin",
		"user@not_a_domain.test":  "user@not_a_domain.test",
		"user@":                   "user@",
	} {
		if got := InAddress(in); got != want {
			t.Errorf("InAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"xn--bcher-kva.test":       "bücher.test",
		"mail.xn--mnchen-3ya.test": "mail.münchen.test",
		"example.test":             "example.test",
		"xn--a.test":               "xn--a.test", // does not decode: shown as stored
	} {
		if got := Display(in); got != want {
			t.Errorf("Display(%q) = %q, want %q", in, got, want)
		}
	}
	// Display and Normalize are inverse on valid names.
	for _, u := range []string{"bücher.test", "mail.münchen.test", "例え.テスト"} {
		a, err := Normalize(u)
		if err != nil {
			t.Fatalf("Normalize(%q): %v", u, err)
		}
		if got := Display(a); got != u {
			t.Errorf("Display(Normalize(%q)) = %q", u, got)
		}
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"Bücher.Example.":       "xn--bcher-kva.example",
		"XN--BCHER-KVA.example": "xn--bcher-kva.example",
		"Mail.Example.test":     "mail.example.test",
		// Not hostable, but still a name to look up or compare.
		"_Dmarc.Example.test": "_dmarc.example.test",
		"[192.0.2.1]":         "[192.0.2.1]",
		"LocalHost.":          "localhost",
	} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}
