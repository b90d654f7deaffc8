#!/usr/bin/python3
"""Trains the demo's character-level model and exports what the JavaScript side needs.

Run with Debian's PyTorch (python3-torch), not a virtualenv's:

    /usr/bin/python3 examples/char-rnn/train.py       # the shipped LSTM, ~9 CPU-minutes on one core
    /usr/bin/python3 examples/char-rnn/train.py --cell gru --hidden 184 --out /tmp/gru    # the GRU it beat

Model: nn.Embedding(V, 32) -> nn.GRU or nn.LSTM(32, H) -> nn.Linear(H, V), the usual
PyTorch char-RNN; the JavaScript side loads each part into wasm-rnn's module of the same
name. Dropout on the embedding and on the recurrent output regularises training (the text
is small) and is the identity at inference, so it is not part of the exported model.

Writes, into --out (default: next to this file):
  model.safetensors  the weights (embed.*, rnn.*, fc.*) as F16, rounded once after training;
                     vocabulary and sizes in __metadata__. Every number below is computed
                     with those rounded weights, which the JavaScript side widens exactly.
  expected.json      PyTorch's greedy continuations of a few prompts, and one seeded
                     temperature-sampled text, which the Node, browser and Worker demos
                     must reproduce character for character

    /usr/bin/python3 examples/char-rnn/train.py --reuse         # only rewrite expected.json
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
CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}
# safetensors dtype name -> (torch dtype, little-endian numpy type)
DTYPES = {"F16": (torch.float16, "<f2"), "F32": (torch.float32, "<f4")}


class CharModel(nn.Module):
    def __init__(self, cell, vocab_size, embed_size, hidden_size, num_layers, dropout):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = CELLS[cell](embed_size, hidden_size, num_layers, dropout=dropout if num_layers > 1 else 0)
        self.fc = nn.Linear(hidden_size, vocab_size)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, state=None):
        y, state = self.rnn(self.drop(self.embed(x)), state)
        return self.fc(self.drop(y)), state


def write_safetensors(path, tensors, metadata, dtype):
    """The safetensors layout (no safetensors package here): u64 LE header length,
    JSON header, raw little-endian data. Keys sorted and the header space-padded to
    8 bytes, as the reference writer does, so every tensor starts aligned."""
    torch_dtype, numpy_dtype = DTYPES[dtype]
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch_dtype).contiguous()
        blob = t.numpy().astype(numpy_dtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Reads back what write_safetensors wrote, widened to float32, for --reuse."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[info["dtype"]][0])
        tensors[name] = t.reshape(info["shape"]).float()
    return tensors, metadata


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
def generate(model, prompt, length, index, vocab, temperature=None, seed=0):
    """Exactly the demos' loop: one unbatched step per character from the zero state
    (PyTorch's default), the prompt first, then each character picked from the head's
    logits -- argmax when `temperature` is None, else model.js's seeded sample -- and
    fed back. Also returns the closest call: for argmax the smallest gap between the
    best and second-best logit, for sampling the smallest relative distance of a draw
    to a neighbouring character."""
    random = mulberry32(seed)
    state, y = None, None

    def step(i):
        nonlocal state, y
        y, state = model.rnn(model.embed(torch.tensor([i])), state)  # (1, E) -> (1, H)

    for c in prompt:
        step(index[c])
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
        step(i)
    return "".join(out), margin


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell", choices=sorted(CELLS), default="lstm")
    ap.add_argument("--embed", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=160)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="F16")
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

    weights = os.path.join(args.out, "model.safetensors")
    expected_path = os.path.join(args.out, "expected.json")
    if args.reuse:  # the file says what it is
        tensors, metadata = read_safetensors(weights)
        args.cell, args.embed = metadata["cell"], int(metadata["embedding_dim"])
        args.hidden, args.layers = int(metadata["hidden_size"]), int(metadata["num_layers"])
    model = CharModel(args.cell, V, args.embed, args.hidden, args.layers, args.dropout)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: Embedding({V}, {args.embed}) + {args.cell.upper()}({args.embed}, {args.hidden}, "
          f"{args.layers}) + Linear({args.hidden}, {V}), {n_params} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    # Cosine decay to a twentieth: the last steps settle into a minimum.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    gen = torch.Generator().manual_seed(args.seed)

    def batch(source):
        starts = torch.randint(0, len(source) - args.seq - 1, (args.batch,), generator=gen)
        chunk = torch.stack([source[s:s + args.seq + 1] for s in starts.tolist()], dim=1)  # (T+1, N)
        return chunk[:-1], chunk[1:]

    @torch.no_grad()
    def evaluate(source):
        # Whole sequence in one pass from the zero state: the loss a reader of the file would see.
        was_training = model.training
        model.eval()
        logits, _ = model(source[:-1].unsqueeze(1))
        model.train(was_training)
        return F.cross_entropy(logits.view(-1, V), source[1:]).item()

    t0 = time.process_time()
    running, best = None, (math.inf, 0, None)
    if args.reuse:
        model.load_state_dict(tensors)
    for step in range(1, 0 if args.reuse else args.steps + 1):
        x, y = batch(train)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 250 == 0 or step == args.steps:
            val_loss = evaluate(val)
            if val_loss < best[0]:  # early stopping: the text is small enough to overfit
                best = (val_loss, step, {k: v.clone() for k, v in model.state_dict().items()})
            print(f"step {step:5d}  train loss {running:.3f}  val loss {val_loss:.3f}  "
                  f"lr {sched.get_last_lr()[0]:.2e}  {time.process_time() - t0:6.1f} CPU s", flush=True)
    train_time = time.process_time() - t0
    if not args.reuse:
        model.load_state_dict(best[2])
        print(f"keeping step {best[1]} (validation loss {best[0]:.3f})")
    kept_step = best[1]
    if args.reuse:  # keep the record of the run that made the weights
        with open(expected_path, encoding="utf-8") as f:
            record = json.load(f)
        train_time, kept_step = record["trainCpuSeconds"], record["keptStep"]
    model.eval()
    # What the file holds is what every number below, and the JavaScript side, computes with.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(DTYPES[args.dtype][0]).float())
    final = {"train": round(evaluate(train), 4), "val": round(evaluate(val), 4)}
    print(f"final loss (nats/char, {args.dtype} weights): train {final['train']:.3f}, "
          f"validation {final['val']:.3f}; trained in {train_time:.0f} CPU s")

    metadata = {
        "vocab": json.dumps(vocab),
        "cell": args.cell,
        "embedding_dim": str(args.embed),
        "hidden_size": str(args.hidden),
        "num_layers": str(args.layers),
        "source": "examples/char-rnn/train.py on examples/char-rnn/data/coriolanus.txt",
    }
    if not args.reuse:
        write_safetensors(weights, model.state_dict(), metadata, args.dtype)
        print(f"wrote {weights} ({os.path.getsize(weights)} bytes)")

    def both_precisions(prompt, length, **kw):
        text32, margin = generate(model, prompt, length, index, vocab, **kw)
        # The same loop in float64: if it agrees, float32 rounding differences
        # (another summation order, FMA) did not change a single pick along the way.
        text64, _ = generate(model.double(), prompt, length, index, vocab, **kw)
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
        # PyTorch's repr of each part; model.js's toString() gives the same from wasm-rnn's modules.
        "architecture": " → ".join(str(m) for m in (model.embed, model.rnn, model.fc)),
        "parameters": n_params,
        "dtype": args.dtype,
        "torch": torch.__version__,
        "loss": final,
        "trainCpuSeconds": round(train_time),
        "keptStep": kept_step,
        "samples": samples,
        "sampled": sampled,
    }
    with open(expected_path, "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
