package awssim

// registerExtraServices plugs in services implemented outside this package
// (S3, SNS, SQS, EventBridge, STS, Image Builder). The integrator adds one
// line here, e.g. `services.RegisterAll(s.Register)`; until then those
// services answer with their protocol's "not available" error.
func registerExtraServices(s *Sim) { _ = s }
