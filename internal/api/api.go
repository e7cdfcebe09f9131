// Package api is mailport's REST API at /api/v1 (issue 5, DESIGN.md
// section 4). Every operation is declared with huma, so the OpenAPI 3.1
// document served at /api/v1/openapi.json is generated from the same Go
// types that decode and validate requests. Handlers do no permission
// checks of their own: they call the directory Scope of the caller, which
// decides once for the API, the CLI and the portal.
//
// Status codes: 400 unreadable JSON, 401 no or bad credentials, 403 the
// caller's role may not do this (decided from names, before any lookup,
// so it never reveals whether an object exists), 404 no such object,
// 409 exists already, a DomainAdmin limit is reached or an admin acts on
// itself, 413 body over 1 MiB, 422 a value or an unknown field is
// rejected, 429 rate limited (with Retry-After). Every error is
// {"error": {"code", "message"}}; a 422 about particular inputs adds
// "fields", keyed by where the request carried each one ("body.address",
// "path.name", "query.domain").
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"mailport/internal/access"
	"mailport/internal/auth"
	"mailport/internal/config"
	"mailport/internal/directory"
	"mailport/internal/dns"
	"mailport/internal/dnsrecords"
	"mailport/internal/queue"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// MaxBodyBytes bounds a request body; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Version is the API version in the OpenAPI document.
const Version = "1.0.0"

// Queue is the part of the outbound queue the API drives.
type Queue interface {
	List(ctx context.Context) ([]*queue.Entry, error)
	Get(ctx context.Context, id string) (*queue.Entry, error)
	Retry(ctx context.Context, id string) error
	Remove(ctx context.Context, id string) error
	// WatchAttempt reports the end of the next delivery attempt at an
	// entry (queue.Queue.WatchAttempt).
	WatchAttempt(id string) (attempted <-chan queue.Entry, stop func())
}

// DefaultRetryWait is how long POST /queue/{id}/retry waits for the
// attempt it asks for: enough for a local delivery or a responsive remote
// host, short enough to keep a client waiting.
const DefaultRetryWait = 5 * time.Second

// Config is what the API is built on.
type Config struct {
	// Directory is the service layer; required.
	Directory *directory.Service
	// Access issues and checks sessions and tokens and rate-limits;
	// default Directory.Access(), so the API and the CLI's tokens agree.
	Access *access.Manager
	// Auth checks passwords at login; required for POST /session.
	Auth *auth.Authenticator
	// Queue is the outbound queue; nil answers the queue operations 503.
	Queue Queue
	// RetryWait bounds how long a retry waits for its attempt's outcome;
	// 0 means DefaultRetryWait.
	RetryWait time.Duration
	// Resolver answers the live DNS check (?check=true); nil answers 503.
	Resolver dns.Resolver
	// DNSServer and DNSOptions describe the records domains need.
	DNSServer  dnsrecords.Server
	DNSOptions dnsrecords.Options
	// Settings are the settings the server runs with (read from
	// mailport.toml when it started).
	Settings ServerSettings
	// Apply, when set, puts a configuration PATCH /settings saved into
	// effect and returns the configuration now running; keys whose
	// running value still differs are reported in restart_required.
	Apply func(config.Config) (config.Config, error)
	// ConfigDir is the data directory whose mailport.toml PATCH
	// /settings edits; "" answers it 503.
	ConfigDir string
	Logger    *slog.Logger
}

// API serves /api/v1. It is an http.Handler.
type API struct {
	cfg     Config
	dir     *directory.Service
	acc     *access.Manager
	log     *slog.Logger
	humaAPI huma.API
	mux     *http.ServeMux
	spec    []byte

	settings settingsState
}

