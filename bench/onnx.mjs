// A minimal ONNX writer: just enough protobuf (ModelProto, GraphProto,
// NodeProto, AttributeProto, TensorProto, ValueInfoProto) to express
// torch.nn.RNN, LSTM and GRU as chains of ONNX `RNN`/`LSTM`/`GRU` nodes, so the
// benchmark needs neither Python nor the `onnx` package to build
// onnxruntime-web's model. Field numbers are from
// onnx/onnx.proto (IR version 8).
//
// Repeated scalars are written unpacked (one tag per element): proto2 and
// proto3 parsers both accept that form, so the output does not depend on
// which syntax the reader was generated from.

const VARINT = 0;
const LEN = 2;

// onnx.TensorProto.DataType
const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;

// onnx.AttributeProto.AttributeType
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

const utf8 = new TextEncoder();

/** Accumulates one protobuf message as byte chunks. */
class Message {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  push(bytes) {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  varint(value) {
    // Values here are dims, enum codes and lengths: non-negative and < 2^53,
    // so plain arithmetic (not bit ops, which would truncate to 32 bits) is exact.
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`onnx: bad varint ${value}`);
    const out = [];
    while (value >= 0x80) {
      out.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    out.push(value);
    this.push(Uint8Array.from(out));
  }

  tag(field, wire) {
    this.varint(field * 8 + wire);
  }

  int(field, value) {
    this.tag(field, VARINT);
    this.varint(value);
  }

  bytes(field, data) {
    this.tag(field, LEN);
    this.varint(data.length);
    this.push(data);
  }

  string(field, text) {
    this.bytes(field, utf8.encode(text));
  }

