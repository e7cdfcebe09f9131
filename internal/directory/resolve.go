package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailport/internal/domainname"
	"mailport/internal/store"
)

// maxAliasDepth bounds alias chains (alias -> alias -> ...); deeper chains
// are treated like loops (RFC 3463 5.4.6, routing loop detected).
const maxAliasDepth = 10

// maxLookups bounds the work of one resolution (wide alias trees).
const maxLookups = 1000

// LocalRecipient is a mailbox a message is delivered to.
type LocalRecipient struct {
	Account store.Account
	// Original is the address the sender wrote, in canonical form (local
	// part lower-cased, domain in A-labels), kept for sieve's envelope
	// tests and Delivered-To.
	Original string
	// Detail is the subaddress of Original (user+detail@...), if any.
	Detail string
}

// RelayTarget is an address whose mail is relayed to a fixed host and
// port instead of the MX of its domain: an address of a split-routed
// domain with no mailbox or alias here, or an address of a relay domain.
type RelayTarget struct {
	Address string // the envelope recipient, its domain in A-labels as every next hop takes it
	Host    string // host name or IP address
	Port    int
}

// Resolution is where mail for one address goes.
type Resolution struct {
	Local    []LocalRecipient // each account at most once
	External []string         // addresses outside our domains (aliases, forwards)
	// Relay are the addresses relayed to a fixed destination (split domain
	// routing, relay domains), each address at most once.
	Relay []RelayTarget
	// Forwards of the local recipients' mailboxes. Until the outbound
	// queue exists they are recorded only and the local copy is always kept.
	Forwards []store.Forward
}

// IsLocalDomain reports whether mail for domain is ours, following domain
// aliases; it returns the canonical hosted domain.
func (s *Service) IsLocalDomain(ctx context.Context, domain string) (string, bool, error) {
	d, err := domainname.Normalize(domain)
	if err != nil {
		return "", false, err
	}
	if _, err := s.st.GetDomain(ctx, d); err == nil {
		return d, true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", false, err
	}
	da, err := s.st.GetDomainAlias(ctx, d)
	if err == nil {
		return da.Domain, true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", false, err
	}
	return d, false, nil
}

// Resolve finds where mail for address is delivered. Lookups are
// case-insensitive; domain aliases are followed; user+detail@domain falls
// back to user@domain when no address or alias matches exactly; aliases are
// expanded recursively with loop detection and a depth limit.
//
// An address of a hosted domain with split domain routing that matches no
// mailbox or alias resolves to Relay (the domain's SDR destination) instead
// of ErrUnknownRecipient. An address of a relay domain resolves to Relay
// (the relay domain's destination) when the domain has no recipient list
// or the list holds it (or, with subaddressing, its user@domain form);
// otherwise ErrUnknownRecipient. Alias targets in relay domains are
// resolved the same way.
//
// Errors: ErrRelayDenied when the domain is neither ours nor a relay
// domain (or the address hides a route), ErrUnknownRecipient, ErrDisabled,
// ErrLoop, ErrInvalidAddress, or a storage error (temporary).
func (s *Service) Resolve(ctx context.Context, address string) (Resolution, error) {
	local, domain, err := ParseAddress(strings.TrimSpace(address))
	if err != nil {
		return Resolution{}, err
	}
	canon, ok, err := s.IsLocalDomain(ctx, domain)
	if err != nil {
		return Resolution{}, err
	}
	r := resolver{s: s, original: local + "@" + domain, seen: map[string]bool{}, accounts: map[int64]bool{}}
	if !ok {
		relayed, err := r.relayDomain(ctx, local, domain)
		if err != nil {
			return Resolution{}, err
		}
		if !relayed {
			return Resolution{}, fmt.Errorf("%w: %s is not a local domain", ErrRelayDenied, domain)
		}
		return r.res, nil
	}
	if err := r.expand(ctx, local, canon, 0); err != nil {
		return Resolution{}, err
	}
	return r.res, nil
}

// IsLocalAddress reports whether addr is delivered to a mailbox here: its
// domain is hosted (or a domain alias) and the address, or its user@domain
// form without a subaddress, is a mailbox. Aliases, split routing and relay
// domains do not count. Lookup errors count as not local.
func (s *Service) IsLocalAddress(ctx context.Context, addr string) bool {
	local, domain, err := ParseAddress(strings.TrimSpace(addr))
	if err != nil {
		return false
	}
	canon, ok, err := s.IsLocalDomain(ctx, domain)
	if err != nil || !ok {
		return false
	}
	if _, err := s.st.GetAccountByAddress(ctx, local+"@"+canon); err == nil {
		return true
	}
	if s.sep != "" {
		if i := strings.Index(local, s.sep); i > 0 {
			_, err := s.st.GetAccountByAddress(ctx, local[:i]+"@"+canon)
			return err == nil
		}
	}
	return false
}

type resolver struct {
	s        *Service
	original string
	seen     map[string]bool
	accounts map[int64]bool
	domains  map[string]store.Domain // hosted domains looked up for SDR
	lookups  int
	res      Resolution
}

