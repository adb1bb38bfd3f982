package jobservice

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
)

// AllowAnyHost in Options.AllowExternal lets EXTERNAL environments name a
// worker pool on any host.
const AllowAnyHost = "any"

// refusedEnvPrefixes are the variable names (or name prefixes, ending in
// '_') a PROCESS environment may not set: they make even an allowed
// command load code the submitter chose (the dynamic loader's LD_PRELOAD,
// interpreters' start-up hooks).
var refusedEnvPrefixes = []string{
	"LD_", "DYLD_", "GCONV_PATH", "BASH_ENV", "ENV", "PYTHONSTARTUP", "PYTHONPATH",
	"PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
}

// policy is what a server lets a job's environment do: the PROCESS
// commands it may run and the hosts of the worker pools it may call.
type policy struct {
	// processDirs are the resolved Options.AllowProcess entries; empty
	// refuses PROCESS environments.
	processDirs []string
	// externalHosts are the hosts beyond loopback EXTERNAL environments
	// may name; anyHost allows all.
	externalHosts map[string]bool
	anyHost       bool
}

// newPolicy checks and resolves the allow-lists of opts.
func newPolicy(opts *Options) (*policy, error) {
	p := &policy{externalHosts: map[string]bool{}}
	for _, entry := range opts.AllowProcess {
		if !filepath.IsAbs(entry) {
			return nil, &OptionError{Option: "AllowProcess", Value: entry, Reason: "not an absolute path"}
		}
		resolved, err := filepath.EvalSymlinks(entry)
		if err != nil {
			return nil, &OptionError{Option: "AllowProcess", Value: entry, Reason: "cannot be resolved", Err: err}
		}
		p.processDirs = append(p.processDirs, resolved)
	}
	for _, host := range opts.AllowExternal {
		h := strings.ToLower(strings.TrimSpace(host))
		ip := net.ParseIP(strings.Trim(h, "[]"))
		switch {
		case ip != nil:
			p.externalHosts[ip.String()] = true
		case h == AllowAnyHost:
			p.anyHost = true
		case h == "" || strings.ContainsAny(h, "/:[] "):
			return nil, &OptionError{Option: "AllowExternal", Value: host, Reason: "not a host name or IP address (give hosts without ports)"}
		default:
			p.externalHosts[h] = true
		}
	}
	return p, nil
}

// processEnabled reports whether PROCESS environments may run at all.
func (p *policy) processEnabled() bool { return len(p.processDirs) > 0 }

// checkCommand returns the resolved path of a PROCESS environment's
// command if it is an absolute path whose resolved form is, or is under,
// an allowed entry.
func (p *policy) checkCommand(id, command string) (string, error) {
	if !p.processEnabled() {
		return "", fmt.Errorf("environment %q has type %s (PROCESS), which this job server refuses: a PROCESS job runs the command it names on the server's machine; "+
			"the operator enables it for trusted commands with jobserver --allow_process=<path or directory>,... (Options.AllowProcess)", id, urns.EnvProcess)
	}
	if !filepath.IsAbs(command) {
		return "", fmt.Errorf("environment %q: PROCESS command %q is not an absolute path", id, command)
	}
	resolved, err := filepath.EvalSymlinks(command)
	if err != nil {
		return "", fmt.Errorf("environment %q: PROCESS command %q: %w", id, command, err)
	}
	for _, dir := range p.processDirs {
		if resolved == dir || strings.HasPrefix(resolved, dir+string(filepath.Separator)) {
			if fi, err := os.Stat(resolved); err != nil || fi.IsDir() {
				return "", fmt.Errorf("environment %q: PROCESS command %q is not a file", id, command)
			}
			return resolved, nil
		}
	}
	return "", fmt.Errorf("environment %q: PROCESS command %q (%s) is not under any path this job server allows (--allow_process, Options.AllowProcess)", id, command, resolved)
}

// checkProcessEnv refuses variables that would make the command load
// code the submitter chose.
func checkProcessEnv(id string, env map[string]string) error {
	for name := range env {
		upper := strings.ToUpper(name)
		for _, refused := range refusedEnvPrefixes {
			if upper == refused || (strings.HasSuffix(refused, "_") && strings.HasPrefix(upper, refused)) {
				return fmt.Errorf("environment %q: PROCESS variable %s is refused: it makes the command load other code", id, name)
			}
		}
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return fmt.Errorf("environment %q: PROCESS variable name %q is malformed", id, name)
		}
	}
	return nil
}

