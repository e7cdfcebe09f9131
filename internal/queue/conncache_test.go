package queue

import (
	"context"
	"testing"
	"time"
)

// Messages queued one after another for the same host share one
// connection; a cached connection the server has dropped is replaced by a
// new one without deferring the message.
func TestConnectionReused(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.ready()
	e := newEnv(t, mx.port)
	e.dns.addMX("remote.test", "mx.remote.test", 10)
	e.dns.addIP("mx.remote.test", "127.0.0.1")
	// A deferral would wait an hour: the test would time out.
	e.cfg.Backoff = func(int) time.Duration { return time.Hour }
	q := e.open()
	q.conns.idleTime = time.Hour
	e.run(q)
	for range 3 {
		enqueue(t, q, "alice@local.test", "bob@remote.test")
		mx.wait(1)
		waitEmpty(t, q)
	}
	if n := mx.connections(); n != 1 {
		t.Fatalf("3 messages used %d connections, want 1", n)
	}

	// Break the cached connection behind the cache's back.
	q.conns.mu.Lock()
	for _, list := range q.conns.idle {
		for _, ic := range list {
			ic.sc.raw.Close()
		}
	}
	q.conns.mu.Unlock()
	enqueue(t, q, "alice@local.test", "bob@remote.test")
	mx.wait(1)
	waitEmpty(t, q)
	if n, m := mx.connections(), len(mx.messages()); n != 2 || m != 4 {
		t.Errorf("%d connections, %d messages; want 2 and 4", n, m)
	}
	for _, m := range mx.messages() {
		if !sameBody(m.data) {
			t.Errorf("body changed on a reused connection: %q", m.data)
		}
	}
}

// The cache keeps at most maxIdleConns connections and none after close;
// connections past their use limit are not kept.
func TestConnCacheLimits(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.ready()
	e := newEnv(t, mx.port)
	q := e.open()
	defer q.Close()
	target := target{host: "127.0.0.1", port: mx.port, tls: tlsOff}
	cc := newConnCache()
	cc.idleTime = time.Hour
	key := connKey{host: "127.0.0.1", ip: "127.0.0.1", port: mx.port, mode: tlsOff}
	for i := range maxIdleConns + 2 {
		sc, herr := q.connect(context.Background(), target, "127.0.0.1", tlsOff)
		if herr != nil {
			t.Fatal(herr.text)
		}
		if i == 0 {
			sc.uses = connMaxUses
		}
		cc.put(key, sc, time.Now())
	}
	cc.mu.Lock()
	n := cc.n
	cc.mu.Unlock()
	if n != maxIdleConns {
		t.Errorf("%d idle connections kept, want %d", n, maxIdleConns)
	}
	cc.close()
	if sc := cc.get(key); sc != nil {
		t.Error("a connection was handed out after close")
	}
	sc, herr := q.connect(context.Background(), target, "127.0.0.1", tlsOff)
	if herr != nil {
		t.Fatal(herr.text)
	}
	cc.put(key, sc, time.Now())
	if cc.get(key) != nil {
		t.Error("a closed cache kept a connection")
	}
}
