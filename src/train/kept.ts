// What a module's last forward kept for its backward, and the errors of a
// backward that has nothing (valid) to use: no forward yet, an eval-mode
// forward, a second backward for one forward, or parameters changed since.

type Status = "none" | "eval" | "kept" | "used";

export class KeptForward<T> {
  private value: T | null = null;
  private status: Status = "none";
  private version = 0;

  constructor(private readonly typeName: string) {}

  /** Forgets the previous forward: a new one is about to overwrite what it kept. */
  clear(): void {
    this.value = null;
    this.status = "none";
  }

  /** Records a finished forward: what it kept in train mode, or that an eval-mode forward kept nothing. */
  record(training: boolean, value: T, parametersVersion: number): void {
    this.value = training ? value : null;
    this.status = training ? "kept" : "eval";
    this.version = parametersVersion;
  }

  /**
   * What the last forward kept, still kept (call `consume()` once the backward is sure to run).
   * @throws Error saying why there is nothing to backpropagate through.
   */
  get(parametersVersion: number): T {
    const name = `${this.typeName}.backward`;
    if (this.status === "none") {
      throw new Error(`${name}: there is no forward to backpropagate through; call forward (in train mode) first`);
    }
    if (this.status === "eval") {
      throw new Error(
        `${name}: the last forward ran in eval mode, which keeps nothing for backward; call train() before forward`,
      );
    }
    if (this.status === "used" || this.value === null) {
      throw new Error(`${name}: backward was already called for the last forward; run forward again`);
    }
    if (this.version !== parametersVersion) {
      throw new Error(
        `${name}: the parameters changed since the forward (an optimizer step or loadStateDict); run forward again`,
      );
    }
    return this.value;
  }

  /** Marks the kept forward as used by its one backward. */
  consume(): void {
    this.value = null;
    this.status = "used";
  }
}

/**
 * A backward's gradOutput must have the shape of the forward's output.
 * @throws RangeError "Expected gradOutput of shape (5, 3, 20), got (5, 3, 21)".
 */
export function checkGradOutputShape(typeName: string, actual: readonly number[], expected: readonly number[]): void {
  if (actual.length !== expected.length || actual.some((s, i) => s !== expected[i])) {
    const format = (shape: readonly number[]): string => `(${shape.join(", ")})`;
    throw new RangeError(
      `${typeName}.backward: Expected gradOutput of shape ${format(expected)}, got ${format(actual)}`,
    );
  }
}
