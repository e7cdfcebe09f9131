package delivery

import (
	"encoding/json"
	"fmt"
	"io"

	"mailport/internal/mime"
)

// MIMEParser is the Parser used when Config.Parser is nil: package mime
// parses the message once in bounded memory. Structure holds mime.Marshal
// of the whole parsed message (format-versioned; mime.Unmarshal reads it
// back for BODYSTRUCTURE and part offsets); Envelope holds the JSON of
// mime.Envelope alone, for code that lists messages and needs nothing
// else.
var MIMEParser Parser = ParserFunc(parseMIME)

func parseMIME(r io.Reader) (envelope, structure []byte, err error) {
	m, err := mime.Parse(r)
	if err != nil {
		return nil, nil, err
	}
	structure, err = mime.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	envelope, err = json.Marshal(m.Envelope)
	if err != nil {
		return nil, nil, fmt.Errorf("delivery: encode envelope: %w", err)
	}
	return envelope, structure, nil
}
