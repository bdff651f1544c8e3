package policy

import (
	"math/bits"
	"strings"
	"unicode/utf8"
)

// Wildcard patterns (actions, resources, StringLike and Arn* values) are
// compiled into tokens: a literal byte, or one of the wildcards below. The
// matcher picks the cheapest algorithm the pattern allows: exact comparison, a
// literal prefix, the classic greedy match with one backtrack point, or (only
// when a wildcard may not cross a colon) a bit-parallel NFA.

const (
	tokStar     uint16 = 256 + iota // any run of characters
	tokStarSeg                      // any run of characters without ':'
	tokQuest                        // any one character
	tokQuestSeg                     // any one character but ':'
)

// patMode says how a pattern's wildcards behave.
type patMode uint8

const (
	// modeAction: case-insensitive (the pattern is lower-cased; the caller
	// lower-cases the text), '*' and '?' match anything.
	modeAction patMode = iota
	// modeLike: case-sensitive, '*' and '?' match anything (StringLike).
	modeLike
	// modeARN: case-sensitive and ARN-segment-aware (Resource, NotResource,
	// ArnLike, ArnEquals): a '*' that is the last character of a segment
	// (followed by ':' or by the end) may match across colons; any other '*',
	// and '?', stays within its segment.
	modeARN
)

type pkind uint8

const (
	pNone   pkind = iota // matches nothing (unused zero value)
	pAll                 // "*"
	pExact               // literal
	pPrefix              // literal then a final unrestricted '*'
	pGreedy              // wildcards that may all cross colons
	pNFA                 // some wildcard may not cross a colon
)

type pattern struct {
	kind pkind
	lit  string
	toks []uint16
}

// tokenize appends the tokens of literal text seg. next is the character of
// the pattern as written that follows seg (-1 at the end), which decides
// whether a final '*' of seg ends an ARN segment.
func tokenize(dst []uint16, seg string, mode patMode, next int) []uint16 {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch c {
		case '*':
			j := i
			for j+1 < len(seg) && seg[j+1] == '*' {
				j++
			}
			t := tokStar
			if mode == modeARN {
				follow := next
				if j+1 < len(seg) {
					follow = int(seg[j+1])
				}
				if follow != ':' && follow != -1 {
					t = tokStarSeg
				}
			}
			if n := len(dst); n > 0 && (dst[n-1] == tokStar || dst[n-1] == tokStarSeg) {
				// A star that follows a variable-free star: keep the wider one.
				if t == tokStar {
					dst[n-1] = tokStar
				}
			} else {
				dst = append(dst, t)
			}
			i = j
		case '?':
			if mode == modeARN {
				dst = append(dst, tokQuestSeg)
			} else {
				dst = append(dst, tokQuest)
			}
		default:
			if mode == modeAction {
				c = lowerASCII(c)
			}
			dst = append(dst, uint16(c))
		}
	}
	return dst
}

// appendLiteral appends s as literal tokens (a variable's value, or ${*}).
func appendLiteral(dst []uint16, s string, mode patMode) []uint16 {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mode == modeAction {
			c = lowerASCII(c)
		}
		dst = append(dst, uint16(c))
	}
	return dst
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// compilePattern builds a matcher from the pattern as written (no variables).
func compilePattern(s string, mode patMode) pattern {
	return newPattern(tokenize(nil, s, mode, -1))
}

// newPattern classifies tokens into the cheapest matcher.
func newPattern(toks []uint16) pattern {
	wild, seg := 0, false
	for i, t := range toks {
		if t >= 256 {
			wild++
			if t == tokStarSeg || t == tokQuestSeg {
				seg = true
			}
			if t == tokStar && i == len(toks)-1 && wild == 1 {
				if len(toks) == 1 {
					return pattern{kind: pAll}
				}
				return pattern{kind: pPrefix, lit: tokString(toks[:i])}
			}
		}
	}
	switch {
	case wild == 0:
		return pattern{kind: pExact, lit: tokString(toks)}
	case seg:
		return pattern{kind: pNFA, toks: toks}
	default:
		return pattern{kind: pGreedy, toks: toks}
	}
}

func tokString(toks []uint16) string {
	b := make([]byte, len(toks))
	for i, t := range toks {
		b[i] = byte(t)
	}
	return string(b)
}

