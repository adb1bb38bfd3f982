package coder_test

import (
	"fmt"
	"log"

	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

func ExampleOf() {
	c, err := coder.Of[coder.KV[string, int64]]()
	if err != nil {
		log.Fatal(err)
	}
	b := c.Encode(nil, coder.KV[string, int64]{Key: "beam", Value: 300})
	fmt.Printf("%x\n", b)
	kv, n, err := c.Decode(b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(kv.Key, kv.Value, n)
	fmt.Println(c.Spec(), c.Deterministic())
	// Output:
	// 046265616dac02
	// beam 300 7
	// beam:coder:kv:v1(beam:coder:string_utf8:v1, beam:coder:varint:v1) true
}

func ExampleNewRow() {
	type Person struct {
		Name  string
		Age   int32
		Email *string `beam:"email"`
	}
	c, err := coder.NewRow[Person]()
	if err != nil {
		log.Fatal(err)
	}
	b := c.Encode(nil, Person{Name: "Ada", Age: 36})
	// Three fields, a one-byte null bitmap marking field 2, then "Ada" and 36.
	fmt.Printf("% x\n", b)

	// A runner that knows only the spec decodes the same bytes as a Row.
	dyn, err := coder.FromSpec(c.Spec())
	if err != nil {
		log.Fatal(err)
	}
	row, _, err := dyn.DecodeAny(b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v %v\n", row.(coder.Row).Names, row.(coder.Row).Values)
	// Output:
	// 03 01 04 03 41 64 61 24
	// [Name Age email] [Ada 36 <nil>]
}

func ExampleNewWindowedValue() {
	c := coder.NewWindowedValue(coder.String(), coder.GlobalWindow())
	b := c.Encode(nil, window.InGlobalWindow("hello"))
	fmt.Printf("%x\n", b)
	// In the outer context the element has no length prefix.
	fmt.Printf("%x\n", coder.EncodeOuter(c, nil, window.InGlobalWindow("hello")))
	// Output:
	// 7fdf3b645a1cac09000000010f0568656c6c6f
	// 7fdf3b645a1cac09000000010f68656c6c6f
}

func ExampleNewIterSeq() {
	c := coder.NewIterSeq(coder.Varint[int]())
	b := coder.NewIterable(coder.Varint[int]()).Encode(nil, []int{1, 2, 3})
	seq, _, err := c.Decode(b)
	if err != nil {
		log.Fatal(err)
	}
	for v := range seq {
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 1 2 3
}
