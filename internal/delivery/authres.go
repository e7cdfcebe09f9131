package delivery

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"

	"mailport/internal/dns"
	"mailport/internal/domainname"
	"mailport/internal/msgauth"
	"mailport/internal/msgauth/authres"
	"mailport/internal/msgauth/dkim"
)

// authResultsStage checks SPF, DKIM and DMARC of mail from other servers
// (msgauth.Evaluate) and records the outcome in an Authentication-Results
// field (RFC 8601) in front of the message. Mail from our own
// authenticated users and mail without a client address (local
// re-deliveries) is not evaluated.
type authResultsStage struct {
	resolver dns.Resolver
	hostname string
}

// AuthResults returns the "authres" stage; insert it before "spool". A
// DMARC failure under p=reject refuses the message with 550 5.7.1 (RFC
// 7489 section 6.7 leaves the SMTP reply to the receiver; 5.7.1 is
// "delivery not authorized, message refused").
func AuthResults(resolver dns.Resolver, hostname string) Stage {
	return authResultsStage{resolver: resolver, hostname: hostname}
}

func (authResultsStage) Name() string { return "authres" }

func (s authResultsStage) Process(ctx context.Context, d *Delivery) error {
	env := d.Envelope
	if !env.RemoteIP.IsValid() {
		return nil
	}
	if env.AuthUser != "" {
		return s.dropForged(ctx, d)
	}
	src, err := d.Content(ctx)
	if err != nil {
		return err
	}
	v, err := msgauth.Evaluate(ctx, s.resolver, net.IP(env.RemoteIP.Unmap().AsSlice()), env.Helo, env.MailFrom, src)
	if err != nil {
		return ErrorLocal(fmt.Errorf("authres: %w", err))
	}
	d.Auth = &v
	d.Log.Info("authentication", "spf", v.SPF.Result, "dmarc", v.DMARC.Status, "dkim", len(v.DKIM), "from_domain", v.FromDomain)
	if v.Reject() {
		return newError(550, 5, 7, 1, fmt.Sprintf("message refused: it fails the DMARC policy of %s", v.FromDomain), nil)
	}
	// After the checks, which verify the message as it was signed.
	if err := s.dropForged(ctx, d); err != nil {
		return err
	}
	d.Header = append(d.Header, v.AuthResultsHeader(s.hostname)...)
	return nil
}

// dropForged removes Authentication-Results fields that claim to be ours
// (our hostname as authserv-id) from mail arriving from outside, so
// readers and filters that trust our results cannot be fooled by a
// sender's forgery: RFC 8601 section 5 requires a border MTA to delete
// them. Our own users' submissions are cleaned too; they cross the same
// border into local mailboxes.
func (s authResultsStage) dropForged(ctx context.Context, d *Delivery) error {
	ours := strings.ToLower(s.hostname)
	n, err := d.DropHeaderFields(ctx, func(name, value string) bool {
		return strings.EqualFold(name, authres.FieldName) && authres.ServID(value) == ours
	})
	if err != nil {
		return err
	}
	if n > 0 {
		d.Log.Info("removed Authentication-Results fields claiming our name", "count", n)
	}
	return nil
}

// KeyFunc returns the DKIM signing key of a domain: its selector and
// private key, ok false when the domain has none.
type KeyFunc func(ctx context.Context, domain string) (selector string, key crypto.Signer, ok bool, err error)

// dkimStage signs submitted mail (RFC 6376) with the key of its From
// domain before it is stored or queued.
type dkimStage struct {
	keys KeyFunc
}

// DKIMSign returns the "dkim" stage; insert it before "spool". It signs
// messages of authenticated users whose From domain has a key, and lets
// the others pass unsigned with a log line.
func DKIMSign(keys KeyFunc) Stage { return dkimStage{keys: keys} }

func (dkimStage) Name() string { return "dkim" }

func (s dkimStage) Process(ctx context.Context, d *Delivery) error {
	if d.Envelope.AuthUser == "" {
		return nil
	}
	hdr, err := d.HeaderSection(ctx)
	if err != nil {
		return err
	}
	froms, err := FromAddresses(hdr)
	if err != nil || len(froms) != 1 {
		d.Log.Info("not DKIM-signed: no single From address", "err", err)
		return nil
	}
	// RFC 6376 section 3.5: d= holds A-labels, and RFC 8616 keeps it so
	// when From writes the domain in U-labels (RFC 6532): verifiers look
	// the key up in DNS under d=, and DMARC aligns d= with the From
	// domain converted to A-labels.
	domain, err := domainname.Normalize(froms[0][strings.LastIndexByte(froms[0], '@')+1:])
	if err != nil {
		d.Log.Info("not DKIM-signed: From domain is not a domain name", "err", err)
		return nil
	}
	selector, key, ok, err := s.keys(ctx, domain)
	if err != nil {
		return ErrorLocal(fmt.Errorf("dkim: key of %s: %w", domain, err))
	}
	if !ok {
		d.Log.Info("not DKIM-signed: domain has no key", "domain", domain)
		return nil
	}
	src, err := d.Content(ctx)
	if err != nil {
		return err
	}
	field, err := dkim.Sign(src, domain, selector, key, nil)
	if err != nil {
		return ErrorLocal(fmt.Errorf("dkim: sign for %s: %w", domain, err))
	}
	d.Header = append(d.Header, field...)
	d.DKIMSigned = true
	d.Log.Debug("DKIM-signed", "domain", domain, "selector", selector)
	return nil
}

// FromAddresses returns the addresses of the From field(s) of a header
// section (RFC 5322 section 3.6.2), lower-cased domain included as
// written. A header without From gives an error.
func FromAddresses(header []byte) ([]string, error) {
	msg, err := mail.ReadMessage(strings.NewReader(string(header) + "\r\n"))
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	values := msg.Header["From"]
	if len(values) == 0 {
		return nil, errors.New("header has no From field")
	}
	var out []string
	for _, v := range values {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			return nil, fmt.Errorf("parse the From field: %w", err)
		}
		for _, a := range list {
			out = append(out, a.Address)
		}
	}
	return out, nil
}
