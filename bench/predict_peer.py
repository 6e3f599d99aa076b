#!/usr/bin/env python3
"""The plain-PyTorch peer of `satx predict`, for bench/predict_bench.sh.

What a competent user would write without satx: torchvision's mobilenet_v2, an
ImageFolder-style Dataset decoding with PIL, a DataLoader with 2 worker processes,
inference_mode, softmax, and rows written with the csv module as batches come in. It loads
the same satx model file (a safetensors file with torchvision parameter names), so both
programs compute the same function; the benchmark checks that their labels agree.

Prints one JSON line: tiles, seconds (scoring loop only, from the first batch requested to
the last row written) and tiles_per_s.
"""
import argparse
import csv
import json
import os
import struct
import time

import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


def load_satx_model(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = json.loads(header["__metadata__"]["satx"])
    state = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = {"F32": torch.float32, "I64": torch.int64}[entry["dtype"]]
        state[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(entry["shape"])
    model = torchvision.models.mobilenet_v2(num_classes=len(meta["classes"]))
    model.load_state_dict(state)
    return model.eval(), meta


def eval_transform(meta):
    """PIL image -> the normalized tensor the model expects (resize to its input size)."""
    size = meta["input_size"]
    return transforms.Compose([
        transforms.Resize((size, size)),
        transforms.ToTensor(),
        transforms.Normalize(meta["mean"], meta["std"]),
    ])


class TileFolder(Dataset):
    def __init__(self, root, transform):
        self.paths = sorted(
            os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.lower().endswith(EXTENSIONS))
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as image:
            return self.transform(image.convert("RGB")), i


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    # Upstream PyTorch uses every core by default; Debian's build starts with one thread.
    torch.set_num_threads(os.cpu_count())
    model, meta = load_satx_model(args.model)
    transform = eval_transform(meta)
    dataset = TileFolder(args.input, transform)
    loader = DataLoader(dataset, batch_size=args.batch, num_workers=args.workers, shuffle=False)
    classes = meta["classes"]

    start = time.perf_counter()
    with open(args.output, "w", newline="") as f, torch.inference_mode():
        writer = csv.writer(f)
        writer.writerow(["path", "label", "score"] + classes)
        for images, indices in loader:
            probabilities = model(images).softmax(1)
            scores, labels = probabilities.max(1)
            for i, label, score, row in zip(indices.tolist(), labels.tolist(), scores.tolist(), probabilities.tolist()):
                writer.writerow([dataset.paths[i], classes[label], f"{score:.6g}"] + [f"{p:.6g}" for p in row])
    seconds = time.perf_counter() - start
    print(json.dumps({"tiles": len(dataset), "seconds": seconds, "tiles_per_s": len(dataset) / seconds}))


if __name__ == "__main__":
    main()
