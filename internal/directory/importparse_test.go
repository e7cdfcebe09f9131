package directory

import (
	"bytes"
	"testing"
)

// FuzzParseCSV: no input panics the CSV reader, and every row it returns
// has a kind or an error, on a line that exists in the input.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("kind,name,target\ndomain,a.example,\nalias,x@a.example,\"y@b.example z@c.example\"\n"))
	f.Add([]byte("\xef\xbb\xbfkind;name;password\r\nmailbox;a@b.example;pw pw pw pw\r\n# comment\r\n"))
	f.Add([]byte("kind,name\nforward,\"unterminated\n"))
	f.Add([]byte("name,kind,extra\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseCSV(data)
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, r := range rows {
			if r.line < 2 || r.line > lines {
				t.Fatalf("row on line %d of %d", r.line, lines)
			}
			if r.kind == "" && r.err == "" {
				t.Fatalf("row on line %d has neither kind nor error", r.line)
			}
		}
	})
}

// FuzzParseJSON: the same for the JSON reader.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"version":1,"domains":[{"name":"a.example"}],"aliases":[{"address":"x@a.example","targets":["y@b.example"]}]}`))
	f.Add([]byte("{\n\"mailboxes\": [\n{\"address\": 1}\n, {\"colour\": \"x\"}]}"))
	f.Add([]byte(`{"forwards": null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseJSON(data)
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, r := range rows {
			if r.line < 1 || r.line > lines || r.kind == "" {
				t.Fatalf("row %+v of %d lines", r, lines)
			}
		}
	})
}
