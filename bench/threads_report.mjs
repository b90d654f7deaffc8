// Turns threads.mjs's measurements into the Markdown report (also printed to
// stdout) and the scaling chart: pure functions of the report object, like
// report.mjs for run.mjs, whose table helpers and Machine section it shares.

import { fmtMs, fmtX, header, ok, shape, table } from "./report.mjs";

/**
 * Issue 13's goals for 2 threads against 1, by workload shape (an LSTM-/GRU-
 * workload takes its shape's): at least this speed-up; S1 and S2 never slower.
 */
const SPEEDUP_GOALS = { M: 1.7, BI: 1.7, L: 1.7, P: 1.7, R: 1.4, S1: 1, S2: 1 };
/** 2 threads against onnxruntime-web on 2 threads: at least this much faster. */
const ORT_GOAL = 2;

const shapeOf = (name) => name.replace(/^(LSTM|GRU)-/, "");
const mark = (pass) => (pass ? "✓" : "✗");
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A note on oversubscription: more threads than the machine has logical cores. */
function oversubscribed(report) {
  const over = report.threads.filter((n) => n > report.machine.cores);
  return over.length
    ? `${over.join(", ")} threads on this ${report.machine.cores}-core machine oversubscribe it: the threads take turns on the cores and wait at every step's barrier for one that is descheduled, so those columns show the cost of asking for more threads than cores, not the speed-up more cores would give.`
    : null;
}

export function renderThreadsMarkdown(report) {
  const { results, impls, versions } = report;
  const present = impls.filter((i) => !report.skipped[i.key]);
  const label = (k) => impls.find((i) => i.key === k).label;
  const peers = [
    `onnxruntime-web ${versions.ort} (wasm EP, \`numThreads = ${report.ortThreads}\`, its pthread pool in the benchmark's process)`,
    versions.torch
      ? `PyTorch ${versions.torch} (Debian python3-torch; BLAS: ${versions.torchBlasLib ?? "?"}; 1 thread)`
      : undefined,
  ];
  const out = header(report, "wasm-rnn threads benchmark results", peers).map((line) =>
    line.replace("; one thread everywhere.", "; wall and process CPU time per call (all threads)."),
  );
  const cal = report.calibration;
  out.push("## Build", "");
  out.push(
    `wasm-rnn ran its \`${report.backend}\` build. init()'s calibration on this machine: ` +
      (cal
        ? `chose **${cal.chosen}** (best probe round: simd ${cal.timings.simd.toFixed(3)} ms, relaxed ${cal.timings.relaxed.toFixed(3)} ms; the calibration took ${cal.costMs.toFixed(1)} ms).`
        : "none (the runtime validates only one SIMD build)."),
  );
  const sizes = Object.entries(report.threadedBuilds ?? {});
  if (sizes.length)
    out.push("", `Threaded builds: ${sizes.map(([b, n]) => `rnn.${b}-threads.wasm ${n} B`).join(", ")}.`);
  const over = oversubscribed(report);
  if (over) out.push("", `**Note:** ${over}`);
  out.push("");

  out.push("## Median wall time per forward, ms (CPU time ÷ wall time in parentheses)", "");
  const cell = (w, impl) => {
    const r = w.impls[impl.key];
    if (!r) return "–";
    if (r.unsupported) return "—";
    if (!ok(r)) return "error";
    const flags = `${r.identical === false || r.check?.ok === false ? " ✗" : ""}${r.threadsInUse !== undefined && r.threadsInUse !== impl.threads ? ` (ran on ${r.threadsInUse})` : ""}`;
    return `${fmtMs(r.medianMs)}${flags} (${(r.cpuMs / r.medianMs).toFixed(1)})`;
  };
  const scaling = report.threads.filter((n) => n > 1);
  out.push(
    table(
      ["workload", "shape", ...present.map((i) => i.label), ...scaling.map((n) => `${n} threads ÷ 1`)],
      results.map((w) => [
        `**${w.name}**`,
        shape(w.spec),
        ...present.map((i) => cell(w, i)),
        ...scaling.map((n) => speedup(w, `t${n}`) ?? "–"),
      ]),
    ),
    "",
  );
  out.push(
    "✗: output not bit-identical to 1 thread's (wasm-rnn), or beyond 1e-4 of it (peers). —: the peer cannot express the workload. A CPU ÷ wall ratio near the thread count shows the threads worked; one well below it, that they waited.",
    "",
  );

  out.push("## Issue 13's goals: wasm-rnn on 2 threads, speed-up over each", "");
  const rows = goalRows(report);
  out.push(
    rows.length
      ? table(["workload", "1 thread", "PyTorch, 1 thread", `onnxruntime-web, ${report.ortThreads} threads`], rows)
      : "This run has no 2-thread measurement to judge.",
    "",
  );
  const notes = [
    ...Object.entries(report.skipped).map(([k, why]) => `${label(k)} not measured: ${why}.`),
    ...results.flatMap((w) =>
      Object.entries(w.impls)
        .filter(([, r]) => r.error)
        .map(([k, r]) => `${w.name} / ${label(k)} failed: ${r.error}`),
    ),
    ...report.notes,
  ];
  if (notes.length) out.push("## Notes", "", ...notes.map((n) => `- ${n}`), "");
  return `${out.join("\n")}\n`;
}

/** `key`'s speed-up over 1 thread on workload `w`, formatted, or null. */
function speedup(w, key) {
  const one = w.impls.t1;
  const r = w.impls[key];
  return ok(one) && ok(r) ? fmtX(one.medianMs / r.medianMs) : null;
}

