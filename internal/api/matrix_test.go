package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The permission matrix (issue 5, acceptance 1). Every operation of the
// OpenAPI document is called as each actor below, each call on a fresh
// copy of the fixture, and the status must be the one in the table.
//
// The rule the table encodes:
//   - no credentials: 401, for every operation but login (createSession);
//   - a role that may never do the operation (a MailUser on domains,
//     a DomainAdmin on admins or settings): 403;
//   - a DomainAdmin or MailUser naming an object of another domain or
//     mailbox: 403, decided from the names before any lookup, so the
//     answer does not reveal whether the object exists;
//   - except queue entries: their IDs name no domain, so an entry outside
//     a DomainAdmin's domains is not part of the queue it sees: 404.
//   - list operations without a domain filter answer 200 with only the
//     caller's objects;
//   - an import naming another's domain is 422: the import checks every
//     row, permission included, and reports each refused row with its
//     line, so a file is answered as a whole.

// Actors, in the order of the expectation columns.
const (
	master    = iota // MasterAdmin, acting on side b
	daOwn            // DomainAdmin "da" on its own domain a.test
	daOther          // DomainAdmin "da" on b.test
	userSelf         // MailUser u@a.test on itself
	userOther        // MailUser u@a.test on v@b.test
	anon             // no credentials, side a
	nActors
)

var actorNames = [nActors]string{"master", "domainadmin-own", "domainadmin-other", "user-self", "user-other", "anonymous"}

// target is what an actor's call names.
type target struct {
	side
	login    string // who sends the request ("" anonymous)
	cred     string // whose tokens and sessions the call names
	admin    string // the admin login the call names
	newName  string // unique part for created objects
	credInfo cred
}

func targetOf(e *env, actor int) target {
	t := target{newName: fmt.Sprintf("n%d", actor)}
	switch actor {
	case master:
		t.side, t.login, t.cred, t.admin = sides["b"], "admin", "db", "db"
	case daOwn:
		t.side, t.login, t.cred, t.admin = sides["a"], "da", "da", "da"
	case daOther:
		t.side, t.login, t.cred, t.admin = sides["b"], "da", "db", "db"
	case userSelf:
		t.side, t.login, t.cred, t.admin = sides["a"], "u@a.test", "u@a.test", "da"
	case userOther:
		t.side, t.login, t.cred, t.admin = sides["b"], "u@a.test", "v@b.test", "db"
	case anon:
		t.side, t.login, t.cred, t.admin = sides["a"], "", "da", "da"
	}
	t.credInfo = e.creds[t.cred]
	return t
}

// opCase is one operation's row: how to call it for a target and what
// each actor gets.
type opCase struct {
	params func(t target) map[string]string // path parameters
	query  func(t target) string
	body   func(t target) any
	expect [nActors]int
}

// Common expectation rows.
var (
	// Things inside one domain: its admins and MasterAdmins.
	domainOnly = func(ok int) [nActors]int { return [nActors]int{ok, ok, 403, 403, 403, 401} }
	// Lists scoped to the caller's domains.
	adminList = [nActors]int{200, 200, 200, 403, 403, 401}
	// A mailbox's own business: its admins and its owner.
	selfService = func(ok int) [nActors]int { return [nActors]int{ok, ok, 403, ok, 403, 401} }
	// MasterAdmins only.
	masterOnly = func(ok int) [nActors]int { return [nActors]int{ok, 403, 403, 403, 403, 401} }
	// Every signed-in caller.
	anyone = func(ok int) [nActors]int { return [nActors]int{ok, ok, ok, ok, ok, 401} }
	// Queue entries: out-of-scope entries are not found.
	queueRow = func(ok int) [nActors]int { return [nActors]int{ok, ok, 404, 403, 403, 401} }
)

