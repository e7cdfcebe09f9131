package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/access"
	"mailport/internal/config"
)

// ServerSettings are the server settings a MasterAdmin sees: those of
// mailport.toml that shape the service. Their JSON names are the file's
// table and key names ("limits" "max_recipients"), which is how PATCH
// /settings finds the keys to write.
type ServerSettings struct {
	Hostname   string             `json:"hostname"`
	Limits     SettingsLimits     `json:"limits"`
	Submission SettingsSubmission `json:"submission"`
	Queue      SettingsQueue      `json:"queue"`
}

// SettingsLimits are the protocol limits ([limits]).
type SettingsLimits struct {
	MaxMessageBytes  int64 `json:"max_message_bytes"`
	MaxRecipients    int   `json:"max_recipients"`
	MaxLineLength    int   `json:"max_line_length"`
	MaxConnsPerIP    int   `json:"max_connections_per_ip"`
	IMAPConnsPerIP   int   `json:"imap_max_connections_per_ip"`
	IMAPConnsPerUser int   `json:"imap_max_connections_per_user"`
	SMTPTimeoutSecs  int   `json:"smtp_timeout_seconds"`
	POP3TimeoutSecs  int   `json:"pop3_timeout_seconds"`
	IMAPIdleMinutes  int   `json:"imap_idle_timeout_minutes"`
	ShutdownWaitSecs int   `json:"shutdown_wait_seconds"`
}

// SettingsSubmission are the per-user sending limits ([submission]).
type SettingsSubmission struct {
	MaxMessagesPerHour int `json:"max_messages_per_hour"`
	MaxRecipients      int `json:"max_recipients"`
}

// SettingsQueue is the outbound queue's configuration ([queue]); the
// smarthost password never leaves the server.
type SettingsQueue struct {
	SMTPPort          int    `json:"smtp_port"`
	SourceAddress     string `json:"source_address,omitempty"`
	Smarthost         string `json:"smarthost,omitempty" doc:"host:port all outbound mail goes through; empty = direct to MX"`
	SmarthostTLS      string `json:"smarthost_tls,omitempty"`
	SmarthostUsername string `json:"smarthost_username,omitempty"`
	DelayWarning      string `json:"delay_warning" doc:"How long a message may stay undelivered before its sender gets one delay notice, e.g. 4h; 0 = none"`
}

// SettingsFromConfig is what GET /settings shows of cfg.
func SettingsFromConfig(cfg config.Config) ServerSettings {
	l := cfg.Limits
	return ServerSettings{
		Hostname: cfg.Hostname,
		Limits: SettingsLimits{
			MaxMessageBytes: l.MaxMessageBytes, MaxRecipients: l.MaxRecipients, MaxLineLength: l.MaxLineLength,
			MaxConnsPerIP: l.MaxConnsPerIP, IMAPConnsPerIP: l.IMAPConnsPerIP, IMAPConnsPerUser: l.IMAPConnsPerUser,
			SMTPTimeoutSecs: l.SMTPTimeoutSecs, POP3TimeoutSecs: l.POP3TimeoutSecs, IMAPIdleMinutes: l.IMAPIdleMinutes,
			ShutdownWaitSecs: l.ShutdownWaitSecs,
		},
		Submission: SettingsSubmission{MaxMessagesPerHour: cfg.Submission.MaxMessagesPerHour, MaxRecipients: cfg.Submission.MaxRecipients},
		Queue: SettingsQueue{
			SMTPPort: cfg.Queue.SMTPPort, SourceAddress: cfg.Queue.SourceAddress,
			Smarthost: cfg.Queue.Smarthost, SmarthostTLS: cfg.Queue.SmarthostTLS, SmarthostUsername: cfg.Queue.SmarthostUsername,
			DelayWarning: cfg.Queue.DelayWarning,
		},
	}
}

// Settings is what GET and PATCH /settings answer: the settings as saved
// in mailport.toml, and which of them are not in effect yet.
type Settings struct {
	ServerSettings
	RestartRequired []string `json:"restart_required" doc:"Keys (table.key) whose saved value takes effect when mailport restarts; the running server still uses the old one"`
}

// SettingsPatch changes the settings given; the others stay. Zero limits
// take mailport's defaults (unlimited for the submission limits).
type SettingsPatch struct {
	Limits     *SettingsLimitsPatch     `json:"limits,omitempty"`
	Submission *SettingsSubmissionPatch `json:"submission,omitempty"`
	Queue      *SettingsQueuePatch      `json:"queue,omitempty"`
}

