package dkim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"mailport/internal/dns"
	"mailport/internal/msgauth/internal/msghdr"
	"mailport/internal/msgauth/internal/taglist"
)

// MaxSignatures is how many DKIM-Signature fields of one message are
// verified; the rest are ignored. RFC 6376 section 6.1 lets verifiers
// limit the work a message can cause, and every signature costs a DNS
// lookup.
const MaxSignatures = 10

// Status is the outcome of one signature, in the words of RFC 8601 section
// 2.7.1.
type Status string

const (
	StatusPass      Status = "pass"
	StatusFail      Status = "fail"      // the signature or body hash did not verify
	StatusTempError Status = "temperror" // the key could not be fetched now
	StatusPermError Status = "permerror" // malformed signature, missing or bad key
)

// Result is the verification of one DKIM-Signature field.
type Result struct {
	Status     Status
	Domain     string // d=, the signing domain (SDID)
	Selector   string // s=
	Identifier string // i=, the AUID (defaults to "@" + d=)
	Algorithm  string // a=
	// SignaturePrefix is the start of b=, which tells signatures of the
	// same domain apart in Authentication-Results (header.b, RFC 6008).
	SignaturePrefix string
	Err             error // why it did not pass; nil on pass
}

// signaturePrefixLen follows RFC 6008 section 4: at least 8 characters.
const signaturePrefixLen = 8

// Verify checks every DKIM-Signature of a message (up to MaxSignatures),
// fetching keys through resolver. A message without signatures gives no
// results and no error; the error is for reading the message only.
func Verify(ctx context.Context, r io.Reader, resolver dns.Resolver) ([]Result, error) {
	br := bufio.NewReader(r)
	hdr, err := msghdr.Read(br)
	if err != nil {
		return nil, fmt.Errorf("dkim: verify: %w", err)
	}
	return VerifyHeader(ctx, hdr, br, resolver)
}

// VerifyHeader is Verify for a message whose header section was already
// read; body is the rest of the message.
func VerifyHeader(ctx context.Context, hdr *msghdr.Header, body io.Reader, resolver dns.Resolver) ([]Result, error) {
	var sigs []string
	for _, f := range hdr.Fields {
		if strings.EqualFold(f.Name, "DKIM-Signature") {
			sigs = append(sigs, f.Value)
		}
	}
	if len(sigs) == 0 {
		// No need to read the body at all.
		return nil, nil
	}
	if len(sigs) > MaxSignatures {
		sigs = sigs[:MaxSignatures]
	}

	opts := &msgdkim.VerifyOptions{
		LookupTXT:        lookupTXT(ctx, resolver),
		MaxVerifications: MaxSignatures,
	}
	verifs, err := msgdkim.VerifyWithOptions(io.MultiReader(bytes.NewReader(hdr.Raw), body), opts)
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
		return nil, fmt.Errorf("dkim: verify: %w", err)
	}

	results := make([]Result, 0, len(verifs))
	for i, v := range verifs {
		res := Result{Domain: strings.ToLower(v.Domain), Identifier: v.Identifier, Err: v.Err}
		if i < len(sigs) {
			describe(&res, sigs[i])
		}
		switch {
		case v.Err == nil:
			res.Status = StatusPass
		case msgdkim.IsTempFail(v.Err):
			res.Status = StatusTempError
		case msgdkim.IsPermFail(v.Err):
			res.Status = StatusPermError
		default:
			res.Status = StatusFail
		}
		results = append(results, res)
	}
	return results, nil
}

// describe fills the fields Authentication-Results reports from the
// signature's own tags; a signature too broken to parse keeps them empty
// (its status already says permerror).
func describe(res *Result, sig string) {
	tags, err := taglist.Parse(sig)
	if err != nil {
		return
	}
	m := taglist.Map(tags)
	if res.Domain == "" {
		res.Domain = strings.ToLower(taglist.StripFWS(m["d"]))
	}
	res.Selector = taglist.StripFWS(m["s"])
	res.Algorithm = taglist.StripFWS(m["a"])
	b := taglist.StripFWS(m["b"])
	if len(b) > signaturePrefixLen {
		b = b[:signaturePrefixLen]
	}
	res.SignaturePrefix = b
}

// lookupTXT binds the library's context-free key lookup to our resolver
// and context. The library tells temporary from permanent failures by
// net.Error.Temporary, so our errors are translated into *net.DNSError:
// no record is a permanent failure (RFC 6376 section 6.1.2, PERMFAIL "no
// key for signature"), anything else temporary (TEMPFAIL).
func lookupTXT(ctx context.Context, resolver dns.Resolver) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		txts, err := resolver.LookupTXT(ctx, name)
		if err == nil {
			return txts, nil
		}
		if errors.Is(err, dns.ErrNotFound) {
			return nil, &net.DNSError{Err: "no key record", Name: name, IsNotFound: true}
		}
		return nil, &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true}
	}
}
