package jobservice_test

import (
	"bytes"
	"strings"
	"testing"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"beamgo/runner/portable/jobservice"
)

func TestOversizedMessagesAreRefusedAndTheServerKeepsServing(t *testing.T) {
	const limit = 1 << 20
	srv := start(t, &jobservice.Options{MaxMessageSize: limit})
	jobs, staging := client(t, srv)

	t.Run("A Prepare request over the limit is refused with ResourceExhausted.", func(t *testing.T) {
		pb := basePipeline(t)
		for _, tr := range pb.Components.Transforms {
			if tr.Annotations == nil {
				tr.Annotations = map[string][]byte{}
			}
			tr.Annotations["ballast"] = bytes.Repeat([]byte{'x'}, 2*limit)
			break
		}
		_, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: pb, JobName: "oversized"})
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "larger than max") {
			t.Errorf("Prepare of a %d-byte pipeline = %v, want ResourceExhausted saying it is larger than max", 2*limit, err)
		}
	})

	t.Run("An artifact chunk over the limit fails the staging stream.", func(t *testing.T) {
		prep, err := jobs.Prepare(testCtx(t), &jobpb.PrepareJobRequest{Pipeline: withArtifact(t, "big.bin"), JobName: "big-artifact"})
		if err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		err = stage(testCtx(t), staging, prep.GetStagingSessionToken(), bytes.Repeat([]byte{'y'}, 2*limit))
		if err == nil {
			// The send may succeed locally; the refusal then ends the
			// job's Run.
			_, err = jobs.Run(testCtx(t), &jobpb.RunJobRequest{PreparationId: prep.GetPreparationId(), RetrievalToken: prep.GetStagingSessionToken()})
		}
		if err == nil {
			t.Fatal("staging a chunk twice the message limit succeeded")
		}
		t.Logf("staging an oversized chunk: %v", err)
		if c := status.Code(err); c != codes.ResourceExhausted && c != codes.FailedPrecondition && c != codes.InvalidArgument {
			t.Errorf("staging an oversized chunk: %v, want ResourceExhausted (or a refused Run)", err)
		}
	})

	t.Run("A well-formed job still runs afterwards.", func(t *testing.T) { runGoodJob(t, srv) })
}