// New builds the API with every operation registered.
func New(cfg Config) (*API, error) {
	if cfg.Directory == nil {
		return nil, fmt.Errorf("api: no directory")
	}
	a := &API{cfg: cfg, dir: cfg.Directory, acc: cfg.Access, log: cfg.Logger, mux: http.NewServeMux()}
	if a.acc == nil {
		a.acc = cfg.Directory.Access()
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.cfg.RetryWait <= 0 {
		a.cfg.RetryWait = DefaultRetryWait
	}
	hc := huma.DefaultConfig("mailport admin API", Version)
	// The document is served from bytes built once below (huma's own
	// handler builds it lazily without a lock); no docs page, no $schema
	// links in bodies: the portal and scripts use the document.
	hc.OpenAPIPath, hc.DocsPath, hc.SchemasPath = "", "", ""
	hc.CreateHooks = nil
	// Answers escape <, > and & in strings (\u003c...): names are stored
	// as given, and should an answer ever be shown as HTML, a <script>
	// in a display name stays text.
	jsonFormat := huma.Format{
		Marshal:   func(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) },
		Unmarshal: json.Unmarshal,
	}
	hc.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	hc.Info.Description = "Administration of mailport: domains, mailboxes, aliases, forwards, " +
		"sender addresses, domain aliases, relay domains, admins, API tokens, sessions, audit log, queue, " +
		"settings and statistics. Errors are {\"error\": {\"code\", \"message\", \"fields\"}}; " +
		"a 422 about particular inputs names each in fields by where the request carried it " +
		"(body.address, path.name, query.domain), so a form can show the message beside the input. " +
		"Authenticate with the portal's session cookie (unsafe methods need X-CSRF-Token), " +
		"Authorization: Bearer TOKEN, or HTTP Basic with the login and an API token as password."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"session": {Type: "apiKey", In: "cookie", Name: CookieName, Description: "Portal session; unsafe methods also need the X-CSRF-Token header."},
		"bearer":  {Type: "http", Scheme: "bearer", Description: "An API token (mp_...)."},
		"basic":   {Type: "http", Scheme: "basic", Description: "The login as user name and an API token as password."},
	}
	hc.Security = []map[string][]string{{"session": {}}, {"bearer": {}}, {"basic": {}}}
	a.humaAPI = humago.New(a.mux, hc)
	a.humaAPI.UseMiddleware(a.authenticate)
	a.register()
	spec, err := json.MarshalIndent(a.humaAPI.OpenAPI(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("api: openapi document: %w", err)
	}
	a.spec = append(spec, '\n')
	a.mux.HandleFunc("GET "+Prefix+"/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/openapi+json")
		http.ServeContent(w, r, "openapi.json", time.Time{}, bytes.NewReader(a.spec))
	})
	return a, nil
}

// OpenAPI returns the OpenAPI 3.1 document as served.
func (a *API) OpenAPI() []byte { return slices.Clone(a.spec) }

// register declares every operation.
func (a *API) register() {
	a.registerSession()
	a.registerDomains()
	a.registerMailboxes()
	a.registerAddresses()
	a.registerRouting()
	a.registerAdmins()
	a.registerCredentials()
	a.registerOperations()
	a.registerSettings()
	a.registerImportExport()
}

// op fills the parts every operation shares.
func op(id, method, path, summary, tag string) huma.Operation {
	o := huma.Operation{
		OperationID:  id,
		Method:       method,
		Path:         Prefix + path,
		Summary:      summary,
		Tags:         []string{tag},
		MaxBodyBytes: MaxBodyBytes,
		Errors:       []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests},
	}
	switch method {
	case http.MethodPost:
		o.DefaultStatus = http.StatusCreated
		o.Errors = append(o.Errors, http.StatusConflict, http.StatusRequestEntityTooLarge)
	case http.MethodDelete:
		o.DefaultStatus = http.StatusNoContent
	case http.MethodPut, http.MethodPatch:
		o.Errors = append(o.Errors, http.StatusConflict, http.StatusRequestEntityTooLarge)
	}
	return o
}

// ServeHTTP answers requests below /api/v1. Paths no operation has get a
// JSON 404 or 405; a panic in a handler is logged and answered with a
// JSON 500 instead of a dropped connection.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("api: panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(w, newError(http.StatusInternalServerError, "", "internal error; the server log has the details"))
		}
	}()
	// RFC 9111 section 5.2.2.5: answers carry accounts and secrets (a new
	// token); no cache may keep them.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, pattern := a.mux.Handler(r); pattern == "" {
		a.noRoute(w, r)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// noRoute answers a request no operation matches: 405 with Allow when the
// path exists for other methods, else 404.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := a.mux.Handler(r2); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 && r.Method != http.MethodOptions {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, newError(http.StatusMethodNotAllowed, "", r.Method+" is not allowed here; use "+strings.Join(allow, ", ")))
		return
	}
	writeError(w, newError(http.StatusNotFound, "", "no API operation at "+r.URL.Path))
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// writeError writes e as JSON.
func writeError(w http.ResponseWriter, e *Error) {
	for k, v := range e.headers {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(e)
}

// writeHumaError writes e through a huma context (middleware).
func writeHumaError(ctx huma.Context, e *Error) {
	for k, v := range e.headers {
		for _, x := range v {
			ctx.AppendHeader(k, x)
		}
	}
	ctx.SetHeader("Content-Type", "application/json")
	ctx.SetStatus(e.status)
	json.NewEncoder(ctx.BodyWriter()).Encode(e)
}
