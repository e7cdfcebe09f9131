package wire

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// Command is one parsed client command.
//
// Args holds the typed arguments; its dynamic type depends on Name:
//
//	CAPABILITY NOOP LOGOUT STARTTLS CHECK CLOSE UNSELECT NAMESPACE IDLE  nil
//	EXPUNGE             nil; UID EXPUNGE: *ExpungeArgs
//	AUTHENTICATE        *AuthenticateArgs
//	LOGIN               *LoginArgs
//	ENABLE              *EnableArgs
//	SELECT EXAMINE      *SelectArgs
//	CREATE              *CreateArgs
//	DELETE SUBSCRIBE UNSUBSCRIBE GETQUOTAROOT  *MailboxArgs
//	RENAME              *RenameArgs
//	LIST LSUB           *ListArgs
//	STATUS              *StatusArgs
//	APPEND              *AppendArgs
//	SEARCH              *SearchArgs
//	FETCH               *FetchArgs
//	STORE               *StoreArgs
//	COPY MOVE           *CopyArgs
//	SORT                *SortArgs
//	THREAD              *ThreadArgs
//	GETQUOTA            *QuotaArgs
//	SETQUOTA            *SetQuotaArgs
//	ID                  *IDArgs
//	COMPRESS            *CompressArgs
//
// Mailbox names in Args are already decoded to UTF-8 (see Reader.UTF8)
// with INBOX in upper case.
type Command struct {
	Tag  string
	Name string // upper case, without the UID prefix
	// UID is set for "UID FETCH", "UID STORE", "UID COPY", "UID MOVE",
	// "UID SEARCH", "UID EXPUNGE", "UID SORT" and "UID THREAD".
	UID  bool
	Args any
}

// AuthenticateArgs: AUTHENTICATE mechanism [initial-response]
// (RFC 9051 section 6.2.2, SASL-IR RFC 4959).
type AuthenticateArgs struct {
	Mechanism string // upper case, e.g. "PLAIN"
	// InitialResponse is the decoded SASL-IR initial response; it is nil
	// when none was sent and empty (non-nil) for "=".
	InitialResponse []byte
}

// LoginArgs: LOGIN userid password (RFC 9051 section 6.2.3).
type LoginArgs struct {
	Username string
	Password string
}

// EnableArgs: ENABLE capability... (RFC 5161, RFC 9051 section 6.3.1).
type EnableArgs struct {
	Capabilities []string // upper case
}

// SelectArgs: SELECT/EXAMINE mailbox [(params)] with the CONDSTORE and
// QRESYNC parameters of RFC 7162 sections 3.1.8 and 3.2.5.
type SelectArgs struct {
	Mailbox   string
	CondStore bool
	QResync   *QResyncArgs // nil when absent
}

// QResyncArgs is the QRESYNC select parameter:
// (QRESYNC (uidvalidity modseq [known-uids [(seq-match uid-match)]])).
type QResyncArgs struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   *SeqSet // nil when absent
	// SeqMatch and UIDMatch are the sequence-match-data, both nil when
	// absent.
	SeqMatch *SeqSet
	UIDMatch *SeqSet
}

// CreateArgs: CREATE mailbox [(USE (special-use...))] (RFC 6154 section 3).
type CreateArgs struct {
	Mailbox    string
	SpecialUse []string // e.g. `\Drafts`, as sent
}

// MailboxArgs is the argument of commands taking just a mailbox name.
type MailboxArgs struct {
	Mailbox string
}

// RenameArgs: RENAME existing new.
type RenameArgs struct {
	From, To string
}

// ListArgs: LIST (RFC 9051 section 6.3.9, LIST-EXTENDED RFC 5258,
// LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154) and LSUB (RFC 3501).
type ListArgs struct {
	Reference string
	// Patterns holds one or more patterns ("%" and "*" wildcards kept).
	Patterns []string
	// Extended is true when selection options, several patterns or RETURN
	// options were given: RFC 5258 section 3 then asks for extended
	// answers (e.g. CHILDINFO).
	Extended bool

	// Selection options (RFC 5258 section 3.1, RFC 6154 section 3).
	SelectSubscribed     bool
	SelectRemote         bool
	SelectRecursiveMatch bool
	SelectSpecialUse     bool

	// Return options (RFC 5258 section 3.2, RFC 6154, RFC 5819).
	ReturnSubscribed bool
	ReturnChildren   bool
	ReturnSpecialUse bool
	// ReturnStatus holds the STATUS items of RETURN (STATUS (...)), upper
	// case; nil when not requested.
	ReturnStatus []string
}

