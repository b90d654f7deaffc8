// Turns train.mjs's measurements into the Markdown report (also printed to
// stdout): a pure function of the report object, like report.mjs for run.mjs,
// whose table helpers and Machine section it shares.

import { fmtMs, fmtX, footnotes, header, ok, peerDescriptions, runNotes, shape, table } from "./report.mjs";

/** The goal of issue 14: a training step costs at most this many forwards. */
export const STEP_GOAL = 3;

const OPTIMIZER_NAMES = { sgd: "SGD", adam: "Adam" };

const fmtD = (c) => (c.maxAbs === Infinity ? "∞" : c.maxAbs.toExponential(1)) + (c.ok ? "" : " ✗");

export function renderTrainMarkdown(report) {
  const { versions, results, impls } = report;
  const present = impls.filter((i) => !report.skipped[i.key]);
  const ours = present.filter((i) => i.ours);
  const peers = present.filter((i) => !i.ours);
  const label = (k) => impls.find((i) => i.key === k).label;
  const described = peerDescriptions(versions);
  const out = header(report, "wasm-rnn training benchmark results", [described.tfjs, described.torch]);
  const stepOk = (r) => ok(r?.forward) && ok(r?.train);
  const ratio = (r, metric = "medianMs") => r.train[metric] / r.forward[metric];
  const notesOf = footnotes();

  // --- main table
  out.push("## A training step against the forward: median wall time, ms", "");
  out.push(
    "Forward: the model in eval mode (wasm-rnn keeps nothing for a backward), as `bench/run.mjs` times it. Training step: the forward in train mode, then the backward of a fixed gradient of the output — the input's gradient and every parameter's — and the gradients cleared for the next step; no optimizer step. Step ÷ forward is issue 14's measure (goal ≤ 3×).",
    "",
  );
  const cell = (w, impl) => {
    const r = w.impls[impl.key];
    if (!r) return ["–", "–", "–"];
    if (r.error) return ["error", "–", "–"];
    const noted = r.note ? notesOf.mark(`${label(impl.key)}: ${r.note}`) : "";
    const bad = Object.values(r.check ?? {}).some((c) => !c.ok) ? " ✗" : "";
    const forward = `${fmtMs(r.forward.medianMs)}${bad}`;
    if (r.trainUnsupported) return [forward, `—${notesOf.mark(`${label(impl.key)}: ${r.trainUnsupported}`)}`, "–"];
    const goal = impl.ours ? (ratio(r) <= STEP_GOAL ? "" : " (over)") : "";
    return [forward, `${fmtMs(r.train.medianMs)}${noted}`, `**${fmtX(ratio(r))}**${goal}`];
  };
  out.push(
    table(
      [
        "workload",
        "shape",
        "forward GFLOP",
        ...present.flatMap((i) => [`${i.short} forward`, `${i.short} step`, "step ÷ forward"]),
      ],
      results.map((w) => [
        `**${w.name}** ${w.spec.desc}`,
        shape(w.spec),
        (w.flops / 1e9).toFixed(2),
        ...present.flatMap((i) => cell(w, i)),
      ]),
    ),
    "",
  );
  out.push(...notesOf.lines().flatMap((l) => [`${l}.`, ""]));
  if (results.some((w) => Object.values(w.impls).some((r) => Object.values(r.check ?? {}).some((c) => !c.ok)))) {
    out.push(
      "✗ = the output or a gradient does not match the reference's (see the gradient check below): that time is not for the same computation.",
      "",
    );
  }

  // --- with an optimizer
  if (report.optimizer) {
    const name = OPTIMIZER_NAMES[report.optimizer] ?? report.optimizer;
    out.push(`## A training step with ${name}'s update: median wall time, ms`, "");
    out.push(
      `The step above followed by \`${name}\` (PyTorch's defaults, lr 1e-3) updating every parameter. A changed parameter makes wasm-rnn repack its weights (forward and transposed panels) at the next forward: that cost is in this step too.`,
      "",
    );
    const withUpdate = (w, i) => {
      const r = w.impls[i.key];
      if (!stepOk(r) || !ok(r.trainOptimizer)) return ["–", "–"];
      return [fmtMs(r.trainOptimizer.medianMs), fmtX(r.trainOptimizer.medianMs / r.forward.medianMs)];
    };
    out.push(
      table(
        ["workload", ...present.flatMap((i) => [`${i.short} step + ${name}`, "÷ forward"])],
        results.map((w) => [`**${w.name}**`, ...present.flatMap((i) => withUpdate(w, i))]),
      ),
      "",
    );
  }

  // --- against the peers
  if (ours.length && peers.length) {
    out.push("## wasm-rnn's training step against the peers' (peer ms ÷ wasm-rnn ms; > 1 = wasm-rnn faster)", "");
    const cols = ours.flatMap((o) => peers.map((p) => [o, p]));
    out.push(
      table(
        ["workload", ...cols.map(([o, p]) => `${o.short} vs ${p.short}`)],
        results.map((w) => [
          `**${w.name}**`,
          ...cols.map(([o, p]) => {
            const a = w.impls[o.key];
            const b = w.impls[p.key];
            return stepOk(a) && stepOk(b) ? fmtX(b.train.medianMs / a.train.medianMs) : "–";
          }),
        ]),
      ),
      "",
    );
  }

  // --- CPU time
  out.push("## CPU time per call, ms (process CPU time ÷ wall time)", "");
  out.push(
    "All threads of the process; a ratio well above 1 means an implementation used more than one thread. The last column is the 1-minute load average when the workload started: above the core count, other processes were taking CPU time from the benchmark.",
    "",
  );
  const cpu = (m) => (ok(m) ? `${fmtMs(m.cpuMs)} (${(m.cpuMs / m.medianMs).toFixed(2)})` : "–");
  out.push(
    table(
      ["workload", ...present.flatMap((i) => [`${i.short} forward`, `${i.short} step`]), "load"],
      results.map((w) => [
        `**${w.name}**`,
        ...present.flatMap((i) => [cpu(w.impls[i.key]?.forward), cpu(w.impls[i.key]?.train)]),
        w.loadavg.toFixed(1),
      ]),
    ),
    "",
  );

  // --- goal
  const judged = ours.flatMap((o) => results.filter((w) => stepOk(w.impls[o.key])).map((w) => [o, w]));
  if (judged.length) {
    out.push(`## Issue 14 goal: a training step costs ≤ ${STEP_GOAL}× the forward`, "");
    out.push(
      "Judged on wall time (the goal) and on CPU time, which a process descheduled by other load does not gain.",
      "",
    );
    const yes = (x) => (x <= STEP_GOAL ? "yes" : "**no**");
    out.push(
      table(
        ["workload", "build", "step ÷ forward, wall", "holds", "step ÷ forward, CPU", "holds"],
        judged.map(([o, w]) => {
          const r = w.impls[o.key];
          return [
            `**${w.name}**`,
            o.key,
            fmtX(ratio(r)),
            yes(ratio(r)),
            fmtX(ratio(r, "cpuMs")),
            yes(ratio(r, "cpuMs")),
          ];
        }),
      ),
      "",
    );
    const failing = judged.filter(([o, w]) => ratio(w.impls[o.key]) > STEP_GOAL);
    out.push(
      failing.length
        ? `The goal does not hold on ${failing.length} of ${judged.length}: ${failing.map(([o, w]) => `${w.name} (${o.key})`).join(", ")}.`
        : `The goal holds on all ${judged.length} workload${judged.length === 1 ? "" : "s"} of this run.`,
      "",
    );
  }

  // --- gradient check
  const checked = present.filter((i) => results.some((w) => w.impls[i.key]?.check));
  out.push("## Gradient check: max |Δ| against the reference", "");
  out.push(
    "The reference is wasm-rnn's first build (PyTorch's gradients where wasm-rnn has no training step). Output: the forward's last-layer output, tolerance 1e-4 × max(1, max |output|). Input gradient and parameter gradients (PyTorch's layout: wasm-rnn and PyTorch only; TF.js transposes kernels and merges biases) after one step: tolerance 1e-3 × max(1, max |gradient|), as a gradient sums over every step and batch row.",
    "",
  );
  out.push(
    table(
      ["workload", "reference", ...checked.flatMap((i) => [`${i.short} output`, "input grad", "parameter grads"])],
      results.map((w) => [
        `**${w.name}**`,
        w.reference ? `${w.reference.output} / ${w.reference.gradients}` : "–",
        ...checked.flatMap((i) => {
          const c = w.impls[i.key]?.check ?? {};
          return [c.output, c.gradInput, c.gradients].map((x) => (x ? fmtD(x) : "–"));
        }),
      ]),
    ),
    "",
  );

  // --- notes
  out.push("## Notes", "");
  const notes = [
    "Every implementation runs the same model (wasm-rnn's seeded init, handed over through `stateDict()` in PyTorch layout), the same input and the same fixed gradient of the output (uniform in [-1, 1)); no initial state is given (zeros). Workloads as in `bench/run.mjs` (`bench/workloads.json`).",
    "wasm-rnn: forward = `model.eval()`, then `model.forward(x)` per call. Step = `model.train()` once, then per call `model.forward(x)`, `model.backward(gradOutput)` (which returns the input's gradient as a JavaScript tensor and accumulates the parameters') and `model.zeroGrad()`.",
    "PyTorch: `bench/torch_bench.py` in its own process (`torch.set_num_threads(1)`, OMP/MKL/OpenBLAS threads 1). Forward = eval mode under `torch.no_grad()`; step = train mode, `y, _ = model(x)` with `x.requires_grad_()`, `(y * gradOutput).sum().backward()` (so y's gradient is gradOutput), `model.zero_grad(set_to_none=True)` and `x.grad = None`.",
    "TF.js (wasm backend, one thread): RNN as in `bench/run.mjs` (`tf.sequential` of `simpleRNN` layers); LSTM, GRU as core ops (`bench/tfjs_gated.mjs`), with each step's rows of the input projection taken by a split into ⌈√T⌉-row chunks and an unstack of each (`gather`, which `bench/run.mjs` uses, has no gradient on the wasm backend: it needs `UnsortedSegmentSum`), so its forward column here can differ from `bench/run.mjs`'s. Step = `tf.variableGrads(() => tf.sum(tf.mul(forward(x), gradOutput)), [x, ...weights])` with the input and the weights as `tf.variable`s, the input's gradient read back to JavaScript, everything disposed. The backend's `BatchMatMul` with a transposed operand (every product of a backward pass) takes a slow path, up to 25× slower here; `bench/tfjs_matmul.mjs` gives TF.js its best case by transposing first with the backend's own kernel.",
    report.optimizer
      ? "The optimizer is not part of the step of the main table (issue 14's measure); its own table adds it."
      : "The optimizer is not part of the step (`--optimizer adam` adds a table with it).",
  ];
  const threads = [...new Set(results.map((w) => w.impls.torch?.threads).filter(Number.isFinite))];
  if (threads.length) notes.push(`PyTorch: \`torch.get_num_threads()\` in the timed process: ${threads.join(", ")}.`);
  notes.push(...runNotes(report));
  out.push(...notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}
