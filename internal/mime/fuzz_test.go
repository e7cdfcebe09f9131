package mime

import (
	"bytes"
	"io"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		simpleMessage,
		crlf(simpleMessage),
		mixedMessage,
		crlf(mixedMessage),
		nestedMultipart(70),
		nestedMessages(70),
		"",
		"\r\n",
		"Subject: x",
		"Content-Type: multipart/mixed; boundary=a\n\n--a\n--a--",
		"Content-Type: multipart/digest; boundary=a\r\n\r\n--a\r\n\r\nSubject: s\r\n\r\n--a--\r\n",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=\"q\"\r\n\r\n--q\r\n",
		"Content-Type: text/plain; name*0*=utf-8''%E2; name*1*=%82%AC\r\nContent-Transfer-Encoding: base64\r\n\r\n4oKs\r\n",
		"To: g: a@b, <c@d>;, \"x\" <@r:y@z>\r\nFrom: (c) <>\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n--a--\r\n",
		"Subject: \xff\xfe\r\nContent-Type: text/plain; charset=\"\xe9\"\r\n\r\n\xff",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Parse failed on in-memory input: %v", err)
		}
		checkInvariants(t, m, int64(len(data)))
		r := bytes.NewReader(data)
		m.Walk(func(sec []int, p *Part) bool {
			if dr, err := DecodedText(r, p); err == nil {
				// Decoding never expands beyond a small factor of the
				// part (at most 3 UTF-8 bytes per input byte).
				n, err := io.Copy(io.Discard, dr)
				if err != nil {
					t.Fatalf("section %v: decode: %v", sec, err)
				}
				if n > 3*p.Size+3 {
					t.Fatalf("section %v: %d bytes decoded from %d", sec, n, p.Size)
				}
			}
			return true
		})
	})
}
