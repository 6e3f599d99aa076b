#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets of tests/fuzz (docs/formats.md): small valid inputs
of each format, made with PyTorch and PIL, so mutations start from real structure.

usage: make_seeds.py OUT_DIR   (writes OUT_DIR/{pickle,torch_archive,keras_names,image_header,input_list,cli_args}/)
"""
import collections
import io
import os
import sys
import zipfile

import torch
from PIL import Image


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1]
    # torch.save archives of small state dicts, and their data.pkl alone.
    dicts = {
        "linear": collections.OrderedDict(weight=torch.randn(3, 2), bias=torch.zeros(3)),
        "mixed": collections.OrderedDict(
            a=torch.arange(6, dtype=torch.int64).view(2, 3), b=torch.ones(2, dtype=torch.float16),
            c=torch.tensor([True, False]), d=torch.randn(4, 4)[:, 1]),  # a strided view
        "checkpoint": {"epoch": 3, "state_dict": collections.OrderedDict(w=torch.randn(2, 2)), "note": "x"},
        "shared": collections.OrderedDict(),
    }
    base = torch.randn(8)
    dicts["shared"]["x"] = base[:4]
    dicts["shared"]["y"] = base[4:]
    for name, value in dicts.items():
        buffer = io.BytesIO()
        torch.save(value, buffer)
        archive = buffer.getvalue()
        write(os.path.join(out, "torch_archive"), name + ".pth", archive)
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            pickle_name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            write(os.path.join(out, "pickle"), name + ".pkl", z.read(pickle_name))
    # Keras layer lists in the fuzz target's text form, with real entry paths.
    keras = {
        "mobilenetv2": "#Conv1\nConv1/kernel:0 3 3 3 32\n#bn_Conv1\nbn_Conv1/gamma:0 32\nbn_Conv1/beta:0 32\n"
                       "bn_Conv1/moving_mean:0 32\nbn_Conv1/moving_variance:0 32\n#expanded_conv_depthwise\n"
                       "expanded_conv_depthwise/depthwise_kernel:0 3 3 32 1\n",
        "resnet50": "#conv1\nconv1/kernel:0 7 7 3 64\nconv1/bias:0 64\n#bn_conv1\nbn_conv1/gamma:0 64\n"
                    "#res2a_branch2a\nres2a_branch2a/kernel:0 1 1 64 64\n#fc1000\nfc1000/kernel:0 2048 1000\n",
        "xception": "#block1_conv1\nblock1_conv1/kernel:0 3 3 3 32\n#block1_conv1_bn\nblock1_conv1_bn/gamma:0 32\n"
                    "#block14_sepconv2\nblock14_sepconv2/depthwise_kernel:0 3 3 1536 1\n"
                    "block14_sepconv2/pointwise_kernel:0 1 1 1536 2048\n",
    }
    for name, text in keras.items():
        write(os.path.join(out, "keras_names"), name + ".txt", text.encode())
    # Small images in every format the decoder sniffs.
    image = Image.new("RGB", (17, 13))
    for x in range(17):
        for y in range(13):
            image.putpixel((x, y), (x * 15, y * 19, (x * y) % 256))
    for fmt, mode in (("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "L"), ("PNG", "RGBA"), ("TIFF", "RGB"), ("BMP", "RGB"),
                      ("WEBP", "RGB")):
        buffer = io.BytesIO()
        try:
            image.convert(mode).save(buffer, format=fmt)
        except (KeyError, OSError):
            continue
        write(os.path.join(out, "image_header"), "seed_%s_%s" % (fmt.lower(), mode.lower()), buffer.getvalue())
    # Predict input lists: plain, commented, CRLF, tile names, odd bytes, a shard spec first.
    lists = {
        "plain": "a.png\nb/c.jpg\n",
        "comments": "# tiles\n\n/data/x.tif\r\n/data/y.tif\r\n",
        "tiles": "0/4\ntiles/12/2048/1361.png\n5-7-3.png\nx,\"y\".png\n",
        "slurm": "3 8 1\nz/1/2/3.jpg\n\xff\xfeodd.png\n",
    }
    for name, text in lists.items():
        write(os.path.join(out, "input_list"), name + ".txt", text.encode("latin-1"))
    # Command lines (arguments separated by NUL), one per command and spelling.
    commands = [
        ["train", "-model=xception", "-train=train", "-valid=valid"],
        ["train", "--model", "mobilenetv2", "--train", "t", "--valid", "v", "-epochs=3", "-lr=1e-4", "-sampler=balanced"],
        ["finetune", "-from=m.safetensors", "-train=t", "-valid=v", "-new-head"],
        ["eval", "-model=m.safetensors", "-data=test", "-fail-under", "accuracy=0.9", "-topk=3", "-tta"],
        ["predict", "-model=m.safetensors", "-input=-", "-output=p.jsonl", "-resume", "-shard=1/4", "-threshold=0.3"],
        ["predict-merge", "-output=all.csv", "a.csv", "b.csv"],
        ["data", "check", "-data=d", "-errors=e.tsv"],
        ["weights", "import", "-arch=mnv2", "-weights=w.pth", "-out=m.safetensors"],
        ["sample-data", "-out=s"], ["info", "m.safetensors"], ["lr-find", "-train=t", "-valid=v"], ["--help"],
    ]
    for i, words in enumerate(commands):
        write(os.path.join(out, "cli_args"), "cmd%02d" % i, "\0".join(words).encode())


if __name__ == "__main__":
    main()
