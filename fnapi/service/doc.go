// Package service is the runner side of Beam's Fn API: the Control, Data,
// State, Logging and Provision servers that SDK harnesses connect to, on
// one gRPC listener bound to a loopback address.
//
// A runner starts a Server, hands its Endpoint to workers (in their
// provisioning or through a worker pool's StartWorker), registers the
// ProcessBundleDescriptors of its stages, waits for each worker's control
// stream with Server.Worker, and then drives bundles:
//
//	b := w.NewBundle("inst-1", []string{sinkID}, reader)
//	b.Send(sourceID, chunk) ... b.Close(sourceID)
//	resp, err := w.Instruct(ctx, processBundleRequest("inst-1"))
//	err = b.Wait(ctx)   // every sink sent is_last
//	out := b.Output(sinkID)
//
// Workers are told apart by the worker_id header every harness sends on
// every call. Elements are routed by instruction and transform; side
// inputs are served through the state API from the bundle's StateReader,
// in pages joined by continuation tokens. Log entries are collected and
// passed to Options.OnLog.
//
// The ProvisionService tells a worker started with only a provision
// endpoint (a PROCESS worker: --provision_endpoint=<Endpoint>) where the
// control and logging services are: at the same Endpoint. It claims no
// runner capabilities and stages no artifacts.
//
// User state requests of a bundle go to its UserState (SetUserState), or,
// without one, to bag state that lives as long as the bundle. Timers travel
// on the data plane: SendTimers sends a bundle the timers to fire, ending
// each timer family's stream, and the worker's timers reach
// Timers.Receive per family until each of its streams ended; Wait waits
// for those ends as for the sinks'.
package service
