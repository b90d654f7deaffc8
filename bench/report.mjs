// Turns run.mjs's measurements into the Markdown report (also printed to
// stdout) and a self-contained SVG bar chart. Pure functions of the report
// object, so a results.json can be re-rendered without re-running anything.

const PEERS = ["ort", "tfjs", "naive", "torch", "torchmt"];
const SUPERSCRIPTS = ["¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"];
const FAMILY = { rnn: "RNN", lstm: "LSTM", gru: "GRU" };

export const fmtMs = (ms) =>
  ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
export const fmtX = (x) => `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
export const fmtG = (g) => (g >= 10 ? g.toFixed(1) : g >= 1 ? g.toFixed(2) : g.toFixed(3));

export function table(header, rows, align) {
  const a = align ?? header.map((_, i) => (i === 0 ? ":--" : "--:"));
  return [
    `| ${header.join(" | ")} |`,
    `|${a.map((x) => (x === ":--" ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export function shape(spec) {
  const dir = spec.bidirectional ? " bi" : "";
  const layers = spec.layers > 1 ? ` ×${spec.layers}` : "";
  const act = spec.nonlinearity === "relu" ? " relu" : "";
  const proj = spec.proj ? ` proj ${spec.proj}` : "";
  const steps = spec.lengths ? `lengths ${spec.lengths[0]}…${spec.lengths[spec.lengths.length - 1]}` : `T${spec.seq}`;
  return `${FAMILY[spec.mode ?? "rnn"]} ${spec.input}→${spec.hidden}${proj}${layers}${dir}${act}, B${spec.batch}, ${steps}`;
}

/** A usable measurement (not skipped, not failed, not a workload the implementation cannot express). */
export const ok = (r) => r && !r.error && !r.unsupported && Number.isFinite(r.medianMs);

/** Numbered footnotes: the same text gets the same mark. */
export function footnotes() {
  const texts = [];
  return {
    mark(text) {
      if (!texts.includes(text)) texts.push(text);
      const i = texts.indexOf(text);
      return SUPERSCRIPTS[i] ?? `[${i + 1}]`;
    },
    lines: () => texts.map((t, i) => `${SUPERSCRIPTS[i] ?? `[${i + 1}]`} ${t}`),
  };
}

function peakOf(report, backend, n = 1024) {
  return report.peaks.find((p) => p.backend === backend && p.n === n)?.gflops;
}

/** How each peer ran, for the Machine section: { ort, tfjs, torch } (torch undefined when PyTorch did not run). */
export function peerDescriptions(versions) {
  return {
    ort: `onnxruntime-web ${versions.ort} (wasm EP, numThreads 1)`,
    tfjs: `@tensorflow/tfjs ${versions.tfjs} + tfjs-backend-wasm ${versions.tfjsWasm} (SIMD binary, 1 thread)`,
    torch: versions.torch
      ? `PyTorch ${versions.torch} (Debian python3-torch; ${versions.torchIsa ?? "?"} kernels; BLAS: ${versions.torchBlasLib ?? versions.torchBlas ?? "?"}; 1 thread)`
      : undefined,
  };
}

/**
 * The report's title, the line saying how it was run, and the Machine
 * section: CPU, runtime, load, wasm-rnn's source and kernels, the peers
 * (`peers`: the descriptions of those that ran), the timing policy.
 */
export function header(report, title, peers) {
  const { machine } = report;
  const out = [];
  out.push(`# ${title}`, "");
  out.push(
    `Run ${machine.date.slice(0, 10)} with \`${report.command}\`${report.quick ? " (**--quick**: few runs, numbers are rough)" : ""}${report.steps ? ` (**--steps ${report.steps}**: sequences shortened, not the published workloads)` : ""}; ${report.totalSeconds.toFixed(0)} s in total.`,
    "",
  );
  out.push("## Machine", "");
  out.push(`- CPU: ${machine.cpu}; ${machine.cores} logical cores; ${machine.flags || "?"}`);
  out.push(
    `- ${machine.platform}; Node ${machine.node} (V8 ${machine.v8}); WebAssembly SIMD ${report.features.simd ? "yes" : "no"}, relaxed SIMD ${report.features.relaxedSimd ? "yes" : "no"}`,
  );
  out.push(
    `- Load average (1 min) at start ${machine.loadavgStart[0].toFixed(2)}, at end ${machine.loadavgEnd[0].toFixed(2)}` +
      // The benchmark's own busy thread accounts for a load of about 1.
      (Math.max(machine.loadavgStart[0], machine.loadavgEnd[0]) > 1.5
        ? " — other processes were running beside the benchmark; expect noise"
        : ""),
  );
  if (report.source) {
    const src = report.source;
    const kernels = Object.entries(src.kernels)
      .map(([b, k]) => `${b} ${k.sha256} (${k.bytes} B)`)
      .join(", ");
    const commit = src.commit
      ? `commit ${src.commit}${src.uncommittedFiles ? ` + uncommitted changes in ${src.uncommittedFiles} file(s) of src/ and assembly/` : ""}`
      : "no git";
    out.push(`- wasm-rnn: ${commit}; kernels (sha256 prefix): ${kernels}`);
  }
  out.push(`- Peers: ${peers.filter(Boolean).join("; ")}`);
  out.push(
    `- Timing: warm-up ≥ ${report.policy.warmSeconds} s and ≥ ${report.policy.warmCalls} calls (capped at ${report.policy.warmCapSeconds} s once ≥ ${report.policy.warmMinCalls} calls), then the median of ≥ ${report.policy.minRuns} runs and ≥ ${report.policy.minSeconds} s (capped at ${report.policy.capSeconds} s once ≥ ${report.policy.capMinRuns} runs); one thread everywhere.`,
  );
  out.push("");
  return out;
}

export function renderMarkdown(report) {
  const { versions, results, impls } = report;
  const present = impls.filter((i) => !report.skipped[i.key]);
  const described = peerDescriptions(versions);
  const out = header(report, "wasm-rnn benchmark results", [described.ort, described.tfjs, described.torch]);

  // --- GEMM peak
  if (report.peaks.length) {
    out.push("## The kernel's GEMM peak", "");
    out.push(
      "`gemm` of the kernel (4×8 register tiles over packed panels), n×n×n, one thread: the practical single-thread peak the workloads are measured against.",
      "",
    );
    const builds = [...new Set(report.peaks.map((p) => p.backend))];
    const cells = (p) =>
      p ? [fmtG(p.gflops), fmtMs(p.medianMs), fmtG((2 * p.n ** 3) / (p.cpuMs * 1e6))] : ["–", "–", "–"];
    out.push(
      table(
        [
          "build",
          "1024³ GFLOP/s",
          "1024³ ms",
          "1024³ GFLOP/s on CPU time",
          "256³ GFLOP/s",
          "256³ ms",
          "256³ GFLOP/s on CPU time",
        ],
        builds.map((b) => [
          b,
          ...cells(report.peaks.find((p) => p.backend === b && p.n === 1024)),
          ...cells(report.peaks.find((p) => p.backend === b && p.n === 256)),
        ]),
      ),
      "",
    );
  }

  // --- main table
  out.push("## Median wall time per forward, ms (effective GFLOP/s)", "");
  out.push(
    `FLOPs = 2·steps·G·(in·H + H·R) per layer and direction, + 2·steps·H·R for an LSTM's projection; G = 1 (RNN), 4 (LSTM), 3 (GRU); R = projSize if any, else H (and no projection term); layer l > 0 has in = D·R; steps = batch × time rows, for P the real ones (sum of lengths).`,
    "",
  );
  const notesOf = footnotes();
  const label = (k) => impls.find((i) => i.key === k).label;
  out.push(
    table(
      ["workload", "shape", "GFLOP", ...present.map((i) => i.label)],
      results.map((w) => [
        `**${w.name}** ${w.spec.desc}`,
        shape(w.spec),
        fmtG(w.flops / 1e9),
        ...present.map((i) => {
          const r = w.impls[i.key];
          if (!r) return "–";
          if (r.unsupported)
            return `—${notesOf.mark(`${label(i.key)} cannot express this workload: ${r.unsupported}`)}`;
          if (r.error) return "error";
          const bad = r.check && !r.check.ok ? " ✗" : "";
          const noted = r.note ? notesOf.mark(`${label(i.key)}: ${r.note}`) : "";
          return `${fmtMs(r.medianMs)} (${fmtG(r.gflops)})${noted}${bad}`;
        }),
      ]),
    ),
    "",
  );
  out.push(...notesOf.lines().flatMap((l) => [`${l}.`, ""]));
  if (results.some((w) => Object.values(w.impls).some((r) => r.check && !r.check.ok))) {
    out.push(
      "✗ = output does not match wasm-rnn's (see the output check below): that time is not for the same computation.",
      "",
    );
  }

  // --- CPU time
  out.push("## CPU time per forward, ms (process CPU time ÷ wall time)", "");
  out.push("All threads of the process; a ratio well above 1 means an implementation used more than one thread.", "");
  out.push(
    "The last column is the 1-minute load average when the workload started: above the core count, other processes were taking CPU time from the benchmark.",
    "",
  );
  out.push(
    table(
      ["workload", ...present.map((i) => i.label), "load"],
      results.map((w) => [
        `**${w.name}**`,
        ...present.map((i) => {
          const r = w.impls[i.key];
          return ok(r) ? `${fmtMs(r.cpuMs)} (${(r.cpuMs / r.medianMs).toFixed(2)})` : "–";
        }),
        w.loadavg.toFixed(1),
      ]),
    ),
    "",
  );

  // --- best case
  if (results.every((w) => Object.values(w.impls).every((r) => !ok(r) || Number.isFinite(r.minMs)))) {
    out.push("## Fastest single call, ms (effective GFLOP/s)", "");
    out.push(
      "The minimum over the timed runs: less sensitive than the median to other processes taking the cores.",
      "",
    );
    out.push(
      table(
        ["workload", ...present.map((i) => i.label)],
        results.map((w) => [
          `**${w.name}**`,
          ...present.map((i) => {
            const r = w.impls[i.key];
            return ok(r) && Number.isFinite(r.minMs) ? `${fmtMs(r.minMs)} (${fmtG(w.flops / (r.minMs * 1e6))})` : "–";
          }),
        ]),
      ),
      "",
    );
  }

  // --- ratios
  const ratio = (w, a, b) => (ok(w.impls[a]) && ok(w.impls[b]) ? w.impls[b].medianMs / w.impls[a].medianMs : null);
  const ours = ["simd", "relaxed"].filter((k) => !report.skipped[k]);
  const peers = PEERS.filter((k) => !report.skipped[k] && impls.some((i) => i.key === k));
  const cols = [];
  for (const o of ours) for (const p of peers) cols.push([o, p, `${o} vs ${label(p)}`]);
  if (ours.length === 2) cols.push(["simd", "relaxed", "relaxed vs simd"]);
  if (!report.skipped.scalar && !report.skipped.naive) cols.push(["scalar", "naive", "scalar vs naive JS"]);
  out.push("## Speed-up of wasm-rnn over each peer (peer ms ÷ wasm-rnn ms; > 1 = wasm-rnn faster)", "");
  out.push(
    table(
      ["workload", ...cols.map((c) => c[2])],
      results.map((w) => [
        `**${w.name}**`,
        ...cols.map(([o, p]) => {
          // "relaxed vs simd" is simd ms ÷ relaxed ms: read the pair the other way round.
          const r = o === "simd" && p === "relaxed" ? ratio(w, "relaxed", "simd") : ratio(w, o, p);
          return r === null ? "–" : fmtX(r);
        }),
      ]),
    ),
    "",
  );

  // --- efficiency
  if (report.peaks.length) {
    out.push("## Efficiency: effective GFLOP/s ÷ the build's 1024³ GEMM peak", "");
    out.push(
      "The kernel's own GEMM is the ceiling: batched workloads (batch > 1, not packed) can approach it, batch-1 ones run matrix–vector products and cannot.",
      "",
    );
    const builds = ["simd", "relaxed"].filter((b) => peakOf(report, b));
    const kind = (spec) => (spec.lengths ? "packed" : spec.batch > 1 ? "batched" : "batch 1");
    out.push(
      table(
        ["workload", "kind", ...builds.flatMap((b) => [`${b} GFLOP/s`, `${b} ÷ peak ${fmtG(peakOf(report, b))}`])],
        results.map((w) => [
          `**${w.name}**`,
          kind(w.spec),
          ...builds.flatMap((b) => {
            const r = w.impls[b];
            return ok(r) ? [fmtG(r.gflops), `${((100 * r.gflops) / peakOf(report, b)).toFixed(0)}%`] : ["–", "–"];
          }),
        ]),
      ),
      "",
    );
  }

  // --- packed vs padded
  const pvp = results.filter((w) => w.packedVsPadded?.length);
  if (pvp.length) {
    out.push("## Packed vs padded (issue 3)", "");
    for (const w of pvp) {
      const real = w.spec.lengths.reduce((a, b) => a + b, 0);
      const padded = w.spec.seq * w.spec.batch;
      out.push(
        `${w.name}: the same batch as a PackedSequence (${real} real steps) and as a padded tensor run for all ${w.spec.seq} steps (${padded} steps; ${(padded / real).toFixed(2)}× the work).`,
        "",
      );
      out.push(
        table(
          ["build", "packed ms", "padded ms", "padded ÷ packed"],
          w.packedVsPadded.map((p) => [p.backend, fmtMs(p.packedMs), fmtMs(p.paddedMs), fmtX(p.paddedMs / p.packedMs)]),
        ),
        "",
      );
    }
  }

  // --- output check
  const checked = impls.filter((i) => !report.skipped[i.key] && i.key !== "simd");
  out.push("## Output check: max |Δ| against wasm-rnn simd", "");
  out.push(
    "Every implementation's last-layer output (valid steps only: padded steps differ by convention) against wasm-rnn's SIMD build. Tolerance 1e-4 × max(1, max |output|). PyTorch's column is also wasm-rnn's own accuracy.",
    "",
  );
  out.push(
    table(
      ["workload", ...checked.map((i) => i.label), "tolerance"],
      results.map((w) => {
        let tol = null;
        const cells = checked.map((i) => {
          if (w.impls[i.key]?.unsupported) return "—";
          const c = w.impls[i.key]?.check;
          if (!c) return "–";
          tol = c.tol;
          return `${c.maxAbs === Infinity ? "∞" : c.maxAbs.toExponential(1)}${c.ok ? "" : " ✗"}`;
        });
        return [`**${w.name}**`, ...cells, tol === null ? "–" : tol.toExponential(0)];
      }),
    ),
    "",
  );

  // --- where PyTorch wins
  const wins = torchWins(report);
  if (wins.length) {
    out.push("## Where native PyTorch wins", "");
    out.push(
      `PyTorch is native code (${versions.torchIsa ?? "?"} kernels) on ${versions.torchBlasLib ?? "an unknown BLAS"}; wasm-rnn is WebAssembly, which has no 256- or 512-bit vectors and no FMA outside relaxed SIMD.`,
      "",
    );
    out.push(...wins.flatMap((l) => [l, ""]));
  }

  // --- goals
  const goals = goalRows(report);
  const yes = (r) => (r.holds ? "yes" : "**no**");
  for (const [rows, title] of [
    [goals.issue5, "Issue 5 goals: RNN (SIMD128 build, one thread, this run)"],
    [goals.issue12, "Issue 12 goals: LSTM and GRU (one thread, this run)"],
  ]) {
    if (!rows.length) continue;
    out.push(`## ${title}`, "");
    out.push(
      "Judged on wall time (the goal) and, because a process that is descheduled by other load gains wall time but not CPU time, also on CPU time.",
      "",
    );
    out.push(
      table(
        ["goal", "wall time", "holds", "CPU time", "holds"],
        rows.map((g) => [g.goal, g.wall.measured, yes(g.wall), g.cpu.measured, yes(g.cpu)]),
      ),
      "",
    );
  }

  // --- notes
  out.push("## Notes", "");
  const notes = [
    "Every implementation runs the same weights (wasm-rnn's seeded init, handed over through `stateDict()` in PyTorch layout) on the same input; each call's time includes copying the input in and the output back to JavaScript.",
    "wasm-rnn: `model.forward(tensor)` of `RNN`, `LSTM` or `GRU`; for P `model.forward(packed)` on a PackedSequence built once (like the peers' input tensors).",
    "onnxruntime-web: ONNX graph written by `bench/onnx.mjs` as torch.onnx.export lowers nn.RNN/LSTM/GRU (one `RNN`/`LSTM`/`GRU` node per layer, Transpose + Reshape between layers, opset 14; the gate blocks reordered from PyTorch's ifgo to ONNX's iofc and from rzn to zrh, GRU with `linear_before_reset = 1`); wasm execution provider, `numThreads = 1`, all graph optimizations. P feeds the padded batch with `sequence_lens`. ONNX's LSTM has no projection, so LSTM-PJ is not expressible.",
    "TF.js (wasm backend): RNN as a `tf.sequential` of `simpleRNN` layers (`bidirectional` with `mergeMode: 'concat'` for bi), batch-major input built once; Keras has one bias, so it gets b_ih + b_hh. No packed sequences in TF.js: P runs the zero-padded batch behind a `masking` layer, which gives PyTorch's valid outputs but computes every padded step. LSTM and GRU as core ops (`bench/tfjs_gated.mjs`): tfjs-layers' GRU refuses `resetAfter: true`, so it cannot compute PyTorch's GRU, and its LSTM (also checked) was slower than one input-projection `matMul` per layer and direction followed by the step loop; P computes every padded step and masks it.",
    "naive JS (`bench/naive.mjs`): the equations as plain loops with `Math.tanh`/`Math.exp`; for P it stops each sequence at its length.",
    `PyTorch: \`bench/torch_bench.py\` in its own process (\`torch.set_num_threads(1)\`, OMP/MKL/OpenBLAS threads 1, \`torch.no_grad()\`), timed there with the same policy; for P \`model(pack_padded_sequence(…))\` with the PackedSequence built once. BLAS mapped into that process after a matmul: ${(versions.torchBlasFiles ?? []).map((f) => `\`${f}\``).join(", ") || "?"}${versions.torchLdLibraryPath ? ` (selected for this process with LD_LIBRARY_PATH=${versions.torchLdLibraryPath}, as the system's libblas.so.3 is not OpenBLAS)` : " (the system's libblas.so.3)"}.`,
    "The issue's reference numbers came from an Intel machine (PyTorch with AVX-512 and a fast BLAS); compare with the peers measured in this run.",
  ];
  if (versions.torchBlasLib && /reference/.test(versions.torchBlasLib)) {
    notes.push(
      `PyTorch here uses Debian's reference BLAS (${versions.torchBlasLib}): its GEMMs run at a few GFLOP/s, far below an OpenBLAS/MKL build, so PyTorch's column is much slower than native PyTorch usually is.`,
    );
  }
  for (const key of ["torch", "torchmt"]) {
    const threads = [...new Set(results.map((w) => w.impls[key]?.threads).filter(Number.isFinite))];
    if (threads.length)
      notes.push(`${label(key)}: \`torch.get_num_threads()\` in the timed process: ${threads.join(", ")}.`);
  }
  notes.push(...runNotes(report));
  out.push(...notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}

/** The closing notes every report has: what was skipped, what failed, the run's own notes. */
export function runNotes(report) {
  const label = (k) => report.impls.find((i) => i.key === k).label;
  const notes = Object.entries(report.skipped).map(([key, why]) => `${label(key)} not measured: ${why}.`);
  for (const w of report.results)
    for (const [k, r] of Object.entries(w.impls)) if (r.error) notes.push(`${w.name} / ${label(k)} failed: ${r.error}`);
  return [...notes, ...report.notes];
}

/**
 * The goals of issues 5 (RNN) and 12 (LSTM, GRU) that this run can decide,
 * judged twice: on wall time (what the goals mean) and on CPU time (what is
 * left of it when other processes share the cores: a descheduled thread adds
 * wall time, not CPU time). Returns { issue5: rows, issue12: rows }.
 */
function goalRows(report) {
  const byName = Object.fromEntries(report.results.map((w) => [w.name, w]));
  const family = (mode, shapes) =>
    report.results
      .filter(
        (w) =>
          (w.spec.mode ?? "rnn") === mode && (!shapes || shapes.some((s) => w.name === s || w.name.endsWith(`-${s}`))),
      )
      .map((w) => w.name);
  const judge = (metric) => {
    const i5 = [];
    const i12 = [];
    const ms = (w, k) => (ok(w?.impls[k]) ? w.impls[k][metric] : null);
    const peak = (b) => {
      const p = report.peaks.find((q) => q.backend === b && q.n === 1024);
      return p ? (2 * p.n ** 3) / (p[metric] * 1e6) : null;
    };
    const each = (rows, goal, names, f, pass) => {
      const vals = names
        .filter((n) => byName[n])
        .map((n) => [n, f(byName[n])])
        .filter(([, v]) => v !== null);
      if (vals.length)
        rows.push({
          goal,
          measured: vals.map(([n, v]) => `${n} ${v.text}`).join(", "),
          holds: vals.every(([, v]) => pass(v.value)),
        });
    };
    const eff = (build) => (w) => {
      const t = ms(w, build);
      const p = peak(build);
      if (!t || !p) return null;
      const g = w.flops / (t * 1e6) / p;
      return { value: g, text: `${(100 * g).toFixed(0)}%` };
    };
    const faster = (a, b) => (w) => {
      const ta = ms(w, a);
      const tb = ms(w, b);
      return ta && tb ? { value: tb / ta, text: fmtX(tb / ta) } : null;
    };
    const ps = peak("simd");
    const pr = peak("relaxed");
    const rnn = family("rnn");
    if (rnn.length) {
      if (ps) i5.push({ goal: "1024³ GEMM peak ≥ 36 GFLOP/s (simd)", measured: fmtG(ps), holds: ps >= 36 });
      if (pr) i5.push({ goal: "1024³ GEMM peak ≥ 46 GFLOP/s (relaxed)", measured: fmtG(pr), holds: pr >= 46 });
      each(
        i5,
        "≥ 85% of the simd peak on M, BI, R, L",
        family("rnn", ["M", "BI", "R", "L"]),
        eff("simd"),
        (v) => v >= 0.85,
      );
      each(i5, "≥ 75% of the simd peak on S2, P", family("rnn", ["S2", "P"]), eff("simd"), (v) => v >= 0.75);
      each(i5, "simd ≥ 1.5× onnxruntime-web everywhere", rnn, faster("simd", "ort"), (v) => v >= 1.5);
      each(
        i5,
        "simd ≥ 2.5× onnxruntime-web on S1, S2, P",
        family("rnn", ["S1", "S2", "P"]),
        faster("simd", "ort"),
        (v) => v >= 2.5,
      );
      each(i5, "simd ahead of TF.js everywhere", rnn, faster("simd", "tfjs"), (v) => v > 1);
      each(i5, "simd faster than PyTorch 1-thread on S1", family("rnn", ["S1"]), faster("simd", "torch"), (v) => v > 1);
      each(
        i5,
        "relaxed ≥ 1.2× simd on M, BI, L",
        family("rnn", ["M", "BI", "L"]),
        faster("relaxed", "simd"),
        (v) => v >= 1.2,
      );
      each(i5, "scalar ≥ 3× naive JS", rnn, faster("scalar", "naive"), (v) => v >= 3);
    }
    // Issue 12, on the shapes it names: batch-1 (S1, S2), packed (P), batched (M, BI, L).
    for (const mode of ["lstm", "gru"]) {
      const all = family(mode);
      if (!all.length) continue;
      const F = FAMILY[mode];
      const batched = family(mode, ["M", "BI", "L"]);
      each(i12, `${F}: simd ≥ 1.5× onnxruntime-web (1 thread) everywhere`, all, faster("simd", "ort"), (v) => v >= 1.5);
      each(
        i12,
        `${F}: simd ≥ 2.5× onnxruntime-web on batch-1 and packed (S1, S2, P)`,
        family(mode, ["S1", "S2", "P"]),
        faster("simd", "ort"),
        (v) => v >= 2.5,
      );
      each(i12, `${F}: batched (M, BI, L) ≥ 85% of the simd GEMM peak`, batched, eff("simd"), (v) => v >= 0.85);
      each(
        i12,
        `${F}: batched (M, BI, L) ≥ 85% of the relaxed GEMM peak (relaxed build)`,
        batched,
        eff("relaxed"),
        (v) => v >= 0.85,
      );
    }
    return { i5, i12 };
  };
  const wall = judge("medianMs");
  const cpu = judge("cpuMs");
  const pair = (w, c) => w.map((r, i) => ({ goal: r.goal, wall: r, cpu: c[i] }));
  return { issue5: pair(wall.i5, cpu.i5), issue12: pair(wall.i12, cpu.i12) };
}

/**
 * Where PyTorch (native code, on OpenBLAS) beats wasm-rnn's best build: one
 * line per workload, so the report says it in words as well as in the ratios.
 */
function torchWins(report) {
  const lines = [];
  for (const key of ["torch", "torchmt"]) {
    const impl = report.impls.find((i) => i.key === key);
    if (!impl || report.skipped[key]) continue;
    const wins = [];
    let compared = 0;
    for (const w of report.results) {
      const best = ["relaxed", "simd"]
        .map((b) => [b, w.impls[b]])
        .filter(([, r]) => ok(r))
        .sort((a, b) => a[1].medianMs - b[1].medianMs)[0];
      const t = w.impls[key];
      if (!best || !ok(t)) continue;
      compared++;
      if (t.medianMs < best[1].medianMs) {
        wins.push(
          `**${w.name}** (${fmtMs(t.medianMs)} ms against wasm-rnn ${best[0]}'s ${fmtMs(best[1].medianMs)} ms: ${fmtX(best[1].medianMs / t.medianMs)} faster)`,
        );
      }
    }
    if (!compared) continue;
    lines.push(
      wins.length
        ? `${impl.label} is faster than wasm-rnn's best build on ${wins.length} of ${compared} workloads: ${wins.join(", ")}.`
        : `${impl.label} is slower than wasm-rnn's best build on all ${compared} workloads of this run.`,
    );
  }
  return lines;
}

// ------------------------------------------------------------------- chart

// Okabe–Ito palette (distinguishable with the common colour-vision deficiencies).
const COLORS = {
  relaxed: "#0072B2",
  simd: "#56B4E9",
  scalar: "#9DB8CC",
  ort: "#E69F00",
  tfjs: "#D55E00",
  naive: "#CC79A7",
  torch: "#009E73",
  torchmt: "#7FCDB0",
};

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Grouped bars: one panel per family (RNN, LSTM, GRU) on a shared log y axis
 * of effective GFLOP/s; workloads on x, one bar per implementation.
 */
export function renderSvg(report) {
  const order = ["relaxed", "simd", "scalar", "ort", "tfjs", "torch", "torchmt", "naive"];
  const impls = order.map((k) => report.impls.find((i) => i.key === k)).filter((i) => i && !report.skipped[i.key]);
  const results = report.results;
  const families = [...new Set(results.map((w) => w.spec.mode ?? "rnn"))];
  const values = results.flatMap((w) =>
    impls
      .map((i) => w.impls[i.key])
      .filter(ok)
      .map((r) => r.gflops),
  );
  const peaks = ["simd", "relaxed"].map((b) => [b, peakOf(report, b)]).filter(([, g]) => g);
  values.push(...peaks.map(([, g]) => g));
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 10)));

  const W = 1000;
  const m = { left: 64, right: 220, top: 56, bottom: 16 };
  const panel = { height: 300, labels: 44, gap: 28 };
  const H = m.top + families.length * (panel.height + panel.labels + panel.gap) + m.bottom;
  const pw = W - m.left - m.right;
  const maxGroups = Math.max(1, ...families.map((f) => results.filter((w) => (w.spec.mode ?? "rnn") === f).length));
  const groupW = pw / maxGroups;
  const barW = (groupW * 0.84) / Math.max(1, impls.length);

  const s = [];
  s.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`,
  );
  s.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  s.push(
    `<text x="${m.left}" y="24" font-size="16" font-weight="600" fill="#222">wasm-rnn vs peers: effective GFLOP/s per forward (log scale, higher is better)</text>`,
  );
  s.push(
    `<text x="${m.left}" y="42" fill="#555">${esc(`${report.machine.cpu}, one thread, Node ${report.machine.node}, ${report.machine.date.slice(0, 10)}; dashed: the kernel's 1024³ GEMM`)}</text>`,
  );

  families.forEach((family, fi) => {
    const top = m.top + 16 + fi * (panel.height + panel.labels + panel.gap);
    const ph = panel.height - 16;
    const bottom = top + ph;
    const y = (g) => top + ph * (1 - (Math.log10(g) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
    s.push(`<text x="${m.left}" y="${top - 6}" font-size="14" font-weight="600" fill="#222">${FAMILY[family]}</text>`);
    // Grid: decades labelled, 2× and 5× minor lines.
    for (let d = lo; d <= hi * 1.0001; d *= 10) {
      s.push(
        `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(d).toFixed(1)}" y2="${y(d).toFixed(1)}" stroke="#ccc"/>`,
      );
      s.push(
        `<text x="${m.left - 8}" y="${(y(d) + 4).toFixed(1)}" text-anchor="end" fill="#333">${d >= 1 ? d : d.toPrecision(1)}</text>`,
      );
      for (const f of [2, 5]) {
        if (d * f < hi)
          s.push(
            `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(d * f).toFixed(1)}" y2="${y(d * f).toFixed(1)}" stroke="#eee"/>`,
          );
      }
    }
    s.push(
      `<text transform="translate(18 ${top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">GFLOP/s</text>`,
    );
    results
      .filter((w) => (w.spec.mode ?? "rnn") === family)
      .forEach((w, gi) => {
        const x0 = m.left + gi * groupW + groupW * 0.08;
        impls.forEach((impl, bi) => {
          const r = w.impls[impl.key];
          if (!ok(r)) return;
          const x = x0 + bi * barW;
          const barTop = y(r.gflops);
          const bad = r.check && !r.check.ok;
          s.push(
            `<rect x="${x.toFixed(1)}" y="${barTop.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(bottom - barTop).toFixed(1)}" fill="${COLORS[impl.key]}"${bad ? ' stroke="#000" stroke-dasharray="2 2"' : ""}><title>${esc(`${w.name} · ${impl.label}: ${fmtMs(r.medianMs)} ms, ${fmtG(r.gflops)} GFLOP/s${bad ? " (output mismatch)" : ""}`)}</title></rect>`,
          );
        });
        const cx = m.left + (gi + 0.5) * groupW;
        s.push(
          `<text x="${cx.toFixed(1)}" y="${bottom + 18}" text-anchor="middle" font-weight="600" fill="#222">${esc(w.name)}</text>`,
        );
        s.push(
          `<text x="${cx.toFixed(1)}" y="${bottom + 34}" text-anchor="middle" font-size="10" fill="#555">${esc(shortShape(w.spec))}</text>`,
        );
      });
    s.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
    s.push(`<line x1="${m.left}" x2="${m.left}" y1="${top}" y2="${bottom}" stroke="#333"/>`);
    // The kernel's own GEMM peaks as reference lines.
    for (const [b, g] of peaks) {
      s.push(
        `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(g).toFixed(1)}" y2="${y(g).toFixed(1)}" stroke="${COLORS[b]}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      );
    }
  });

  // Legend.
  const lx = m.left + pw + 20;
  let ly = m.top + 4;
  s.push(`<text x="${lx}" y="${ly}" font-weight="600" fill="#222">implementation</text>`);
  ly += 10;
  for (const impl of impls) {
    s.push(`<rect x="${lx}" y="${ly}" width="14" height="14" fill="${COLORS[impl.key]}"/>`);
    s.push(`<text x="${lx + 20}" y="${ly + 11}" fill="#222">${esc(impl.label)}</text>`);
    ly += 20;
  }
  ly += 8;
  for (const [b, g] of peaks) {
    s.push(
      `<line x1="${lx}" x2="${lx + 14}" y1="${ly + 7}" y2="${ly + 7}" stroke="${COLORS[b]}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    s.push(`<text x="${lx + 20}" y="${ly + 11}" fill="#222">${esc(`${b} GEMM peak: ${fmtG(g)}`)}</text>`);
    ly += 20;
  }
  s.push(`</svg>`);
  return `${s.join("\n")}\n`;
}

function shortShape(spec) {
  const dir = spec.bidirectional ? " bi" : "";
  const layers = spec.layers > 1 ? `×${spec.layers}` : "";
  const act = spec.nonlinearity === "relu" ? " relu" : "";
  const packed = spec.lengths ? " packed" : "";
  const proj = spec.proj ? ` p${spec.proj}` : "";
  return `${spec.input}→${spec.hidden}${proj}${layers}${dir}${act} B${spec.batch}${packed}`;
}
