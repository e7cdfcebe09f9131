package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/access"
	"mailport/internal/directory"
	"mailport/internal/domainname"
)

type listNamesInput struct {
	Page
	Q    string `query:"q" maxLength:"253" doc:"Only names containing this"`
	Desc bool   `query:"desc"`
}

type domainAliasPath struct {
	Alias string `path:"alias" maxLength:"253"`
}

type createDomainAliasInput struct {
	Body directory.DomainAlias
}

type domainAliasOutput struct{ Body directory.DomainAlias }

type createRelayInput struct {
	Body struct {
		Name       string   `json:"name" minLength:"1" maxLength:"253"`
		Host       string   `json:"host" minLength:"1" maxLength:"255"`
		Port       int      `json:"port,omitempty" minimum:"1" maximum:"65535" default:"25"`
		Recipients []string `json:"recipients,omitempty" maxItems:"100000"`
	}
}

type updateRelayInput struct {
	Name string `path:"name" maxLength:"253" doc:"Domain name"`
	Body struct {
		Host       *string   `json:"host,omitempty" minLength:"1" maxLength:"255"`
		Port       *int      `json:"port,omitempty" minimum:"1" maximum:"65535"`
		Recipients *[]string `json:"recipients,omitempty" maxItems:"100000" doc:"Replaces the list; [] accepts every address"`
	}
}

type relayOutput struct{ Body directory.RelayDomain }

func (a *API) registerRouting() {
	huma.Register(a.humaAPI, op("listDomainAliases", http.MethodGet, "/domain-aliases", "List domain aliases of the caller's domains", "domain-aliases"),
		func(ctx context.Context, in *listNamesInput) (*struct{ Body List[directory.DomainAlias] }, error) {
			das, err := a.scope(ctx).ListDomainAliases(ctx)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := make([]directory.DomainAlias, len(das))
			for i, d := range das {
				out[i] = directory.DomainAliasView(d)
			}
			out = filterSort(out, in.Q, in.Desc, func(d directory.DomainAlias) string { return d.Alias })
			return &struct{ Body List[directory.DomainAlias] }{paginate(out, in.Page)}, nil
		})

	huma.Register(a.humaAPI, op("createDomainAlias", http.MethodPost, "/domain-aliases", "Add a domain alias", "domain-aliases"),
		func(ctx context.Context, in *createDomainAliasInput) (*domainAliasOutput, error) {
			sc := a.scope(ctx)
			if err := sc.AddDomainAlias(ctx, in.Body.Alias, in.Body.Domain); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			da, err := a.findDomainAlias(ctx, in.Body.Alias)
			if err != nil {
				return nil, err
			}
			return &domainAliasOutput{da}, nil
		})

	huma.Register(a.humaAPI, op("getDomainAlias", http.MethodGet, "/domain-aliases/{alias}", "Get a domain alias", "domain-aliases"),
		func(ctx context.Context, in *domainAliasPath) (*domainAliasOutput, error) {
			da, err := a.findDomainAlias(ctx, in.Alias)
			if err != nil {
				return nil, err
			}
			return &domainAliasOutput{da}, nil
		})

	huma.Register(a.humaAPI, op("deleteDomainAlias", http.MethodDelete, "/domain-aliases/{alias}", "Remove a domain alias", "domain-aliases"),
		func(ctx context.Context, in *domainAliasPath) (*noContent, error) {
			if err := a.scope(ctx).RemoveDomainAlias(ctx, in.Alias); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})

	huma.Register(a.humaAPI, op("listRelayDomains", http.MethodGet, "/relay-domains", "List relay domains the caller manages", "relay-domains"),
		func(ctx context.Context, in *listNamesInput) (*struct{ Body List[directory.RelayDomain] }, error) {
			rds, err := a.scope(ctx).ListRelayDomains(ctx)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := make([]directory.RelayDomain, len(rds))
			for i, rd := range rds {
				out[i] = directory.RelayDomainView(rd)
			}
			out = filterSort(out, in.Q, in.Desc, func(r directory.RelayDomain) string { return r.Name })
			return &struct{ Body List[directory.RelayDomain] }{paginate(out, in.Page)}, nil
		})

	o := op("createRelayDomain", http.MethodPost, "/relay-domains", "Add a relay domain", "relay-domains")
	o.Description = "A DomainAdmin may add relay domains below its own domains (branch.example.test under example.test)."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *createRelayInput) (*relayOutput, error) {
		port := in.Body.Port
		if port == 0 {
			port = 25
		}
		rd, err := a.scope(ctx).AddRelayDomain(ctx, in.Body.Name, in.Body.Host, port, in.Body.Recipients)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &relayOutput{directory.RelayDomainView(rd)}, nil
	})

	huma.Register(a.humaAPI, op("getRelayDomain", http.MethodGet, "/relay-domains/{name}", "Get a relay domain", "relay-domains"),
		func(ctx context.Context, in *domainPath) (*relayOutput, error) {
			rd, err := a.scope(ctx).GetRelayDomain(ctx, in.Name)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &relayOutput{directory.RelayDomainView(rd)}, nil
		})

	o = op("updateRelayDomain", http.MethodPatch, "/relay-domains/{name}", "Change a relay domain's destination or recipients", "relay-domains")
	o.Description = "Fields left out stay as they are; recipients replaces the whole list."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *updateRelayInput) (*relayOutput, error) {
		rd, err := a.scope(ctx).UpdateRelayDomain(ctx, in.Name, directory.RelayUpdate{
			Host: in.Body.Host, Port: in.Body.Port, Recipients: in.Body.Recipients,
		})
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &relayOutput{directory.RelayDomainView(rd)}, nil
	})

	huma.Register(a.humaAPI, op("deleteRelayDomain", http.MethodDelete, "/relay-domains/{name}", "Remove a relay domain", "relay-domains"),
		func(ctx context.Context, in *domainPath) (*noContent, error) {
			if err := a.scope(ctx).RemoveRelayDomain(ctx, in.Name); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})
}

// findDomainAlias looks a domain alias up among those the caller may see.
// An alias of another admin's domain is 403, as RemoveDomainAlias answers
// for it: the alias's name does not tell its domain, so the service has to
// look it up before it can decide.
func (a *API) findDomainAlias(ctx context.Context, alias string) (directory.DomainAlias, error) {
	al, err := domainname.Normalize(alias)
	if err != nil {
		return directory.DomainAlias{}, a.errorFor(ctx, err)
	}
	das, err := a.scope(ctx).ListDomainAliases(ctx)
	if err != nil {
		return directory.DomainAlias{}, a.errorFor(ctx, err)
	}
	for _, d := range das {
		if d.Alias == al {
			return directory.DomainAliasView(d), nil
		}
	}
	if _, err := a.dir.Store().GetDomainAlias(ctx, al); err == nil {
		return directory.DomainAlias{}, a.errorFor(ctx, access.Deny(callerOf(ctx).p, "read domain alias "+al))
	}
	return directory.DomainAlias{}, newError(http.StatusNotFound, "", "domain alias "+al+": not found")
}
