// Package config reads and writes mailport.toml, the bootstrap file: the
// host name, where to listen, TLS files, the database and a few limits.
// Everything else (domains, users, ...) lives in the database.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"

	"mailport/internal/atomicfile"
	"mailport/internal/domainname"
)

// FileName is the name of the bootstrap file inside the data directory.
const FileName = "mailport.toml"

// StandardPorts are the listeners and their standard ports (DESIGN.md
// section 4). With ports_base N every listener moves to N + its port.
var StandardPorts = map[string]int{
	"smtp":        25,
	"submission":  587,
	"submissions": 465,
	"imap":        143,
	"imaps":       993,
	"pop3":        110,
	"pop3s":       995,
	"managesieve": 4190,
	"http":        80,
	"https":       443,
}

// Config is mailport.toml.
type Config struct {
	Hostname string `toml:"hostname"`
	// ListenAddress is the IP every listener binds; "" means all interfaces.
	ListenAddress string `toml:"listen_address"`
	// PortsBase moves every listener to PortsBase + standard port.
	PortsBase int `toml:"ports_base"`
	// Listeners overrides single listeners: name -> "host:port", or "off".
	Listeners map[string]string `toml:"listeners,omitempty"`

	TLS      TLS      `toml:"tls"`
	Database Database `toml:"database"`
	DNS      DNS      `toml:"dns"`
	Queue    Queue    `toml:"queue"`
	// Submission holds the per-user sending limits of the submission
	// ports (587, 465).
	Submission Submission `toml:"submission"`
	Limits     Limits     `toml:"limits"`
	Directory  Directory  `toml:"directory"`
	Log        Log        `toml:"log"`

	// Dir is the data directory (where the file was read from); not stored.
	Dir string `toml:"-"`
}

// TLS names the certificate and key (PEM). Relative paths are relative to
// the data directory.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Database selects the store backend.
type Database struct {
	Driver string `toml:"driver"` // "sqlite" (default)
	// DSN is the backend's data source; for sqlite a file path relative to
	// the data directory.
	DSN string `toml:"dsn"`
}

// DNS lists the resolvers to ask; empty means the system's.
type DNS struct {
	Servers []string `toml:"servers"`
}

// Queue configures outbound delivery.
type Queue struct {
	// SMTPPort is the port of remote MX hosts (25; tests use others).
	SMTPPort int `toml:"smtp_port"`
	// SourceAddress is the IP outbound SMTP connections are made from
	// ("" = the system's choice); set it when the host has several
	// addresses and SPF names one of them.
	SourceAddress string `toml:"source_address,omitempty"`
	// Smarthost, when set ("host:port"), receives all outbound mail
	// instead of the recipients' MX hosts. SmarthostTLS is "starttls"
	// (default, certificate verified), "tls" (implicit), "opportunistic"
	// or "none"; the password is read from SmarthostPasswordFile so the
	// config file itself holds no secret.
	Smarthost             string `toml:"smarthost,omitempty"`
	SmarthostTLS          string `toml:"smarthost_tls,omitempty"`
	SmarthostUsername     string `toml:"smarthost_username,omitempty"`
	SmarthostPasswordFile string `toml:"smarthost_password_file,omitempty"`
	// DelayWarning is how long a message may stay undelivered to some
	// recipient before its sender gets one notice that it is delayed
	// (RFC 3464 Action "delayed"), as a duration such as "4h" or "90m";
	// "0" sends none. The default, 4h, is sendmail's Timeout.queuewarn:
	// late enough that greylisting and short outages pass unreported.
	DelayWarning string `toml:"delay_warning"`
}

// DelayWarningDuration is DelayWarning parsed; 0 turns delay notices off.
func (q Queue) DelayWarningDuration() (time.Duration, error) {
	d, err := time.ParseDuration(q.DelayWarning)
	if err != nil || d < 0 {
		return 0, invalidKey("queue.delay_warning", "%q: want a duration such as 4h or 90m, or 0 for no delay notices", q.DelayWarning)
	}
	return d, nil
}

// Submission limits what one authenticated user may send. The hourly count
// is kept in memory per account (a sliding window) and starts from zero
// when mailport restarts.
type Submission struct {
	// MaxMessagesPerHour bounds the messages one user submits in any hour;
	// more get 450 4.7.1.
	MaxMessagesPerHour int `toml:"max_messages_per_hour"`
	// MaxRecipients bounds the recipients of one submitted message; more
	// get 450 4.7.1.
	MaxRecipients int `toml:"max_recipients"`
}

