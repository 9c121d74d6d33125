#!/usr/bin/python3
"""Oracle for the model conformance tests (run with Debian's python3: torch 1.13 + torchvision).

  model_oracle.py make OUT
      For each backbone: builds torchvision's model with a fixed seed (BatchNorm statistics and
      affine randomised so the buffers matter), saves its state_dict() exactly as torchvision does
      (torch.save of the OrderedDict) to OUT/<arch>.pth, and a plain dict {input, logits, features}
      to OUT/<arch>_ref.pth (features = the last convolutional feature map). Also writes
      OUT/mobilenet_v2_legacy.pth (pre-1.6 torch.save format) and OUT/zoo.pth + OUT/zoo.json
      (tensors of many dtypes, views, shared storage, parameters, nested dicts, and their values).

  model_oracle.py check-model FILE REF ARCH CLASSES
      Loads FILE (written by the C++ code) into torchvision's ARCH with CLASSES outputs (strict),
      runs REF's 'input' in eval mode and prints the max abs difference to REF's 'logits'.

  model_oracle.py describe FILE
      Prints {name: {dtype, shape, sum}} of a state dict file as JSON.
"""
import collections
import json
import sys

import torch
import torchvision

ARCHS = {
    # arch: (builder kwargs, input shape)
    "mobilenet_v2": ({}, (2, 3, 96, 96)),
    "resnet18": ({}, (2, 3, 64, 64)),
    "resnet50": ({}, (1, 3, 64, 64)),
    "inception_v3": ({"aux_logits": True, "init_weights": True}, (1, 3, 107, 107)),
}
LAST_MAP = {"mobilenet_v2": "features", "resnet18": "layer4", "resnet50": "layer4", "inception_v3": "Mixed_7c"}


def build(arch, classes=1000):
    kwargs, _ = ARCHS[arch]
    return getattr(torchvision.models, arch)(weights=None, num_classes=classes, **kwargs)


def randomise_bn(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(1.0 + 0.1 * torch.randn(n, generator=gen))
                m.bias.copy_(0.1 * torch.randn(n, generator=gen))
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


def make(out):
    for k, arch in enumerate(ARCHS):
        torch.manual_seed(100 + k)
        gen = torch.Generator().manual_seed(200 + k)
        model = build(arch)
        randomise_bn(model, gen)
        model.eval()
        x = torch.randn(*ARCHS[arch][1], generator=gen)
        feats = {}
        getattr(model, LAST_MAP[arch]).register_forward_hook(lambda m, i, o: feats.__setitem__("map", o))
        with torch.no_grad():
            logits = model(x)
        sd = model.state_dict()
        assert isinstance(sd, collections.OrderedDict) and hasattr(sd, "_metadata")
        torch.save(sd, f"{out}/{arch}.pth")
        torch.save({"input": x, "logits": logits, "features": feats["map"]}, f"{out}/{arch}_ref.pth")
        if arch == "mobilenet_v2":
            torch.save(sd, f"{out}/mobilenet_v2_legacy.pth", _use_new_zipfile_serialization=False)

    # A zoo of what torch.save may hold.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    zoo = collections.OrderedDict()
    zoo["f32"] = torch.linspace(-1, 1, 7)
    zoo["f64"] = torch.arange(5, dtype=torch.float64) / 3
    zoo["f16"] = torch.tensor([0.5, -2.0, 3.25], dtype=torch.float16)
    zoo["i64"] = torch.tensor([[1, -2], [3, 4000000000]], dtype=torch.int64)
    zoo["i32"] = torch.tensor([-7, 8], dtype=torch.int32)
    zoo["u8"] = torch.tensor([0, 255, 7], dtype=torch.uint8)
    zoo["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    zoo["bool"] = torch.tensor([True, False, True])
    zoo["scalar"] = torch.tensor(3, dtype=torch.int64)
    zoo["empty"] = torch.zeros(0, 3)
    zoo["transposed"] = base.t()                 # non-contiguous view
    zoo["row2"] = base[2]                        # view with a storage offset, shares base's storage
    zoo["base"] = base
    zoo["param"] = torch.nn.Parameter(torch.tensor([1.5, 2.5]))
    zoo["nested"] = {"a": torch.ones(2, 2), "b": {"c": torch.tensor([9.0])}}
    torch.save(zoo, f"{out}/zoo.pth")
    flat = {}

    def walk(prefix, d):
        for k, v in d.items():
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                walk(name, v)
            else:
                flat[name] = {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                              "values": v.detach().double().flatten().tolist()}

    walk("", zoo)
    with open(f"{out}/zoo.json", "w") as f:
        json.dump(flat, f)


def check_model(path, ref, arch, classes):
    model = build(arch, classes)
    model.load_state_dict(torch.load(path), strict=True)
    model.eval()
    r = torch.load(ref)
    with torch.no_grad():
        y = model(r["input"])
    print(json.dumps({"max_abs_diff": float((y - r["logits"]).abs().max())}))


def describe(path):
    sd = torch.load(path)
    print(json.dumps({k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                          "sum": float(v.double().sum())} for k, v in sd.items()}))


if __name__ == "__main__":
    torch.set_num_threads(2)
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2])
    elif cmd == "check-model":
        check_model(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "describe":
        describe(sys.argv[2])
    else:
        sys.exit(f"unknown command {cmd}")
