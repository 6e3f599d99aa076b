#!/usr/bin/env python3
"""Checks an ONNX file written by `satx export` against `satx predict` on the same tiles.

    satx predict -model=best.safetensors -input=tiles/ -output=pred.csv
    satx export  -model=best.safetensors -out=model.onnx
    python3 scripts/onnx-check.py model.onnx pred.csv [--tolerance 1e-4]

Runs the ONNX model in onnxruntime on every tile the CSV lists (its `path` column), with the
preprocessing the file's metadata_props describe (satx.input_size, satx.mean, satx.std,
satx.channel_order), and compares the probabilities with the CSV's per-class columns. Prints the
largest absolute difference and the label agreement; exits 1 when a difference exceeds the
tolerance. Needs onnxruntime, numpy and Pillow (8-bit RGB or gray tiles).
"""
import argparse
import csv
import json
import sys

import numpy as np
import onnxruntime
from PIL import Image


def resize_square(pixels, size):
    """uint8 [H, W, C] -> [size, size, C] as satx's decoder resizes: OpenCV's INTER_AREA when
    either side shrinks, INTER_LINEAR otherwise."""
    try:
        import cv2
    except ImportError:
        sys.exit("onnx-check: a tile is larger than the model's input size or not square; reproducing "
                 "satx's resize needs OpenCV's Python module (Debian: python3-opencv)")
    shrinking = pixels.shape[0] > size or pixels.shape[1] > size
    resized = cv2.resize(pixels, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return resized.reshape(size, size, -1)


def enlarge_bilinear(x, size):
    """float [C, n, n] -> [C, size, size]: half-pixel centres, no antialiasing, as
    torch.nn.functional.interpolate(mode='bilinear', align_corners=False) computes."""
    n = x.shape[1]
    src = np.maximum((np.arange(size) + 0.5) * (n / size) - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), n - 1)
    high = np.minimum(low + 1, n - 1)
    w = (src - low).astype(np.float32)
    rows = x[:, low, :] * (1 - w)[None, :, None] + x[:, high, :] * w[None, :, None]
    return rows[:, :, low] * (1 - w)[None, None, :] + rows[:, :, high] * w[None, None, :]


def preprocess(path, meta):
    channels = len(json.loads(meta["satx.mean"]))
    order = meta["satx.channel_order"]
    if order not in ("RGB", "gray"):
        sys.exit(f"onnx-check: tiles with channel order '{order}' need a reader of their own")
    pixels = np.asarray(Image.open(path).convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    # satx shrinks a large tile on the 8-bit pixels, and enlarges a small one after normalizing.
    size = int(meta["satx.input_size"])
    side = max(pixels.shape[0], pixels.shape[1])
    if side > size:
        pixels = resize_square(pixels, size)
    elif pixels.shape[0] != pixels.shape[1]:
        pixels = resize_square(pixels, side)
    x = pixels.astype(np.float32).transpose(2, 0, 1) / 255.0
    mean = np.asarray(json.loads(meta["satx.mean"]), dtype=np.float32)[:, None, None]
    std = np.asarray(json.loads(meta["satx.std"]), dtype=np.float32)[:, None, None]
    x = (x - mean) / std
    if x.shape[1] != size:
        x = enlarge_bilinear(x, size)
    return x.astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("onnx_file")
    parser.add_argument("predictions_csv", help="satx predict output with every class probability (no -topk)")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    session = onnxruntime.InferenceSession(args.onnx_file, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    classes = json.loads(meta["satx.classes"])
    with open(args.predictions_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit("onnx-check: the CSV lists no tiles")
    missing = [c for c in classes if c not in rows[0]]
    if missing:
        sys.exit(f"onnx-check: the CSV has no column for {missing}; run satx predict without -topk")

    worst, agree = 0.0, 0
    batch_input = session.get_inputs()[0]
    fixed_batch = batch_input.shape[0] if isinstance(batch_input.shape[0], int) else None
    step = fixed_batch or args.batch
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        x = np.stack([preprocess(row["path"], meta) for row in chunk])
        if fixed_batch and len(chunk) < fixed_batch:
            x = np.concatenate([x, np.zeros((fixed_batch - len(chunk),) + x.shape[1:], np.float32)])
        probabilities = session.run(["probabilities"], {batch_input.name: x})[0][:len(chunk)]
        expected = np.array([[float(row[c]) for c in classes] for row in chunk])
        worst = max(worst, float(np.abs(probabilities - expected).max()))
        agree += int((probabilities.argmax(1) == expected.argmax(1)).sum())
    ok = worst <= args.tolerance
    print(f"{len(rows)} tiles: max |p_onnx - p_satx| = {worst:.3g} (tolerance {args.tolerance:g}), "
          f"top-1 agreement {agree}/{len(rows)}, onnxruntime {onnxruntime.__version__}: {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
