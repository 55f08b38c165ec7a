"""Which ops a SavedModel's graphs use, and whether TF Serving's stock model server can run them all.

The stock `tensorflow_model_server` (TF Serving 2.16) links in core TensorFlow's ops plus the
tensorflow_text op library (`SUPPORTED_TENSORFLOW_OPS` in tensorflow_serving/model_servers/BUILD lists
`@org_tensorflow_text//tensorflow_text:ops_lib`), and nothing else: no other custom op library, and no
Python (`PyFunc`/`EagerPyFunc` need the Python interpreter the server does not have).

`disallowed_ops` must run in a process that has imported tensorflow but not tensorflow_text (or any other
op library): there, "registered" means "core TensorFlow op".
"""
from __future__ import annotations

import os
from typing import Dict, Set

# tensorflow_text ops the serving graph uses, each with why it is there. All are in tensorflow_text's
# ops_lib, which the TF Serving 2.16 model server links in.
ALLOWED_TENSORFLOW_TEXT_OPS: Dict[str, str] = {
    "SentencepieceOp": "holds the SentencePiece model proto embedded in the graph (SentencepieceTokenizer)",
    "SentencepieceTokenizeOp": "text -> subword ids, the same ids the Beam tokenizer wrote for training",
    "SentencepieceDetokenizeOp": "output subword ids -> text",
    "NormalizeUTF8": "Unicode NFC normalization of the input, as the TextCleaner did for training",
}
# Core ops that call back into Python: registered in every TensorFlow, unusable in the model server.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
# XLA ops (`XlaDynamicUpdateSlice`, ...) are registered in every TensorFlow but run outside XLA clusters
# only through XLA's compile-on-demand kernel, which the model server enables only with its experimental
# `--xla_cpu_compilation_enabled` flag (tensorflow/serving#2217).
XLA_OP_PREFIX = "Xla"


def graph_ops(saved_model_dir: str) -> Set[str]:
    """Every op type in the SavedModel's meta graphs: graph nodes and every function of the library."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    ops = set()
    for meta_graph in saved_model.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def disallowed_ops(saved_model_dir: str) -> Set[str]:
    """Ops the stock TF Serving model server cannot run: Python ops, XLA ops, and ops that are neither
    registered core TensorFlow ops nor in `ALLOWED_TENSORFLOW_TEXT_OPS`. Empty when the model is servable.

    Raises:
        RuntimeError: when tensorflow_text is loaded in this process (core and text ops would be mixed).
    """
    import sys

    from tensorflow.python.framework import op_def_registry

    if "tensorflow_text" in sys.modules:
        raise RuntimeError("disallowed_ops must run in a process that has not imported tensorflow_text")
    ops = graph_ops(saved_model_dir)
    return {op for op in ops
            if op in PYTHON_OPS or op.startswith(XLA_OP_PREFIX)
            or (op_def_registry.get(op) is None and op not in ALLOWED_TENSORFLOW_TEXT_OPS)}
