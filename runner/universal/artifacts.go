package universal

import (
	"context"
	"errors"
	"fmt"
	"io"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// Artifact URNs of the Runner API (StandardArtifacts in
// beam_runner_api.proto).
const (
	artifactTypeFile    = "beam:artifact:type:file:v1"
	artifactRoleStaging = "beam:artifact:role:staging_to:v1"
)

// chunkSize is the most artifact bytes sent in one message.
const chunkSize = 1 << 20

// artifacts are the files a job's environment depends on, held in memory
// and served only by the exact identity (type and payload) the runner
// declared: a job server can ask for nothing else.
type artifacts struct {
	list []artifact
}

type artifact struct {
	info *pipepb.ArtifactInformation
	data []byte
}

// placeholderArtifacts is what a job stages: its workers run in the
// submitting process (LOOPBACK) or are the submitting program itself
// (PROCESS, on the job server's machine), so they need no files, but job
// servers expect an environment to have staged something (Beam's Go SDK
// stages an empty file).
func placeholderArtifacts() *artifacts {
	typ, _ := proto.Marshal(&pipepb.ArtifactFilePayload{Path: "beamgo-placeholder"})
	role, _ := proto.Marshal(&pipepb.ArtifactStagingToRolePayload{StagedName: "beamgo-placeholder"})
	return &artifacts{list: []artifact{{
		info: &pipepb.ArtifactInformation{TypeUrn: artifactTypeFile, TypePayload: typ, RoleUrn: artifactRoleStaging, RolePayload: role},
	}}}
}

// infos returns the environment's dependencies.
func (a *artifacts) infos() []*pipepb.ArtifactInformation {
	out := make([]*pipepb.ArtifactInformation, len(a.list))
	for i, x := range a.list {
		out[i] = x.info
	}
	return out
}

// find returns the artifact the runner asks for.
func (a *artifacts) find(info *pipepb.ArtifactInformation) (*artifact, bool) {
	for i := range a.list {
		x := &a.list[i]
		if x.info.GetTypeUrn() == info.GetTypeUrn() && string(x.info.GetTypePayload()) == string(info.GetTypePayload()) {
			return x, true
		}
	}
	return nil, false
}

// serve answers the job server's requests on the reverse artifact
// retrieval stream of the staging session token, until the server ends it.
func (a *artifacts) serve(ctx context.Context, client jobpb.ArtifactStagingServiceClient, token string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.ReverseArtifactRetrievalService(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&jobpb.ArtifactResponseWrapper{StagingToken: token}); err != nil {
		return fmt.Errorf("send staging token: %w", err)
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch r := req.GetRequest().(type) {
		case *jobpb.ArtifactRequestWrapper_ResolveArtifact:
			// Our artifacts are already concrete files: nothing to resolve.
			err = stream.Send(&jobpb.ArtifactResponseWrapper{Response: &jobpb.ArtifactResponseWrapper_ResolveArtifactResponse{
				ResolveArtifactResponse: &jobpb.ResolveArtifactsResponse{Replacements: r.ResolveArtifact.GetArtifacts()},
			}})
		case *jobpb.ArtifactRequestWrapper_GetArtifact:
			x, ok := a.find(r.GetArtifact.GetArtifact())
			if !ok {
				return fmt.Errorf("the job server asked for artifact %s %q, which this job did not declare",
					r.GetArtifact.GetArtifact().GetTypeUrn(), r.GetArtifact.GetArtifact().GetTypePayload())
			}
			err = sendArtifact(stream, x.data)
		default:
			return fmt.Errorf("unexpected artifact request %T", r)
		}
		if err != nil {
			return err
		}
	}
}

// sendArtifact sends data in chunks, then the last marker.
func sendArtifact(stream jobpb.ArtifactStagingService_ReverseArtifactRetrievalServiceClient, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), chunkSize)
		if err := stream.Send(&jobpb.ArtifactResponseWrapper{Response: &jobpb.ArtifactResponseWrapper_GetArtifactResponse{
			GetArtifactResponse: &jobpb.GetArtifactResponse{Data: data[:n]},
		}}); err != nil {
			return err
		}
		data = data[n:]
	}
	return stream.Send(&jobpb.ArtifactResponseWrapper{IsLast: true, Response: &jobpb.ArtifactResponseWrapper_GetArtifactResponse{
		GetArtifactResponse: &jobpb.GetArtifactResponse{},
	}})
}
