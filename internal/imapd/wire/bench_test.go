package wire

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

// BenchmarkReadCommand measures parsing a typical client FETCH and SEARCH.
func BenchmarkReadCommand(b *testing.B) {
	line := "A142 UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID)])\r\n" +
		"A143 UID SEARCH RETURN (ALL) UNDELETED SINCE 1-Jan-2024 OR FROM \"alice\" SUBJECT {5+}\r\nhello\r\n"
	src := strings.NewReader("")
	br := bufio.NewReaderSize(src, 4096)
	r := NewReader(br)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(line)
		br.Reset(src)
		for range 2 {
			if _, err := r.ReadCommand(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkBodyStructure measures encoding a two-part BODYSTRUCTURE.
func BenchmarkBodyStructure(b *testing.B) {
	p := rfcMultipart()
	w := NewWriter(bufio.NewWriter(io.Discard))
	b.ReportAllocs()
	for b.Loop() {
		w.BodyStructure(p, true)
	}
}
