package operator

import (
	"strings"
	"testing"
)

func TestReadableStack(t *testing.T) {
	raw := `goroutine 46 [running]:
runtime/debug.Stack()
	/go/src/runtime/debug/stack.go:26 +0x5e
example.com/op.PanicError({0x24fefed6851a, 0x5}, {0x16c1c20, 0x24fefeb86670}, 0x1)
	/src/op/operator.go:244 +0x110
example.com/op.(*FuncOp[...]).apply.func1()
	/src/op/funcop.go:173 +0x9b
panic({0x16c1c20?, 0x24fefeb86660?})
	/go/src/runtime/panic.go:860 +0x13a
main.parse({0x1b70287?, 0x30101?})
	/src/main.go:30 +0x5b
example.com/op.(*FuncOp[...]).apply(0x10500fefec1f140?, {0x1b70287?, 0x7f4911dd8a00?})
	/src/op/funcop.go:176 +0x7a
created by example.com/h.(*harness).serve in goroutine 25
	/src/h/harness.go:204 +0x3fa
`
	want := `  main.parse
    /src/main.go:30
  example.com/op.(*FuncOp[...]).apply
    /src/op/funcop.go:176
  created by example.com/h.(*harness).serve in goroutine 25
    /src/h/harness.go:204`
	if got := readableStack(raw); got != want {
		t.Errorf("readableStack =\n%s\nwant\n%s", got, want)
	}
	if got := readableStack("not a stack"); !strings.Contains(got, "not a stack") {
		t.Errorf("readableStack of text = %q, want the text kept", got)
	}
}