// SettingsLimitsPatch changes [limits]. The upper bounds keep a typo
// from making a limit meaningless or overflowing a timeout.
type SettingsLimitsPatch struct {
	MaxMessageBytes  *int64 `json:"max_message_bytes,omitempty" minimum:"0" maximum:"4294967296"`
	MaxRecipients    *int   `json:"max_recipients,omitempty" minimum:"0" maximum:"100000"`
	MaxLineLength    *int   `json:"max_line_length,omitempty" minimum:"0" maximum:"1048576"`
	MaxConnsPerIP    *int   `json:"max_connections_per_ip,omitempty" minimum:"0" maximum:"100000"`
	IMAPConnsPerIP   *int   `json:"imap_max_connections_per_ip,omitempty" minimum:"0" maximum:"100000"`
	IMAPConnsPerUser *int   `json:"imap_max_connections_per_user,omitempty" minimum:"0" maximum:"100000"`
	SMTPTimeoutSecs  *int   `json:"smtp_timeout_seconds,omitempty" minimum:"0" maximum:"86400"`
	POP3TimeoutSecs  *int   `json:"pop3_timeout_seconds,omitempty" minimum:"0" maximum:"86400"`
	IMAPIdleMinutes  *int   `json:"imap_idle_timeout_minutes,omitempty" minimum:"0" maximum:"1440" doc:"At least 30 take effect (RFC 9051 section 5.4)"`
	ShutdownWaitSecs *int   `json:"shutdown_wait_seconds,omitempty" minimum:"0" maximum:"3600"`
}

// SettingsSubmissionPatch changes [submission].
type SettingsSubmissionPatch struct {
	MaxMessagesPerHour *int `json:"max_messages_per_hour,omitempty" minimum:"0" maximum:"1000000"`
	MaxRecipients      *int `json:"max_recipients,omitempty" minimum:"0" maximum:"100000"`
}

// SettingsQueuePatch changes [queue]. The smarthost credentials are not
// here: the password lives in a file only the host's administrator
// names.
type SettingsQueuePatch struct {
	SMTPPort      *int    `json:"smtp_port,omitempty" minimum:"1" maximum:"65535" doc:"Port of remote MX hosts"`
	SourceAddress *string `json:"source_address,omitempty" maxLength:"45" doc:"IP address outbound connections come from; empty = the system's choice"`
	Smarthost     *string `json:"smarthost,omitempty" maxLength:"300" doc:"host:port all outbound mail goes through; empty = direct to MX"`
	SmarthostTLS  *string `json:"smarthost_tls,omitempty" enum:"starttls,tls,opportunistic,none"`
	DelayWarning  *string `json:"delay_warning,omitempty" maxLength:"20" doc:"How long a message may stay undelivered before its sender gets one delay notice (RFC 3464 delayed), a duration such as 4h or 90m; 0 = none"`
}

type settingsOutput struct{ Body Settings }

type patchSettingsInput struct {
	Body SettingsPatch
}

// settingsState is the server's settings: those running (read when
// mailport started) and those saved in mailport.toml since.
type settingsState struct {
	mu      sync.Mutex
	running ServerSettings
	saved   ServerSettings
}

// state answers the saved settings and the keys whose saved value is not
// the running one.
func (s *settingsState) state() (Settings, error) {
	saved, err := flatten(s.saved)
	if err != nil {
		return Settings{}, err
	}
	running, err := flatten(s.running)
	if err != nil {
		return Settings{}, err
	}
	out := Settings{ServerSettings: s.saved, RestartRequired: []string{}}
	for k, v := range saved {
		if !reflect.DeepEqual(v, running[k]) {
			out.RestartRequired = append(out.RestartRequired, k)
		}
	}
	slices.Sort(out.RestartRequired)
	return out, nil
}

// flatten names each value of v by its JSON path, "limits.max_recipients"
// (the same as its name in mailport.toml); numbers stay json.Number so
// integers compare and convert exactly.
func flatten(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			for sk, sv := range sub {
				out[k+"."+sk] = sv
			}
			continue
		}
		out[k] = v
	}
	return out, nil
}

