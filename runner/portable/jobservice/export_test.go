package jobservice

import "google.golang.org/grpc"

// ServiceInfo returns the gRPC services s serves, so that the tests can
// call every method of every one of them.
func ServiceInfo(s *Server) map[string]grpc.ServiceInfo { return s.srv.GetServiceInfo() }
