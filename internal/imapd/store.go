package imapd

import (
	"fmt"
	"strings"

	"mailport/internal/imapd/wire"
	"mailport/internal/notify"
	"mailport/internal/store"
)

// cmdStore: STORE and UID STORE (RFC 9051 section 6.4.6) with
// UNCHANGEDSINCE (RFC 7162 section 3.1.3).
func (s *session) cmdStore(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.StoreArgs)
	sel := s.sel
	if sel.readOnly {
		return "", no("READ-ONLY", "mailbox is read-only")
	}
	flags, err := storeFlags(args.Flags)
	if err != nil {
		return "", err
	}
	if args.HasUnchangedSince {
		s.enableCondStore()
	}
	idx, err := s.resolveSet(args.Set, cmd.UID)
	if err != nil {
		return "", err
	}
	if len(idx) == 0 {
		return "", nil
	}
	uids := make([]uint32, len(idx))
	for i, x := range idx {
		uids[i] = sel.msgs[x].UID
	}
	op := store.FlagsSet
	switch args.Op {
	case '+':
		op = store.FlagsAdd
	case '-':
		op = store.FlagsRemove
	}

	var changed []store.Message
	var modified []uint32
	if args.HasUnchangedSince && args.UnchangedSince == 0 {
		// RFC 7162 section 3.1.3: UNCHANGEDSINCE 0 always fails for an
		// existing message (the store reads 0 as "no condition").
		modified = uids
	} else {
		changed, modified, err = s.srv.cfg.Store.UpdateFlags(s.ctx, sel.mailbox.ID, uids, op, flags, args.UnchangedSince)
		if err != nil {
			return "", fmt.Errorf("store flags: %w", err)
		}
	}
	sel.applyOwnChanges(changed)
	if len(changed) > 0 {
		s.publish(sel.mailbox.ID, notify.FlagsChanged)
	}

	failed := make(map[uint32]bool, len(modified))
	for _, u := range modified {
		failed[u] = true
	}
	wasChanged := make(map[uint32]bool, len(changed))
	for _, m := range changed {
		wasChanged[m.UID] = true
	}
	for _, x := range idx {
		m := &sel.msgs[x]
		if failed[m.UID] {
			continue
		}
		if !args.Silent {
			// RFC 9051 section 6.4.6: the new flags of each message.
			s.writeFlagsFetch(uint32(x+1), m, true, cmd.UID)
		} else if s.condstore && wasChanged[m.UID] {
			// RFC 7162 section 3.1.3: even with .SILENT the client
			// learns the new MODSEQ of what it changed.
			s.writeFlagsFetch(uint32(x+1), m, false, cmd.UID)
		}
	}
	if len(modified) > 0 {
		// RFC 7162 section 3.1.3: MODIFIED lists what failed the
		// UNCHANGEDSINCE test, as UIDs for UID STORE, else as sequence
		// numbers.
		nums := modified
		if !cmd.UID {
			nums = make([]uint32, 0, len(modified))
			for _, u := range modified {
				if i, ok := sel.index(u); ok {
					nums = append(nums, uint32(i+1))
				}
			}
		}
		return "MODIFIED " + wire.SeqSetFromNumbers(nums).String(), nil
	}
	return "", nil
}

// storeFlags checks and canonicalizes the flags of STORE and APPEND: the
// system flags of RFC 9051 section 2.3.2 in their usual case; \Recent
// cannot be set (RFC 3501 section 2.3.2) and is dropped; other
// backslash flags are refused.
func storeFlags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, f := range in {
		if strings.HasPrefix(f, `\`) {
			canon := ""
			for _, sf := range systemFlags {
				if strings.EqualFold(f, sf) {
					canon = sf
				}
			}
			if strings.EqualFold(f, `\Recent`) {
				continue
			}
			if canon == "" {
				return nil, bad("unknown system flag %s", f)
			}
			f = canon
		}
		out = append(out, f)
	}
	return out, nil
}
