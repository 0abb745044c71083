"""dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1.dat) as an ONNX graph.

The .dat file is dlib's own binary serialization of `anet_type` in dlib's
examples/dnn_face_recognition_ex.cpp. We read it with the exact layer list of that type and write the
same computation with the `onnx` package, so onnxruntime runs the very weights dlib runs:

- integers: one control byte (low nibble = byte count, 0x80 = negative), then little-endian bytes;
- floats (scalars): an integer mantissa and an integer exponent, value = mantissa * 2**exponent;
- strings: a length integer, then the bytes; bools: the character '0' or '1';
- tensors: version, num_samples, k, nr, nc, then raw little-endian float32 values;
- a network: add_loss_layer writes its version and loss, then the subnetwork; every add_layer writes its
  version, then its whole subnetwork, then its own layer, so the file runs from the output's headers down
  to the input layer and back up through the layers' parameters.

Layer versions we do not know raise ConversionError: a different file is refused, never half-read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when the graph this module writes changes: the cache of converted files is keyed by it.
CONVERTER_VERSION = 2
CHIP = 150
DESCRIPTOR_SIZE = 128


class ConversionError(Exception):
    """The .dat file is not the network this converter knows, or is damaged."""


# -- dlib's serialization primitives ------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise ConversionError("The model file ends early: it is truncated.")
        chunk = self._data[self._pos:self._pos + n]
        self._pos += n
        return chunk

    @property
    def at_end(self) -> bool:
        return self._pos == len(self._data)

    def integer(self) -> int:
        control = self._take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise ConversionError(f"Bad integer control byte {control:#x} at offset {self._pos - 1}.")
        value = int.from_bytes(self._take(size), "little") if size else 0
        return -value if control & 0x80 else value

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        if exponent >= 32000:  # dlib's markers for inf, -inf and nan
            return {32000: float("inf"), 32001: float("-inf")}.get(exponent, float("nan"))
        return float(mantissa) * 2.0 ** exponent

    def text(self) -> str:
        return self._take(self.integer()).decode("latin-1")

    def flag(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise ConversionError(f"Bad boolean {char!r} at offset {self._pos - 1}.")
        return char == b"1"

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise ConversionError(f"Unknown tensor version {version}.")
        shape = (self.integer(), self.integer(), self.integer(), self.integer())
        count = int(np.prod(shape))
        return np.frombuffer(self._take(4 * count), dtype="<f4").reshape(shape).astype(np.float32)

    def alias(self) -> tuple[int, int, int, int]:
        if self.integer() != 1:
            raise ConversionError("Unknown alias_tensor version.")
        return (self.integer(), self.integer(), self.integer(), self.integer())

    def expect(self, *versions: str) -> str:
        found = self.text()
        if found not in versions:
            raise ConversionError(f"Expected layer {' or '.join(versions)}, found {found!r}: not dlib's face model.")
        return found


# -- the network, as dlib_face_recognition_resnet_model_v1's anet_type -------------------------------
@dataclass
class Layer:
    """One dlib layer. kind is con, affine, relu, max_pool, avg_pool, add_prev, tag, skip, fc."""

    kind: str
    arg: int = 0  # filters for con; the tag id for tag, skip and add_prev
    stride: int = 1
    size: int = 0  # window for con and pooling
    params: dict[str, Any] = field(default_factory=dict)


def _block(n: int, stride: int) -> list[Layer]:
    # block<N,BN,stride> = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>, input first
    return [Layer("con", n, stride, 3), Layer("affine"), Layer("relu"), Layer("con", n, 1, 3), Layer("affine")]


def _ares(n: int) -> list[Layer]:
    # relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>
    return [Layer("tag", 1), *_block(n, 1), Layer("add_prev", 1), Layer("relu")]


def _ares_down(n: int) -> list[Layer]:
    # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>
    return [Layer("tag", 1), *_block(n, 2), Layer("tag", 2), Layer("skip", 1), Layer("avg_pool", 0, 2, 2),
            Layer("add_prev", 2), Layer("relu")]


def network() -> list[Layer]:
    """anet_type's layers from the input up (the loss layer and the input layer apart)."""
    layers = [Layer("con", 32, 2, 7), Layer("affine"), Layer("relu"), Layer("max_pool", 0, 2, 3)]
    layers += _ares(32) + _ares(32) + _ares(32)                              # alevel4
    layers += _ares_down(64) + _ares(64) + _ares(64) + _ares(64)                  # alevel3
    layers += _ares_down(128) + _ares(128) + _ares(128)                           # alevel2
    layers += _ares_down(256) + _ares(256) + _ares(256)                           # alevel1
    layers += _ares_down(256)                                                     # alevel0
    layers += [Layer("avg_pool_everything"), Layer("fc", DESCRIPTOR_SIZE)]
    # Fresh objects: the list repeats Layer instances through the * and + above.
    return [Layer(layer.kind, layer.arg, layer.stride, layer.size) for layer in layers]


