package service

import (
	"context"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
)

// provision serves BeamFnProvision (ProvisionService): what a worker
// started with only --provision_endpoint, as PROCESS workers are, needs to
// find the runner.
type provision struct {
	fnpb.UnimplementedProvisionServiceServer
	s *Server
}

// GetProvisionInfo answers every worker alike: the control and logging
// endpoints are this server's, and no runner capability is claimed, so
// harnesses send full monitoring infos (which is what the runners of this
// project read).
func (p provision) GetProvisionInfo(context.Context, *fnpb.GetProvisionInfoRequest) (*fnpb.GetProvisionInfoResponse, error) {
	return &fnpb.GetProvisionInfoResponse{Info: &fnpb.ProvisionInfo{
		ControlEndpoint: p.s.Endpoint(),
		LoggingEndpoint: p.s.Endpoint(),
		Metadata:        map[string]string{"runner": "beamgo"},
	}}, nil
}
