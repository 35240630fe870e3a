"""Calling exported models: in process, or through TF Serving's REST and gRPC APIs.

The three clients share one call shape, the one of a loaded SavedModel's signatures:
`client.signatures["decode"](z=z)` returns `{"images": array}`. So code written against
`LocalClient("exported/vae")` works unchanged against `Client("http://host:8501", "vae")`
(REST) or `Client("grpc://host:8500", "vae")` (gRPC, with `tensorflow-serving-api`).

`check_saved_model(path)` is the serving contract every export must meet: signature defs read
from `saved_model.pb` as TF Serving reads them, every input batched, JSON-representable
dtypes, and a `PredictRequest` built from the inputs gives the in-process answer.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request

import numpy as np

# dtypes that TF Serving's REST API can carry as JSON (strings as base64 when named *_bytes)
JSON_DTYPES = ("float32", "float64", "int32", "int64", "bool", "string")


def latest_version_path(path):
    """`path` itself if it holds a `saved_model.pb`, else its highest integer version folder."""
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    from keras_gen.export import version_folders

    versions = version_folders(path)
    if not versions:
        raise FileNotFoundError(f"no SavedModel and no version folder under {path}")
    return os.path.join(path, str(versions[-1]))


def read_metadata(path):
    """The `assets/metadata.json` written by `keras_gen.export` (`{}` if absent)."""
    meta_path = os.path.join(latest_version_path(path), "assets", "metadata.json")
    if not os.path.exists(meta_path):
        return {}
    with open(meta_path) as handle:
        return json.load(handle)


class _Signatures:
    """`client.signatures[name](**inputs)`, like a loaded SavedModel's signatures."""

    def __init__(self, client):
        self._client = client

    def __getitem__(self, name):
        return lambda **inputs: self._client.predict(signature=name, **inputs)

    def keys(self):
        return self._client.signature_names()

    def __iter__(self):
        return iter(self.keys())

    def __contains__(self, name):
        return name in self.keys()


class LocalClient:
    """A SavedModel folder (a version folder, or a model folder: its latest version), in process.

    Examples:
        >>> import tempfile, keras_gen
        >>> path = keras_gen.export.export(keras_gen.models.VAE(latent_dim=2), tempfile.mkdtemp() + "/vae")
        >>> client = LocalClient(path)
        >>> client.signatures["sample"](seeds=[0, 1])["images"].shape
        (2, 28, 28, 1)
    """

    def __init__(self, path):
        import tensorflow as tf

        self.path = latest_version_path(path)
        self.model = tf.saved_model.load(self.path)
        self.metadata = read_metadata(self.path)
        self.signatures = _Signatures(self)

    def signature_names(self):
        return sorted(self.model.signatures.keys())

    def input_specs(self, signature="serving_default"):
        """`{input name: tf.TensorSpec}` of a signature."""
        return dict(self.model.signatures[signature].structured_input_signature[1])

    def predict(self, signature="serving_default", **inputs):
        import tensorflow as tf

        if signature not in self.model.signatures:
            raise KeyError(f"no signature {signature!r}; have {self.signature_names()}")
        specs = self.input_specs(signature)
        if set(inputs) != set(specs):
            raise ValueError(f"signature {signature!r} takes inputs {sorted(specs)}, got {sorted(inputs)}")
        tensors = {name: tf.constant(np.asarray(value), dtype=specs[name].dtype)
                   for name, value in inputs.items()}
        return {name: value.numpy() for name, value in self.model.signatures[signature](**tensors).items()}


def _to_json(array, name):
    array = np.asarray(array)
    if array.dtype.kind in "SOU":
        if not name.endswith("_bytes"):
            raise ValueError(f"string input {name!r} must be named *_bytes to travel as base64")
        flat = [{"b64": base64.b64encode(v if isinstance(v, bytes) else str(v).encode()).decode("ascii")}
                for v in array.reshape(-1)]
        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    return array.tolist()