@dataclass
class DlibNet:
    mean_rgb: tuple[float, float, float]
    layers: list[Layer]


def read_dlib_net(data: bytes) -> DlibNet:
    """Parse the .dat bytes into the layer list with each layer's weights."""
    reader = _Reader(data)
    try:
        if reader.integer() != 1:
            raise ConversionError("Unknown add_loss_layer version: not dlib's face model.")
        reader.expect("loss_metric_", "loss_metric_2")
        reader.real()
        reader.real()  # margin and distance threshold: training only
        layers = network()
        # Headers from the output down: add_layer versions (1..3), tag and skip versions (1).
        for layer in reversed(layers):
            version = reader.integer()
            if version not in ((1,) if layer.kind in ("tag", "skip") else (1, 2, 3)):
                raise ConversionError(f"Unexpected version {version} for a {layer.kind} layer: not dlib's face model.")
        reader.expect("input_rgb_image_sized")
        mean = (reader.real(), reader.real(), reader.real())
        if (reader.integer(), reader.integer()) != (CHIP, CHIP):
            raise ConversionError(f"The model's input is not {CHIP}x{CHIP}.")
        for index, layer in enumerate(layers):
            if layer.kind in ("tag", "skip"):
                continue
            _read_details(reader, layer)
            reader.flag()
            reader.flag()
            reader.flag()  # setup called, gradient stale, output disabled
            reader.tensor()
            reader.tensor()
            reader.tensor()  # x_grad, cached output, parameter gradient (or grad_final)
            if index == 0:
                reader.integer()  # the input-side add_layer's sample expansion factor (version 3)
    except (ValueError, UnicodeDecodeError) as err:
        raise ConversionError(f"The model file is damaged: {err}") from err
    if not reader.at_end:
        raise ConversionError("The model file has bytes after the network: not dlib's face model.")
    return DlibNet(mean, layers)


def _read_details(reader: _Reader, layer: Layer) -> None:
    readers: dict[str, Callable[[_Reader, Layer], None]] = {
        "con": _read_con, "affine": _read_affine, "relu": _read_relu, "max_pool": _read_pool,
        "avg_pool": _read_pool, "add_prev": _read_add_prev, "avg_pool_everything": _read_pool, "fc": _read_fc,
    }
    readers[layer.kind](reader, layer)


def _read_con(reader: _Reader, layer: Layer) -> None:
    version = reader.expect("con_4", "con_5", "con_6")
    params = reader.tensor().ravel()
    filters = reader.integer()
    geometry = [reader.integer() for _ in range(6)]  # nr, nc, stride y, stride x, padding y, padding x
    if filters != layer.arg or geometry[:4] != [layer.size, layer.size, layer.stride, layer.stride]:
        raise ConversionError(f"A convolution is {filters} filters {geometry[:4]}, expected {layer.arg} "
                              f"{[layer.size, layer.size, layer.stride, layer.stride]}: not dlib's face model.")
    shape, bias_shape = reader.alias(), reader.alias()
    for _ in range(4):
        reader.real()  # learning-rate and weight-decay multipliers
    use_bias = reader.flag() if version in ("con_5", "con_6") else True
    if version == "con_6":
        reader.flag()  # use_relu: set only by dlib's own fusion, never in a saved file
    count = int(np.prod(shape))
    layer.params = {"weight": params[:count].reshape(shape), "pad": geometry[4:6]}
    if use_bias:
        layer.params["bias"] = params[count:count + int(np.prod(bias_shape))].copy()


def _read_affine(reader: _Reader, layer: Layer) -> None:
    version = reader.expect("bn_con2", "affine_", "affine_2")
    if version == "bn_con2":
        # dlib's affine_(bn_) constructor: gamma / sqrt(running variance + eps), beta - gamma' * mean.
        params = reader.tensor().ravel()
        gamma, beta = reader.alias(), reader.alias()
        reader.tensor()
        reader.tensor()  # batch means and inverse deviations: training only
        means, variances = reader.tensor().ravel(), reader.tensor().ravel()
        reader.integer()  # number of updates
        reader.real()  # running-stats window
        for _ in range(4):
            reader.real()
        eps = np.float32(reader.real())
        k = int(np.prod(gamma))
        scale = params[:k] / np.sqrt(variances + eps)
        shift = params[k:k + int(np.prod(beta))] - scale * means
    else:
        params = reader.tensor().ravel()
        gamma, beta = reader.alias(), reader.alias()
        if reader.integer() != 0:  # CONV_MODE
            raise ConversionError("An affine layer is not per-channel: not dlib's face model.")
        if version == "affine_2" and reader.flag():
            raise ConversionError("A disabled affine layer: not dlib's face model.")
        k = int(np.prod(gamma))
        scale, shift = params[:k], params[k:k + int(np.prod(beta))]
    layer.params = {"scale": scale.astype(np.float32), "shift": shift.astype(np.float32)}


