package sdk_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/beamgo-dev/beamgo/sdk"
)

// captureStdout runs f with os.Stdout going to a pipe and returns what was
// written. It changes a process-wide variable: tests using it do not run
// in parallel.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, r); close(done) }()
	old := os.Stdout
	os.Stdout = w
	defer func() {
		os.Stdout = old
		w.Close()
		<-done
	}()
	f()
	os.Stdout = old
	w.Close()
	<-done
	return out.String()
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines)
	return lines
}

func TestPrint(t *testing.T) {
	for name, r := range runners() {
		t.Run(name, func(t *testing.T) {
			p := sdk.NewPipeline()
			s := p.Root()
			sdk.Print(s, "word> ", sdk.Create(s, []string{"b", "a", "c"}))
			sdk.Print(s, "", sdk.Create(s, []sdk.KV[string, int]{{Key: "k", Value: 1}}))
			out := captureStdout(t, func() {
				if _, err := r.Run(context.Background(), p); err != nil {
					t.Fatalf("Run: %v", err)
				}
			})
			want := []string{"word> a", "word> b", "word> c", "{k 1}"}
			slices.Sort(want)
			if got := sortedLines(out); !slices.Equal(got, want) {
				t.Errorf("printed %q, want %q", got, want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of bundles.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLog(t *testing.T) {
	for name, r := range runners() {
		t.Run(name, func(t *testing.T) {
			var buf syncBuffer
			old := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				},
			})))
			defer slog.SetDefault(old)
			p := sdk.NewPipeline()
			s := p.Root()
			sdk.Log(s, "seen", slog.LevelWarn, sdk.Create(s, []int{2, 1}), sdk.Name("Show"))
			if _, err := r.Run(context.Background(), p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := []string{
				"level=WARN msg=seen element=1 transform=Show",
				"level=WARN msg=seen element=2 transform=Show",
			}
			// The runner may log too: keep the records of Log.
			got := slices.DeleteFunc(sortedLines(buf.String()), func(l string) bool { return !strings.Contains(l, "msg=seen") })
			if !slices.Equal(got, want) {
				t.Errorf("logged %q, want %q", got, want)
			}
		})
	}
}