def _from_json(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        items = [_from_json(v) for v in value]
        if items and isinstance(items[0], bytes):
            return np.array(items, dtype=object)
        return np.asarray(items)
    return value


def _is_output_dict(value):
    return isinstance(value, dict) and set(value) != {"b64"}


class Client:
    """A model served by TF Serving, over REST (`http://host:8501`) or gRPC (`grpc://host:8500`).

    `format="row"` sends `{"instances": [...]}`, `"columnar"` sends `{"inputs": {...}}`; both
    return `{output name: numpy array}` like `LocalClient`. Bytes (`*_bytes`) travel as
    base64 over REST and as DT_STRING tensors over gRPC.

    Example (needs a running server):

    ```python
    client = Client("http://localhost:8501", "vae")
    images = client.signatures["sample"](seeds=[0, 1, 2])["images"]
    ```
    """

    def __init__(self, url, model, version=None, format="row", timeout=30.0):
        if format not in ("row", "columnar"):
            raise ValueError(f"format must be 'row' or 'columnar', got {format!r}")
        self.url, self.model_name, self.version = url.rstrip("/"), model, version
        self.format, self.timeout = format, float(timeout)
        self.protocol = "rest" if self.url.startswith(("http://", "https://")) else "grpc"
        self._signature_defs = None
        self._stub = None
        self.signatures = _Signatures(self)

    # ------------------------------------------------------------------ metadata
    def _model_path(self):
        path = f"{self.url}/v1/models/{self.model_name}"
        return path + (f"/versions/{int(self.version)}" if self.version is not None else "")

    def _http(self, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("error", detail)
            except ValueError:
                pass
            raise RuntimeError(f"TF Serving answered {error.code}: {detail}") from None

    def signature_defs(self):
        """`{signature: {"inputs": {name: dtype}, "outputs": {name: dtype}}}` from the server."""
        if self._signature_defs is None:
            if self.protocol == "rest":
                defs = self._http(self._model_path() + "/metadata")["metadata"]["signature_def"]["signature_def"]
                self._signature_defs = {
                    name: {side: {k: v.get("dtype") for k, v in sdef.get(side, {}).items()}
                           for side in ("inputs", "outputs")} for name, sdef in defs.items()}
            else:
                self._signature_defs = self._grpc_signature_defs()
        return self._signature_defs

    def signature_names(self):
        return sorted(self.signature_defs())

    # ------------------------------------------------------------------ predict
    def predict(self, signature="serving_default", **inputs):
        if self.protocol == "grpc":
            return self._grpc_predict(signature, inputs)
        arrays = {name: np.asarray(value) for name, value in inputs.items()}
        if self.format == "row":
            sizes = {len(a) for a in arrays.values()}
            if len(sizes) != 1:
                raise ValueError(f"row format needs inputs with one batch size, got {sorted(sizes)}")
            columns = {name: _to_json(a, name) for name, a in arrays.items()}
            instances = [{name: column[i] for name, column in columns.items()} for i in range(sizes.pop())]
            body = {"signature_name": signature, "instances": instances}
            result = self._http(self._model_path() + ":predict", body)["predictions"]
            if result and _is_output_dict(result[0]):
                return {name: _from_json([row[name] for row in result]) for name in result[0]}
            return {self._single_output(signature): _from_json(result)}
        body = {"signature_name": signature,
                "inputs": {name: _to_json(a, name) for name, a in arrays.items()}}
        result = self._http(self._model_path() + ":predict", body)["outputs"]
        if _is_output_dict(result):
            return {name: _from_json(value) for name, value in result.items()}
        return {self._single_output(signature): _from_json(result)}

    def _single_output(self, signature):
        outputs = self.signature_defs()[signature]["outputs"]
        if len(outputs) != 1:
            raise RuntimeError(f"expected one output for {signature!r}, the server lists {sorted(outputs)}")
        return next(iter(outputs))

    # ------------------------------------------------------------------ gRPC
    def _grpc(self):
        if self._stub is None:
            import grpc
            from tensorflow_serving.apis import prediction_service_pb2_grpc

            target = self.url.split("://", 1)[-1]
            self._stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target))
        return self._stub

    def _model_spec(self, spec, signature=None):
        spec.name = self.model_name
        if self.version is not None:
            spec.version.value = int(self.version)
        if signature is not None:
            spec.signature_name = signature

    def _grpc_predict(self, signature, inputs):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._model_spec(request.model_spec, signature)
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
        response = self._grpc().Predict(request, timeout=self.timeout)
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def _grpc_signature_defs(self):
        import tensorflow as tf
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self._model_spec(request.model_spec)
        request.metadata_field.append("signature_def")
        response = self._grpc().GetModelMetadata(request, timeout=self.timeout)
        defs = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(defs)
        return {name: {side: {k: tf.dtypes.as_dtype(v.dtype).name for k, v in getattr(sdef, side).items()}
                       for side in ("inputs", "outputs")} for name, sdef in defs.signature_def.items()}


