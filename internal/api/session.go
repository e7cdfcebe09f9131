package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"mailport/internal/access"
	"mailport/internal/auth"
	"mailport/internal/directory"
	"mailport/internal/store"
)

// CookieName is the portal's session cookie.
const CookieName = "mp_session"

// CSRFHeader carries the session's CSRF token on unsafe requests.
const CSRFHeader = "X-CSRF-Token"

// caller is who sent a request, as the authentication middleware found.
type caller struct {
	p       access.Principal
	session *store.Session // set for cookie sessions
	cookie  string
}

type callerKey struct{}

// callerOf returns the request's caller; operations that reach a handler
// without one are public (login).
func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// scope is the directory as the request's caller sees it.
func (a *API) scope(ctx context.Context) *directory.Scope {
	c := callerOf(ctx)
	if c == nil {
		// Only public operations run without a caller, and they do not
		// call this; an empty principal may do nothing.
		return a.dir.As(access.Principal{})
	}
	return a.dir.As(c.p)
}

// publicOp marks operations that need no credentials.
const publicOp = "public"

// remoteIP is the client address of a request (no proxy headers: mailport
// is not meant to sit behind one that would rewrite them).
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func isUnsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// authenticate is the middleware of every operation: it rate-limits per
// client address and per credential, then finds the caller from the
// Authorization header (Bearer token, or Basic with login and token) or
// the session cookie. A cookie-authenticated unsafe request must carry
// the session's CSRF token in X-CSRF-Token; a header credential needs
// none, because browsers never attach it on their own. Failures are
// answered here, before the body is read.
func (a *API) authenticate(ctx huma.Context, next func(huma.Context)) {
	r, _ := humago.Unwrap(ctx)
	ctx = huma.WithValue(ctx, requestKey{}, r)
	ctx = huma.WithValue(ctx, operationKey{}, ctx.Operation())
	ip := remoteIP(r)
	authz := r.Header.Get("Authorization")
	var cookie string
	if c, err := r.Cookie(CookieName); err == nil {
		cookie = c.Value
	}
	public := ctx.Operation().Metadata[publicOp] == true

	// The per-credential bucket is keyed before any lookup, so a flood
	// of requests costs no database work; the per-IP bucket bounds
	// clients inventing credentials.
	credKey := ""
	switch {
	case authz != "":
		credKey = "authz:" + access.SessionID(authz)[:16]
	case cookie != "" && !public:
		credKey = "session:" + access.SessionID(cookie)[:16]
	}
	if err := a.acc.AllowRequest(ip, credKey); err != nil {
		var rl *access.RateLimitError
		if errors.As(err, &rl) {
			writeHumaError(ctx, tooMany(rl.RetryAfter))
			return
		}
		writeHumaError(ctx, tooMany(0))
		return
	}
	if public {
		next(ctx)
		return
	}
	c, err := a.findCaller(r.Context(), r, authz, cookie, ip)
	if err != nil {
		e, _ := a.errorFor(r.Context(), err).(*Error)
		if e == nil {
			e = newError(http.StatusUnauthorized, "", "authentication required")
		}
		if e.status == http.StatusUnauthorized {
			// RFC 9110 section 11.6.1: a 401 names the schemes. Basic
			// is not offered as a browser prompt (no realm challenge
			// for the portal's own fetches would help anyone).
			e.headers = http.Header{"Www-Authenticate": []string{`Bearer realm="mailport"`}}
		}
		writeHumaError(ctx, e)
		return
	}
	next(huma.WithValue(ctx, callerKey{}, c))
}

func (a *API) findCaller(ctx context.Context, r *http.Request, authz, cookie, ip string) (*caller, error) {
	if authz != "" {
		scheme, cred, _ := strings.Cut(authz, " ")
		cred = strings.TrimSpace(cred)
		var login, secret string
		switch strings.ToLower(scheme) {
		case "bearer":
			secret = cred
		case "basic":
			l, s, ok := r.BasicAuth()
			if !ok {
				return nil, access.ErrUnauthenticated
			}
			login, secret = l, s
		default:
			return nil, access.ErrUnauthenticated
		}
		acct, _, err := a.acc.AuthenticateToken(ctx, secret)
		if err != nil {
			return nil, err
		}
		// Basic names the login too; a token of another account is as
		// wrong as a bad token.
		if login != "" && auth.LoginKey(login) != acct.Address {
			return nil, access.ErrUnauthenticated
		}
		p, err := a.acc.Principal(ctx, acct, access.ViaAPI, ip)
		if err != nil {
			return nil, err
		}
		return &caller{p: p}, nil
	}
	if cookie == "" {
		return nil, access.ErrUnauthenticated
	}
	s, acct, err := a.acc.ValidateSession(ctx, cookie)
	if err != nil {
		return nil, err
	}
	if isUnsafe(r.Method) {
		if err := access.CheckCSRF(s, r.Header.Get(CSRFHeader)); err != nil {
			return nil, err
		}
	}
	p, err := a.acc.Principal(ctx, acct, access.ViaPortal, ip)
	if err != nil {
		return nil, err
	}
	return &caller{p: p, session: &s, cookie: cookie}, nil
}

