#!/usr/bin/python3
"""PyTorch CPU peer of bench/run.mjs and bench/train.mjs: times torch.nn.RNN, LSTM or GRU
.forward, and for train.mjs also a training step (forward and backward).

run.mjs writes a job directory and calls `/usr/bin/python3 bench/torch_bench.py DIR`:
  DIR/job.json   the workload spec (mode rnn/lstm/gru, proj for LSTM's proj_size),
                 the parameter names/shapes (in the order of params.bin),
                 optional lengths, the timing policy and the thread count
  DIR/params.bin the parameters as raw little-endian float32, concatenated
  DIR/x.bin      the input, time-major [seq, batch, input] float32
This script writes DIR/y.bin (the last layer's output, padded [seq, batch, D*R],
R = proj or hidden, so run.mjs can check it against wasm-rnn) and prints one
JSON line of timings, with the BLAS library the process actually mapped.

A training job (job.json has "train": true) also reads DIR/gy.bin, the
gradient of the output (the same shape as y.bin), and times a training step:
forward in train mode, backward of sum(y * gy) (so y's gradient is gy), and
zero_grad. It writes, from its first step, DIR/gx.bin (the input's gradient,
[seq, batch, input]) and DIR/grads.bin (the parameters' gradients in the
order of params.bin), and prints {"forward": timings, "train": timings, ...}.
With "optimizer": {"name": "Adam" or "SGD", "lr": …} it also times a step
that includes that optimizer's update ("trainOptimizer").

`torch_bench.py --info` prints one JSON line describing this PyTorch: version,
CPU kernels, BLAS (as built, and as loaded after a matmul), threads.

Only the standard library, torch and numpy are used: Debian's python3-torch
(1.13) has no `onnx` and nothing else is needed.
"""
import json
import os
import re
import statistics
import sys
import time

import numpy as np
import torch


