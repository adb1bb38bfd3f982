package universal

import (
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/fnapi/monitoring"
	"github.com/beamgo-dev/beamgo/runner"
)

// metricsOf converts a job's monitoring infos into user metrics keyed by
// transform unique name, as the local runner reports them.
func metricsOf(infos []*pipepb.MonitoringInfo, transforms map[string]*pipepb.PTransform) (runner.Metrics, error) {
	return monitoring.UserMetrics(infos, transforms)
}
