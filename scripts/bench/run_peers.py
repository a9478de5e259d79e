"""The peers of scripts/bench-run, each timed in its own process on the same weights and inputs.

  run_peers.py numpy-mlp PARAMS.npz X.npz RUNS            -> "median_ms min_ms" (numpy float32 forward)
  run_peers.py torch-mlp PARAMS.npz X.npz RUNS THREADS [--onnx OUT.onnx] [--out Y.npy]
  run_peers.py torch-cnn PARAMS.npz X.npz RUNS THREADS [--out Y.npy]
  run_peers.py numpy-process PARAMS.npz X.npz             -> a whole small job: load, forward, print
  run_peers.py torch-onnx MODEL OUT.onnx X.npz RUNS THREADS [--out Y.npy] [--opset N]
      MODEL: resnet18 (torchvision 0.14, random weights, batch 1 x 3x224x224) or encoder (a
      torch.nn.TransformerEncoder: 2 layers, d_model 64, 4 heads, sequence 16 x batch 2): builds it with
      torch.manual_seed(0), writes its input to X.npz ("input") and X.bin (raw float32), exports it
      to OUT.onnx (default opset 17, fixed shapes) and times torch's forward pass

PARAMS.npz holds a Mithril zoo model's parameters (`mithril-save ... --params`): dense layers
store weight [in, out] (torch's Linear wants [out, in]); conv layers weight [O, I, 3, 3] and
bias [1, O, 1, 1]. Times are of the forward pass only, after one warm-up run.
"""
import sys
import time


def timed(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2], times[0]


def dense_layers(p):
    names = sorted({k.rsplit(".", 1)[0] for k in p.files if k.endswith(".weight") and p[k].ndim == 2},
                   key=lambda n: [int(s) if s.isdigit() else s for s in __import__("re").split(r"(\d+)", n)])
    return names


def numpy_layers(params):
    """The (weight, bias) pairs of PARAMS.npz's dense layers, in order."""
    import numpy as np
    p = np.load(params)
    return [(p[n + ".weight"], p[n + ".bias"]) for n in dense_layers(p)]


def numpy_forward(layers, x):
    """The MLP forward pass: dense layers with ReLU between them."""
    import numpy as np
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i + 1 < len(layers):
            h = np.maximum(h, 0)
    return h


def numpy_mlp(params, x, runs):
    import numpy as np
    layers = numpy_layers(params)
    x = np.load(x)["input"]
    return timed(lambda: numpy_forward(layers, x), runs)


def torch_linear(p, name):
    """torch.nn.Linear holding dense layer `name` (ours stores weight [in, out], torch [out, in])."""
    import numpy as np
    import torch
    w = p[name + ".weight"]
    lin = torch.nn.Linear(w.shape[0], w.shape[1])
    lin.weight.data = torch.from_numpy(np.ascontiguousarray(w.T))
    lin.bias.data = torch.from_numpy(p[name + ".bias"])
    return lin


def time_module(modules, x, runs, out=None, onnx=None):
    """Times torch.nn.Sequential(modules) on the input of X.npz; saves its output and ONNX export if asked."""
    import numpy as np
    import torch
    model = torch.nn.Sequential(*modules).eval()
    xt = torch.from_numpy(np.load(x)["input"])
    with torch.no_grad():
        result = timed(lambda: model(xt), runs)
        if out:
            np.save(out, model(xt).numpy())
        if onnx:
            torch.onnx.export(model, xt, onnx, input_names=["input"], output_names=["output"], opset_version=13)
    return result


def torch_mlp(params, x, runs, threads, onnx=None, out=None):
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    p = np.load(params)
    modules = []
    names = dense_layers(p)
    for i, n in enumerate(names):
        modules.append(torch_linear(p, n))
        if i + 1 < len(names):
            modules.append(torch.nn.ReLU())
    return time_module(modules, x, runs, out, onnx)


def torch_cnn(params, x, runs, threads, out=None):
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    p = np.load(params)
    convs = sorted({k.split(".")[0] for k in p.files if p[k].ndim == 4 and k.endswith(".weight")})
    modules = []
    for n in convs:
        w = p[n + ".weight"]
        conv = torch.nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
        conv.weight.data = torch.from_numpy(w)
        conv.bias.data = torch.from_numpy(p[n + ".bias"].reshape(-1))
        modules += [conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2)]
    modules.append(torch.nn.Flatten())
    modules += [torch_linear(p, "hidden"), torch.nn.ReLU(), torch_linear(p, "classifier")]
    return time_module(modules, x, runs, out)


def torch_onnx(model_name, onnx_path, x_path, runs, threads, out=None, opset=17):
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if model_name == "resnet18":
        import torchvision
        model = torchvision.models.resnet18(weights=None)
        x = torch.randn(1, 3, 224, 224)
    elif model_name == "encoder":
        # batch_first=False: torch 1.13's eval-mode fast path (one fused op) has no ONNX export.
        layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0)
        model = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        x = torch.randn(16, 2, 64)
    else:
        raise SystemExit("unknown model " + model_name)
    model.eval()
    np.savez(x_path, input=x.numpy())
    x.numpy().tofile(x_path[:-4] + ".bin")
    with torch.no_grad():
        torch.onnx.export(model, x, onnx_path, input_names=["input"], output_names=["output"], opset_version=opset)
        result = timed(lambda: model(x), runs)
        if out:
            np.save(out, model(x).numpy())
    return result


def numpy_process(params, x):
    import numpy as np
    print("output:", numpy_forward(numpy_layers(params), np.load(x)["input"]))


def main(argv):
    kind = argv[1]
    options = {argv[i]: argv[i + 1] for i in range(len(argv)) if argv[i].startswith("--") and i + 1 < len(argv)}
    if kind == "numpy-mlp":
        result = numpy_mlp(argv[2], argv[3], int(argv[4]))
    elif kind == "torch-mlp":
        result = torch_mlp(argv[2], argv[3], int(argv[4]), int(argv[5]), options.get("--onnx"), options.get("--out"))
    elif kind == "torch-cnn":
        result = torch_cnn(argv[2], argv[3], int(argv[4]), int(argv[5]), options.get("--out"))
    elif kind == "torch-onnx":
        result = torch_onnx(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), options.get("--out"),
                            int(options.get("--opset", 17)))
    elif kind == "numpy-process":
        numpy_process(argv[2], argv[3])
        return
    else:
        raise SystemExit("unknown peer " + kind)
    print("%.3f %.3f" % result)


if __name__ == "__main__":
    main(sys.argv)
