// Package fleet is the simulated region's model: AMIs with their baseline
// inventory, launch templates, EC2 instances, Auto Scaling groups (capacity,
// lifecycle hooks, standby, instance refresh, scaling activities), the SSM
// inventory each managed node reports (content shared with its AMI plus
// per-instance overlays, and the capture-time model of the agent's
// inventory association), drift injection, scenarios and the builders that
// render packages, files and services as the SSM agent reports them.
//
// The service packages (awssim/ec2, awssim/autoscaling, awssim/ssm,
// awssim/datasync) serve the model over the wire; awssim.Sim wires them
// together. Time-based transitions (launch, termination, hook timeouts,
// refresh batches, inventory reports) happen lazily: Advance applies those
// due before each request.
package fleet
