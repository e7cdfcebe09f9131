package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/directory"
	"mailport/internal/dnsrecords"
)

type domainPath struct {
	Name string `path:"name" maxLength:"253" doc:"Domain name"`
}

type listDomainsInput struct {
	Page
	Q    string `query:"q" maxLength:"253" doc:"Only names containing this, in their Unicode or A-label form"`
	Desc bool   `query:"desc" doc:"Sort by unicode_name descending"`
}

type createDomainInput struct {
	Body struct {
		Name string `json:"name" minLength:"1" maxLength:"253" example:"example.test" doc:"U-labels (bücher.example) or A-labels (xn--bcher-kva.example), any case: one name either way, kept in A-labels"`
	}
}

type domainOutput struct{ Body directory.Domain }

type noContent struct{}

type dkimPath struct {
	Name     string `path:"name" maxLength:"253" doc:"Domain name"`
	Selector string `path:"selector" maxLength:"63"`
}

type dkimListOutput struct{ Body List[directory.DKIMKey] }

type createDKIMInput struct {
	Name string `path:"name" maxLength:"253" doc:"Domain name"`
	Body struct {
		Algorithm string `json:"algorithm,omitempty" enum:"rsa,ed25519" doc:"Key type (default rsa, 2048 bits)"`
		Selector  string `json:"selector,omitempty" maxLength:"63" doc:"Default mp + today's date"`
	}
}

type dkimOutput struct{ Body directory.DKIMKey }

type updateDKIMInput struct {
	Name     string `path:"name" maxLength:"253" doc:"Domain name"`
	Selector string `path:"selector" maxLength:"63"`
	Body     struct {
		Active bool `json:"active" doc:"true makes this key the signing key (the others stay published)"`
	}
}

// DNSRecord is a record a domain needs; with ?check=true, what DNS
// answers now.
type DNSRecord struct {
	Kind  string `json:"kind" example:"MX"`
	Name  string `json:"name" doc:"Owner name in A-labels, the form DNS holds"`
	Type  string `json:"type" example:"TXT"`
	Value string `json:"value"`
	// Status is OK, MISSING, WRONG or FAILED (lookup error); only with check.
	Status string `json:"status,omitempty" enum:"OK,MISSING,WRONG,FAILED"`
	Got    string `json:"got,omitempty" doc:"What was found, when it differs"`
}

type dnsInput struct {
	Name  string `path:"name" maxLength:"253" doc:"Domain name"`
	Check bool   `query:"check" doc:"Look the records up in DNS and report each one's status"`
}

type dnsOutput struct {
	Body struct {
		Records []DNSRecord `json:"records"`
		// AllOK is set with check when every record is published right.
		AllOK *bool `json:"all_ok,omitempty"`
	}
}

type sdrInput struct {
	Name string `path:"name" maxLength:"253" doc:"Domain name"`
	Body directory.SDR
}