/**
 * One row per workload with a goal of issue 13 this run can decide: 2 threads
 * against 1 thread, against PyTorch on 1 thread, against onnxruntime-web on 2.
 */
function goalRows(report) {
  const rows = [];
  const judged = (x, pass, goal) => `${fmtX(x)} ${mark(pass)} (${goal})`;
  for (const w of report.results) {
    const two = w.impls.t2;
    if (!ok(two)) continue;
    const { t1: one, torch, ort } = w.impls;
    const goal = SPEEDUP_GOALS[shapeOf(w.name)];
    const x1 = ok(one) ? one.medianMs / two.medianMs : null;
    const xt = ok(torch) ? torch.medianMs / two.medianMs : null;
    const xo = ok(ort) ? ort.medianMs / two.medianMs : null;
    rows.push([
      `**${w.name}**`,
      goal === undefined || x1 === null ? "–" : judged(x1, x1 >= goal, goal === 1 ? "never slower" : `≥ ${fmtX(goal)}`),
      xt === null ? "–" : judged(xt, xt > 1, "faster"),
      xo === null ? "–" : judged(xo, xo >= ORT_GOAL, `≥ ${fmtX(ORT_GOAL)}`),
    ]);
  }
  return rows;
}

const COLORS = ["#9DB8CC", "#56B4E9", "#0072B2", "#003F63", "#001F33"];

/** The scaling chart: each workload's speed-up over 1 thread for every thread count, linear scale. */
export function renderThreadsSvg(report) {
  const counts = report.threads;
  const results = report.results.filter((w) => ok(w.impls.t1));
  const values = results.flatMap((w) =>
    counts
      .map((n) => w.impls[`t${n}`])
      .filter(ok)
      .map((r) => w.impls.t1.medianMs / r.medianMs),
  );
  const top = Math.max(2, Math.ceil(Math.max(...values, 1) * 2) / 2);
  const W = Math.max(960, 120 + results.length * (counts.length * 16 + 24));
  const m = { left: 56, right: 20, top: 70, bottom: 60 };
  const H = 420;
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const y = (v) => m.top + ph * (1 - v / top);
  const groupW = pw / Math.max(1, results.length);
  const barW = (groupW * 0.8) / counts.length;
  const over = oversubscribed(report);
  const s = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="22" font-size="16" font-weight="600" fill="#222">wasm-rnn forward on ${counts.join(", ")} threads: speed-up over 1 thread (higher is better)</text>`,
    `<text x="${m.left}" y="40" fill="#555">${esc(`${report.machine.cpu}, ${report.machine.cores} logical cores, ${report.backend} build, Node ${report.machine.node}, ${report.machine.date.slice(0, 10)}`)}</text>`,
  ];
  if (over) {
    s.push(
      `<text x="${m.left}" y="56" fill="#B00020">${esc(`${counts.filter((n) => n > report.machine.cores).join(", ")} threads oversubscribe this ${report.machine.cores}-core machine`)}</text>`,
    );
  }
  for (let v = 0; v <= top + 1e-9; v += 0.5) {
    s.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${v === 1 ? "#888" : "#eee"}"/>`,
      `<text x="${m.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#333">${v.toFixed(1)}×</text>`,
    );
  }
  results.forEach((w, gi) => {
    const x0 = m.left + gi * groupW + groupW * 0.1;
    counts.forEach((n, bi) => {
      const r = w.impls[`t${n}`];
      if (!ok(r)) return;
      const v = w.impls.t1.medianMs / r.medianMs;
      const x = x0 + bi * barW;
      s.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${COLORS[bi % COLORS.length]}"><title>${esc(`${w.name}, ${n} thread${n > 1 ? "s" : ""}: ${fmtMs(r.medianMs)} ms, ${v.toFixed(2)}× 1 thread`)}</title></rect>`,
      );
    });
    const goal = SPEEDUP_GOALS[shapeOf(w.name)];
    if (goal > 1) {
      s.push(
        `<line x1="${x0.toFixed(1)}" x2="${(x0 + groupW * 0.8).toFixed(1)}" y1="${y(goal).toFixed(1)}" y2="${y(goal).toFixed(1)}" stroke="#D55E00" stroke-width="2"/>`,
      );
    }
    const cx = m.left + (gi + 0.5) * groupW;
    s.push(
      `<text x="${cx.toFixed(1)}" y="${y(0) + 16}" text-anchor="middle" font-weight="600" fill="#222">${esc(w.name)}</text>`,
      `<text x="${cx.toFixed(1)}" y="${y(0) + 30}" text-anchor="middle" font-size="10" fill="#555">${esc(`${fmtMs(w.impls.t1.medianMs)} ms`)}</text>`,
    );
  });
  s.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  let lx = m.left;
  counts.forEach((n, i) => {
    s.push(
      `<rect x="${lx}" y="${H - 18}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${lx + 16}" y="${H - 8}" fill="#222">${n} thread${n > 1 ? "s" : ""}</text>`,
    );
    lx += 90;
  });
  s.push(
    `<line x1="${lx}" x2="${lx + 14}" y1="${H - 12}" y2="${H - 12}" stroke="#D55E00" stroke-width="2"/>`,
    `<text x="${lx + 20}" y="${H - 8}" fill="#222">2-thread goal</text>`,
    "</svg>",
  );
  return `${s.join("\n")}\n`;
}
