// The zip container of torch.save files (PyTorch >= 1.6), read with fflate and guarded against
// zip bombs: entry sizes are capped and checked against their compression, and overlapping entries
// cannot be read over and over.

import { unzipSync, type UnzipFileInfo } from "fflate";
import { describe } from "../../core/describe.js";

const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04]; // "PK\3\4", a local file header
const PICKLE_PROTO = 0x80;

export function checkSignature(file: Uint8Array): void {
  if (ZIP_SIGNATURE.every((byte, i) => file[i] === byte)) return;
  if (file[0] === PICKLE_PROTO) {
    // Before 1.6, torch.save wrote a bare pickle stream (it starts with a magic-number pickle).
    throw new Error(
      "torch: legacy torch.save format is not supported, re-save with " +
        "torch.save(..., _use_new_zipfile_serialization=True)",
    );
  }
  const head = Array.from(file.subarray(0, 4), (b) => `0x${b.toString(16).padStart(2, "0")}`).join(" ");
  throw new Error(
    `torch: not a torch.save file: expected a zip archive starting with 50 4b 03 04 ('PK'), got ${head || "an empty file"}`,
  );
}

/** The top-level folder of the archive: "archive" since PyTorch 2, the file's base name before. */
export function archivePrefix(archive: ZipArchive): string {
  const pickles = [...archive.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw new Error(
      `torch: expected exactly one '<archive>/data.pkl' in the zip, found ${pickles.length === 0 ? "none" : pickles.join(", ")}`,
    );
  }
  return pickles[0].slice(0, -"/data.pkl".length);
}

/** PyTorch >= 2.1 records the byte order of the storages; older files are little-endian. */
export function checkByteOrder(archive: ZipArchive, prefix: string): void {
  const name = `${prefix}/byteorder`;
  if (!archive.entries.has(name)) return;
  const order = new TextDecoder().decode(archive.read([name]).get(name)!).trim();
  if (order !== "little") {
    throw new Error(`torch: the storages are stored ${describe(order)}-endian; only little-endian files are supported`);
  }
}

// Typed arrays stop at 4 GiB in the engines that matter; a larger entry cannot be a usable storage.
const MAX_ENTRY_BYTES = 4 * 2 ** 30;
// Deflate emits at most 258 bytes per 2 bits of input: a larger claimed ratio is a lie.
const MAX_DEFLATE_RATIO = 1032;

/**
 * The entries of a zip file, read with fflate. Listing reads only the central directory; `read`
 * extracts the named entries and checks they came out as long as declared. Protection against zip
 * bombs: per-entry sizes are capped and must be consistent with their compression, and the entries
 * read from one file may not add up to more compressed bytes than the file has — so entries that
 * overlap in the file (the usual way to multiply a small file) cannot be read over and over.
 */
export class ZipArchive {
  readonly entries = new Map<string, UnzipFileInfo>();
  private compressedBytesRead = 0;

  constructor(private readonly file: Uint8Array) {
    this.unzip((entry) => {
      // Also what stops a directory that claims millions of entries: fflate reads records past the
      // end of the file as zeros, and the second nameless one is a duplicate.
      if (this.entries.has(entry.name)) throw new Error(`torch: the zip holds two entries named '${entry.name}'`);
      this.entries.set(entry.name, checkEntrySizes(entry));
      return false;
    });
  }

  /** The contents of the named entries (which must exist). */
  read(names: string[]): Map<string, Uint8Array> {
    const wanted = new Set(names);
    for (const name of wanted) this.compressedBytesRead += this.entries.get(name)!.size;
    if (this.compressedBytesRead > this.file.length) {
      throw new Error(
        `torch: the zip entries read add up to ${this.compressedBytesRead} bytes, more than the ${this.file.length}-byte ` +
          "file: entries overlap (a zip bomb?)",
      );
    }
    const files = this.unzip((entry) => wanted.has(entry.name));
    const out = new Map<string, Uint8Array>();
    for (const name of wanted) {
      const data = Object.hasOwn(files, name) ? files[name] : new Uint8Array(0);
      const declared = this.entries.get(name)!.originalSize;
      if (data.length !== declared) {
        throw new Error(
          `torch: zip entry '${name}' declares ${declared} bytes but ${data.length} could be read: the file is truncated or corrupt`,
        );
      }
      out.set(name, data);
    }
    return out;
  }

  /** fflate's unzipSync, with its errors (and those thrown by `filter`) as clear Errors. */
  private unzip(filter: (entry: UnzipFileInfo) => boolean): Record<string, Uint8Array> {
    let refusal: unknown;
    try {
      return unzipSync(this.file, {
        filter: (entry) => {
          try {
            return filter(entry);
          } catch (error) {
            refusal = error;
            throw error;
          }
        },
      });
    } catch (error) {
      if (refusal !== undefined) throw refusal;
      throw new Error(`torch: cannot read the zip archive: ${(error as Error).message}`, { cause: error });
    }
  }
}

function checkEntrySizes(entry: UnzipFileInfo): UnzipFileInfo {
  const { name, compression, size, originalSize } = entry;
  if (originalSize > MAX_ENTRY_BYTES) {
    throw new Error(
      `torch: zip entry '${name}' declares ${originalSize} bytes, above the ${MAX_ENTRY_BYTES}-byte limit`,
    );
  }
  if (compression === 0 && size !== originalSize) {
    throw new Error(
      `torch: stored zip entry '${name}' declares ${size} bytes in the file but ${originalSize} uncompressed`,
    );
  }
  if (compression === 8 && originalSize > size * MAX_DEFLATE_RATIO) {
    throw new Error(
      `torch: zip entry '${name}' claims ${originalSize} bytes from ${size} deflated ones, more than deflate can produce ` +
        "(a zip bomb?)",
    );
  }
  if (compression !== 0 && compression !== 8) {
    throw new Error(
      `torch: zip entry '${name}' uses compression method ${compression}; expected 0 (stored) or 8 (deflate)`,
    );
  }
  return entry;
}
