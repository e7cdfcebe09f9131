package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/directory"
	"mailport/internal/store"
)

type addressPath struct {
	Address string `path:"address" maxLength:"254" doc:"Mail address"`
}

type listMailboxesInput struct {
	Page
	Domain string `query:"domain" maxLength:"253" doc:"Only this domain"`
	Q      string `query:"q" maxLength:"254" doc:"Only addresses or display names containing this"`
	Sort   string `query:"sort" enum:"address,name,used,quota,created" default:"address"`
	Desc   bool   `query:"desc"`
}

type createMailboxInput struct {
	Body struct {
		Address     string `json:"address" minLength:"3" maxLength:"254" example:"a@example.test"`
		Password    string `json:"password" minLength:"1" maxLength:"4096"`
		DisplayName string `json:"display_name,omitempty" maxLength:"256" pattern:"^[^\\r\\n\\x00]*$"`
		QuotaBytes  int64  `json:"quota_bytes,omitempty" minimum:"0" doc:"0 = no quota"`
	}
}

type updateMailboxInput struct {
	Address string `path:"address" maxLength:"254" doc:"Mail address"`
	Body    struct {
		DisplayName *string `json:"display_name,omitempty" maxLength:"256" pattern:"^[^\\r\\n\\x00]*$"`
		Password    *string `json:"password,omitempty" minLength:"1" maxLength:"4096" doc:"The owner may change it; so may the domain's admins"`
		QuotaBytes  *int64  `json:"quota_bytes,omitempty" minimum:"0" doc:"Admins only"`
		Enabled     *bool   `json:"enabled,omitempty" doc:"Admins only"`
	}
}

type mailboxOutput struct{ Body directory.Mailbox }

func (a *API) registerMailboxes() {
	o := op("listMailboxes", http.MethodGet, "/mailboxes", "List mailboxes of the caller's domains", "mailboxes")
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *listMailboxesInput) (*struct{ Body List[directory.Mailbox] }, error) {
		page, err := a.scope(ctx).ListMailboxes(ctx, directory.MailboxQuery{
			Domain: in.Domain, Search: in.Q, Sort: store.AccountSort(in.Sort), Desc: in.Desc,
			Limit: in.size(), Offset: in.Offset,
		})
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &struct{ Body List[directory.Mailbox] }{List[directory.Mailbox]{Items: nonNil(page.Mailboxes), Total: page.Total}}, nil
	})

	o = op("createMailbox", http.MethodPost, "/mailboxes", "Create a mailbox", "mailboxes")
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *createMailboxInput) (*mailboxOutput, error) {
		mb, err := a.scope(ctx).AddMailbox(ctx, directory.NewUser{
			Address: in.Body.Address, Password: in.Body.Password,
			DisplayName: in.Body.DisplayName, QuotaBytes: in.Body.QuotaBytes,
		})
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &mailboxOutput{mb}, nil
	})

	huma.Register(a.humaAPI, op("getMailbox", http.MethodGet, "/mailboxes/{address}", "Get a mailbox (its owner may too)", "mailboxes"),
		func(ctx context.Context, in *addressPath) (*mailboxOutput, error) {
			mb, err := a.scope(ctx).GetMailbox(ctx, in.Address)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &mailboxOutput{mb}, nil
		})

	o = op("updateMailbox", http.MethodPatch, "/mailboxes/{address}", "Change a mailbox", "mailboxes")
	o.Description = "Fields left out stay as they are. The owner may change display_name and password; quota_bytes and enabled are the admins'."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *updateMailboxInput) (*mailboxOutput, error) {
		mb, err := a.scope(ctx).UpdateMailbox(ctx, in.Address, directory.MailboxUpdate{
			DisplayName: in.Body.DisplayName, Password: in.Body.Password,
			QuotaBytes: in.Body.QuotaBytes, Enabled: in.Body.Enabled,
		})
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &mailboxOutput{mb}, nil
	})

	huma.Register(a.humaAPI, op("deleteMailbox", http.MethodDelete, "/mailboxes/{address}", "Remove a mailbox and all its mail", "mailboxes"),
		func(ctx context.Context, in *addressPath) (*noContent, error) {
			if err := a.scope(ctx).RemoveMailbox(ctx, in.Address); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})
}
