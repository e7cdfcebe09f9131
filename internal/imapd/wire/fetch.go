package wire

import "strings"

// maxSectionParts bounds the part numbers of one section spec; parts
// nest no deeper than the MIME parser allows anyway.
const maxSectionParts = 128

// RFC 9051 section 6.4.5: FETCH SP sequence-set SP ("ALL" / "FULL" /
// "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
// with RFC 7162 CHANGEDSINCE and VANISHED modifiers.
func parseFetch(r *Reader, cmd *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	set, err := r.seqSet()
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	args := &FetchArgs{Set: set}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == '(' {
		err = r.list(false, func() error {
			it, err := r.fetchAtt(false)
			args.Items = append(args.Items, it...)
			return err
		})
	} else {
		args.Items, err = r.fetchAtt(true)
	}
	if err != nil {
		return nil, err
	}
	if eol, err := r.atEOL(); err != nil || eol {
		return args, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	err = r.list(false, func() error {
		m, err := r.upperAtom()
		if err != nil {
			return err
		}
		switch {
		case m == "CHANGEDSINCE" && !args.HasChangedSince:
			if err := r.sp(); err != nil {
				return err
			}
			args.ChangedSince, err = r.number64()
			args.HasChangedSince = true
			return err
		case m == "VANISHED" && !args.Vanished:
			args.Vanished = true
			return nil
		}
		return badf("unknown FETCH modifier %q", m)
	})
	if err != nil {
		return nil, err
	}
	// RFC 7162 section 3.2.6: VANISHED only in UID FETCH, with
	// CHANGEDSINCE.
	if args.Vanished && (!cmd.UID || !args.HasChangedSince) {
		return nil, badf("VANISHED needs UID FETCH and CHANGEDSINCE")
	}
	return args, nil
}

func isFetchNameChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '.' || c == '-'
}

// fetchAtt parses one fetch attribute; macros (only allowed alone) expand
// to several items (RFC 9051 section 6.4.5).
func (r *Reader) fetchAtt(allowMacro bool) ([]FetchItem, error) {
	name, err := r.run(isFetchNameChar, "fetch item")
	if err != nil {
		return nil, err
	}
	name = strings.ToUpper(name)
	simple := func(names ...string) []FetchItem {
		items := make([]FetchItem, len(names))
		for i, n := range names {
			items[i] = FetchItem{Name: n}
		}
		return items
	}
	switch name {
	case "ALL", "FAST", "FULL":
		if !allowMacro {
			return nil, badf("fetch macro %s cannot be in a list", name)
		}
		items := simple("FLAGS", "INTERNALDATE", "RFC822.SIZE")
		if name != "FAST" {
			items = append(items, FetchItem{Name: "ENVELOPE"})
		}
		if name == "FULL" {
			items = append(items, FetchItem{Name: "BODY"})
		}
		return items, nil
	case "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE",
		"RFC822.TEXT", "BODYSTRUCTURE", "UID", "MODSEQ":
		return simple(name), nil
	}
	it := FetchItem{Name: name}
	binary := false
	switch name {
	case "BODY":
		if c, err := r.peek(); err != nil {
			return nil, err
		} else if c != '[' {
			return []FetchItem{it}, nil
		}
	case "BODY.PEEK":
		it.Name, it.Peek = "BODY", true
	case "BINARY", "BINARY.SIZE":
		binary = true
	case "BINARY.PEEK":
		it.Name, it.Peek, binary = "BINARY", true, true
	default:
		return nil, badf("unknown fetch item %q", name)
	}
	if err := r.expect('[', "'['"); err != nil {
		return nil, err
	}
	if it.Section, err = r.section(binary); err != nil {
		return nil, err
	}
	if it.Name == "BINARY.SIZE" {
		return []FetchItem{it}, nil
	}
	if ok, err := r.maybe('<'); err != nil {
		return nil, err
	} else if ok {
		p := &Partial{}
		if p.Offset, err = r.number(); err != nil {
			return nil, err
		}
		if err := r.expect('.', "'.' in partial"); err != nil {
			return nil, err
		}
		if p.Count, err = r.nzNumber(); err != nil {
			return nil, err
		}
		if err := r.expect('>', "'>'"); err != nil {
			return nil, err
		}
		it.Partial = p
	}
	return []FetchItem{it}, nil
}

// section parses a section spec after "[" up to and including "]".
// For BINARY only part numbers are allowed (RFC 3516 section 4.2).
func (r *Reader) section(binary bool) (*Section, error) {
	s := &Section{}
	for {
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		if c == ']' {
			if len(s.Part) > 0 {
				return nil, badf("section ends with '.'")
			}
			_, err := r.next()
			return s, err
		}
		if isDigit(c) {
			n, err := r.nzNumber()
			if err != nil {
				return nil, err
			}
			if len(s.Part) >= maxSectionParts {
				return nil, badf("section has too many part numbers")
			}
			s.Part = append(s.Part, int(n))
			if ok, err := r.maybe('.'); err != nil {
				return nil, err
			} else if !ok {
				if err := r.expect(']', "']'"); err != nil {
					return nil, err
				}
				return s, nil
			}
			continue
		}
		if binary {
			return nil, badf("BINARY section takes part numbers only")
		}
		spec, err := r.run(func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' }, "section")
		if err != nil {
			return nil, err
		}
		spec = strings.ToUpper(spec)
		switch spec {
		case "HEADER", "TEXT":
		case "MIME":
			// RFC 9051 section 6.4.5: MIME only follows part numbers.
			if len(s.Part) == 0 {
				return nil, badf("MIME needs a part number")
			}
		case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			if err := r.sp(); err != nil {
				return nil, err
			}
			err := r.list(false, func() error {
				f, err := r.astring()
				s.Fields = append(s.Fields, f)
				return err
			})
			if err != nil {
				return nil, err
			}
		default:
			return nil, badf("unknown section %q", spec)
		}
		s.Specifier = spec
		if err := r.expect(']', "']'"); err != nil {
			return nil, err
		}
		return s, nil
	}
}