// Account is the signed-in account as the portal shows it
// (web/ui/src/lib/api.ts).
type Account struct {
	Login   string   `json:"login"`
	Role    string   `json:"role" enum:"masteradmin,domainadmin,user"`
	Domains []string `json:"domains" doc:"Domains a DomainAdmin administers; empty otherwise"`
}

// Session is what POST /session and GET /me answer.
type Session struct {
	Account   Account `json:"account"`
	CSRFToken string  `json:"csrfToken" doc:"Send as X-CSRF-Token on unsafe requests of this session; empty for token authentication"`
}

type loginInput struct {
	Body struct {
		Login    string `json:"login" minLength:"1" maxLength:"320"`
		Password string `json:"password" minLength:"1" maxLength:"4096"`
	}
}

type sessionOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      Session
}

type meOutput struct {
	Body Session
}

type emptyInput struct{}

type logoutOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

func accountOf(p access.Principal) Account {
	ds := p.Domains
	if ds == nil {
		ds = []string{}
	}
	return Account{Login: p.Login(), Role: string(p.Role()), Domains: ds}
}

func (a *API) registerSession() {
	o := op("createSession", http.MethodPost, "/session", "Sign in to the portal", "session")
	o.Description = "Checks the password and starts a portal session: the answer sets the " + CookieName +
		" cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) and carries the CSRF token."
	o.DefaultStatus = http.StatusOK
	o.Security = []map[string][]string{}
	o.Metadata = map[string]any{publicOp: true}
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *loginInput) (*sessionOutput, error) {
		if a.cfg.Auth == nil {
			return nil, newError(http.StatusServiceUnavailable, "", "password login is not configured")
		}
		r := requestOf(ctx)
		ip := remoteIP(r)
		addr, _ := netip.ParseAddr(ip)
		acct, err := a.cfg.Auth.Authenticate(ctx, in.Body.Login, in.Body.Password, addr)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		cookie, s, err := a.acc.CreateSession(ctx, acct, ip, r.UserAgent())
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		p, err := a.acc.Principal(ctx, acct, access.ViaPortal, ip)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &sessionOutput{
			SetCookie: sessionCookie(r, cookie, int(s.ExpiresAt.Sub(s.CreatedAt).Seconds())),
			Body:      Session{Account: accountOf(p), CSRFToken: s.CSRFToken},
		}, nil
	})

	o = op("deleteSession", http.MethodDelete, "/session", "Sign out", "session")
	o.Description = "Ends the cookie session of the request and clears the cookie. With token authentication it only clears the cookie (revoke tokens at /tokens)."
	huma.Register(a.humaAPI, o, func(ctx context.Context, _ *emptyInput) (*logoutOutput, error) {
		c := callerOf(ctx)
		if c.session != nil {
			if err := a.acc.EndSession(ctx, c.cookie); err != nil {
				return nil, a.errorFor(ctx, err)
			}
		}
		return &logoutOutput{SetCookie: sessionCookie(requestOf(ctx), "", -1)}, nil
	})

	o = op("getMe", http.MethodGet, "/me", "The signed-in account", "session")
	huma.Register(a.humaAPI, o, func(ctx context.Context, _ *emptyInput) (*meOutput, error) {
		c := callerOf(ctx)
		s := Session{Account: accountOf(c.p)}
		if c.session != nil {
			s.CSRFToken = c.session.CSRFToken
		}
		return &meOutput{Body: s}, nil
	})
}

// sessionCookie is the session cookie; maxAge < 0 deletes it. SameSite
// Strict keeps other sites' pages from sending it at all; Secure when the
// request came over TLS (plain HTTP is only served to loopback clients).
func sessionCookie(r *http.Request, value string, maxAge int) http.Cookie {
	return http.Cookie{
		Name: CookieName, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r != nil && r.TLS != nil,
	}
}

type requestKey struct{}

// requestOf returns the *http.Request of a handler's context.
func requestOf(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	return r
}
