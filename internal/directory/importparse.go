package directory

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The parsers below turn a file into rows and do no I/O: what a cell
// means is decided here, whether the object may be created in import.go.

// csvKindColumns are the columns besides kind and name each kind uses; a
// value in any other column is an error, so a shifted column or a value
// typed in the wrong place is reported instead of dropped.
var csvKindColumns = map[Kind][]string{
	KindDomain:        {"host", "port"},
	KindDomainAlias:   {"target"},
	KindRelayDomain:   {"target", "host", "port"},
	KindMailbox:       {"display_name", "quota_bytes", "enabled", "password", "password_hash", "scram_sha256"},
	KindAlias:         {"target"},
	KindSenderAddress: {"target"},
	KindForward:       {"target", "keep_copy"},
}

// utf8BOM starts files saved as "CSV UTF-8" by some spreadsheets.
var utf8BOM = []byte("\xef\xbb\xbf")

// parseCSV reads the CSV form (see csvColumns). The header names the
// columns; the delimiter is a comma, or a semicolon or tab when the
// header uses that instead (spreadsheets in locales with a decimal
// comma save with semicolons). Lines starting with '#' and rows with
// every cell empty are skipped.
func parseCSV(data []byte) ([]*importRow, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8 text (save the file as CSV in UTF-8)", ErrInvalidImport)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = csvDelimiter(data)
	r.Comment = '#'
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: empty file", ErrInvalidImport)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrInvalidImport, err)
	}
	cols := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if name == "" {
			continue // an unnamed column must stay empty (checked per row)
		}
		if !slices.Contains(csvColumns, name) {
			return nil, fmt.Errorf("%w: unknown column %q in the header (known: %s)", ErrInvalidImport, h, strings.Join(csvColumns, ", "))
		}
		if _, ok := cols[name]; ok {
			return nil, fmt.Errorf("%w: column %q twice in the header", ErrInvalidImport, name)
		}
		cols[name] = i
	}
	for _, need := range []string{"kind", "name"} {
		if _, ok := cols[need]; !ok {
			return nil, fmt.Errorf("%w: the header has no %q column (columns: %s)", ErrInvalidImport, need, strings.Join(csvColumns, ", "))
		}
	}
	var rows []*importRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// The reader cannot be trusted to find the next record after
			// a quoting error; report it and stop.
			rows = append(rows, &importRow{line: pe.StartLine, err: "CSV syntax: " + pe.Err.Error()})
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidImport, err)
		}
		if !slices.ContainsFunc(rec, func(c string) bool { return strings.TrimSpace(c) != "" }) {
			continue
		}
		if len(rows) >= MaxImportRows {
			return nil, fmt.Errorf("%w: more than %d rows; split it into several imports", ErrInvalidImport, MaxImportRows)
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, csvRow(line, cols, len(header), rec))
	}
	return rows, nil
}

// csvDelimiter picks the delimiter the header line uses.
func csvDelimiter(data []byte) rune {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.IndexByte(first, ',') >= 0 {
		return ','
	}
	if bytes.IndexByte(first, ';') >= 0 {
		return ';'
	}
	if bytes.IndexByte(first, '\t') >= 0 {
		return '\t'
	}
	return ','
}

func csvRow(line int, cols map[string]int, width int, rec []string) *importRow {
	row := &importRow{line: line}
	cell := func(name string) string {
		i, ok := cols[name]
		if !ok || i >= len(rec) {
			return ""
		}
		if name == "password" {
			return rec[i] // spaces are part of a password; never exported, never guarded
		}
		return unguardCell(strings.TrimSpace(rec[i]))
	}
	row.name = cell("name")
	kindName := strings.ToLower(cell("kind"))
	k, ok := kindByName(kindName)
	if !ok {
		row.fail("unknown kind %q (use %s)", kindName, kindNames())
		return row
	}
	row.kind = k
	named := map[int]bool{}
	for _, i := range cols {
		named[i] = true
	}
	for i, c := range rec {
		if !named[i] && strings.TrimSpace(c) != "" {
			if i >= width {
				row.fail("%d cells, but the header has %d columns", len(rec), width)
			} else {
				row.fail("a value in column %d, which has no name in the header", i+1)
			}
			return row
		}
	}
	for name := range cols {
		if name == "kind" || name == "name" || cell(name) == "" {
			continue
		}
		if !slices.Contains(csvKindColumns[k], name) {
			row.fail("column %s does not apply to %s rows (they use name, %s)", name, k, strings.Join(csvKindColumns[k], ", "))
			return row
		}
	}
	num := func(col string) int64 {
		v := cell(col)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			row.fail("%s %q is not a whole number", col, v)
		}
		return n
	}
	port := func() int {
		n := num("port")
		if n < 0 || n > 65535 {
			row.fail("port %d is not between 1 and 65535", n)
			return 0
		}
		return int(n)
	}
	flag := func(col string) *bool {
		v := strings.ToLower(cell(col))
		if v == "" {
			return nil
		}
		var b bool
		switch v {
		case "true", "yes", "y", "1":
			b = true
		case "false", "no", "n", "0":
		default:
			row.fail("%s %q is not true or false", col, v)
		}
		return &b
	}
	switch k {
	case KindDomain:
		row.domain = DomainRecord{Name: row.name, SDRHost: cell("host"), SDRPort: port()}
	case KindDomainAlias:
		row.dalias = DomainAliasRecord{Alias: row.name, Domain: cell("target")}
	case KindRelayDomain:
		row.relay = RelayDomainRecord{Name: row.name, Host: cell("host"), Port: port(), Recipients: splitList(cell("target"))}
	case KindMailbox:
		row.mailbox = MailboxRecord{
			Address: row.name, DisplayName: cell("display_name"), QuotaBytes: num("quota_bytes"),
			Enabled: flag("enabled"), Password: cell("password"), PasswordHash: cell("password_hash"),
			SCRAMSHA256: cell("scram_sha256"),
		}
	case KindAlias:
		row.alias = AliasRecord{Address: row.name, Targets: splitList(cell("target"))}
	case KindSenderAddress:
		row.sender = SenderAddress{Mailbox: row.name, Address: cell("target")}
	case KindForward:
		row.forward = ForwardRecord{Mailbox: row.name, Target: cell("target"), KeepCopy: flag("keep_copy")}
	}
	return row
}

