package directory

import (
	"context"
	"strings"

	"golang.org/x/net/publicsuffix"

	"mailport/internal/access"
	"mailport/internal/store"
)

// A DomainAdmin adds domains only as its MasterAdmin allows, and never a
// name that reaches into what others hold on this server ("domain
// squatting"). Both rules bind DomainAdmins only; a MasterAdmin (and the
// CLI) adds any free name.

// domainAllowance checks a DomainAdmin's domain limit for one more domain
// with held domains already assigned. max_domains 0 means it may not add
// domains at all, unlike the other limits, where 0 is unlimited: a new
// DomainAdmin runs the domains it was given until the MasterAdmin decides
// it may add its own, and how many.
func (sc *Scope) domainAllowance(l store.AdminLimits, held int64) error {
	if l.MaxDomains == 0 {
		return access.Deny(sc.p, "add domains: its max_domains limit is 0; a MasterAdmin raises it to allow that")
	}
	return sc.countLimit(l.MaxDomains, held, "domains")
}

// checkDomainClaim refuses a DomainAdmin a new domain d (normalized)
// that is a public suffix (co.uk: every customer's domain would be below
// it), or that is, is below, or is above a hosted domain, domain alias or
// relay domain it does not administer. Being above one matters as much
// as being below: a DomainAdmin's authority over relay domains, and the
// queue entries it sees, go by suffix. The refusal does not say which
// name is in the way, since that name is someone else's.
func (sc *Scope) checkDomainClaim(ctx context.Context, d string) error {
	if !sc.p.IsDomainAdmin() {
		return nil
	}
	deny := func(why string) error {
		return access.Deny(sc.p, "add domain "+d+": "+why+"; ask a MasterAdmin")
	}
	if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
		return deny("it is a public suffix, under which others register their domains")
	}
	const taken = "the name is, is below or is above a domain, domain alias or relay domain hosted here that it does not administer"
	ds, err := sc.s.st.ListDomains(ctx)
	if err != nil {
		return err
	}
	for _, x := range ds {
		if related(x.Name, d) && !access.CanManageDomain(sc.p, x.Name) {
			return deny(taken)
		}
	}
	das, err := sc.s.st.ListDomainAliases(ctx)
	if err != nil {
		return err
	}
	for _, x := range das {
		if related(x.Alias, d) && !access.CanManageDomain(sc.p, x.Domain) {
			return deny(taken)
		}
	}
	rds, err := sc.s.st.ListRelayDomains(ctx)
	if err != nil {
		return err
	}
	for _, x := range rds {
		if related(x.Name, d) && !access.CanManageRelayDomain(sc.p, x.Name) {
			return deny(taken)
		}
	}
	return nil
}

// related reports whether two domain names are the same or one is below
// the other.
func related(a, b string) bool {
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}
