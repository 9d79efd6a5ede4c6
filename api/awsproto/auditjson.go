package awsproto

import (
	"bytes"
	"slices"

	"github.com/belfry/belfry/domain/audit"
)

// The fast path of an audit record's members. requestParameters and responseElements are built by
// decoding JSON into maps, lower-casing the first letter of every key, hiding sensitive members and
// encoding again (sorted keys, no HTML escaping). memberWriter writes the same bytes in one pass over
// the JSON for the common case: every string plain ASCII without escapes, every number an integer
// of at most 15 digits (a float64 encodes it with the same digits). Anything else (an escape, a
// non-ASCII or control character, a fraction or an exponent, invalid JSON, deep nesting) makes it
// give up, and the generic path runs: the record is the same either way (the tests compare both).

// hiddenJSON is audit.Hidden as a JSON string.
var hiddenJSON = func() []byte {
	b, err := audit.MarshalJSON(audit.Hidden)
	if err != nil {
		panic(err)
	}
	return b
}()

// maxFastDepth bounds the nesting the fast path handles.
const maxFastDepth = 64

// member is one object member being written: its key (src[ks:ke], first letter lowered when
// written) and its value, already transformed, in the scratch buffer of its object's depth.
type member struct {
	ks, ke     int
	start, end int
}

// memberWriter is one pass over src; scratch and mems are per nesting depth and reused.
type memberWriter struct {
	src     []byte
	i       int
	scratch [maxFastDepth][]byte
	mems    [maxFastDepth][]member
}

// fastLowerKeys is lowerKeys' fast path (ok false: not handled, use lowerKeys).
func fastLowerKeys(b []byte) (out []byte, ok bool) {
	w := memberWriter{src: b}
	out, ok = w.value(nil, 0)
	if !ok || w.skipSpace() != len(b) {
		return nil, false
	}
	return out, true
}

// skipSpace moves past JSON whitespace and returns the position.
func (w *memberWriter) skipSpace() int {
	for w.i < len(w.src) {
		switch w.src[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return w.i
		}
	}
	return w.i
}

// value appends the transformed value at w.i to dst.
func (w *memberWriter) value(dst []byte, depth int) ([]byte, bool) {
	if w.skipSpace() == len(w.src) {
		return nil, false
	}
	switch c := w.src[w.i]; {
	case c == '{':
		return w.object(dst, depth)
	case c == '[':
		return w.array(dst, depth)
	case c == '"':
		s, e, ok := w.str()
		if !ok {
			return nil, false
		}
		return append(dst, w.src[s-1:e+1]...), true
	case c == 't':
		return w.literal(dst, "true")
	case c == 'f':
		return w.literal(dst, "false")
	case c == 'n':
		return w.literal(dst, "null")
	case c == '-' || c >= '0' && c <= '9':
		return w.number(dst)
	}
	return nil, false
}

func (w *memberWriter) literal(dst []byte, lit string) ([]byte, bool) {
	if !bytes.HasPrefix(w.src[w.i:], []byte(lit)) {
		return nil, false
	}
	w.i += len(lit)
	return append(dst, lit...), true
}

// number takes an integer of 1 to 15 digits, which a float64 holds and encodes exactly as written.
func (w *memberWriter) number(dst []byte) ([]byte, bool) {
	start := w.i
	if w.src[w.i] == '-' {
		w.i++
	}
	digits := w.i
	for w.i < len(w.src) && w.src[w.i] >= '0' && w.src[w.i] <= '9' {
		w.i++
	}
	n := w.i - digits
	if n == 0 || n > 15 || (n > 1 && w.src[digits] == '0') {
		return nil, false
	}
	if w.i < len(w.src) {
		switch w.src[w.i] {
		case '.', 'e', 'E':
			return nil, false
		}
	}
	return append(dst, w.src[start:w.i]...), true
}

// str takes a string of printable ASCII without escapes (encoded again, it is the same bytes) and
// returns the positions of its first byte and of its closing quote.
func (w *memberWriter) str() (start, end int, ok bool) {
	w.i++ // the opening quote
	start = w.i
	for ; w.i < len(w.src); w.i++ {
		switch c := w.src[w.i]; {
		case c == '"':
			w.i++
			return start, w.i - 1, true
		case c == '\\' || c < 0x20 || c > 0x7e:
			return 0, 0, false
		}
	}
	return 0, 0, false
}

