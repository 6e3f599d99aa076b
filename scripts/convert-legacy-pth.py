#!/usr/bin/env python3
"""Convert a PyTorch weights file satx cannot read natively into one it can.

satx reads the zip archives torch.save has written since PyTorch 1.6. Older files (a bare
pickle stream or a tar archive, "legacy" serialization) need PyTorch to unpickle; this script
does that once and writes either safetensors (by the .safetensors extension) or a new-style
zip .pth. Training checkpoints are unwrapped ({"state_dict": ...}, {"model": ...}) and a
DataParallel "module." prefix is dropped, as satx does for zip files.

    python3 scripts/convert-legacy-pth.py old.pth weights.safetensors
    satx weights import -arch=resnet50 -weights=weights.safetensors

By default the input is loaded with torch.load(weights_only=True), which refuses pickles
that would run arbitrary code; pass --trust for a file you trust that needs more.
"""
import argparse
import collections
import json
import struct
import sys

import torch

NESTED_KEYS = ("state_dict", "model_state_dict", "model", "state", "net", "module")

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def load(path, trust):
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust)
    except TypeError:  # PyTorch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


def state_dict_of(obj):
    def tensors(d):
        return collections.OrderedDict((k, v) for k, v in d.items() if isinstance(k, str) and torch.is_tensor(v))

    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        sys.exit("convert-legacy-pth: the file holds a %s, not a state dict" % type(obj).__name__)
    found = tensors(obj)
    for key in NESTED_KEYS:
        if found:
            break
        if isinstance(obj.get(key), dict):
            found = tensors(obj[key])
    if not found:
        sys.exit("convert-legacy-pth: no tensors found (keys: %s)" % ", ".join(map(str, list(obj)[:10])))
    if all(k.startswith("module.") for k in found):
        found = collections.OrderedDict((k[len("module."):], v) for k, v in found.items())
    return found


def tensor_bytes(tensor):
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: same-size integer view
        tensor = tensor.view(torch.int16)
    return tensor.numpy().tobytes()


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = collections.OrderedDict(), [], 0
    header["__metadata__"] = metadata
    for name, tensor in tensors.items():
        if tensor.dtype not in DTYPES:
            sys.exit("convert-legacy-pth: %s has dtype %s, which safetensors cannot hold" % (name, tensor.dtype))
        blob = tensor_bytes(tensor)
        header[name] = {"dtype": DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format's padding: data starts 8-byte aligned
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="legacy torch.save file (.pth, .pt, .tar)")
    parser.add_argument("output", help="OUT.safetensors, or OUT.pth for a zip archive")
    parser.add_argument("--trust", action="store_true",
                        help="unpickle with weights_only=False (runs code from the file: trusted files only)")
    args = parser.parse_args()
    tensors = state_dict_of(load(args.input, args.trust))
    if args.output.endswith(".safetensors"):
        write_safetensors(args.output, tensors, {"source": args.input, "converted_by": "convert-legacy-pth.py"})
    else:
        torch.save(tensors, args.output, _use_new_zipfile_serialization=True)
    print("%s: %d tensors -> %s" % (args.input, len(tensors), args.output))


if __name__ == "__main__":
    main()
