package config

import (
	"net/netip"
	"reflect"
	"strconv"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// leafTypes are set whole (their fields are unexported): the value a base
// config holds, and another.
var leafTypes = map[reflect.Type][2]any{
	reflect.TypeOf(Template{}):       {mustTemplate("base-{user}"), mustTemplate("other-{uid}")},
	reflect.TypeOf(netip.AddrPort{}): {netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.2:1")},
	reflect.TypeOf(netip.Prefix{}):   {netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/16")},
}

func mustTemplate(s string) Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// fill gives every field of v a value: slices one element, maps one entry.
func fill(v reflect.Value) {
	if pair, ok := leafTypes[v.Type()]; ok {
		v.Set(reflect.ValueOf(pair[0]))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !ignored(v.Type().Field(i).Type) {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("base")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	}
}

// mutation changes one thing of a config.
type mutation struct {
	path   string
	mutate func(root reflect.Value)
}

// mutations lists a change of every field reachable from v (at path, found
// from the root by at).
func mutations(v reflect.Value, path string, at func(root reflect.Value) reflect.Value) []mutation {
	if pair, ok := leafTypes[v.Type()]; ok {
		return []mutation{{path, func(r reflect.Value) { at(r).Set(reflect.ValueOf(pair[1])) }}}
	}
	switch v.Kind() {
	case reflect.Struct:
		var out []mutation
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if ignored(f.Type) {
				continue
			}
			out = append(out, mutations(v.Field(i), path+"."+f.Name, func(r reflect.Value) reflect.Value { return at(r).Field(i) })...)
		}
		return out
	case reflect.Slice:
		out := []mutation{{path + "+", func(r reflect.Value) { s := at(r); s.Set(reflect.Append(s, s.Index(0))) }}}
		return append(out, mutations(v.Index(0), path+"[0]", func(r reflect.Value) reflect.Value { return at(r).Index(0) })...)
	case reflect.Map:
		return []mutation{
			{path + " new key", func(r reflect.Value) {
				m := at(r)
				k := reflect.New(m.Type().Key()).Elem()
				m.SetMapIndex(k, m.MapIndex(m.MapKeys()[0]))
			}},
			{path + " value", func(r reflect.Value) {
				m := at(r)
				m.SetMapIndex(m.MapKeys()[0], reflect.New(m.Type().Elem()).Elem())
			}},
		}
	}
	return []mutation{{path, func(r reflect.Value) { change(at(r)) }}}
}

func change(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	default:
		panic("fingerprint test: add a mutation for " + v.Type().String())
	}
}

// Every field of the configuration, found by reflection (a field added later
// included), changes the fingerprint; where it was written does not.
func TestFingerprintCountsEveryField(t *testing.T) {
	base := func() reflect.Value {
		c := reflect.New(reflect.TypeOf(Config{})).Elem()
		fill(c)
		return c
	}
	want := Fingerprint(base().Interface())
	muts := mutations(base(), "Config", func(r reflect.Value) reflect.Value { return r })
	if len(muts) < 60 {
		t.Fatalf("only %d mutations: the walk misses fields", len(muts))
	}
	seen := map[string]bool{}
	for _, m := range muts {
		c := base()
		m.mutate(c)
		got := Fingerprint(c.Interface())
		if got == want {
			t.Errorf("changing %s leaves the fingerprint as it was", m.path)
		}
		if seen[got] {
			t.Errorf("changing %s gives the fingerprint of another change", m.path)
		}
		seen[got] = true
	}

	c := base().Addr().Interface().(*Config)
	c.Pos = Position{Block: hcl.Range{Filename: "other.hcl", Start: hcl.Pos{Line: 9}}}
	c.Roles[0].Pos.Attrs = map[string]hcl.Range{"arn": {Filename: "x"}}
	c.Warnings = hcl.Diagnostics{{Summary: "a warning"}}
	if got := Fingerprint(*c); got != want {
		t.Error("positions or warnings change the fingerprint")
	}
}

func TestFingerprintOfParts(t *testing.T) {
	a := Role{Name: "r", Tags: map[string]Template{"a": mustTemplate("1"), "b": mustTemplate("2")}}
	b := Role{Name: "r", Tags: map[string]Template{"b": mustTemplate("2"), "a": mustTemplate("1")}}
	if Fingerprint(a) != Fingerprint(b) {
		t.Error("map order changes the fingerprint")
	}
	for i, pair := range [][2]any{
		{Source{Name: "ab", Key: ""}, Source{Name: "a", Key: "b"}},
		{Client{UIDs: []uint32{1, 2}}, Client{UIDs: []uint32{12}}},
		{Role{PolicyARNs: []string{"a", "b"}}, Role{PolicyARNs: []string{"b", "a"}}},
	} {
		if Fingerprint(pair[0]) == Fingerprint(pair[1]) {
			t.Errorf("case %s: %+v and %+v have one fingerprint", strconv.Itoa(i), pair[0], pair[1])
		}
	}
}