// Limits are the protocol limits; zero values take the defaults.
type Limits struct {
	MaxMessageBytes  int64 `toml:"max_message_bytes"`
	MaxRecipients    int   `toml:"max_recipients"`
	MaxLineLength    int   `toml:"max_line_length"`
	MaxConnsPerIP    int   `toml:"max_connections_per_ip"`
	SMTPTimeoutSecs  int   `toml:"smtp_timeout_seconds"`
	POP3TimeoutSecs  int   `toml:"pop3_timeout_seconds"`
	ShutdownWaitSecs int   `toml:"shutdown_wait_seconds"`
	// IMAP clients keep several connections each (one per watched
	// folder), so IMAP has its own, higher per-IP limit and a per-user one.
	IMAPConnsPerIP   int `toml:"imap_max_connections_per_ip"`
	IMAPConnsPerUser int `toml:"imap_max_connections_per_user"`
	IMAPIdleMinutes  int `toml:"imap_idle_timeout_minutes"`
}

// Directory tunes address handling.
type Directory struct {
	// PlusSeparator for subaddresses (user+tag@domain); "" disables.
	PlusSeparator string `toml:"plus_separator"`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Default returns the configuration init writes for hostname.
func Default(hostname string) Config {
	return Config{
		Hostname:   hostname,
		TLS:        TLS{CertFile: "tls/cert.pem", KeyFile: "tls/key.pem"},
		Database:   Database{Driver: "sqlite", DSN: "mailport.db"},
		Queue:      Queue{SMTPPort: 25, DelayWarning: "4h"},
		Submission: Submission{MaxMessagesPerHour: 500, MaxRecipients: 100},
		Limits: Limits{
			MaxMessageBytes: 50 << 20, MaxRecipients: 100, MaxLineLength: 2000,
			MaxConnsPerIP: 20, SMTPTimeoutSecs: 300, POP3TimeoutSecs: 600, ShutdownWaitSecs: 30,
			IMAPConnsPerIP: 50, IMAPConnsPerUser: 20, IMAPIdleMinutes: 30,
		},
		Directory: Directory{PlusSeparator: "+"},
		Log:       Log{Level: "info", Format: "text"},
	}
}

// Load reads DIR/mailport.toml. Keys missing from the file keep Default's
// values, so an old file keeps working when new keys appear.
func Load(dir string) (Config, error) {
	data, err := read(dir)
	if err != nil {
		return Config{}, err
	}
	return parse(data, dir)
}

// read returns the contents of DIR/mailport.toml.
func read(dir string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no %s in %s: run 'mailport init --data %s --hostname HOST' first", FileName, dir, dir)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	return data, nil
}

// parse decodes the contents of DIR/mailport.toml over Default's values
// and validates them.
func parse(data []byte, dir string) (Config, error) {
	p := filepath.Join(dir, FileName)
	c := Default("")
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", p, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return Config{}, fmt.Errorf("%s: unknown key %q", p, und[0].String())
	}
	c.Dir, err = filepath.Abs(dir)
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// ErrInvalid is a value Validate refuses.
var ErrInvalid = errors.New("invalid value")

// KeyError is a refused value of one key, named as in the file
// ("queue.smarthost"), so the API can report it at that field.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Err.Error() }

func (e *KeyError) Unwrap() error { return e.Err }

// invalidKey is the KeyError of key, its message starting "config: KEY".
func invalidKey(key, format string, args ...any) error {
	return &KeyError{Key: key, Err: fmt.Errorf("config: %s: %w: "+format, append([]any{key, ErrInvalid}, args...)...)}
}

// SmarthostAddr splits the smarthost into host and port.
func (q Queue) SmarthostAddr() (string, int, error) {
	host, portStr, err := net.SplitHostPort(q.Smarthost)
	if err != nil {
		return "", 0, invalidKey("queue.smarthost", "%q: want host:port", q.Smarthost)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 || host == "" {
		return "", 0, invalidKey("queue.smarthost", "%q: want host:port with a port from 1 to 65535", q.Smarthost)
	}
	return host, port, nil
}

// Validate checks values a typo could break, and puts hostname in the
// canonical form (domainname.Normalize: lower case, A-labels) that EHLO,
// certificates and DNS use, whether the file was written by init, which
// normalizes too, or by hand with bücher.example.
func (c *Config) Validate() error {
	if c.Hostname == "" {
		return errors.New("config: hostname is empty")
	}
	h, err := domainname.Normalize(c.Hostname)
	if err != nil {
		return invalidKey("hostname", "%v", err)
	}
	c.Hostname = h
	if c.PortsBase < 0 || c.PortsBase > 60000 {
		return fmt.Errorf("config: ports_base %d out of range", c.PortsBase)
	}
	if c.ListenAddress != "" && net.ParseIP(c.ListenAddress) == nil {
		return fmt.Errorf("config: listen_address %q is not an IP address", c.ListenAddress)
	}
	for name, addr := range c.Listeners {
		if _, ok := StandardPorts[name]; !ok {
			return fmt.Errorf("config: unknown listener %q", name)
		}
		if addr == "off" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("config: listener %s: %w", name, err)
		}
	}
	if c.Queue.SourceAddress != "" && net.ParseIP(c.Queue.SourceAddress) == nil {
		return invalidKey("queue.source_address", "%q is not an IP address", c.Queue.SourceAddress)
	}
	if c.Queue.SMTPPort < 0 || c.Queue.SMTPPort > 65535 {
		return invalidKey("queue.smtp_port", "%d is not a port", c.Queue.SMTPPort)
	}
	if _, err := c.Queue.DelayWarningDuration(); err != nil {
		return err
	}
	for _, v := range []struct {
		key string
		n   int64
	}{
		{"submission.max_messages_per_hour", int64(c.Submission.MaxMessagesPerHour)},
		{"submission.max_recipients", int64(c.Submission.MaxRecipients)},
		{"limits.max_message_bytes", c.Limits.MaxMessageBytes},
		{"limits.max_recipients", int64(c.Limits.MaxRecipients)},
		{"limits.max_line_length", int64(c.Limits.MaxLineLength)},
		{"limits.max_connections_per_ip", int64(c.Limits.MaxConnsPerIP)},
		{"limits.smtp_timeout_seconds", int64(c.Limits.SMTPTimeoutSecs)},
		{"limits.pop3_timeout_seconds", int64(c.Limits.POP3TimeoutSecs)},
		{"limits.shutdown_wait_seconds", int64(c.Limits.ShutdownWaitSecs)},
		{"limits.imap_max_connections_per_ip", int64(c.Limits.IMAPConnsPerIP)},
		{"limits.imap_max_connections_per_user", int64(c.Limits.IMAPConnsPerUser)},
		{"limits.imap_idle_timeout_minutes", int64(c.Limits.IMAPIdleMinutes)},
	} {
		if v.n < 0 {
			return invalidKey(v.key, "%d: limits must not be negative", v.n)
		}
	}
	if q := c.Queue; q.Smarthost != "" {
		if _, _, err := q.SmarthostAddr(); err != nil {
			return err
		}
		switch q.SmarthostTLS {
		case "", "starttls", "tls", "opportunistic", "none":
		default:
			return invalidKey("queue.smarthost_tls", "%q: want starttls, tls, opportunistic or none", q.SmarthostTLS)
		}
		if (q.SmarthostUsername == "") != (q.SmarthostPasswordFile == "") {
			return invalidKey("queue.smarthost_username", "smarthost_username and smarthost_password_file go together")
		}
	}
	if c.Database.Driver != "sqlite" {
		return fmt.Errorf("config: database driver %q not supported (use sqlite)", c.Database.Driver)
	}
	return nil
}

// header opens the file Save writes.
const header = "# mailport bootstrap configuration; domains and users live in the database.\n"

// Save writes DIR/mailport.toml atomically.
func (c *Config) Save(dir string) error {
	var buf bytes.Buffer
	buf.WriteString(header)
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return write(dir, buf.Bytes())
}

// write replaces DIR/mailport.toml with data so that a crash leaves the
// old file or the new one, never a mix.
func write(dir string, data []byte) error {
	return atomicfile.WriteFile(filepath.Join(dir, FileName), data, 0o600)
}

// ListenAddr returns where listener name binds, or "" when it is off.
func (c *Config) ListenAddr(name string) string {
	if a, ok := c.Listeners[name]; ok {
		if a == "off" {
			return ""
		}
		return a
	}
	return net.JoinHostPort(c.ListenAddress, strconv.Itoa(c.PortsBase+StandardPorts[name]))
}

// Path resolves a path from the file relative to the data directory.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}
