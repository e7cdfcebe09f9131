package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mailport/internal/store"
)

// SearchHeaderField answers IMAP SEARCH FROM, SUBJECT, TO, CC, BCC and
// HEADER (RFC 9051 section 6.4.4) from the stored header text: the trigram
// index (or, for short needles, a scan) finds the messages whose header
// text contains the needle, and for those whose text has one line per
// field (message_text.field_lines) the field's own line is checked here.
// Messages with text of an older form are returned in unknown, for the
// caller to check against the message itself.
func (db *DB) SearchHeaderField(ctx context.Context, mailboxID int64, name, substr string) (hits, unknown []uint32, err error) {
	if !store.ValidFieldName(name) {
		return nil, nil, fmt.Errorf("sqlite: search mailbox %d: %q is not a header field name", mailboxID, name)
	}
	line := strings.ToLower(name) + ": "
	needle := strings.ToLower(substr)
	probe := needle
	if probe == "" {
		// HEADER name "": every message with the field.
		probe = line
	}
	// The field's line is checked here, which also checks the needle:
	// instr() only narrows the rows of other texts. The rows carry their
	// header text, so they are sorted here rather than by SQLite's
	// sorter, which would spill them to a temporary file.
	query, args := candidatesSQL(`m.uid, t.field_lines, t.header`, `header : `,
		`(t.field_lines OR instr(t.header, ?1) > 0)`, probe, mailboxID)
	err = db.searchEach(ctx, mailboxID, probe, query, args, func(r row) error {
		var uid int64
		var lines bool
		var header string
		if err := r.Scan(&uid, &lines, &header); err != nil {
			return err
		}
		switch {
		case !lines:
			unknown = append(unknown, uint32(uid))
		case fieldContains(header, line, needle):
			hits = append(hits, uint32(uid))
		}
		return nil
	})
	if err != nil {
		return nil, nil, wrap(err, "search header field %s in mailbox %d", name, mailboxID)
	}
	slices.Sort(hits)
	slices.Sort(unknown)
	return hits, unknown, nil
}

// fieldContains reports whether header text (lower case, one "name: value"
// line per field) has a line starting with prefix ("name: ") whose value
// contains needle.
func fieldContains(header, prefix, needle string) bool {
	for header != "" {
		l, rest, _ := strings.Cut(header, "\n")
		if v, ok := strings.CutPrefix(l, prefix); ok && strings.Contains(v, needle) {
			return true
		}
		header = rest
	}
	return false
}
