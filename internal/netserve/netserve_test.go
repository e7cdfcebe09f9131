package netserve

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"
)

// testTimeout only keeps a broken test from hanging; nothing is timed.
const testTimeout = 10 * time.Second

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dial(t *testing.T, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

// refusals records why connections were turned away and writes the reason
// to the client, as a protocol's Refuser does.
type refusals chan error

func (r refusals) refuse(c net.Conn, _ netip.Addr, reason error) {
	c.Write([]byte(reason.Error() + "\n"))
	c.Close()
	r <- reason
}

func (r refusals) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r:
		return err
	case <-time.After(testTimeout):
		t.Fatal("no refusal")
		return nil
	}
}

// expectEOF reads what the server sends until it closes the connection.
func expectEOF(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// handlerServer runs Serve with a handler that says "hi", then blocks
// until told to finish (or its connection closes).
type handlerServer struct {
	srv     *Server
	ln      net.Listener
	ref     refusals
	started chan *Conn
	finish  chan struct{}
	once    sync.Once
	served  chan error
}

// release lets every handler return.
func (h *handlerServer) release() { h.once.Do(func() { close(h.finish) }) }

func startServe(t *testing.T, cfg Config) *handlerServer {
	t.Helper()
	h := &handlerServer{
		srv:     New(cfg),
		ln:      listen(t),
		ref:     make(refusals, 10),
		started: make(chan *Conn, 10),
		finish:  make(chan struct{}),
		served:  make(chan error, 1),
	}
	go func() {
		h.served <- h.srv.Serve(h.ln, func(c *Conn) {
			c.Write([]byte("hi\n"))
			h.started <- c
			<-h.finish
		}, h.ref.refuse)
	}()
	t.Cleanup(func() {
		h.release()
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		h.srv.Shutdown(ctx)
	})
	return h
}

func (h *handlerServer) connect(t *testing.T) (net.Conn, *Conn) {
	t.Helper()
	c := dial(t, h.ln.Addr())
	select {
	case sc := <-h.started:
		return c, sc
	case <-time.After(testTimeout):
		t.Fatal("handler not started")
		return nil, nil
	}
}

func TestServeLimitPerIP(t *testing.T) {
	h := startServe(t, Config{MaxConnsPerIP: 2})
	a, sa := h.connect(t)
	h.connect(t)
	if sa.Remote != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("Remote = %v", sa.Remote)
	}
	if open, busy := h.srv.Count(); open != 2 || busy != 2 {
		t.Errorf("Count = %d, %d; want 2, 2", open, busy)
	}

	c := dial(t, h.ln.Addr())
	if err := h.ref.next(t); !errors.Is(err, ErrTooManyConns) {
		t.Fatalf("refused with %v", err)
	}
	if got := expectEOF(t, c); got != ErrTooManyConns.Error()+"\n" {
		t.Errorf("refused client read %q", got)
	}

	// A connection whose handler ended frees its slot.
	a.Close()
	sa.Close()
	h.release()
	d, _ := h.connect(t)
	if got := expectEOF(t, d); got != "hi\n" {
		t.Errorf("new client read %q", got)
	}
}

func TestRemoteAddrOverride(t *testing.T) {
	addrs := []string{"192.0.2.1", "192.0.2.2", "192.0.2.1"}
	next := make(chan netip.Addr, len(addrs))
	for _, a := range addrs {
		next <- netip.MustParseAddr(a)
	}
	h := startServe(t, Config{MaxConnsPerIP: 1, RemoteAddr: func(net.Conn) netip.Addr { return <-next }})
	_, s1 := h.connect(t)
	_, s2 := h.connect(t)
	if s1.Remote.String() != "192.0.2.1" || s2.Remote.String() != "192.0.2.2" {
		t.Errorf("remotes %v, %v", s1.Remote, s2.Remote)
	}
	dial(t, h.ln.Addr())
	if err := h.ref.next(t); !errors.Is(err, ErrTooManyConns) {
		t.Fatalf("third (repeated address) refused with %v", err)
	}
}

