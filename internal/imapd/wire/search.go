package wire

import "strings"

// RFC 9051 section 6.4.4 (and RFC 4731 ESEARCH, RFC 5182 SEARCHRES):
// SEARCH [SP "RETURN" SP "(" [opts] ")"] SP ["CHARSET" SP charset SP]
// search-key *(SP search-key).
func parseSearch(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	args := &SearchArgs{}
	var err error
	args.Return, args.Charset, args.Criteria, err = r.searchProgram(true, true)
	return args, err
}

// searchProgram parses the criteria of SEARCH, SORT and THREAD. For SORT
// and THREAD (allowReturn and optionalCharset false) the charset is
// mandatory and comes before the keys.
func (r *Reader) searchProgram(allowReturn, optionalCharset bool) (*SearchReturn, string, *SearchKey, error) {
	var ret *SearchReturn
	var charset string
	root := &SearchKey{Op: "AND"}
	if !optionalCharset {
		cs, err := r.astring()
		if err != nil {
			return nil, "", nil, err
		}
		charset = strings.ToUpper(cs)
		if err := r.sp(); err != nil {
			return nil, "", nil, err
		}
	}
	preamble := true // RETURN and CHARSET may still come
	for {
		c, err := r.peek()
		if err != nil {
			return nil, "", nil, err
		}
		var key *SearchKey
		if isAtomChar(c) && !isDigit(c) && c != '$' {
			name, err := r.upperAtom()
			if err != nil {
				return nil, "", nil, err
			}
			switch {
			case preamble && allowReturn && name == "RETURN" && ret == nil && charset == "":
				if err := r.sp(); err != nil {
					return nil, "", nil, err
				}
				if ret, err = r.searchReturn(); err != nil {
					return nil, "", nil, err
				}
				if err := r.sp(); err != nil {
					return nil, "", nil, err
				}
				continue
			case preamble && optionalCharset && name == "CHARSET" && charset == "":
				if err := r.sp(); err != nil {
					return nil, "", nil, err
				}
				cs, err := r.astring()
				if err != nil {
					return nil, "", nil, err
				}
				charset = strings.ToUpper(cs)
				if err := r.sp(); err != nil {
					return nil, "", nil, err
				}
				preamble = false
				continue
			}
			if key, err = r.searchKeyNamed(name, 1); err != nil {
				return nil, "", nil, err
			}
		} else if key, err = r.searchKey(1); err != nil {
			return nil, "", nil, err
		}
		preamble = false
		root.Children = append(root.Children, key)
		if eol, err := r.atEOL(); err != nil || eol {
			return ret, charset, root, err
		}
		if err := r.sp(); err != nil {
			return nil, "", nil, err
		}
	}
}

// searchReturn parses "(" [search-return-opt *(SP search-return-opt)] ")";
// an empty list means ALL (RFC 4731 section 3.1).
func (r *Reader) searchReturn() (*SearchReturn, error) {
	ret := &SearchReturn{}
	any := false
	err := r.list(true, func() error {
		opt, err := r.upperAtom()
		if err != nil {
			return err
		}
		any = true
		switch opt {
		case "MIN":
			ret.Min = true
		case "MAX":
			ret.Max = true
		case "ALL":
			ret.All = true
		case "COUNT":
			ret.Count = true
		case "SAVE":
			ret.Save = true
		default:
			return badf("unknown SEARCH return option %q", opt)
		}
		return nil
	})
	if !any {
		ret.All = true
	}
	return ret, err
}

// searchKey parses one search key; depth bounds the nesting of
// parentheses, NOT and OR together.
func (r *Reader) searchKey(depth int) (*SearchKey, error) {
	if depth > r.MaxNesting {
		return nil, badf("search criteria nested deeper than %d", r.MaxNesting)
	}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c == '(':
		if _, err := r.next(); err != nil {
			return nil, err
		}
		and := &SearchKey{Op: "AND"}
		for {
			k, err := r.searchKey(depth + 1)
			if err != nil {
				return nil, err
			}
			and.Children = append(and.Children, k)
			if ok, err := r.maybe(')'); err != nil || ok {
				return and, err
			}
			if err := r.sp(); err != nil {
				return nil, err
			}
		}
	case isDigit(c) || c == '*' || c == '$':
		set, err := r.seqSet()
		if err != nil {
			return nil, err
		}
		return &SearchKey{Op: "SEQSET", Set: set}, nil
	}
	name, err := r.upperAtom()
	if err != nil {
		return nil, err
	}
	return r.searchKeyNamed(name, depth)
}

