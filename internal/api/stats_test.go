package api

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"mailport/internal/store"
)

// TestDomainStatsSort: GET /stats/domains/{name} sorts and pages in the
// store, so the portal asks for the largest mailboxes first.
func TestDomainStatsSort(t *testing.T) {
	e := newEnv(t)
	// big uses the most bytes and has the largest quota, many holds the
	// most messages; the fixture's u and u2 are empty and without quota.
	for addr, sizes := range map[string][]int64{"big@a.test": {500}, "many@a.test": {10, 10, 10}} {
		quota := map[string]int64{"big@a.test": 1 << 20, "many@a.test": 1 << 10}[addr]
		r := e.do(req{method: "POST", path: "/api/v1/mailboxes", auth: "da", body: map[string]any{"address": addr, "password": testPassword, "quota_bytes": quota}})
		if r.status != 201 {
			t.Fatalf("create %s: %d %s", addr, r.status, r.body)
		}
		acct, err := e.st.GetAccountByAddress(t.Context(), addr)
		if err != nil {
			t.Fatal(err)
		}
		inbox, err := e.st.GetMailbox(t.Context(), acct.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		var msgs []store.NewMessage
		for i, size := range sizes {
			msgs = append(msgs, store.NewMessage{MailboxID: inbox.ID, Size: size, BlobID: fmt.Sprintf("%s-%d", addr, i),
				InternalDate: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Envelope: []byte(`{}`), Structure: []byte(`{}`)})
		}
		if res, err := e.st.AppendMessages(t.Context(), msgs); err != nil || res[0].Err != nil {
			t.Fatalf("append to %s: %v %v", addr, err, res)
		}
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"big@a.test", "many@a.test", "u2@a.test", "u@a.test"}},
		{"?sort=used&desc=true&limit=2", []string{"big@a.test", "many@a.test"}},
		// Ties (the empty mailboxes) by address, in the same direction.
		{"?sort=used&desc=true&limit=2&offset=2", []string{"u@a.test", "u2@a.test"}},
		{"?sort=messages&desc=true&limit=1", []string{"many@a.test"}},
		{"?sort=quota&desc=true&limit=1", []string{"big@a.test"}},
		{"?sort=address&desc=true", []string{"u@a.test", "u2@a.test", "many@a.test", "big@a.test"}},
	} {
		r := e.do(req{method: "GET", path: "/api/v1/stats/domains/a.test" + tc.query, auth: "da"})
		var page List[MailboxStats]
		r.json(t, &page)
		var got []string
		for _, s := range page.Items {
			got = append(got, s.Address)
		}
		if r.status != 200 || !slices.Equal(got, tc.want) || page.Total != 4 {
			t.Errorf("stats%s: %d %v (total %d), want %v (total 4)", tc.query, r.status, got, page.Total, tc.want)
		}
		if tc.query == "?sort=messages&desc=true&limit=1" && page.Items[0] != (MailboxStats{Address: "many@a.test", Messages: 3, Bytes: 30, QuotaBytes: 1 << 10}) {
			t.Errorf("stats of many@a.test: %+v", page.Items[0])
		}
	}
	if r := e.do(req{method: "GET", path: "/api/v1/stats/domains/a.test?sort=created", auth: "da"}); r.status != 422 {
		t.Errorf("unknown sort: %d %s", r.status, r.body)
	}
}
