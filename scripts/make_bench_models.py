#!/usr/bin/python3
"""Write the benchmark models: build/bench/resnet18.onnx and build/bench/resnet18.pt.

ResNet-18 (torchvision architecture, random init, no downloads), 3x224x224 input, dynamic batch,
ONNX opset 13. Before export the BatchNorm running statistics are randomised by a few train-mode
forward passes so that they are not the trivial (mean 0, var 1) defaults; the model is then put in
eval mode. resnet18.pt holds {"arch", "input_shape" (CHW), "state_dict"} so that scripts/bench_peers.py
rebuilds exactly the same network for PyTorch (with torchvision if present, else with the plain-torch
definition below, whose parameter names match torchvision's).

Usage: scripts/make_bench_models.py [OUT_DIR]   (default build/bench)
"""
import os
import sys

import torch
import torch.nn as nn

SEED = 1234


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class ResNet18(nn.Module):
    """Plain-torch ResNet-18 with torchvision's module names (state_dicts are interchangeable)."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(64, 2, 1)
        self.layer2 = self._layer(128, 2, 2)
        self.layer3 = self._layer(256, 2, 2)
        self.layer4 = self._layer(512, 2, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _layer(self, planes, blocks, stride):
        down = None
        if stride != 1 or self.inplanes != planes:
            down = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )
        layers = [BasicBlock(self.inplanes, planes, stride, down)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(arch="resnet18"):
    """The untrained network named `arch` (torchvision if available, else the plain definition)."""
    if arch != "resnet18":
        raise ValueError("unknown arch %r" % arch)
    try:
        import torchvision

        return torchvision.models.resnet18(weights=None)
    except ImportError:
        return ResNet18()


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(SEED)
    model = build("resnet18")
    # Randomise BN running statistics: a few train-mode passes over random data with a non-trivial
    # per-channel mean and scale (momentum 0.1 -> after 8 passes the stats are far from 0/1).
    model.train()
    with torch.no_grad():
        for _ in range(8):
            x = torch.randn(4, 3, 224, 224) * 1.5 + 0.3
            model(x)
    model.eval()

    pt_path = os.path.join(out_dir, "resnet18.pt")
    torch.save({"arch": "resnet18", "input_shape": [3, 224, 224], "state_dict": model.state_dict()}, pt_path)

    onnx_path = os.path.join(out_dir, "resnet18.onnx")
    dummy = torch.randn(1, 3, 224, 224)
    torch.onnx.export(
        model,
        dummy,
        onnx_path,
        opset_version=13,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=True,
    )

    # Sanity: the exported ONNX file is well-formed.
    import onnx

    onnx.checker.check_model(onnx.load(onnx_path))
    print("wrote %s and %s" % (onnx_path, pt_path))


if __name__ == "__main__":
    main()
