package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/directory"
)

type listAliasesInput struct {
	Page
	Domain string `query:"domain" maxLength:"253" doc:"Only this domain"`
	Q      string `query:"q" maxLength:"254" doc:"Only addresses containing this"`
	Desc   bool   `query:"desc"`
}

type createAliasInput struct {
	Body struct {
		Address string   `json:"address" minLength:"3" maxLength:"254"`
		Targets []string `json:"targets" minItems:"1" maxItems:"1000" doc:"Local or external addresses"`
	}
}

type updateAliasInput struct {
	Address string `path:"address" maxLength:"254" doc:"Mail address"`
	Body    struct {
		Targets []string `json:"targets" minItems:"1" maxItems:"1000" doc:"The new targets, replacing the old ones"`
	}
}

type aliasOutput struct{ Body directory.Alias }

// linkListInput selects forwards or sender addresses.
type linkListInput struct {
	Page
	Mailbox string `query:"mailbox" maxLength:"254" doc:"Only this mailbox's; without it, those of every mailbox the caller administers (a MailUser: its own)"`
	Domain  string `query:"domain" maxLength:"253" doc:"Only mailboxes of this domain"`
	Q       string `query:"q" maxLength:"254" doc:"Only rows whose mailbox, target (forwards) or address (sender addresses) contains this"`
	Desc    bool   `query:"desc" doc:"Order by mailbox, then target or address, descending"`
}

func (in *linkListInput) query() directory.LinkQuery {
	return directory.LinkQuery{Mailbox: in.Mailbox, Domain: in.Domain, Search: in.Q, Desc: in.Desc, Limit: in.size(), Offset: in.Offset}
}

type forwardPath struct {
	Mailbox string `path:"mailbox" maxLength:"254"`
	Target  string `path:"target" maxLength:"254"`
}

type createForwardInput struct {
	Body struct {
		Mailbox  string `json:"mailbox" minLength:"3" maxLength:"254"`
		Target   string `json:"target" minLength:"3" maxLength:"254"`
		KeepCopy bool   `json:"keep_copy,omitempty" doc:"Also keep the message in the mailbox"`
	}
}

type forwardOutput struct{ Body directory.Forward }

type senderPath struct {
	Mailbox string `path:"mailbox" maxLength:"254"`
	Address string `path:"address" maxLength:"254"`
}

type createSenderInput struct {
	Body struct {
		Mailbox string `json:"mailbox" minLength:"3" maxLength:"254"`
		Address string `json:"address" minLength:"3" maxLength:"254" doc:"An address of the admin's domains (or their domain aliases) the mailbox may send as"`
	}
}

type senderOutput struct{ Body directory.SenderAddress }

