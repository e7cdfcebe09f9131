package mime

import (
	"reflect"
	"testing"
)

func TestParseParams(t *testing.T) {
	type P = Param
	cases := []struct {
		name string
		in   string
		want []Param
	}{
		{"none", "", nil},
		{"simple", "; charset=utf-8", []P{{"charset", "utf-8"}}},
		{"keys lower-cased", "; CharSet=UTF-8", []P{{"charset", "UTF-8"}}},
		{"quoted with escapes", `; name="a \"b\" c"`, []P{{"name", `a "b" c`}}},
		{"unterminated quote", `; name="abc`, []P{{"name", "abc"}}},
		{"illegal unquoted boundary", "; boundary=----=_NextPart_000_0001", []P{{"boundary", "----=_NextPart_000_0001"}}},
		{"missing semicolon", ` boundary="x" charset=us-ascii`, []P{{"boundary", "x"}, {"charset", "us-ascii"}}},
		{"attribute without value", "; junk; a=1", []P{{"a", "1"}}},
		{"spaces around equals", "; a = 1 ; b= \"2\"", []P{{"a", "1"}, {"b", "2"}}},
		{"comments", "; a=1 (one) ; (x) b=2", []P{{"a", "1"}, {"b", "2"}}},
		{"first duplicate wins", "; a=1; A=2", []P{{"a", "1"}}},
		{"RFC 2231 continuation plain", `; name*0="long"; name*1="name.txt"`, []P{{"name", "longname.txt"}}},
		{"RFC 2231 out of order", `; name*1="b"; name*0="a"; x=y`, []P{{"name", "ab"}, {"x", "y"}}},
		{"RFC 2231 extended continuation", `; title*0*=us-ascii'en'This%20is; title*1*=%20even; title*2=" more"`,
			[]P{{"title*", "us-ascii'en'This%20is%20even%20more"}}},
		{"RFC 2231 single extended kept", `; filename="a.txt"; filename*=UTF-8''%C3%A4.txt`,
			[]P{{"filename", "a.txt"}, {"filename*", "UTF-8''%C3%A4.txt"}}},
		{"RFC 2231 missing section 0", `; n*1*=%41; n*2=b`, []P{{"n*", "''%41b"}}},
		{"non-numeric section is a plain key", `; n*x=1`, []P{{"n*x", "1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseParams(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseParams(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParamValue(t *testing.T) {
	cases := []struct {
		name   string
		params []Param
		key    string
		want   string
	}{
		{"plain", []Param{{"name", "a.txt"}}, "name", "a.txt"},
		{"extended preferred", []Param{{"name", "fallback"}, {"name*", "utf-8'en'%E2%82%AC.txt"}}, "NAME", "€.txt"},
		{"latin1", []Param{{"name*", "iso-8859-1''%E9t%E9"}}, "name", "été"},
		{"invalid utf-8 replaced", []Param{{"name*", "utf-8''%FF"}}, "name", "\uFFFD"},
		{"unknown charset raw", []Param{{"name*", "x-unknown''abc%41"}}, "name", "abcA"},
		{"no quotes", []Param{{"name*", "%41%42"}}, "name", "AB"},
		{"bad escape kept", []Param{{"name*", "''%G1%4"}}, "name", "%G1%4"},
		{"absent", nil, "name", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := paramValue(tc.params, tc.key); got != tc.want {
				t.Errorf("paramValue = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMediaType(t *testing.T) {
	cases := []struct {
		in       string
		typ, sub string
		ok       bool
	}{
		{"TEXT/HTML", "text", "html", true},
		{" text / plain ; x=y", "text", "plain", true},
		{"(c) multipart/mixed", "multipart", "mixed", true},
		{"text", "", "", false},
		{"text/", "", "", false},
		{"/plain", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range cases {
		typ, sub, _, ok := parseMediaType(tc.in)
		if typ != tc.typ || sub != tc.sub || ok != tc.ok {
			t.Errorf("parseMediaType(%q) = %q %q %v", tc.in, typ, sub, ok)
		}
	}
}
