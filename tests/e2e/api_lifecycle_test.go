package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailport/internal/access"
)

// apiClient calls the REST API of a running server over HTTPS with a
// bearer token (the server's certificate is self-signed in tests).
type apiClient struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func newAPIClient(t *testing.T, ts *testServer, token string) *apiClient {
	return &apiClient{t: t, base: "https://" + ts.addr(t, "https") + "/api/v1", token: token,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
}

// call sends one request and requires the status want; body is JSON
// unless it is a []byte sent as contentType. A 429 (the per-token rate
// limit, RFC 6585 section 4) is waited out as its Retry-After says and the
// request repeated, as a script would.
func (c *apiClient) call(method, path, contentType string, body any, want int) []byte {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
		contentType = "application/json"
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
		if err != nil {
			c.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := c.http.Do(req)
		if err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			c.t.Fatalf("%s %s: read body: %v", method, path, err)
		}
		if res.StatusCode == http.StatusTooManyRequests && want != http.StatusTooManyRequests && attempt < 20 {
			secs, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			continue
		}
		if res.StatusCode != want {
			c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, got)
		}
		return got
	}
}

// list fetches every item of a collection (one page of up to 1000) with
// the volatile fields (creation times) removed, for comparing states.
func (c *apiClient) list(path string) []map[string]any {
	c.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var l struct {
		Items []map[string]any `json:"items"`
		Total int              `json:"total"`
	}
	if err := json.Unmarshal(c.call(http.MethodGet, path+sep+"limit=1000", "", nil, http.StatusOK), &l); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	if l.Total != len(l.Items) {
		c.t.Fatalf("GET %s: %d items of %d", path, len(l.Items), l.Total)
	}
	for _, it := range l.Items {
		delete(it, "created_at")
	}
	return l.Items
}