func pDomain(t target) map[string]string  { return map[string]string{"name": t.Domain} }
func pMailbox(t target) map[string]string { return map[string]string{"address": t.Mailbox} }
func pDKIM(t target) map[string]string {
	return map[string]string{"name": t.Domain, "selector": t.DKIM}
}
func qDomain(t target) string  { return "domain=" + t.Domain }
func qMailbox(t target) string { return "mailbox=" + url.QueryEscape(t.Mailbox) }
func qLogin(t target) string   { return "login=" + url.QueryEscape(t.cred) }

var matrix = map[string]opCase{
	"createSession": {
		body:   func(t target) any { return map[string]string{"login": "u@a.test", "password": testPassword} },
		expect: [nActors]int{200, 200, 200, 200, 200, 200},
	},
	"deleteSession": {expect: anyone(204)},
	"getMe":         {expect: anyone(200)},

	"listDomains":     {expect: adminList},
	"createDomain":    {body: func(t target) any { return map[string]string{"name": t.newName + ".new.test"} }, expect: [nActors]int{201, 201, 201, 403, 403, 401}},
	"getDomain":       {params: pDomain, expect: domainOnly(200)},
	"deleteDomain":    {params: pDomain, expect: domainOnly(204)},
	"setDomainSDR":    {params: pDomain, body: func(t target) any { return map[string]any{"host": "mx.example.net", "port": 2525} }, expect: domainOnly(200)},
	"deleteDomainSDR": {params: pDomain, expect: domainOnly(204)},
	"listDKIMKeys":    {params: pDomain, expect: domainOnly(200)},
	"createDKIMKey": {params: pDomain, body: func(t target) any { return map[string]string{"algorithm": "ed25519", "selector": t.newName} },
		expect: domainOnly(201)},
	"getDKIMKey":    {params: pDKIM, expect: domainOnly(200)},
	"updateDKIMKey": {params: pDKIM, body: func(t target) any { return map[string]bool{"active": true} }, expect: domainOnly(200)},
	"deleteDKIMKey": {params: pDKIM, expect: domainOnly(204)},
	"getDomainDNS":  {params: pDomain, expect: domainOnly(200)},

	"listMailboxes": {query: qDomain, expect: domainOnly(200)},
	"createMailbox": {body: func(t target) any {
		return map[string]string{"address": t.newName + "@" + t.Domain, "password": testPassword}
	}, expect: domainOnly(201)},
	"getMailbox":    {params: pMailbox, expect: selfService(200)},
	"updateMailbox": {params: pMailbox, body: func(t target) any { return map[string]string{"display_name": "New Name"} }, expect: selfService(200)},
	"deleteMailbox": {params: pMailbox, expect: domainOnly(204)},

	"listAliases": {query: qDomain, expect: domainOnly(200)},
	"createAlias": {body: func(t target) any {
		return map[string]any{"address": t.newName + "@" + t.Domain, "targets": []string{t.Mailbox}}
	}, expect: domainOnly(201)},
	"getAlias": {params: func(t target) map[string]string { return map[string]string{"address": t.Alias} }, expect: domainOnly(200)},
	"updateAlias": {params: func(t target) map[string]string { return map[string]string{"address": t.Alias} },
		body: func(t target) any { return map[string]any{"targets": []string{t.Mailbox2}} }, expect: domainOnly(200)},
	"deleteAlias": {params: func(t target) map[string]string { return map[string]string{"address": t.Alias} }, expect: domainOnly(204)},

	"listForwards": {query: qMailbox, expect: selfService(200)},
	"createForward": {body: func(t target) any {
		return map[string]any{"mailbox": t.Mailbox, "target": "new@ext.test", "keep_copy": true}
	}, expect: selfService(201)},
	"getForward": {params: func(t target) map[string]string {
		return map[string]string{"mailbox": t.Mailbox, "target": t.ForwardTarget}
	}, expect: selfService(200)},
	"deleteForward": {params: func(t target) map[string]string {
		return map[string]string{"mailbox": t.Mailbox, "target": t.ForwardTarget}
	}, expect: selfService(204)},

	"listSenderAddresses": {query: qMailbox, expect: selfService(200)},
	"createSenderAddress": {body: func(t target) any {
		return map[string]string{"mailbox": t.Mailbox, "address": t.newName + "@" + t.Domain}
	}, expect: domainOnly(201)},
	"getSenderAddress": {params: func(t target) map[string]string {
		return map[string]string{"mailbox": t.Mailbox, "address": t.Sender}
	}, expect: selfService(200)},
	"deleteSenderAddress": {params: func(t target) map[string]string {
		return map[string]string{"mailbox": t.Mailbox, "address": t.Sender}
	}, expect: domainOnly(204)},

	"listDomainAliases": {expect: adminList},
	"createDomainAlias": {body: func(t target) any {
		return map[string]string{"alias": t.newName + ".alias.test", "domain": t.Domain}
	}, expect: domainOnly(201)},
	"getDomainAlias":    {params: func(t target) map[string]string { return map[string]string{"alias": t.DomainAlias} }, expect: domainOnly(200)},
	"deleteDomainAlias": {params: func(t target) map[string]string { return map[string]string{"alias": t.DomainAlias} }, expect: domainOnly(204)},

	"listRelayDomains": {expect: adminList},
	"createRelayDomain": {body: func(t target) any {
		return map[string]any{"name": t.newName + "." + t.Domain, "host": "relay.example.net", "port": 25}
	}, expect: domainOnly(201)},
	"getRelayDomain": {params: func(t target) map[string]string { return map[string]string{"name": t.Relay} }, expect: domainOnly(200)},
	"updateRelayDomain": {params: func(t target) map[string]string { return map[string]string{"name": t.Relay} },
		body: func(t target) any { return map[string]any{"port": 2525} }, expect: domainOnly(200)},
	"deleteRelayDomain": {params: func(t target) map[string]string { return map[string]string{"name": t.Relay} }, expect: domainOnly(204)},

	"listAdmins": {expect: masterOnly(200)},
	"createAdmin": {body: func(t target) any {
		return map[string]any{"login": "adm" + t.newName, "password": testPassword, "role": "domainadmin", "domains": []string{t.Domain}}
	}, expect: masterOnly(201)},
	"getAdmin":       {params: func(t target) map[string]string { return map[string]string{"login": t.admin} }, expect: [nActors]int{200, 200, 403, 403, 403, 401}},
	"updateAdmin":    {params: func(t target) map[string]string { return map[string]string{"login": t.admin} }, body: func(t target) any { return map[string]bool{"enabled": true} }, expect: masterOnly(200)},
	"deleteAdmin":    {params: func(t target) map[string]string { return map[string]string{"login": t.admin} }, expect: masterOnly(204)},
	"getAdminLimits": {params: func(t target) map[string]string { return map[string]string{"login": t.admin} }, expect: [nActors]int{200, 200, 403, 403, 403, 401}},
	"setAdminLimits": {params: func(t target) map[string]string { return map[string]string{"login": t.admin} },
		body: func(t target) any { return map[string]int{"max_domains": 5, "max_mailboxes": 50} }, expect: masterOnly(200)},

	"listTokens":  {query: qLogin, expect: selfService(200)},
	"createToken": {body: func(t target) any { return map[string]string{"login": t.cred, "name": "matrix"} }, expect: selfService(201)},
	"deleteToken": {params: func(t target) map[string]string { return map[string]string{"id": fmt.Sprint(t.credInfo.SpareToken)} },
		query: qLogin, expect: selfService(204)},
	"listSessions": {query: qLogin, expect: selfService(200)},
	"deleteSessionByID": {params: func(t target) map[string]string { return map[string]string{"id": t.credInfo.SessionID} },
		query: qLogin, expect: selfService(204)},

	"listAudit":        {query: qDomain, expect: domainOnly(200)},
	"listQueue":        {expect: adminList},
	"getQueueEntry":    {params: func(t target) map[string]string { return map[string]string{"id": t.Queue} }, expect: queueRow(200)},
	"retryQueueEntry":  {params: func(t target) map[string]string { return map[string]string{"id": t.Queue} }, expect: queueRow(200)},
	"deleteQueueEntry": {params: func(t target) map[string]string { return map[string]string{"id": t.Queue} }, expect: queueRow(204)},
	"getSettings":      {expect: masterOnly(200)},
	"updateSettings": {body: func(t target) any { return map[string]any{"limits": map[string]int{"max_recipients": 200}} },
		expect: masterOnly(200)},
	"getStats":        {expect: adminList},
	"getDomainStats":  {params: pDomain, expect: domainOnly(200)},
	"exportDirectory": {expect: adminList},
	"importDirectory": {query: func(t target) string { return "format=json" }, body: func(t target) any {
		return map[string]any{"version": 1, "aliases": []map[string]any{{"address": t.newName + "@" + t.Domain, "targets": []string{t.Mailbox}}}}
	}, expect: [nActors]int{200, 200, 422, 403, 403, 401}}, // an import reports every refused row by line, permission too: 422
}

