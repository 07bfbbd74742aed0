package flightsvc

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// decode parses a JSON body into m, refusing unknown fields; an empty body
// leaves m at its zero value.
func decode(body []byte, m proto.Message, what string) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, m); err != nil {
		return badRequest(fmt.Errorf("invalid %s: %v", what, err))
	}
	return nil
}

// encode writes m as JSON with the proto field names, zero values
// included, and 64-bit integers as JSON numbers (protojson writes them
// as strings).
func encode(m proto.Message) []byte {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("flightsvc: encode %T: %v", m, err)) // cannot happen for our messages
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		panic(fmt.Sprintf("flightsvc: re-read %T: %v", m, err))
	}
	numbers(m.ProtoReflect().Descriptor(), v)
	out, _ := json.Marshal(v)
	return out
}

// numbers turns the 64-bit integer fields of v (a message md) into numbers.
func numbers(md protoreflect.MessageDescriptor, v map[string]any) {
	for k, x := range v {
		fd := md.Fields().ByName(protoreflect.Name(k))
		switch {
		case fd == nil:
		case fd.IsMap():
			if m, ok := x.(map[string]any); ok {
				for mk, mv := range m {
					m[mk] = number(fd.MapValue(), mv)
				}
			}
		case fd.IsList():
			if l, ok := x.([]any); ok {
				for i := range l {
					l[i] = number(fd, l[i])
				}
			}
		default:
			v[k] = number(fd, x)
		}
	}
}

// number converts one value of field fd.
func number(fd protoreflect.FieldDescriptor, x any) any {
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if s, ok := x.(string); ok {
			return json.Number(s)
		}
	case protoreflect.MessageKind:
		if m, ok := x.(map[string]any); ok {
			numbers(fd.Message(), m)
		}
	}
	return x
}
