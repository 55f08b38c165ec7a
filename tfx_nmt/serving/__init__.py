"""Using the pushed SavedModel: translation clients (in-process, TF Serving REST and gRPC), the
`tfx-nmt translate` command, TF Serving / Kubernetes deployment files, and the serving-graph op check."""
