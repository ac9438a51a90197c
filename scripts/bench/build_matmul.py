"""Writes scripts/bench/matmul.onnx: one float32 MatMul [M, K] x [K, N] with every dimension
dynamic, which `deno task bench` times to measure the machine's sgemm rate through the same
ONNX Runtime that runs the models. Run: /usr/bin/python3 scripts/bench/build_matmul.py"""

import os

import onnx
from onnx import TensorProto, helper

a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", "k"])
b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["k", "n"])
c = helper.make_tensor_value_info("c", TensorProto.FLOAT, ["m", "n"])
graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "sgemm", [a, b], [c])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="halton-maskgit")
model.ir_version = 8
onnx.checker.check_model(model)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "matmul.onnx")
onnx.save(model, path)
print(path)