func (w *memberWriter) array(dst []byte, depth int) ([]byte, bool) {
	if depth >= maxFastDepth {
		return nil, false
	}
	w.i++
	dst = append(dst, '[')
	if w.skipSpace() < len(w.src) && w.src[w.i] == ']' {
		w.i++
		return append(dst, ']'), true
	}
	for {
		var ok bool
		if dst, ok = w.value(dst, depth+1); !ok || w.skipSpace() == len(w.src) {
			return nil, false
		}
		switch w.src[w.i] {
		case ',':
			w.i++
			dst = append(dst, ',')
		case ']':
			w.i++
			return append(dst, ']'), true
		default:
			return nil, false
		}
	}
}

// object appends the object at w.i with its keys' first letters lowered, sensitive members hidden,
// members sorted by key, and of repeated keys the last.
func (w *memberWriter) object(dst []byte, depth int) ([]byte, bool) {
	if depth >= maxFastDepth {
		return nil, false
	}
	w.i++
	scratch, mems := w.scratch[depth][:0], w.mems[depth][:0]
	if w.skipSpace() < len(w.src) && w.src[w.i] == '}' {
		w.i++
	} else {
		for {
			var ok bool
			if scratch, mems, ok = w.member(scratch, mems, depth); !ok || w.skipSpace() == len(w.src) {
				return nil, false
			}
			c := w.src[w.i]
			w.i++
			if c == '}' {
				break
			}
			if c != ',' {
				return nil, false
			}
		}
	}
	w.scratch[depth], w.mems[depth] = scratch, mems
	return w.emit(dst, scratch, mems), true
}

// member reads one "key": value into scratch and mems.
func (w *memberWriter) member(scratch []byte, mems []member, depth int) ([]byte, []member, bool) {
	if w.skipSpace() == len(w.src) || w.src[w.i] != '"' {
		return nil, nil, false
	}
	ks, ke, ok := w.str()
	if !ok || w.skipSpace() == len(w.src) || w.src[w.i] != ':' {
		return nil, nil, false
	}
	w.i++
	m := member{ks: ks, ke: ke, start: len(scratch)}
	if scratch, ok = w.value(scratch, depth+1); !ok {
		return nil, nil, false
	}
	if v := scratch[m.start:]; sensitive(w.src[ks:ke]) && string(v) != "null" {
		scratch = append(scratch[:m.start], hiddenJSON...)
	}
	m.end = len(scratch)
	return scratch, append(mems, m), true
}

// emit appends the object of mems, sorted by their (lowered) keys, the last of equal keys kept.
func (w *memberWriter) emit(dst, scratch []byte, mems []member) []byte {
	slices.SortStableFunc(mems, func(a, b member) int { return compareKeys(w.src[a.ks:a.ke], w.src[b.ks:b.ke]) })
	dst = append(dst, '{')
	first := true
	for j, m := range mems {
		if j+1 < len(mems) && compareKeys(w.src[m.ks:m.ke], w.src[mems[j+1].ks:mems[j+1].ke]) == 0 {
			continue // a later member has the same key
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		if m.ke > m.ks {
			dst = append(dst, lowerASCII(w.src[m.ks]))
			dst = append(dst, w.src[m.ks+1:m.ke]...)
		}
		dst = append(dst, '"', ':')
		dst = append(dst, scratch[m.start:m.end]...)
	}
	return append(dst, '}')
}

// compareKeys orders two ASCII keys as their lowered-first-letter forms compare.
func compareKeys(a, b []byte) int {
	switch {
	case len(a) == 0 || len(b) == 0:
		return len(a) - len(b)
	case lowerASCII(a[0]) != lowerASCII(b[0]):
		return int(lowerASCII(a[0])) - int(lowerASCII(b[0]))
	}
	return bytes.Compare(a[1:], b[1:])
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// sensitive reports whether an ASCII key names a sensitive member, whatever its case.
func sensitive(key []byte) bool {
	var buf [32]byte
	if len(key) > len(buf) {
		return false // longer than any sensitive member
	}
	for i, c := range key {
		buf[i] = lowerASCII(c)
	}
	return sensitiveMembers[string(buf[:len(key)])]
}
