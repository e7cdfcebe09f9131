package delivery

import (
	"slices"
	"strings"

	"github.com/emersion/go-smtp"

	"mailport/internal/directory"
)

// RecipientDSN is what a client asked with RCPT about the notices for one
// recipient (RFC 3461): NOTIFY (section 4.1) and ORCPT (section 4.2).
type RecipientDSN struct {
	Notify                []smtp.DSNNotify
	OriginalRecipientType smtp.DSNAddressType
	OriginalRecipient     string
}

// SetRecipientDSN records d for the outbound address addr, unless an
// earlier RCPT already led to addr (an alias target named twice keeps
// the parameters of the first).
func (e *Envelope) SetRecipientDSN(addr string, d RecipientDSN) {
	if d.Notify == nil && d.OriginalRecipient == "" {
		return
	}
	key := strings.ToLower(addr)
	if _, ok := e.dsn[key]; ok {
		return
	}
	if e.dsn == nil {
		e.dsn = map[string]RecipientDSN{}
	}
	e.dsn[key] = d
}

// RecipientDSN returns the parameters recorded for addr; ok is false when
// its RCPT had neither NOTIFY nor ORCPT.
func (e *Envelope) RecipientDSN(addr string) (d RecipientDSN, ok bool) {
	d, ok = e.dsn[strings.ToLower(addr)]
	return d, ok
}

// Expansion is where the RCPT of one address led (the mailboxes,
// outside addresses and relayed addresses of directory.Resolve, after
// the mailboxes' forwards) and what its DSN parameters become for each of
// them: RFC 3461 section 5.2.7 treats aliases and forwarding alike.
type Expansion struct {
	rcpt    string // as the client gave it
	canon   string // in canonical form, to tell the address itself from the others
	dsn     RecipientDSN
	targets int
}

// NewExpansion is the RCPT of rcpt, with parameters d, leading to targets
// addresses.
func NewExpansion(rcpt string, d RecipientDSN, targets int) Expansion {
	canon := strings.ToLower(rcpt)
	if local, domain, err := directory.ParseAddress(rcpt); err == nil {
		canon = local + "@" + domain
	}
	return Expansion{rcpt: rcpt, canon: canon, dsn: d, targets: targets}
}

// Expanded reports whether the RCPT led to more than one address: an
// alias with several targets, or a mailbox that also forwards.
func (x Expansion) Expanded() bool { return x.targets > 1 }

// For returns the parameters passed on to target, one of the addresses
// the RCPT led to.
func (x Expansion) For(target string) RecipientDSN {
	d := x.dsn
	if d.OriginalRecipient == "" && !strings.EqualFold(target, x.canon) {
		// RFC 3461 sections 4.2 and 5.2.1 (d): an ORCPT added on the
		// way names the address of the RCPT the message came with, so
		// a notice about the target still says which address the
		// sender wrote. utf-8 for an internationalized one (RFC 6533
		// section 3).
		d.OriginalRecipientType, d.OriginalRecipient = smtp.DSNAddressTypeRFC822, x.rcpt
		if !isASCII(x.rcpt) {
			d.OriginalRecipientType = smtp.DSNAddressTypeUTF8
		}
	}
	if x.Expanded() && slices.Contains(d.Notify, smtp.DSNNotifySuccess) {
		// RFC 3461 section 5.2.7.3 (c): the targets of an alias with
		// several get NOTIFY without SUCCESS (the alias's own
		// "expanded" notice answers it); NOTIFY=SUCCESS alone leaves
		// nothing asked, which is NEVER.
		var kept []smtp.DSNNotify
		for _, k := range d.Notify {
			if k != smtp.DSNNotifySuccess {
				kept = append(kept, k)
			}
		}
		if len(kept) == 0 {
			kept = []smtp.DSNNotify{smtp.DSNNotifyNever}
		}
		d.Notify = kept
	}
	return d
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// AddExpansion records what the RCPT of x asked of notices for the
// address itself: when it led to several addresses and its NOTIFY has
// SUCCESS, the sender is owed an "expanded" notice once the message is
// accepted (RFC 3461 section 5.2.7.3 (c); RFC 3464 section 2.3.3). The
// same address named twice is reported once.
func (e *Envelope) AddExpansion(x Expansion) {
	if !x.Expanded() || !slices.Contains(x.dsn.Notify, smtp.DSNNotifySuccess) {
		return
	}
	for _, s := range e.expanded {
		if strings.EqualFold(s.Address, x.rcpt) {
			return
		}
	}
	e.expanded = append(e.expanded, Success{Address: x.rcpt, Expanded: true, DSN: x.dsn})
}

// Success is one recipient of the success notice a delivery owes its
// sender.
type Success struct {
	// Address is the Final-Recipient: the mailbox the copy was stored
	// in, or the address of an expanded alias as the RCPT named it.
	Address string
	// Expanded says the action is "expanded", else "delivered".
	Expanded bool
	// DSN holds the NOTIFY and ORCPT the notice reports with.
	DSN RecipientDSN
}

// Successes lists the recipients of the success notice d owes once
// accepted: each local mailbox whose copy is stored and whose NOTIFY has
// SUCCESS ("delivered", RFC 3461 section 5.2.3), and each alias expanded
// to several addresses whose NOTIFY had it (AddExpansion).
func (d *Delivery) Successes() []Success {
	var out []Success
	for _, r := range d.Envelope.Recipients {
		if r.Err == nil && r.Message.ID != 0 && slices.Contains(r.DSN.Notify, smtp.DSNNotifySuccess) {
			out = append(out, Success{Address: r.Account.Address, DSN: r.DSN})
		}
	}
	return append(out, d.Envelope.expanded...)
}
