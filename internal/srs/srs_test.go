package srs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTest(t *testing.T, now time.Time) *Rewriter {
	t.Helper()
	r, err := New([]byte("0123456789abcdef0123456789abcdef"), "mx.example.test")
	if err != nil {
		t.Fatal(err)
	}
	r.Now = func() time.Time { return now }
	return r
}

func TestForwardReverse(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	r := newTest(t, now)
	cases := []string{"alice@sender.test", "a=b+c@Sender.Test", "x@sub.domain.test"}
	for _, orig := range cases {
		t.Run(orig, func(t *testing.T) {
			fwd, err := r.Forward(orig)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(fwd, "SRS0=") || !strings.HasSuffix(fwd, "@mx.example.test") {
				t.Fatalf("rewritten %q", fwd)
			}
			back, err := r.Reverse(fwd)
			if err != nil {
				t.Fatalf("Reverse(%q): %v", fwd, err)
			}
			at := strings.LastIndexByte(orig, '@')
			if want := orig[:at] + "@" + strings.ToLower(orig[at+1:]); back != want {
				t.Errorf("Reverse = %q, want %q", back, want)
			}
			// The receiving side may lower-case the local part.
			if back2, err := r.Reverse(strings.ToLower(fwd)); err != nil || !strings.EqualFold(back2, back) {
				t.Errorf("lower-cased: %q, %v", back2, err)
			}
		})
	}
}

func TestReverseRefusals(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	r := newTest(t, now)
	good, err := r.Forward("alice@sender.test")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New([]byte("another secret of sixteen+ bytes"), "mx.example.test")
	other.Now = r.Now
	forged, _ := other.Forward("victim@target.test")
	tampered := strings.Replace(good, "=sender.test=", "=evil.test=", 1)
	old := newTest(t, now.Add(-30*24*time.Hour))
	expired, _ := old.Forward("alice@sender.test")
	recent := newTest(t, now.Add(-20*24*time.Hour))
	stillValid, _ := recent.Forward("alice@sender.test")

	cases := []struct {
		name string
		addr string
		want error
	}{
		{"plain address", "alice@mx.example.test", ErrNotSRS},
		{"no at", "SRS0=abc", ErrNotSRS},
		{"too few parts", "SRS0=AAAAAA=AA=x@mx.example.test", ErrInvalid},
		{"bad stamp", "SRS0=AAAAAA=1!=d.test=x@mx.example.test", ErrInvalid},
		{"short hash", "SRS0=AAA=AA=d.test=x@mx.example.test", ErrInvalid},
		{"other secret", forged, ErrBadHash},
		{"tampered domain", tampered, ErrBadHash},
		{"expired", expired, ErrTooOld},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Reverse(tc.addr); !errors.Is(err, tc.want) {
				t.Errorf("Reverse(%q) = %v, want %v", tc.addr, err, tc.want)
			}
		})
	}
	if _, err := r.Reverse(stillValid); err != nil {
		t.Errorf("20-day-old address refused: %v", err)
	}
}

func TestForwardSpecialSenders(t *testing.T) {
	r := newTest(t, time.Now())
	if _, err := r.Forward(""); !errors.Is(err, ErrNoSender) {
		t.Errorf("null sender: %v", err)
	}
	if _, err := r.Forward("nodomain"); !errors.Is(err, ErrInvalid) {
		t.Errorf("no domain: %v", err)
	}
	ours, _ := r.Forward("alice@sender.test")
	if again, err := r.Forward(ours); err != nil || again != ours {
		t.Errorf("forwarding our own SRS address: %q, %v", again, err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || string(k1) != string(k2) {
		t.Errorf("second load differs or fails: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Error("short key accepted")
	}
}