// searchKeyNamed parses the arguments of the search key name.
func (r *Reader) searchKeyNamed(name string, depth int) (*SearchKey, error) {
	if depth > r.MaxNesting {
		return nil, badf("search criteria nested deeper than %d", r.MaxNesting)
	}
	k := &SearchKey{Op: name}
	var err error
	switch name {
	case "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN",
		"UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN",
		// RFC 3501 section 6.4.4 keys dropped by RFC 9051 but still sent
		// by IMAP4rev1 clients.
		"NEW", "OLD", "RECENT":
		return k, nil
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	switch name {
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		k.Value, err = r.astring()
	case "KEYWORD", "UNKEYWORD":
		k.Value, err = r.atom()
	case "HEADER":
		if k.Field, err = r.astring(); err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
		k.Value, err = r.astring()
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		k.Date, err = r.date()
	case "LARGER", "SMALLER":
		k.Number, err = r.number64()
	case "OLDER", "YOUNGER":
		// RFC 5032 section 3: interval in seconds, nz-number.
		var n uint32
		n, err = r.nzNumber()
		k.Number = uint64(n)
	case "UID":
		k.Set, err = r.seqSet()
	case "NOT":
		var c *SearchKey
		c, err = r.searchKey(depth + 1)
		k.Children = []*SearchKey{c}
	case "OR":
		var a, b *SearchKey
		if a, err = r.searchKey(depth + 1); err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
		b, err = r.searchKey(depth + 1)
		k.Children = []*SearchKey{a, b}
	case "MODSEQ":
		// RFC 7162 section 3.1.5: MODSEQ [SP entry-name SP entry-type-req]
		// SP mod-sequence-valzer.
		c, perr := r.peek()
		if perr != nil {
			return nil, perr
		}
		if c == '"' || c == '{' {
			if k.Field, err = r.str(); err != nil {
				return nil, err
			}
			if err := r.sp(); err != nil {
				return nil, err
			}
			var t string
			if t, err = r.upperAtom(); err != nil {
				return nil, err
			}
			if t != "PRIV" && t != "SHARED" && t != "ALL" {
				return nil, badf("invalid MODSEQ entry type %q", t)
			}
			k.Value = t
			if err := r.sp(); err != nil {
				return nil, err
			}
		}
		k.Number, err = r.number64()
	default:
		return nil, badf("unknown search key %q", name)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// RFC 5256 section 3: SORT SP sort-criteria SP search-criteria, where
// search-criteria = charset 1*(SP search-key).
func parseSort(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	args := &SortArgs{}
	reverse := false
	err := r.list(false, func() error {
		for {
			key, err := r.upperAtom()
			if err != nil {
				return err
			}
			switch key {
			case "REVERSE":
				if reverse {
					return badf("REVERSE given twice")
				}
				reverse = true
				if err := r.sp(); err != nil {
					return err
				}
				continue
			case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO":
			default:
				return badf("unknown sort key %q", key)
			}
			args.Criteria = append(args.Criteria, SortCriterion{Key: key, Reverse: reverse})
			reverse = false
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	_, args.Charset, args.Search, err = r.searchProgram(false, false)
	return args, err
}

// RFC 5256 section 3: THREAD SP thread-alg SP search-criteria.
func parseThread(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	alg, err := r.upperAtom()
	if err != nil {
		return nil, err
	}
	if alg != "REFERENCES" && alg != "ORDEREDSUBJECT" {
		return nil, badf("unsupported thread algorithm %q", alg)
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	args := &ThreadArgs{Algorithm: alg}
	_, args.Charset, args.Search, err = r.searchProgram(false, false)
	return args, err
}