// splitList splits a cell holding several addresses: addresses contain
// none of these separators.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' || r == '\n' || r == '\r' })
}

// parseJSON reads the JSON form (ExportData). Each array element is one
// row; its line is where the element starts. Unknown keys, at the top or
// in an object, are errors.
func parseJSON(data []byte) ([]*importRow, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: JSON syntax error on line %d: %w", ErrInvalidImport, lines.line(int(se.Offset)), err)
		}
		return fmt.Errorf("%w: JSON: %w", ErrInvalidImport, err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: a JSON import is one object with the keys version, %s", ErrInvalidImport, strings.Join(jsonKeys(), ", "))
	}
	seen := map[string]bool{}
	var rows []*importRow
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("%w: key %q twice", ErrInvalidImport, key)
		}
		seen[key] = true
		if key == "version" {
			var v int
			if err := dec.Decode(&v); err != nil || v != exportVersion {
				return nil, fmt.Errorf("%w: version must be %d", ErrInvalidImport, exportVersion)
			}
			continue
		}
		k, ok := kindByKey(key)
		if !ok {
			return nil, fmt.Errorf("%w: unknown key %q (known: version, %s)", ErrInvalidImport, key, strings.Join(jsonKeys(), ", "))
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		if tok == nil {
			continue // "key": null is an empty list
		}
		if tok != json.Delim('[') {
			return nil, fmt.Errorf("%w: %q must be an array", ErrInvalidImport, key)
		}
		for dec.More() {
			start := lines.lineAfter(int(dec.InputOffset()))
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, syntax(err)
			}
			if len(rows) >= MaxImportRows {
				return nil, fmt.Errorf("%w: more than %d objects; split it into several imports", ErrInvalidImport, MaxImportRows)
			}
			rows = append(rows, jsonRow(start, k, raw))
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntax(err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntax(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalidImport)
	}
	return rows, nil
}

func kindByKey(key string) (Kind, bool) {
	for k, v := range kindKeys {
		if v == key {
			return k, true
		}
	}
	return "", false
}

func jsonKeys() []string {
	keys := make([]string, len(AllKinds))
	for i, k := range AllKinds {
		keys[i] = kindKeys[k]
	}
	return keys
}

// jsonRow decodes one array element strictly (unknown fields are errors).
func jsonRow(line int, k Kind, raw []byte) *importRow {
	row := &importRow{line: line, kind: k}
	var dst any
	switch k {
	case KindDomain:
		dst = &row.domain
	case KindDomainAlias:
		dst = &row.dalias
	case KindRelayDomain:
		dst = &row.relay
	case KindMailbox:
		dst = &row.mailbox
	case KindAlias:
		dst = &row.alias
	case KindSenderAddress:
		dst = &row.sender
	case KindForward:
		dst = &row.forward
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		row.fail("%s: %v", k, err)
		return row
	}
	switch k {
	case KindDomain:
		row.name = row.domain.Name
	case KindDomainAlias:
		row.name = row.dalias.Alias
	case KindRelayDomain:
		row.name = row.relay.Name
	case KindMailbox:
		row.name = row.mailbox.Address
	case KindAlias:
		row.name = row.alias.Address
	case KindSenderAddress:
		row.name = row.sender.Mailbox
	case KindForward:
		row.name = row.forward.Mailbox
	}
	return row
}

// lineIndex maps byte offsets of a file to line numbers.
type lineIndex struct {
	data     []byte
	newlines []int // offsets of '\n'
}

func newLineIndex(data []byte) lineIndex {
	li := lineIndex{data: data}
	for i, c := range data {
		if c == '\n' {
			li.newlines = append(li.newlines, i)
		}
	}
	return li
}

// line returns the 1-based line of offset off.
func (li lineIndex) line(off int) int {
	return sort.SearchInts(li.newlines, off) + 1
}

// lineAfter returns the line of the first byte at or after off that is
// not white space or a comma: where the next JSON value starts.
func (li lineIndex) lineAfter(off int) int {
	for off < len(li.data) && strings.IndexByte(" \t\r\n,", li.data[off]) >= 0 {
		off++
	}
	return li.line(off)
}