// docOperation is one operation of the OpenAPI document.
type docOperation struct {
	id, method, path string
}

func documentOperations(t *testing.T, doc []byte) []docOperation {
	t.Helper()
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	var ops []docOperation
	for path, methods := range d.Paths {
		for m, o := range methods {
			if o.OperationID == "" {
				t.Errorf("%s %s has no operationId", m, path)
				continue
			}
			ops = append(ops, docOperation{id: o.OperationID, method: strings.ToUpper(m), path: path})
		}
	}
	slices.SortFunc(ops, func(a, b docOperation) int { return strings.Compare(a.id, b.id) })
	return ops
}

func TestPermissionMatrix(t *testing.T) {
	doc := newEnv(t).api.OpenAPI()
	ops := documentOperations(t, doc)
	if len(ops) < 40 {
		t.Fatalf("only %d operations in the document", len(ops))
	}
	seen := map[string]bool{}
	for _, o := range ops {
		seen[o.id] = true
		c, ok := matrix[o.id]
		if !ok {
			t.Errorf("operation %s (%s %s) has no row in the permission matrix", o.id, o.method, o.path)
			continue
		}
		t.Run(o.id, func(t *testing.T) {
			t.Parallel()
			for actor := range nActors {
				t.Run(actorNames[actor], func(t *testing.T) {
					e := newEnv(t)
					tg := targetOf(e, actor)
					path := o.path
					if c.params != nil {
						for k, v := range c.params(tg) {
							path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
						}
					}
					if strings.Contains(path, "{") {
						t.Fatalf("unfilled path parameter in %s", path)
					}
					if c.query != nil {
						path += "?" + c.query(tg)
					}
					r := req{method: o.method, path: path, auth: tg.login}
					if c.body != nil {
						r.body = c.body(tg)
					}
					before := e.auditCount()
					got := e.do(r)
					if got.status != c.expect[actor] {
						t.Fatalf("%s %s as %s: got %d %s, want %d", o.method, path, actorNames[actor], got.status, got.body, c.expect[actor])
					}
					if got.status >= 400 {
						var eb ErrorBody
						if err := json.Unmarshal(got.body, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
							t.Errorf("error body %q is not {\"error\": {\"code\", \"message\"}}", got.body)
						}
						if after := e.auditCount(); after != before {
							t.Errorf("a refused call changed the audit log: %d -> %d entries", before, after)
						}
					}
					if got.status == http.StatusUnauthorized && got.header.Get("WWW-Authenticate") == "" {
						t.Errorf("401 without WWW-Authenticate")
					}
				})
			}
		})
	}
	for id := range matrix {
		if !seen[id] {
			t.Errorf("matrix row %s names no operation of the document", id)
		}
	}
}
