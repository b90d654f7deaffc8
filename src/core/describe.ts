/** A short, human description of a value for error messages ("Float64Array", "'abc'", "3.5"). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  // The tag survives minification (typed arrays, built-ins and this package's classes have one);
  // other classes are named by their constructor.
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  if (tag !== "Object") return tag;
  const name = (value as object).constructor?.name;
  return name && name !== "Object" ? name : "an object";
}

/** Formats a shape the way PyTorch prints sizes: [2, 3, 4]. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
