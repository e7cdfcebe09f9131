package dnsrecords

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"mailport/internal/dns"
)

// Status is the outcome of checking one record.
type Status string

const (
	OK      Status = "OK"
	Missing Status = "MISSING"
	Wrong   Status = "WRONG"
	// Failed means the lookup itself failed (timeout, SERVFAIL): the
	// record may or may not be there.
	Failed Status = "FAILED"
)

// Result is the check of one record. Got describes what DNS answered
// when the status is Wrong or Failed.
type Result struct {
	Record Record
	Status Status
	Got    string
}

// String is the line `mailport dns --check` prints.
func (r Result) String() string {
	s := fmt.Sprintf("%-8s %s", r.Status, r.Record)
	if r.Got != "" {
		s += " (got " + r.Got + ")"
	}
	return s
}

// SRVResolver is implemented by resolvers that can look up SRV records
// (RFC 2782), as dns.NewResolver's and dns.Mock do; dns.Resolver itself
// has no SRV lookup because mail delivery needs none.
type SRVResolver interface {
	LookupSRV(ctx context.Context, name string) ([]*net.SRV, error)
}

// maxGot bounds the text of a WRONG answer so a hostile zone cannot flood
// the terminal.
const maxGot = 300

// Check looks up each record with r and says whether it is published as
// needed. It judges what matters rather than exact text: an SPF record
// that authorizes the MX hosts is fine with other terms, a DMARC record
// with any valid policy is fine, a host name may be a CNAME or carry the
// server's addresses. hostname is the server's name (for KindHost).
// SRV records are checked when r implements SRVResolver, and reported
// Failed otherwise.
func Check(ctx context.Context, r dns.Resolver, hostname string, recs []Record) []Result {
	out := make([]Result, 0, len(recs))
	for _, rec := range recs {
		st, got := checkOne(ctx, r, hostname, rec)
		if len(got) > maxGot {
			got = got[:maxGot] + "..."
		}
		out = append(out, Result{Record: rec, Status: st, Got: got})
	}
	return out
}

// AllOK reports whether every result is OK.
func AllOK(results []Result) bool {
	for _, r := range results {
		if r.Status != OK {
			return false
		}
	}
	return true
}

func checkOne(ctx context.Context, r dns.Resolver, hostname string, rec Record) (Status, string) {
	switch rec.Kind {
	case KindMX:
		return checkMX(ctx, r, rec)
	case KindSPF:
		return checkTXT(ctx, r, rec, "v=spf1", func(rec Record, found []string) (Status, string) {
			return checkSPF(hostname, rec, found)
		})
	case KindDKIM:
		return checkTXT(ctx, r, rec, "v=DKIM1", checkDKIM)
	case KindDMARC:
		return checkTXT(ctx, r, rec, "v=DMARC1", checkDMARC)
	case KindMTASTS:
		return checkTXT(ctx, r, rec, "v=STSv1", checkMTASTS)
	case KindHost:
		return checkHost(ctx, r, hostname, rec)
	case KindSRV:
		return checkSRV(ctx, r, rec)
	}
	return Failed, fmt.Sprintf("unknown record kind %q", rec.Kind)
}

// lookupFailed turns a lookup error into a status: not found is Missing,
// anything else Failed.
func lookupFailed(err error) (Status, string) {
	if errors.Is(err, dns.ErrNotFound) {
		return Missing, ""
	}
	return Failed, err.Error()
}

func sameHost(a, b string) bool { return dns.Normalize(a) == dns.Normalize(b) }

func checkMX(ctx context.Context, r dns.Resolver, rec Record) (Status, string) {
	mxs, err := r.LookupMX(ctx, rec.Name)
	if err != nil {
		return lookupFailed(err)
	}
	_, want, _ := strings.Cut(rec.Value, " ")
	var got []string
	for _, mx := range mxs {
		if sameHost(mx.Host, want) {
			return OK, ""
		}
		got = append(got, fmt.Sprintf("%d %s", mx.Pref, strings.TrimSuffix(mx.Host, ".")))
	}
	return Wrong, strings.Join(got, ", ")
}

// checkTXT finds the TXT records of rec.Name that start with prefix (the
// version tag) and hands them to judge.
func checkTXT(ctx context.Context, r dns.Resolver, rec Record, prefix string, judge func(rec Record, found []string) (Status, string)) (Status, string) {
	txts, err := r.LookupTXT(ctx, rec.Name)
	if err != nil {
		return lookupFailed(err)
	}
	var found []string
	for _, t := range txts {
		if hasVersion(t, prefix) {
			found = append(found, t)
		}
	}
	if len(found) == 0 {
		return Missing, ""
	}
	return judge(rec, found)
}

