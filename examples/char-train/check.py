#!/usr/bin/python3
"""Loads a model that wasm-rnn trained (examples/char-train/train.mjs or the page's
"Save .safetensors") into PyTorch and generates greedy text from a prompt.

    /usr/bin/python3 examples/char-train/check.py char-train.safetensors --prompt 'First Citizen:\\n'
    node examples/char-train/check.mjs char-train.safetensors --prompt 'First Citizen:\\n'    # the same text

The file's keys are PyTorch's state-dict keys of nn.Embedding -> nn.LSTM -> nn.Linear
(embed.weight, rnn.weight_ih_l0, ..., fc.bias); they load with strict=True into the
same torch.nn modules that examples/char-rnn/train.py trains, and its generation loop
(one unbatched step per character, argmax) is the one wasm-rnn's demos run.

    --temperature T [--seed S]   sample as char-rnn's demos do instead (check.mjs takes the same flags)
    --write FILE                 also record greedy and sampled text as JSON (the fixture expected.json)
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "char-rnn"))
from train import CharModel, generate, read_safetensors  # noqa: E402  (char-rnn's, shared)


def load(path):
    tensors, metadata = read_safetensors(path)
    vocab = json.loads(metadata["vocab"])
    model = CharModel(metadata["cell"], len(vocab), int(metadata["embedding_dim"]),
                      int(metadata["hidden_size"]), int(metadata["num_layers"]), dropout=0.0)
    model.load_state_dict(tensors, strict=True)  # every key, no more, no less
    return model.eval(), vocab, metadata


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--prompt", default="First Citizen:\\n", help='"\\n" means a newline')
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--temperature", type=float, help="sample with char-rnn's seeded sampler instead of argmax")
    ap.add_argument("--seed", type=int, default=42, help="the sampler's seed (default 42)")
    ap.add_argument("--write", help="write PyTorch's greedy text and a text sampled at temperature 0.8, seed 42, "
                                    "as JSON to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)

    model, vocab, metadata = load(args.model)
    index = {c: i for i, c in enumerate(vocab)}
    prompt = args.prompt.replace("\\n", "\n")

    def both_precisions(**kw):
        text, margin = generate(model, prompt, args.length, index, vocab, **kw)
        # The same loop in float64: if it agrees, float32 rounding (another summation
        # order in wasm-rnn) did not change a pick either; the margin says how close it came.
        text64, _ = generate(model.double(), prompt, args.length, index, vocab, **kw)
        model.float()
        return text, margin, text == text64

    architecture = " → ".join(str(m) for m in (model.embed, model.rnn, model.fc))
    print(f"{architecture} · {metadata.get('source', '')}", file=sys.stderr)
    sampling = {} if args.temperature is None else {"temperature": args.temperature, "seed": args.seed}
    text, margin, agrees = both_precisions(**sampling)
    print(f"closest call {margin:.2e}, float64 {'agrees' if agrees else 'DIFFERS'}", file=sys.stderr)
    print(prompt + text)
    if args.write:
        greedy, greedy_margin, greedy_agrees = both_precisions()
        sampled, sampled_margin, sampled_agrees = both_precisions(temperature=0.8, seed=42)
        record = {
            "model": os.path.basename(args.model),
            "architecture": architecture,
            "source": metadata.get("source", ""),
            "torch": torch.__version__,
            "prompt": prompt,
            "length": args.length,
            "greedy": greedy,
            "minLogitMargin": round(greedy_margin, 6),
            "float64Agrees": greedy_agrees,
            "sampled": {"temperature": 0.8, "seed": 42, "text": sampled,
                        "minDrawMargin": float(f"{sampled_margin:.3g}"), "float64Agrees": sampled_agrees},
        }
        with open(args.write, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
