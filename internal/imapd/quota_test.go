package imapd

import (
	"context"
	"testing"
)

func TestQuota(t *testing.T) {
	ts := newTestServer(t)
	m := ts.deliver("INBOX", testMessage("one"))
	c := ts.conn().login()
	// No limit: an empty resource list (RFC 9208 section 5.1).
	c.cmd("a GETQUOTAROOT INBOX").ok().xuntagged(`* QUOTAROOT INBOX ""`, `* QUOTA "" ()`)

	acct := ts.acct
	acct.QuotaBytes = 10 << 20
	if err := ts.st.UpdateAccount(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	usedKiB := (m.Size + 1023) / 1024
	c.cmd("b GETQUOTA \"\"").ok().xuntagged(`* QUOTA "" (STORAGE ` + itoa(usedKiB) + ` 10240)`)
	c.cmd("c GETQUOTAROOT Sent").ok().xuntagged(`* QUOTAROOT Sent ""`, `* QUOTA "" (STORAGE `+itoa(usedKiB)+` 10240)`)
	c.cmd("d GETQUOTA other").no()
	c.cmd("e GETQUOTAROOT nosuch").no().code("NONEXISTENT")
	c.cmd(`f SETQUOTA "" (STORAGE 1)`).no()
}

func itoa(n int64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}
