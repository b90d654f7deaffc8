// Command-line parsing shared by the demos' Node scripts (generate.mjs and
// ../char-train/train.mjs, check.mjs): node:util's parseArgs plus --help, and
// flags checked into numbers, with the usage text on any mistake.
import { parseArgs } from "node:util";

/**
 * Parses process.argv by `options` (parseArgs's) plus --help, which prints
 * `help` and exits 0. `read(values, number, positionals)` turns the strings into
 * the script's options; `number(name, ok)` is the flag's value as a number, or a
 * RangeError naming the flag when `ok` refuses it. Any error is printed with
 * `help`, and the process exits 2.
 */
export function commandLine(help, options, read, { allowPositionals = false } = {}) {
  try {
    const { values, positionals } = parseArgs({
      options: { ...options, help: { type: "boolean", default: false } },
      allowPositionals,
    });
    if (values.help) {
      console.log(help);
      process.exit(0);
    }
    const number = (name, ok) => {
      const n = Number(values[name]);
      if (values[name] === undefined || !ok(n)) throw new RangeError(`--${name}: got ${JSON.stringify(values[name])}`);
      return n;
    };
    return read(values, number, positionals);
  } catch (error) {
    console.error(`${error.message}\n\n${help}`);
    process.exit(2);
  }
}
