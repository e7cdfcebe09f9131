package config

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Setting is one key of mailport.toml to set: its table ("limits") and
// key ("max_recipients") as the file names them, and the new value, an
// integer or a string.
type Setting struct {
	Section, Key string
	Value        any
}

// Name is the setting's dotted name, "limits.max_recipients".
func (s Setting) Name() string { return s.Section + "." + s.Key }

// Edit sets keys of DIR/mailport.toml and returns the configuration as
// now stored. The file is read afresh, so changes made to it by hand
// since mailport started are kept. Its text is edited line by line, so
// comments, the order of keys and every other key stay as they were;
// when the file's layout is one a line edit cannot follow (an inline
// table, a quoted key), it is written anew from its decoded contents,
// which keeps every value but not the comments. Either way the result
// must hold exactly the old values plus the new ones and pass Validate
// (a *KeyError names the refused key), or nothing is written; it is
// written atomically (write).
func Edit(dir string, settings []Setting) (Config, error) {
	data, err := read(dir)
	if err != nil {
		return Config{}, err
	}
	if _, err := parse(data, dir); err != nil {
		// %v: the fault is the file's, not the new values', so it is
		// not reported as a refused key.
		return Config{}, fmt.Errorf("the current file is not valid; fix it by hand first: %v", err)
	}
	settings = slices.Clone(settings)
	for i, s := range settings {
		switch v := s.Value.(type) {
		case int:
			settings[i].Value = int64(v)
		case int64, string:
		default:
			return Config{}, fmt.Errorf("config: %s: unsupported value type %T", s.Name(), s.Value)
		}
	}
	want, err := decodeMap(data)
	if err != nil {
		return Config{}, err
	}
	for _, s := range settings {
		sec, ok := want[s.Section].(map[string]any)
		if !ok {
			sec = map[string]any{}
			want[s.Section] = sec
		}
		sec[s.Key] = s.Value
	}
	out := setLines(data, settings)
	if got, err := decodeMap(out); err != nil || !reflect.DeepEqual(got, want) {
		var buf bytes.Buffer
		buf.WriteString(header)
		if err := toml.NewEncoder(&buf).Encode(want); err != nil {
			return Config{}, fmt.Errorf("encode config: %w", err)
		}
		out = buf.Bytes()
	}
	c, err := parse(out, dir)
	if err != nil {
		return Config{}, err
	}
	if bytes.Equal(out, data) {
		return c, nil
	}
	return c, write(dir, out)
}

// decodeMap decodes a TOML document into maps (tables) and values, the
// form in which two documents are compared.
func decodeMap(data []byte) (map[string]any, error) {
	m := map[string]any{}
	if _, err := toml.Decode(string(data), &m); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return m, nil
}

// tableHeader matches a standard table header line, "[name]" with an
// optional comment (TOML 1.0, "Table").
var tableHeader = regexp.MustCompile(`^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$`)

// setLines sets each key in the text of a TOML document: the key's line
// in its table is replaced, a missing key is added below the table's
// header, a missing table is appended. It does not understand every
// layout TOML allows; Edit checks what it made.
func setLines(data []byte, settings []Setting) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for _, s := range settings {
		line := renderKey(s)
		header, end := -1, len(lines)
		for i, l := range lines {
			m := tableHeader.FindStringSubmatch(strings.TrimRight(l, "\r\n"))
			if m == nil && !strings.HasPrefix(strings.TrimSpace(l), "[") {
				continue
			}
			if header >= 0 {
				end = i
				break
			}
			if m != nil && m[1] == s.Section {
				header = i
			}
		}
		if header < 0 {
			if n := len(lines); n > 0 && !strings.HasSuffix(lines[n-1], "\n") {
				lines[n-1] += "\n"
			}
			lines = append(lines, "\n", "["+s.Section+"]\n", line)
			continue
		}
		keyLine := regexp.MustCompile(`^(\s*)` + regexp.QuoteMeta(s.Key) + `\s*=`)
		replaced := false
		for i := header + 1; i < end; i++ {
			if m := keyLine.FindStringSubmatch(lines[i]); m != nil {
				lines[i] = m[1] + line
				replaced = true
				break
			}
		}
		if !replaced {
			lines = append(lines[:header+1], append([]string{line}, lines[header+1:]...)...)
		}
	}
	return []byte(strings.Join(lines, ""))
}

// renderKey is the line "key = value" with the value in TOML syntax.
func renderKey(s Setting) string {
	var buf bytes.Buffer
	// Encoding a one-key map cannot fail for the value types Edit allows.
	toml.NewEncoder(&buf).Encode(map[string]any{s.Key: s.Value})
	return buf.String()
}
