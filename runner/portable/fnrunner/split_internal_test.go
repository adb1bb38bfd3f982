package fnrunner

import (
	"reflect"
	"strings"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/runner/internal/engine"
)

func TestRemoteSplitterOffersBundlesOnlyOnceTheyOutliveMinSplitAge(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start
	s := newRemoteSplitter(nil, "inst", "src", nil)
	s.started, s.now = start, func() time.Time { return now }
	for _, tt := range []struct {
		name          string
		at            time.Duration
		refused       time.Duration // since start; negative: never
		wantRemaining float64
	}{
		{name: "a bundle just sent is not offered", at: 0, refused: -1, wantRemaining: 0},
		{name: "a bundle younger than minSplitAge is not offered", at: minSplitAge - time.Millisecond, refused: -1, wantRemaining: 0},
		{name: "a bundle of minSplitAge is offered", at: minSplitAge, refused: -1, wantRemaining: 1},
		{name: "a bundle whose split was just refused is not offered", at: 2 * minSplitAge, refused: 2*minSplitAge - time.Millisecond, wantRemaining: 0},
		{name: "a bundle is offered again after the refusal's backoff", at: 2*minSplitAge + splitBackoff, refused: 2 * minSplitAge, wantRemaining: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now = start.Add(tt.at)
			s.refused = time.Time{}
			if tt.refused >= 0 {
				s.refused = start.Add(tt.refused)
			}
			if _, rem := s.Progress(); rem != tt.wantRemaining {
				t.Errorf("Progress() at %v remaining = %v, want %v", tt.at, rem, tt.wantRemaining)
			}
		})
	}
}

func TestBundleSplitOfReadsTheWorkersAnswer(t *testing.T) {
	channel := func(src string, last, first int64) *fnpb.ProcessBundleSplitResponse_ChannelSplit {
		return &fnpb.ProcessBundleSplitResponse_ChannelSplit{TransformId: src, LastPrimaryElement: last, FirstResidualElement: first}
	}
	primary := []*fnpb.BundleApplication{{Element: []byte("p")}}
	residual := []*fnpb.DelayedBundleApplication{{Application: &fnpb.BundleApplication{Element: []byte("r")}}}
	for _, tt := range []struct {
		name     string
		resp     *fnpb.ProcessBundleSplitResponse
		elements int64
		want     engine.BundleSplit
		wantRead bool
		wantErr  string
	}{
		{name: "no channel split is no split", resp: &fnpb.ProcessBundleSplitResponse{}, elements: 4,
			want: engine.BundleSplit{FirstResidual: -1}},
		{name: "another transform's channel split is no split",
			resp: &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("other", 1, 2)}}, elements: 4,
			want: engine.BundleSplit{FirstResidual: -1}},
		{name: "a channel split between elements",
			resp: &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", 1, 2)}}, elements: 4,
			want: engine.BundleSplit{FirstResidual: 2, Split: -1}},
		{name: "a channel split at the end keeps everything",
			resp: &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", 3, 4)}}, elements: 4,
			want: engine.BundleSplit{FirstResidual: 4, Split: -1}},
		{name: "an element split",
			resp:     &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", 0, 2)}, PrimaryRoots: primary, ResidualRoots: residual},
			elements: 4, want: engine.BundleSplit{FirstResidual: 2, Split: 1, Primary: []byte("p"), Residual: [][]byte{[]byte("r")}}},
		{name: "Beam Go's answer once its single element is processed: past the end, nothing to split",
			resp: &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", 1, 2)}}, elements: 1,
			want: engine.BundleSplit{FirstResidual: -1}, wantRead: true},
		{name: "past the end of several elements",
			resp: &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", 4, 5)}}, elements: 3,
			want: engine.BundleSplit{FirstResidual: -1}, wantRead: true},
		{name: "an element split past the end is an error",
			resp:     &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", 1, 3)}, PrimaryRoots: primary, ResidualRoots: residual},
			elements: 1, wantErr: "outside the bundle's 1 elements"},
		{name: "a negative first residual is an error",
			resp: &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", -2, -1)}}, elements: 1,
			wantErr: "outside the bundle's 1 elements"},
		{name: "a gap between primary and residual is an error",
			resp: &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", 0, 2)}}, elements: 4,
			wantErr: "does not follow last primary"},
		{name: "a gap past the end is an error too",
			resp: &fnpb.ProcessBundleSplitResponse{ChannelSplits: []*fnpb.ProcessBundleSplitResponse_ChannelSplit{channel("src", 0, 3)}}, elements: 1,
			wantErr: "outside the bundle's 1 elements"},
		{name: "roots without a channel split are an error",
			resp: &fnpb.ProcessBundleSplitResponse{PrimaryRoots: primary, ResidualRoots: residual}, elements: 1,
			wantErr: "split roots without a channel split"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, read, err := bundleSplitOf(tt.resp, "src", tt.elements)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("bundleSplitOf = %+v, %v, %v; want an error containing %q", got, read, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("bundleSplitOf: %v", err)
			}
			if read != tt.wantRead || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("bundleSplitOf = %+v, read %v; want %+v, read %v", got, read, tt.want, tt.wantRead)
			}
		})
	}
}
