"""A stand-in for `tensorflow_model_server` in tests: its REST and gRPC predict APIs over real
SavedModels, on localhost.

The real server is a C++ binary shipped as a docker image or from Google's apt repository,
neither reachable here, so the tests run the client against this stand-in. It follows TF
Serving's documented behaviour independently of `keras_gen.serving` (row format:
`instances` -> `predictions`, one value per row for a single output, a dict per row for
several; columnar: `inputs` -> `outputs`; `*_bytes` as `{"b64": ...}`; metadata as
`GetModelMetadataResponse` JSON), and the gRPC side uses tensorflow-serving-api's own
`PredictionServiceServicer`.
"""

import base64
import threading
from concurrent import futures

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

from keras_gen.serving import latest_version_path, signature_defs


class ServedModels:
    """`{name: SavedModel}` loaded from `<root>/<name>/<latest version>`."""

    def __init__(self, paths):
        self.paths = {name: latest_version_path(path) for name, path in paths.items()}
        self.models = {name: tf.saved_model.load(path) for name, path in self.paths.items()}

    def run(self, name, signature, inputs):
        function = self.models[name].signatures[signature or "serving_default"]
        specs = function.structured_input_signature[1]
        tensors = {k: tf.constant(v, dtype=specs[k].dtype) for k, v in inputs.items()}
        return {k: v.numpy() for k, v in function(**tensors).items()}

    def signature_def_map(self, name):
        defs = get_model_metadata_pb2.SignatureDefMap()
        for key, sdef in signature_defs(self.paths[name]).items():
            defs.signature_def[key].CopyFrom(sdef)
        return defs


def _decode_json(value, name):
    if name.endswith("_bytes"):
        def walk(v):
            return [walk(x) for x in v] if isinstance(v, list) else base64.b64decode(v["b64"])
        return np.array(walk(value), dtype=object)
    return np.asarray(value)


def _encode_json(array, name):
    if name.endswith("_bytes"):
        return [{"b64": base64.b64encode(v).decode()} for v in array.reshape(-1)]
    return array.tolist()


def rest_app(served):
    import flask

    app = flask.Flask("fake_tf_serving")

    @app.get("/v1/models/<name>/metadata")
    @app.get("/v1/models/<name>/versions/<int:version>/metadata")
    def metadata(name, version=None):
        if name not in served.models:
            return flask.jsonify(error=f"Servable not found for request: Latest({name})"), 404
        defs = json_format.MessageToDict(served.signature_def_map(name), preserving_proto_field_name=True)
        return flask.jsonify(model_spec={"name": name, "signature_name": "", "version": "1"},
                             metadata={"signature_def": defs})

    @app.post("/v1/models/<path:target>")
    def predict(target):
        name, _, verb = target.partition(":")
        name = name.split("/versions/")[0]
        if verb != "predict" or name not in served.models:
            return flask.jsonify(error=f"Servable not found for request: Latest({name})"), 404
        body = flask.request.get_json()
        signature = body.get("signature_name", "serving_default")
        try:
            if "instances" in body:
                rows = body["instances"]
                keys = list(rows[0])
                inputs = {k: _decode_json([row[k] for row in rows], k) for k in keys}
                outputs = served.run(name, signature, inputs)
                encoded = {k: _encode_json(v, k) for k, v in outputs.items()}
                if len(encoded) == 1:
                    return flask.jsonify(predictions=next(iter(encoded.values())))
                count = len(next(iter(encoded.values())))
                return flask.jsonify(predictions=[{k: v[i] for k, v in encoded.items()} for i in range(count)])
            inputs = {k: _decode_json(v, k) for k, v in body["inputs"].items()}
            encoded = {k: _encode_json(v, k) for k, v in served.run(name, signature, inputs).items()}
            return flask.jsonify(outputs=next(iter(encoded.values())) if len(encoded) == 1 else encoded)
        except Exception as error:  # TF Serving answers 400 with the error text
            return flask.jsonify(error=str(error)), 400

    return app


class _Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, served):
        self.served = served

    def Predict(self, request, context):
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        outputs = self.served.run(request.model_spec.name, request.model_spec.signature_name, inputs)
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(self, request, context):
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.CopyFrom(request.model_spec)
        response.metadata["signature_def"].Pack(self.served.signature_def_map(request.model_spec.name))
        return response


class FakeTFServing:
    """Context manager serving `{name: model folder}` on localhost: `.rest_url`, `.grpc_url`."""

    def __init__(self, paths):
        self.served = ServedModels(paths)

    def __enter__(self):
        import grpc
        from werkzeug.serving import make_server

        self._http = make_server("127.0.0.1", 0, rest_app(self.served), threaded=True)
        self.rest_url = f"http://127.0.0.1:{self._http.server_port}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_Servicer(self.served), self._grpc)
        port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        self.grpc_url = f"grpc://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        self._http.shutdown()
        self._grpc.stop(0)