def _read_relu(reader: _Reader, layer: Layer) -> None:
    if reader.expect("relu_", "relu_2") == "relu_2" and reader.flag():
        raise ConversionError("A disabled relu layer: not dlib's face model.")


def _read_pool(reader: _Reader, layer: Layer) -> None:
    if layer.kind == "avg_pool_everything":
        reader.expect("avg_pool_2")
    else:
        reader.expect(f"{layer.kind}_2")
    geometry = [reader.integer() for _ in range(6)]
    if layer.kind != "avg_pool_everything" and geometry[:4] != [layer.size, layer.size, layer.stride, layer.stride]:
        raise ConversionError(f"A {layer.kind} window is {geometry[:4]}: not dlib's face model.")
    if layer.kind == "avg_pool_everything" and geometry[:2] != [0, 0]:
        raise ConversionError("The last pooling is not over the whole image: not dlib's face model.")
    layer.params = {"pad": geometry[4:6]}


def _read_add_prev(reader: _Reader, layer: Layer) -> None:
    reader.expect("add_prev_")


def _read_fc(reader: _Reader, layer: Layer) -> None:
    version = reader.expect("fc_2", "fc_3")
    outputs, inputs = reader.integer(), reader.integer()
    params = reader.tensor().ravel()
    weights, _ = reader.alias(), reader.alias()
    if reader.integer() != 1:  # FC_NO_BIAS
        raise ConversionError("The last layer has a bias: not dlib's face model.")
    for _ in range(4):
        reader.real()
    if version == "fc_3":
        reader.flag()
    if outputs != DESCRIPTOR_SIZE:
        raise ConversionError(f"The descriptor has {outputs} numbers, not {DESCRIPTOR_SIZE}.")
    layer.params = {"weight": params[:int(np.prod(weights))].reshape(inputs, outputs)}


# -- the ONNX graph ----------------------------------------------------------------------------------
def to_onnx(net: DlibNet, check: bool = False) -> bytes:
    """The graph's bytes (see build_model). `check` runs onnx's model checker, as the tests do."""
    import onnx  # noqa: PLC0415 - only conversion needs it

    model = build_model(net)
    if check:
        onnx.checker.check_model(model, full_check=True)
    return bytes(model.SerializeToString())


def build_model(net: DlibNet) -> Any:
    """An onnx ModelProto from uint8 chips (N, 150, 150, 3), RGB as dlib.get_face_chip returns them,
    to (N, 128) descriptors."""
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415 - only conversion needs it

    nodes: list[Any] = []
    inits: list[Any] = []
    names: Iterator[int] = iter(range(1_000_000))

    def const(array: np.ndarray, hint: str) -> str:
        name = f"{hint}_{next(names)}"
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = f"{op.lower()}_{next(names)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    # dlib's input layer: (pixel - channel mean) / 256, planar RGB.
    x = node("Cast", ["chips"], to=TensorProto.FLOAT)
    x = node("Transpose", [x], perm=[0, 3, 1, 2])
    x = node("Sub", [x, const(np.array(net.mean_rgb, np.float32).reshape(1, 3, 1, 1), "mean")])
    x = node("Mul", [x, const(np.array(1 / 256, np.float32), "scale")])
    shape: tuple[int, int, int] = (3, CHIP, CHIP)  # k, rows, cols: add_prev pads to the larger one
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    for layer in _fold_affine(net.layers):
        p = layer.params
        if layer.kind == "con":
            pad_y, pad_x = p["pad"]
            inputs = [x, const(p["weight"], "w")] + ([const(p["bias"], "b")] if "bias" in p else [])
            x = node("Conv", inputs, kernel_shape=[layer.size] * 2, strides=[layer.stride] * 2,
                     pads=[pad_y, pad_x, pad_y, pad_x])
            shape = (layer.arg, *_window(shape, layer))
        elif layer.kind == "affine":
            x = node("Mul", [x, const(p["scale"].reshape(1, -1, 1, 1), "gamma")])
            x = node("Add", [x, const(p["shift"].reshape(1, -1, 1, 1), "beta")])
        elif layer.kind == "relu":
            x = node("Relu", [x])
        elif layer.kind in ("max_pool", "avg_pool"):
            pad_y, pad_x = p["pad"]
            op = "MaxPool" if layer.kind == "max_pool" else "AveragePool"
            x = node(op, [x], kernel_shape=[layer.size] * 2, strides=[layer.stride] * 2,
                     pads=[pad_y, pad_x, pad_y, pad_x])
            shape = (shape[0], *_window(shape, layer))
        elif layer.kind == "tag":
            tags[layer.arg] = (x, shape)
        elif layer.kind == "skip":
            x, shape = tags[layer.arg]
        elif layer.kind == "add_prev":
            other, other_shape = tags[layer.arg]
            # dlib's tt::add: the sum has the larger size in every dimension; missing elements count as 0.
            target = (max(shape[0], other_shape[0]), max(shape[1], other_shape[1]), max(shape[2], other_shape[2]))
            x = node("Add", [_pad(node, const, x, shape, target), _pad(node, const, other, other_shape, target)])
            shape = target
        elif layer.kind == "avg_pool_everything":
            x = node("GlobalAveragePool", [x])
            shape = (shape[0], 1, 1)
        elif layer.kind == "fc":
            x = node("Flatten", [x], axis=1)
            x = node("MatMul", [x, const(p["weight"], "fc")])
    nodes[-1].output[0] = "descriptors"
    graph = helper.make_graph(
        nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["n", CHIP, CHIP, 3])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["n", DESCRIPTOR_SIZE])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="gate.face.onnx_convert", producer_version=str(CONVERTER_VERSION))
    model.ir_version = 8  # readable by every onnxruntime since 1.14
    return model


