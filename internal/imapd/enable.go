package imapd

import (
	"mailport/internal/imapd/wire"
)

// cmdEnable: RFC 5161 (and RFC 9051 section 6.3.1). The ENABLED response
// lists the extensions this command turned on; unknown ones are ignored.
func (s *session) cmdEnable(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.EnableArgs)
	var enabled []string
	for _, c := range args.Capabilities {
		switch c {
		case "CONDSTORE":
			if !s.condstore {
				s.condstore = true
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			// RFC 7162 section 3.2.3: QRESYNC implies CONDSTORE.
			if !s.qresync {
				s.qresync, s.condstore = true, true
				enabled = append(enabled, "QRESYNC")
			}
		case "IMAP4REV2":
			if !s.rev2 {
				s.rev2 = true
				s.setUTF8()
				enabled = append(enabled, "IMAP4rev2")
			}
		case "UTF8=ACCEPT":
			// RFC 6855 section 3.
			if !s.utf8 {
				s.setUTF8()
				enabled = append(enabled, "UTF8=ACCEPT")
			}
		}
	}
	s.w.StartUntagged()
	s.w.Atom("ENABLED")
	for _, e := range enabled {
		s.w.Atom(e)
	}
	s.w.EndLine()
	return "", nil
}

// setUTF8 switches mailbox names to UTF-8 both ways (RFC 9051 section
// 5.1, RFC 6855 section 3).
func (s *session) setUTF8() {
	s.utf8 = true
	s.r.UTF8 = true
	s.w.UTF8 = true
}
