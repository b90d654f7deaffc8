#!/usr/bin/python3
"""Trains the demo's character-level RNN and exports what the JavaScript side needs.

Run with Debian's PyTorch (python3-torch), not a virtualenv's:

    /usr/bin/python3 examples/char-rnn/train.py            # ~7 CPU-minutes on one core

Model: one-hot characters -> nn.RNN(V, 128, num_layers=2, tanh) -> nn.Linear(128, V).
The one-hot input (rather than an embedding) keeps the JavaScript side to exactly
what wasm-rnn implements, torch.nn.RNN, plus a matrix-vector product for the head.

Writes, next to this file:
  model.safetensors  float32 weights (rnn.* and fc.*), vocabulary and sizes in __metadata__
  expected.json      PyTorch's greedy continuations of a few prompts, and one seeded
                     temperature-sampled text, which the Node, browser and Worker
                     demos must reproduce character for character

    /usr/bin/python3 examples/char-rnn/train.py --reuse    # only rewrite expected.json
"""
import argparse
import json
import math
import os
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "coriolanus.txt")
PROMPTS = ["MENENIUS:\n", "First Citizen:\nWe are", "CORIOLANUS:\nThe gods", "O, "]
GREEDY_LENGTH = 200
# The demos' default sampled run (generate.mjs, the web page's first screen).
SAMPLED = {"prompt": "MENENIUS:\n", "length": 400, "temperature": 0.8, "seed": 42}


class CharRNN(nn.Module):
    def __init__(self, vocab_size, hidden_size, num_layers):
        super().__init__()
        self.rnn = nn.RNN(vocab_size, hidden_size, num_layers, nonlinearity="tanh")
        self.fc = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, h=None):
        y, h = self.rnn(x, h)
        return self.fc(y), h


