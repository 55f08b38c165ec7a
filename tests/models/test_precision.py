"""The training precision: the dtype policy each `mixed_precision` gets on a machine, and a training step in it."""
import numpy as np
import pytest
import tensorflow as tf

from tfx_nmt.models.precision import resolve_dtype_policy
from tfx_nmt.models.trainer import compiled_model, float32_copy
from tfx_nmt.pipeline.presets import get_preset

SAPPHIRE_RAPIDS = frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
ZEN_4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
SKYLAKE = frozenset({"avx2", "avx512f", "avx512bw"})


@pytest.mark.parametrize("mixed_precision, has_gpu, flags, policy", [
    ("off", False, SKYLAKE, "float32"),
    ("off", True, None, "float32"),
    ("bf16", False, SAPPHIRE_RAPIDS, "mixed_bfloat16"),
    ("bf16", False, ZEN_4, "mixed_bfloat16"),
    ("bf16", True, None, "mixed_bfloat16"),
    ("fp16", True, None, "mixed_float16"),
])
def test_each_setting_gets_its_keras_policy_where_the_hardware_has_it(mixed_precision, has_gpu, flags, policy):
    assert resolve_dtype_policy(mixed_precision, has_gpu, flags) == (policy, None)


@pytest.mark.parametrize("flags, reason", [
    (SKYLAKE, "it has neither avx512_bf16 nor amx_bf16"),
    (None, "its flags cannot be read"),
])
def test_bf16_on_a_cpu_without_native_bfloat16_falls_back_to_float32_saying_why(flags, reason):
    policy, warning = resolve_dtype_policy("bf16", False, flags)
    assert policy == "float32"
    assert warning == (f"mixed_precision bf16: this CPU has no native bfloat16 ({reason}); TensorFlow would "
                       "emulate it, slower than float32, so training runs in float32")


def test_fp16_on_a_cpu_trains_but_warns_that_it_is_for_gpus():
    policy, warning = resolve_dtype_policy("fp16", False, SAPPHIRE_RAPIDS)
    assert policy == "mixed_float16" and "fp16 is meant for GPUs" in warning


def test_an_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="mixed_precision must be one of off, bf16, fp16, got 'tf32'"):
        resolve_dtype_policy("tf32", False, SAPPHIRE_RAPIDS)


@pytest.mark.parametrize("mixed_precision, policy, compute, optimizer", [
    ("off", "float32", tf.float32, "Adam"),
    ("fp16", "mixed_float16", tf.float16, "LossScaleOptimizer"),
])
def test_a_training_step_in_the_policy_keeps_float32_variables_and_exports_float32(mixed_precision, policy,
                                                                                   compute, optimizer):
    config = get_preset("smoke").replace(mixed_precision=mixed_precision, dropout=0.0)
    model = compiled_model(config, 50)
    assert (model.dtype_policy.name, model.compute_dtype, type(model.optimizer).__name__) == \
        (policy, compute.name, optimizer)
    source = np.array([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0]], np.int32)
    target = np.array([[2, 9, 10, 11, 3], [2, 12, 3, 0, 0]], np.int32)
    inputs = {"source_ids": source, "target_in": target[:, :-1]}
    before = [w.numpy() for w in model.trainable_weights]
    logs = model.train_on_batch(inputs, target[:, 1:], return_dict=True)
    assert float(logs["target_tokens"]) == 6.0 and np.isfinite(float(logs["loss"]))
    assert {w.dtype for w in model.weights} == {"float32"}
    assert max(float(np.max(np.abs(a - w.numpy()))) for a, w in zip(before, model.trainable_weights)) > 0
    # The attention softmax runs in float32 under a mixed policy.
    softmax = [layer for layer in model._flatten_layers() if layer.__class__.__name__ == "Softmax"]
    assert softmax and {layer.dtype_policy.name for layer in softmax} == {"float32"}
    exported = float32_copy(model, config)
    assert exported.dtype_policy.name == "float32" and exported.compute_dtype == "float32"
    np.testing.assert_allclose(exported(inputs).numpy(), model(inputs).numpy(), atol=0.1)
