package server

import (
	"fmt"
	"os"
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
	host, port, err := q.SmarthostAddr()
	if err != nil {
		return nil, err
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
