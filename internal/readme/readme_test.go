package readme

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The markers that announce a Go block in the README, on the line before
// its opening fence.
const (
	// compiledPrefix is followed by a package directory and the name of
	// the function whose body (or, for a block starting "func ", whole
	// declaration) the block is.
	compiledPrefix = "<!-- compiled: "
	// extmodule marks the block internal/extmodule builds and runs.
	extmodule = "<!-- built and run: internal/extmodule -->"
)

// block is a Go code block of the README and the marker line before it.
type block struct {
	line   int // of the opening fence, 1-based
	marker string
	code   string
}

// goBlocks returns the ```go blocks of a markdown text.
func goBlocks(md string) ([]block, error) {
	lines := strings.Split(md, "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		b := block{line: i + 1}
		if i > 0 {
			b.marker = strings.TrimSpace(lines[i-1])
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			return nil, fmt.Errorf("line %d: go block is not closed", b.line)
		}
		b.code = strings.Join(lines[i+1:end], "\n") + "\n"
		out = append(out, b)
		i = end
	}
	return out, nil
}

// checkBlock reports whether b equals the function its marker names, in
// the module at root.
func checkBlock(root string, b block) error {
	if b.marker == extmodule {
		return nil
	}
	spec, ok := strings.CutPrefix(b.marker, compiledPrefix)
	spec, ok2 := strings.CutSuffix(spec, " -->")
	dir, name, ok3 := strings.Cut(spec, " ")
	if !ok || !ok2 || !ok3 {
		return fmt.Errorf("line %d: the go block needs a marker %q on the line before it, found %q", b.line, compiledPrefix+"<package dir> <function> -->", b.marker)
	}
	src, fd, err := findFunc(filepath.Join(root, filepath.FromSlash(dir)), name)
	if err != nil {
		return fmt.Errorf("line %d: %w", b.line, err)
	}
	want := funcBody(src, fd)
	if strings.HasPrefix(b.code, "func ") {
		want = src[fd.Pos()-1:fd.End()-1] + "\n"
	}
	if b.code != want {
		return fmt.Errorf("line %d: the block differs from %s in %s; it should read:\n%s", b.line, name, dir, want)
	}
	return nil
}

// findFunc returns the source of the file in dir (test files included)
// that declares the top-level function name, and its declaration. Offsets
// of the declaration are 1-based positions in that source.
func findFunc(dir, name string) (string, *ast.FuncDecl, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", nil, err
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return "", nil, err
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		if err != nil {
			return "", nil, err
		}
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == name {
				// A single file in its own FileSet starts at base 1.
				return string(src), fd, nil
			}
		}
	}
	return "", nil, fmt.Errorf("no function %s in %s", name, dir)
}

// funcBody returns the statements of fd's body, one tab of indentation
// removed from each line.
func funcBody(src string, fd *ast.FuncDecl) string {
	body := src[fd.Body.Lbrace : fd.Body.Rbrace-1] // after "{", before "}"
	body = strings.TrimPrefix(body, "\n")
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "\t")
	}
	return strings.Join(lines, "\n")
}

// checkReadme checks every Go block of the markdown md.
func checkReadme(root, md string) []error {
	blocks, err := goBlocks(md)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, b := range blocks {
		if err := checkBlock(root, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestReadmeBlocksAreCompiledFunctions(t *testing.T) {
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := goBlocks(string(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 3 {
		t.Fatalf("README.md has %d go blocks, want at least 3 (the quickstart, A pipeline, the source conformance test)", len(blocks))
	}
	for _, err := range checkReadme(root, string(md)) {
		t.Error(err)
	}
}

func TestDriftIsReported(t *testing.T) {
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(string) string
	}{
		{"a changed line in an Example's body", func(s string) string {
			return strings.Replace(s, `textio.Read(s, "books/*.txt.gz")`, `textio.Read(s, "books/*.txt")`, 1)
		}},
		{"a changed line in a test function", func(s string) string {
			return strings.Replace(s, "countingSource{Count: 25}", "countingSource{Count: 20}", 1)
		}},
		{"a go block without a marker", func(s string) string { return s + "\n```go\nx := 1\n```\n" }},
		{"a marker naming a missing function", func(s string) string {
			return strings.Replace(s, "Example_pipeline -->", "Example_gone -->", 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := tt.edit(string(md))
			if edited == string(md) {
				t.Fatal("the edit did not change the README")
			}
			if errs := checkReadme(root, edited); len(errs) != 1 {
				t.Errorf("checkReadme() = %v, want one error", errs)
			}
		})
	}
}
