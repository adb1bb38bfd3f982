package translate_test

import (
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

func protoText(s string, m proto.Message) error { return prototext.Unmarshal([]byte(s), m) }