// checkEndpoint refuses an EXTERNAL worker pool endpoint that is not
// host:port with a loopback or allowed host.
func (p *policy) checkEndpoint(id, endpoint string) error {
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return fmt.Errorf("environment %q: worker pool endpoint %q is not host:port: %w", id, endpoint, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("environment %q: worker pool endpoint %q is not host:port with a port number", id, endpoint)
	}
	if p.anyHost || isLoopbackHost(host) {
		return nil
	}
	h := strings.ToLower(host)
	if ip := net.ParseIP(h); ip != nil {
		h = ip.String()
	}
	if p.externalHosts[h] {
		return nil
	}
	return fmt.Errorf("environment %q: worker pool %q is not on loopback, and this job server calls worker pools on other hosts only when the operator allows them "+
		"(jobserver --allow_external=%s or --allow_external=any, Options.AllowExternal)", id, endpoint, host)
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// workerEnvironment returns the environment that runs p's user code, with
// its decoded payload: the environments of p's transforms must all be
// beam:env:external:v1 with the same endpoint, or beam:env:process:v1 with
// the same command and variables, and pass the server's policy.
func (p *policy) workerEnvironment(pl *pipepb.Pipeline) (*pipepb.Environment, proto.Message, error) {
	envs := pl.GetComponents().GetEnvironments()
	used := map[string]bool{}
	for _, t := range pl.GetComponents().GetTransforms() {
		if id := t.GetEnvironmentId(); id != "" {
			used[id] = true
		}
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var first *pipepb.Environment
	var firstPayload proto.Message
	for _, id := range ids {
		env, ok := envs[id]
		if !ok {
			return nil, nil, fmt.Errorf("environment %q is not in the pipeline's components", id)
		}
		payload, err := p.environmentPayload(id, env)
		if err != nil {
			return nil, nil, err
		}
		if first == nil {
			first, firstPayload = env, payload
			continue
		}
		if env.GetUrn() != first.GetUrn() || !proto.Equal(payload, firstPayload) {
			return nil, nil, fmt.Errorf("environments %q and %q differ; this job server runs one kind of worker per job", ids[0], id)
		}
	}
	if first == nil {
		return nil, nil, errors.New("no transform names an environment to run its user code in")
	}
	return first, firstPayload, nil
}

// environmentPayload checks env against the policy and returns its
// decoded payload; a PROCESS payload's command is replaced by its
// resolved path, the file that will run.
func (p *policy) environmentPayload(id string, env *pipepb.Environment) (proto.Message, error) {
	switch env.GetUrn() {
	case urns.EnvExternal:
		var pl pipepb.ExternalPayload
		if err := proto.Unmarshal(env.GetPayload(), &pl); err != nil {
			return nil, fmt.Errorf("environment %q: bad external payload: %w", id, err)
		}
		if pl.GetEndpoint().GetUrl() == "" {
			return nil, fmt.Errorf("environment %q: external payload has no endpoint", id)
		}
		if err := p.checkEndpoint(id, pl.GetEndpoint().GetUrl()); err != nil {
			return nil, err
		}
		return &pl, nil
	case urns.EnvProcess:
		var pl pipepb.ProcessPayload
		if err := proto.Unmarshal(env.GetPayload(), &pl); err != nil {
			return nil, fmt.Errorf("environment %q: bad process payload: %w", id, err)
		}
		if pl.GetCommand() == "" {
			return nil, fmt.Errorf("environment %q: process payload has no command", id)
		}
		resolved, err := p.checkCommand(id, pl.GetCommand())
		if err != nil {
			return nil, err
		}
		if err := checkProcessEnv(id, pl.GetEnv()); err != nil {
			return nil, err
		}
		pl.Command = resolved
		return &pl, nil
	}
	return nil, fmt.Errorf("environment %q has type %q; this job server runs only %s (LOOPBACK or EXTERNAL) and %s (PROCESS) workers",
		id, env.GetUrn(), urns.EnvExternal, urns.EnvProcess)
}

// workerStarter returns the WorkerStarter of a job's checked worker
// environment: calls to the worker pool the external payload names, or
// processes of the resolved command whose output goes to
// Options.WorkerOutput, prefixed with the job id.
func (s *Server) workerStarter(j *job) fnrunner.WorkerStarter {
	if pl, ok := j.workers.(*pipepb.ProcessPayload); ok {
		return fnrunner.Process(&fnrunner.ProcessOptions{
			Command: pl.GetCommand(), Env: pl.GetEnv(), Output: s.opts.WorkerOutput, Prefix: j.id + " ",
		})
	}
	endpoint := j.workers.(*pipepb.ExternalPayload).GetEndpoint().GetUrl()
	if j.restarted {
		return waitForPool(fnrunner.External(endpoint), endpoint, s.opts.RestartPoolWait)
	}
	return fnrunner.External(endpoint)
}
