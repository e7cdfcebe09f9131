package dkim

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// SignedHeaders are the header fields mailport signs: those RFC 6376
// section 5.4.1 recommends that carry meaning for the reader or for
// threading. Fields absent from a message are still listed, so adding one
// later breaks the signature (section 5.4.2).
var SignedHeaders = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding",
}

// defaultHeaderKeys lists From twice: the second, unmatched instance
// "oversigns" it, so a second From added in transit (which DMARC would
// then evaluate) invalidates the signature (RFC 6376 section 8.15).
func defaultHeaderKeys() []string {
	keys := append([]string{"From"}, SignedHeaders...)
	return keys
}

// Sign reads a whole message and returns the DKIM-Signature header field
// (name, folded value and final CRLF) to prepend to it. Canonicalization is
// relaxed/relaxed (RFC 6376 section 3.4), which survives the header
// rewrapping and trailing-space changes relays do. headers nil signs
// SignedHeaders with From oversigned; a caller's list must name From.
func Sign(r io.Reader, domain, selector string, key crypto.Signer, headers []string) (string, error) {
	if domain == "" || selector == "" {
		return "", errors.New("dkim: sign: domain and selector are required")
	}
	if key == nil {
		return "", errors.New("dkim: sign: no key")
	}
	if headers == nil {
		headers = defaultHeaderKeys()
	}
	signer, err := msgdkim.NewSigner(&msgdkim.SignOptions{
		Domain:                 strings.ToLower(domain),
		Selector:               selector,
		Signer:                 key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
		BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
		HeaderKeys:             headers,
	})
	if err != nil {
		return "", fmt.Errorf("dkim: sign for %s: %w", domain, err)
	}
	if _, err := io.Copy(signer, r); err != nil {
		signer.Close()
		return "", fmt.Errorf("dkim: sign for %s: read message: %w", domain, err)
	}
	if err := signer.Close(); err != nil {
		return "", fmt.Errorf("dkim: sign for %s: %w", domain, err)
	}
	return signer.Signature(), nil
}
