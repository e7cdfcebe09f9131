package queue

import (
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// With SourceAddress set, connections to MX hosts come from that address
// (what the sending domain's SPF record names), not from the one the
// system would pick; a bad address is refused by New.
func TestSourceAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Skipf("no 127.0.0.3 on this host: %v", err)
	}
	var mu sync.Mutex
	var peers []string
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		mu.Lock()
		peers = append(peers, c.Conn().RemoteAddr().(*net.TCPAddr).IP.String())
		mu.Unlock()
		return &mxSession{m: &mxServer{got: make(chan struct{}, 10)}, c: c}, nil
	}))
	srv.Domain = "mx.remote.test"
	srv.ErrorLog = log4test{}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	e := newEnv(t, ln.Addr().(*net.TCPAddr).Port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.3")
	e.cfg.SourceAddress = "127.0.0.2"
	q := e.open()
	enqueue(t, q, "alice@local.test", "bob@remote.test")
	e.run(q)
	waitEmpty(t, q)
	mu.Lock()
	defer mu.Unlock()
	if len(peers) == 0 || peers[0] != "127.0.0.2" {
		t.Fatalf("connections came from %v, want 127.0.0.2", peers)
	}

	e2 := newEnv(t, 25)
	e2.cfg.SourceAddress = "not-an-ip"
	if _, err := New(e2.cfg); err == nil {
		t.Fatal("New accepted a source address that is not an IP")
	}
}
