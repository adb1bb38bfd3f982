package worker

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseReadsRunnerFlagsAndUserArguments(t *testing.T) {
	tests := []struct {
		name     string
		argv     []string
		raw      string
		wantMode Mode
		wantArgs []string
	}{
		{
			name:     "Prism's quoted id and provision endpoint are read.",
			argv:     []string{"--id='job-001[go-1]_go'", "--provision_endpoint=localhost:4321"},
			raw:      `["--runner=portable","--input","a b.txt"]`,
			wantMode: Mode{ID: "job-001[go-1]_go", ProvisionEndpoint: "localhost:4321"},
			wantArgs: []string{"--runner=portable", "--input", "a b.txt"},
		},
		{
			name:     "Values in the next argument and single dashes are read.",
			argv:     []string{"-id", `"w1"`, "--control_endpoint", "127.0.0.1:1", "-logging_endpoint=127.0.0.1:2"},
			raw:      `[]`,
			wantMode: Mode{ID: "w1", ControlEndpoint: "127.0.0.1:1", LoggingEndpoint: "127.0.0.1:2"},
			wantArgs: []string{},
		},
		{
			name:     "Unknown runner flags and stray words are ignored.",
			argv:     []string{"--semi_persist_dir=/tmp", "stray", "--worker_id=w2", "--artifact_endpoint=x:1"},
			raw:      `["-test.run=^TestX$"]`,
			wantMode: Mode{ID: "w2"},
			wantArgs: []string{"-test.run=^TestX$"},
		},
		{
			name:     "A lone quote is kept.",
			argv:     []string{"--id='"},
			raw:      `null`,
			wantMode: Mode{ID: "'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, args, err := parse(tt.argv, tt.raw)
			if err != nil {
				t.Fatalf("parse(%q, %s): %v", tt.argv, tt.raw, err)
			}
			if diff := cmp.Diff(tt.wantMode, m); diff != "" {
				t.Errorf("parse(%q) mode (-want +got):\n%s", tt.argv, diff)
			}
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("parse(%q) args (-want +got):\n%s", tt.argv, diff)
			}
		})
	}
}

func TestParseRejectsArgumentsThatAreNotAStringArray(t *testing.T) {
	for _, raw := range []string{`{"a":1}`, `[1,2]`, `--runner=local`, ``} {
		if _, _, err := parse(nil, raw); err == nil || !strings.Contains(err.Error(), ArgsVar) {
			t.Errorf("parse(nil, %q) = %v, want an error naming %s", raw, err, ArgsVar)
		}
	}
}

// FuzzArgumentsRoundTrip checks that any arguments survive Env and parse
// unchanged, whatever the runner's id looks like.
func FuzzArgumentsRoundTrip(f *testing.F) {
	f.Add("--input=a b.txt\x00-test.run=^TestX$", "job-001[go]_go")
	f.Add("", "'quoted'")
	f.Add("\x00\x00--id=fake", "--")
	f.Fuzz(func(t *testing.T, joined, id string) {
		args := strings.Split(joined, "\x00")
		env, err := Env(args)
		if !utf8.ValidString(joined) {
			if err == nil {
				t.Errorf("Env(%q) accepted an argument that is not UTF-8", args)
			}
			return
		}
		if err != nil {
			t.Fatalf("Env(%q): %v", args, err)
		}
		m, got, err := parse([]string{"--id='" + id + "'", "--provision_endpoint=127.0.0.1:1"}, env[ArgsVar])
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if diff := cmp.Diff(args, got); diff != "" {
			t.Errorf("arguments after Env and parse (-want +got):\n%s", diff)
		}
		if m.ID != id || m.ProvisionEndpoint != "127.0.0.1:1" {
			t.Errorf("parse mode = %+v, want id %q", m, id)
		}
	})
}

func TestCheckPoolAddrWantsHostAndPort(t *testing.T) {
	tests := []struct {
		name, addr string
		ok         bool
	}{
		{"a host and port are accepted", "127.0.0.1:50000", true},
		{"a bare port is accepted", ":0", true},
		{"an IPv6 host is accepted", "[::1]:50000", true},
		{"an empty value is refused", "", false},
		{"a host without a port is refused", "localhost", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPoolAddr(tt.addr)
			if (err == nil) != tt.ok {
				t.Errorf("checkPoolAddr(%q) = %v, want ok %v", tt.addr, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), PoolVar) {
				t.Errorf("checkPoolAddr(%q) = %v, want an error naming %s", tt.addr, err, PoolVar)
			}
		})
	}
}