// StatusArgs: STATUS mailbox (items) (RFC 9051 section 6.3.11).
type StatusArgs struct {
	Mailbox string
	// Items are upper case, each one of MESSAGES UIDNEXT UIDVALIDITY
	// UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT.
	Items []string
}

// AppendArgs: APPEND mailbox message [message...] (RFC 9051 section
// 6.3.12, MULTIAPPEND RFC 3502). Message is the first message; its Body
// must be read by the session, which then calls Reader.NextAppendMessage
// for the next one until that returns nil.
type AppendArgs struct {
	Mailbox string
	Message *AppendMessage
}

// AppendMessage is one message of an APPEND command.
type AppendMessage struct {
	Flags []string  // nil when no flag list was given
	Date  time.Time // zero when no date-time was given
	// Binary is true for a literal8 "~{N}" (RFC 3516 section 4.4): the
	// content may hold NUL and is not to be content-transfer-decoded.
	Binary bool
	Size   int64
	// Body yields exactly Size bytes from the connection. It is valid
	// until the next call on the Reader.
	Body io.Reader
}

// ExpungeArgs: UID EXPUNGE sequence-set (RFC 4315 section 2.1).
type ExpungeArgs struct {
	UIDs SeqSet
}

// SearchReturn are the ESEARCH result options (RFC 4731, RFC 9051 section
// 6.4.4, SAVE from RFC 5182). "RETURN ()" means ALL.
type SearchReturn struct {
	Min, Max, All, Count, Save bool
}

// SearchArgs: SEARCH [RETURN (...)] [CHARSET x] criteria.
type SearchArgs struct {
	Return  *SearchReturn // nil without RETURN: answer with "* SEARCH"
	Charset string        // upper case as sent, "" when absent
	// Criteria is always an "AND" key whose children are the top-level
	// keys.
	Criteria *SearchKey
}

// SearchKey is one node of a search criteria tree (RFC 9051 section
// 6.4.4). Op is the upper-case key name; the fields used depend on it:
//
//	ALL ANSWERED DELETED DRAFT FLAGGED SEEN UNANSWERED UNDELETED UNDRAFT
//	UNFLAGGED UNSEEN NEW OLD RECENT                              (no argument)
//	AND                      Children (a parenthesized list or the top level)
//	OR                       Children[0], Children[1]
//	NOT                      Children[0]
//	SEQSET UID               Set (Set.Saved for "$", RFC 5182)
//	BCC BODY CC FROM SUBJECT TEXT TO   Value
//	KEYWORD UNKEYWORD        Value (the flag)
//	HEADER                   Field, Value
//	BEFORE ON SINCE SENTBEFORE SENTON SENTSINCE   Date (midnight UTC of the day)
//	LARGER SMALLER           Number (octets)
//	OLDER YOUNGER            Number (seconds, RFC 5032)
//	MODSEQ                   Number; Field/Value hold the optional entry
//	                         name and type (RFC 7162 section 3.1.5)
type SearchKey struct {
	Op       string
	Children []*SearchKey
	Set      SeqSet
	Field    string
	Value    string
	Date     time.Time
	Number   uint64
}

// FetchItem is one item of a FETCH request (RFC 9051 section 6.4.5). Name
// is upper case: FLAGS INTERNALDATE RFC822.SIZE RFC822 RFC822.HEADER
// RFC822.TEXT ENVELOPE BODY BODYSTRUCTURE UID MODSEQ BINARY BINARY.SIZE.
// The macros ALL, FAST and FULL are expanded by the parser.
//
// Name "BODY" with a nil Section is the non-extensible BODYSTRUCTURE;
// with a Section it is BODY[section]<partial>. BINARY and BINARY.SIZE
// always have a Section (part numbers only, RFC 3516).
type FetchItem struct {
	Name    string
	Peek    bool     // BODY.PEEK / BINARY.PEEK: do not set \Seen
	Section *Section // nil unless a section was given
	Partial *Partial // nil unless <offset.count> was given
}

