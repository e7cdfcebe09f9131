package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/directory"
	"mailport/internal/store"
)

// Limits are a DomainAdmin's limits; 0 means unlimited, except for
// max_domains, where 0 means the DomainAdmin may not add domains.
type Limits struct {
	MaxDomains       int64 `json:"max_domains" minimum:"0" required:"false" doc:"How many domains the DomainAdmin may hold when it adds domains itself; 0 (the default) means it may not add domains and only runs those assigned to it"`
	MaxMailboxes     int64 `json:"max_mailboxes" minimum:"0" required:"false"`
	MaxAliases       int64 `json:"max_aliases" minimum:"0" required:"false" doc:"Aliases and sender addresses together"`
	MaxDomainAliases int64 `json:"max_domain_aliases" minimum:"0" required:"false"`
	MaxStorageBytes  int64 `json:"max_storage_bytes" minimum:"0" required:"false" doc:"Sum of the mailboxes' quotas"`
}

// Usage is what a DomainAdmin's domains hold.
type Usage struct {
	Domains       int64 `json:"domains"`
	Mailboxes     int64 `json:"mailboxes"`
	Aliases       int64 `json:"aliases"`
	DomainAliases int64 `json:"domain_aliases"`
	QuotaBytes    int64 `json:"quota_bytes"`
	UsedBytes     int64 `json:"used_bytes"`
	Unlimited     int64 `json:"unlimited_mailboxes" doc:"Mailboxes without a quota"`
}

// Admin is a DomainAdmin or MasterAdmin login.
type Admin struct {
	Login     string    `json:"login"`
	Role      string    `json:"role" enum:"masteradmin,domainadmin"`
	Enabled   bool      `json:"enabled"`
	Domains   []string  `json:"domains"`
	Limits    Limits    `json:"limits"`
	Usage     Usage     `json:"usage"`
	CreatedAt time.Time `json:"created_at"`
}

func limitsOut(l store.AdminLimits) Limits {
	return Limits{MaxDomains: l.MaxDomains, MaxMailboxes: l.MaxMailboxes, MaxAliases: l.MaxAliases, MaxDomainAliases: l.MaxDomainAliases, MaxStorageBytes: l.MaxStorageBytes}
}

func (l Limits) store() store.AdminLimits {
	return store.AdminLimits{MaxDomains: l.MaxDomains, MaxMailboxes: l.MaxMailboxes, MaxAliases: l.MaxAliases, MaxDomainAliases: l.MaxDomainAliases, MaxStorageBytes: l.MaxStorageBytes}
}

func adminOut(v directory.Admin) Admin {
	u := v.Usage
	return Admin{
		Login: v.Login, Role: string(v.Role), Enabled: v.Enabled, Domains: nonNil(v.Domains),
		Limits: limitsOut(v.Limits), CreatedAt: v.CreatedAt,
		Usage: Usage{Domains: u.Domains, Mailboxes: u.Mailboxes, Aliases: u.Aliases, DomainAliases: u.DomainAliases, QuotaBytes: u.QuotaBytes, UsedBytes: u.UsedBytes, Unlimited: u.Unlimited},
	}
}

type loginPath struct {
	Login string `path:"login" maxLength:"64"`
}

type createAdminInput struct {
	Body struct {
		Login    string   `json:"login" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$"`
		Password string   `json:"password" minLength:"1" maxLength:"4096"`
		Role     string   `json:"role" enum:"domainadmin,masteradmin"`
		Domains  []string `json:"domains,omitempty" maxItems:"10000" doc:"DomainAdmins only"`
		Limits   *Limits  `json:"limits,omitempty" doc:"DomainAdmins only"`
	}
}

type updateAdminInput struct {
	Login string `path:"login" maxLength:"64"`
	Body  struct {
		Password *string   `json:"password,omitempty" minLength:"1" maxLength:"4096"`
		Enabled  *bool     `json:"enabled,omitempty"`
		Domains  *[]string `json:"domains,omitempty" maxItems:"10000" doc:"Replaces the DomainAdmin's domains"`
		Limits   *Limits   `json:"limits,omitempty"`
	}
}

type adminOutput struct{ Body Admin }