// hasVersion reports whether a TXT value starts with the version tag,
// case-insensitively and followed by the end, a space or ";".
func hasVersion(txt, prefix string) bool {
	if len(txt) < len(prefix) || !strings.EqualFold(txt[:len(prefix)], prefix) {
		return false
	}
	rest := txt[len(prefix):]
	return rest == "" || rest[0] == ' ' || rest[0] == ';' || rest[0] == '\t'
}

// checkSPF: RFC 7208 section 4.5, more than one SPF record is a permanent
// error; the one record must authorize the server through "mx" or
// "a:HOSTNAME" (any qualifier other than "-" or "~" or "?").
func checkSPF(host string, rec Record, found []string) (Status, string) {
	if len(found) > 1 {
		return Wrong, strings.Join(found, " | ")
	}
	for _, term := range strings.Fields(strings.ToLower(found[0]))[1:] {
		term = strings.TrimPrefix(term, "+")
		if term == "mx" || term == "mx:"+dns.Normalize(rec.Name) || strings.HasPrefix(term, "a:") && sameHost(term[2:], host) {
			return OK, ""
		}
	}
	return Wrong, found[0]
}

// checkDKIM: the published key must be ours (same p=, ignoring the
// whitespace DNS tools insert in long values).
func checkDKIM(rec Record, found []string) (Status, string) {
	want := strings.Join(strings.Fields(tags(rec.Value)["p"]), "")
	for _, f := range found {
		if strings.Join(strings.Fields(tags(f)["p"]), "") == want {
			return OK, ""
		}
	}
	return Wrong, strings.Join(found, " | ")
}

// checkDMARC: RFC 7489 section 6.6.3, more than one record means none
// applies; the one must carry a valid p= (section 6.3).
func checkDMARC(_ Record, found []string) (Status, string) {
	if len(found) > 1 {
		return Wrong, strings.Join(found, " | ")
	}
	switch strings.ToLower(tags(found[0])["p"]) {
	case "none", "quarantine", "reject":
		return OK, ""
	}
	return Wrong, found[0]
}

// checkMTASTS: RFC 8461 section 3.1, exactly one record, and its id must
// be the one of the policy we serve or senders keep a stale policy.
func checkMTASTS(rec Record, found []string) (Status, string) {
	if len(found) > 1 {
		return Wrong, strings.Join(found, " | ")
	}
	if tags(found[0])["id"] == tags(rec.Value)["id"] {
		return OK, ""
	}
	return Wrong, found[0]
}

// checkHost: the name must resolve to the server, whether through a CNAME
// to the hostname or through its own A/AAAA records: every address of the
// name must be one of the hostname's.
func checkHost(ctx context.Context, r dns.Resolver, hostname string, rec Record) (Status, string) {
	ips, err := r.LookupIP(ctx, rec.Name)
	if err != nil {
		return lookupFailed(err)
	}
	own, err := r.LookupIP(ctx, hostname)
	if err != nil {
		return Failed, fmt.Sprintf("addresses of the server %s: %v", hostname, err)
	}
	var got []string
	wrong := false
	for _, ip := range ips {
		got = append(got, ip.String())
		if !slices.ContainsFunc(own, ip.Equal) {
			wrong = true
		}
	}
	if !wrong {
		return OK, ""
	}
	return Wrong, strings.Join(got, ", ")
}

func checkSRV(ctx context.Context, r dns.Resolver, rec Record) (Status, string) {
	sr, ok := r.(SRVResolver)
	if !ok {
		return Failed, "this resolver cannot look up SRV records"
	}
	f := strings.Fields(rec.Value)
	if len(f) != 4 {
		return Failed, "bad SRV value " + rec.Value
	}
	port, _ := strconv.Atoi(f[2])
	srvs, err := sr.LookupSRV(ctx, rec.Name)
	if err != nil {
		return lookupFailed(err)
	}
	var got []string
	for _, s := range srvs {
		if int(s.Port) == port && sameHost(s.Target, f[3]) {
			return OK, ""
		}
		target := strings.TrimSuffix(s.Target, ".")
		if target == "" {
			// RFC 2782: target "." says the service is decidedly not
			// offered at this domain; show it as such.
			target = "."
		}
		got = append(got, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, target))
	}
	if len(got) == 0 {
		return Missing, ""
	}
	return Wrong, strings.Join(got, ", ")
}
