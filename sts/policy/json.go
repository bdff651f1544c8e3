package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// The policy grammar is checked on an ordered tree of the document rather than
// on Go maps, so that faults are reported in document order with their JSON path
// and position, and so that duplicate member names (which encoding/json would
// silently resolve to the last one) are refused instead of guessed at.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

type jnode struct {
	kind   jkind
	str    string // string value; number text; "true"/"false"
	items  []*jnode
	fields []jfield
	off    int64 // offset of the value's first byte
	end    int64 // offset just past the value
}

type jfield struct {
	key string
	off int64 // offset of the key
	val *jnode
}

// get returns the member named key, or nil.
func (n *jnode) get(key string) *jnode {
	for i := range n.fields {
		if n.fields[i].key == key {
			return n.fields[i].val
		}
	}
	return nil
}

const maxJSONDepth = 32

// parseJSON reads one JSON value (and nothing after it) into an ordered tree.
func parseJSON(doc []byte) (*jnode, *Error) {
	p := jparser{doc: doc, dec: json.NewDecoder(bytes.NewReader(doc))}
	p.dec.UseNumber()
	root, err := p.value("$", 0)
	if err != nil {
		return nil, err
	}
	if _, terr := p.dec.Token(); terr != io.EOF {
		return nil, p.syntax("$", p.dec.InputOffset())
	}
	return root, nil
}

type jparser struct {
	doc []byte
	dec *json.Decoder
}

// start skips separators after off to find where the next token begins.
func (p *jparser) start(off int64) int64 {
	for off < int64(len(p.doc)) {
		switch p.doc[off] {
		case ' ', '\t', '\n', '\r', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

func (p *jparser) syntax(path string, off int64) *Error {
	e := &Error{Code: CodeMalformedPolicyDocument, Message: msgSyntax, Path: path}
	e.Line, e.Column = position(p.doc, off)
	return e
}

func (p *jparser) value(path string, depth int) (*jnode, *Error) {
	off := p.start(p.dec.InputOffset())
	tok, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		return nil, p.syntax(path, off)
	}
	n := &jnode{off: off}
	switch t := tok.(type) {
	case nil:
		n.kind = jNull
	case bool:
		n.kind = jBool
		n.str = "false"
		if t {
			n.str = "true"
		}
	case json.Number:
		n.kind = jNumber
		n.str = string(t)
	case string:
		n.kind = jString
		n.str = t
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, p.syntax(path, off)
		}
		switch t {
		case '[':
			n.kind = jArray
			for p.dec.More() {
				item, e := p.value(indexPath(path, len(n.items)), depth+1)
				if e != nil {
					return nil, e
				}
				n.items = append(n.items, item)
			}
		case '{':
			n.kind = jObject
			for p.dec.More() {
				koff := p.start(p.dec.InputOffset())
				ktok, kerr := p.dec.Token()
				if kerr != nil {
					return nil, p.syntax(path, koff)
				}
				key, _ := ktok.(string)
				kpath := jsonPath(path, key)
				if n.get(key) != nil {
					return nil, p.syntax(kpath, koff)
				}
				val, e := p.value(kpath, depth+1)
				if e != nil {
					return nil, e
				}
				n.fields = append(n.fields, jfield{key: key, off: koff, val: val})
			}
		default:
			return nil, p.syntax(path, off)
		}
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			return nil, p.syntax(path, p.dec.InputOffset())
		}
	}
	n.end = p.dec.InputOffset()
	return n, nil
}

// position converts a byte offset into a 1-based line and column (in bytes).
func position(doc []byte, off int64) (line, col int) {
	if off > int64(len(doc)) {
		off = int64(len(doc))
	}
	line, col = 1, 1
	for _, c := range doc[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
