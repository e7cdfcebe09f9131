package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailport/internal/access"
	"mailport/internal/auth"
	"mailport/internal/config"
	"mailport/internal/directory"
	"mailport/internal/dns"
	"mailport/internal/dnsrecords"
	"mailport/internal/queue"
	"mailport/internal/store"
	"mailport/internal/store/sqlite"
)

// The fixture every test starts from: two domains, each with a
// DomainAdmin (who may hold 5 domains), two mailboxes, an alias, a forward, a sender address, a
// domain alias, a relay domain below it, a DKIM key and split routing;
// every login has an API token for the test, a spare token and a portal
// session. It is built once and copied per test (argon2 hashing of seven
// passwords per test would dominate the run time).
const testPassword = "correct horse battery"

type side struct {
	Domain, Mailbox, Mailbox2, Alias, ForwardTarget, Sender, DomainAlias, Relay, DKIM, Queue string
}

var sides = map[string]side{
	"a": {Domain: "a.test", Mailbox: "u@a.test", Mailbox2: "u2@a.test", Alias: "al@a.test", ForwardTarget: "fwd@ext.test",
		Sender: "s@a.test", DomainAlias: "a-alias.test", Relay: "r.a.test", DKIM: "sel1", Queue: "qa"},
	"b": {Domain: "b.test", Mailbox: "v@b.test", Mailbox2: "v2@b.test", Alias: "al@b.test", ForwardTarget: "fwd@ext.test",
		Sender: "s@b.test", DomainAlias: "b-alias.test", Relay: "r.b.test", DKIM: "sel1", Queue: "qb"},
}

var logins = []string{"admin", "da", "db", "u@a.test", "u2@a.test", "v@b.test", "v2@b.test"}

// cred is what the template knows of a login's credentials.
type cred struct {
	Token      string // secret used to authenticate
	SpareToken int64  // ID of a token to revoke
	Cookie     string // portal session cookie
	SessionID  string
	CSRF       string
}

type template struct {
	dir   string
	creds map[string]cred
}

var (
	tmplOnce sync.Once
	tmpl     template
	tmplErr  error
)

func buildTemplate() (template, error) {
	dir, err := os.MkdirTemp("", "mailport-api-template-")
	if err != nil {
		return template{}, err
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		return template{}, err
	}
	defer st.Close()
	acc := access.NewManager(st, access.Options{})
	svc := directory.New(st, nil, directory.Options{Access: acc, Logger: slog.New(slog.DiscardHandler)})
	cli := svc.As(access.CLI())
	must := func(err error) {
		if err == nil || tmplErr != nil {
			return
		}
		tmplErr = err
	}
	must(svc.EnsureAdmin(ctx, "admin", testPassword))
	for _, s := range []side{sides["a"], sides["b"]} {
		_, err := cli.AddDomain(ctx, s.Domain)
		must(err)
		for _, mb := range []string{s.Mailbox, s.Mailbox2} {
			_, err = cli.AddMailbox(ctx, directory.NewUser{Address: mb, Password: testPassword})
			must(err)
		}
		_, err = cli.AddAlias(ctx, s.Alias, []string{s.Mailbox})
		must(err)
		must(cli.AddForward(ctx, s.Mailbox, s.ForwardTarget, true))
		must(cli.AddSender(ctx, s.Mailbox, s.Sender))
		must(cli.AddDomainAlias(ctx, s.DomainAlias, s.Domain))
		_, err = cli.AddRelayDomain(ctx, s.Relay, "relay.example.net", 25, nil)
		must(err)
		_, err = cli.GenerateDKIM(ctx, s.Domain, "ed25519", s.DKIM)
		must(err)
		must(cli.SetSDR(ctx, s.Domain, "legacy.example.net", 25))
	}
	_, err = cli.CreateAdmin(ctx, directory.NewAdmin{Login: "da", Password: testPassword, Role: store.RoleDomainAdmin, Domains: []string{"a.test"},
		Limits: directory.Limits{MaxDomains: 5}})
	must(err)
	_, err = cli.CreateAdmin(ctx, directory.NewAdmin{Login: "db", Password: testPassword, Role: store.RoleDomainAdmin, Domains: []string{"b.test"},
		Limits: directory.Limits{MaxDomains: 5}})
	must(err)
	if tmplErr != nil {
		return template{}, tmplErr
	}
	creds := map[string]cred{}
	for _, l := range logins {
		acct, err := st.GetAccountByAddress(ctx, l)
		if err != nil {
			return template{}, err
		}
		secret, _, err := acc.CreateToken(ctx, acct, "test", nil)
		if err != nil {
			return template{}, err
		}
		_, spare, err := acc.CreateToken(ctx, acct, "spare", nil)
		if err != nil {
			return template{}, err
		}
		cookie, sess, err := acc.CreateSession(ctx, acct, "192.0.2.1", "test")
		if err != nil {
			return template{}, err
		}
		creds[l] = cred{Token: secret, SpareToken: spare.ID, Cookie: cookie, SessionID: sess.ID, CSRF: sess.CSRFToken}
	}
	return template{dir: dir, creds: creds}, nil
}

// fakeQueue is the outbound queue of the tests: two entries, one per side.
// Retry makes a delivery attempt at once, deferred by the remote host,
// unless stalled (no queue runner to pick the entry up).
type fakeQueue struct {
	mu       sync.Mutex
	entries  map[string]*queue.Entry
	watchers map[string][]chan queue.Entry
	stalled  bool
}