def _fold_affine(layers: list[Layer]) -> list[Layer]:
    """Each affine that follows a convolution folded into its weights and bias, as onnxruntime would do
    at every load: done once here, the load builds no second copy of the weights (peak memory)."""
    folded: list[Layer] = []
    for layer in layers:
        previous = folded[-1] if folded else None
        if layer.kind == "affine" and previous is not None and previous.kind == "con":
            scale, shift = layer.params["scale"], layer.params["shift"]
            bias = previous.params.get("bias", np.zeros_like(scale))
            params = {"weight": previous.params["weight"] * scale[:, None, None, None],
                      "bias": (bias * scale + shift).astype(np.float32), "pad": previous.params["pad"]}
            folded[-1] = Layer("con", previous.arg, previous.stride, previous.size, params)
        else:
            folded.append(layer)
    return folded


def _window(shape: tuple[int, int, int], layer: Layer) -> tuple[int, int]:
    """Rows and columns out of a convolution or pooling window, as dlib sizes them (rounding down)."""
    pad_y, pad_x = layer.params["pad"]
    return (1 + (shape[1] + 2 * pad_y - layer.size) // layer.stride,
            1 + (shape[2] + 2 * pad_x - layer.size) // layer.stride)


def _pad(node: Callable[..., str], const: Callable[[np.ndarray, str], str], x: str,
         shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
    if shape == target:
        return x
    extra = [0, target[0] - shape[0], target[1] - shape[1], target[2] - shape[2]]
    return node("Pad", [x, const(np.array([0, 0, 0, 0, *extra], np.int64), "pads")], mode="constant")


def write(dat: Path, target: Path) -> None:
    """The graph for `dat` as `target` and its weights beside it as `target`.data (onnxruntime maps that
    file instead of copying the weights out of the graph: a lower peak in the gate's memory). Both files
    are 0600 and appear whole or not at all; the data file first, so a graph never lacks its weights."""
    import onnx  # noqa: PLC0415

    model = build_model(read_dlib_net(Path(dat).read_bytes()))
    staging = target.parent / f".{target.name}.{os.getpid()}"
    staging.mkdir(mode=0o700)
    try:
        onnx.save_model(model, staging / target.name, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=f"{target.name}.data", size_threshold=1024)
        for name in (f"{target.name}.data", target.name):
            (staging / name).chmod(0o600)
            with open(staging / name, "rb") as written:
                os.fsync(written.fileno())
            os.replace(staging / name, target.parent / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def convert(dat: Path) -> bytes:
    """The ONNX bytes for dlib's .dat file at `dat`."""
    return to_onnx(read_dlib_net(Path(dat).read_bytes()))


def cache_key(dat: Path) -> str:
    """Names the converted file: the weights' hash and this converter's version, so either change rebuilds."""
    digest = hashlib.sha256(Path(dat).read_bytes()).hexdigest()[:16]
    return f"dlib-resnet-v1-{digest}-c{CONVERTER_VERSION}"


def main(argv: list[str]) -> int:
    """`python -m gate.face.onnx_convert DAT TARGET`: the engine converts in a child process, so the
    onnx package and the conversion's copies of the weights never weigh on the gate's own memory."""
    if len(argv) != 2:
        print("usage: python -m gate.face.onnx_convert MODEL.dat TARGET.onnx", file=sys.stderr)
        return 2
    try:
        write(Path(argv[0]), Path(argv[1]))
    except (ConversionError, OSError) as err:
        print(f"{err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
