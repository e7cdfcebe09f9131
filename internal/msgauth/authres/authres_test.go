package authres_test

import (
	"strings"
	"testing"

	msgauthres "github.com/emersion/go-msgauth/authres"

	"mailport/internal/msgauth/authres"
)

func TestFieldGolden(t *testing.T) {
	tests := []struct {
		name string
		in   authres.Results
		want string
	}{
		{
			name: "all pass",
			in: authres.Results{
				SPF: &authres.SPF{Result: "pass", MailFrom: "alice@example.test", Helo: "mx.example.test"},
				DKIM: []authres.DKIM{{Result: "pass", Domain: "example.test", Selector: "s1", Identifier: "@example.test",
					Algorithm: "ed25519-sha256", SignaturePrefix: "MiU8jq+w"}},
				DMARC: &authres.DMARC{Result: "pass", From: "example.test"},
			},
			want: "Authentication-Results: mx.other.test;\r\n" +
				"\tspf=pass smtp.mailfrom=alice@example.test;\r\n" +
				"\tdkim=pass header.a=ed25519-sha256 header.b=MiU8jq+w header.d=example.test header.i=@example.test header.s=s1;\r\n" +
				"\tdmarc=pass header.from=example.test\r\n",
		},
		{
			name: "null sender, unsigned, failures with reasons",
			in: authres.Results{
				SPF:   &authres.SPF{Result: "fail", Helo: "client.test", Reason: "matched all"},
				DMARC: &authres.DMARC{Result: "fail", From: "example.test", Reason: "no aligned SPF or DKIM pass, p=reject, applied reject"},
			},
			want: "Authentication-Results: mx.other.test;\r\n" +
				"\tspf=fail reason=\"matched all\" smtp.helo=client.test;\r\n" +
				"\tdkim=none;\r\n" +
				"\tdmarc=fail reason=\"no aligned SPF or DKIM pass, p=reject, applied reject\" header.from=example.test\r\n",
		},
		{
			name: "hostile values cannot break the field",
			in: authres.Results{
				SPF:  &authres.SPF{Result: "pass", MailFrom: "a@b.test\r\nX-Injected: 1"},
				DKIM: []authres.DKIM{{Result: "fail", Domain: "evil.test", Reason: "bad \"quote\\\r\nX-Injected: 2"}},
			},
			want: "Authentication-Results: mx.other.test;\r\n" +
				"\tspf=pass smtp.mailfrom=\"a@b.testX-Injected:1\";\r\n" +
				"\tdkim=fail reason=\"bad 'quote' X-Injected: 2\" header.d=evil.test\r\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := authres.Field("mx.other.test", tc.in)
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			// Exactly one field: the only line breaks are folds.
			if strings.Count(got, "\r\n") != strings.Count(got, "\r\n\t")+1 {
				t.Fatalf("unfolded line break in %q", got)
			}
			// An independent parser reads it back.
			value := strings.TrimPrefix(strings.ReplaceAll(strings.TrimSuffix(got, "\r\n"), "\r\n\t", " "), "Authentication-Results: ")
			id, results, err := msgauthres.Parse(value)
			if err != nil || id != "mx.other.test" {
				t.Fatalf("parse: %q, %v", id, err)
			}
			wantMethods := 0
			if tc.in.SPF != nil {
				wantMethods++
			}
			wantMethods += max(len(tc.in.DKIM), 1) // dkim=none when unsigned
			if tc.in.DMARC != nil {
				wantMethods++
			}
			if len(results) != wantMethods {
				t.Fatalf("parsed %d results, want %d", len(results), wantMethods)
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	if got := authres.Value("mx.test", authres.Results{}); got != "mx.test;\r\n\tdkim=none" {
		t.Fatalf("got %q", got)
	}
}

func TestServID(t *testing.T) {
	for value, want := range map[string]string{
		"mx.example.org; spf=pass":                        "mx.example.org",
		" MX.Example.ORG 1; dkim=pass":                    "mx.example.org",
		"(comment (nested) \\) here) mx.example.org;none": "mx.example.org",
		`"mx.example.org"; dmarc=pass`:                    "mx.example.org",
		"mx.example.org(c); dmarc=pass":                   "mx.example.org",
		"\r\n\tmx.example.org;\r\n\tdmarc=pass":           "mx.example.org",
		"mx.example.org":                                  "mx.example.org",
		"":                                                "",
		"(unclosed":                                       "",
		`"unclosed`:                                       "",
		"; spf=pass":                                      "",
	} {
		if got := authres.ServID(value); got != want {
			t.Errorf("ServID(%q) = %q, want %q", value, got, want)
		}
	}
}
