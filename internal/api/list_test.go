package api

import (
	"testing"
)

func TestListsPageFilterAndScope(t *testing.T) {
	e := newEnv(t)
	type page struct {
		Items []map[string]any `json:"items"`
		Total int              `json:"total"`
	}
	tests := []struct {
		path, auth string
		key        string
		want       []string
		total      int
	}{
		{"/api/v1/domains?limit=1&offset=1", "admin", "name", []string{"b.test"}, 2},
		{"/api/v1/domains?desc=true", "admin", "name", []string{"b.test", "a.test"}, 2},
		{"/api/v1/domains?q=B.", "admin", "name", []string{"b.test"}, 1},
		{"/api/v1/domains", "da", "name", []string{"a.test"}, 1},
		{"/api/v1/mailboxes?limit=1", "admin", "address", []string{"u2@a.test"}, 4},
		{"/api/v1/mailboxes?sort=address&desc=true&limit=2", "admin", "address", []string{"v@b.test", "v2@b.test"}, 4},
		{"/api/v1/mailboxes?q=u2", "da", "address", []string{"u2@a.test"}, 1},
		{"/api/v1/mailboxes", "db", "address", []string{"v2@b.test", "v@b.test"}, 2},
		{"/api/v1/aliases", "da", "address", []string{"al@a.test"}, 1},
		{"/api/v1/domain-aliases", "db", "alias", []string{"b-alias.test"}, 1},
		{"/api/v1/relay-domains", "da", "name", []string{"r.a.test"}, 1},
		{"/api/v1/queue", "da", "id", []string{"qa"}, 1},
		{"/api/v1/queue", "admin", "id", []string{"qa", "qb"}, 2},
		{"/api/v1/queue?q=b.test", "admin", "id", []string{"qb"}, 1},
		{"/api/v1/forwards", "u@a.test", "target", []string{"fwd@ext.test"}, 1},
		{"/api/v1/sender-addresses", "v@b.test", "address", []string{"s@b.test"}, 1},
		{"/api/v1/stats", "db", "domain", []string{"b.test"}, 1},
		{"/api/v1/admins?q=d&offset=1", "admin", "login", []string{"da", "db"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.path+" as "+tc.auth, func(t *testing.T) {
			r := e.do(req{method: "GET", path: tc.path, auth: tc.auth})
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var p page
			r.json(t, &p)
			var got []string
			for _, it := range p.Items {
				s, _ := it[tc.key].(string)
				got = append(got, s)
			}
			if p.Total != tc.total || len(got) != len(tc.want) {
				t.Fatalf("got %v total %d, want %v total %d", got, p.Total, tc.want, tc.total)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
