package directory

import (
	"context"
	"fmt"

	"mailport/internal/access"
	"mailport/internal/domainname"
	"mailport/internal/store"
)

// LinkQuery selects a page of forwards or sender addresses. With Mailbox,
// that mailbox's (for its managers and its owner); without it, every
// mailbox the principal administers (a MasterAdmin: all; a DomainAdmin:
// those of its domains) and a MailUser's own. Domain narrows the list to
// the mailboxes of one domain; Search matches a substring of the mailbox
// or of the target (sender address). Rows are ordered by mailbox, then
// target, descending with Desc.
type LinkQuery struct {
	Mailbox string
	Domain  string
	Search  string
	Desc    bool
	Limit   int
	Offset  int
}

// ForwardPage is one page of QueryForwards; Total counts every match.
type ForwardPage struct {
	Forwards []Forward
	Total    int
}

// SenderPage is one page of QuerySenders; Total counts every match.
type SenderPage struct {
	Senders []SenderAddress
	Total   int
}

// QueryForwards pages through the forwards the principal may read.
func (sc *Scope) QueryForwards(ctx context.Context, q LinkQuery) (ForwardPage, error) {
	sq, err := sc.linkQuery(q, "forwards", access.CanManageForwards)
	if err != nil {
		return ForwardPage{}, err
	}
	fs, total, err := sc.s.st.QueryForwards(ctx, sq)
	if err != nil {
		return ForwardPage{}, err
	}
	page := ForwardPage{Forwards: make([]Forward, len(fs)), Total: total}
	for i, f := range fs {
		page.Forwards[i] = Forward(f)
	}
	return page, nil
}

// QuerySenders pages through the sender addresses the principal may read.
func (sc *Scope) QuerySenders(ctx context.Context, q LinkQuery) (SenderPage, error) {
	sq, err := sc.linkQuery(q, "sender addresses", access.CanReadMailbox)
	if err != nil {
		return SenderPage{}, err
	}
	ss, total, err := sc.s.st.QuerySenderAddresses(ctx, sq)
	if err != nil {
		return SenderPage{}, err
	}
	page := SenderPage{Senders: make([]SenderAddress, len(ss)), Total: total}
	for i, s := range ss {
		page.Senders[i] = SenderAddress(s)
	}
	return page, nil
}

// linkQuery checks q against the principal and turns it into the store's
// query: may is the permission to read a named mailbox's rows. A
// mailbox outside the principal's reach and a domain filter naming
// another's domain are denied from their names alone.
func (sc *Scope) linkQuery(q LinkQuery, what string, may func(access.Principal, string) bool) (store.LinkQuery, error) {
	if q.Limit < 0 || q.Offset < 0 || len(q.Search) > maxAddressLength {
		return store.LinkQuery{}, fmt.Errorf("%w: negative limit or offset, or search too long", ErrInvalidQuery)
	}
	sq := store.LinkQuery{Search: q.Search, Desc: q.Desc, Limit: q.Limit, Offset: q.Offset}
	mailbox := q.Mailbox
	if mailbox == "" && !sc.p.IsMaster() && !sc.p.IsDomainAdmin() {
		// A MailUser administers no domain: its list is its own.
		mailbox = sc.p.Login()
	}
	if mailbox != "" {
		mb, err := sc.mailboxFor(mailbox, may, "read "+what+" of")
		if err != nil {
			return store.LinkQuery{}, err
		}
		sq.AllDomains, sq.Mailbox = true, mb
	} else {
		all, own, err := sc.ownedDomains("list " + what)
		if err != nil {
			return store.LinkQuery{}, err
		}
		sq.AllDomains, sq.Domains = all, own
	}
	if q.Domain == "" {
		return sq, nil
	}
	// With a mailbox, reading it was allowed and the domain only narrows
	// the answer; without, the domain must be one the principal runs.
	var d string
	var err error
	if sq.Mailbox != "" {
		d, err = domainname.Normalize(q.Domain)
	} else {
		d, err = sc.manageDomain(q.Domain, "list "+what)
	}
	if err != nil {
		return store.LinkQuery{}, inputErr("domain", err)
	}
	sq.AllDomains, sq.Domains = false, []string{d}
	return sq, nil
}
