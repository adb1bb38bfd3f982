package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/webui"
	"github.com/beamgo-dev/beamgo/sdk"
)

// A local runner shows its runs on a web UI; scripts read the same data
// as JSON.
func Example_local() {
	ui, err := webui.Start("127.0.0.1:0", nil) // loopback only; ui.URL() is the page to open
	if err != nil {
		log.Fatal(err)
	}
	defer ui.Stop()
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.CountElements(s, sdk.Create(s, []string{"a", "b", "a"}))
	r := local.New(&local.Options{UI: ui, JobName: "count"})
	if _, err := r.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(ui.URL() + "api/jobs")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var jobs []webui.JobSummary
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil {
		log.Fatal(err)
	}
	fmt.Println(jobs[0].Name, jobs[0].State, jobs[0].StagesDone, "of", jobs[0].Stages, "stages done")
	// Output: count DONE 2 of 2 stages done
}
