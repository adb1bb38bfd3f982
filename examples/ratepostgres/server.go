package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// server is a throw-away PostgreSQL server in a temporary directory.
type server struct {
	// DSN is the server's URL.
	DSN string
	// stop stops the server and removes its directory.
	stop func()
}

// Stop stops the server and removes its directory.
func (s *server) Stop() { s.stop() }

// errNoPostgres says how to get what startServer needs.
var errNoPostgres = errors.New("ratepostgres: no --dsn and no PostgreSQL installed to start a server from: " +
	"install Debian's postgresql package (apt-get install postgresql) or pass --dsn=postgres://user@host:port/db")

// startServer starts a server the way scripts/postgres.sh does: initdb in
// a temporary directory, trust authentication, listening on a free port of
// 127.0.0.1 only, run as the postgres (or nobody) user when we are root,
// since the server refuses to run as root.
func startServer(ctx context.Context) (*server, error) {
	bin := pgBin()
	if bin == "" {
		return nil, errNoPostgres
	}
	dir, err := os.MkdirTemp("", "ratepostgres-pg-")
	if err != nil {
		return nil, fmt.Errorf("ratepostgres: %w", err)
	}
	as, err := serverUser(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	pgctl := filepath.Join(bin, "pg_ctl")
	stop := func() {
		_ = as(context.Background(), pgctl, "-D", data, "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(dir)
	}
	if out, err := as(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale").CombinedOutput(); err != nil {
		stop()
		return nil, fmt.Errorf("ratepostgres: initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		stop()
		return nil, err
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off", port, dir)
	logFile := filepath.Join(dir, "server.log")
	if out, err := as(ctx, pgctl, "-D", data, "-l", logFile, "-w", "-t", "60", "-o", opts, "start").CombinedOutput(); err != nil {
		serverLog, _ := os.ReadFile(logFile)
		stop()
		return nil, fmt.Errorf("ratepostgres: pg_ctl start: %w\n%s%s", err, out, serverLog)
	}
	return &server{DSN: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), stop: stop}, nil
}

// pgBin returns the directory of initdb and pg_ctl: on PATH, or in
// Debian's versioned directories (newest first); "" if there is none.
func pgBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

// version returns the major version in a Debian directory
// /usr/lib/postgresql/<version>/bin.
func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&0o111 != 0
}

// serverUser returns how to run the server's commands: as ourselves, or,
// when we are root, as the postgres or nobody user, who is given dir.
func serverUser(dir string) (func(ctx context.Context, name string, args ...string) *exec.Cmd, error) {
	if os.Geteuid() != 0 {
		return exec.CommandContext, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return nil, fmt.Errorf("ratepostgres: running as root, and no postgres or nobody user to run the server as: %w", err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("ratepostgres: %w", err)
	}
	return func(ctx context.Context, name string, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", u.Username, "--", name}, args...)...)
	}, nil
}

// freePort returns a port of 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("ratepostgres: find a free port: %w", err)
	}
	defer l.Close()
	// Give the port back a moment before the server binds it.
	defer time.Sleep(10 * time.Millisecond)
	return l.Addr().(*net.TCPAddr).Port, nil
}
