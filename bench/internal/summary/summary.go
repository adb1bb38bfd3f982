// Package summary is the result line that every benchmark program prints
// as JSON on stdout, and the digest of word counts that lets the driver
// check that all programs computed the same counts.
package summary

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Summary is one program's result. Programs fill what applies to them.
type Summary struct {
	Program string `json:"program"`
	// Seconds is the program's own measure of the job, without start-up.
	Seconds float64 `json:"seconds"`
	// Words, Distinct and Digest describe word counts (see Digest).
	Words    int64  `json:"words,omitempty"`
	Distinct int    `json:"distinct,omitempty"`
	Digest   string `json:"digest,omitempty"`
	// Groups, Values and GroupDigest describe a GroupByKey's output.
	Groups      int64  `json:"groups,omitempty"`
	Values      int64  `json:"values,omitempty"`
	GroupDigest uint64 `json:"group_digest,omitempty"`
	// Lines, LineBytes and LineSum are a read's linecount.Stats;
	// InputBytes is what the hand-written reader read, terminators
	// included.
	Lines      int64  `json:"lines,omitempty"`
	LineBytes  int64  `json:"line_bytes,omitempty"`
	LineSum    uint64 `json:"line_sum,omitempty"`
	InputBytes int64  `json:"input_bytes,omitempty"`
	// Runner statistics of the local runner.
	Stages  int `json:"stages,omitempty"`
	Bundles int `json:"bundles,omitempty"`
	Splits  int `json:"splits,omitempty"`
	Spills  int `json:"spills,omitempty"`
	Retries int `json:"retries,omitempty"`
	// PeakRSSKiB is the program's own peak resident set (VmHWM), where
	// the system reports it.
	PeakRSSKiB int64 `json:"peak_rss_kib,omitempty"`
	// TreeRSSKiB is the peak of the summed resident sets of the program
	// and its child processes (worker processes), sampled every 10 ms by
	// the program (see SampleTreeRSS); 0 where not measured.
	TreeRSSKiB int64 `json:"tree_rss_kib,omitempty"`
	// Workers is how many worker processes the program's runner started.
	Workers int `json:"workers,omitempty"`
	// MaxLiveHeapKiB is the largest live heap the garbage collector
	// measured (see HeapSampler), where the program sampled it.
	MaxLiveHeapKiB int64 `json:"max_live_heap_kib,omitempty"`
	// Read names how the program read its input.
	Read string `json:"read,omitempty"`
}

// Print writes s as one JSON line to w, with the peak RSS filled in.
func (s Summary) Print(w io.Writer) error {
	s.PeakRSSKiB = PeakRSSKiB()
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// Parse returns the last JSON summary line of a program's output.
func Parse(out []byte) (Summary, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.HasPrefix(lines[i], "{") {
			continue
		}
		var s Summary
		if err := json.Unmarshal([]byte(lines[i]), &s); err != nil {
			return Summary{}, fmt.Errorf("summary: %q: %w", lines[i], err)
		}
		return s, nil
	}
	return Summary{}, fmt.Errorf("summary: no JSON line in output %q", out)
}

// Digest hashes word counts: SHA-256 of "word\tcount\n" lines sorted by
// word. It returns the total of the counts too. bench/beam, a separate
// module, computes the same digest with its own copy of this function.
func Digest(counts map[string]int64) (total int64, digest string) {
	keys := make([]string, 0, len(counts))
	for k, n := range counts {
		keys = append(keys, k)
		total += n
	}
	slices.Sort(keys)
	h := sha256.New()
	var line []byte
	for _, k := range keys {
		line = append(line[:0], k...)
		line = append(line, '\t')
		line = strconv.AppendInt(line, counts[k], 10)
		line = append(line, '\n')
		h.Write(line)
	}
	return total, hex.EncodeToString(h.Sum(nil))
}

// WordCount returns the summary of word counts.
func WordCount(program string, counts map[string]int64) Summary {
	total, d := Digest(counts)
	return Summary{Program: program, Words: total, Distinct: len(counts), Digest: d}
}

// PeakRSSKiB returns this process's peak resident set size in KiB from
// /proc/self/status, or 0 where that is not available.
func PeakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}
