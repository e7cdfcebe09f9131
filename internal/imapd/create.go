package imapd

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"mailport/internal/imapd/wire"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// maxMailboxName bounds a mailbox name in bytes, and maxMailboxDepth its
// levels, so no client can make a name the store or other clients choke
// on.
const (
	maxMailboxName  = 1024
	maxMailboxDepth = 32
)

// getMailbox looks up a mailbox of the account by its UTF-8 name;
// NO [NONEXISTENT] when there is none (RFC 5530 section 3).
func (s *session) getMailbox(name string) (store.Mailbox, error) {
	mb, err := s.srv.cfg.Store.GetMailbox(s.ctx, s.account.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Mailbox{}, no("NONEXISTENT", "no such mailbox")
	}
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("mailbox %q: %w", name, err)
	}
	return mb, nil
}

// checkMailboxName refuses names a mailbox may not have: empty levels,
// wildcards (RFC 9051 section 5.1: "%" and "*" make a name unlistable),
// control characters and overlong names.
func checkMailboxName(name string) error {
	if name == "" || len(name) > maxMailboxName || !utf8.ValidString(name) {
		return no("CANNOT", "invalid mailbox name")
	}
	if strings.ContainsAny(name, "%*") {
		return no("CANNOT", "mailbox names may not contain %% or *")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return no("CANNOT", "mailbox names may not contain control characters")
		}
	}
	levels := strings.Split(name, "/")
	if len(levels) > maxMailboxDepth {
		return no("CANNOT", "mailbox hierarchy deeper than %d levels", maxMailboxDepth)
	}
	for _, l := range levels {
		if l == "" {
			return no("CANNOT", "empty hierarchy level in mailbox name")
		}
	}
	return nil
}

// cmdCreate: RFC 9051 section 6.3.4, with CREATE-SPECIAL-USE (RFC 6154
// section 3). Missing parents are created too, as section 6.3.4 allows.
func (s *session) cmdCreate(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.CreateArgs)
	// RFC 9051 section 6.3.4: a trailing delimiter only says the client
	// intends to create children under the name.
	name := strings.TrimSuffix(args.Mailbox, "/")
	if name == "INBOX" || strings.EqualFold(name, "INBOX") {
		return "", no("ALREADYEXISTS", "INBOX always exists")
	}
	if err := checkMailboxName(name); err != nil {
		return "", err
	}
	var use string
	switch len(args.SpecialUse) {
	case 0:
	case 1:
		use = canonicalSpecialUse(args.SpecialUse[0])
		if use == "" {
			return "", no("USEATTR", "unsupported special-use attribute %s", args.SpecialUse[0])
		}
	default:
		return "", no("USEATTR", "at most one special-use attribute per mailbox")
	}
	if err := s.createParents(name); err != nil {
		return "", err
	}
	_, err := s.srv.cfg.Store.CreateMailbox(s.ctx, s.account.ID, store.MailboxSpec{Name: name, SpecialUse: use})
	if errors.Is(err, store.ErrExists) {
		return "", no("ALREADYEXISTS", "mailbox already exists")
	}
	if err != nil {
		return "", fmt.Errorf("create %q: %w", name, err)
	}
	s.publish(0, notify.MailboxesChanged)
	return "", nil
}

// canonicalSpecialUse returns the attribute spelled as RFC 6154 section 2
// does, or "" when it is not one mailport supports.
func canonicalSpecialUse(a string) string {
	for _, u := range []string{store.SpecialDrafts, store.SpecialSent, store.SpecialJunk, store.SpecialTrash,
		store.SpecialArchive, store.SpecialAll, store.SpecialFlagged} {
		if strings.EqualFold(a, u) {
			return u
		}
	}
	return ""
}