def measure(fn, policy):
    """Same policy as run.mjs: warm up past tier-up-like effects, then sample."""
    start = time.perf_counter()
    calls = 0
    first_ms = None
    while True:
        t = time.perf_counter()
        fn()
        if first_ms is None:
            first_ms = (time.perf_counter() - t) * 1e3
        calls += 1
        elapsed = time.perf_counter() - start
        if (elapsed >= policy["warmSeconds"] and calls >= policy["warmCalls"]) or \
                (elapsed >= policy["warmCapSeconds"] and calls >= policy["warmMinCalls"]):
            break
    warm_ms = (time.perf_counter() - start) * 1e3
    wall, cpu = [], []
    start = time.perf_counter()
    while True:
        c = time.process_time()  # whole process, every thread: shows if torch spawned more
        t = time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
        elapsed = time.perf_counter() - start
        runs = len(wall)
        if (runs >= policy["minRuns"] and elapsed >= policy["minSeconds"]) or \
                (elapsed >= policy["capSeconds"] and runs >= policy["capMinRuns"]):
            break
    wall_sorted = sorted(wall)
    return {
        "medianMs": statistics.median(wall),
        "cpuMs": statistics.median(cpu),
        "minMs": wall_sorted[0],
        "minCpuMs": min(cpu),
        "p25Ms": wall_sorted[len(wall) // 4],
        "p75Ms": wall_sorted[(3 * len(wall)) // 4],
        "runs": len(wall),
        "warmupCalls": calls,
        "warmupMs": warm_ms,
        "firstMs": first_ms,
    }


def mapped_blas():
    """The BLAS/LAPACK shared objects mapped into this process (after a matmul has loaded them)."""
    a = torch.ones(64, 64)
    torch.mm(a, a)
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if re.search(r"blas|lapack|mkl|blis|atlas", line.split()[-1], re.I)}
    return sorted(paths)


def info():
    config = torch.__config__.show()
    isa = re.search(r"CPU capability usage: (\w+)", config)
    built = re.search(r"BLAS_INFO=(\w+)", config)
    return {
        "version": torch.__version__,
        "isa": isa and isa.group(1),
        "blasInfo": built and built.group(1),
        "blas": mapped_blas(),
        "threads": torch.get_num_threads(),
    }


def make_module(spec):
    I, H = spec["input"], spec["hidden"]
    common = {"num_layers": spec["layers"], "bidirectional": spec["bidirectional"]}
    mode = spec.get("mode", "rnn")
    if mode == "lstm":
        return torch.nn.LSTM(I, H, proj_size=spec.get("proj", 0), **common)
    if mode == "gru":
        return torch.nn.GRU(I, H, **common)
    return torch.nn.RNN(I, H, nonlinearity=spec["nonlinearity"], **common)


def train_step(rnn, x, gy, optimizer=None):
    """One training step as a PyTorch user writes it; set_to_none is PyTorch 2's default and its fastest."""
    y, _ = rnn(x)
    (y * gy).sum().backward()
    if optimizer is not None:
        optimizer.step()
    rnn.zero_grad(set_to_none=True)
    x.grad = None


def train_job(job_dir, job, rnn, x):
    T, B = job["spec"]["seq"], job["spec"]["batch"]
    gy = torch.from_numpy(np.fromfile(os.path.join(job_dir, "gy.bin"), dtype="<f4").reshape(T, B, -1).copy())
    with torch.no_grad():
        forward = measure(lambda: rnn(x), job["policy"])
        out, _ = rnn(x)
    out.numpy().astype("<f4").tofile(os.path.join(job_dir, "y.bin"))
    rnn.train()
    x.requires_grad_(True)
    # The first step's gradients, kept for train.mjs's check against wasm-rnn's.
    t = time.perf_counter()
    y, _ = rnn(x)
    (y * gy).sum().backward()
    cold_ms = (time.perf_counter() - t) * 1e3
    x.grad.numpy().astype("<f4").tofile(os.path.join(job_dir, "gx.bin"))
    np.concatenate([p.grad.numpy().ravel() for p in rnn.parameters()]).astype("<f4").tofile(
        os.path.join(job_dir, "grads.bin"))
    rnn.zero_grad(set_to_none=True)
    x.grad = None
    train = measure(lambda: train_step(rnn, x, gy), job["policy"])
    train["firstMs"] = cold_ms
    result = {"forward": forward, "train": train}
    spec = job.get("optimizer")
    if spec:
        # PyTorch's defaults but lr, as everywhere in train.mjs.
        optimizer = getattr(torch.optim, spec["name"])(rnn.parameters(), lr=spec["lr"])
        result["trainOptimizer"] = measure(lambda: train_step(rnn, x, gy, optimizer), job["policy"])
    return result


def main():
    if sys.argv[1] == "--info":
        print(json.dumps(info()))
        return
    job_dir = sys.argv[1]
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    spec = job["spec"]
    # The thread count of the job (1: like every other implementation here) for intra-op and inter-op work.
    torch.set_num_threads(job["threads"])
    torch.set_num_interop_threads(job["threads"])

    T, B, I = spec["seq"], spec["batch"], spec["input"]
    D = 2 if spec["bidirectional"] else 1
    R = spec.get("proj") or spec["hidden"]
    rnn = make_module(spec).eval()
    flat = np.fromfile(os.path.join(job_dir, "params.bin"), dtype="<f4")
    state = {}
    at = 0
    for name, shape in job["params"]:
        n = int(np.prod(shape))
        state[name] = torch.from_numpy(flat[at:at + n].reshape(shape).copy())
        at += n
    rnn.load_state_dict(state)
    x = torch.from_numpy(np.fromfile(os.path.join(job_dir, "x.bin"), dtype="<f4").reshape(T, B, I).copy())

    if job.get("train"):
        names = [name for name, _ in rnn.named_parameters()]
        assert names == [name for name, _ in job["params"]], "parameters out of params.bin's order"
        result = train_job(job_dir, job, rnn, x)
        result.update(version=torch.__version__, threads=torch.get_num_threads(), blas=mapped_blas())
        print(json.dumps(result))
        return

    lengths = job.get("lengths")
    if lengths is not None:
        # The PackedSequence is the caller's data, built once, as for wasm-rnn.
        inp = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=True)
    else:
        inp = x

    with torch.no_grad():
        # The first call gives the output to check; its time shows the cold start.
        t = time.perf_counter()
        out, _ = rnn(inp)
        cold_ms = (time.perf_counter() - t) * 1e3
        if lengths is not None:
            out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
        out.contiguous().numpy().astype("<f4").tofile(os.path.join(job_dir, "y.bin"))
        result = measure(lambda: rnn(inp), job["policy"])

    result["firstMs"] = cold_ms
    result["version"] = torch.__version__
    result["threads"] = torch.get_num_threads()
    result["blas"] = mapped_blas()
    assert out.shape == (T, B, D * R)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
