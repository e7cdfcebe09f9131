package directory

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailport/internal/dnsrecords"
	"mailport/internal/domainname"
	"mailport/internal/msgauth/dkim"
	"mailport/internal/store"
)

// DefaultDKIMAlgorithm is used when GenerateDKIM gets none: RSA, because
// every verifier knows it; Ed25519 (RFC 8463) is not verified everywhere
// yet.
const DefaultDKIMAlgorithm = "rsa"

// maxSignerCache bounds the parsed-key cache; past it the cache starts
// over (a site with more domains than this parses some keys again).
const maxSignerCache = 10000

type cachedSigner struct {
	pem    []byte
	signer crypto.Signer
}

// NormalizeSelector checks a DKIM selector: one or more DNS labels of
// letters, digits and hyphens (RFC 6376 section 3.1), lower-cased.
func NormalizeSelector(sel string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(sel))
	if s == "" || len(s) > 63 {
		return "", fmt.Errorf("%w: dkim selector %q", ErrInvalidDomain, sel)
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%w: dkim selector %q", ErrInvalidDomain, sel)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", fmt.Errorf("%w: dkim selector %q: bad character %q", ErrInvalidDomain, sel, r)
			}
		}
	}
	return s, nil
}

// GenerateDKIM makes a new key for a hosted domain and makes it the
// signing (active) key. Older keys stay published until RemoveDKIM, which
// is how a rotation keeps mail signed with the old key verifiable while it
// is in flight. algorithm is "rsa" (2048 bits) or "ed25519" ("" = rsa);
// selector "" picks "mp" + today's date (UTC), with a letter added when
// that is taken.
func (s *Service) GenerateDKIM(ctx context.Context, domain, algorithm, selector string) (store.DKIMKey, error) {
	dom, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return store.DKIMKey{}, err
	}
	if algorithm == "" {
		algorithm = DefaultDKIMAlgorithm
	}
	alg, err := dkim.ParseAlgorithm(strings.ToLower(algorithm))
	if err != nil {
		return store.DKIMKey{}, inputErr("algorithm", fmt.Errorf("%w: %w", ErrInvalidValue, err))
	}
	existing, err := s.st.ListDKIMKeys(ctx, dom.Name)
	if err != nil {
		return store.DKIMKey{}, fmt.Errorf("dkim keys of %s: %w", dom.Name, err)
	}
	taken := map[string]bool{}
	for _, k := range existing {
		taken[k.Selector] = true
	}
	now := time.Now().UTC()
	if selector == "" {
		selector = freeSelector("mp"+now.Format("20060102"), taken)
		if selector == "" {
			return store.DKIMKey{}, inputErr("selector", fmt.Errorf("dkim key for %s: %w: no free selector for today, name one", dom.Name, ErrInvalidValue))
		}
	} else if selector, err = NormalizeSelector(selector); err != nil {
		return store.DKIMKey{}, inputErr("selector", err)
	} else if taken[selector] {
		return store.DKIMKey{}, fmt.Errorf("dkim key %s of %s: %w", selector, dom.Name, store.ErrExists)
	}
	key, err := dkim.GenerateKey(alg)
	if err != nil {
		return store.DKIMKey{}, err
	}
	pem, err := dkim.MarshalPrivateKeyPEM(key)
	if err != nil {
		return store.DKIMKey{}, err
	}
	k := store.DKIMKey{Domain: dom.Name, Selector: selector, Algorithm: string(alg), PrivateKeyPEM: pem, Active: true, CreatedAt: now}
	if err := s.st.AddDKIMKey(ctx, k); err != nil {
		return store.DKIMKey{}, fmt.Errorf("add dkim key %s of %s: %w", selector, dom.Name, err)
	}
	s.log.Info("dkim key generated", "domain", dom.Name, "selector", selector, "algorithm", alg, "previous_keys", len(existing))
	return k, nil
}

// freeSelector returns base, or base with "b".."z" appended, whichever is
// not taken; "" when all are.
func freeSelector(base string, taken map[string]bool) string {
	if !taken[base] {
		return base
	}
	for c := 'b'; c <= 'z'; c++ {
		if s := base + string(c); !taken[s] {
			return s
		}
	}
	return ""
}

// ListDKIM lists the keys of a hosted domain, oldest first.
func (s *Service) ListDKIM(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	dom, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	keys, err := s.st.ListDKIMKeys(ctx, dom.Name)
	if err != nil {
		return nil, fmt.Errorf("dkim keys of %s: %w", dom.Name, err)
	}
	return keys, nil
}

// ActivateDKIM makes an existing key the signing key (to go back to an
// older key during a rotation).
func (s *Service) ActivateDKIM(ctx context.Context, domain, selector string) error {
	dom, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return err
	}
	sel, err := NormalizeSelector(selector)
	if err != nil {
		return inputErr("selector", err)
	}
	if err := s.st.SetActiveDKIMKey(ctx, dom.Name, sel); err != nil {
		return fmt.Errorf("activate dkim key %s of %s: %w", sel, dom.Name, err)
	}
	s.log.Info("dkim key activated", "domain", dom.Name, "selector", sel)
	return nil
}

