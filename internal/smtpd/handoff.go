package smtpd

import (
	"net"
	"sync"
)

// handoffListener is the listener a go-smtp generation serves: Server's
// own accept loops give it the connections they accepted. Closing it
// ends that generation's Serve without touching its connections.
type handoffListener struct {
	conns chan net.Conn

	mu     sync.Mutex
	closed chan struct{}
	done   bool
}

func newHandoffListener() *handoffListener {
	return &handoffListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// give hands c to the generation's Serve; false when the listener closed
// first (c is then the caller's to close).
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.done = true
		close(l.closed)
	}
	return nil
}

// Addr has no meaning for a handoff; go-smtp does not ask.
func (l *handoffListener) Addr() net.Addr { return &net.TCPAddr{} }
