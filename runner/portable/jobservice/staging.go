package jobservice

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// roleStagingTo is the artifact role whose payload names the staged file.
const roleStagingTo = "beam:artifact:role:staging_to:v1"

// ReverseArtifactRetrievalService implements ArtifactStagingService: the
// submitter sends its staging token, then answers this server's requests:
// first to resolve each environment's dependencies, then for the bytes of
// each resolved artifact, which are written to the job's staging
// directory under their staged names.
//
// A job stages once, before it runs; the staging token must be the one
// Prepare returned.
func (s *Server) ReverseArtifactRetrievalService(stream jobpb.ArtifactStagingService_ReverseArtifactRetrievalServiceServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	j, err := s.jobByToken(first.GetStagingToken())
	if err != nil {
		return err
	}
	if err := j.beginStaging(); err != nil {
		return status.Errorf(codes.FailedPrecondition, "jobservice: staging refused: %v", err)
	}
	defer func() {
		if j.endStaging() {
			s.removeJobDir(j)
		}
	}()
	dir := filepath.Join(s.staging.path, j.id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return status.Errorf(codes.Internal, "jobservice: staging directory: %v", err)
	}
	envs := j.pipeline.GetComponents().GetEnvironments()
	ids := make([]string, 0, len(envs))
	for id := range envs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	budget := s.opts.MaxArtifactBytes
	for _, id := range ids {
		deps := envs[id].GetDependencies()
		if len(deps) == 0 {
			continue
		}
		if err := stream.Send(&jobpb.ArtifactRequestWrapper{Request: &jobpb.ArtifactRequestWrapper_ResolveArtifact{
			ResolveArtifact: &jobpb.ResolveArtifactsRequest{Artifacts: deps},
		}}); err != nil {
			return err
		}
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		resolved := resp.GetResolveArtifactResponse()
		if resolved == nil {
			return status.Errorf(codes.InvalidArgument, "jobservice: environment %q: expected a ResolveArtifactsResponse, got %T", id, resp.GetResponse())
		}
		names := make([]string, len(resolved.GetReplacements()))
		for i, a := range resolved.GetReplacements() {
			name, err := stagedName(a, i)
			if err != nil {
				return status.Errorf(codes.InvalidArgument, "jobservice: environment %q: %v", id, err)
			}
			names[i] = name
		}
		for i, a := range resolved.GetReplacements() {
			if err := stream.Send(&jobpb.ArtifactRequestWrapper{Request: &jobpb.ArtifactRequestWrapper_GetArtifact{
				GetArtifact: &jobpb.GetArtifactRequest{Artifact: a},
			}}); err != nil {
				return err
			}
			n, err := receiveArtifact(stream, filepath.Join(dir, filepath.FromSlash(names[i])), budget)
			if err != nil {
				return err
			}
			budget -= n
		}
	}
	j.markStaged()
	return nil
}

// jobByToken returns the job whose staging session token is token; an
// empty or unknown token is refused with PermissionDenied.
func (s *Server) jobByToken(token string) (*job, error) {
	if token == "" {
		return nil, status.Errorf(codes.PermissionDenied, "jobservice: artifact staging needs the staging session token Prepare returned; the stream's first message has none")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if subtle.ConstantTimeCompare([]byte(j.token), []byte(token)) == 1 {
			return j, nil
		}
	}
	return nil, status.Errorf(codes.PermissionDenied, "jobservice: no job has the staging session token the stream sent")
}

// stagedName returns the relative path artifact a is staged at: its
// staging_to name, or artifact-<i> if it has none. A name that is absolute
// or leaves the staging directory is an error.
func stagedName(a *pipepb.ArtifactInformation, i int) (string, error) {
	if a.GetRoleUrn() != roleStagingTo {
		return fmt.Sprintf("artifact-%d", i), nil
	}
	var pl pipepb.ArtifactStagingToRolePayload
	if err := proto.Unmarshal(a.GetRolePayload(), &pl); err != nil {
		return "", fmt.Errorf("artifact %d: bad staging_to payload: %v", i, err)
	}
	return checkName(pl.GetStagedName())
}

// checkName returns name if it is a relative path that stays inside the
// directory it is joined to.
func checkName(name string) (string, error) {
	slashed := strings.ReplaceAll(name, `\`, "/")
	switch {
	case name == "":
		return "", errors.New("artifact has an empty staged name")
	case path.IsAbs(slashed) || filepath.IsAbs(name) || filepath.VolumeName(name) != "":
		return "", fmt.Errorf("artifact staged name %q is an absolute path", name)
	case slashed == ".." || strings.HasPrefix(slashed, "../") || strings.Contains(slashed, "/../") || strings.HasSuffix(slashed, "/.."):
		return "", fmt.Errorf("artifact staged name %q contains a %q element", name, "..")
	case strings.ContainsRune(name, 0):
		return "", fmt.Errorf("artifact staged name %q contains a NUL byte", name)
	}
	clean := path.Clean(slashed)
	if clean == "." {
		return "", fmt.Errorf("artifact staged name %q names the staging directory", name)
	}
	return clean, nil
}

// receiveArtifact writes the chunks of one artifact to file until the
// last, failing if they exceed budget bytes; it returns the bytes written.
func receiveArtifact(stream jobpb.ArtifactStagingService_ReverseArtifactRetrievalServiceServer, file string, budget int64) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return 0, status.Errorf(codes.Internal, "jobservice: %v", err)
	}
	f, err := os.Create(file)
	if err != nil {
		return 0, status.Errorf(codes.Internal, "jobservice: %v", err)
	}
	var n int64
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			f.Close()
			return n, status.Errorf(codes.InvalidArgument, "jobservice: artifact stream ended before its last chunk")
		}
		if err != nil {
			f.Close()
			return n, err
		}
		chunk := resp.GetGetArtifactResponse()
		if chunk == nil {
			f.Close()
			return n, status.Errorf(codes.InvalidArgument, "jobservice: expected artifact bytes, got %T", resp.GetResponse())
		}
		n += int64(len(chunk.GetData()))
		if n > budget {
			f.Close()
			return n, status.Errorf(codes.ResourceExhausted, "jobservice: artifacts exceed the staging limit")
		}
		if _, err := f.Write(chunk.GetData()); err != nil {
			f.Close()
			return n, status.Errorf(codes.Internal, "jobservice: %v", err)
		}
		if resp.GetIsLast() {
			if err := f.Close(); err != nil {
				return n, status.Errorf(codes.Internal, "jobservice: %v", err)
			}
			return n, nil
		}
	}
}
