#!/usr/bin/env python3
"""The plain-Python peer of `satx serve`, for bench/serve_bench.sh.

What a competent user would write without satx: Flask (Debian's python3-flask) with its
threaded server, the same satx model file loaded into torchvision's mobilenet_v2, PIL to
decode, one forward pass per request under inference_mode, softmax, JSON. POST /v1/predict
takes the image bytes as the body and answers label, score and per-class probabilities.
"""
import argparse
import io
import os

import torch
from flask import Flask, jsonify, request
from PIL import Image

from predict_peer import eval_transform, load_satx_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    torch.set_num_threads(args.threads)  # Debian's build starts with one thread
    model, meta = load_satx_model(args.model)
    transform = eval_transform(meta)
    classes = meta["classes"]
    app = Flask(__name__)

    @app.post("/v1/predict")
    def predict():
        if not request.data:
            return jsonify(error="empty body"), 400
        try:
            image = Image.open(io.BytesIO(request.data)).convert("RGB")
        except Exception as error:  # noqa: BLE001 - any decoder failure is the client's bad image
            return jsonify(error=str(error)), 422
        with torch.inference_mode():
            p = torch.softmax(model(transform(image).unsqueeze(0)), 1)[0]
        label = int(p.argmax())
        return jsonify(label=classes[label], score=float(p[label]),
                       probabilities={c: float(v) for c, v in zip(classes, p.tolist())})

    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
