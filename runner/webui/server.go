package webui

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	// DefaultFinishedTTL is how long a finished job is kept.
	DefaultFinishedTTL = time.Hour
	// DefaultMaxFinishedJobs is how many finished jobs are kept.
	DefaultMaxFinishedJobs = 100
)

// Options configure a Server; the zero value means defaults.
type Options struct {
	// AllowedOrigins lists the origins ("http://host:port") beyond
	// loopback whose pages may call the API, and the hosts (as in the Host
	// header, "host:port") beyond loopback the server answers to, say
	// behind a proxy. By default only loopback is allowed.
	AllowedOrigins []string
	// FinishedTTL and MaxFinishedJobs bound the finished jobs kept
	// (defaults DefaultFinishedTTL and DefaultMaxFinishedJobs).
	FinishedTTL     time.Duration
	MaxFinishedJobs int
	// UpdateInterval is how often a job's event stream sends an update
	// while the job runs (default DefaultUpdateInterval).
	UpdateInterval time.Duration
	// Logger receives the server's errors (default slog.Default()).
	Logger *slog.Logger
}

// Server serves the UI and the API of the jobs added to it. It is an
// http.Handler; Start also listens. It is safe for concurrent use.
type Server struct {
	opts   Options
	jobs   *registry
	mux    *http.ServeMux
	static http.Handler
	srv    *http.Server
	lis    net.Listener
	// done is closed by Stop, ending the event streams.
	done     chan struct{}
	stopOnce sync.Once
}

//go:embed static
var staticFiles embed.FS

// New returns a server that does not listen: serve it with
// http.Serve or httptest. opts may be nil.
func New(opts *Options) *Server {
	s := &Server{done: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.FinishedTTL <= 0 {
		s.opts.FinishedTTL = DefaultFinishedTTL
	}
	if s.opts.MaxFinishedJobs <= 0 {
		s.opts.MaxFinishedJobs = DefaultMaxFinishedJobs
	}
	if s.opts.UpdateInterval <= 0 {
		s.opts.UpdateInterval = DefaultUpdateInterval
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.Default()
	}
	s.jobs = &registry{ttl: s.opts.FinishedTTL, maxDone: s.opts.MaxFinishedJobs, jobs: map[string]*Job{}}
	sub, _ := fs.Sub(staticFiles, "static") // the directory is embedded: cannot fail
	s.static = http.FileServerFS(sub)
	s.routes()
	return s
}

// AddressError reports an address Start refuses: the UI listens on
// loopback only.
type AddressError struct {
	Addr string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("webui: %s is not a loopback address: the UI has no authentication and listens on loopback only", e.Addr)
}

// Start listens on addr, a loopback host:port (port 0 picks one), and
// serves until Stop. It fails with an *AddressError for any other
// address.
func Start(addr string, opts *Options) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	if !loopbackHost(host) {
		return nil, &AddressError{Addr: addr}
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	s := New(opts)
	s.lis = lis
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error("webui: serving stopped", "error", err)
		}
	}()
	return s, nil
}

// Addr returns the address Start listens on, or "" for a server from New.
func (s *Server) Addr() string {
	if s.lis == nil {
		return ""
	}
	return s.lis.Addr().String()
}

// URL returns the UI's address as a URL, or "" for a server from New.
func (s *Server) URL() string {
	if s.lis == nil {
		return ""
	}
	return "http://" + s.Addr() + "/"
}

// Stop stops a started server, ending its event streams and letting other
// requests in flight finish for up to a second. It may be called more than
// once; a server from New has no listener to stop, only its event streams.
func (s *Server) Stop() {
	s.stopOnce.Do(func() { close(s.done) })
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
}

// Add registers a job and returns it; the runner reports its progress on
// the Job. A job with the id of one already there replaces it.
func (s *Server) Add(info JobInfo) *Job { return s.jobs.add(info) }

// Remove forgets the job with the given id.
func (s *Server) Remove(id string) { s.jobs.remove(id) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if reason := s.refuse(r); reason != "" {
		writeError(w, http.StatusForbidden, reason)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// refuse returns why a request is refused, or "": its Host or Origin is
// not loopback nor allowed (a page elsewhere, or DNS rebinding), or it is
// a POST without the X-Beamgo-UI header (a cross-site form).
func (s *Server) refuse(r *http.Request) string {
	if !s.hostAllowed(r.Host) {
		return fmt.Sprintf("host %q is not loopback (Options.AllowedOrigins)", r.Host)
	}
	if o := r.Header.Get("Origin"); o != "" && !s.originAllowed(o) {
		return fmt.Sprintf("origin %q is not loopback (Options.AllowedOrigins)", o)
	}
	if r.Method == http.MethodPost && r.Header.Get("X-Beamgo-UI") == "" {
		return "POST needs the header X-Beamgo-UI"
	}
	return ""
}

func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "" || loopbackHost(host) {
		return true
	}
	for _, o := range s.opts.AllowedOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" && u.Host == hostport || o == hostport {
			return true
		}
	}
	return false
}