type limitsInput struct {
	Login string `path:"login" maxLength:"64"`
	Body  Limits
}

type limitsOutput struct{ Body Limits }

func (a *API) registerAdmins() {
	huma.Register(a.humaAPI, op("listAdmins", http.MethodGet, "/admins", "List admins (MasterAdmins only)", "admins"),
		func(ctx context.Context, in *listNamesInput) (*struct{ Body List[Admin] }, error) {
			as, err := a.scope(ctx).ListAdmins(ctx)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := make([]Admin, len(as))
			for i, v := range as {
				out[i] = adminOut(v)
			}
			out = filterSort(out, in.Q, in.Desc, func(a Admin) string { return a.Login })
			return &struct{ Body List[Admin] }{paginate(out, in.Page)}, nil
		})

	huma.Register(a.humaAPI, op("createAdmin", http.MethodPost, "/admins", "Create a DomainAdmin or MasterAdmin (MasterAdmins only)", "admins"),
		func(ctx context.Context, in *createAdminInput) (*adminOutput, error) {
			n := directory.NewAdmin{Login: in.Body.Login, Password: in.Body.Password, Role: store.Role(in.Body.Role), Domains: in.Body.Domains}
			if in.Body.Limits != nil {
				n.Limits = in.Body.Limits.store()
			}
			v, err := a.scope(ctx).CreateAdmin(ctx, n)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &adminOutput{adminOut(v)}, nil
		})

	huma.Register(a.humaAPI, op("getAdmin", http.MethodGet, "/admins/{login}", "Get an admin (MasterAdmins, and the admin itself)", "admins"),
		func(ctx context.Context, in *loginPath) (*adminOutput, error) {
			v, err := a.scope(ctx).GetAdmin(ctx, in.Login)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &adminOutput{adminOut(v)}, nil
		})

	o := op("updateAdmin", http.MethodPatch, "/admins/{login}", "Change an admin (MasterAdmins only)", "admins")
	o.Description = "Fields left out stay as they are. domains and limits apply to DomainAdmins only. An admin cannot disable itself."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *updateAdminInput) (*adminOutput, error) {
		up := directory.AdminUpdate{Password: in.Body.Password, Enabled: in.Body.Enabled, Domains: in.Body.Domains}
		if in.Body.Limits != nil {
			l := in.Body.Limits.store()
			up.Limits = &l
		}
		v, err := a.updateAdmin(ctx, in.Login, up)
		if err != nil {
			return nil, err
		}
		return &adminOutput{adminOut(v)}, nil
	})

	huma.Register(a.humaAPI, op("deleteAdmin", http.MethodDelete, "/admins/{login}", "Remove an admin with its tokens and sessions (MasterAdmins only; not itself)", "admins"),
		func(ctx context.Context, in *loginPath) (*noContent, error) {
			if err := a.scope(ctx).RemoveAdmin(ctx, in.Login); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})

	huma.Register(a.humaAPI, op("getAdminLimits", http.MethodGet, "/admins/{login}/limits", "A DomainAdmin's limits (MasterAdmins, and the admin itself)", "admins"),
		func(ctx context.Context, in *loginPath) (*limitsOutput, error) {
			v, err := a.scope(ctx).GetAdmin(ctx, in.Login)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &limitsOutput{limitsOut(v.Limits)}, nil
		})

	huma.Register(a.humaAPI, op("setAdminLimits", http.MethodPut, "/admins/{login}/limits", "Set a DomainAdmin's limits (MasterAdmins only)", "admins"),
		func(ctx context.Context, in *limitsInput) (*limitsOutput, error) {
			l := in.Body.store()
			v, err := a.updateAdmin(ctx, in.Login, directory.AdminUpdate{Limits: &l})
			if err != nil {
				return nil, err
			}
			return &limitsOutput{limitsOut(v.Limits)}, nil
		})
}

func (a *API) updateAdmin(ctx context.Context, login string, up directory.AdminUpdate) (directory.Admin, error) {
	v, err := a.scope(ctx).UpdateAdmin(ctx, login, up)
	if err != nil {
		return directory.Admin{}, a.errorFor(ctx, err)
	}
	return v, nil
}
