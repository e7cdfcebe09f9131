package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// GET /forwards and GET /sender-addresses without a mailbox list what the
// caller may read: everything for a MasterAdmin, the mailboxes of its
// domains for a DomainAdmin, its own for a MailUser; with search, a
// domain filter, order and paging, and a total that counts every match.
func TestLinkLists(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{"x1@ext.test", "x2@ext.test"} {
		if r := e.do(req{method: "POST", path: "/api/v1/forwards", auth: "da", body: map[string]any{"mailbox": "u2@a.test", "target": target}}); r.status != 201 {
			t.Fatalf("creating a forward: %d %s", r.status, r.body)
		}
	}
	if r := e.do(req{method: "POST", path: "/api/v1/sender-addresses", auth: "da", body: map[string]string{"mailbox": "u2@a.test", "address": "s2@a.test"}}); r.status != 201 {
		t.Fatalf("creating a sender address: %d %s", r.status, r.body)
	}
	type row struct{ Mailbox, Target, Address string }
	rowsOf := func(t *testing.T, path, auth string) ([]string, int) {
		t.Helper()
		r := e.do(req{method: "GET", path: path, auth: auth})
		if r.status != 200 {
			t.Fatalf("GET %s as %s: %d %s", path, auth, r.status, r.body)
		}
		var p struct {
			Items []row `json:"items"`
			Total int   `json:"total"`
		}
		r.json(t, &p)
		var got []string
		for _, it := range p.Items {
			got = append(got, it.Mailbox+" "+it.Target+it.Address)
		}
		return got, p.Total
	}
	tests := []struct {
		path, auth string
		want       []string
		total      int
	}{
		{"/api/v1/forwards", "admin", []string{"u2@a.test x1@ext.test", "u2@a.test x2@ext.test", "u@a.test fwd@ext.test", "v@b.test fwd@ext.test"}, 4},
		{"/api/v1/forwards", "da", []string{"u2@a.test x1@ext.test", "u2@a.test x2@ext.test", "u@a.test fwd@ext.test"}, 3},
		{"/api/v1/forwards", "db", []string{"v@b.test fwd@ext.test"}, 1},
		{"/api/v1/forwards", "u2@a.test", []string{"u2@a.test x1@ext.test", "u2@a.test x2@ext.test"}, 2},
		{"/api/v1/forwards?limit=2&offset=2", "da", []string{"u@a.test fwd@ext.test"}, 3},
		{"/api/v1/forwards?limit=1&offset=5", "da", nil, 3},
		{"/api/v1/forwards?desc=true&limit=2", "admin", []string{"v@b.test fwd@ext.test", "u@a.test fwd@ext.test"}, 4},
		{"/api/v1/forwards?domain=b.test", "admin", []string{"v@b.test fwd@ext.test"}, 1},
		{"/api/v1/forwards?domain=A.TEST&q=X2", "admin", []string{"u2@a.test x2@ext.test"}, 1},
		{"/api/v1/forwards?q=v@", "da", nil, 0},
		{"/api/v1/forwards?mailbox=u@a.test", "da", []string{"u@a.test fwd@ext.test"}, 1},
		{"/api/v1/forwards?mailbox=u@a.test&domain=b.test", "admin", nil, 0},
		{"/api/v1/sender-addresses", "admin", []string{"u2@a.test s2@a.test", "u@a.test s@a.test", "v@b.test s@b.test"}, 3},
		{"/api/v1/sender-addresses", "da", []string{"u2@a.test s2@a.test", "u@a.test s@a.test"}, 2},
		{"/api/v1/sender-addresses?q=s2", "da", []string{"u2@a.test s2@a.test"}, 1},
		{"/api/v1/sender-addresses", "db", []string{"v@b.test s@b.test"}, 1},
		{"/api/v1/sender-addresses", "u@a.test", []string{"u@a.test s@a.test"}, 1},
		{"/api/v1/sender-addresses?limit=1&offset=1&desc=true", "admin", []string{"u@a.test s@a.test"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.path+" as "+tc.auth, func(t *testing.T) {
			got, total := rowsOf(t, tc.path, tc.auth)
			if !slices.Equal(got, tc.want) || total != tc.total {
				t.Errorf("got %q total %d, want %q total %d", got, total, tc.want, tc.total)
			}
		})
	}

	// Another domain's rows never appear in a DomainAdmin's or a
	// MailUser's list, whatever the page.
	for _, auth := range []string{"da", "u@a.test", "u2@a.test"} {
		for _, coll := range []string{"forwards", "sender-addresses"} {
			for offset := range 4 {
				got, _ := rowsOf(t, fmt.Sprintf("/api/v1/%s?limit=1&offset=%d", coll, offset), auth)
				for _, r := range got {
					if strings.Contains(r, "b.test") {
						t.Errorf("%s's %s list shows %q", auth, coll, r)
					}
				}
			}
		}
	}
}

// Naming what the caller may not read is refused from the name alone; a
// malformed mailbox or domain is a 422 at that query parameter.
func TestLinkListRefusals(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		path, auth string
		status     int
		field      string
	}{
		{"/api/v1/forwards?domain=b.test", "da", 403, ""},
		{"/api/v1/sender-addresses?domain=b.test", "da", 403, ""},
		{"/api/v1/forwards?mailbox=v@b.test", "da", 403, ""},
		{"/api/v1/forwards?mailbox=nobody@b.test", "da", 403, ""},
		{"/api/v1/forwards?mailbox=u2@a.test", "u@a.test", 403, ""},
		{"/api/v1/sender-addresses?mailbox=v@b.test", "u@a.test", 403, ""},
		{"/api/v1/forwards?mailbox=no-at-sign", "admin", 422, "query.mailbox"},
		{"/api/v1/sender-addresses?domain=bad_name.test", "admin", 422, "query.domain"},
		{"/api/v1/forwards", "", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.path+" as "+tc.auth, func(t *testing.T) {
			r := e.do(req{method: "GET", path: tc.path, auth: tc.auth})
			if r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.field == "" {
				return
			}
			var eb ErrorBody
			if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error.Fields[tc.field] == "" {
				t.Errorf("error %s does not name %s", r.body, tc.field)
			}
		})
	}
}
