// The browser frontend of the char-train demo (bundled by build-web.mjs). The
// training loop itself is trainer.js, shared with the Node script; it hands the
// event loop back between slices of steps, so the page stays responsive while
// it trains on the main thread.
import { init } from "wasm-rnn";
import { drawLossChart } from "./chart.js";
import { CharTrainer, clock, createModel, loadModel, recentMean, runTraining, vocabularyOf } from "./trainer.js";

const $ = (id) => document.getElementById(id);
const SAMPLE_LENGTH = 160;
const TEMPERATURE = 0.8;
const LEARNING_RATES = { scratch: "0.003", finetune: "0.001" };

/** Everything about the current run; replaced by "Start" after a finished run and by "Start over". */
let run = null;
let shippedModel = null;

function setState(state, message = "") {
  $("status").dataset.state = state;
  $("message").textContent = message;
  $("message").className = state === "error" ? "error" : "";
  $("start").textContent = state === "running" ? "Pause" : state === "paused" ? "Resume" : "Start";
  $("start").disabled = state === "loading";
  $("restart").disabled = !(state === "paused" || state === "done");
  $("save").disabled = run === null;
  for (const input of document.querySelectorAll("#text, input[name=mode], #lr")) {
    input.disabled = state === "loading" || state === "running" || state === "paused";
  }
}

function readPrompt() {
  return $("prompt").value.replaceAll("\\n", "\n") || "\n";
}

function addSample(step) {
  const prompt = readPrompt();
  const item = document.createElement("li");
  const meta = document.createElement("div");
  meta.className = "step";
  const loss = run.losses.length > 0 ? `, loss ${recentMean(run.losses).toFixed(3)}` : " (untrained)";
  meta.textContent = `step ${step}${loss}`;
  item.append(meta);
  for (const [label, options] of [
    ["greedy", { greedy: true }],
    [`sampled at temperature ${TEMPERATURE}`, { greedy: false, temperature: TEMPERATURE, seed: step + 1 }],
  ]) {
    const pre = document.createElement("pre");
    pre.title = label;
    const echo = document.createElement("span");
    echo.className = "prompt";
    echo.textContent = prompt;
    pre.append(echo, run.trainer.sample({ prompt, length: SAMPLE_LENGTH, ...options }));
    const caption = document.createElement("div");
    caption.className = "meta";
    caption.textContent = label;
    item.append(caption, pre);
  }
  $("samples").prepend(item);
}

function showProgress({ step, total, stepsPerSecond, etaSeconds, elapsedSeconds }) {
  $("step").textContent = String(step);
  $("total").textContent = String(total);
  $("speed").textContent = stepsPerSecond.toFixed(1);
  $("eta").textContent = clock(etaSeconds);
  $("elapsed").textContent = clock(run.elapsedBefore + elapsedSeconds);
  $("loss").textContent = recentMean(run.losses).toFixed(3);
  $("bar").style.width = `${((100 * step) / total).toFixed(1)}%`;
  $("chart").dataset.points = String(drawLossChart($("chart"), run.losses, total));
}

async function newRun() {
  run?.trainer.dispose();
  run = null;
  const mode = document.querySelector("input[name=mode]:checked").value;
  const text = $("text").value;
  let model;
  if (mode === "finetune") {
    if (shippedModel === null) {
      const response = await fetch("model.safetensors");
      if (!response.ok) throw new Error(`model.safetensors: HTTP ${response.status}`);
      shippedModel = new Uint8Array(await response.arrayBuffer());
    }
    model = loadModel(shippedModel);
  } else {
    model = createModel(vocabularyOf(text));
  }
  const trainer = new CharTrainer(model, text, { lr: Number($("lr").value), source: "text pasted into the page" });
  run = { trainer, losses: [], elapsedBefore: 0, controller: null };
  $("samples").replaceChildren();
  const mapped = Object.keys(trainer.replaced).length;
  $("text-info").textContent =
    `${trainer.text.length} characters · vocabulary ${model.vocab.length} · ${model}` +
    (mapped > 0 ? ` · ${mapped} characters mapped to the model's` : "");
  addSample(0);
}

async function train() {
  const total = Math.max(1, Math.min(100_000, Number($("steps").value) || 1500));
  const controller = new AbortController();
  run.controller = controller;
  setState("running");
  let elapsed = 0;
  const result = await runTraining(run.trainer, {
    steps: total,
    losses: run.losses,
    // About fifteen samples over a run, on round steps.
    sampleEvery: Math.max(10, Math.round(total / 150) * 10),
    sliceMs: 30,
    signal: controller.signal,
    onSample: addSample,
    onProgress: (progress) => {
      elapsed = progress.elapsedSeconds;
      showProgress(progress);
    },
  });
  run.elapsedBefore += elapsed;
  setState(result === "done" ? "done" : "paused", result === "done" ? "done" : "paused");
}

async function onStart() {
  const state = $("status").dataset.state;
  if (state === "running") {
    run.controller.abort();
    return;
  }
  try {
    if (state !== "paused") {
      setState("loading", "preparing the model");
      await newRun();
    }
    await train();
  } catch (error) {
    setState("error", error.message);
  }
}

async function onRestart() {
  try {
    setState("loading", "preparing the model");
    await newRun();
    await train();
  } catch (error) {
    setState("error", error.message);
  }
}

function onSave() {
  const bytes = run.trainer.save();
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = `char-train-step${run.trainer.steps}.safetensors`;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked later: the download reads the Blob after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  $("save").dataset.bytes = String(bytes.length);
}

function describeText() {
  const text = $("text").value;
  $("text-info").textContent = `${text.length} characters · vocabulary ${vocabularyOf(text).length}`;
}

async function main() {
  const runtime = await init();
  $("backend").textContent = runtime.backend;
  const response = await fetch("coriolanus.txt");
  if (!response.ok) throw new Error(`coriolanus.txt: HTTP ${response.status}`);
  $("text").value = await response.text();
  describeText();
  $("text").addEventListener("input", describeText);
  for (const radio of document.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", () => {
      $("lr").value = LEARNING_RATES[radio.value];
    });
  }
  $("start").addEventListener("click", onStart);
  $("restart").addEventListener("click", onRestart);
  $("save").addEventListener("click", onSave);
  drawLossChart($("chart"), [], Number($("steps").value));
  setState("idle");
}

main().catch((error) => {
  $("backend").textContent = "error";
  setState("error", `Could not start: ${error.message}`);
  $("start").disabled = true;
});
