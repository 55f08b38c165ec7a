"""TF Serving's `BatchingParameters` and `MonitoringConfig` messages, which tensorflow-serving-api does not ship.

tensorflow-serving-api 2.16 has Python classes for `ModelServerConfig` (`--model_config_file`) but not for
the messages of two other files the model server reads:

- `--batching_parameters_file`: `tensorflow.serving.BatchingParameters`, defined in
  `tensorflow_serving/servables/tensorflow/session_bundle_config.proto` (fields 1-5 are
  `google.protobuf.Int64Value`/`StringValue` wrappers, 6 `repeated int64 allowed_batch_sizes`, 7
  `bool pad_variable_length_inputs`).
- `--monitoring_config_file`: `tensorflow.serving.MonitoringConfig` (field 1 `PrometheusConfig
  prometheus_config`, whose fields are 1 `bool enable`, 2 `string path`), defined in
  `tensorflow_serving/config/monitoring_config.proto`.

No protoc is installed to compile those files, so this module declares the same messages (names, field
numbers and types as in TF Serving 2.16's sources, https://github.com/tensorflow/serving) as a
`FileDescriptorProto` in a private descriptor pool. The text format of a message depends only on its
field names and types, so what `google.protobuf.text_format` writes and parses with these classes is what
the model server reads.
"""
from __future__ import annotations

from typing import Tuple, Type

from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory, wrappers_pb2

_PACKAGE = "tensorflow.serving"
_F = descriptor_pb2.FieldDescriptorProto


def _add_message(file_proto, name: str, fields) -> None:
    message_proto = file_proto.message_type.add(name=name)
    for field_name, number, field_type, type_name, label in fields:
        field = message_proto.field.add(name=field_name, number=number, type=field_type, label=label)
        if type_name:
            field.type_name = type_name


def _build() -> Tuple[Type[message.Message], Type[message.Message]]:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    optional, repeated = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    batching = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/servables/tensorflow/session_bundle_config.proto", package=_PACKAGE,
        syntax="proto3", dependency=["google/protobuf/wrappers.proto"])
    _add_message(batching, "BatchingParameters", [
        ("max_batch_size", 1, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value", optional),
        ("batch_timeout_micros", 2, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value", optional),
        ("max_enqueued_batches", 3, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value", optional),
        ("num_batch_threads", 4, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value", optional),
        ("thread_pool_name", 5, _F.TYPE_MESSAGE, ".google.protobuf.StringValue", optional),
        ("allowed_batch_sizes", 6, _F.TYPE_INT64, None, repeated),
        ("pad_variable_length_inputs", 7, _F.TYPE_BOOL, None, optional),
    ])
    monitoring = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/config/monitoring_config.proto", package=_PACKAGE, syntax="proto3")
    _add_message(monitoring, "PrometheusConfig", [
        ("enable", 1, _F.TYPE_BOOL, None, optional),
        ("path", 2, _F.TYPE_STRING, None, optional),
    ])
    _add_message(monitoring, "MonitoringConfig", [
        ("prometheus_config", 1, _F.TYPE_MESSAGE, f".{_PACKAGE}.PrometheusConfig", optional),
    ])
    pool.Add(batching)
    pool.Add(monitoring)
    factory = message_factory.MessageFactory(pool)
    return (factory.GetPrototype(pool.FindMessageTypeByName(f"{_PACKAGE}.BatchingParameters")),
            factory.GetPrototype(pool.FindMessageTypeByName(f"{_PACKAGE}.MonitoringConfig")))


BatchingParameters, MonitoringConfig = _build()
