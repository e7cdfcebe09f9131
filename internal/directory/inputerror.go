package directory

import (
	"context"
	"errors"
	"fmt"

	"mailport/internal/store"
)

// Sentinels of bad input besides those of address handling (address.go)
// and routing (routing.go). The API answers every one of them 422.
var (
	// ErrDomainNotHosted is a new address (mailbox, alias, sender
	// address) in a domain this server does not host. It is bad input,
	// not a missing object: the address is what the caller got wrong.
	ErrDomainNotHosted = errors.New("not hosted here")
	// ErrInvalidValue is any other rejected value: a negative quota, a
	// list too long, a missing part.
	ErrInvalidValue = errors.New("invalid value")
)

// InputError says which input of an operation an error is about. Field is
// the input's name as the operation's callers name it ("address",
// "targets", "password"); the API reports the error at that request field
// and the CLI prints the message. The sentinel inside (errors.Is) says
// what is wrong with it.
type InputError struct {
	Field string
	Err   error
}

func (e *InputError) Error() string { return e.Err.Error() }

func (e *InputError) Unwrap() error { return e.Err }

// inputErr marks err as being about the input called field; nil stays
// nil. A mark added later (further out) names the input as the outer
// operation calls it.
func inputErr(field string, err error) error {
	if err == nil {
		return nil
	}
	return &InputError{Field: field, Err: err}
}

// addressDomain returns the hosted domain a new mailbox or alias address
// is in: an unknown domain or a domain alias is ErrDomainNotHosted.
func (s *Service) addressDomain(ctx context.Context, addr, domain string) (store.Domain, error) {
	dom, err := s.st.GetDomain(ctx, domain)
	if err == nil {
		return dom, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Domain{}, fmt.Errorf("%s: domain %s: %w", addr, domain, err)
	}
	if da, aerr := s.st.GetDomainAlias(ctx, domain); aerr == nil {
		return store.Domain{}, fmt.Errorf("%s: domain %s is %w: it is an alias of %s, use that domain", addr, domain, ErrDomainNotHosted, da.Domain)
	}
	return store.Domain{}, fmt.Errorf("%s: domain %s is %w", addr, domain, ErrDomainNotHosted)
}

// senderDomain returns the hosted domain a sender address is in, through
// a domain alias if need be (a mailbox may send as its domain alias
// addresses); any other domain is ErrDomainNotHosted.
func (s *Service) senderDomain(ctx context.Context, addr string) (string, error) {
	d := domainPart(addr)
	canon, local, err := s.IsLocalDomain(ctx, d)
	if err != nil {
		return "", err
	}
	if !local {
		return "", fmt.Errorf("sender address %s: domain %s is %w", addr, d, ErrDomainNotHosted)
	}
	return canon, nil
}