// settingsOf turns a patch into the keys of mailport.toml to set.
func settingsOf(p SettingsPatch) ([]config.Setting, error) {
	m, err := flatten(p)
	if err != nil {
		return nil, err
	}
	var out []config.Setting
	for name, v := range m {
		sec, key, _ := strings.Cut(name, ".")
		switch x := v.(type) {
		case json.Number:
			n, err := x.Int64()
			if err != nil {
				return nil, fmt.Errorf("settings: %s: %w", name, err)
			}
			out = append(out, config.Setting{Section: sec, Key: key, Value: n})
		case string:
			out = append(out, config.Setting{Section: sec, Key: key, Value: x})
		default:
			return nil, fmt.Errorf("settings: %s: unexpected %T", name, v)
		}
	}
	slices.SortFunc(out, func(a, b config.Setting) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (a *API) registerSettings() {
	a.settings.running, a.settings.saved = a.cfg.Settings, a.cfg.Settings

	o := op("getSettings", http.MethodGet, "/settings", "Server settings (MasterAdmins only)", "settings")
	o.Description = "The settings of mailport.toml that shape the service, as saved in the file; " +
		"restart_required lists those whose saved value is not the running one and takes effect when mailport restarts."
	huma.Register(a.humaAPI, o, func(ctx context.Context, _ *emptyInput) (*settingsOutput, error) {
		p := callerOf(ctx).p
		if err := access.Require(access.CanManageServer(p), p, "read the server settings"); err != nil {
			return nil, a.errorFor(ctx, err)
		}
		a.settings.mu.Lock()
		defer a.settings.mu.Unlock()
		st, err := a.settings.state()
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &settingsOutput{st}, nil
	})

	o = op("updateSettings", http.MethodPatch, "/settings", "Change server settings (MasterAdmins only)", "settings")
	o.Description = "Changes the given settings of [limits], [submission] and [queue] (smtp_port, source_address, smarthost, smarthost_tls, delay_warning) " +
		"in mailport.toml, which is rewritten atomically with its other contents, comments included, left as they were. " +
		"[limits] other than shutdown_wait_seconds (max_message_bytes, max_recipients, max_line_length, smtp_timeout_seconds, max_connections_per_ip, " +
		"pop3_timeout_seconds, imap_max_connections_per_ip, imap_max_connections_per_user, imap_idle_timeout_minutes), [submission] and [queue] take effect at once: " +
		"new connections, logins, SMTP transactions and delivery attempts use them, connections already open keep the limits and timeouts they started with. " +
		"shutdown_wait_seconds is listed in restart_required until mailport restarts. " +
		"Listeners, ports, TLS, the database and the smarthost credentials are changed in the file only. " +
		"A value the server refuses is a 422 naming it in error.fields (body.queue.smarthost)."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *patchSettingsInput) (*settingsOutput, error) {
		p := callerOf(ctx).p
		if err := access.Require(access.CanManageServer(p), p, "change the server settings"); err != nil {
			return nil, a.errorFor(ctx, err)
		}
		if a.cfg.ConfigDir == "" {
			return nil, newError(http.StatusServiceUnavailable, "", "this server has no mailport.toml to change")
		}
		set, err := settingsOf(in.Body)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		a.settings.mu.Lock()
		defer a.settings.mu.Unlock()
		if len(set) > 0 {
			c, err := config.Edit(a.cfg.ConfigDir, set)
			if err != nil {
				return nil, a.errorFor(ctx, err)
			}
			before := a.settings.saved
			if err := a.applySaved(c); err != nil {
				// Saved but not applied: restart_required shows it.
				a.cfg.Logger.Error("applying saved settings", "err", err)
			}
			if a.settings.saved != before {
				a.audit(ctx, "settings.update", "settings", config.FileName, "", before, a.settings.saved)
			}
		}
		st, err := a.settings.state()
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &settingsOutput{st}, nil
	})
}

// applySaved records c as the saved settings and puts what can change at
// run time into effect (Config.Apply); the caller holds settings.mu.
func (a *API) applySaved(c config.Config) error {
	a.settings.saved = SettingsFromConfig(c)
	if a.cfg.Apply == nil {
		return nil
	}
	run, err := a.cfg.Apply(c)
	a.settings.running = SettingsFromConfig(run)
	return err
}

// Reload takes settings re-read from mailport.toml (after an
// administrator edited it and sent SIGHUP), applies them as PATCH
// /settings does, and returns the keys that still need a restart.
func (a *API) Reload(c config.Config) (restartRequired []string, err error) {
	a.settings.mu.Lock()
	defer a.settings.mu.Unlock()
	if err := a.applySaved(c); err != nil {
		return nil, err
	}
	st, err := a.settings.state()
	return st.RestartRequired, err
}
