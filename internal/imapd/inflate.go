package imapd

import (
	"bufio"
	"errors"
	"io"
)

// inflater decodes the client's half of COMPRESS=DEFLATE (RFC 4978): a
// raw DEFLATE stream (RFC 1951) that never ends while the connection
// lives. It exists because compress/flate holds decoded bytes back until
// a block ends in a stored block (a zlib Z_SYNC_FLUSH) or its window
// fills: clients that flush with Z_PARTIAL_FLUSH, which ends the data
// block and adds an empty fixed-code block (isync/mbsync does), would
// wait for an answer to a command the server never sees.
//
// The rule that makes it interactive: decoded bytes are handed out before
// any read that might block. Decoding goes one step at a time (a block
// header, a literal, a length/distance pair, a stored byte), and a step
// that could need input not yet buffered is not started while output is
// pending.
//
// It decodes bit by bit with canonical Huffman tables (RFC 1951 section
// 3.2), in bounded memory (the 32 KiB window, a little pending output).
type inflater struct {
	br     *bufio.Reader
	bitbuf uint64
	nbits  uint

	window [windowSize]byte
	wpos   int // bytes written so far (position in window mod windowSize)
	whave  int // valid bytes in the window, up to windowSize

	out  []byte // decoded, not yet returned
	outR int    // read offset in out

	inBlock    bool
	final      bool
	stored     bool
	storedLeft int
	lit, dist  *huffman
	dyn        [2]huffman // storage for the dynamic tables of a block
	err        error
}

const (
	windowSize = 1 << 15
	maxBits    = 15
	// maxStepBits is the most input one Huffman step reads: a length
	// code and its extra bits, a distance code and its extra bits.
	maxStepBits = 15 + 5 + 15 + 13
	maxPending  = 16 << 10
)

var (
	errInflate = errors.New("deflate: corrupt compressed data")

	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// codeLengthOrder is the order of the code length code lengths
	// (RFC 1951 section 3.2.7).
	codeLengthOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

	fixedLit, fixedDist huffman
)

func init() {
	// RFC 1951 section 3.2.6: the fixed codes.
	var lengths [288]uint8
	for i := range lengths {
		switch {
		case i < 144:
			lengths[i] = 8
		case i < 256:
			lengths[i] = 9
		case i < 280:
			lengths[i] = 7
		default:
			lengths[i] = 8
		}
	}
	fixedLit.build(lengths[:])
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	fixedDist.build(d[:])
}

// huffman is a canonical Huffman code: the number of codes of each
// length and the symbols ordered by code.
type huffman struct {
	count  [maxBits + 1]uint16
	symbol [288]uint16
}

// build makes the code from the code lengths of symbols 0..n-1; false
// when the lengths are over-subscribed (incomplete codes are allowed,
// decoding a missing code fails).
func (h *huffman) build(lengths []uint8) bool {
	h.count = [maxBits + 1]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	for l := 1; l <= maxBits; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return false
		}
	}
	var offs [maxBits + 2]uint16
	for l := 1; l <= maxBits; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return true
}

func newInflater(r io.Reader) *inflater {
	return &inflater{br: bufio.NewReaderSize(r, readBufferSize)}
}

// Read returns decoded bytes, never blocking on input while some are
// pending.
func (f *inflater) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		pending := len(f.out) - f.outR
		if pending > 0 && (pending >= len(p) || pending >= maxPending || !f.canStep()) {
			n := copy(p, f.out[f.outR:])
			f.outR += n
			if f.outR == len(f.out) {
				f.out, f.outR = f.out[:0], 0
			}
			return n, nil
		}
		if f.err != nil {
			return 0, f.err
		}
		f.step()
	}
}

// canStep reports whether the next step can run on input already
// buffered, so that it cannot block.
func (f *inflater) canStep() bool {
	avail := f.nbits + 8*uint(f.br.Buffered())
	switch {
	case !f.inBlock:
		// A block header (a dynamic one is long): only with nothing
		// pending, so this is never reached with output held back.
		return false
	case f.stored:
		return f.storedLeft == 0 || avail >= 8
	default:
		return avail >= maxStepBits
	}
}

// step decodes one unit: a block header, one stored byte, or one
// literal or length/distance pair.
func (f *inflater) step() {
	switch {
	case !f.inBlock:
		if f.final {
			f.err = io.EOF
			return
		}
		f.blockHeader()
	case f.stored:
		if f.storedLeft == 0 {
			f.inBlock = false
			return
		}
		b := f.bits(8)
		if f.err == nil {
			f.put(byte(b))
			f.storedLeft--
		}
	default:
		f.huffmanStep()
	}
}

