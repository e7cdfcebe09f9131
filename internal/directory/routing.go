package directory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"mailport/internal/domainname"
	"mailport/internal/store"
)

// ErrInvalidRoute is a bad destination host or port for split domain
// routing or a relay domain.
var ErrInvalidRoute = errors.New("invalid destination")

// maxRelayRecipients bounds a relay domain's recipient list (the store
// holds the same bound).
const maxRelayRecipients = 100000

// NormalizeHost checks a destination host: a domain name (lower-cased) or
// an IP address, IPv6 with or without brackets. It returns the form to
// store: the name, or the address as net.IP.String writes it.
func NormalizeHost(host string) (string, error) {
	h := strings.TrimSpace(host)
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if ip := net.ParseIP(h); ip != nil {
		return ip.String(), nil
	}
	d, err := domainname.Normalize(h)
	if err != nil {
		return "", fmt.Errorf("%w: host %q: %v", ErrInvalidRoute, host, err)
	}
	return d, nil
}

func checkPort(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("%w: port %d is not between 1 and 65535", ErrInvalidRoute, port)
	}
	return nil
}

// hostedDomain normalizes name and checks it is a hosted domain; a domain
// alias gets an error that names its domain.
func (s *Service) hostedDomain(ctx context.Context, name string) (store.Domain, error) {
	d, err := domainname.Normalize(name)
	if err != nil {
		return store.Domain{}, err
	}
	dom, err := s.st.GetDomain(ctx, d)
	if err == nil {
		return dom, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Domain{}, fmt.Errorf("domain %s: %w", d, err)
	}
	if da, aerr := s.st.GetDomainAlias(ctx, d); aerr == nil {
		return store.Domain{}, fmt.Errorf("domain %s: %w: it is an alias of %s, use that domain", d, store.ErrNotFound, da.Domain)
	}
	return store.Domain{}, fmt.Errorf("domain %s: %w", d, store.ErrNotFound)
}

// SetSDR turns on split domain routing for a hosted domain: mail for its
// addresses that match no mailbox or alias is relayed to host:port
// instead of refused, so the domain can live on two servers during a
// migration.
func (s *Service) SetSDR(ctx context.Context, domain, host string, port int) error {
	dom, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return err
	}
	h, err := NormalizeHost(host)
	if err != nil {
		return inputErr("host", fmt.Errorf("split domain routing of %s: %w", dom.Name, err))
	}
	if err := checkPort(port); err != nil {
		return inputErr("port", fmt.Errorf("split domain routing of %s: %w", dom.Name, err))
	}
	if err := s.st.SetDomainSDR(ctx, dom.Name, h, port); err != nil {
		return fmt.Errorf("split domain routing of %s: %w", dom.Name, err)
	}
	s.log.Info("split domain routing set", "domain", dom.Name, "host", h, "port", port)
	return nil
}

// ClearSDR turns split domain routing off: unknown addresses are refused
// again.
func (s *Service) ClearSDR(ctx context.Context, domain string) error {
	dom, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return err
	}
	if err := s.st.SetDomainSDR(ctx, dom.Name, "", 0); err != nil {
		return fmt.Errorf("split domain routing of %s: %w", dom.Name, err)
	}
	s.log.Info("split domain routing off", "domain", dom.Name)
	return nil
}

// GetDomain returns a hosted domain (with its split routing).
func (s *Service) GetDomain(ctx context.Context, name string) (store.Domain, error) {
	return s.hostedDomain(ctx, name)
}

// AddRelayDomain makes mailport accept mail for name and relay it to
// host:port. recipients, when not empty, are the only addresses accepted
// (each must be in name); others are refused at RCPT. The name may not be
// a hosted domain or a domain alias.
func (s *Service) AddRelayDomain(ctx context.Context, name, host string, port int, recipients []string) (store.RelayDomain, error) {
	d, err := domainname.Normalize(name)
	if err != nil {
		return store.RelayDomain{}, inputErr("name", err)
	}
	rd, err := relayDomain(d, host, port, recipients)
	if err != nil {
		return store.RelayDomain{}, err
	}
	if _, local, err := s.IsLocalDomain(ctx, d); err != nil {
		return store.RelayDomain{}, err
	} else if local {
		return store.RelayDomain{}, fmt.Errorf("relay domain %s: %w as a hosted domain or domain alias", d, store.ErrExists)
	}
	if err := s.st.CreateRelayDomain(ctx, rd); err != nil {
		return store.RelayDomain{}, fmt.Errorf("add relay domain %s: %w", d, err)
	}
	s.log.Info("relay domain added", "domain", d, "host", rd.Host, "port", port, "recipients", len(rd.Recipients))
	return rd, nil
}

// UpdateRelayDomain replaces the destination and recipient list of the
// relay domain r.Name, checked as AddRelayDomain checks them.
func (s *Service) UpdateRelayDomain(ctx context.Context, r store.RelayDomain) (store.RelayDomain, error) {
	d, err := domainname.Normalize(r.Name)
	if err != nil {
		return store.RelayDomain{}, inputErr("name", err)
	}
	rd, err := relayDomain(d, r.Host, r.Port, r.Recipients)
	if err != nil {
		return store.RelayDomain{}, err
	}
	if err := s.st.UpdateRelayDomain(ctx, rd); err != nil {
		return store.RelayDomain{}, fmt.Errorf("relay domain %s: %w", d, err)
	}
	s.log.Info("relay domain changed", "domain", d, "host", rd.Host, "port", rd.Port, "recipients", len(rd.Recipients))
	return rd, nil
}

// relayDomain checks and normalizes the parts of relay domain d: the
// destination, and the recipients (each in d, duplicates dropped).
func relayDomain(d, host string, port int, recipients []string) (store.RelayDomain, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return store.RelayDomain{}, inputErr("host", fmt.Errorf("relay domain %s: %w", d, err))
	}
	if err := checkPort(port); err != nil {
		return store.RelayDomain{}, inputErr("port", fmt.Errorf("relay domain %s: %w", d, err))
	}
	if len(recipients) > maxRelayRecipients {
		return store.RelayDomain{}, inputErr("recipients", fmt.Errorf("relay domain %s: %w: more than %d recipients", d, ErrInvalidValue, maxRelayRecipients))
	}
	seen := map[string]bool{}
	var rcpts []string
	for _, r := range recipients {
		l, rd, err := ParseAddress(strings.TrimSpace(r))
		if err != nil {
			return store.RelayDomain{}, inputErr("recipients", fmt.Errorf("relay domain %s: recipient: %w", d, err))
		}
		if rd != d {
			return store.RelayDomain{}, inputErr("recipients", fmt.Errorf("relay domain %s: %w: recipient %s is not in the domain", d, ErrInvalidAddress, l+"@"+rd))
		}
		if a := l + "@" + rd; !seen[a] {
			seen[a] = true
			rcpts = append(rcpts, a)
		}
	}
	return store.RelayDomain{Name: d, Host: h, Port: port, Recipients: rcpts}, nil
}

// ListRelayDomains lists relay domains with their recipient lists.
func (s *Service) ListRelayDomains(ctx context.Context) ([]store.RelayDomain, error) {
	return s.st.ListRelayDomains(ctx)
}

// RemoveRelayDomain stops accepting mail for a relay domain.
func (s *Service) RemoveRelayDomain(ctx context.Context, name string) error {
	d, err := domainname.Normalize(name)
	if err != nil {
		return err
	}
	if err := s.st.DeleteRelayDomain(ctx, d); err != nil {
		return fmt.Errorf("remove relay domain %s: %w", d, err)
	}
	s.log.Info("relay domain removed", "domain", d)
	return nil
}
