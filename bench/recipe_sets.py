#!/usr/bin/env python3
"""Builds the benchmark data sets of bench/recipes.sh from EuroSAT, as folders of symlinks.

  eurosat      the 10 classes as they are (train/valid/test)
  highway3     two classes, background (every other class) and highway, the highway tiles
               subsampled so they are 3% of each split
  permcrop3    likewise with PermanentCrop
  fewshot20    20 training tiles per class (all 10 classes), full validation and test splits

Two-class folders are named so that the positive class sorts last (satx's positive class is
the second in sorted order). Selections are seeded, so every run builds the same sets.

usage: recipe_sets.py EUROSAT_DIR OUT_DIR SET [SET...]
prints one line per set: name, then the tiles per class and split.
"""
import os
import random
import sys

SPLITS = ("train", "valid", "test")
EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def files(folder):
    return sorted(f for f in os.listdir(folder) if f.lower().endswith(EXTENSIONS))


def link_all(sources, destination):
    os.makedirs(destination, exist_ok=True)
    for source in sources:
        target = os.path.join(destination, os.path.basename(source))
        if not os.path.lexists(target):
            os.symlink(os.path.abspath(source), target)


def rare_positive(eurosat, out, positive, share, seed):
    counts = {}
    for split in SPLITS:
        split_dir = os.path.join(eurosat, split)
        negatives, positives = [], []
        for cls in sorted(os.listdir(split_dir)):
            paths = [os.path.join(split_dir, cls, f) for f in files(os.path.join(split_dir, cls))]
            (positives if cls == positive else negatives).extend(paths)
        # positives / (positives + negatives) == share
        keep = max(1, round(share * len(negatives) / (1.0 - share)))
        rng = random.Random(f"{seed}-{positive}-{split}")
        chosen = sorted(rng.sample(positives, min(keep, len(positives))))
        link_all(negatives, os.path.join(out, split, "background"))
        link_all(chosen, os.path.join(out, split, positive.lower()))
        counts[split] = {"background": len(negatives), positive.lower(): len(chosen)}
    return counts


def few_shot(eurosat, out, per_class, seed):
    counts = {}
    for split in SPLITS:
        split_dir = os.path.join(eurosat, split)
        counts[split] = {}
        for cls in sorted(os.listdir(split_dir)):
            paths = [os.path.join(split_dir, cls, f) for f in files(os.path.join(split_dir, cls))]
            if split == "train":
                paths = sorted(random.Random(f"{seed}-{cls}").sample(paths, min(per_class, len(paths))))
            link_all(paths, os.path.join(out, split, cls))
            counts[split][cls] = len(paths)
    return counts


def whole(eurosat, out):
    counts = {}
    for split in SPLITS:
        split_dir = os.path.join(eurosat, split)
        counts[split] = {}
        for cls in sorted(os.listdir(split_dir)):
            paths = [os.path.join(split_dir, cls, f) for f in files(os.path.join(split_dir, cls))]
            link_all(paths, os.path.join(out, split, cls))
            counts[split][cls] = len(paths)
    return counts


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    eurosat, out, sets = sys.argv[1], sys.argv[2], sys.argv[3:]
    seed = 2026
    for name in sets:
        target = os.path.join(out, name)
        if name == "eurosat":
            counts = whole(eurosat, target)
        elif name == "highway3":
            counts = rare_positive(eurosat, target, "Highway", 0.03, seed)
        elif name == "permcrop3":
            counts = rare_positive(eurosat, target, "PermanentCrop", 0.03, seed)
        elif name == "fewshot20":
            counts = few_shot(eurosat, target, 20, seed)
        else:
            sys.exit(f"unknown set '{name}' (eurosat, highway3, permcrop3, fewshot20)")
        summary = "; ".join(f"{split} " + ", ".join(f"{c} {n}" for c, n in counts[split].items()) for split in SPLITS)
        print(f"{name}: {summary}")


if __name__ == "__main__":
    main()
