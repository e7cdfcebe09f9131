package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/access"
	"mailport/internal/directory"
)

func loginOf(ctx context.Context, q string) string {
	if q != "" {
		return q
	}
	return callerOf(ctx).p.Login()
}

type listTokensInput struct {
	Page
	Login string `query:"login" maxLength:"320" doc:"Whose; default the caller. MasterAdmins may name any login."`
}

type createTokenInput struct {
	Body struct {
		Login     string     `json:"login,omitempty" maxLength:"320" doc:"Default the caller"`
		Name      string     `json:"name,omitempty" maxLength:"100" pattern:"^[^\\x00-\\x1f\\x7f]*$"`
		ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"Default never"`
	}
}

// NewToken is a created token with its secret, shown only this once.
type NewToken struct {
	directory.Token
	Secret string `json:"token" doc:"The secret: send as Authorization: Bearer TOKEN. It is not stored and cannot be shown again."`
}

type tokenPath struct {
	Login string `query:"login" maxLength:"320" doc:"Whose; default the caller"`
	ID    int64  `path:"id" minimum:"1"`
}

type listSessionsInput struct {
	Page
	Login string `query:"login" maxLength:"320" doc:"Whose; default the caller. MasterAdmins may name any login."`
}

// SessionEntry is a portal session; Current marks the request's own.
type SessionEntry struct {
	directory.SessionInfo
	Current bool `json:"current"`
}

type sessionPath struct {
	Login string `query:"login" maxLength:"320" doc:"Whose; default the caller"`
	ID    string `path:"id" minLength:"1" maxLength:"128"`
}

func (a *API) registerCredentials() {
	huma.Register(a.humaAPI, op("listTokens", http.MethodGet, "/tokens", "List API tokens (the caller's own by default)", "tokens"),
		func(ctx context.Context, in *listTokensInput) (*struct{ Body List[directory.Token] }, error) {
			ts, err := a.scope(ctx).ListTokens(ctx, loginOf(ctx, in.Login))
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &struct{ Body List[directory.Token] }{paginate(ts, in.Page)}, nil
		})

	o := op("createToken", http.MethodPost, "/tokens", "Create an API token; the secret is in the answer only", "tokens")
	o.Description = "The token acts with the role its login has at the time of each request."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *createTokenInput) (*struct{ Body NewToken }, error) {
		if err := access.CheckTokenName(in.Body.Name); err != nil {
			return nil, invalid("body.name", err.Error())
		}
		if in.Body.ExpiresAt != nil && !in.Body.ExpiresAt.After(time.Now()) {
			return nil, invalid("body.expires_at", "expires_at is in the past")
		}
		secret, t, err := a.scope(ctx).CreateToken(ctx, loginOf(ctx, in.Body.Login), in.Body.Name, in.Body.ExpiresAt)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &struct{ Body NewToken }{NewToken{Token: t, Secret: secret}}, nil
	})

	huma.Register(a.humaAPI, op("deleteToken", http.MethodDelete, "/tokens/{id}", "Revoke an API token", "tokens"),
		func(ctx context.Context, in *tokenPath) (*noContent, error) {
			if err := a.scope(ctx).RevokeToken(ctx, loginOf(ctx, in.Login), in.ID); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})

	huma.Register(a.humaAPI, op("listSessions", http.MethodGet, "/sessions", "List portal sessions (the caller's own by default)", "sessions"),
		func(ctx context.Context, in *listSessionsInput) (*struct{ Body List[SessionEntry] }, error) {
			ss, err := a.scope(ctx).ListSessions(ctx, loginOf(ctx, in.Login))
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			cur := ""
			if c := callerOf(ctx); c.session != nil {
				cur = c.session.ID
			}
			out := make([]SessionEntry, len(ss))
			for i, s := range ss {
				out[i] = SessionEntry{SessionInfo: s, Current: s.ID == cur}
			}
			return &struct{ Body List[SessionEntry] }{paginate(out, in.Page)}, nil
		})

	huma.Register(a.humaAPI, op("deleteSessionByID", http.MethodDelete, "/sessions/{id}", "End a portal session", "sessions"),
		func(ctx context.Context, in *sessionPath) (*noContent, error) {
			if err := a.scope(ctx).RevokeSession(ctx, loginOf(ctx, in.Login), in.ID); err != nil {
				return nil, a.errorFor(ctx, err)
			}
			return &noContent{}, nil
		})
}
