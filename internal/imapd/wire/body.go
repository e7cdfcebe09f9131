package wire

import (
	"strings"

	"mailport/internal/mime"
)

// maxBodyDepth stops the BODYSTRUCTURE encoder's recursion. internal/mime
// never builds trees deeper than mime.MaxDepth (and its Unmarshal refuses
// them); this guard only keeps a hand-built tree from exhausting the stack:
// deeper parts are written as leaves.
const maxBodyDepth = 4 * mime.MaxDepth

// Envelope writes an ENVELOPE (RFC 9051 section 7.5.2, RFC 3501 section
// 7.4.2): date, subject, from, sender, reply-to, to, cc, bcc,
// in-reply-to, message-id. Empty strings and empty address lists are NIL.
// A nil envelope is written with every field NIL.
func (w *Writer) Envelope(e *mime.Envelope) {
	if e == nil {
		e = &mime.Envelope{}
	}
	w.Open()
	w.NString(e.Date)
	w.NString(e.Subject)
	for _, list := range [][]mime.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.addressList(list)
	}
	w.NString(e.InReplyTo)
	w.NString(e.MessageID)
	w.Close()
}

// addressList writes "(" 1*address ")" / nil; addresses follow each other
// without spaces (RFC 9051 section 9, env-from).
func (w *Writer) addressList(list []mime.Address) {
	if len(list) == 0 {
		w.Nil()
		return
	}
	w.Open()
	for _, a := range list {
		w.space = false
		w.Open()
		// Group markers (mime.Address.IsGroupStart/IsGroupEnd) already
		// have the empty fields that become NIL.
		w.NString(a.Name)
		w.NString(a.Adl)
		w.NString(a.Mailbox)
		w.NString(a.Host)
		w.Close()
	}
	w.Close()
}

// BodyStructure writes the body structure of p: with extended true the
// BODYSTRUCTURE form with extension data, else the BODY form without it
// (RFC 9051 section 7.5.2 BODY and BODYSTRUCTURE, RFC 3501 section 7.4.2).
func (w *Writer) BodyStructure(p *mime.Part, extended bool) {
	w.body(p, extended, 0)
}

func (w *Writer) body(p *mime.Part, ext bool, depth int) {
	leaf := depth >= maxBodyDepth
	if len(p.Parts) > 0 && !leaf {
		w.multipart(p, ext, depth)
		return
	}
	w.Open()
	typ, sub := p.Type, p.Subtype
	if typ == "" {
		typ, sub = "text", "plain"
	}
	// body-type-1part: media type, then body-fields.
	w.String(typ)
	w.String(sub)
	w.params(p.Params)
	w.NString(p.ID)
	w.NString(p.Description)
	enc := p.Encoding
	if enc == "" {
		enc = "7BIT"
	}
	w.String(enc)
	w.Number64(uint64(max(p.Size, 0)))
	switch {
	case isMessageType(typ, sub) && p.Message != nil && !leaf:
		// body-type-msg: envelope, body and line count of the
		// encapsulated message (RFC 9051 section 9, media-message).
		w.Envelope(p.Envelope)
		w.body(p.Message, ext, depth+1)
		w.Number64(uint64(max(p.Lines, 0)))
	case strings.EqualFold(typ, "text"):
		// body-type-text: size in lines.
		w.Number64(uint64(max(p.Lines, 0)))
	}
	if ext {
		// body-ext-1part: md5, disposition, language, location.
		w.NString(p.MD5)
		w.disposition(p)
		w.language(p.Language)
		w.NString(p.Location)
	}
	w.Close()
}

// multipart writes body-type-mpart: the children with no space between
// them, then the subtype and, for BODYSTRUCTURE, body-ext-mpart.
func (w *Writer) multipart(p *mime.Part, ext bool, depth int) {
	w.Open()
	for i := range p.Parts {
		w.space = false
		w.body(&p.Parts[i], ext, depth+1)
	}
	sub := p.Subtype
	if sub == "" {
		sub = "mixed"
	}
	w.String(sub)
	if ext {
		w.params(p.Params)
		w.disposition(p)
		w.language(p.Language)
		w.NString(p.Location)
	}
	w.Close()
}

func isMessageType(typ, sub string) bool {
	return strings.EqualFold(typ, "message") && (strings.EqualFold(sub, "rfc822") || strings.EqualFold(sub, "global"))
}

// params writes body-fld-param: "(" string SP string *(...) ")" / nil.
func (w *Writer) params(ps []mime.Param) {
	if len(ps) == 0 {
		w.Nil()
		return
	}
	w.Open()
	for _, p := range ps {
		w.String(p.Key)
		w.String(p.Value)
	}
	w.Close()
}

// disposition writes body-fld-dsp: "(" string SP body-fld-param ")" / nil.
func (w *Writer) disposition(p *mime.Part) {
	if p.Disposition == "" {
		w.Nil()
		return
	}
	w.Open()
	w.String(p.Disposition)
	w.params(p.DispositionParams)
	w.Close()
}

// language writes body-fld-lang: nstring / "(" string *(SP string) ")".
func (w *Writer) language(langs []string) {
	switch len(langs) {
	case 0:
		w.Nil()
	case 1:
		w.String(langs[0])
	default:
		w.Open()
		for _, l := range langs {
			w.String(l)
		}
		w.Close()
	}
}
