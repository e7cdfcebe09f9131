package imapd

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// Every chunk flushed by the writer must be readable before the next is
// written: the stream stays open, like a connection.
func TestInflateInteractive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.HuffmanOnly} {
		pr, pw := io.Pipe()
		fw, err := flate.NewWriter(pw, level)
		if err != nil {
			t.Fatal(err)
		}
		inf := newInflater(pr)
		chunks := make(chan []byte, 64)
		go func() {
			for c := range chunks {
				fw.Write(c)
				fw.Flush()
			}
		}()
		for i := 0; i < 50; i++ {
			var chunk []byte
			switch i % 3 {
			case 0:
				chunk = []byte(strings.Repeat("a12 UID FETCH 1:* (FLAGS)\r\n", 1+i))
			case 1:
				chunk = make([]byte, rng.IntN(70000))
				for j := range chunk {
					chunk[j] = byte(rng.IntN(4) + 'a')
				}
			default:
				chunk = make([]byte, rng.IntN(3000)+1)
				for j := range chunk {
					chunk[j] = byte(rng.Uint32())
				}
			}
			chunks <- chunk
			got := make([]byte, len(chunk))
			if _, err := io.ReadFull(inf, got); err != nil {
				t.Fatalf("level %d chunk %d: %v", level, i, err)
			}
			if !bytes.Equal(got, chunk) {
				t.Fatalf("level %d chunk %d differs", level, i)
			}
		}
		close(chunks)
		pw.Close()
	}
}

// zlib's Z_PARTIAL_FLUSH ends with an empty fixed-code block, not a
// stored one; the command must come out at once (what isync sends).
func TestInflatePartialFlush(t *testing.T) {
	// Python: zlib.compressobj(6, zlib.DEFLATED, -15), compress(b"3 NAMESPACE\r\n") + flush(Z_PARTIAL_FLUSH)
	stream, _ := hex.DecodeString("3256f073f4750d0e707476e5e50208")
	pr, pw := io.Pipe()
	go pw.Write(stream) // and never closed
	got := make([]byte, 13)
	if _, err := io.ReadFull(newInflater(pr), got); err != nil {
		t.Fatal(err)
	}
	if string(got) != "3 NAMESPACE\r\n" {
		t.Fatalf("got %q", got)
	}
	pw.Close()
}

func TestInflateCorrupt(t *testing.T) {
	for _, in := range []string{"\xff\xff\xff\xff", "\x07", "\x01\x05\x00\xfa\xffabc", "\x04\x00"} {
		_, err := io.ReadAll(newInflater(strings.NewReader(in)))
		if err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// FuzzInflate: arbitrary input never panics or loops; data compressed by
// compress/flate comes back unchanged.
func FuzzInflate(f *testing.F) {
	f.Add([]byte("hello hello hello hello"), true)
	f.Add([]byte("\x00\x01\x02"), false)
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		if !compress {
			io.Copy(io.Discard, io.LimitReader(newInflater(bytes.NewReader(data)), 1<<20))
			return
		}
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
		fw.Write(data)
		fw.Close()
		got, err := io.ReadAll(newInflater(&buf))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
