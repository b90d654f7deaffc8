// The browser frontend of the char-RNN demo (bundled by build-web.mjs).
// Generation itself is model.js, shared with the Node demo and the Worker.
import { init } from "wasm-rnn";
import { CharModel, generate, median } from "./model.js";

const $ = (id) => document.getElementById(id);
// Generation takes tens of microseconds a character, so a whole text would land
// in one frame; a few characters a frame lets the text (and the chart) stream
// visibly. The chart shows the compute time only, not this pacing.
const CHARS_PER_FRAME = 3;

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

function drawChart(canvas, latenciesUs, total) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  if (latenciesUs.length === 0) return;
  // Scale to twice the 90th percentile: garbage-collection or scheduling spikes
  // would flatten everything else, so they are clipped (and drawn darker).
  const sorted = [...latenciesUs].sort((a, b) => a - b);
  const top = Math.max(10, 2 * sorted[Math.floor(0.9 * (sorted.length - 1))]);
  const barWidth = width / Math.max(total, latenciesUs.length);
  latenciesUs.forEach((us, i) => {
    ctx.fillStyle = us > top ? "#6d83d6" : "#a9b9f2";
    const h = Math.min(height - 14, (us / top) * (height - 14));
    ctx.fillRect(i * barWidth, height - h, Math.max(1, barWidth - 0.5), h);
  });
  const med = median(latenciesUs);
  const y = height - (med / top) * (height - 14);
  ctx.strokeStyle = "#3559e0";
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(0, y);
  ctx.lineTo(width, y);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.font = "12px system-ui, sans-serif";
  const label = `median ${med.toFixed(1)} µs`;
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(4, y - 17, ctx.measureText(label).width + 6, 15);
  ctx.fillStyle = "#3559e0";
  ctx.fillText(label, 7, y - 5);
  ctx.fillStyle = "#6b7385";
  ctx.fillText(`${top.toFixed(0)} µs`, width - ctx.measureText(`${top.toFixed(0)} µs`).width - 4, 11);
}

async function main() {
  // "auto": a thread per core where the page may share memory with workers (served
  // cross-origin isolated); elsewhere one thread, and init says why. `?threads=N` compares.
  const asked = new URLSearchParams(location.search).get("threads");
  const runtime = await init({ threads: asked === null || asked === "auto" ? "auto" : Number(asked) });
  $("backend").textContent = runtime.backend;
  $("threads").textContent = String(runtime.threads);
  $("threads-note").textContent = runtime.threadsFallback ? `(one thread: ${runtime.threadsFallback})` : "";
  const response = await fetch("model.safetensors");
  if (!response.ok) throw new Error(`model.safetensors: HTTP ${response.status}`);
  const model = CharModel.fromSafetensors(new Uint8Array(await response.arrayBuffer()));

  const temperature = $("temperature");
  const showTemperature = () => {
    $("temperature-value").textContent = Number(temperature.value).toFixed(2);
  };
  temperature.addEventListener("input", showTemperature);
  showTemperature();
  $("greedy").addEventListener("change", () => {
    temperature.disabled = $("greedy").checked;
  });

  const button = $("generate");
  button.disabled = false;
  button.addEventListener("click", async () => {
    const output = $("output");
    const generated = $("generated");
    const prompt = $("prompt").value;
    const length = Math.max(1, Math.min(5000, Number($("length").value) || 400));
    $("prompt-echo").textContent = prompt;
    generated.textContent = "";
    generated.className = "";
    output.dataset.state = "running";
    button.disabled = true;
    const latencies = [];
    try {
      const steps = generate(model, {
        prompt,
        length,
        temperature: Number(temperature.value),
        greedy: $("greedy").checked,
        seed: Number($("seed").value) | 0,
      });
      let text = "";
      let done = false;
      while (!done) {
        for (let i = 0; i < CHARS_PER_FRAME; i++) {
          const next = steps.next();
          if (next.done) {
            done = true;
            break;
          }
          text += next.value.char;
          latencies.push(next.value.ms * 1000);
        }
        generated.textContent = text;
        drawChart($("chart"), latencies, length);
        $("stats").textContent =
          `${latencies.length} chars · median ${median(latencies).toFixed(1)} µs/char · ${runtime.backend} · ` +
          `${runtime.threads === 1 ? "1 thread" : `${runtime.threads} threads`}`;
        if (!done) await nextFrame();
      }
      output.dataset.medianUs = median(latencies).toFixed(2);
      output.dataset.state = "done";
    } catch (error) {
      generated.textContent = error.message;
      generated.className = "error";
      output.dataset.state = "error";
    } finally {
      button.disabled = false;
    }
  });
}

main().catch((error) => {
  $("backend").textContent = "error";
  $("threads").textContent = "error";
  $("generated").textContent = `Could not start: ${error.message}`;
  $("generated").className = "error";
  $("output").dataset.state = "error";
});