func (a *API) registerDomains() {
	huma.Register(a.humaAPI, op("listDomains", http.MethodGet, "/domains", "List the domains the caller administers", "domains"),
		func(ctx context.Context, in *listDomainsInput) (*struct{ Body List[directory.Domain] }, error) {
			ds, err := a.scope(ctx).ListDomains(ctx)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := make([]directory.Domain, len(ds))
			for i, d := range ds {
				out[i] = directory.DomainView(d)
			}
			// People find and order names by their Unicode form; the
			// A-label form after it still matches a search for xn--.
			out = filterSort(out, in.Q, in.Desc, func(d directory.Domain) string { return d.UnicodeName + " " + d.Name })
			return &struct{ Body List[directory.Domain] }{paginate(out, in.Page)}, nil
		})

	o := op("createDomain", http.MethodPost, "/domains", "Add a hosted domain", "domains")
	o.Description = "A DomainAdmin may add domains only when its max_domains limit is above 0 (0, the default, means it may not), " +
		"up to that many domains in all, and the new domain is assigned to it. It may not add a public suffix (co.uk), " +
		"nor a name that is, is below or is above a hosted domain, domain alias or relay domain it does not administer: " +
		"those are refused with 403."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *createDomainInput) (*domainOutput, error) {
		d, err := a.scope(ctx).AddDomain(ctx, in.Body.Name)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &domainOutput{directory.DomainView(d)}, nil
	})

	huma.Register(a.humaAPI, op("getDomain", http.MethodGet, "/domains/{name}", "Get a domain", "domains"),
		func(ctx context.Context, in *domainPath) (*domainOutput, error) {
			d, err := a.scope(ctx).GetDomain(ctx, in.Name)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &domainOutput{directory.DomainView(d)}, nil
		})

	o = op("deleteDomain", http.MethodDelete, "/domains/{name}", "Remove a domain with all its mailboxes, mail and aliases", "domains")
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *domainPath) (*noContent, error) {
		if err := a.scope(ctx).RemoveDomain(ctx, in.Name); err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &noContent{}, nil
	})

	o = op("setDomainSDR", http.MethodPut, "/domains/{name}/sdr", "Turn on split domain routing", "domains")
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *sdrInput) (*domainOutput, error) {
		sc := a.scope(ctx)
		if err := sc.SetSDR(ctx, in.Name, in.Body.Host, in.Body.Port); err != nil {
			return nil, a.errorFor(ctx, err)
		}
		d, err := sc.GetDomain(ctx, in.Name)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &domainOutput{directory.DomainView(d)}, nil
	})

	huma.Register(a.humaAPI, op("deleteDomainSDR", http.MethodDelete, "/domains/{name}/sdr", "Turn off split domain routing", "domains"),
		func(ctx context.Context, in *domainPath) (*noContent, error) {
			if err := a.scope(ctx).ClearSDR(ctx, in.Name); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})

	huma.Register(a.humaAPI, op("listDKIMKeys", http.MethodGet, "/domains/{name}/dkim", "List a domain's DKIM keys (public data only)", "dkim"),
		func(ctx context.Context, in *domainPath) (*dkimListOutput, error) {
			ks, err := a.scope(ctx).ListDKIM(ctx, in.Name)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &dkimListOutput{List[directory.DKIMKey]{Items: nonNil(ks), Total: len(ks)}}, nil
		})

	o = op("createDKIMKey", http.MethodPost, "/domains/{name}/dkim", "Generate a DKIM key; it becomes the signing key", "dkim")
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *createDKIMInput) (*dkimOutput, error) {
		k, err := a.scope(ctx).GenerateDKIM(ctx, in.Name, in.Body.Algorithm, in.Body.Selector)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &dkimOutput{k}, nil
	})

	o = op("updateDKIMKey", http.MethodPatch, "/domains/{name}/dkim/{selector}", "Make a DKIM key the signing key", "dkim")
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *updateDKIMInput) (*dkimOutput, error) {
		if !in.Body.Active {
			// Keys stop signing only when another one is activated, so
			// a domain never silently loses its signature.
			return nil, invalid("body.active", "a key is deactivated by activating another one; only active=true is accepted")
		}
		sc := a.scope(ctx)
		if err := sc.ActivateDKIM(ctx, in.Name, in.Selector); err != nil {
			return nil, a.errorFor(ctx, err)
		}
		k, err := a.findDKIM(ctx, sc, in.Name, in.Selector)
		if err != nil {
			return nil, err
		}
		return &dkimOutput{k}, nil
	})

	huma.Register(a.humaAPI, op("getDKIMKey", http.MethodGet, "/domains/{name}/dkim/{selector}", "Get a DKIM key", "dkim"),
		func(ctx context.Context, in *dkimPath) (*dkimOutput, error) {
			k, err := a.findDKIM(ctx, a.scope(ctx), in.Name, in.Selector)
			if err != nil {
				return nil, err
			}
			return &dkimOutput{k}, nil
		})

	huma.Register(a.humaAPI, op("deleteDKIMKey", http.MethodDelete, "/domains/{name}/dkim/{selector}", "Delete a DKIM key", "dkim"),
		func(ctx context.Context, in *dkimPath) (*noContent, error) {
			if err := a.scope(ctx).RemoveDKIM(ctx, in.Name, in.Selector); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})

	o = op("getDomainDNS", http.MethodGet, "/domains/{name}/dns", "The DNS records a domain needs, optionally checked live", "dns")
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *dnsInput) (*dnsOutput, error) {
		recs, err := a.scope(ctx).DNSRecords(ctx, in.Name, a.cfg.DNSServer, a.cfg.DNSOptions)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		out := &dnsOutput{}
		out.Body.Records = make([]DNSRecord, len(recs))
		for i, r := range recs {
			out.Body.Records[i] = DNSRecord{Kind: string(r.Kind), Name: r.Name, Type: r.Type, Value: r.Value}
		}
		if in.Check {
			if a.cfg.Resolver == nil {
				return nil, newError(http.StatusServiceUnavailable, "", "no DNS resolver configured for checks")
			}
			results := dnsrecords.Check(ctx, a.cfg.Resolver, a.cfg.DNSServer.Hostname, recs)
			for i, res := range results {
				out.Body.Records[i].Status, out.Body.Records[i].Got = string(res.Status), res.Got
			}
			ok := dnsrecords.AllOK(results)
			out.Body.AllOK = &ok
		}
		return out, nil
	})
}

func (a *API) findDKIM(ctx context.Context, sc *directory.Scope, domain, selector string) (directory.DKIMKey, error) {
	ks, err := sc.ListDKIM(ctx, domain)
	if err != nil {
		return directory.DKIMKey{}, a.errorFor(ctx, err)
	}
	sel, err := directory.NormalizeSelector(selector)
	if err != nil {
		return directory.DKIMKey{}, a.errorFor(ctx, err)
	}
	for _, k := range ks {
		if k.Selector == sel {
			return k, nil
		}
	}
	return directory.DKIMKey{}, newError(http.StatusNotFound, "", "dkim key "+sel+" of "+domain+": not found")
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