// bits reads n (at most 32) bits, LSB first (RFC 1951 section 3.1.1).
func (f *inflater) bits(n uint) uint32 {
	for f.nbits < n {
		if f.err != nil {
			return 0
		}
		b, err := f.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			f.err = err
			return 0
		}
		f.bitbuf |= uint64(b) << f.nbits
		f.nbits += 8
	}
	v := uint32(f.bitbuf & (1<<n - 1))
	f.bitbuf >>= n
	f.nbits -= n
	return v
}

// decode reads one symbol of h, a bit at a time (codes are stored
// MSB first within the LSB-first bit stream).
func (f *inflater) decode(h *huffman) int {
	code, first, index := 0, 0, 0
	for l := 1; l <= maxBits; l++ {
		code |= int(f.bits(1))
		if f.err != nil {
			return -1
		}
		count := int(h.count[l])
		if code-first < count {
			return int(h.symbol[index+code-first])
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	f.err = errInflate
	return -1
}

func (f *inflater) put(b byte) {
	f.window[f.wpos&(windowSize-1)] = b
	f.wpos++
	if f.whave < windowSize {
		f.whave++
	}
	f.out = append(f.out, b)
}

func (f *inflater) blockHeader() {
	f.final = f.bits(1) == 1
	typ := f.bits(2)
	if f.err != nil {
		return
	}
	switch typ {
	case 0:
		// Stored (RFC 1951 section 3.2.4): skip to a byte boundary.
		f.bits(f.nbits % 8)
		n := f.bits(16)
		nn := f.bits(16)
		if f.err != nil {
			return
		}
		if n != ^nn&0xffff {
			f.err = errInflate
			return
		}
		f.stored, f.storedLeft = true, int(n)
	case 1:
		f.stored, f.lit, f.dist = false, &fixedLit, &fixedDist
	case 2:
		if !f.dynamicTables() {
			if f.err == nil {
				f.err = errInflate
			}
			return
		}
		f.stored, f.lit, f.dist = false, &f.dyn[0], &f.dyn[1]
	default:
		f.err = errInflate
		return
	}
	f.inBlock = true
}

// dynamicTables reads the code lengths of a dynamic block (RFC 1951
// section 3.2.7) and builds its tables.
func (f *inflater) dynamicTables() bool {
	nlen := int(f.bits(5)) + 257
	ndist := int(f.bits(5)) + 1
	ncode := int(f.bits(4)) + 4
	if f.err != nil || nlen > 286 || ndist > 30 {
		return false
	}
	var lengths [320]uint8
	for i := 0; i < ncode; i++ {
		lengths[codeLengthOrder[i]] = uint8(f.bits(3))
	}
	var lencode huffman
	if f.err != nil || !lencode.build(lengths[:19]) {
		return false
	}
	lengths = [320]uint8{}
	for i := 0; i < nlen+ndist; {
		sym := f.decode(&lencode)
		if f.err != nil {
			return false
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var val uint8
		var rep int
		switch sym {
		case 16:
			if i == 0 {
				return false
			}
			val, rep = lengths[i-1], 3+int(f.bits(2))
		case 17:
			rep = 3 + int(f.bits(3))
		default:
			rep = 11 + int(f.bits(7))
		}
		if f.err != nil || i+rep > nlen+ndist {
			return false
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return false // no end-of-block code
	}
	return f.dyn[0].build(lengths[:nlen]) && f.dyn[1].build(lengths[nlen:nlen+ndist])
}

func (f *inflater) huffmanStep() {
	sym := f.decode(f.lit)
	switch {
	case f.err != nil:
		return
	case sym < 256:
		f.put(byte(sym))
		return
	case sym == 256:
		f.inBlock = false
		return
	}
	sym -= 257
	if sym >= len(lengthBase) {
		f.err = errInflate
		return
	}
	length := int(lengthBase[sym]) + int(f.bits(uint(lengthExtra[sym])))
	dsym := f.decode(f.dist)
	if f.err != nil {
		return
	}
	if dsym >= len(distBase) {
		f.err = errInflate
		return
	}
	dist := int(distBase[dsym]) + int(f.bits(uint(distExtra[dsym])))
	if f.err != nil {
		return
	}
	if dist > f.whave {
		f.err = errInflate
		return
	}
	for ; length > 0; length-- {
		f.put(f.window[(f.wpos-dist)&(windowSize-1)])
	}
}
