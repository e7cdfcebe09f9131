package storetest

import (
	"slices"
	"testing"

	"mailport/internal/store"
)

// testQueryLinks checks QueryForwards and QuerySenderAddresses: domain
// and mailbox selection, search on either address, order, paging and
// totals.
func testQueryLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustDomain(t, s, "a.example")
	b := mustDomain(t, s, "b.example")
	mustDomain(t, s, "empty.example")
	amy := mustAccount(t, s, a, "amy", 0)
	bob := mustAccount(t, s, a, "bob_x", 0)
	zoe := mustAccount(t, s, b, "zoe", 0)
	for _, f := range []store.Forward{
		{AccountID: amy.ID, Target: "b@ext.example", KeepCopy: true},
		{AccountID: amy.ID, Target: "a@ext.example"},
		{AccountID: bob.ID, Target: "bob@home.example"},
		{AccountID: zoe.ID, Target: "zoe@ext.example", KeepCopy: true},
	} {
		noErr(t, "AddForward", s.AddForward(ctx, f))
	}
	for _, sa := range []store.SenderAddress{
		{AccountID: amy.ID, Address: "sales@a.example"},
		{AccountID: bob.ID, Address: "info@a.example"},
		{AccountID: zoe.ID, Address: "info@b.example"},
	} {
		noErr(t, "AddSenderAddress", s.AddSenderAddress(ctx, sa))
	}

	fwd := func(mb, target string, keep bool) store.MailboxForward {
		return store.MailboxForward{Mailbox: mb, Target: target, KeepCopy: keep}
	}
	forwards := []struct {
		name  string
		q     store.LinkQuery
		want  []store.MailboxForward
		total int
	}{
		{"all", store.LinkQuery{AllDomains: true}, []store.MailboxForward{
			fwd("amy@a.example", "a@ext.example", false), fwd("amy@a.example", "b@ext.example", true),
			fwd("bob_x@a.example", "bob@home.example", false), fwd("zoe@b.example", "zoe@ext.example", true)}, 4},
		{"none", store.LinkQuery{}, nil, 0},
		{"domain", store.LinkQuery{Domains: []string{"b.example"}}, []store.MailboxForward{fwd("zoe@b.example", "zoe@ext.example", true)}, 1},
		{"domain without forwards", store.LinkQuery{Domains: []string{"empty.example"}}, nil, 0},
		{"mailbox", store.LinkQuery{AllDomains: true, Mailbox: "bob_x@a.example"}, []store.MailboxForward{fwd("bob_x@a.example", "bob@home.example", false)}, 1},
		{"mailbox outside the domains", store.LinkQuery{Domains: []string{"b.example"}, Mailbox: "amy@a.example"}, nil, 0},
		{"search mailbox or target", store.LinkQuery{AllDomains: true, Search: "BOB"}, []store.MailboxForward{fwd("bob_x@a.example", "bob@home.example", false)}, 1},
		{"search target", store.LinkQuery{AllDomains: true, Search: "@ext."}, []store.MailboxForward{
			fwd("amy@a.example", "a@ext.example", false), fwd("amy@a.example", "b@ext.example", true), fwd("zoe@b.example", "zoe@ext.example", true)}, 3},
		// "_" is literal, not a LIKE wildcard.
		{"search literal", store.LinkQuery{AllDomains: true, Search: "b_x"}, []store.MailboxForward{fwd("bob_x@a.example", "bob@home.example", false)}, 1},
		{"search wildcard", store.LinkQuery{AllDomains: true, Search: "%"}, nil, 0},
		{"desc", store.LinkQuery{Domains: []string{"a.example"}, Desc: true}, []store.MailboxForward{
			fwd("bob_x@a.example", "bob@home.example", false), fwd("amy@a.example", "b@ext.example", true), fwd("amy@a.example", "a@ext.example", false)}, 3},
		{"page", store.LinkQuery{AllDomains: true, Limit: 2, Offset: 1}, []store.MailboxForward{
			fwd("amy@a.example", "b@ext.example", true), fwd("bob_x@a.example", "bob@home.example", false)}, 4},
		{"past the end", store.LinkQuery{AllDomains: true, Offset: 10}, nil, 4},
	}
	for _, tc := range forwards {
		got, total, err := s.QueryForwards(ctx, tc.q)
		noErr(t, "QueryForwards "+tc.name, err)
		if !slices.Equal(got, tc.want) || total != tc.total {
			t.Errorf("QueryForwards %s = %+v (total %d), want %+v (total %d)", tc.name, got, total, tc.want, tc.total)
		}
	}

	snd := func(mb, addr string) store.MailboxSender { return store.MailboxSender{Mailbox: mb, Address: addr} }
	senders := []struct {
		name  string
		q     store.LinkQuery
		want  []store.MailboxSender
		total int
	}{
		{"all", store.LinkQuery{AllDomains: true}, []store.MailboxSender{
			snd("amy@a.example", "sales@a.example"), snd("bob_x@a.example", "info@a.example"), snd("zoe@b.example", "info@b.example")}, 3},
		{"none", store.LinkQuery{}, nil, 0},
		{"domains", store.LinkQuery{Domains: []string{"a.example", "empty.example"}}, []store.MailboxSender{
			snd("amy@a.example", "sales@a.example"), snd("bob_x@a.example", "info@a.example")}, 2},
		{"mailbox", store.LinkQuery{AllDomains: true, Mailbox: "zoe@b.example"}, []store.MailboxSender{snd("zoe@b.example", "info@b.example")}, 1},
		{"search address", store.LinkQuery{AllDomains: true, Search: "INFO@"}, []store.MailboxSender{
			snd("bob_x@a.example", "info@a.example"), snd("zoe@b.example", "info@b.example")}, 2},
		{"desc page", store.LinkQuery{AllDomains: true, Desc: true, Limit: 1}, []store.MailboxSender{snd("zoe@b.example", "info@b.example")}, 3},
	}
	for _, tc := range senders {
		got, total, err := s.QuerySenderAddresses(ctx, tc.q)
		noErr(t, "QuerySenderAddresses "+tc.name, err)
		if !slices.Equal(got, tc.want) || total != tc.total {
			t.Errorf("QuerySenderAddresses %s = %+v (total %d), want %+v (total %d)", tc.name, got, total, tc.want, tc.total)
		}
	}
}
