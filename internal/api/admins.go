package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/directory"
	"mailport/internal/store"
)

type loginPath struct {
	Login string `path:"login" maxLength:"64"`
}

type createAdminInput struct {
	Body struct {
		Login    string            `json:"login" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$"`
		Password string            `json:"password" minLength:"1" maxLength:"4096"`
		Role     string            `json:"role" enum:"domainadmin,masteradmin"`
		Domains  []string          `json:"domains,omitempty" maxItems:"10000" doc:"DomainAdmins only"`
		Limits   *directory.Limits `json:"limits,omitempty" doc:"DomainAdmins only"`
	}
}

type updateAdminInput struct {
	Login string `path:"login" maxLength:"64"`
	Body  struct {
		Password *string           `json:"password,omitempty" minLength:"1" maxLength:"4096"`
		Enabled  *bool             `json:"enabled,omitempty"`
		Domains  *[]string         `json:"domains,omitempty" maxItems:"10000" doc:"Replaces the DomainAdmin's domains"`
		Limits   *directory.Limits `json:"limits,omitempty"`
	}
}

type adminOutput struct{ Body directory.Admin }

type limitsInput struct {
	Login string `path:"login" maxLength:"64"`
	Body  directory.Limits
}

type limitsOutput struct{ Body directory.Limits }

func (a *API) registerAdmins() {
	huma.Register(a.humaAPI, op("listAdmins", http.MethodGet, "/admins", "List admins (MasterAdmins only)", "admins"),
		func(ctx context.Context, in *listNamesInput) (*struct{ Body List[directory.Admin] }, error) {
			as, err := a.scope(ctx).ListAdmins(ctx)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := filterSort(nonNil(as), in.Q, in.Desc, func(a directory.Admin) string { return a.Login })
			return &struct{ Body List[directory.Admin] }{paginate(out, in.Page)}, nil
		})

	huma.Register(a.humaAPI, op("createAdmin", http.MethodPost, "/admins", "Create a DomainAdmin or MasterAdmin (MasterAdmins only)", "admins"),
		func(ctx context.Context, in *createAdminInput) (*adminOutput, error) {
			n := directory.NewAdmin{Login: in.Body.Login, Password: in.Body.Password, Role: store.Role(in.Body.Role), Domains: in.Body.Domains}
			if in.Body.Limits != nil {
				n.Limits = *in.Body.Limits
			}
			v, err := a.scope(ctx).CreateAdmin(ctx, n)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &adminOutput{v}, nil
		})

	huma.Register(a.humaAPI, op("getAdmin", http.MethodGet, "/admins/{login}", "Get an admin (MasterAdmins, and the admin itself)", "admins"),
		func(ctx context.Context, in *loginPath) (*adminOutput, error) {
			v, err := a.scope(ctx).GetAdmin(ctx, in.Login)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &adminOutput{v}, nil
		})

	o := op("updateAdmin", http.MethodPatch, "/admins/{login}", "Change an admin (MasterAdmins only)", "admins")
	o.Description = "Fields left out stay as they are. domains and limits apply to DomainAdmins only. An admin cannot disable itself."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *updateAdminInput) (*adminOutput, error) {
		up := directory.AdminUpdate{Password: in.Body.Password, Enabled: in.Body.Enabled, Domains: in.Body.Domains, Limits: in.Body.Limits}
		v, err := a.updateAdmin(ctx, in.Login, up)
		if err != nil {
			return nil, err
		}
		return &adminOutput{v}, nil
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
			return &limitsOutput{v.Limits}, nil
		})

	huma.Register(a.humaAPI, op("setAdminLimits", http.MethodPut, "/admins/{login}/limits", "Set a DomainAdmin's limits (MasterAdmins only)", "admins"),
		func(ctx context.Context, in *limitsInput) (*limitsOutput, error) {
			v, err := a.updateAdmin(ctx, in.Login, directory.AdminUpdate{Limits: &in.Body})
			if err != nil {
				return nil, err
			}
			return &limitsOutput{v.Limits}, nil
		})
}

func (a *API) updateAdmin(ctx context.Context, login string, up directory.AdminUpdate) (directory.Admin, error) {
	v, err := a.scope(ctx).UpdateAdmin(ctx, login, up)
	if err != nil {
		return directory.Admin{}, a.errorFor(ctx, err)
	}
	return v, nil
}