  message(field, msg) {
    this.bytes(field, msg.finish());
  }

  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** TensorProto with raw little-endian data (the only encoding that needs no per-element tags). */
function tensor(name, dims, dataType, raw) {
  const m = new Message();
  for (const d of dims) m.int(1, d);
  m.int(2, dataType);
  m.string(8, name);
  m.bytes(9, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  return m;
}

function floatTensor(name, dims, data) {
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new RangeError(`onnx: ${name} size mismatch`);
  return tensor(name, dims, FLOAT, Float32Array.from(data));
}

function int64Tensor(name, values) {
  return tensor(name, [values.length], INT64, BigInt64Array.from(values.map(BigInt)));
}

function attribute(name, type, fill) {
  const m = new Message();
  m.string(1, name);
  m.int(20, type);
  fill(m);
  return m;
}

const attrInt = (name, v) => attribute(name, ATTR_INT, (m) => m.int(3, v));
const attrString = (name, s) => attribute(name, ATTR_STRING, (m) => m.string(4, s));
const attrInts = (name, vs) => attribute(name, ATTR_INTS, (m) => vs.forEach((v) => m.int(8, v)));
const attrStrings = (name, ss) => attribute(name, ATTR_STRINGS, (m) => ss.forEach((s) => m.string(9, s)));

function node(opType, inputs, outputs, attributes = [], name = outputs[0]) {
  const m = new Message();
  for (const i of inputs) m.string(1, i);
  for (const o of outputs) m.string(2, o);
  m.string(3, name);
  m.string(4, opType);
  for (const a of attributes) m.message(5, a);
  return m;
}

/** ValueInfoProto for a tensor with fixed dims. */
function valueInfo(name, elemType, dims) {
  const shape = new Message();
  for (const d of dims) {
    const dim = new Message();
    dim.int(1, d);
    shape.message(1, dim);
  }
  const tensorType = new Message();
  tensorType.int(1, elemType);
  tensorType.message(2, shape);
  const type = new Message();
  type.message(1, tensorType);
  const m = new Message();
  m.string(1, name);
  m.message(2, type);
  return m;
}

// ONNX's gate blocks in terms of PyTorch's: LSTM iofc from PyTorch's ifgo,
// GRU zrh from PyTorch's rzn (onnx/docs/Operators.md, LSTM and GRU).
const GATE_ORDER = { rnn: [0], lstm: [0, 3, 1, 2], gru: [1, 0, 2] };

/** PyTorch's [G·H, cols] weight (or [G·H] bias) with its H-row gate blocks in ONNX's order. */
function onnxGates(data, order, blockSize) {
  const out = new Float32Array(data.length);
  order.forEach((from, to) => out.set(data.subarray(from * blockSize, (from + 1) * blockSize), to * blockSize));
  return out;
}

/**
 * torch.nn.RNN, LSTM or GRU (time-major, bias=True, no projection) as an ONNX
 * model, the way torch.onnx.export lowers them: one `RNN`/`LSTM`/`GRU` node per
 * layer, then Transpose [T, D, B, H] → [T, B, D, H] and Reshape to [T, B, D·H]
 * to feed the next layer. GRU gets linear_before_reset = 1, PyTorch's
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
 *
 * @param spec {mode ("rnn" when absent), input, hidden, layers, bidirectional, nonlinearity, batch, seq}
 * @param stateDict PyTorch-named parameters: {name: {data: Float32Array}}
 * @param withLengths adds an int32 graph input `lengths` [B] wired to every
 *   node's `sequence_lens`, ONNX's counterpart of a packed batch.
 * @returns the serialized ModelProto bytes; graph input `x` [T, B, I], output `y` [T, B, D·H].
 */
export function recurrentModel(spec, stateDict, withLengths = false) {
  const mode = spec.mode ?? "rnn";
  if (spec.proj) throw new RangeError("onnx: the LSTM operator has no projection (proj_size)");
  const { input: I, hidden: H, layers: L, batch: B, seq: T } = spec;
  const D = spec.bidirectional ? 2 : 1;
  const order = GATE_ORDER[mode];
  const G = order.length;
  const graph = new Message();
  const nodes = [];
  const initializers = [];
  let x = "x";
  for (let l = 0; l < L; l++) {
    const inputs = l === 0 ? I : D * H;
    const suffixes = D === 2 ? [`_l${l}`, `_l${l}_reverse`] : [`_l${l}`];
    // ONNX stacks the directions on a leading axis; within a direction W, R
    // and [Wb, Rb] have PyTorch's row-major layout, only the gate blocks move.
    const W = new Float32Array(D * G * H * inputs);
    const R = new Float32Array(D * G * H * H);
    const Bias = new Float32Array(D * 2 * G * H);
    suffixes.forEach((s, d) => {
      W.set(onnxGates(stateDict[`weight_ih${s}`].data, order, H * inputs), d * G * H * inputs);
      R.set(onnxGates(stateDict[`weight_hh${s}`].data, order, H * H), d * G * H * H);
      Bias.set(onnxGates(stateDict[`bias_ih${s}`].data, order, H), d * 2 * G * H);
      Bias.set(onnxGates(stateDict[`bias_hh${s}`].data, order, H), d * 2 * G * H + G * H);
    });
    initializers.push(floatTensor(`W${l}`, [D, G * H, inputs], W));
    initializers.push(floatTensor(`R${l}`, [D, G * H, H], R));
    initializers.push(floatTensor(`B${l}`, [D, 2 * G * H], Bias));
    const attributes = [attrInt("hidden_size", H), attrString("direction", D === 2 ? "bidirectional" : "forward")];
    if (mode === "rnn") {
      attributes.push(attrStrings("activations", new Array(D).fill(spec.nonlinearity === "relu" ? "Relu" : "Tanh")));
    }
    if (mode === "gru") attributes.push(attrInt("linear_before_reset", 1));
    const y = `Y${l}`;
    nodes.push(node(mode.toUpperCase(), [x, `W${l}`, `R${l}`, `B${l}`, withLengths ? "lengths" : ""], [y], attributes));
    const transposed = `Yt${l}`;
    const out = l === L - 1 ? "y" : `X${l + 1}`;
    nodes.push(node("Transpose", [y], [transposed], [attrInts("perm", [0, 2, 1, 3])]));
    // Reshape's 0 copies the dimension, so the same shape constant works for any T and B.
    nodes.push(node("Reshape", [transposed, "merge_dirs"], [out]));
    x = out;
  }
  initializers.push(int64Tensor("merge_dirs", [0, 0, -1]));

  for (const n of nodes) graph.message(1, n);
  graph.string(2, `torch_nn_${mode}`);
  for (const t of initializers) graph.message(5, t);
  graph.message(11, valueInfo("x", FLOAT, [T, B, I]));
  if (withLengths) graph.message(11, valueInfo("lengths", INT32, [B]));
  graph.message(12, valueInfo("y", FLOAT, [T, B, D * H]));

  const opset = new Message();
  opset.string(1, "");
  opset.int(2, 14);
  const model = new Message();
  model.int(1, 8); // ir_version
  model.string(2, "wasm-rnn-bench");
  model.message(7, graph);
  model.message(8, opset);
  return model.finish();
}
