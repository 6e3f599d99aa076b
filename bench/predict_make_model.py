#!/usr/bin/env python3
"""Writes a satx model file (MobileNetV2, torchvision layout) for the predict benchmarks.

The benchmarks measure speed, not accuracy, so the weights are random (seeded) unless
--backbone names a torchvision-layout safetensors file (e.g. ../shared/weights/
mobilenet_v2_imagenet.safetensors). The file is a plain safetensors file whose
__metadata__["satx"] holds the satx model metadata (docs/formats.md), so `satx predict`
loads it exactly like a trained model.
"""
import argparse
import json
import struct

import torch
import torchvision

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = {"F32": torch.float32, "I64": torch.int64}[entry["dtype"]]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(entry["shape"])
    return tensors


def write_safetensors(path, tensors, metadata):
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        raw = tensor.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": DTYPES[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output")
    parser.add_argument("--classes", required=True, help="comma-separated class names, in logit order")
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--backbone", help="torchvision-layout safetensors weights for the backbone")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    classes = args.classes.split(",")
    torch.manual_seed(args.seed)
    model = torchvision.models.mobilenet_v2(num_classes=len(classes))
    if args.backbone:
        weights = {k: v for k, v in read_safetensors(args.backbone).items() if not k.startswith("classifier.")}
        missing = model.load_state_dict(weights, strict=False).missing_keys
        assert all(k.startswith("classifier.") for k in missing), missing
    else:
        # Random weights: give BatchNorm statistics that keep activations in range.
        model.train()
        with torch.no_grad():
            for _ in range(3):
                model(torch.rand(16, 3, args.input_size, args.input_size) * 2 - 1)
    model.eval()
    metadata = {
        "format_version": 1,
        "arch": "mobilenetv2",
        "classes": classes,
        "input_size": args.input_size,
        "in_channels": 3,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "satx_version": "bench",
        "training": {"note": "random weights for benchmarks (bench/predict_make_model.py)", "seed": args.seed},
    }
    write_safetensors(args.output, model.state_dict(), {"satx": json.dumps(metadata), "format": "pt"})


if __name__ == "__main__":
    main()
