package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/beamgo-dev/beamgo/examples/wordcount/words"
	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/sdk"
)

// The jobs below write their results to files instead of keeping them in
// memory, for runners whose user code runs in other processes (the
// portable runner with PROCESS workers); Read* functions read them back.

// WordCountToFiles is WordCount writing "word\tcount" lines to files
// named prefix-SSSSS-of-NNNNN.
func WordCountToFiles(s sdk.Scope, pattern string, read ReadFunc, prefix string) {
	lines := read(s, pattern)
	ws := sdk.FlatMap(s, words.Words, lines, sdk.Name("ExtractWords"))
	counts := sdk.CountElements(s, ws)
	formatted := sdk.Map(s, func(kv sdk.KV[string, int64]) string {
		return kv.Key + "\t" + strconv.FormatInt(kv.Value, 10)
	}, counts, sdk.Name("Format"))
	textio.Write(s, prefix, formatted)
}

// ReadWordCounts reads the files WordCountToFiles wrote under prefix.
func ReadWordCounts(ctx context.Context, prefix string) (map[string]int64, error) {
	counts := map[string]int64{}
	err := readLines(ctx, prefix, func(line string) error {
		w, n, ok := strings.Cut(line, "\t")
		c, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("bad count line %q", line)
		}
		if _, dup := counts[w]; dup {
			return fmt.Errorf("word %q counted twice", w)
		}
		counts[w] = c
		return nil
	})
	return counts, err
}

// GroupByKeyToFile is GroupByKey writing its GroupStats as one line
// "groups values digest" to one file named prefix-00000-of-00001.
func GroupByKeyToFile(s sdk.Scope, pattern string, read ReadFunc, prefix string) {
	stats := groupStats(s, pattern, read)
	line := sdk.Map(s, func(st GroupStats) string {
		return fmt.Sprintf("%d %d %d", st.Groups, st.Values, st.Digest)
	}, stats, sdk.Name("Format"))
	textio.Write(s, prefix, line, textio.NumShards(1))
}

// ReadGroupStats reads the file GroupByKeyToFile wrote under prefix.
func ReadGroupStats(ctx context.Context, prefix string) (GroupStats, error) {
	var st GroupStats
	n := 0
	err := readLines(ctx, prefix, func(line string) error {
		n++
		if _, err := fmt.Sscanf(line, "%d %d %d", &st.Groups, &st.Values, &st.Digest); err != nil {
			return fmt.Errorf("bad stats line %q: %w", line, err)
		}
		return nil
	})
	if err == nil && n != 1 {
		err = fmt.Errorf("%d stats lines under %s, want 1", n, prefix)
	}
	return st, err
}

// readLines calls f with every line of the files matching prefix-*.
func readLines(ctx context.Context, prefix string, f func(string) error) error {
	files, err := filesystem.Match(ctx, prefix+"-*")
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no output files %s-*", prefix)
	}
	for _, file := range files {
		r, err := filesystem.NewRangeReader(ctx, file.Path, 0, -1)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if err := f(sc.Text()); err != nil {
				r.Close()
				return fmt.Errorf("%s: %w", file.Path, err)
			}
		}
		err = sc.Err()
		r.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", file.Path, err)
		}
	}
	return nil
}
