package mime

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// corpusDir holds real messages (SpamAssassin corpus, see its README),
// shared by the team beside the repository.
const corpusDir = "../../../shared/corpus"

// readCorpusMessage returns a corpus file without its leading mbox
// "From " line.
func readCorpusMessage(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(b, []byte("From ")) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}

func TestCorpus(t *testing.T) {
	var files []string
	for _, set := range []string{"train", "test"} {
		for _, class := range []string{"ham", "spam"} {
			m, err := filepath.Glob(filepath.Join(corpusDir, set, class, "*"))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, m...)
		}
	}
	if len(files) == 0 {
		t.Skipf("no corpus at %s", corpusDir)
	}
	var multipart, messages, textLeaves, withFrom int
	for _, f := range files {
		raw := readCorpusMessage(t, f)
		m, err := Parse(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			checkInvariants(t, m, int64(len(raw)))
			if len(m.Envelope.From) > 0 {
				withFrom++
			}
			if len(m.Root.Parts) > 0 {
				multipart++
			}
			m.Walk(func(sec []int, p *Part) bool {
				if p.Message != nil {
					messages++
				}
				if p.Type != "text" || len(p.Parts) > 0 || p.Message != nil {
					return true
				}
				textLeaves++
				r, err := DecodedText(bytes.NewReader(raw), p)
				if err != nil {
					t.Errorf("section %v: %v", sec, err)
					return false
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					t.Errorf("section %v: decode: %v", sec, err)
				}
				// The MIME header of every non-root part starts right
				// after a line break (a delimiter line) or is the
				// encapsulated header.
				if p != &m.Root && p.HeaderStart > 0 && raw[p.HeaderStart-1] != '\n' {
					t.Errorf("section %v: header does not start a line", sec)
				}
				return true
			})
		})
	}
	// The corpus is known to hold plenty of each; a parser that silently
	// made everything one opaque part would fail here.
	t.Logf("%d messages: %d multipart, %d encapsulated, %d text leaves, %d with From", len(files), multipart, messages, textLeaves, withFrom)
	if multipart < 150 || textLeaves < len(files) || withFrom < len(files)*99/100 {
		t.Errorf("implausible corpus structure: %d multipart, %d text leaves, %d with From of %d", multipart, textLeaves, withFrom, len(files))
	}
}