func TestListenerLimitAndRelease(t *testing.T) {
	srv := New(Config{MaxConnsPerIP: 1})
	ref := make(refusals, 10)
	ln := srv.Listen(listen(t), ref.refuse)
	// The owner of the accept loop reads each connection until it fails
	// and then closes it, as go-smtp does.
	accepted := make(chan *Conn, 10)
	closed := make(chan *Conn, 10)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for {
			c, err := ln.AcceptConn()
			if err != nil {
				return
			}
			accepted <- c
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
				c.Close() // a second Close does not release twice
				closed <- c
			}()
		}
	}()

	first := dial(t, ln.Addr())
	<-accepted
	if open, busy := srv.Count(); open != 1 || busy != 0 {
		t.Errorf("Count = %d, %d; want 1 idle", open, busy)
	}
	dial(t, ln.Addr())
	if err := ref.next(t); !errors.Is(err, ErrTooManyConns) {
		t.Fatalf("second refused with %v", err)
	}

	// Closing releases the slot.
	first.Close()
	<-closed
	if open, _ := srv.Count(); open != 0 {
		t.Errorf("open = %d after Close", open)
	}
	dial(t, ln.Addr())
	<-accepted

	// Shutdown closes the idle connection (its owner then closes and
	// releases it) and the listener.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	<-closed
	<-loopDone
	if err := ln.Close(); err != nil {
		t.Errorf("closing the listener again: %v", err)
	}
}

func TestShutdownIdleAndBusy(t *testing.T) {
	for _, interrupt := range []bool{false, true} {
		name := "close"
		if interrupt {
			name = "interrupt"
		}
		t.Run(name, func(t *testing.T) {
			h := startServe(t, Config{MaxConnsPerIP: 10, InterruptIdle: interrupt})
			_, busy := h.connect(t)
			idleClient, idle := h.connect(t)
			if err := idle.Idle(time.Hour); err != nil {
				t.Fatal(err)
			}
			if open, nbusy := h.srv.Count(); open != 2 || nbusy != 1 {
				t.Fatalf("Count = %d, %d; want 2, 1", open, nbusy)
			}

			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				done <- h.srv.Shutdown(ctx)
			}()
			<-h.srv.Closing()

			// The idle connection ends: its read fails at once.
			buf := make([]byte, 16)
			idle.SetWriteDeadline(time.Now().Add(testTimeout))
			_, err := idle.Read(buf)
			if interrupt && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("idle read: %v, want deadline exceeded", err)
			}
			if !interrupt && err == nil {
				t.Error("idle read succeeded after Shutdown")
			}
			// Neither connection may start new work now.
			if err := busy.Busy(); !errors.Is(err, ErrShuttingDown) {
				t.Errorf("Busy = %v", err)
			}
			if err := busy.Idle(0); !errors.Is(err, ErrShuttingDown) {
				t.Errorf("Idle = %v", err)
			}
			// New connections are no longer accepted.
			if err := <-h.served; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve = %v", err)
			}
			select {
			case err := <-done:
				t.Fatalf("Shutdown returned %v with a busy connection", err)
			default:
			}

			// The busy one still works and Shutdown waits for it.
			if _, err := busy.Write([]byte("still here\n")); err != nil {
				t.Errorf("busy write: %v", err)
			}
			h.release()
			if err := <-done; err != nil {
				t.Errorf("Shutdown = %v", err)
			}
			if open, _ := h.srv.Count(); open != 0 {
				t.Errorf("open = %d", open)
			}
			h.srv.Wait()
			idleClient.Close()
		})
	}
}

func TestShutdownContextEnds(t *testing.T) {
	h := startServe(t, Config{MaxConnsPerIP: 10})
	client, _ := h.connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Shutdown(ctx) }()
	<-h.srv.Closing()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v", err)
	}
	// The busy connection was closed under its handler.
	if got := expectEOF(t, client); got != "hi\n" {
		t.Errorf("client read %q", got)
	}
	h.release()
	h.srv.Wait()
	if open, _ := h.srv.Count(); open != 0 {
		t.Errorf("open = %d after Wait", open)
	}
}

func TestAfterShutdown(t *testing.T) {
	srv := New(Config{})
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	if err := srv.Serve(ln, func(*Conn) { t.Error("handled") }, nil); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("Serve left the listener open")
	}

	ref := make(refusals, 1)
	a, b := net.Pipe()
	defer a.Close()
	srv.ServeConn(b, func(*Conn) { t.Error("handled") }, ref.refuse)
	go io.Copy(io.Discard, a)
	if err := ref.next(t); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("refused with %v", err)
	}
}

func TestRemoteIP(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, "2001:db8::1"},
		{&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, "invalid IP"},
		{fakeAddr("[2001:db8::2]:25"), "2001:db8::2"},
	}
	for _, tt := range tests {
		t.Run(tt.addr.String(), func(t *testing.T) {
			if got := RemoteIP(addrConn{addr: tt.addr}).String(); got != tt.want {
				t.Errorf("RemoteIP = %s, want %s", got, tt.want)
			}
		})
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

type addrConn struct {
	net.Conn
	addr net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.addr }
