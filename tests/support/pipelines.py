"""The component ids of the pipeline as `create_pipeline` builds it, for tests that check runs against it."""
from typing import List

from tfx_nmt.config import RunConfig
from tfx_nmt.pipeline.pipeline import create_pipeline


def component_ids(config: RunConfig = RunConfig()) -> List[str]:
    """The ids of the components of `create_pipeline(config, ...)`, in the pipeline's topological order (nothing is run)."""
    pipeline = create_pipeline(config, "component-ids", "/nonexistent/root", "/nonexistent/data",
                               "/nonexistent/serving")
    return [component.id for component in pipeline.components]