func (a *API) registerAddresses() {
	huma.Register(a.humaAPI, op("listAliases", http.MethodGet, "/aliases", "List aliases of the caller's domains", "aliases"),
		func(ctx context.Context, in *listAliasesInput) (*struct{ Body List[directory.Alias] }, error) {
			as, err := a.scope(ctx).ListAliases(ctx, in.Domain)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			out := make([]directory.Alias, len(as))
			for i, al := range as {
				out[i] = directory.AliasView(al)
			}
			out = filterSort(out, in.Q, in.Desc, func(a directory.Alias) string { return a.Address })
			return &struct{ Body List[directory.Alias] }{paginate(out, in.Page)}, nil
		})

	huma.Register(a.humaAPI, op("createAlias", http.MethodPost, "/aliases", "Create an alias", "aliases"),
		func(ctx context.Context, in *createAliasInput) (*aliasOutput, error) {
			al, err := a.scope(ctx).AddAlias(ctx, in.Body.Address, in.Body.Targets)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &aliasOutput{directory.AliasView(al)}, nil
		})

	huma.Register(a.humaAPI, op("getAlias", http.MethodGet, "/aliases/{address}", "Get an alias", "aliases"),
		func(ctx context.Context, in *addressPath) (*aliasOutput, error) {
			al, err := a.scope(ctx).GetAlias(ctx, in.Address)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &aliasOutput{directory.AliasView(al)}, nil
		})

	o := op("updateAlias", http.MethodPatch, "/aliases/{address}", "Replace an alias's targets", "aliases")
	o.Description = "targets replaces the alias's targets; the same rules as for creating one apply."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *updateAliasInput) (*aliasOutput, error) {
		al, err := a.scope(ctx).SetAliasTargets(ctx, in.Address, in.Body.Targets)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &aliasOutput{directory.AliasView(al)}, nil
	})

	huma.Register(a.humaAPI, op("deleteAlias", http.MethodDelete, "/aliases/{address}", "Remove an alias", "aliases"),
		func(ctx context.Context, in *addressPath) (*noContent, error) {
			if err := a.scope(ctx).RemoveAlias(ctx, in.Address); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})

	// Forwards: a mailbox's owner manages them too (self-service).
	o = op("listForwards", http.MethodGet, "/forwards", "List forwards", "forwards")
	o.Description = "Without mailbox: a MasterAdmin's list holds every forward, a DomainAdmin's those of its domains' mailboxes, a MailUser's its own."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *linkListInput) (*struct{ Body List[directory.Forward] }, error) {
		page, err := a.scope(ctx).QueryForwards(ctx, in.query())
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &struct{ Body List[directory.Forward] }{List[directory.Forward]{Items: nonNil(page.Forwards), Total: page.Total}}, nil
	})

	huma.Register(a.humaAPI, op("createForward", http.MethodPost, "/forwards", "Forward a mailbox's mail to another address", "forwards"),
		func(ctx context.Context, in *createForwardInput) (*forwardOutput, error) {
			if err := a.scope(ctx).AddForward(ctx, in.Body.Mailbox, in.Body.Target, in.Body.KeepCopy); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			f, err := a.findForward(ctx, in.Body.Mailbox, in.Body.Target)
			if err != nil {
				return nil, err
			}
			return &forwardOutput{f}, nil
		})

	huma.Register(a.humaAPI, op("getForward", http.MethodGet, "/forwards/{mailbox}/{target}", "Get a forward", "forwards"),
		func(ctx context.Context, in *forwardPath) (*forwardOutput, error) {
			f, err := a.findForward(ctx, in.Mailbox, in.Target)
			if err != nil {
				return nil, err
			}
			return &forwardOutput{f}, nil
		})

	huma.Register(a.humaAPI, op("deleteForward", http.MethodDelete, "/forwards/{mailbox}/{target}", "Remove a forward", "forwards"),
		func(ctx context.Context, in *forwardPath) (*noContent, error) {
			if err := a.scope(ctx).RemoveForward(ctx, in.Mailbox, in.Target); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})

	// Sender addresses: admins hand them out; the owner may read them.
	o = op("listSenderAddresses", http.MethodGet, "/sender-addresses", "List extra sender addresses", "sender-addresses")
	o.Description = "Without mailbox: a MasterAdmin's list holds every sender address, a DomainAdmin's those of its domains' mailboxes, a MailUser's its own."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *linkListInput) (*struct{ Body List[directory.SenderAddress] }, error) {
		page, err := a.scope(ctx).QuerySenders(ctx, in.query())
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &struct{ Body List[directory.SenderAddress] }{List[directory.SenderAddress]{Items: nonNil(page.Senders), Total: page.Total}}, nil
	})

	huma.Register(a.humaAPI, op("createSenderAddress", http.MethodPost, "/sender-addresses", "Let a mailbox send as another address", "sender-addresses"),
		func(ctx context.Context, in *createSenderInput) (*senderOutput, error) {
			sc := a.scope(ctx)
			if err := sc.AddSender(ctx, in.Body.Mailbox, in.Body.Address); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			s, err := a.findSender(ctx, in.Body.Mailbox, in.Body.Address)
			if err != nil {
				return nil, err
			}
			return &senderOutput{s}, nil
		})

	huma.Register(a.humaAPI, op("getSenderAddress", http.MethodGet, "/sender-addresses/{mailbox}/{address}", "Get a sender address", "sender-addresses"),
		func(ctx context.Context, in *senderPath) (*senderOutput, error) {
			s, err := a.findSender(ctx, in.Mailbox, in.Address)
			if err != nil {
				return nil, err
			}
			return &senderOutput{s}, nil
		})

	huma.Register(a.humaAPI, op("deleteSenderAddress", http.MethodDelete, "/sender-addresses/{mailbox}/{address}", "Remove a sender address", "sender-addresses"),
		func(ctx context.Context, in *senderPath) (*noContent, error) {
			if err := a.scope(ctx).RemoveSender(ctx, in.Mailbox, in.Address); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})
}

func (a *API) findForward(ctx context.Context, mailbox, target string) (directory.Forward, error) {
	fs, err := a.scope(ctx).ListForwards(ctx, mailbox)
	if err != nil {
		return directory.Forward{}, a.errorFor(ctx, err)
	}
	t, err := directory.NormalizeAddress(target)
	if err != nil {
		return directory.Forward{}, a.errorFor(ctx, err)
	}
	for _, f := range fs {
		if f.Target == t {
			return f, nil
		}
	}
	return directory.Forward{}, newError(http.StatusNotFound, "", "forward of "+mailbox+" to "+t+": not found")
}

func (a *API) findSender(ctx context.Context, mailbox, address string) (directory.SenderAddress, error) {
	ss, err := a.scope(ctx).ListSenders(ctx, mailbox)
	if err != nil {
		return directory.SenderAddress{}, a.errorFor(ctx, err)
	}
	addr, err := directory.NormalizeAddress(address)
	if err != nil {
		return directory.SenderAddress{}, a.errorFor(ctx, err)
	}
	for _, s := range ss {
		if s.Address == addr {
			return s, nil
		}
	}
	return directory.SenderAddress{}, newError(http.StatusNotFound, "", "sender address "+addr+" of "+mailbox+": not found")
}
