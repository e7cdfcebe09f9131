// Package dkim signs outgoing mail and verifies incoming signatures (RFC
// 6376, with Ed25519 from RFC 8463). The cryptography and canonicalization
// come from github.com/emersion/go-msgauth/dkim; this package holds
// mailport's choices: key types, which header fields are signed, the DNS
// record to publish and a verification bound to our resolver.
package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// Algorithm is a DKIM key type ("k=" in the key record).
type Algorithm string

const (
	// RSA is rsa-sha256 (RFC 6376 section 3.3.1) with 2048-bit keys, the
	// size RFC 8301 section 3.2 recommends at least.
	RSA Algorithm = "rsa"
	// Ed25519 is ed25519-sha256 (RFC 8463).
	Ed25519 Algorithm = "ed25519"
)

// RSABits is the size of generated RSA keys.
const RSABits = 2048

// ParseAlgorithm accepts "rsa" and "ed25519".
func ParseAlgorithm(s string) (Algorithm, error) {
	switch Algorithm(s) {
	case RSA, Ed25519:
		return Algorithm(s), nil
	}
	return "", fmt.Errorf("dkim: unknown key algorithm %q (want rsa or ed25519)", s)
}

// GenerateKey makes a new private key of the algorithm.
func GenerateKey(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case RSA:
		k, err := rsa.GenerateKey(rand.Reader, RSABits)
		if err != nil {
			return nil, fmt.Errorf("dkim: generate rsa key: %w", err)
		}
		return k, nil
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("dkim: generate ed25519 key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("dkim: unknown key algorithm %q", alg)
}

// KeyAlgorithm tells the algorithm of a public or private key.
func KeyAlgorithm(key any) (Algorithm, error) {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		return RSA, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", errors.New("dkim: bad ed25519 public key size")
		}
		return Ed25519, nil
	}
	return "", fmt.Errorf("dkim: unsupported key type %T", key)
}

// MarshalPrivateKeyPEM encodes a key as a PKCS #8 "PRIVATE KEY" PEM block,
// the one form that holds both RSA and Ed25519 keys.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("dkim: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes a PKCS #8 PEM key, or a PKCS #1 "RSA PRIVATE
// KEY" as openssl and opendkim-genkey write them.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("dkim: no PEM block in private key")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("dkim: unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("dkim: parse private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dkim: private key type %T cannot sign", key)
	}
	if _, err := KeyAlgorithm(signer); err != nil {
		return nil, err
	}
	return signer, nil
}

// RecordName is the DNS name a key is published at: selector._domainkey.
// domain (RFC 6376 section 3.6.2.1).
func RecordName(selector, domain string) string {
	return selector + "._domainkey." + domain
}

// DNSRecord is the TXT value to publish for a public key (or the signer
// holding it). RFC 6376 section 3.6.1: p= is the base64 of the
// SubjectPublicKeyInfo for RSA; RFC 8463 section 4.2: for Ed25519 it is the
// raw 32-byte key.
func DNSRecord(pub any) (string, error) {
	if s, ok := pub.(crypto.Signer); ok {
		pub = s.Public()
	}
	alg, err := KeyAlgorithm(pub)
	if err != nil {
		return "", err
	}
	var raw []byte
	switch alg {
	case RSA:
		raw, err = x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", fmt.Errorf("dkim: encode public key: %w", err)
		}
	case Ed25519:
		raw = pub.(ed25519.PublicKey)
	}
	return fmt.Sprintf("v=DKIM1; k=%s; p=%s", alg, base64.StdEncoding.EncodeToString(raw)), nil
}
