"""The training precision: `RunConfig.mixed_precision` as a Keras dtype policy for this machine.

Keras mixed precision (https://keras.io/api/mixed_precision/): `mixed_bfloat16` and `mixed_float16` keep the
variables in float32 and compute in 16 bits. In `TransformerTranslator` the layer norms compute in float32
(Keras's `ops.layer_normalization` does for 16-bit inputs), the logits are cast to float32 before the loss's
softmax, and `trainer.build_model` puts the attention softmax layers in float32.

On a CPU, TensorFlow runs bfloat16 matmuls in oneDNN on the AVX512_BF16 and AMX-BF16 instructions; a CPU
without them gets no error from TensorFlow, which emulates bfloat16 instead, slower than float32. So `bf16` on
a CPU without either flag falls back to float32, with a warning that says so.
"""
from __future__ import annotations

from typing import FrozenSet, Optional, Tuple

import tensorflow as tf

from tfx_nmt.models.devices import cpu_flags

# RunConfig.mixed_precision -> Keras dtype policy name.
DTYPE_POLICIES = {"off": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic.
NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def resolve_dtype_policy(mixed_precision: str, has_gpu: bool,
                         flags: Optional[FrozenSet[str]]) -> Tuple[str, Optional[str]]:
    """The Keras dtype policy to train in, and a warning for the log when it is not what was asked for.

    Args:
        mixed_precision: `off`, `bf16` or `fp16` (`RunConfig.mixed_precision`).
        has_gpu: training runs on GPUs.
        flags: the CPU's feature flags (`cpu_flags()`), None when unknown.

    Returns:
        (policy name: `float32`, `mixed_bfloat16` or `mixed_float16`; the warning or None).

    Raises:
        ValueError: an unknown `mixed_precision`.
    """
    if mixed_precision not in DTYPE_POLICIES:
        raise ValueError(f"mixed_precision must be one of {', '.join(DTYPE_POLICIES)}, got {mixed_precision!r}")
    policy = DTYPE_POLICIES[mixed_precision]
    if has_gpu or mixed_precision == "off":
        return policy, None
    if mixed_precision == "fp16":
        return policy, ("mixed_precision fp16 on a CPU: TensorFlow's CPU kernels compute float16 without "
                        "hardware support, slower than float32; fp16 is meant for GPUs (bf16 for CPUs)")
    if flags is None or not flags & set(NATIVE_BF16_CPU_FLAGS):
        found = "its flags cannot be read" if flags is None else "it has neither avx512_bf16 nor amx_bf16"
        return "float32", (f"mixed_precision bf16: this CPU has no native bfloat16 ({found}); TensorFlow would "
                           "emulate it, slower than float32, so training runs in float32")
    return policy, None


def training_dtype_policy(mixed_precision: str) -> Tuple[str, Optional[str]]:
    """`resolve_dtype_policy` for this machine (its GPUs and CPU flags)."""
    return resolve_dtype_policy(mixed_precision, bool(tf.config.list_physical_devices("GPU")), cpu_flags())
