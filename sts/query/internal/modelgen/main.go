// Command modelgen trims a botocore service model (service-2.json or .json.gz) to what
// package query needs to decode and validate requests: the operations' input shapes
// with their constraints (types, required members, lengths, ranges, patterns, enums,
// sensitivity) and the error codes with their HTTP statuses. Documentation and output
// shapes are dropped. The result is written gzipped, for go:embed.
//
//	go run ./sts/query/internal/modelgen -in "$BOTOCORE/data/sts/2011-06-15/service-2.json.gz" -out sts/model_sts.json.gz
//	go run ./sts/query/internal/modelgen -in "$BOTOCORE/data/iam/2010-05-08/service-2.json.gz" -out sts/iamapi/model_iam.json.gz
//
// where BOTOCORE is $(python3 -c "import botocore,os;print(os.path.dirname(botocore.__file__))").
// The packages embed those two files (sts/model_sts.json.gz, sts/iamapi/model_iam.json.gz).
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type model struct {
	Metadata struct {
		APIVersion   string `json:"apiVersion"`
		XMLNamespace string `json:"xmlNamespace"`
		Protocol     string `json:"protocol"`
		EndpointPfx  string `json:"endpointPrefix"`
	} `json:"metadata"`
	Operations map[string]struct {
		Input *struct {
			Shape string `json:"shape"`
		} `json:"input"`
	} `json:"operations"`
	Shapes map[string]map[string]json.RawMessage `json:"shapes"`
}

// keep lists the shape fields query reads.
var keep = []string{"type", "members", "required", "member", "key", "value", "min", "max", "pattern", "enum", "sensitive", "flattened", "locationName"}

func main() {
	in := flag.String("in", "", "botocore service-2.json or service-2.json.gz")
	out := flag.String("out", "", "output file (gzipped JSON)")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: modelgen -in service-2.json.gz -out model.json.gz")
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "modelgen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	if strings.HasSuffix(in, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return err
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	var m model
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if m.Metadata.Protocol != "query" {
		return fmt.Errorf("%s: protocol %q, want query", in, m.Metadata.Protocol)
	}
	type errInfo struct {
		Status int  `json:"status"`
		Sender bool `json:"sender,omitempty"`
	}
	res := struct {
		Version    string                                `json:"version"`
		Namespace  string                                `json:"namespace"`
		Service    string                                `json:"service"`
		Operations map[string]string                     `json:"operations"`
		Shapes     map[string]map[string]json.RawMessage `json:"shapes"`
		Errors     map[string]errInfo                    `json:"errors"`
	}{
		Version: m.Metadata.APIVersion, Namespace: m.Metadata.XMLNamespace, Service: m.Metadata.EndpointPfx,
		Operations: map[string]string{}, Shapes: map[string]map[string]json.RawMessage{}, Errors: map[string]errInfo{},
	}
	var visit func(name string) error
	visit = func(name string) error {
		if _, ok := res.Shapes[name]; ok {
			return nil
		}
		s, ok := m.Shapes[name]
		if !ok {
			return fmt.Errorf("shape %s is missing", name)
		}
		t := map[string]json.RawMessage{}
		for _, k := range keep {
			if v, ok := s[k]; ok {
				t[k] = v
			}
		}
		if mem, ok := t["members"]; ok {
			members, err := orderedMembers(mem)
			if err != nil {
				return fmt.Errorf("shape %s: %w", name, err)
			}
			t["members"], _ = json.Marshal(members)
		}
		res.Shapes[name] = t
		var refs []string
		if mem, ok := t["members"]; ok {
			var members []member
			_ = json.Unmarshal(mem, &members)
			for _, mm := range members {
				refs = append(refs, mm.Shape)
			}
		}
		for _, k := range []string{"member", "key", "value"} {
			if v, ok := t[k]; ok {
				var r struct{ Shape string }
				_ = json.Unmarshal(v, &r)
				refs = append(refs, r.Shape)
			}
		}
		sort.Strings(refs)
		for _, r := range refs {
			if err := visit(r); err != nil {
				return err
			}
		}
		return nil
	}
	for name, op := range m.Operations {
		if op.Input == nil {
			res.Operations[name] = ""
			continue
		}
		res.Operations[name] = op.Input.Shape
		if err := visit(op.Input.Shape); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, s := range m.Shapes {
		var e struct {
			Code   string `json:"code"`
			Status int    `json:"httpStatusCode"`
			Sender bool   `json:"senderFault"`
		}
		if v, ok := s["error"]; ok {
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if e.Code != "" {
				res.Errors[e.Code] = errInfo{Status: e.Status, Sender: e.Sender}
			}
		}
	}
	js, err := json.Marshal(res)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(js)
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// member is a structure member, kept in the model's order (the order AWS lists
// validation errors in).
type member struct {
	Name         string `json:"name"`
	Shape        string `json:"shape"`
	LocationName string `json:"locationName,omitempty"`
	Flattened    bool   `json:"flattened,omitempty"`
}

// orderedMembers reads a "members" object keeping its keys' order.
func orderedMembers(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("members is not an object")
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		var m member
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		m.Name = name
		out = append(out, m)
	}
	return out, nil
}
