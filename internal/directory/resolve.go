package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// Original is the address as the sender wrote it (lower-cased), kept
	// for sieve's envelope tests and Delivered-To.
	Original string
	// Detail is the subaddress of Original (user+detail@...), if any.
	Detail string
}

// Resolution is where mail for one address goes.
type Resolution struct {
	Local    []LocalRecipient // each account at most once
	External []string         // addresses outside our domains (aliases, forwards)
	// Forwards of the local recipients' mailboxes. Until the outbound
	// queue exists they are recorded only and the local copy is always kept.
	Forwards []store.Forward
}

// IsLocalDomain reports whether mail for domain is ours, following domain
// aliases; it returns the canonical hosted domain.
func (s *Service) IsLocalDomain(ctx context.Context, domain string) (string, bool, error) {
	d, err := NormalizeDomain(domain)
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
// Errors: ErrRelayDenied when the domain is not ours (or the address hides
// a route), ErrUnknownRecipient, ErrDisabled, ErrLoop, ErrInvalidAddress,
// or a storage error (temporary).
func (s *Service) Resolve(ctx context.Context, address string) (Resolution, error) {
	local, domain, err := ParseAddress(strings.TrimSpace(address))
	if err != nil {
		return Resolution{}, err
	}
	canon, ok, err := s.IsLocalDomain(ctx, domain)
	if err != nil {
		return Resolution{}, err
	}
	if !ok {
		return Resolution{}, fmt.Errorf("%w: %s is not a local domain", ErrRelayDenied, domain)
	}
	r := resolver{s: s, original: local + "@" + domain, seen: map[string]bool{}, accounts: map[int64]bool{}}
	if err := r.expand(ctx, local, canon, 0); err != nil {
		return Resolution{}, err
	}
	return r.res, nil
}

type resolver struct {
	s        *Service
	original string
	seen     map[string]bool
	accounts map[int64]bool
	lookups  int
	res      Resolution
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
			r.addExternal(tl + "@" + td)
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
