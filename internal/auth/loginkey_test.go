package auth

import "testing"

func TestLoginKey(t *testing.T) {
	for in, want := range map[string]string{
		" User@Example.TEST ":     "user@example.test",
		"user@bücher.test":        "user@xn--bcher-kva.test",
		"JÜRGEN@BÜCHER.test":      "jürgen@xn--bcher-kva.test",
		"user@XN--BCHER-KVA.test": "user@xn--bcher-kva.test",
		"Admin":                   "admin",
		"user@not a domain":       "user@not a domain",
	} {
		if got := LoginKey(in); got != want {
			t.Errorf("LoginKey(%q) = %q, want %q", in, got, want)
		}
	}
}
