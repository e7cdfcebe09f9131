package delivery

import (
	"encoding/json"
	"fmt"

	"mailport/internal/mime"
)

// MIMEParser is the Parser used when Config.Parser is nil: package mime
// parses the message once in bounded memory. Structure holds mime.Marshal
// of the whole parsed message (format-versioned; mime.Unmarshal reads it
// back for BODYSTRUCTURE and part offsets); Envelope holds the JSON of
// mime.Envelope alone, for code that lists messages and needs nothing
// else. The header and body text go to the search index.
var MIMEParser Parser = ParserFunc(parseMIME)

func parseMIME(src Source) (Parsed, error) {
	m, err := mime.Parse(src)
	if err != nil {
		return Parsed{}, err
	}
	structure, err := mime.Marshal(m)
	if err != nil {
		return Parsed{}, err
	}
	envelope, err := json.Marshal(m.Envelope)
	if err != nil {
		return Parsed{}, fmt.Errorf("delivery: encode envelope: %w", err)
	}
	headerText, bodyText, err := mime.ExtractText(src, m)
	if err != nil {
		return Parsed{}, fmt.Errorf("delivery: extract search text: %w", err)
	}
	return Parsed{Envelope: envelope, Structure: structure, HeaderText: headerText, BodyText: bodyText}, nil
}
