package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The parts are written in order over an existing file, and no temporary
// file is left beside it.
func TestWriteFileReplacesTheFileAndLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	if err := os.WriteFile(name, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, ".f-*.tmp", []byte("ab"), nil, []byte("cd")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(name)
	if err != nil || string(got) != "abcd" {
		t.Fatalf("file holds %q (%v), want %q", got, err, "abcd")
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".f-*.tmp")); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
}

// A target that cannot be replaced (a directory) fails, leaves it as it
// was and removes the temporary file.
func TestWriteFileFailureRemovesTheTemporary(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "d")
	if err := os.MkdirAll(filepath.Join(name, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, ".d-*.tmp", []byte("x")); err == nil {
		t.Fatal("replacing a non-empty directory succeeded")
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".d-*.tmp")); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
	if fi, err := os.Stat(name); err != nil || !fi.IsDir() {
		t.Fatalf("target changed: %v %v", fi, err)
	}
}

// A pending file is not at its target until Commit, and Abort leaves
// neither it nor its temporary file.
func TestBeginCommitsOnlyOnCommit(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	fill := func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }
	p, err := Begin(name, ".f-*.tmp", fill)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("target exists before Commit: %v", err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(name); err != nil || string(got) != "new" {
		t.Fatalf("file holds %q (%v) after Commit, want %q", got, err, "new")
	}
	p, err = Begin(filepath.Join(dir, "g"), ".f-*.tmp", fill)
	if err != nil {
		t.Fatal(err)
	}
	p.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("after Abort the directory holds %d files, want 1 (f)", len(ents))
	}
}
