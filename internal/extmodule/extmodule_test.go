package extmodule

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// modulePath is this SDK's module path, as a user's go.mod requires it.
const modulePath = "github.com/beamgo-dev/beamgo"

// TestAnExternalModuleBuildsAndRuns writes the README's quickstart as a
// module example.com/hello that requires modulePath (replaced by this
// checkout), with the requirements of this module so that no download is
// needed, then runs its word count on the local runner and with PROCESS
// workers.
func TestAnExternalModuleBuildsAndRuns(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ours, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(ours), "\n"); first != "module "+modulePath {
		t.Fatalf("go.mod starts %q, want module %s", first, modulePath)
	}
	dir := t.TempDir()
	gomod := "module example.com/hello" + strings.TrimPrefix(string(ours), "module "+modulePath) +
		"\nrequire " + modulePath + " v0.0.0\n\nreplace " + modulePath + " => " + root + "\n"
	write(t, filepath.Join(dir, "go.mod"), []byte(gomod))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), sum)
	write(t, filepath.Join(dir, "main.go"), quickstart(t, filepath.Join(root, "README.md")))

	bin := filepath.Join(dir, "hello")
	run(t, dir, "go", "build", "-o", bin, ".")
	want := []string{"be: 2", "not: 1", "or: 1", "to: 2"}
	if got := lines(run(t, dir, bin)); !slices.Equal(got, want) { // nothing on stderr
		t.Errorf("local runner printed %q, want %q", got, want)
	}
	// PROCESS workers are the program started again; the runner passes
	// their output on to its standard error, each line prefixed by the
	// worker's name.
	var got []string
	for _, l := range lines(run(t, dir, bin, "--runner=portable", "--environment_type=PROCESS")) {
		if worker, after, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(worker, "worker-") {
			got = append(got, after)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("PROCESS workers printed %q, want %q", got, want)
	}
}

// quickstart returns the Go code block of the README's "Your own module"
// section.
func quickstart(t *testing.T, readme string) []byte {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Your own module\n")
	if !ok {
		t.Fatal("README.md has no section \"## Your own module\"")
	}
	_, code, ok := strings.Cut(section, "```go\n")
	code, _, closed := strings.Cut(code, "```")
	if !ok || !closed {
		t.Fatal("README.md's section \"Your own module\" has no go code block")
	}
	return []byte(code)
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs a command in dir with module downloads turned off, and returns
// its standard output and standard error.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// lines returns the non-empty lines of s, sorted.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}
