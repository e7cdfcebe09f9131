package mtasts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"mailport/internal/dns"
)

func TestParseRecord(t *testing.T) {
	cases := []struct {
		txt  string
		id   string // "" = error wanted
		exts int
	}{
		{"v=STSv1; id=20160831085700Z;", "20160831085700Z", 0},
		{"v=STSv1; id=abc", "abc", 0},
		{"v=STSv1;id=abc", "abc", 0},
		{"v=STSv1;\tid=abc ;", "abc", 0},
		{"v=STSv1; id=abc; ext_1=val-ue", "abc", 1},
		{"v=STSv1; ext=x; id=abc", "abc", 1},
		{"v=STSv1; id=" + strings.Repeat("a", 32), strings.Repeat("a", 32), 0},
		{"v=STSv1; id=" + strings.Repeat("a", 33), "", 0},
		{"v=STSv1; id=", "", 0},
		{"v=STSv1; id=ab-c", "", 0},
		{"v=STSv1", "", 0},
		{"v=STSv1;", "", 0},
		{"v=STSv2; id=abc", "", 0},
		{" v=STSv1; id=abc", "", 0},
		{"id=abc; v=STSv1", "", 0},
		{"v=STSv1; id=a; id=b", "", 0},
		{"v=STSv1; id=abc; bad", "", 0},
		{"v=STSv1; id=abc; _x=1", "", 0},
		{"v=STSv1; id=abc; x=a=b", "", 0},
		{"v=STSv1; id=abc;;", "", 0},
		{"", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.txt, func(t *testing.T) {
			rec, err := ParseRecord(tc.txt)
			if tc.id == "" {
				if err == nil {
					t.Fatalf("ParseRecord(%q) = %+v, want an error", tc.txt, rec)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRecord(%q): %v", tc.txt, err)
			}
			if rec.ID != tc.id || len(rec.Extensions) != tc.exts {
				t.Fatalf("ParseRecord(%q) = %+v, want id %q and %d extensions", tc.txt, rec, tc.id, tc.exts)
			}
		})
	}
}

func TestLookupRecord(t *testing.T) {
	zone := &dns.Mock{}
	zone.AddTXT("_mta-sts.one.test", "v=STSv1; id=one1")
	zone.AddTXT("_mta-sts.mixed.test", "some other record", "v=STSv1; id=mixed")
	zone.AddTXT("_mta-sts.two.test", "v=STSv1; id=a", "v=STSv1; id=b")
	zone.AddTXT("_mta-sts.bad.test", "v=STSv1; id=not valid")
	zone.AddTXT("_mta-sts.other.test", "v=spf1 -all")
	zone.SetFail("_mta-sts.servfail.test", errors.New("server failure"))
	cases := []struct {
		domain string
		id     string
		err    error // nil: success
	}{
		{"one.test", "one1", nil},
		{"ONE.test.", "one1", nil},
		{"mixed.test", "mixed", nil},
		{"two.test", "", ErrNoRecord},
		{"bad.test", "", ErrNoRecord},
		{"other.test", "", ErrNoRecord},
		{"missing.test", "", ErrNoRecord},
		{"servfail.test", "", errors.New("temporary")},
	}
	for _, tc := range cases {
		t.Run(tc.domain, func(t *testing.T) {
			rec, err := LookupRecord(context.Background(), zone, tc.domain)
			switch {
			case tc.err == nil:
				if err != nil || rec.ID != tc.id {
					t.Fatalf("got %+v, %v; want id %q", rec, err, tc.id)
				}
			case errors.Is(tc.err, ErrNoRecord):
				if !errors.Is(err, ErrNoRecord) {
					t.Fatalf("got %+v, %v; want ErrNoRecord", rec, err)
				}
			default:
				if err == nil || errors.Is(err, ErrNoRecord) {
					t.Fatalf("got %+v, %v; want a lookup error that is not ErrNoRecord", rec, err)
				}
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	ok := []struct {
		name string
		text string
		want Policy
	}{
		{"rfc example", "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n",
			Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, MaxAge: 604800 * time.Second}},
		{"crlf, no final newline", "version: STSv1\r\nmode: testing\r\nmx: mx.a.test\r\nmax_age: 86400",
			Policy{Mode: ModeTesting, MX: []string{"mx.a.test"}, MaxAge: 86400 * time.Second}},
		{"no space, trailing space", "version:STSv1 \nmode:\tenforce\nmx:MX.A.TEST\nmax_age: 0\n",
			Policy{Mode: ModeEnforce, MX: []string{"mx.a.test"}, MaxAge: 0}},
		{"none without mx", "version: STSv1\nmode: none\nmax_age: 86400\n",
			Policy{Mode: ModeNone, MaxAge: 86400 * time.Second}},
		{"extension ignored", "version: STSv1\nmode: testing\nmx: a.test\nmax_age: 1\nfoo_bar: some value here\n",
			Policy{Mode: ModeTesting, MX: []string{"a.test"}, MaxAge: time.Second, Extensions: [][2]string{{"foo_bar", "some value here"}}}},
		{"max_age capped", "version: STSv1\nmode: testing\nmx: a.test\nmax_age: 9999999999\n",
			Policy{Mode: ModeTesting, MX: []string{"a.test"}, MaxAge: MaxMaxAge}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy(tc.text)
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			if p.Mode != tc.want.Mode || !slices.Equal(p.MX, tc.want.MX) || p.MaxAge != tc.want.MaxAge || len(p.Extensions) != len(tc.want.Extensions) {
				t.Fatalf("got %+v, want %+v", p, tc.want)
			}
			// Text gives a file that parses to the same policy.
			again, err := ParsePolicy(p.Text())
			if err != nil || again.Mode != p.Mode || !slices.Equal(again.MX, p.MX) || again.MaxAge != p.MaxAge {
				t.Fatalf("Text round trip: %+v, %v\n%s", again, err, p.Text())
			}
		})
	}
	bad := map[string]string{
		"no version":        "mode: enforce\nmx: a.test\nmax_age: 1\n",
		"wrong version":     "version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n",
		"no mode":           "version: STSv1\nmx: a.test\nmax_age: 1\n",
		"unknown mode":      "version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n",
		"no max_age":        "version: STSv1\nmode: enforce\nmx: a.test\n",
		"negative max_age":  "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n",
		"long max_age":      "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 12345678901\n",
		"enforce no mx":     "version: STSv1\nmode: enforce\nmax_age: 1\n",
		"bad mx":            "version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n",
		"mx inner wildcard": "version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 1\n",
		"mx with port":      "version: STSv1\nmode: enforce\nmx: a.test:25\nmax_age: 1\n",
		"two modes":         "version: STSv1\nmode: testing\nmode: enforce\nmx: a.test\nmax_age: 1\n",
		"no colon":          "version: STSv1\nmode enforce\nmx: a.test\nmax_age: 1\n",
		"bad field name":    "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\n-x: y\n",
		"html":              "<html><body>not found</body></html>",
		"empty":             "",
	}
	for name, text := range bad {
		t.Run(name, func(t *testing.T) {
			if p, err := ParsePolicy(text); err == nil {
				t.Fatalf("ParsePolicy(%q) = %+v, want an error", text, p)
			}
		})
	}
}

func TestPolicyMatches(t *testing.T) {
	p := &Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net"}}
	cases := map[string]bool{
		"mail.example.com":   true,
		"MAIL.example.com.":  true,
		"mx1.example.net":    true,
		"mx1.example.net.":   true,
		"example.net":        false,
		"a.b.example.net":    false,
		"example.com":        false,
		"xmail.example.com":  false,
		"mail.example.com.x": false,
		"":                   false,
	}
	for host, want := range cases {
		if got := p.Matches(host); got != want {
			t.Errorf("Matches(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n")
	f.Add("version: STSv1\r\nmode: none\r\nmax_age: 0")
	f.Add("version:STSv1\nmode:testing\nmx:a\nmax_age:1\nx: y")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParsePolicy(text)
		if err != nil {
			return
		}
		again, err := ParsePolicy(p.Text())
		if err != nil {
			t.Fatalf("a parsed policy does not parse again: %v\n%q", err, p.Text())
		}
		if again.Mode != p.Mode || !slices.Equal(again.MX, p.MX) || again.MaxAge != p.MaxAge {
			t.Fatalf("round trip changed the policy: %+v -> %+v", p, again)
		}
		for _, mx := range p.MX {
			if !p.Matches(strings.ReplaceAll(mx, "*.", "x.")) {
				t.Fatalf("pattern %q does not match its own host", mx)
			}
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1; id=abc; ext=1")
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := ParseRecord(txt)
		if err != nil {
			return
		}
		if !validID(rec.ID) {
			t.Fatalf("accepted id %q", rec.ID)
		}
	})
}