// ResponseName is the item name as it appears in the FETCH response: no
// .PEEK, and only the origin of a partial (RFC 9051 section 7.5.2,
// "BODY[<section>]<<origin octet>>").
func (it FetchItem) ResponseName() string {
	if it.Section == nil {
		return it.Name
	}
	s := it.Name + "[" + it.Section.String() + "]"
	if it.Partial != nil && it.Name != "BINARY.SIZE" {
		s += "<" + strconv.FormatUint(uint64(it.Partial.Offset), 10) + ">"
	}
	return s
}

// Section is a body section specification (RFC 9051 section 6.4.5).
type Section struct {
	Part []int // part numbers, e.g. 1.2 is []int{1, 2}; empty for the whole message
	// Specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	// "TEXT" or "MIME" ("MIME" only after part numbers).
	Specifier string
	// Fields are the header field names of HEADER.FIELDS[.NOT], as sent
	// (compare case-insensitively).
	Fields []string
}

// String formats the section spec as it goes between the brackets.
func (s *Section) String() string {
	var b strings.Builder
	for i, p := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Specifier)
	}
	if len(s.Fields) > 0 {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(formatAString(f))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Partial is <offset.count> (count is non-zero).
type Partial struct {
	Offset uint32
	Count  uint32
}

// FetchArgs: FETCH sequence-set items [(modifiers)].
type FetchArgs struct {
	Set   SeqSet
	Items []FetchItem
	// ChangedSince is the CHANGEDSINCE modifier (RFC 7162 section 3.1.4);
	// HasChangedSince tells whether it was given.
	ChangedSince    uint64
	HasChangedSince bool
	// Vanished is the VANISHED modifier of UID FETCH (RFC 7162 section
	// 3.2.6); the parser refuses it without CHANGEDSINCE or without UID.
	Vanished bool
}

// StoreArgs: STORE sequence-set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT]
// flags (RFC 9051 section 6.4.6, RFC 7162 section 3.1.3).
type StoreArgs struct {
	Set SeqSet
	// Op is '+' (add), '-' (remove) or 0 (replace).
	Op     byte
	Silent bool
	Flags  []string
	// UnchangedSince is the UNCHANGEDSINCE modifier, valid when
	// HasUnchangedSince.
	UnchangedSince    uint64
	HasUnchangedSince bool
}

// CopyArgs: COPY/MOVE sequence-set mailbox (RFC 9051 sections 6.4.7,
// 6.4.8).
type CopyArgs struct {
	Set     SeqSet
	Mailbox string
}

// SortCriterion is one sort key of SORT (RFC 5256 section 3): Key is
// ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM or DISPLAYTO (RFC
// 5957).
type SortCriterion struct {
	Key     string
	Reverse bool
}

// SortArgs: SORT (criteria) charset search-criteria.
type SortArgs struct {
	Criteria []SortCriterion
	Charset  string
	Search   *SearchKey // an "AND" key, as SearchArgs.Criteria
}

// ThreadArgs: THREAD algorithm charset search-criteria (RFC 5256).
type ThreadArgs struct {
	Algorithm string // upper case: REFERENCES or ORDEREDSUBJECT
	Charset   string
	Search    *SearchKey
}

// QuotaArgs: GETQUOTA quota-root (RFC 9208 section 4.2).
type QuotaArgs struct {
	Root string
}

// QuotaLimit is one resource limit of SETQUOTA.
type QuotaLimit struct {
	Resource string // upper case, e.g. STORAGE
	Limit    uint64
}

// SetQuotaArgs: SETQUOTA quota-root (resource limit ...) (RFC 9208
// section 4.4).
type SetQuotaArgs struct {
	Root   string
	Limits []QuotaLimit
}

// IDParam is one field of an ID command (RFC 2971 section 3.3).
type IDParam struct {
	Key   string
	Value string
	Nil   bool // the value was NIL
}

// IDArgs: ID NIL or ID (key value ...). Params is nil for NIL.
type IDArgs struct {
	Params []IDParam
}

// CompressArgs: COMPRESS mechanism (RFC 4978).
type CompressArgs struct {
	Mechanism string // upper case, e.g. DEFLATE
}
