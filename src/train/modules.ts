// The modules an optimizer or clipGradNorm works on, read once: one Module or
// a list of them, each at most once, all alive.

import { describe } from "../core/describe.js";
import { Module, type TrainableParameter } from "../modules/module.js";

/** One module or a list of them, as `new SGD()`, `new Adam()` and `clipGradNorm` take them. */
export type Modules = Module | readonly Module[];

/**
 * The modules as a fresh array.
 * @param allowEmpty false for optimizers (PyTorch: "optimizer got an empty parameter list").
 * @throws TypeError for anything but a Module or an array of Modules; RangeError for a repeated
 *   module or an empty list where one is not allowed; a disposed module's own Error.
 */
export function readModules(what: string, modules: unknown, allowEmpty: boolean): Module[] {
  const list: unknown[] = Array.isArray(modules) ? Array.prototype.slice.call(modules) : [modules];
  list.forEach((m, i) => {
    if (!(m instanceof Module)) {
      const where = Array.isArray(modules) ? `modules[${i}]` : "modules";
      throw new TypeError(`${what}: Expected ${where} to be a Module (or an array of Modules), got ${describe(m)}`);
    }
    if (list.indexOf(m) !== i) {
      throw new RangeError(`${what}: modules[${i}] is the same module as modules[${list.indexOf(m)}]; list each once`);
    }
  });
  if (list.length === 0 && !allowEmpty) throw new RangeError(`${what}: optimizer got an empty parameter list`);
  const checked = list as Module[];
  parametersOf(checked);
  return checked;
}

/**
 * Every module's parameters, taken afresh (loadStateDict replaces the arrays). A disposed module
 * throws its own error here, before the caller has changed anything.
 */
export function parametersOf(modules: readonly Module[]): TrainableParameter[][] {
  return modules.map((m) => m.trainableParameters());
}