func newFakeQueue() *fakeQueue {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	q := &fakeQueue{entries: map[string]*queue.Entry{}, watchers: map[string][]chan queue.Entry{}}
	for _, s := range []side{sides["a"], sides["b"]} {
		q.entries[s.Queue] = &queue.Entry{
			ID: s.Queue, From: "sender@" + s.Domain, Size: 100, Created: now, NextAttempt: now.Add(time.Hour),
			Recipients: []queue.Recipient{{Address: "rcpt@remote.example", State: queue.Pending}},
		}
	}
	return q
}

func (q *fakeQueue) List(ctx context.Context) ([]*queue.Entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*queue.Entry
	for _, id := range []string{"qa", "qb"} {
		if e, ok := q.entries[id]; ok {
			c := *e
			out = append(out, &c)
		}
	}
	return out, nil
}

func (q *fakeQueue) Get(ctx context.Context, id string) (*queue.Entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[id]
	if !ok {
		return nil, queue.ErrNotFound
	}
	c := *e
	return &c, nil
}

func (q *fakeQueue) Retry(ctx context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[id]
	if !ok {
		return queue.ErrNotFound
	}
	if q.stalled {
		e.NextAttempt = time.Now()
		return nil
	}
	e.Attempts++
	e.NextAttempt = e.Created.Add(time.Duration(e.Attempts) * time.Hour)
	e.LastError = "451 4.7.1 try again later"
	e.Recipients = slices.Clone(e.Recipients)
	for i := range e.Recipients {
		e.Recipients[i].Attempts++
		e.Recipients[i].LastError = e.LastError
	}
	for _, ch := range q.watchers[id] {
		ch <- *e
	}
	delete(q.watchers, id)
	return nil
}

func (q *fakeQueue) WatchAttempt(id string) (<-chan queue.Entry, func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ch := make(chan queue.Entry, 1)
	q.watchers[id] = append(q.watchers[id], ch)
	return ch, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.watchers[id] = slices.DeleteFunc(q.watchers[id], func(c chan queue.Entry) bool { return c == ch })
	}
}

func (q *fakeQueue) Remove(ctx context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.entries[id]; !ok {
		return queue.ErrNotFound
	}
	delete(q.entries, id)
	return nil
}

// env is one test's copy of the fixture with the API on top.
type env struct {
	t     *testing.T
	st    store.Store
	api   *API
	acc   *access.Manager
	queue *fakeQueue
	creds map[string]cred
	now   *time.Time
	mu    *sync.Mutex
	logs  *bytes.Buffer
	dir   string // data directory: the database and mailport.toml
}

type envOptions struct {
	access access.Options
	// resolver and dnsServer serve GET /domains/{name}/dns?check=true.
	resolver  dns.Resolver
	dnsServer dnsrecords.Server
	// retryWait is the API's RetryWait (0: the default).
	retryWait time.Duration
}

func newEnv(t *testing.T, opts ...func(*envOptions)) *env {
	t.Helper()
	tmplOnce.Do(func() { tmpl, tmplErr = buildTemplate() })
	if tmplErr != nil {
		t.Fatalf("fixture: %v", tmplErr)
	}
	dir := t.TempDir()
	ents, err := os.ReadDir(tmpl.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(tmpl.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	now := time.Now()
	var mu sync.Mutex
	if o.access.Now == nil {
		o.access.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	}
	if o.access.IPLimit.PerSecond == 0 {
		// The matrix sends hundreds of requests from one address.
		o.access.IPLimit = access.RateLimit{PerSecond: 1e6, Burst: 1e6}
		o.access.TokenLimit = access.RateLimit{PerSecond: 1e6, Burst: 1e6}
	}
	acc := access.NewManager(st, o.access)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil))
	svc := directory.New(st, nil, directory.Options{Access: acc, Logger: log})
	fq := newFakeQueue()
	// The settings of a freshly initialized server, in a mailport.toml
	// PATCH /settings may edit.
	cfg := config.Default("mx.example.test")
	if err := cfg.Save(dir); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{
		Directory: svc, Access: acc, Auth: &auth.Authenticator{Store: st},
		Queue: fq, RetryWait: o.retryWait, Logger: log,
		Resolver: o.resolver, DNSServer: o.dnsServer,
		Settings: SettingsFromConfig(cfg), ConfigDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, api: a, acc: acc, queue: fq, creds: tmpl.creds, now: &now, mu: &mu, logs: logs, dir: dir}
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// advance moves the access manager's clock.
func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	*e.now = e.now.Add(d)
}

// req is one request of a test.
type req struct {
	method, path string
	body         any    // encoded as JSON unless a string or []byte
	auth         string // login whose bearer token to send; "" anonymous
	header       map[string]string
	cookie       string
	remote       string
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// do sends r to the API in process.
func (e *env) do(r req) resp {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	if r.auth != "" {
		hr.Header.Set("Authorization", "Bearer "+e.creds[r.auth].Token)
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: CookieName, Value: r.cookie})
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, hr)
	return resp{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// auditCount is the number of audit entries.
func (e *env) auditCount() int {
	e.t.Helper()
	es, err := e.st.ListAudit(context.Background(), store.AuditFilter{AllDomains: true, Limit: store.MaxAuditPage})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(es)
}