// relayDomain resolves local@domain when domain is a relay domain: it
// reports false when it is not one.
func (r *resolver) relayDomain(ctx context.Context, local, domain string) (bool, error) {
	addr := local + "@" + domain
	rd, allowed, err := r.s.st.RelayRoute(ctx, domain, addr)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("lookup relay domain %s: %w", domain, err)
	}
	if !allowed && r.s.sep != "" {
		// RFC 5233: user+detail is user's, as for local mailboxes.
		if i := strings.Index(local, r.s.sep); i > 0 {
			if _, allowed, err = r.s.st.RelayRoute(ctx, domain, local[:i]+"@"+domain); err != nil {
				return false, fmt.Errorf("lookup relay domain %s: %w", domain, err)
			}
		}
	}
	if !allowed {
		return true, fmt.Errorf("%w: %s is not a recipient of relay domain %s", ErrUnknownRecipient, addr, domain)
	}
	r.addRelay(RelayTarget{Address: addr, Host: rd.Host, Port: rd.Port})
	return true, nil
}

// splitRoute relays addr to its hosted domain's SDR destination, if the
// domain has one; it reports whether it did.
func (r *resolver) splitRoute(ctx context.Context, addr, domain string) (bool, error) {
	d, ok := r.domains[domain]
	if !ok {
		var err error
		if d, err = r.s.st.GetDomain(ctx, domain); err != nil {
			return false, fmt.Errorf("lookup domain %s: %w", domain, err)
		}
		if r.domains == nil {
			r.domains = map[string]store.Domain{}
		}
		r.domains[domain] = d
	}
	if d.SDRHost == "" {
		return false, nil
	}
	r.addRelay(RelayTarget{Address: addr, Host: d.SDRHost, Port: d.SDRPort})
	return true, nil
}

func (r *resolver) addRelay(t RelayTarget) {
	for _, e := range r.res.Relay {
		if e.Address == t.Address {
			return
		}
	}
	r.res.Relay = append(r.res.Relay, t)
}

func (r *resolver) expand(ctx context.Context, local, domain string, depth int) error {
	if depth > maxAliasDepth {
		return fmt.Errorf("%w: %s", ErrLoop, r.original)
	}
	addr := local + "@" + domain
	// seen holds the addresses on the current path only: a diamond (two
	// aliases naming the same mailbox) is fine, a cycle is not.
	if r.seen[addr] {
		return fmt.Errorf("%w: %s reached again from %s", ErrLoop, addr, r.original)
	}
	r.seen[addr] = true
	defer delete(r.seen, addr)
	if r.lookups++; r.lookups > maxLookups {
		return fmt.Errorf("%w: %s expands to too many addresses", ErrLoop, r.original)
	}

	found, err := r.exact(ctx, addr, "", depth)
	if err != nil || found {
		return err
	}
	// RFC 5233 subaddress: user+detail falls back to user.
	if sep := r.s.sep; sep != "" {
		if i := strings.Index(local, sep); i > 0 {
			found, err := r.exact(ctx, local[:i]+"@"+domain, local[i+len(sep):], depth)
			if err != nil || found {
				return err
			}
		}
	}
	// Split domain routing: an address unknown here may live on the
	// other server of the domain.
	if routed, err := r.splitRoute(ctx, addr, domain); err != nil || routed {
		return err
	}
	return fmt.Errorf("%w: %s", ErrUnknownRecipient, addr)
}

// exact resolves addr if it names a mailbox or an alias.
func (r *resolver) exact(ctx context.Context, addr, detail string, depth int) (bool, error) {
	st := r.s.st
	acct, err := st.GetAccountByAddress(ctx, addr)
	if err == nil {
		if !acct.Enabled {
			return true, fmt.Errorf("%w: %s", ErrDisabled, addr)
		}
		if !r.accounts[acct.ID] {
			r.accounts[acct.ID] = true
			r.res.Local = append(r.res.Local, LocalRecipient{Account: acct, Original: r.original, Detail: detail})
			fwds, err := st.ListForwards(ctx, acct.ID)
			if err != nil {
				return true, fmt.Errorf("forwards of %s: %w", addr, err)
			}
			r.res.Forwards = append(r.res.Forwards, fwds...)
		}
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return true, fmt.Errorf("lookup %s: %w", addr, err)
	}
	alias, err := st.GetAlias(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return true, fmt.Errorf("lookup alias %s: %w", addr, err)
	}
	for _, t := range alias.Targets {
		tl, td, err := ParseAddress(t)
		if err != nil {
			return true, fmt.Errorf("alias %s has a bad target: %w", addr, err)
		}
		canon, ok, err := r.s.IsLocalDomain(ctx, td)
		if err != nil {
			return true, err
		}
		if !ok {
			relayed, err := r.relayDomain(ctx, tl, td)
			if err != nil {
				return true, fmt.Errorf("alias %s: %w", addr, err)
			}
			if !relayed {
				r.addExternal(tl + "@" + td)
			}
			continue
		}
		if err := r.expand(ctx, tl, canon, depth+1); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (r *resolver) addExternal(addr string) {
	for _, e := range r.res.External {
		if e == addr {
			return
		}
	}
	r.res.External = append(r.res.External, addr)
}