func (s *Server) originAllowed(origin string) bool {
	if slices.Contains(s.opts.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && loopbackHost(u.Hostname())
}

// loopbackHost reports whether host names the loopback interface.
func loopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// routes registers the handlers.
func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.page)
	m.HandleFunc("GET /jobs/{id}", s.page)
	m.Handle("GET /static/", http.StripPrefix("/static", s.static))
	m.HandleFunc("GET /api/jobs", s.listJobs)
	m.HandleFunc("GET /api/jobs/{id}", s.withJob(func(w http.ResponseWriter, _ *http.Request, j *Job) {
		writeJSON(w, j.summary(time.Now()))
	}))
	m.HandleFunc("GET /api/jobs/{id}/plan", s.withJob(func(w http.ResponseWriter, _ *http.Request, j *Job) {
		p, _ := j.plan()
		writeJSON(w, p)
	}))
	m.HandleFunc("GET /api/jobs/{id}/plan.svg", s.withJob(s.planSVG))
	m.HandleFunc("GET /api/jobs/{id}/stages", s.withJob(func(w http.ResponseWriter, _ *http.Request, j *Job) {
		writeJSON(w, j.stages(time.Now()))
	}))
	m.HandleFunc("GET /api/jobs/{id}/metrics", s.withJob(func(w http.ResponseWriter, _ *http.Request, j *Job) {
		writeJSON(w, j.metricViews())
	}))
	m.HandleFunc("GET /api/jobs/{id}/logs", s.withJob(s.logs))
	m.HandleFunc("GET /api/jobs/{id}/events", s.withJob(s.events))
	m.HandleFunc("POST /api/jobs/{id}/cancel", s.withJob(func(w http.ResponseWriter, _ *http.Request, j *Job) {
		if !j.cancel() {
			writeError(w, http.StatusConflict, "the job cannot be cancelled: it has ended, or its runner offers no cancel")
			return
		}
		writeJSONStatus(w, http.StatusAccepted, j.summary(time.Now()))
	}))
	m.HandleFunc("POST /api/jobs/{id}/drain", s.withJob(func(w http.ResponseWriter, _ *http.Request, j *Job) {
		if !j.drain() {
			writeError(w, http.StatusConflict, "the job cannot be drained: it has ended, or its runner offers no drain")
			return
		}
		writeJSONStatus(w, http.StatusAccepted, j.summary(time.Now()))
	}))
	m.HandleFunc("GET /metrics", s.prometheus)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux = m
}

// page serves the single page of the UI; its script reads the URL.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	if id := r.PathValue("id"); id != "" {
		if _, ok := s.jobs.get(id); !ok {
			w.WriteHeader(http.StatusNotFound)
		}
	}
	b, _ := staticFiles.ReadFile("static/index.html") // embedded: cannot fail
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:")
	w.Write(b)
}

// withJob looks up the job of the request's {id}, or answers 404.
func (s *Server) withJob(h func(http.ResponseWriter, *http.Request, *Job)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.jobs.get(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no job %q", r.PathValue("id")))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, j)
	}
}

func (s *Server) listJobs(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	out := []JobSummary{}
	for _, j := range s.jobs.list() {
		out = append(out, j.summary(now))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, out)
}

// logs serves the job's messages, those numbered above ?after=N if given.
func (s *Server) logs(w http.ResponseWriter, r *http.Request, j *Job) {
	after, err := afterParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, j.logEntries(after))
}

// afterParam returns the request's ?after=N (0 if absent).
func afterParam(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("after")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("after=%q is not a message number", v)
	}
	return n, nil
}

func (s *Server) planSVG(w http.ResponseWriter, _ *http.Request, j *Job) {
	_, st, ok := j.snapshot()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("job %q has no plan yet", j.ID()))
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	if err := writePlanSVG(w, st); err != nil {
		s.opts.Logger.Debug("webui: writing the plan", "error", err)
	}
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(v) // a failed write is the client's going away
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": "webui: " + msg})
}
