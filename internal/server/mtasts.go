package server

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"mailport/internal/directory"
	"mailport/internal/dnsrecords"
)

// mtastsPolicy serves our own MTA-STS policy (RFC 8461 section 3.3):
// GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt for every hosted
// domain (and domain alias), as text/plain. The policy names this
// server's hostname as the only MX, in the mode `mailport dns` publishes
// the TXT record id for (dnsrecords.DefaultMTASTSMode), so the id in DNS
// and the file served here always agree. Other hosts get 404: answering
// for a domain we do not host would publish a policy in its name.
type mtastsPolicy struct {
	dir      *directory.Service
	hostname string
	mode     string
}

func (h *mtastsPolicy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if hp, _, err := net.SplitHostPort(host); err == nil {
		host = hp
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	domain, ok := strings.CutPrefix(host, "mta-sts.")
	if !ok || domain == "" {
		http.NotFound(w, r)
		return
	}
	if _, local, err := h.dir.IsLocalDomain(r.Context(), domain); err != nil || !local {
		// A malformed name is as unknown as a name we do not host; a
		// store failure is ours, not the client's.
		if err != nil && !isBadDomain(err) {
			http.Error(w, "temporary failure", http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// RFC 8461 section 3.3: senders must not use HTTP caching; say so
	// for any cache in between as well.
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(dnsrecords.MTASTSPolicy(h.hostname, h.mode)))
}

func isBadDomain(err error) bool { return errors.Is(err, directory.ErrInvalidDomain) }
