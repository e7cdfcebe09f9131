package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"mailport/internal/config"
	"mailport/internal/queue"
)

// smarthost turns the [queue] smarthost settings into the queue's relay
// host, or nil when outbound mail goes to the recipients' MX hosts.
func smarthost(q config.Queue) (*queue.Smarthost, error) {
	if q.Smarthost == "" {
		return nil, nil
	}
	host, portStr, err := net.SplitHostPort(q.Smarthost)
	if err != nil {
		return nil, fmt.Errorf("queue.smarthost: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("queue.smarthost: bad port %q", portStr)
	}
	sh := &queue.Smarthost{Host: host, Port: port, Username: q.SmarthostUsername, TLS: queue.TLSMode(q.SmarthostTLS)}
	if sh.TLS == "" {
		sh.TLS = queue.TLSStartTLS
	}
	if q.SmarthostPasswordFile != "" {
		b, err := os.ReadFile(q.SmarthostPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("queue.smarthost_password_file: %w", err)
		}
		sh.Password = strings.TrimRight(string(b), "\r\n")
	}
	return sh, nil
}
