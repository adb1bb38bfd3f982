package filebased_test

import (
	"context"
	"errors"
	"io"
	"math/bits"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/beamgo-dev/beamgo/io/filebased"
)

// TestZstdWindowLimit reads zstd files whose frames declare windows up to
// and past MaxZstdWindow: the larger one fails, naming the file and the
// limit, before the decoder allocates the window.
func TestZstdWindowLimit(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		window  int
		wantErr bool
	}{
		{name: "a window of the limit is read", window: filebased.MaxZstdWindow},
		{name: "a window past the limit is refused", window: 2 * filebased.MaxZstdWindow, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := zstdFrame(t, tt.window, "a small file\n")
			path := memDir(t) + "/in.zst"
			put(t, path, b, filebased.Uncompressed)
			f := filebased.File{Path: path, Size: int64(len(b)), Compression: filebased.Zstd}
			start := time.Now()
			got, err := readAll(ctx, f)
			switch {
			case !tt.wantErr && (err != nil || got != "a small file\n"):
				t.Errorf("read %q, %v; want the file's line", got, err)
			case tt.wantErr && (!errors.Is(err, zstd.ErrWindowSizeExceeded) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "MaxZstdWindow")):
				t.Errorf("read %q, %v; want an error naming the file and MaxZstdWindow that matches zstd.ErrWindowSizeExceeded", got, err)
			}
			t.Logf("read in %v: %v", time.Since(start), err)
		})
	}
}

func readAll(ctx context.Context, f filebased.File) (string, error) {
	r, err := f.Open(ctx, 0)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

// zstdFrame returns a zstd frame (RFC 8878) that declares a window of
// window bytes, a power of two of at least 1 KiB, and holds content in one
// raw block.
func zstdFrame(t *testing.T, window int, content string) []byte {
	t.Helper()
	exp := bits.Len(uint(window)) - 1 - 10 // window = 1 << (10 + exp)
	if window&(window-1) != 0 || exp < 0 || exp > 31 || len(content) >= 1<<21 {
		t.Fatalf("zstdFrame(%d, %d bytes): unsupported", window, len(content))
	}
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, // magic
		0x00,           // frame header descriptor: no content size, not single-segment, no checksum, no dictionary
		byte(exp << 3), // window descriptor: exponent, mantissa 0
	}
	blockHeader := 1 | len(content)<<3 // last block, raw
	b = append(b, byte(blockHeader), byte(blockHeader>>8), byte(blockHeader>>16))
	return append(b, content...)
}