// RemoveDKIM deletes a key; its DNS record can then be removed. Removing
// the signing key hands signing to the newest remaining key.
func (s *Service) RemoveDKIM(ctx context.Context, domain, selector string) error {
	dom, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return err
	}
	sel, err := NormalizeSelector(selector)
	if err != nil {
		return inputErr("selector", err)
	}
	if err := s.st.DeleteDKIMKey(ctx, dom.Name, sel); err != nil {
		return fmt.Errorf("remove dkim key %s of %s: %w", sel, dom.Name, err)
	}
	s.log.Info("dkim key removed", "domain", dom.Name, "selector", sel)
	return nil
}

// mailDomainKeys returns the canonical hosted domain of name (a hosted
// domain or a domain alias) and its keys.
func (s *Service) mailDomainKeys(ctx context.Context, name string) (string, []store.DKIMKey, error) {
	canon, ok, err := s.IsLocalDomain(ctx, name)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, fmt.Errorf("domain %s: %w", canon, store.ErrNotFound)
	}
	keys, err := s.st.ListDKIMKeys(ctx, canon)
	if err != nil {
		return "", nil, fmt.Errorf("dkim keys of %s: %w", canon, err)
	}
	return canon, keys, nil
}

// DKIMRecords returns the TXT record of every published key of domain
// (one per key, oldest first). For a domain alias they are the keys of
// its domain, named under the alias: mail From the alias is signed with
// d= the alias, so the alias publishes the same keys.
func (s *Service) DKIMRecords(ctx context.Context, domain string) ([]dnsrecords.Record, error) {
	keys, err := s.dkimPublic(ctx, domain)
	if err != nil {
		return nil, err
	}
	d, _ := domainname.Normalize(domain)
	return dnsrecords.DKIM(d, keys), nil
}

func (s *Service) dkimPublic(ctx context.Context, domain string) ([]dnsrecords.DKIMKey, error) {
	_, keys, err := s.mailDomainKeys(ctx, domain)
	if err != nil {
		return nil, err
	}
	out := make([]dnsrecords.DKIMKey, 0, len(keys))
	for _, k := range keys {
		signer, err := s.signer(k)
		if err != nil {
			return nil, err
		}
		v, err := dkim.DNSRecord(signer)
		if err != nil {
			return nil, fmt.Errorf("dkim key %s of %s: %w", k.Selector, k.Domain, err)
		}
		out = append(out, dnsrecords.DKIMKey{Selector: k.Selector, Value: v})
	}
	return out, nil
}

// DNSRecords returns every record a hosted domain (or domain alias) needs
// pointing at srv: MX, SPF, DKIM (each key), DMARC, MTA-STS, autoconfig
// and RFC 6186 SRV records.
func (s *Service) DNSRecords(ctx context.Context, domain string, srv dnsrecords.Server, opts dnsrecords.Options) ([]dnsrecords.Record, error) {
	d, err := domainname.Normalize(domain)
	if err != nil {
		return nil, err
	}
	keys, err := s.dkimPublic(ctx, d)
	if err != nil {
		return nil, err
	}
	return dnsrecords.Required(d, srv, keys, opts), nil
}

// SigningKey returns the active DKIM key of the domain of a From address
// (a hosted domain or a domain alias, which signs with its domain's key
// under its own name): its selector and private key. ok is false when the
// domain is not ours or has no key; err is set only for storage or key
// decoding failures.
func (s *Service) SigningKey(ctx context.Context, domain string) (selector string, key crypto.Signer, ok bool, err error) {
	_, keys, err := s.mailDomainKeys(ctx, domain)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrInvalidDomain) {
		return "", nil, false, nil
	} else if err != nil {
		return "", nil, false, err
	}
	for _, k := range keys {
		if !k.Active {
			continue
		}
		signer, err := s.signer(k)
		if err != nil {
			return "", nil, false, err
		}
		return k.Selector, signer, true, nil
	}
	return "", nil, false, nil
}

// signer parses a stored key, through the cache.
func (s *Service) signer(k store.DKIMKey) (crypto.Signer, error) {
	id := k.Domain + " " + k.Selector
	s.signerMu.Lock()
	c, ok := s.signers[id]
	s.signerMu.Unlock()
	if ok && bytes.Equal(c.pem, k.PrivateKeyPEM) {
		return c.signer, nil
	}
	signer, err := dkim.ParsePrivateKeyPEM(k.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("dkim key %s of %s: %w", k.Selector, k.Domain, err)
	}
	s.signerMu.Lock()
	if s.signers == nil || len(s.signers) >= maxSignerCache {
		s.signers = map[string]cachedSigner{}
	}
	s.signers[id] = cachedSigner{pem: k.PrivateKeyPEM, signer: signer}
	s.signerMu.Unlock()
	return signer, nil
}
