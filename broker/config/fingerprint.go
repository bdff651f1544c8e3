package config

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"reflect"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
)

// Fingerprint is a digest of everything v (a Role, Source, Listen, Keyring,
// Upstream... or a whole Config) says, walked by reflection so that a field
// added later counts without anyone listing it. Where things were written
// (Position, hcl ranges) and the warnings do not count: two values with the
// same fingerprint configure the same thing, and a reload keeps what was
// built from one when the other replaces it.
func Fingerprint(v any) string {
	h := sha256.New()
	walk(h, reflect.ValueOf(v))
	return hex.EncodeToString(h.Sum(nil))
}

var (
	positionType    = reflect.TypeOf(Position{})
	rangeType       = reflect.TypeOf(hcl.Range{})
	diagnosticsType = reflect.TypeOf(hcl.Diagnostics{})
	textType        = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// ignored reports whether a value of type t says where, not what.
func ignored(t reflect.Type) bool {
	return t == positionType || t == rangeType || t == diagnosticsType
}

// walk writes v to h unambiguously: every value is tagged with its kind and
// variable-length ones with their length.
func walk(h hash.Hash, v reflect.Value) {
	if !v.IsValid() {
		h.Write([]byte("nil;"))
		return
	}
	if v.CanInterface() && v.Type().Implements(textType) && v.Kind() != reflect.Pointer {
		if b, err := v.Interface().(encoding.TextMarshaler).MarshalText(); err == nil {
			tagged(h, "text", string(b))
			return
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		fmt.Fprintf(h, "struct %s{", v.Type())
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); !ignored(f.Type) {
				tagged(h, "field", f.Name)
				walk(h, v.Field(i))
			}
		}
		h.Write([]byte("}"))
	case reflect.Slice, reflect.Array:
		fmt.Fprintf(h, "list %d[", v.Len())
		for i := 0; i < v.Len(); i++ {
			walk(h, v.Index(i))
		}
		h.Write([]byte("]"))
	case reflect.Map:
		walkMap(h, v)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			h.Write([]byte("nil;"))
			return
		}
		walk(h, v.Elem())
	case reflect.String:
		tagged(h, "string", v.String())
	case reflect.Bool:
		tagged(h, "bool", strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		tagged(h, "int", strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		tagged(h, "uint", strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		tagged(h, "float", strconv.FormatFloat(v.Float(), 'g', -1, 64))
	default:
		// A func, chan or unsafe pointer says nothing comparable; its type is
		// all that counts (TestFingerprintCountsEveryField fails on such a field,
		// so that someone decides what it should count for).
		tagged(h, "opaque", v.Type().String())
	}
}

// walkMap writes a map's entries in the order of their keys' digests.
func walkMap(h hash.Hash, v reflect.Value) {
	type entry struct{ k, v string }
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		kh, vh := sha256.New(), sha256.New()
		walk(kh, it.Key())
		walk(vh, it.Value())
		entries = append(entries, entry{string(kh.Sum(nil)), string(vh.Sum(nil))})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].k < entries[j].k })
	fmt.Fprintf(h, "map %d{", len(entries))
	for _, e := range entries {
		h.Write([]byte(e.k))
		h.Write([]byte(e.v))
	}
	h.Write([]byte("}"))
}

func tagged(h hash.Hash, kind, s string) {
	fmt.Fprintf(h, "%s %d:%s;", kind, len(s), s)
}
