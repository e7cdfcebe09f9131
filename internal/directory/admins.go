package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailport/internal/access"
	"mailport/internal/domainname"
	"mailport/internal/store"
)

// ErrInvalidLogin is an admin login that is not a plain name.
var ErrInvalidLogin = errors.New("invalid login")

// ErrSelf is an admin disabling or removing its own login, which would
// lock it out; the API answers 409.
var ErrSelf = errors.New("an admin cannot disable or remove itself")

// NormalizeLogin checks an admin login: 1 to 64 lower-case letters,
// digits, '.', '-' and '_', starting with a letter or digit. Admin logins
// have no "@" so they can never collide with a mailbox address, and "cli"
// is reserved for the command line's audit entries.
func NormalizeLogin(login string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(login))
	if l == "" || len(l) > 64 || l == access.CLILogin {
		return "", fmt.Errorf("%w: %q", ErrInvalidLogin, login)
	}
	for i, r := range l {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (i > 0 && (r == '.' || r == '-' || r == '_'))
		if !ok {
			return "", fmt.Errorf("%w: %q: use letters, digits, '.', '-' and '_'", ErrInvalidLogin, login)
		}
	}
	return l, nil
}

// NewAdmin describes an admin login to create.
type NewAdmin struct {
	Login    string
	Password string
	Role     store.Role // RoleDomainAdmin or RoleMasterAdmin
	Domains  []string   // DomainAdmins only
	Limits   Limits
}

// AdminUpdate changes the fields that are not nil.
type AdminUpdate struct {
	Password *string
	Enabled  *bool
	Domains  *[]string // replaces the DomainAdmin's domains
	Limits   *Limits
}

func checkLimits(l Limits) error {
	if l.MaxDomains < 0 || l.MaxMailboxes < 0 || l.MaxAliases < 0 || l.MaxDomainAliases < 0 || l.MaxStorageBytes < 0 {
		return inputErr("limits", fmt.Errorf("%w: limits must not be negative", ErrInvalidValue))
	}
	return nil
}