def write_safetensors(path, tensors, metadata):
    """The safetensors layout (no safetensors package here): u64 LE header length,
    JSON header, raw little-endian data. Keys sorted and the header space-padded to
    8 bytes, as the reference writer does, so every F32 tensor starts 4-byte aligned
    and JavaScript can view it in place."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        blob = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def mulberry32(seed):
    """model.js's seeded PRNG, bit for bit (JavaScript's 32-bit integer ops, masked)."""
    mask = 0xFFFFFFFF
    a = seed & mask

    def random():
        nonlocal a
        a = (a + 0x6D2B79F5) & mask
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & mask
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & mask)) & mask
        return ((t ^ (t >> 14)) & mask) / 4294967296

    return random


def sample(logits, temperature, random):
    """model.js's sample(): float64 softmax weights, one uniform draw, a linear scan.
    Also returns how close the draw came to the neighbouring character, relative to
    the total, i.e. how much the logits could move before another one is picked."""
    top = max(logits)
    weights = [math.exp((l - top) / temperature) for l in logits]
    total = 0.0
    for w in weights:
        total += w
    u = random() * total
    for i, w in enumerate(weights):
        if u - w < 0:
            return i, min(u, w - u) / total
        u -= w
    return len(weights) - 1, 0.0


@torch.no_grad()
def generate(model, prompt, length, index, vocab, temperature=None, seed=0, dtype=torch.float32):
    """Exactly the demos' loop: unbatched (1, V) one-hot steps from h0 = zeros, the
    prompt first, then each character picked from the head's logits -- argmax when
    `temperature` is None, else model.js's seeded sample -- and fed back. Also
    returns the closest call: for argmax the smallest gap between the best and
    second-best logit, for sampling the smallest relative distance of a draw to
    a neighbouring character."""
    V, (L, H) = len(vocab), (model.rnn.num_layers, model.rnn.hidden_size)
    h = torch.zeros(L, H, dtype=dtype)
    eye = torch.eye(V, dtype=dtype)
    random = mulberry32(seed)
    y = None
    for c in prompt:
        y, h = model.rnn(eye[index[c]].view(1, V), h)
    out, margin = [], math.inf
    for _ in range(length):
        logits = model.fc(y[0])
        if temperature is None:
            top = torch.topk(logits, 2)
            margin = min(margin, float(top.values[0] - top.values[1]))
            i = int(torch.argmax(logits))
        else:
            i, gap = sample([float(l) for l in logits], temperature, random)
            margin = min(margin, gap)
        out.append(vocab[i])
        y, h = model.rnn(eye[i].view(1, V), h)
    return "".join(out), margin


def read_safetensors(path):
    """Reads back what write_safetensors wrote (F32 only), for --reuse."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    return {name: torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info["shape"])
            for name, info in header.items() for a, b in [info["data_offsets"]]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--reuse", action="store_true",
                    help="skip training: load OUT/model.safetensors and only rewrite expected.json")
    args = ap.parse_args()

    # One thread and fixed seeds: the same weights on every run of the same
    # PyTorch build (and a fair share of a small shared machine).
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    text = open(DATA, encoding="utf-8").read()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    V = len(vocab)
    data = torch.tensor([index[c] for c in text], dtype=torch.long)
    split = int(len(data) * 0.9)  # the last 10% only measures generalisation
    train, val = data[:split], data[split:]
    print(f"text: {len(text)} chars, vocabulary {V}, train {len(train)}, validation {len(val)}")

    model = CharRNN(V, args.hidden, args.layers)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: RNN({V}, {args.hidden}, {args.layers}) + Linear({args.hidden}, {V}), {n_params} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    # Cosine decay to a tenth: vanilla RNNs need a small step size late in training.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    gen = torch.Generator().manual_seed(args.seed)

    def batch(source):
        starts = torch.randint(0, len(source) - args.seq - 1, (args.batch,), generator=gen)
        chunk = torch.stack([source[s:s + args.seq + 1] for s in starts.tolist()], dim=1)  # (T+1, N)
        return F.one_hot(chunk[:-1], V).float(), chunk[1:]

    @torch.no_grad()
    def evaluate(source):
        # Whole sequence in one pass from h0 = 0: the loss a reader of the file would see.
        x = F.one_hot(source[:-1], V).float().unsqueeze(1)
        logits, _ = model(x)
        return F.cross_entropy(logits.view(-1, V), source[1:]).item()

    weights = os.path.join(args.out, "model.safetensors")
    expected_path = os.path.join(args.out, "expected.json")
    t0 = time.time()
    running = None
    if args.reuse:
        model.load_state_dict(read_safetensors(weights))
    for step in range(1, 0 if args.reuse else args.steps + 1):
        x, y = batch(train)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # tanh RNNs explode without it
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 250 == 0 or step == args.steps:
            print(f"step {step:5d}  train loss {running:.3f}  val loss {evaluate(val):.3f}  "
                  f"lr {sched.get_last_lr()[0]:.2e}  {time.time() - t0:6.1f}s", flush=True)
    train_time = time.time() - t0
    if args.reuse:  # keep the record of the run that made the weights
        with open(expected_path, encoding="utf-8") as f:
            train_time = json.load(f)["trainSeconds"]
    model.eval()
    final = {"train": round(evaluate(train), 4), "val": round(evaluate(val), 4)}
    print(f"final loss (nats/char): train {final['train']:.3f}, validation {final['val']:.3f}; "
          f"trained in {train_time:.0f}s")

    metadata = {
        "vocab": json.dumps(vocab),
        "hidden_size": str(args.hidden),
        "num_layers": str(args.layers),
        "nonlinearity": "tanh",
        "input": "one-hot",
        "source": "examples/char-rnn/train.py on examples/char-rnn/data/coriolanus.txt",
    }
    if not args.reuse:
        write_safetensors(weights, model.state_dict(), metadata)
        print(f"wrote {weights} ({os.path.getsize(weights)} bytes)")

    def both_precisions(prompt, length, **kw):
        text32, margin = generate(model, prompt, length, index, vocab, **kw)
        # The same loop in float64: if it agrees, float32 rounding differences
        # (another summation order, FMA) did not change a single pick along the way.
        text64, _ = generate(model.double(), prompt, length, index, vocab, dtype=torch.float64, **kw)
        model.float()
        print(f"\n--- from {prompt!r} {kw or 'greedy'} (closest call {margin:.2e}, "
              f"float64 {'agrees' if text32 == text64 else 'DIFFERS'}):\n{prompt}{text32}")
        return text32, margin, text32 == text64

    samples = []
    for prompt in PROMPTS:
        text, margin, agrees = both_precisions(prompt, GREEDY_LENGTH)
        samples.append({"prompt": prompt, "length": GREEDY_LENGTH, "greedy": text,
                        "minLogitMargin": round(margin, 6), "float64Agrees": agrees})
    text, margin, agrees = both_precisions(
        SAMPLED["prompt"], SAMPLED["length"], temperature=SAMPLED["temperature"], seed=SAMPLED["seed"])
    sampled = {**SAMPLED, "text": text, "minDrawMargin": float(f"{margin:.3g}"), "float64Agrees": agrees}
    expected = {
        "model": "model.safetensors",
        "torch": torch.__version__,
        "loss": final,
        "trainSeconds": round(train_time),
        "samples": samples,
        "sampled": sampled,
    }
    with open(expected_path, "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
