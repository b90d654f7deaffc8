// The page's loss chart on a canvas: axes with ticks, every step's loss as a
// faint line and its smoothed value as a bold one, the x axis spanning the whole
// run so that the curve grows towards the right edge as training proceeds.
import { smoothed } from "./trainer.js";

const COLORS = { axis: "#6b7385", grid: "#eef0f5", raw: "#c3cdf3", smooth: "#3559e0", text: "#1d2433" };
const MARGIN = { left: 46, right: 14, top: 12, bottom: 30 };

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
function ticks(lo, hi, count) {
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * At most `width` points: consecutive steps averaged per bucket, so a long run
 * costs what a short one does to draw. Returns [step, value] pairs (1-based steps).
 */
function downsample(values, width) {
  const per = Math.max(1, Math.ceil(values.length / width));
  const out = [];
  for (let i = 0; i < values.length; i += per) {
    const bucket = values.slice(i, i + per);
    out.push([i + (bucket.length + 1) / 2, bucket.reduce((a, b) => a + b, 0) / bucket.length]);
  }
  return out;
}

/**
 * Draws `losses` (one per step) on a run of `total` steps. Returns the number of
 * points drawn.
 */
export function drawLossChart(canvas, losses, total) {
  // Crisp lines on high-density screens: the backing store follows the CSS size.
  const ratio = globalThis.devicePixelRatio ?? 1;
  const cssWidth = canvas.clientWidth || canvas.width;
  const cssHeight = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(cssWidth * ratio)) canvas.width = Math.round(cssWidth * ratio);
  if (canvas.height !== Math.round(cssHeight * ratio)) canvas.height = Math.round(cssHeight * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    w: cssWidth - MARGIN.left - MARGIN.right,
    h: cssHeight - MARGIN.top - MARGIN.bottom,
  };

  const raw = downsample(losses, plot.w);
  // About 30 steps' worth of smoothing on a long run, less on a short one.
  const smooth = downsample(smoothed(losses, Math.min(0.98, Math.max(0.6, 1 - 30 / Math.max(total, 1)))), plot.w);
  const xMax = Math.max(total, losses.length, 1);
  // The y range follows the smoothed curve with some room for the noisy one; the
  // first steps' loss (ln V) sets the top.
  const values = raw.map(([, v]) => v);
  const yHi = values.length > 0 ? Math.max(...values.slice(0, 5), ...smooth.map(([, v]) => v)) * 1.05 : 4;
  const yLo = values.length > 0 ? Math.max(0, Math.min(...smooth.map(([, v]) => v)) * 0.85) : 0;
  const px = (step) => plot.x + (step / xMax) * plot.w;
  const py = (v) => plot.y + plot.h - ((Math.min(Math.max(v, yLo), yHi) - yLo) / (yHi - yLo || 1)) * plot.h;

  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  for (const v of ticks(yLo, yHi, 5)) {
    ctx.strokeStyle = COLORS.grid;
    ctx.beginPath();
    ctx.moveTo(plot.x, py(v));
    ctx.lineTo(plot.x + plot.w, py(v));
    ctx.stroke();
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(v.toFixed(yHi - yLo < 1 ? 2 : 1), plot.x - 6, py(v));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const s of ticks(0, xMax, 8)) {
    ctx.strokeStyle = COLORS.axis;
    ctx.beginPath();
    ctx.moveTo(px(s), plot.y + plot.h);
    ctx.lineTo(px(s), plot.y + plot.h + 4);
    ctx.stroke();
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(String(s), px(s), plot.y + plot.h + 6);
  }
  ctx.strokeStyle = COLORS.axis;
  ctx.beginPath();
  ctx.moveTo(plot.x, plot.y);
  ctx.lineTo(plot.x, plot.y + plot.h);
  ctx.lineTo(plot.x + plot.w, plot.y + plot.h);
  ctx.stroke();
  ctx.save();
  ctx.translate(11, plot.y + plot.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText("loss (nats/char)", 0, -6);
  ctx.restore();
  ctx.textAlign = "right";
  ctx.fillText("step", plot.x + plot.w, plot.y + plot.h + 17);

  const line = (points, color, width) => {
    if (points.length === 0) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.lineJoin = "round";
    ctx.beginPath();
    points.forEach(([s, v], i) => (i === 0 ? ctx.moveTo(px(s), py(v)) : ctx.lineTo(px(s), py(v))));
    ctx.stroke();
  };
  line(raw, COLORS.raw, 1);
  line(smooth, COLORS.smooth, 2);
  if (smooth.length > 0) {
    const [s, v] = smooth[smooth.length - 1];
    ctx.fillStyle = COLORS.smooth;
    ctx.beginPath();
    ctx.arc(px(s), py(v), 3, 0, 2 * Math.PI);
    ctx.fill();
    ctx.textAlign = px(s) > plot.x + plot.w - 60 ? "right" : "left";
    ctx.textBaseline = "bottom";
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.fillText(v.toFixed(3), px(s) + (ctx.textAlign === "left" ? 6 : -6), py(v) - 4);
  }
  ctx.lineWidth = 1;
  return raw.length;
}
