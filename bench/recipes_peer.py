#!/usr/bin/env python3
"""The plain-PyTorch peer of `satx train`, for bench/recipes.sh.

What a competent user would write without satx for two-phase transfer learning:
torchvision's mobilenet_v2 with the ImageNet weights (.pth), ImageFolder and a DataLoader with
2 worker processes, random flips, Adam, cross-entropy. Phase 1 trains a new head on the frozen
backbone; phase 2 fine-tunes the whole network with BatchNorm frozen (inference mode), at a
tenth of the head's rate, the usual fine-tuning recipe. Every epoch is validated; the best
epoch by validation accuracy is kept and scored on the test split.

Prints one JSON line: seconds, phase-1 and final best validation accuracy, and the test
figures (accuracy, macro F1; for two classes average precision and the positive class's F1 at
the argmax decision).
"""
import argparse
import copy
import json
import time

import numpy as np
import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms


def average_precision(scores, labels):
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    positives = labels.sum()
    if positives == 0:
        return float("nan")
    # one point per distinct score (ties together), as scikit-learn
    distinct = np.r_[np.where(np.diff(scores))[0], len(scores) - 1]
    tp = np.cumsum(labels)[distinct]
    fp = distinct + 1 - tp
    precision = tp / (tp + fp)
    recall = tp / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def f1_scores(truth, predicted, classes):
    scores = []
    for c in range(classes):
        tp = np.sum((predicted == c) & (truth == c))
        fp = np.sum((predicted == c) & (truth != c))
        fn = np.sum((predicted != c) & (truth == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return scores


def evaluate(model, loader):
    model.eval()
    probabilities, labels = [], []
    with torch.inference_mode():
        for images, targets in loader:
            probabilities.append(torch.softmax(model(images), 1))
            labels.append(targets)
    p = torch.cat(probabilities).numpy()
    y = torch.cat(labels).numpy()
    predicted = p.argmax(1)
    f1 = f1_scores(y, predicted, p.shape[1])
    result = {"accuracy": float(np.mean(predicted == y)), "macro_f1": float(np.mean(f1))}
    if p.shape[1] == 2:
        result["ap"] = average_precision(p[:, 1], (y == 1).astype(np.int64))
        result["positive_f1"] = float(f1[1])
    return result


def train_epoch(model, loader, optimizer, backbone_frozen):
    model.train()
    # BatchNorm stays in inference mode in both phases (frozen-BatchNorm fine-tuning).
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    loss_fn = torch.nn.CrossEntropyLoss()
    for images, targets in loader:
        if backbone_frozen:
            with torch.no_grad():
                features = model.features(images)
                features = torch.nn.functional.adaptive_avg_pool2d(features, 1).flatten(1)
            logits = model.classifier(features)
        else:
            logits = model(images)
        loss = loss_fn(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with train/ valid/ test/")
    parser.add_argument("--weights", required=True, help="torchvision mobilenet_v2 ImageNet .pth")
    parser.add_argument("--input-size", type=int, default=96)
    parser.add_argument("--head-epochs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    start = time.time()
    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    resize = transforms.Resize((args.input_size, args.input_size), antialias=True)
    train_tf = transforms.Compose([resize, transforms.RandomHorizontalFlip(), transforms.RandomVerticalFlip(),
                                   transforms.ToTensor(), normalize])
    eval_tf = transforms.Compose([resize, transforms.ToTensor(), normalize])
    folder = torchvision.datasets.ImageFolder
    train_set = folder(f"{args.data}/train", train_tf)
    loaders = {
        "train": DataLoader(train_set, batch_size=args.batch, shuffle=True, num_workers=2, drop_last=False,
                            persistent_workers=True),
        "valid": DataLoader(folder(f"{args.data}/valid", eval_tf), batch_size=2 * args.batch, num_workers=2,
                            persistent_workers=True),
        "test": DataLoader(folder(f"{args.data}/test", eval_tf), batch_size=2 * args.batch, num_workers=2),
    }
    classes = len(train_set.classes)

    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    model.classifier[1] = torch.nn.Linear(model.classifier[1].in_features, classes)

    best_accuracy, best_state, phase1_best = -1.0, None, None
    history = []
    for phase, epochs in (("head", args.head_epochs), ("full", args.epochs)):
        frozen = phase == "head"
        for parameter in model.features.parameters():
            parameter.requires_grad = not frozen
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=args.head_lr if frozen else args.lr)
        for epoch in range(epochs):
            train_epoch(model, loaders["train"], optimizer, frozen)
            valid = evaluate(model, loaders["valid"])
            history.append({"phase": phase, "epoch": epoch + 1, **{f"val_{k}": v for k, v in valid.items()}})
            if valid["accuracy"] > best_accuracy:
                best_accuracy, best_state = valid["accuracy"], copy.deepcopy(model.state_dict())
        if phase == "head":
            phase1_best = best_accuracy
    model.load_state_dict(best_state)
    test = evaluate(model, loaders["test"])
    print(json.dumps({"seconds": time.time() - start, "phase1_best_val_accuracy": phase1_best,
                      "best_val_accuracy": best_accuracy, "history": history,
                      **{f"test_{k}": v for k, v in test.items()}}))


if __name__ == "__main__":
    main()
