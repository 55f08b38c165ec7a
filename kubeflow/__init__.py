"""Kubeflow Pipelines: compile the DAG with TFX's KubeflowV2DagRunner, schedule recurring runs with kfp."""