// text is what patterns match: a string, or the lower-cased action in a
// stack buffer.
type text interface{ ~string | ~[]byte }

func matchPattern[T text](p *pattern, s T) bool {
	switch p.kind {
	case pAll:
		return true
	case pExact:
		return string(s) == p.lit
	case pPrefix:
		return len(s) >= len(p.lit) && string(s[:len(p.lit)]) == p.lit
	case pGreedy:
		return matchGreedy(p.toks, s)
	case pNFA:
		return matchNFA(p.toks, s)
	}
	return false
}

// matchTokens matches tokens built at evaluation time (a pattern with
// variables), choosing the algorithm by the tokens present.
func matchTokens[T text](toks []uint16, s T, seg bool) bool {
	if seg {
		return matchNFA(toks, s)
	}
	return matchGreedy(toks, s)
}

// matchGreedy is the classic wildcard match: on a mismatch, the most recent
// '*' takes one more character. It is exact when every '*' may match anything.
func matchGreedy[T text](p []uint16, s T) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			t := p[pi]
			switch {
			case t == tokStar:
				starP, starS = pi, si
				pi++
				continue
			case t == tokQuest:
				pi++
				si += runeLen(s, si)
				continue
			case t < 256 && byte(t) == s[si]:
				pi++
				si++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		pi = starP + 1
		starS++
		si = starS
	}
	for pi < len(p) && p[pi] == tokStar {
		pi++
	}
	return pi == len(p)
}

func runeLen[T text](s T, i int) int {
	c := s[i]
	if c < utf8.RuneSelf {
		return 1
	}
	var n int
	switch {
	case c&0xE0 == 0xC0:
		n = 2
	case c&0xF0 == 0xE0:
		n = 3
	case c&0xF8 == 0xF0:
		n = 4
	default:
		return 1
	}
	if i+n > len(s) {
		return 1
	}
	for k := 1; k < n; k++ {
		if s[i+k]&0xC0 != 0x80 {
			return 1
		}
	}
	return n
}

// nfaWords bounds the pattern length the NFA tracks on the stack.
const nfaWords = 8

// matchNFA runs the pattern as a nondeterministic automaton over a bit set of
// pattern positions: position i active means tokens [0,i) matched a prefix of
// s. No backtracking, so no blow-up on hostile patterns. Text is consumed one
// character (rune) at a time.
func matchNFA[T text](p []uint16, s T) bool {
	words := (len(p) + 1 + 63) / 64
	var bufA, bufB [nfaWords]uint64
	var cur, next []uint64
	if words > nfaWords {
		cur, next = make([]uint64, words), make([]uint64, words)
	} else {
		cur, next = bufA[:words], bufB[:words]
	}
	cur[0] = 1
	closure(p, cur)
	for si := 0; si < len(s); {
		c := s[si]
		w := runeLen(s, si)
		clear(next)
		active := false
		for wi, word := range cur {
			for word != 0 {
				i := wi*64 + bits.TrailingZeros64(word)
				word &= word - 1
				if i >= len(p) {
					continue
				}
				j := -1
				switch t := p[i]; t {
				case tokStar:
					j = i
				case tokStarSeg:
					if c != ':' {
						j = i
					}
				case tokQuest:
					j = i + 1
				case tokQuestSeg:
					if c != ':' {
						j = i + 1
					}
				default:
					if i+w <= len(p) {
						j = i + w
						for k := 0; k < w; k++ {
							if p[i+k] >= 256 || byte(p[i+k]) != s[si+k] {
								j = -1
								break
							}
						}
					}
				}
				if j >= 0 {
					next[j/64] |= 1 << (j % 64)
					active = true
				}
			}
		}
		if !active {
			return false
		}
		closure(p, next)
		cur, next = next, cur
		si += w
	}
	last := len(p)
	return cur[last/64]&(1<<(last%64)) != 0
}

// closure lets every active '*' also match the empty string.
func closure(p []uint16, set []uint64) {
	for i, t := range p {
		if (t == tokStar || t == tokStarSeg) && set[i/64]&(1<<(i%64)) != 0 {
			j := i + 1
			set[j/64] |= 1 << (j % 64)
		}
	}
}

// hasWildcard reports whether s (as written) contains '*' or '?'.
func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }
