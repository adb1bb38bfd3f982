package jobservice

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"strings"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/beamgo-dev/beamgo/proto/urns"
)

// MinTokenLength is the shortest Options.AuthToken Start accepts.
const MinTokenLength = 16

// Redacted replaces the values of PROCESS environment variables and
// EXTERNAL parameters in the pipelines GetPipeline returns.
const Redacted = "<redacted>"

// InsecureAddressError is the error Start returns when asked to listen on
// an address beyond loopback without Options.AuthToken: any machine that
// reaches the address could run jobs, read pipelines and cancel them.
type InsecureAddressError struct {
	// Addr is the address Start was asked to listen on.
	Addr string
}

func (e *InsecureAddressError) Error() string {
	return fmt.Sprintf("jobservice: refusing to listen on %s, which is not a loopback address, without an authentication token: "+
		"any machine that reaches it could run and read jobs; set Options.AuthToken (jobserver --auth_token_file or %s) or listen on 127.0.0.1",
		e.Addr, TokenEnvVar)
}

// OptionError is the error Start returns for an option it cannot use.
type OptionError struct {
	// Option is the Options field, Value the offending value (never a
	// token's text) and Reason what is wrong with it.
	Option, Value, Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *OptionError) Error() string {
	msg := fmt.Sprintf("jobservice: Options.%s %q: %s", e.Option, e.Value, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *OptionError) Unwrap() error { return e.Err }

// TokenEnvVar is the environment variable cmd/jobserver and the tests of
// this module read an authentication token from.
const TokenEnvVar = "BEAMGO_JOBSERVER_TOKEN"

// authorizationKey is the metadata key of the bearer token.
const authorizationKey = "authorization"

// authenticator checks the bearer token of every call to the server.
type authenticator struct{ token []byte }

// check returns an Unauthenticated error unless md carries
// "authorization: Bearer <token>".
func (a *authenticator) check(md metadata.MD, method string) error {
	vals := md.Get(authorizationKey)
	if len(vals) != 1 {
		return status.Errorf(codes.Unauthenticated, "jobservice: %s: this job server needs an authentication token (metadata %q: \"Bearer <token>\")", method, authorizationKey)
	}
	got, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), a.token) != 1 {
		return status.Errorf(codes.Unauthenticated, "jobservice: %s: wrong authentication token", method)
	}
	return nil
}

// tap refuses a call without the token before its request is read, so an
// unauthenticated client cannot make the server buffer large messages.
func (a *authenticator) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	return ctx, a.check(info.Header, info.FullMethodName)
}

func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if err := a.check(md, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	md, _ := metadata.FromIncomingContext(ss.Context())
	if err := a.check(md, info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

// serverOptions returns the gRPC options that make every call carry the
// token: a tap that refuses calls before their messages are read, and
// unary and stream interceptors that check again.
func (a *authenticator) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.InTapHandle(a.tap), grpc.ChainUnaryInterceptor(a.unary), grpc.ChainStreamInterceptor(a.stream)}
}

// loopbackAddress reports whether addr (host:port) names only loopback
// addresses: "localhost", a loopback IP, or a name all of whose addresses
// are loopback. An empty or wildcard host is not.
func loopbackAddress(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if isLoopbackHost(host) {
		return true
	}
	if net.ParseIP(host) != nil {
		return false
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// isLoopbackListener reports whether lis accepts connections only from
// this machine.
func isLoopbackListener(lis net.Listener) bool {
	tcp, ok := lis.Addr().(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// redacted returns p for GetPipeline: sharing everything with p but the
// environments, whose PROCESS variable values and EXTERNAL parameter
// values are replaced by Redacted, as they may hold secrets.
func redacted(p *pipepb.Pipeline) *pipepb.Pipeline {
	envs := p.GetComponents().GetEnvironments()
	out := make(map[string]*pipepb.Environment, len(envs))
	changed := false
	for id, env := range envs {
		out[id] = env
		var payload proto.Message
		switch env.GetUrn() {
		case urns.EnvProcess:
			var pl pipepb.ProcessPayload
			if proto.Unmarshal(env.GetPayload(), &pl) != nil || len(pl.GetEnv()) == 0 {
				continue
			}
			for k := range pl.Env {
				pl.Env[k] = Redacted
			}
			payload = &pl
		case urns.EnvExternal:
			var pl pipepb.ExternalPayload
			if proto.Unmarshal(env.GetPayload(), &pl) != nil || len(pl.GetParams()) == 0 {
				continue
			}
			for k := range pl.Params {
				pl.Params[k] = Redacted
			}
			payload = &pl
		default:
			continue
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(payload)
		if err != nil {
			b = nil
		}
		e := proto.Clone(env).(*pipepb.Environment)
		e.Payload = b
		out[id], changed = e, true
	}
	if !changed {
		return p
	}
	comps := shallowCopy(p.GetComponents()).(*pipepb.Components)
	comps.Environments = out
	cp := shallowCopy(p).(*pipepb.Pipeline)
	cp.Components = comps
	return cp
}

// shallowCopy returns a new message of m's type whose fields share m's
// values (nested messages, lists and maps are not copied).
func shallowCopy(m proto.Message) proto.Message {
	src := m.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		dst.Set(fd, v)
		return true
	})
	dst.SetUnknown(src.GetUnknown())
	return dst.Interface()
}
