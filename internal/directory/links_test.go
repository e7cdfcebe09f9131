package directory_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"mailport/internal/access"
	"mailport/internal/directory"
)

func forwardRows(p directory.ForwardPage) []string {
	var out []string
	for _, f := range p.Forwards {
		out = append(out, f.Mailbox+" "+f.Target)
	}
	return out
}

func senderRows(p directory.SenderPage) []string {
	var out []string
	for _, s := range p.Senders {
		out = append(out, s.Mailbox+" "+s.Address)
	}
	return out
}

// Without a mailbox, each principal's list of forwards and sender
// addresses is what it may read: the exact rows are compared, so another
// domain's rows appearing on any page fails the test.
func TestLinkQueriesAreScoped(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	must(t, f.dir.As(access.CLI()).AddForward(ctx, "zed@a.example", "zed@home.example", false))
	tests := []struct {
		login   string
		q       directory.LinkQuery
		forward []string
		fTotal  int
		sender  []string
		sTotal  int
	}{
		{"admin", directory.LinkQuery{},
			[]string{"amy@a.example fw@ext.example", "other@b.example fw@ext.example", "zed@a.example fw@ext.example", "zed@a.example zed@home.example"}, 4,
			[]string{"amy@a.example s@a.example", "other@b.example s@b.example", "zed@a.example s@a.example"}, 3},
		{"bob", directory.LinkQuery{},
			[]string{"amy@a.example fw@ext.example", "zed@a.example fw@ext.example", "zed@a.example zed@home.example"}, 3,
			[]string{"amy@a.example s@a.example", "zed@a.example s@a.example"}, 2},
		{"carl", directory.LinkQuery{},
			[]string{"other@b.example fw@ext.example"}, 1,
			[]string{"other@b.example s@b.example"}, 1},
		{"amy@a.example", directory.LinkQuery{},
			[]string{"amy@a.example fw@ext.example"}, 1,
			[]string{"amy@a.example s@a.example"}, 1},
		{"bob", directory.LinkQuery{Limit: 1, Offset: 1},
			[]string{"zed@a.example fw@ext.example"}, 3,
			[]string{"zed@a.example s@a.example"}, 2},
		{"bob", directory.LinkQuery{Desc: true, Limit: 2},
			[]string{"zed@a.example zed@home.example", "zed@a.example fw@ext.example"}, 3,
			[]string{"zed@a.example s@a.example", "amy@a.example s@a.example"}, 2},
		{"admin", directory.LinkQuery{Domain: "B.example"},
			[]string{"other@b.example fw@ext.example"}, 1,
			[]string{"other@b.example s@b.example"}, 1},
		{"admin", directory.LinkQuery{Search: "HOME"},
			[]string{"zed@a.example zed@home.example"}, 1, nil, 0},
		{"bob", directory.LinkQuery{Search: "other"}, nil, 0, nil, 0},
		{"bob", directory.LinkQuery{Mailbox: "Zed@a.example", Search: "fw"},
			[]string{"zed@a.example fw@ext.example"}, 1, nil, 0},
		// A DomainAdmin without domains sees nothing, not everything.
		{"empty", directory.LinkQuery{}, nil, 0, nil, 0},
	}
	_, err := f.dir.As(access.CLI()).CreateAdmin(ctx, directory.NewAdmin{Login: "empty", Password: scopePW, Role: "domainadmin"})
	must(t, err)
	for _, tc := range tests {
		sc := f.as(t, tc.login)
		fp, err := sc.QueryForwards(ctx, tc.q)
		must(t, err)
		if got := forwardRows(fp); !slices.Equal(got, tc.forward) || fp.Total != tc.fTotal {
			t.Errorf("%s QueryForwards %+v = %q (total %d), want %q (total %d)", tc.login, tc.q, got, fp.Total, tc.forward, tc.fTotal)
		}
		sp, err := sc.QuerySenders(ctx, tc.q)
		must(t, err)
		if got := senderRows(sp); !slices.Equal(got, tc.sender) || sp.Total != tc.sTotal {
			t.Errorf("%s QuerySenders %+v = %q (total %d), want %q (total %d)", tc.login, tc.q, got, sp.Total, tc.sender, tc.sTotal)
		}
	}
}

// Naming another's mailbox or domain is denied from the name alone, with
// nothing audited; bad paging and malformed names are bad input.
func TestLinkQueryRefusals(t *testing.T) {
	f := newScopeFixture(t)
	ctx := t.Context()
	tests := []struct {
		login string
		q     directory.LinkQuery
		want  error
	}{
		{"bob", directory.LinkQuery{Domain: "b.example"}, access.ErrForbidden},
		{"bob", directory.LinkQuery{Mailbox: "other@b.example"}, access.ErrForbidden},
		{"bob", directory.LinkQuery{Mailbox: "ghost@b.example"}, access.ErrForbidden},
		{"amy@a.example", directory.LinkQuery{Mailbox: "zed@a.example"}, access.ErrForbidden},
		{"bob", directory.LinkQuery{Limit: -1}, directory.ErrInvalidQuery},
		{"bob", directory.LinkQuery{Search: strings.Repeat("x", 300)}, directory.ErrInvalidQuery},
		{"admin", directory.LinkQuery{Mailbox: "no-at-sign"}, directory.ErrInvalidAddress},
	}
	before := f.auditCount(t)
	for _, tc := range tests {
		sc := f.as(t, tc.login)
		if _, err := sc.QueryForwards(ctx, tc.q); !errors.Is(err, tc.want) {
			t.Errorf("%s QueryForwards %+v: %v, want %v", tc.login, tc.q, err, tc.want)
		}
		if _, err := sc.QuerySenders(ctx, tc.q); !errors.Is(err, tc.want) {
			t.Errorf("%s QuerySenders %+v: %v, want %v", tc.login, tc.q, err, tc.want)
		}
	}
	// A MailUser's domain filter only narrows its own list.
	fp, err := f.as(t, "amy@a.example").QueryForwards(ctx, directory.LinkQuery{Domain: "b.example"})
	must(t, err)
	if fp.Total != 0 {
		t.Errorf("amy's forwards in b.example: %+v", fp)
	}
	if after := f.auditCount(t); after != before {
		t.Errorf("queries wrote %d audit entries", after-before)
	}
}
