package imapd

import (
	"fmt"

	"mailport/internal/imapd/wire"
)

// cmdSort: SORT and UID SORT (RFC 5256 section 3): the messages matching
// the criteria in the order of the sort keys (sortMessages in sort.go).
func (s *session) cmdSort(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.SortArgs)
	found, ld, err := s.searchSelected(args.Search, args.Charset)
	if err != nil {
		return "", err
	}
	sorted, err := sortMessages(ld, found, args.Criteria)
	if err != nil {
		return "", fmt.Errorf("sort: %w", err)
	}
	s.w.StartUntagged()
	s.w.Atom("SORT")
	for _, m := range sorted {
		if cmd.UID {
			s.w.Number(m.UID)
		} else {
			s.w.Number(m.Seq)
		}
	}
	s.w.EndLine()
	return "", nil
}

// cmdThread: THREAD and UID THREAD (RFC 5256 section 4) with the
// REFERENCES and ORDEREDSUBJECT algorithms (writeThread in thread.go).
func (s *session) cmdThread(cmd *wire.Command) (string, error) {
	args := cmd.Args.(*wire.ThreadArgs)
	if args.Algorithm != "REFERENCES" && args.Algorithm != "ORDEREDSUBJECT" {
		return "", bad("unsupported threading algorithm %s", args.Algorithm)
	}
	found, ld, err := s.searchSelected(args.Search, args.Charset)
	if err != nil {
		return "", err
	}
	if err := writeThread(s.w, ld, found, args.Algorithm, cmd.UID); err != nil {
		return "", fmt.Errorf("thread: %w", err)
	}
	return "", nil
}