# ---------------------------------------------------------------------- the serving contract
#: Ops that call back into the Python process that traced them: TF Serving (no Python) cannot run
#: them, and a process without that Python function gets an error at call time, not load time.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def serve_meta_graph(path):
    """The meta graph tagged `serve` in `<path>/saved_model.pb`, as TF Serving reads it."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    for meta_graph in saved_model.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return meta_graph
    raise ValueError(f"{path} has no meta graph tagged 'serve'")


def signature_defs(path, meta_graph=None):
    """The SignatureDefs of the `serve` graph in `saved_model.pb`, as TF Serving reads them
    (`meta_graph`: that graph, when the caller has parsed it already)."""
    meta_graph = meta_graph or serve_meta_graph(path)
    # the init op is TensorFlow's own bookkeeping, which TF Serving skips too
    return {name: sdef for name, sdef in meta_graph.signature_def.items()
            if name != "__saved_model_init_op"}


def python_ops(path, meta_graph=None):
    """Sorted names of the Python-callback ops (`PYTHON_OPS`) in the SavedModel's graph and
    function library; a servable export has none."""
    graph = (meta_graph or serve_meta_graph(path)).graph_def
    nodes = [*graph.node, *(node for function in graph.library.function for node in function.node_def)]
    return sorted({node.op for node in nodes if node.op in PYTHON_OPS})


def example_inputs(input_specs, metadata, batch=2, seed=0):
    """Valid inputs for a signature: `{name: array}` with `batch` rows, from names and specs."""
    import io

    from PIL import Image

    rng = np.random.default_rng(seed)
    h, w, c = metadata.get("image_shape", (28, 28, 1))
    inputs = {}
    for name, spec in input_specs.items():
        shape = (batch, *[int(d) for d in spec.shape[1:]])
        if name == "images_bytes":
            files = []
            for _ in range(batch):
                pixels = (rng.random((h, w, c)) * 255).astype(np.uint8)
                buffer = io.BytesIO()
                Image.fromarray(pixels[..., 0] if c == 1 else pixels).save(buffer, format="PNG")
                files.append(buffer.getvalue())
            inputs[name] = np.array(files, dtype=object)
        elif name == "labels":
            inputs[name] = (np.arange(batch) % int(metadata.get("num_classes", 2))).astype(np.int32)
        elif name == "steps":
            inputs[name] = np.full(shape, 2, np.int32)
        elif spec.dtype.is_integer:
            inputs[name] = np.arange(batch, dtype=spec.dtype.as_numpy_dtype).reshape(shape[:1])
        elif name == "images":
            inputs[name] = rng.random(shape).astype(np.float32)
        else:
            inputs[name] = rng.standard_normal(shape).astype(np.float32)
    return inputs


def check_saved_model(path, atol=1e-5):
    """Check one SavedModel against the serving contract; returns a report dict.

    `report["problems"]` lists every breach (empty when the model passes): a signature that is
    not a predict signature, an op that calls back into Python (`tf.py_function`), an input
    without a `None` batch dimension, a dtype JSON cannot carry, a bytes tensor not named
    `*_bytes`, or outputs that differ between a direct call
    and a call whose inputs and outputs went through `PredictRequest`/`PredictResponse` protos
    (`tf.make_tensor_proto` / `tf.make_ndarray`) and the REST JSON encoding.
    `report["examples"]` maps each signature called to its example `(inputs, outputs)` arrays.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    path = latest_version_path(path)
    metadata = read_metadata(path)
    meta_graph = serve_meta_graph(path)  # parsed once for both reads
    defs = signature_defs(path, meta_graph)
    loaded = tf.saved_model.load(path)
    report = {"path": path, "model": metadata.get("model"), "signatures": sorted(defs), "problems": [],
              "examples": {}}
    problems = report["problems"]
    if "serving_default" not in defs:
        problems.append("no serving_default signature")
    problems += [f"the graph calls back into Python ({op}), which TF Serving cannot run"
                 for op in python_ops(path, meta_graph)]
    for name, sdef in sorted(defs.items()):
        if sdef.method_name != "tensorflow/serving/predict":
            problems.append(f"{name}: method {sdef.method_name!r} is not predict")
        for side in ("inputs", "outputs"):
            for key, info in getattr(sdef, side).items():
                dtype = tf.dtypes.as_dtype(info.dtype).name
                dims = [d.size for d in info.tensor_shape.dim]
                if dtype not in JSON_DTYPES:
                    problems.append(f"{name}: {side[:-1]} {key!r} has dtype {dtype}, not JSON-representable")
                if dtype == "string" and not key.endswith("_bytes"):
                    problems.append(f"{name}: string {side[:-1]} {key!r} is not named *_bytes")
                if info.tensor_shape.unknown_rank or not dims or dims[0] != -1:
                    problems.append(f"{name}: {side[:-1]} {key!r} is not batched (shape {dims})")
        if any(p.startswith(f"{name}:") for p in problems):
            continue
        function = loaded.signatures[name]
        inputs = example_inputs(dict(function.structured_input_signature[1]), metadata)
        direct = {k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
        report["examples"][name] = (inputs, direct)

        request = predict_pb2.PredictRequest()
        request.model_spec.name, request.model_spec.signature_name = "model", name
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        request = predict_pb2.PredictRequest.FromString(request.SerializeToString())
        received = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
        response = predict_pb2.PredictResponse()
        for key, value in function(**{k: tf.constant(v) for k, v in received.items()}).items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
        response = predict_pb2.PredictResponse.FromString(response.SerializeToString())
        served = {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}
        via_json = {key: _from_json(json.loads(json.dumps(_to_json(value, key))))
                    for key, value in direct.items()}

        if set(served) != set(direct):
            problems.append(f"{name}: outputs {sorted(served)} through protos, {sorted(direct)} directly")
            continue
        for key in direct:
            for label, other in (("PredictRequest", served[key]), ("REST JSON", via_json[key])):
                if direct[key].dtype == object:
                    same = list(direct[key].reshape(-1)) == list(np.asarray(other).reshape(-1))
                else:
                    same = np.allclose(direct[key], np.asarray(other, direct[key].dtype), atol=atol)
                if not same:
                    problems.append(f"{name}: output {key!r} differs through {label}")
    return report