// TestAPILifecycle drives the admin API as a script would: the
// MasterAdmin creates a domain and a DomainAdmin with limits; the
// DomainAdmin fills the domain up to its limits, exports it, deletes
// everything, imports the export, and the directory is back exactly as it
// was, down to the passwords: mail sent over SMTP reaches the imported
// mailboxes and is read over POP3 with the original password.
func TestAPILifecycle(t *testing.T) {
	ts := startServer(t, nil)
	ctx := t.Context()
	masterToken, _, err := ts.Directory.As(access.CLI()).CreateToken(ctx, "admin", "e2e lifecycle", nil)
	if err != nil {
		t.Fatalf("token for admin: %v", err)
	}
	master := newAPIClient(t, ts, masterToken)

	// MasterAdmin: the domain, the DomainAdmin with limits, its token.
	master.call(http.MethodPost, "/domains", "", map[string]any{"name": testDomain}, http.StatusCreated)
	master.call(http.MethodPost, "/admins", "", map[string]any{
		"login": "dadmin", "password": "dadmin-Secret-5531", "role": "domainadmin",
		"domains": []string{testDomain}, "limits": map[string]any{"max_mailboxes": 1},
	}, http.StatusCreated)
	limits := map[string]int64{"max_domains": 1, "max_mailboxes": 3, "max_aliases": 3, "max_domain_aliases": 1, "max_storage_bytes": 3 << 20}
	master.call(http.MethodPut, "/admins/dadmin/limits", "", limits, http.StatusOK)
	var gotLimits map[string]int64
	if err := json.Unmarshal(master.call(http.MethodGet, "/admins/dadmin/limits", "", nil, http.StatusOK), &gotLimits); err != nil {
		t.Fatal(err)
	}
	for k, v := range limits {
		if gotLimits[k] != v {
			t.Errorf("limit %s = %v, want %v", k, gotLimits[k], v)
		}
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(master.call(http.MethodPost, "/tokens", "", map[string]any{"login": "dadmin", "name": "lifecycle"}, http.StatusCreated), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token for dadmin: %q %v", tok.Token, err)
	}
	da := newAPIClient(t, ts, tok.Token)

	// DomainAdmin: mailboxes up to the limit; the next one is refused.
	passwords := map[string]string{}
	for i := 1; i <= 3; i++ {
		addr := fmt.Sprintf("user%d@%s", i, testDomain)
		passwords[addr] = fmt.Sprintf("lifecycle-Pass-%d-8127", i)
		da.call(http.MethodPost, "/mailboxes", "", map[string]any{"address": addr, "password": passwords[addr],
			"display_name": "User " + strconv.Itoa(i), "quota_bytes": 1 << 20}, http.StatusCreated)
	}
	over := da.call(http.MethodPost, "/mailboxes", "", map[string]any{"address": "user4@" + testDomain, "password": "lifecycle-Pass-4-8127"}, http.StatusConflict)
	if !strings.Contains(string(over), "limit") {
		t.Errorf("mailbox over the limit: %s", over)
	}
	// Aliases and sender addresses share the alias limit (3).
	da.call(http.MethodPost, "/aliases", "", map[string]any{"address": "team@" + testDomain, "targets": []string{"user1@" + testDomain, "user2@" + testDomain}}, http.StatusCreated)
	da.call(http.MethodPost, "/aliases", "", map[string]any{"address": "info@" + testDomain, "targets": []string{"user3@" + testDomain}}, http.StatusCreated)
	da.call(http.MethodPost, "/sender-addresses", "", map[string]any{"mailbox": "user1@" + testDomain, "address": "sales@" + testDomain}, http.StatusCreated)
	da.call(http.MethodPost, "/aliases", "", map[string]any{"address": "more@" + testDomain, "targets": []string{"user1@" + testDomain}}, http.StatusConflict)
	da.call(http.MethodPost, "/domain-aliases", "", map[string]any{"alias": "alias.test", "domain": testDomain}, http.StatusCreated)
	da.call(http.MethodPost, "/relay-domains", "", map[string]any{"name": "branch." + testDomain, "host": "192.0.2.10", "port": 2525,
		"recipients": []string{"boss@branch." + testDomain}}, http.StatusCreated)
	da.call(http.MethodPut, "/domains/"+testDomain+"/sdr", "", map[string]any{"host": "legacy.example.net", "port": 25}, http.StatusOK)

	// The state as lists and as both export formats.
	type state struct {
		exports map[string][]byte
		lists   map[string][]map[string]any
	}
	lists := []string{"/domains", "/mailboxes", "/aliases", "/domain-aliases", "/relay-domains",
		"/sender-addresses?mailbox=user1@" + testDomain}
	snapshot := func() state {
		s := state{exports: map[string][]byte{}, lists: map[string][]map[string]any{}}
		for _, f := range []string{"json", "csv"} {
			s.exports[f] = da.call(http.MethodGet, "/export?format="+f, "", nil, http.StatusOK)
		}
		for _, l := range lists {
			s.lists[l] = da.list(l)
		}
		return s
	}
	before := snapshot()
	// 1 domain, 1 domain alias, 1 relay domain, 3 mailboxes, 2 aliases,
	// 1 sender address.
	const rows = 9
	wantCounts := map[string]int{"/domains": 1, "/mailboxes": 3, "/aliases": 2, "/domain-aliases": 1, "/relay-domains": 1, lists[5]: 1}
	for l, n := range wantCounts {
		if len(before.lists[l]) != n {
			t.Fatalf("GET %s before the wipe: %d items, want %d: %v", l, len(before.lists[l]), n, before.lists[l])
		}
	}
	for _, want := range []string{"user1@" + testDomain, "team@" + testDomain, "sales@" + testDomain, "alias.test", "branch." + testDomain, "legacy.example.net", "{ARGON2ID}"} {
		for f, b := range before.exports {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("%s export lacks %q:\n%s", f, want, b)
			}
		}
	}

	// Wipe: everything deleted through the API, down to the domain.
	da.call(http.MethodDelete, "/domains/"+testDomain+"/sdr", "", nil, http.StatusNoContent)
	da.call(http.MethodDelete, "/relay-domains/branch."+testDomain, "", nil, http.StatusNoContent)
	da.call(http.MethodDelete, "/domain-aliases/alias.test", "", nil, http.StatusNoContent)
	da.call(http.MethodDelete, "/sender-addresses/user1@"+testDomain+"/sales@"+testDomain, "", nil, http.StatusNoContent)
	for _, a := range []string{"team", "info"} {
		da.call(http.MethodDelete, "/aliases/"+a+"@"+testDomain, "", nil, http.StatusNoContent)
	}
	for addr := range passwords {
		da.call(http.MethodDelete, "/mailboxes/"+url.PathEscape(addr), "", nil, http.StatusNoContent)
	}
	da.call(http.MethodDelete, "/domains/"+testDomain, "", nil, http.StatusNoContent)
	if l := master.list("/domains"); len(l) != 0 {
		t.Fatalf("domains after the wipe: %v", l)
	}
	if b := master.call(http.MethodGet, "/export?format=csv", "", nil, http.StatusOK); bytes.Count(b, []byte("\n")) != 1 {
		t.Fatalf("export after the wipe is not just the header:\n%s", b)
	}

	// Import the JSON export: a dry run first changes nothing, then the
	// real import recreates everything.
	var rep struct {
		DryRun bool `json:"dry_run"`
		Rows   int  `json:"rows"`
		Errors []struct {
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(da.call(http.MethodPost, "/import?format=json&dry_run=true", "application/json", before.exports["json"], http.StatusOK), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || len(rep.Errors) != 0 || rep.Rows != rows {
		t.Fatalf("dry run report: %+v", rep)
	}
	if l := master.list("/domains"); len(l) != 0 {
		t.Fatalf("a dry run created domains: %v", l)
	}
	if err := json.Unmarshal(da.call(http.MethodPost, "/import", "application/json", before.exports["json"], http.StatusOK), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.DryRun || len(rep.Errors) != 0 || rep.Rows != rows {
		t.Fatalf("import report: %+v", rep)
	}

	after := snapshot()
	for f, b := range before.exports {
		if !bytes.Equal(after.exports[f], b) {
			t.Errorf("%s export after the import differs:\n%s\nwant\n%s", f, after.exports[f], b)
		}
	}
	for _, l := range lists {
		if !reflect.DeepEqual(after.lists[l], before.lists[l]) {
			t.Errorf("GET %s after the import:\n%v\nwant\n%v", l, after.lists[l], before.lists[l])
		}
	}
	// The imported CSV re-imports cleanly too: every row is reported as
	// existing (an import creates, it does not update) and nothing changes.
	rejected := da.call(http.MethodPost, "/import?format=csv", "text/csv", before.exports["csv"], http.StatusUnprocessableEntity)
	if !strings.Contains(string(rejected), `"line"`) {
		t.Errorf("re-import of existing rows: %s", rejected)
	}

	// Mail over SMTP reaches the imported mailboxes, through the imported
	// aliases and domain alias, and each is read with the password it was
	// created with before the export.
	deliveries := map[string]string{
		"user1@" + testDomain: "user1@" + testDomain,
		"team@" + testDomain:  "user1@" + testDomain + " user2@" + testDomain,
		"info@alias.test":     "user3@" + testDomain,
	}
	c, err := smtp.Dial(ts.addr(t, "smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.e2e.test"); err != nil {
		t.Fatal(err)
	}
	for rcpt := range deliveries {
		msg := testMessage("sender@remote.test", rcpt, "lifecycle to "+rcpt, "after the import")
		if err := c.SendMail("sender@remote.test", []string{rcpt}, strings.NewReader(msg)); err != nil {
			t.Fatalf("SMTP to %s: %v", rcpt, err)
		}
	}
	if err := c.Quit(); err != nil {
		t.Errorf("QUIT: %v", err)
	}
	for addr, pass := range passwords {
		var want []string
		for rcpt, boxes := range deliveries {
			if strings.Contains(" "+boxes+" ", " "+addr+" ") {
				want = append(want, "Subject: lifecycle to "+rcpt)
			}
		}
		msgs := pop3Messages(t, ts.addr(t, "pop3"), addr, pass)
		if len(msgs) != len(want) {
			t.Errorf("%s holds %d messages, want %d", addr, len(msgs), len(want))
			continue
		}
		all := strings.Join(msgs, "\n")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("%s lacks %q:\n%s", addr, w, all)
			}
		}
	}
}
