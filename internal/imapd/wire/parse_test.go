package wire

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newTestReader(s string) *Reader {
	return NewReader(bufio.NewReader(strings.NewReader(s)))
}

func set(ranges ...uint32) SeqSet {
	var s SeqSet
	for i := 0; i+1 < len(ranges); i += 2 {
		s.Ranges = append(s.Ranges, SeqRange{ranges[i], ranges[i+1]})
	}
	return s
}

func setp(ranges ...uint32) *SeqSet { s := set(ranges...); return &s }

func and(keys ...*SearchKey) *SearchKey { return &SearchKey{Op: "AND", Children: keys} }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestReadCommand(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Command
	}{
		{"capability", "a1 CAPABILITY\r\n", &Command{Tag: "a1", Name: "CAPABILITY"}},
		{"lower case name", "a noop\r\n", &Command{Tag: "a", Name: "NOOP"}},
		{"logout", "x.1 LOGOUT\r\n", &Command{Tag: "x.1", Name: "LOGOUT"}},
		{"starttls", "t STARTTLS\r\n", &Command{Tag: "t", Name: "STARTTLS"}},
		{"idle", "t IDLE\r\n", &Command{Tag: "t", Name: "IDLE"}},
		{"check close unselect", "t UNSELECT\r\n", &Command{Tag: "t", Name: "UNSELECT"}},
		{"namespace", "t NAMESPACE\r\n", &Command{Tag: "t", Name: "NAMESPACE"}},
		{"expunge", "t EXPUNGE\r\n", &Command{Tag: "t", Name: "EXPUNGE"}},
		{"uid expunge", "t UID EXPUNGE 3000:3002,3005\r\n",
			&Command{Tag: "t", Name: "EXPUNGE", UID: true, Args: &ExpungeArgs{UIDs: set(3000, 3002, 3005, 3005)}}},
		{"authenticate", "a AUTHENTICATE plain\r\n",
			&Command{Tag: "a", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN"}}},
		{"authenticate sasl-ir", "a AUTHENTICATE PLAIN AGZvbwBiYXI=\r\n",
			&Command{Tag: "a", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN", InitialResponse: []byte("\x00foo\x00bar")}}},
		{"authenticate empty ir", "a AUTHENTICATE EXTERNAL =\r\n",
			&Command{Tag: "a", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "EXTERNAL", InitialResponse: []byte{}}}},
		{"login atoms", "a LOGIN joe secret\r\n",
			&Command{Tag: "a", Name: "LOGIN", Args: &LoginArgs{Username: "joe", Password: "secret"}}},
		{"login quoted escapes", `a LOGIN "joe@example.com" "se\"c\\ret"` + "\r\n",
			&Command{Tag: "a", Name: "LOGIN", Args: &LoginArgs{Username: "joe@example.com", Password: `se"c\ret`}}},
		{"login literal+", "a LOGIN {3+}\r\njoe {4+}\r\np w\"\r\n",
			&Command{Tag: "a", Name: "LOGIN", Args: &LoginArgs{Username: "joe", Password: "p w\""}}},
		{"enable", "e ENABLE condstore QRESYNC\r\n",
			&Command{Tag: "e", Name: "ENABLE", Args: &EnableArgs{Capabilities: []string{"CONDSTORE", "QRESYNC"}}}},
		{"select inbox any case", "s select inBox\r\n",
			&Command{Tag: "s", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX"}}},
		{"examine condstore", "s EXAMINE Archive (CONDSTORE)\r\n",
			&Command{Tag: "s", Name: "EXAMINE", Args: &SelectArgs{Mailbox: "Archive", CondStore: true}}},
		{"select qresync minimal", "s SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n",
			&Command{Tag: "s", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX",
				QResync: &QResyncArgs{UIDValidity: 67890007, ModSeq: 20050715194045000}}}},
		// RFC 7162 section 3.2.5.2 example.
		{"select qresync full", "A02 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541) CONDSTORE)\r\n",
			&Command{Tag: "A02", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX", CondStore: true,
				QResync: &QResyncArgs{UIDValidity: 67890007, ModSeq: 90060115194045000, KnownUIDs: setp(41, 211, 214, 541)}}}},
		{"select qresync seq match", "B02 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979:29997)))\r\n",
			&Command{Tag: "B02", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX",
				QResync: &QResyncArgs{UIDValidity: 67890007, ModSeq: 90060115194045000, KnownUIDs: setp(1, 29997),
					SeqMatch: setp(5000, 5000, 7500, 7500, 9000, 9000, 9990, 9999),
					UIDMatch: setp(15000, 15000, 22500, 22500, 27000, 27000, 29970, 29970, 29973, 29973, 29976, 29976, 29979, 29997)}}}},
		{"create", "c CREATE Work/Projects\r\n",
			&Command{Tag: "c", Name: "CREATE", Args: &CreateArgs{Mailbox: "Work/Projects"}}},
		{"create special-use", `c CREATE MyDrafts (USE (\Drafts \Sent))` + "\r\n",
			&Command{Tag: "c", Name: "CREATE", Args: &CreateArgs{Mailbox: "MyDrafts", SpecialUse: []string{`\Drafts`, `\Sent`}}}},
		{"create mutf7", "c CREATE &ZeVnLIqe-\r\n",
			&Command{Tag: "c", Name: "CREATE", Args: &CreateArgs{Mailbox: "日本語"}}},
		{"delete", "d DELETE foo\r\n", &Command{Tag: "d", Name: "DELETE", Args: &MailboxArgs{Mailbox: "foo"}}},
		{"subscribe", "d SUBSCRIBE \"a b\"\r\n", &Command{Tag: "d", Name: "SUBSCRIBE", Args: &MailboxArgs{Mailbox: "a b"}}},
		{"unsubscribe", "d UNSUBSCRIBE x\r\n", &Command{Tag: "d", Name: "UNSUBSCRIBE", Args: &MailboxArgs{Mailbox: "x"}}},
		{"getquotaroot", "q GETQUOTAROOT INBOX\r\n", &Command{Tag: "q", Name: "GETQUOTAROOT", Args: &MailboxArgs{Mailbox: "INBOX"}}},
		{"rename", "r RENAME old new\r\n", &Command{Tag: "r", Name: "RENAME", Args: &RenameArgs{From: "old", To: "new"}}},
		{"list basic", "l LIST \"\" %\r\n",
			&Command{Tag: "l", Name: "LIST", Args: &ListArgs{Patterns: []string{"%"}}}},
		{"list wildcard atom", "l LIST ~/Mail/ foo/*\r\n",
			&Command{Tag: "l", Name: "LIST", Args: &ListArgs{Reference: "~/Mail/", Patterns: []string{"foo/*"}}}},
		// RFC 5258 section 5 example shapes.
		{"list extended", "A01 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"Other/*\") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n",
			&Command{Tag: "A01", Name: "LIST", Args: &ListArgs{Patterns: []string{"%", "Other/*"}, Extended: true,
				SelectSubscribed: true, SelectRecursiveMatch: true, ReturnChildren: true, ReturnSpecialUse: true,
				ReturnStatus: []string{"MESSAGES", "UNSEEN"}}}},
		{"list return only", "A LIST \"\" \"*\" RETURN (SUBSCRIBED)\r\n",
			&Command{Tag: "A", Name: "LIST", Args: &ListArgs{Patterns: []string{"*"}, Extended: true, ReturnSubscribed: true}}},
		{"list empty selection", "A LIST () \"\" *\r\n",
			&Command{Tag: "A", Name: "LIST", Args: &ListArgs{Patterns: []string{"*"}, Extended: true}}},
		{"lsub", "l LSUB \"\" *\r\n",
			&Command{Tag: "l", Name: "LSUB", Args: &ListArgs{Patterns: []string{"*"}, SelectSubscribed: true}}},
		{"status", "s STATUS blurdybloop (UIDNEXT MESSAGES size highestmodseq APPENDLIMIT)\r\n",
			&Command{Tag: "s", Name: "STATUS", Args: &StatusArgs{Mailbox: "blurdybloop",
				Items: []string{"UIDNEXT", "MESSAGES", "SIZE", "HIGHESTMODSEQ", "APPENDLIMIT"}}}},
		{"search simple", "s SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
			&Command{Tag: "s", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
				&SearchKey{Op: "FLAGGED"},
				&SearchKey{Op: "SINCE", Date: day(1994, 2, 1)},
				&SearchKey{Op: "NOT", Children: []*SearchKey{{Op: "FROM", Value: "Smith"}}})}}},
		{"search charset literal", "s SEARCH CHARSET utf-8 TEXT {6+}\r\nXXXXXX\r\n",
			&Command{Tag: "s", Name: "SEARCH", Args: &SearchArgs{Charset: "UTF-8", Criteria: and(
				&SearchKey{Op: "TEXT", Value: "XXXXXX"})}}},
		{"search or nested", "s UID SEARCH OR (SEEN 1:5) (UNSEEN UID 3,*) DELETED\r\n",
			&Command{Tag: "s", Name: "SEARCH", UID: true, Args: &SearchArgs{Criteria: and(
				&SearchKey{Op: "OR", Children: []*SearchKey{
					and(&SearchKey{Op: "SEEN"}, &SearchKey{Op: "SEQSET", Set: set(1, 5)}),
					and(&SearchKey{Op: "UNSEEN"}, &SearchKey{Op: "UID", Set: set(3, 3, Star, Star)})}},
				&SearchKey{Op: "DELETED"})}}},
		{"search return esearch", "s SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 UNDELETED $ KEYWORD $Forwarded\r\n",
			&Command{Tag: "s", Name: "SEARCH", Args: &SearchArgs{Return: &SearchReturn{Min: true, Count: true, Save: true},
				Charset: "UTF-8", Criteria: and(&SearchKey{Op: "UNDELETED"}, &SearchKey{Op: "SEQSET", Set: SeqSet{Saved: true}},
					&SearchKey{Op: "KEYWORD", Value: "$Forwarded"})}}},
		{"search return empty means all", "s SEARCH RETURN () ALL\r\n",
			&Command{Tag: "s", Name: "SEARCH", Args: &SearchArgs{Return: &SearchReturn{All: true}, Criteria: and(&SearchKey{Op: "ALL"})}}},
		{"search every key", "s SEARCH ANSWERED BCC b BEFORE \"2-Jan-2020\" BODY x CC c DELETED DRAFT FROM f HEADER X-Spam yes " +
			"LARGER 100 NEW OLD ON 3-Mar-2021 RECENT SEEN SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 " +
			"SINCE 1-Jan-2000 SMALLER 5 SUBJECT s TEXT t TO o UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD k UNSEEN " +
			"OLDER 60 YOUNGER 30 MODSEQ \"/flags/\\\\draft\" all 620162338 MODSEQ 5\r\n",
			&Command{Tag: "s", Name: "SEARCH", Args: &SearchArgs{Criteria: and(
				&SearchKey{Op: "ANSWERED"}, &SearchKey{Op: "BCC", Value: "b"}, &SearchKey{Op: "BEFORE", Date: day(2020, 1, 2)},
				&SearchKey{Op: "BODY", Value: "x"}, &SearchKey{Op: "CC", Value: "c"}, &SearchKey{Op: "DELETED"}, &SearchKey{Op: "DRAFT"},
				&SearchKey{Op: "FROM", Value: "f"}, &SearchKey{Op: "HEADER", Field: "X-Spam", Value: "yes"},
				&SearchKey{Op: "LARGER", Number: 100}, &SearchKey{Op: "NEW"}, &SearchKey{Op: "OLD"},
				&SearchKey{Op: "ON", Date: day(2021, 3, 3)}, &SearchKey{Op: "RECENT"}, &SearchKey{Op: "SEEN"},
				&SearchKey{Op: "SENTBEFORE", Date: day(2000, 1, 1)}, &SearchKey{Op: "SENTON", Date: day(2000, 1, 1)},
				&SearchKey{Op: "SENTSINCE", Date: day(2000, 1, 1)}, &SearchKey{Op: "SINCE", Date: day(2000, 1, 1)},
				&SearchKey{Op: "SMALLER", Number: 5}, &SearchKey{Op: "SUBJECT", Value: "s"}, &SearchKey{Op: "TEXT", Value: "t"},
				&SearchKey{Op: "TO", Value: "o"}, &SearchKey{Op: "UNANSWERED"}, &SearchKey{Op: "UNDELETED"},
				&SearchKey{Op: "UNDRAFT"}, &SearchKey{Op: "UNFLAGGED"}, &SearchKey{Op: "UNKEYWORD", Value: "k"},
				&SearchKey{Op: "UNSEEN"}, &SearchKey{Op: "OLDER", Number: 60}, &SearchKey{Op: "YOUNGER", Number: 30},
				&SearchKey{Op: "MODSEQ", Field: `/flags/\draft`, Value: "ALL", Number: 620162338},
				&SearchKey{Op: "MODSEQ", Number: 5})}}},
		{"fetch macro all", "f FETCH 1:* ALL\r\n",
			&Command{Tag: "f", Name: "FETCH", Args: &FetchArgs{Set: set(1, Star), Items: []FetchItem{
				{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}, {Name: "ENVELOPE"}}}}},
		{"fetch macro full", "f FETCH 2 full\r\n",
			&Command{Tag: "f", Name: "FETCH", Args: &FetchArgs{Set: set(2, 2), Items: []FetchItem{
				{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}, {Name: "ENVELOPE"}, {Name: "BODY"}}}}},
		{"fetch macro fast", "f FETCH 2 FAST\r\n",
			&Command{Tag: "f", Name: "FETCH", Args: &FetchArgs{Set: set(2, 2), Items: []FetchItem{
				{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}}}}},
		{"fetch single", "f FETCH 1 body[]\r\n",
			&Command{Tag: "f", Name: "FETCH", Args: &FetchArgs{Set: set(1, 1), Items: []FetchItem{{Name: "BODY", Section: &Section{}}}}}},
		{"fetch sections", "f UID FETCH 4827313:4828442 (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)] BODY[1.2.MIME] BODY[TEXT]<0.2048> " +
			"BINARY.PEEK[1]<10.20> BINARY.SIZE[2] BINARY[] RFC822 RFC822.HEADER RFC822.TEXT ENVELOPE BODY BODYSTRUCTURE UID MODSEQ " +
			"INTERNALDATE RFC822.SIZE BODY[3.HEADER.FIELDS.NOT (X-Priority)] BODY[4.TEXT] BODY[2.HEADER])\r\n",
			&Command{Tag: "f", Name: "FETCH", UID: true, Args: &FetchArgs{Set: set(4827313, 4828442), Items: []FetchItem{
				{Name: "FLAGS"},
				{Name: "BODY", Peek: true, Section: &Section{Specifier: "HEADER.FIELDS", Fields: []string{"DATE", "FROM"}}},
				{Name: "BODY", Section: &Section{Part: []int{1, 2}, Specifier: "MIME"}},
				{Name: "BODY", Section: &Section{Specifier: "TEXT"}, Partial: &Partial{Offset: 0, Count: 2048}},
				{Name: "BINARY", Peek: true, Section: &Section{Part: []int{1}}, Partial: &Partial{Offset: 10, Count: 20}},
				{Name: "BINARY.SIZE", Section: &Section{Part: []int{2}}},
				{Name: "BINARY", Section: &Section{}},
				{Name: "RFC822"}, {Name: "RFC822.HEADER"}, {Name: "RFC822.TEXT"}, {Name: "ENVELOPE"}, {Name: "BODY"},
				{Name: "BODYSTRUCTURE"}, {Name: "UID"}, {Name: "MODSEQ"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"},
				{Name: "BODY", Section: &Section{Part: []int{3}, Specifier: "HEADER.FIELDS.NOT", Fields: []string{"X-Priority"}}},
				{Name: "BODY", Section: &Section{Part: []int{4}, Specifier: "TEXT"}},
				{Name: "BODY", Section: &Section{Part: []int{2}, Specifier: "HEADER"}},
			}}}},
		{"fetch changedsince vanished", "f UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
			&Command{Tag: "f", Name: "FETCH", UID: true, Args: &FetchArgs{Set: set(300, 500), Items: []FetchItem{{Name: "FLAGS"}},
				ChangedSince: 12345, HasChangedSince: true, Vanished: true}}},
		{"fetch saved", "f FETCH $ UID\r\n",
			&Command{Tag: "f", Name: "FETCH", Args: &FetchArgs{Set: SeqSet{Saved: true}, Items: []FetchItem{{Name: "UID"}}}}},
		{"store", `s STORE 2:4 +FLAGS (\Deleted)` + "\r\n",
			&Command{Tag: "s", Name: "STORE", Args: &StoreArgs{Set: set(2, 4), Op: '+', Flags: []string{`\Deleted`}}}},
		{"store silent no parens", `s UID STORE 1 -flags.silent \seen $Junk` + "\r\n",
			&Command{Tag: "s", Name: "STORE", UID: true, Args: &StoreArgs{Set: set(1, 1), Op: '-', Silent: true, Flags: []string{`\Seen`, "$Junk"}}}},
		{"store unchangedsince empty", "s STORE 7,5,9 (UNCHANGEDSINCE 320162338) FLAGS ()\r\n",
			&Command{Tag: "s", Name: "STORE", Args: &StoreArgs{Set: set(7, 7, 5, 5, 9, 9), Flags: []string{},
				UnchangedSince: 320162338, HasUnchangedSince: true}}},
		{"copy", "c COPY 2:4 MEETING\r\n", &Command{Tag: "c", Name: "COPY", Args: &CopyArgs{Set: set(2, 4), Mailbox: "MEETING"}}},
		{"uid move", "c UID MOVE 42 \"Stra&AN8-e\"\r\n",
			&Command{Tag: "c", Name: "MOVE", UID: true, Args: &CopyArgs{Set: set(42, 42), Mailbox: "Straße"}}},
		{"sort", "s UID SORT (REVERSE ARRIVAL subject Displayfrom) UTF-8 SINCE 1-Feb-1994\r\n",
			&Command{Tag: "s", Name: "SORT", UID: true, Args: &SortArgs{Criteria: []SortCriterion{{"ARRIVAL", true}, {"SUBJECT", false}, {"DISPLAYFROM", false}},
				Charset: "UTF-8", Search: and(&SearchKey{Op: "SINCE", Date: day(1994, 2, 1)})}}},
		{"thread", "t THREAD REFERENCES US-ASCII ALL\r\n",
			&Command{Tag: "t", Name: "THREAD", Args: &ThreadArgs{Algorithm: "REFERENCES", Charset: "US-ASCII", Search: and(&SearchKey{Op: "ALL"})}}},
		{"uid thread", "t UID THREAD orderedsubject UTF-8 SEEN UNDELETED\r\n",
			&Command{Tag: "t", Name: "THREAD", UID: true, Args: &ThreadArgs{Algorithm: "ORDEREDSUBJECT", Charset: "UTF-8",
				Search: and(&SearchKey{Op: "SEEN"}, &SearchKey{Op: "UNDELETED"})}}},
		{"getquota", "g GETQUOTA \"\"\r\n", &Command{Tag: "g", Name: "GETQUOTA", Args: &QuotaArgs{Root: ""}}},
		{"setquota", "g SETQUOTA \"\" (STORAGE 512 message 100)\r\n",
			&Command{Tag: "g", Name: "SETQUOTA", Args: &SetQuotaArgs{Limits: []QuotaLimit{{"STORAGE", 512}, {"MESSAGE", 100}}}}},
		{"id nil", "i ID NIL\r\n", &Command{Tag: "i", Name: "ID", Args: &IDArgs{}}},
		{"id params", "i ID (\"name\" \"sodr\" \"version\" NIL)\r\n",
			&Command{Tag: "i", Name: "ID", Args: &IDArgs{Params: []IDParam{{Key: "name", Value: "sodr"}, {Key: "version", Nil: true}}}}},
		{"compress", "z COMPRESS deflate\r\n", &Command{Tag: "z", Name: "COMPRESS", Args: &CompressArgs{Mechanism: "DEFLATE"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestReader(tc.in + "next NOOP\r\n")
			got, err := r.ReadCommand()
			if err != nil {
				t.Fatalf("ReadCommand(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReadCommand(%q)\n got  %#v\n want %#v", tc.in, got.Args, tc.want.Args)
			}
			next, err := r.ReadCommand()
			if err != nil || next.Tag != "next" || next.Name != "NOOP" {
				t.Errorf("command after %q: %+v, %v", tc.in, next, err)
			}
		})
	}
}

func TestReadCommandBad(t *testing.T) {
	tests := []struct {
		name, in string
		tag      string
		status   string
		code     string
		fatal    bool
	}{
		{"empty line", "\r\n", "", "BAD", "", false},
		{"no command", "a1\r\n", "", "BAD", "", false},
		{"no command after space", "a1 \r\n", "a1", "BAD", "", false},
		{"unknown", "a1 FROB x y\r\n", "a1", "BAD", "", false},
		{"unknown uid", "a1 UID LIST x\r\n", "a1", "BAD", "", false},
		{"plus in tag", "a+ NOOP\r\n", "", "BAD", "", false},
		{"trailing junk", "a NOOP extra\r\n", "a", "BAD", "", false},
		{"bare LF", "a NOOP\n", "a", "BAD", "", false},
		{"login missing password", "a LOGIN joe\r\n", "a", "BAD", "", false},
		{"unterminated quote", "a LOGIN \"joe\r\n", "a", "BAD", "", false},
		{"bad escape", "a LOGIN \"j\\oe\" x\r\n", "a", "BAD", "", false},
		{"bad mutf7", "a SELECT &Jjo\r\n", "a", "BAD", "", false},
		{"8-bit mailbox without utf8", "a SELECT \"Stra\xc3\x9fe\"\r\n", "a", "BAD", "", false},
		{"unknown select param", "a SELECT INBOX (FOO)\r\n", "a", "BAD", "", false},
		{"qresync missing modseq", "a SELECT INBOX (QRESYNC (1))\r\n", "a", "BAD", "", false},
		{"unknown status item", "a STATUS INBOX (MESSAGES BOGUS)\r\n", "a", "BAD", "", false},
		{"empty status list", "a STATUS INBOX ()\r\n", "a", "BAD", "", false},
		{"list bad selection", "a LIST (BOGUS) \"\" *\r\n", "a", "BAD", "", false},
		{"recursivematch alone", "a LIST (RECURSIVEMATCH) \"\" *\r\n", "a", "BAD", "", false},
		{"list bad return", "a LIST \"\" * RETURN (BOGUS)\r\n", "a", "BAD", "", false},
		{"search unknown key", "a SEARCH FOO\r\n", "a", "BAD", "", false},
		{"search bad date", "a SEARCH SINCE 31-Foo-2020\r\n", "a", "BAD", "", false},
		{"search unbalanced", "a SEARCH (SEEN\r\n", "a", "BAD", "", false},
		{"search or one arg", "a SEARCH OR SEEN\r\n", "a", "BAD", "", false},
		{"search bad return", "a SEARCH RETURN (BOGUS) ALL\r\n", "a", "BAD", "", false},
		{"search zero seq", "a SEARCH 0:4\r\n", "a", "BAD", "", false},
		{"search empty", "a SEARCH\r\n", "a", "BAD", "", false},
		{"search too deep", "a SEARCH " + strings.Repeat("NOT ", 40) + "SEEN\r\n", "a", "BAD", "", false},
		{"search parens too deep", "a SEARCH " + strings.Repeat("(", 40) + "SEEN" + strings.Repeat(")", 40) + "\r\n", "a", "BAD", "", false},
		{"fetch unknown item", "a FETCH 1 (FLAGS BOGUS)\r\n", "a", "BAD", "", false},
		{"fetch macro in list", "a FETCH 1 (ALL)\r\n", "a", "BAD", "", false},
		{"fetch bad section", "a FETCH 1 BODY[FOO]\r\n", "a", "BAD", "", false},
		{"fetch mime no part", "a FETCH 1 BODY[MIME]\r\n", "a", "BAD", "", false},
		{"fetch binary header", "a FETCH 1 BINARY[1.HEADER]\r\n", "a", "BAD", "", false},
		{"fetch zero count partial", "a FETCH 1 BODY[]<0.0>\r\n", "a", "BAD", "", false},
		{"fetch trailing dot", "a FETCH 1 BODY[1.]\r\n", "a", "BAD", "", false},
		{"fetch peek without section", "a FETCH 1 BODY.PEEK\r\n", "a", "BAD", "", false},
		{"vanished without uid", "a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n", "a", "BAD", "", false},
		{"vanished without changedsince", "a UID FETCH 1:* (FLAGS) (VANISHED)\r\n", "a", "BAD", "", false},
		{"store bad item", "a STORE 1 +FLAG (\\Seen)\r\n", "a", "BAD", "", false},
		{"sort bad key", "a SORT (WEIRD) UTF-8 ALL\r\n", "a", "BAD", "", false},
		{"sort no charset", "a SORT (DATE) ALL\r\n", "a", "BAD", "", false},
		{"thread bad algorithm", "a THREAD FOO UTF-8 ALL\r\n", "a", "BAD", "", false},
		{"id too many", "a ID (" + strings.Repeat("\"k\" \"v\" ", 31) + ")\r\n", "a", "BAD", "", false},
		{"literal with NUL", "a LOGIN {3+}\r\na\x00b x\r\n", "a", "BAD", "", false},
		{"number overflow", "a FETCH 4294967296 FLAGS\r\n", "a", "BAD", "", false},
		{"bad base64 ir", "a AUTHENTICATE PLAIN ###\r\n", "a", "BAD", "", false},
		{"literal minus skipped later", "a LOGIN joe bad\"quote {3+}\r\nabc\r\n", "a", "BAD", "", false},
		{"huge non-sync literal", "a LOGIN {99999999999+}\r\n", "a", "BAD", "TOOBIG", true},
		{"line too long", "a NOOP " + strings.Repeat("x", DefaultMaxLineLength) + "\r\n", "a", "BAD", "TOOBIG", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestReader(tc.in + "next NOOP\r\n")
			cmd, err := r.ReadCommand()
			pe, ok := AsParseError(err)
			if !ok {
				t.Fatalf("ReadCommand(%q) = %+v, %v; want *ParseError", tc.in, cmd, err)
			}
			if pe.Tag != tc.tag || pe.Status != tc.status || pe.Code != tc.code || pe.Fatal != tc.fatal {
				t.Errorf("ReadCommand(%q) error = %+v; want tag %q status %s code %q fatal %v", tc.in, pe, tc.tag, tc.status, tc.code, tc.fatal)
			}
			if pe.Msg == "" {
				t.Errorf("error without message")
			}
			next, err := r.ReadCommand()
			if tc.fatal {
				if err == nil {
					t.Errorf("reader usable after fatal error: %+v", next)
				}
				return
			}
			if err != nil || next.Tag != "next" || next.Name != "NOOP" {
				t.Errorf("recovery after %q: %+v, %v", tc.in, next, err)
			}
		})
	}
}

func TestReadCommandUTF8Mailbox(t *testing.T) {
	r := newTestReader("a SELECT \"Stra\xc3\x9fe\"\r\nb CREATE \"&ZeVnLIqe-\"\r\nc SELECT \"\xff\"\r\n")
	r.UTF8 = true
	cmd, err := r.ReadCommand()
	if err != nil || cmd.Args.(*SelectArgs).Mailbox != "Straße" {
		t.Fatalf("UTF-8 SELECT: %+v, %v", cmd, err)
	}
	// With UTF-8 enabled, "&" is an ordinary character (RFC 6855 section 3).
	cmd, err = r.ReadCommand()
	if err != nil || cmd.Args.(*CreateArgs).Mailbox != "&ZeVnLIqe-" {
		t.Fatalf("UTF-8 CREATE: %+v, %v", cmd, err)
	}
	if _, err := r.ReadCommand(); err == nil {
		t.Fatal("invalid UTF-8 mailbox accepted")
	}
}

func TestReadCommandEOF(t *testing.T) {
	r := newTestReader("")
	if _, err := r.ReadCommand(); !errors.Is(err, io.EOF) {
		t.Errorf("empty input: %v, want io.EOF", err)
	}
	r = newTestReader("a NOO")
	_, err := r.ReadCommand()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated command: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, ok := AsParseError(err); ok {
		t.Errorf("I/O error reported as parse error")
	}
}

func TestIdleAndSASL(t *testing.T) {
	r := newTestReader("a IDLE\r\ndone\r\nb IDLE\r\nNOPE\r\nc AUTHENTICATE PLAIN\r\nAGEAYg==\r\n*\r\n=\r\n!!\r\n")
	if cmd, err := r.ReadCommand(); err != nil || cmd.Name != "IDLE" {
		t.Fatalf("IDLE: %v %v", cmd, err)
	}
	if err := r.ReadIdleDone(); err != nil {
		t.Errorf("DONE (lower case): %v", err)
	}
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadIdleDone(); err == nil {
		t.Errorf("NOPE accepted as DONE")
	}
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	b, err := r.ReadSASLResponse()
	if err != nil || string(b) != "\x00a\x00b" {
		t.Errorf("SASL response: %q %v", b, err)
	}
	if _, err := r.ReadSASLResponse(); !errors.Is(err, ErrSASLCancel) {
		t.Errorf("cancel: %v", err)
	}
	if b, err := r.ReadSASLResponse(); err != nil || b == nil || len(b) != 0 {
		t.Errorf("empty response: %q %v", b, err)
	}
	if _, err := r.ReadSASLResponse(); err == nil {
		t.Errorf("invalid base64 accepted")
	}
}

func TestFetchItemResponseName(t *testing.T) {
	tests := []struct {
		in   FetchItem
		want string
	}{
		{FetchItem{Name: "FLAGS"}, "FLAGS"},
		{FetchItem{Name: "BODY", Peek: true, Section: &Section{}}, "BODY[]"},
		{FetchItem{Name: "BODY", Section: &Section{Specifier: "TEXT"}, Partial: &Partial{Offset: 100, Count: 50}}, "BODY[TEXT]<100>"},
		{FetchItem{Name: "BODY", Section: &Section{Part: []int{1, 2}, Specifier: "HEADER.FIELDS", Fields: []string{"From", "X Y"}}}, `BODY[1.2.HEADER.FIELDS (From "X Y")]`},
		{FetchItem{Name: "BINARY.SIZE", Section: &Section{Part: []int{3}}}, "BINARY.SIZE[3]"},
		{FetchItem{Name: "BODY", Section: &Section{Part: []int{4}, Specifier: "MIME"}}, "BODY[4.MIME]"},
	}
	for _, tc := range tests {
		if got := tc.in.ResponseName(); got != tc.want {
			t.Errorf("ResponseName() = %q, want %q", got, tc.want)
		}
	}
}

func TestDates(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"a SEARCH SINCE 1-feb-1994\r\n", day(1994, 2, 1)},
		{"a SEARCH BEFORE 01-FEB-1994\r\n", day(1994, 2, 1)},
		{"a SEARCH ON \"28-Dec-2023\"\r\n", day(2023, 12, 28)},
	}
	for _, tc := range tests {
		cmd, err := newTestReader(tc.in).ReadCommand()
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := cmd.Args.(*SearchArgs).Criteria.Children[0].Date; !got.Equal(tc.want) {
			t.Errorf("%q: date %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{"7-Feb-1994 21:52:25 -0800", "07-Feb-1994 21:52:25 -0800", " 7-feb-1994 21:52:25 +0000"} {
		if _, err := parseDateTime(in); err != nil {
			t.Errorf("parseDateTime(%q): %v", in, err)
		}
	}
	for _, in := range []string{"7-Feb-1994", "32-Feb-1994 21:52:25 -0800", "7-Feb-1994 25:00:00 -0800"} {
		if _, err := parseDateTime(in); err == nil {
			t.Errorf("parseDateTime(%q) accepted", in)
		}
	}
}

func TestMaxNestingAndErrorText(t *testing.T) {
	r := newTestReader("a CREATE x (USE (\\Drafts))\r\nb NOOP\r\n")
	r.MaxNesting = 1
	_, err := r.ReadCommand()
	pe, ok := AsParseError(err)
	if !ok || pe.Fatal || pe.Tag != "a" || pe.Command != "CREATE" {
		t.Fatalf("nesting beyond MaxNesting: %v", err)
	}
	if got := pe.Error(); !strings.Contains(got, "CREATE") || !strings.Contains(got, "nested") {
		t.Errorf("Error() = %q", got)
	}
	if cmd, err := r.ReadCommand(); err != nil || cmd.Tag != "b" {
		t.Fatalf("after nesting error: %v", err)
	}
}