func normalizeDomains(ds []string) ([]string, error) {
	var out []string
	for _, d := range ds {
		n, err := domainname.Normalize(d)
		if err != nil {
			return nil, inputErr("domains", err)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// admin looks up an admin login (an account without a domain).
func (sc *Scope) admin(ctx context.Context, login string) (store.Account, error) {
	l := strings.ToLower(strings.TrimSpace(login))
	a, err := sc.s.st.GetAccountByAddress(ctx, l)
	if err == nil && (a.DomainID != 0 || a.Role == store.RoleUser) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("admin %s: %w", l, err)
	}
	return a, nil
}

func (sc *Scope) adminView(ctx context.Context, a store.Account) (Admin, error) {
	v := Admin{Login: a.Address, Role: a.Role, Enabled: a.Enabled, CreatedAt: a.CreatedAt, Domains: []string{}}
	if a.Role != store.RoleDomainAdmin {
		return v, nil
	}
	ds, err := sc.s.st.AdminDomains(ctx, a.ID)
	if err != nil {
		return Admin{}, err
	}
	l, err := sc.s.st.AdminLimits(ctx, a.ID)
	if err != nil {
		return Admin{}, err
	}
	u, err := sc.s.st.AdminUsage(ctx, a.ID)
	if err != nil {
		return Admin{}, err
	}
	v.Domains, v.Limits, v.Usage = nonNil(ds), limitsView(l), usageView(u)
	return v, nil
}

// CreateAdmin creates a DomainAdmin or MasterAdmin login (MasterAdmins
// only). The login has no mailbox.
func (sc *Scope) CreateAdmin(ctx context.Context, n NewAdmin) (Admin, error) {
	if err := sc.require(access.CanManageAdmins(sc.p), "create admins"); err != nil {
		return Admin{}, err
	}
	login, err := NormalizeLogin(n.Login)
	if err != nil {
		return Admin{}, inputErr("login", err)
	}
	if n.Role != store.RoleDomainAdmin && n.Role != store.RoleMasterAdmin {
		return Admin{}, inputErr("role", fmt.Errorf("admin %s: %w: role must be %s or %s", login, ErrInvalidValue, store.RoleDomainAdmin, store.RoleMasterAdmin))
	}
	if n.Role == store.RoleMasterAdmin && (len(n.Domains) > 0 || n.Limits != (Limits{})) {
		return Admin{}, inputErr("role", fmt.Errorf("admin %s: %w: a MasterAdmin has neither domains nor limits", login, ErrInvalidValue))
	}
	if err := checkLimits(n.Limits); err != nil {
		return Admin{}, fmt.Errorf("admin %s: %w", login, err)
	}
	domains, err := normalizeDomains(n.Domains)
	if err != nil {
		return Admin{}, err
	}
	for _, d := range domains {
		if _, err := sc.s.hostedDomain(ctx, d); err != nil {
			return Admin{}, fmt.Errorf("admin %s: %w", login, err)
		}
	}
	acct := store.Account{Address: login, Enabled: true, Role: n.Role}
	if err := sc.s.setNewPassword(&acct, n.Password); err != nil {
		return Admin{}, fmt.Errorf("admin %s: %w", login, err)
	}
	a, err := sc.s.st.CreateAccount(ctx, acct, nil)
	if err != nil {
		return Admin{}, fmt.Errorf("create admin %s: %w", login, err)
	}
	if n.Role == store.RoleDomainAdmin {
		err := sc.s.st.SetAdminDomains(ctx, a.ID, domains)
		if err == nil {
			err = sc.s.st.SetAdminLimits(ctx, n.Limits.stored(a.ID))
		}
		if err != nil {
			// Leave no half-made admin behind.
			sc.s.st.DeleteAccount(ctx, a.ID)
			return Admin{}, fmt.Errorf("create admin %s: %w", login, err)
		}
	}
	v, err := sc.adminView(ctx, a)
	if err != nil {
		return Admin{}, err
	}
	sc.audit(ctx, "admin.create", "admin", login, "", nil, v)
	sc.s.log.Info("admin added", "login", login, "role", n.Role, "by", sc.p.Login())
	return v, nil
}

// GetAdmin returns an admin with domains, limits and usage: to MasterAdmins
// and to the admin itself (a DomainAdmin's dashboard).
func (sc *Scope) GetAdmin(ctx context.Context, login string) (Admin, error) {
	l := strings.ToLower(strings.TrimSpace(login))
	if err := sc.require(access.CanManageAdmins(sc.p) || access.IsSelf(sc.p, l), "read admin "+l); err != nil {
		return Admin{}, err
	}
	a, err := sc.admin(ctx, l)
	if err != nil {
		return Admin{}, err
	}
	return sc.adminView(ctx, a)
}

// ListAdmins lists every admin login (MasterAdmins only), ordered by login.
func (sc *Scope) ListAdmins(ctx context.Context) ([]Admin, error) {
	if err := sc.require(access.CanManageAdmins(sc.p), "list admins"); err != nil {
		return nil, err
	}
	accts, err := sc.s.st.ListAccounts(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Admin
	for _, a := range accts {
		if a.DomainID != 0 || a.Role == store.RoleUser {
			continue
		}
		v, err := sc.adminView(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// UpdateAdmin changes an admin (MasterAdmins only). An admin cannot
// disable itself, so a MasterAdmin cannot lock itself out by mistake.
func (sc *Scope) UpdateAdmin(ctx context.Context, login string, up AdminUpdate) (Admin, error) {
	if err := sc.require(access.CanManageAdmins(sc.p), "change admins"); err != nil {
		return Admin{}, err
	}
	a, err := sc.admin(ctx, login)
	if err != nil {
		return Admin{}, err
	}
	before, err := sc.adminView(ctx, a)
	if err != nil {
		return Admin{}, err
	}
	if (up.Domains != nil || up.Limits != nil) && a.Role != store.RoleDomainAdmin {
		field := "limits"
		if up.Domains != nil {
			field = "domains"
		}
		return Admin{}, inputErr(field, fmt.Errorf("admin %s: %w: only DomainAdmins have domains and limits", a.Address, ErrInvalidValue))
	}
	if up.Enabled != nil && !*up.Enabled && access.IsSelf(sc.p, a.Address) {
		return Admin{}, fmt.Errorf("admin %s: %w", a.Address, ErrSelf)
	}
	if up.Limits != nil {
		if err := checkLimits(*up.Limits); err != nil {
			return Admin{}, fmt.Errorf("admin %s: %w", a.Address, err)
		}
	}
	if up.Password != nil || up.Enabled != nil {
		if up.Password != nil {
			if err := sc.s.setNewPassword(&a, *up.Password); err != nil {
				return Admin{}, fmt.Errorf("admin %s: %w", a.Address, err)
			}
		}
		if up.Enabled != nil {
			a.Enabled = *up.Enabled
		}
		if err := sc.s.st.UpdateAccount(ctx, a); err != nil {
			return Admin{}, fmt.Errorf("update admin %s: %w", a.Address, err)
		}
	}
	if up.Domains != nil {
		ds, err := normalizeDomains(*up.Domains)
		if err != nil {
			return Admin{}, err
		}
		if err := sc.s.st.SetAdminDomains(ctx, a.ID, ds); err != nil {
			return Admin{}, fmt.Errorf("domains of admin %s: %w", a.Address, err)
		}
	}
	if up.Limits != nil {
		if err := sc.s.st.SetAdminLimits(ctx, up.Limits.stored(a.ID)); err != nil {
			return Admin{}, fmt.Errorf("limits of admin %s: %w", a.Address, err)
		}
	}
	after, err := sc.adminView(ctx, a)
	if err != nil {
		return Admin{}, err
	}
	type withPassword struct {
		Admin
		PasswordChanged bool `json:"password_changed,omitempty"`
	}
	sc.audit(ctx, "admin.update", "admin", a.Address, "", before, withPassword{after, up.Password != nil})
	return after, nil
}

// RemoveAdmin removes an admin login with its tokens and sessions
// (MasterAdmins only; not itself).
func (sc *Scope) RemoveAdmin(ctx context.Context, login string) error {
	if err := sc.require(access.CanManageAdmins(sc.p), "remove admins"); err != nil {
		return err
	}
	a, err := sc.admin(ctx, login)
	if err != nil {
		return err
	}
	if access.IsSelf(sc.p, a.Address) {
		return fmt.Errorf("admin %s: %w", a.Address, ErrSelf)
	}
	before, err := sc.adminView(ctx, a)
	if err != nil {
		return err
	}
	if _, err := sc.s.st.DeleteAccount(ctx, a.ID); err != nil {
		return fmt.Errorf("remove admin %s: %w", a.Address, err)
	}
	sc.audit(ctx, "admin.delete", "admin", a.Address, "", before, nil)
	return nil
}

// --- Credentials: API tokens and portal sessions ---

// account looks up any login for credential operations.
func (sc *Scope) account(ctx context.Context, login string) (store.Account, error) {
	l := strings.ToLower(strings.TrimSpace(login))
	if err := sc.require(access.CanManageCredentials(sc.p, l), "manage the credentials of "+l); err != nil {
		return store.Account{}, err
	}
	a, err := sc.s.st.GetAccountByAddress(ctx, l)
	if err != nil {
		return store.Account{}, fmt.Errorf("login %s: %w", l, err)
	}
	return a, nil
}

// CreateToken makes an API token for a login (its owner or a MasterAdmin)
// and returns the secret, which is shown once and never stored. The token
// acts with the login's role at the time of each request. expires nil
// means no expiry.
func (sc *Scope) CreateToken(ctx context.Context, login, name string, expires *time.Time) (string, Token, error) {
	a, err := sc.account(ctx, login)
	if err != nil {
		return "", Token{}, err
	}
	secret, t, err := sc.s.acc.CreateToken(ctx, a, name, expires)
	if err != nil {
		return "", Token{}, err
	}
	v := tokenView(a.Address, t)
	sc.audit(ctx, "token.create", "api_token", fmt.Sprint(t.ID), domainPart(a.Address), nil, v)
	return secret, v, nil
}

// ListTokens lists a login's API tokens.
func (sc *Scope) ListTokens(ctx context.Context, login string) ([]Token, error) {
	a, err := sc.account(ctx, login)
	if err != nil {
		return nil, err
	}
	ts, err := sc.s.st.ListAPITokens(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = tokenView(a.Address, t)
	}
	return out, nil
}

// RevokeToken deletes one of a login's API tokens.
func (sc *Scope) RevokeToken(ctx context.Context, login string, id int64) error {
	a, err := sc.account(ctx, login)
	if err != nil {
		return err
	}
	var before any
	if ts, err := sc.s.st.ListAPITokens(ctx, a.ID); err == nil {
		for _, t := range ts {
			if t.ID == id {
				before = tokenView(a.Address, t)
			}
		}
	}
	if err := sc.s.st.DeleteAPIToken(ctx, a.ID, id); err != nil {
		return fmt.Errorf("token %d of %s: %w", id, a.Address, err)
	}
	sc.audit(ctx, "token.delete", "api_token", fmt.Sprint(id), domainPart(a.Address), before, nil)
	return nil
}

// ListSessions lists a login's portal sessions.
func (sc *Scope) ListSessions(ctx context.Context, login string) ([]SessionInfo, error) {
	a, err := sc.account(ctx, login)
	if err != nil {
		return nil, err
	}
	ss, err := sc.s.st.ListSessions(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, len(ss))
	for i, s := range ss {
		out[i] = SessionInfo{ID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, RemoteIP: s.RemoteIP, UserAgent: s.UserAgent}
	}
	return out, nil
}

// RevokeSession ends one of a login's portal sessions by its ID (as
// ListSessions shows it).
func (sc *Scope) RevokeSession(ctx context.Context, login, id string) error {
	a, err := sc.account(ctx, login)
	if err != nil {
		return err
	}
	s, err := sc.s.st.GetSession(ctx, id)
	if err != nil || s.AccountID != a.ID {
		return fmt.Errorf("session of %s: %w", a.Address, store.ErrNotFound)
	}
	if err := sc.s.st.DeleteSession(ctx, id); err != nil {
		return fmt.Errorf("session of %s: %w", a.Address, err)
	}
	sc.audit(ctx, "session.delete", "session", id, domainPart(a.Address), map[string]any{"login": a.Address, "remote_ip": s.RemoteIP}, nil)
	return nil
}

// RevokeOtherSessions ends every portal session of a login except keep
// (the caller's own, "" for none): after a password change.
func (sc *Scope) RevokeOtherSessions(ctx context.Context, login, keep string) error {
	a, err := sc.account(ctx, login)
	if err != nil {
		return err
	}
	if err := sc.s.st.DeleteAccountSessions(ctx, a.ID, keep); err != nil {
		return err
	}
	sc.audit(ctx, "session.delete_all", "session", a.Address, domainPart(a.Address), nil, map[string]any{"login": a.Address, "kept": keep != ""})
	return nil
}
