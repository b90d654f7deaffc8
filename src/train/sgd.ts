import type { Module } from "../modules/module.js";
import {
  checkLearningRate,
  Optimizer,
  readFlag,
  readNonNegative,
  readNumber,
  readOptimizerOptions,
} from "./optimizer.js";

/** Options of `new SGD()`: torch.optim.SGD's arguments in camelCase. */
export interface SGDOptions {
  /** Learning rate (required, ≥ 0). */
  lr: number;
  /** Momentum factor, ≥ 0; default 0 (none). */
  momentum?: number;
  /** Dampening of the momentum; default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient, ≥ 0; default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0); default false. */
  nesterov?: boolean;
}

/**
 * `torch.optim.SGD` (1.13, single-tensor): d = g + weightDecay·p; with momentum,
 * buf = d on the first step, then buf = momentum·buf + (1 − dampening)·d, and
 * d = buf (or d + momentum·buf with Nesterov); p −= lr·d.
 */
export class SGD extends Optimizer<Float32Array | null> {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  /**
   * @throws TypeError for a missing lr, an unknown option or a wrong type; RangeError with
   *   PyTorch's message for a negative lr / momentum / weightDecay, or Nesterov without momentum
   *   or with dampening.
   */
  constructor(modules: Module | readonly Module[], options: SGDOptions) {
    const name = "SGD";
    const o = readOptimizerOptions(
      name,
      options,
      ["lr", "momentum", "dampening", "weightDecay", "nesterov"],
      "{ lr: 0.1 }",
    );
    if (o.lr === undefined) throw new TypeError("SGD: lr is required, e.g. new SGD(model, { lr: 0.1 })");
    const lr = checkLearningRate(name, o.lr);
    const momentum = readNonNegative(name, o, "momentum", 0, "momentum value");
    const dampening = readNumber(name, o, "dampening", 0);
    if (!Number.isFinite(dampening)) throw new RangeError(`SGD: Invalid dampening value: ${dampening}`);
    const weightDecay = readNonNegative(name, o, "weightDecay", 0, "weight_decay value");
    const nesterov = readFlag(o, "nesterov");
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new RangeError("SGD: Nesterov momentum requires a momentum and zero dampening");
    }
    super(name, modules, lr);
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  /** The momentum buffer does not exist before the first step (PyTorch's `None`). */
  protected initialState(): Float32Array | null {
    return null;
  }

  protected update(value: Float32Array, grad: Float32Array, state: Float32Array | null): Float32Array | null {
    const { lr, momentum, weightDecay, nesterov } = this;
    const keep = 1 - this.dampening;
    const first = state === null && momentum !== 0;
    const buf = first ? new Float32Array(value.length) : state;
    for (let i = 0; i < value.length; i++) {
      let d = grad[i] + weightDecay * value[i];
      if (buf !== null) {
        // The first step's buffer is a clone of d (no dampening), as in PyTorch.
        buf[i] = first ? d : momentum * buf[i] + keep * d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      value[i] -= lr * d;
    }
    return buf;
  }
}
