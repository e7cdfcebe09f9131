// Package dns is the resolver every part of mailport asks: the outbound
// queue (MX, A/AAAA, MTA-STS TXT, TLSA), SPF, DKIM and DMARC checks. It is an
// interface so tests use an in-memory zone (Mock) and sites can name their
// own resolvers ([dns] servers in mailport.toml).
package dns

import (
	"context"
	"errors"
	"net"
)

// ErrNotFound means the name or the record type does not exist (NXDOMAIN
// or NODATA): a permanent answer. Other errors are temporary (SERVFAIL,
// timeouts) and callers retry.
var ErrNotFound = errors.New("dns: no such record")

// Resolver answers the lookups mail needs. Names are fully qualified or
// not; implementations treat "example.test" and "example.test." alike.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIP(ctx context.Context, name string) ([]net.IP, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupAddr(ctx context.Context, ip string) ([]string, error)
}
