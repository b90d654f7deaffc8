// The zip container of torch.save files (PyTorch >= 1.6), read by a small reader of stored entries
// (PKWARE's APPNOTE.TXT: end of central directory record, its ZIP64 form, central and local file
// headers) and guarded against zip bombs: torch.save stores every entry uncompressed, so a
// compressed entry is refused and nothing is ever inflated; the entry count and sizes are capped,
// and overlapping entries cannot be read over and over.

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
// A state dict has one entry per storage plus a few: 65536 is far above any real model (large
// language models have a few thousand tensors) and keeps a forged directory cheap to list.
const MAX_ENTRIES = 65536;

// Record signatures ("PK" and two bytes) read as little-endian 32-bit numbers, and the fixed sizes.
const END = 0x06054b50; // end of central directory record, 22 bytes and a comment
const ZIP64_LOCATOR = 0x07064b50; // 20 bytes, just before the end record
const ZIP64_END = 0x06064b50; // 56 bytes and an extensible data sector
const CENTRAL = 0x02014b50; // central directory file header, 46 bytes, then name, extra field, comment
const LOCAL = 0x04034b50; // local file header, 30 bytes, then name and extra field, then the data
const ZIP64_EXTRA = 0x0001; // the extra field holding the 64-bit sizes and offset of an entry
const IN_ZIP64 = 0xffffffff; // a 32-bit size or offset saying the real value is in the ZIP64 extra field

/** What the central directory says of an entry. */
export interface ZipEntry {
  readonly name: string;
  /** 0 when stored; 8 is deflate. */
  readonly compression: number;
  readonly encrypted: boolean;
  /** Bytes in the file. */
  readonly size: number;
  /** Bytes once decompressed. */
  readonly originalSize: number;
  /** Where its local file header starts. */
  readonly offset: number;
}

const invalid = (why: string) => new Error(`torch: cannot read the zip archive: invalid zip data: ${why}`);

/**
 * The entries of a zip file. Listing reads only the central directory; `read` copies the named
 * entries out. Every record is checked to lie within the file (sizes and offsets are Numbers up to
 * 2^53, never wrapped), so a forged directory cannot be read past the end as zeros. Protection
 * against zip bombs: only stored (uncompressed) entries are accepted, as torch.save writes them, so
 * nothing is ever inflated; their number and sizes are capped; and the entries read from one file
 * may not add up to more bytes than the file has — so entries that overlap in the file (the usual
 * way to multiply a small file) cannot be read over and over.
 */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private compressedBytesRead = 0;
  private readonly view: DataView;

  constructor(private readonly file: Uint8Array) {
    this.view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const { count, start, end } = this.centralDirectory();
    if (count > MAX_ENTRIES) {
      throw new RangeError(
        `torch: the zip holds more than ${MAX_ENTRIES} entries; a torch.save file has one per storage`,
      );
    }
    const decoder = new TextDecoder();
    let at = start;
    for (let i = 0; i < count; i++) {
      if (at + 46 > end || this.u32(at) !== CENTRAL) {
        throw invalid(
          `the central directory holds fewer than the ${count} entries it declares (entry ${i} is missing)`,
        );
      }
      const nameEnd = at + 46 + this.u16(at + 28);
      const extraEnd = nameEnd + this.u16(at + 30);
      const next = extraEnd + this.u16(at + 32);
      if (next > end) throw invalid(`central directory entry ${i} runs past the end of the directory`);
      const name = decoder.decode(file.subarray(at + 46, nameEnd));
      // ZIP64 extended information (APPNOTE 4.5.3): 64-bit values, in this order, for each 32-bit
      // field set to 0xFFFFFFFF.
      const zip64 = this.extraField(nameEnd, extraEnd, ZIP64_EXTRA);
      const wide = (value: number) => {
        if (value !== IN_ZIP64) return value;
        if (zip64.at + 8 > zip64.end) throw invalid(`zip entry '${name}' lacks the ZIP64 sizes its header refers to`);
        zip64.at += 8;
        return this.u64(zip64.at - 8);
      };
      const originalSize = wide(this.u32(at + 24));
      const size = wide(this.u32(at + 20));
      const offset = wide(this.u32(at + 42));
      if (this.entries.has(name)) throw new Error(`torch: the zip holds two entries named '${name}'`);
      this.entries.set(
        name,
        checkEntrySizes({
          name,
          compression: this.u16(at + 10),
          encrypted: this.u16(at + 8) % 2 === 1,
          size,
          originalSize,
          offset,
        }),
      );
      at = next;
    }
  }

  /** The contents of the named entries (which must exist), copied out of the file. */
  read(names: string[]): Map<string, Uint8Array> {
    const wanted = new Set(names);
    for (const name of wanted) this.compressedBytesRead += this.entries.get(name)!.size;
    if (this.compressedBytesRead > this.file.length) {
      throw new Error(
        `torch: the zip entries read add up to ${this.compressedBytesRead} bytes, more than the ${this.file.length}-byte ` +
          "file: entries overlap (a zip bomb?)",
      );
    }
    const out = new Map<string, Uint8Array>();
    for (const name of wanted) {
      const { offset, originalSize } = this.entries.get(name)!;
      // The data follows the local header's own name and extra field, which may differ from the
      // central directory's: PyTorch pads the local extra field to align storages on 64 bytes.
      const local = offset + 30 <= this.file.length && this.u32(offset) === LOCAL;
      const start = local ? offset + 30 + this.u16(offset + 26) + this.u16(offset + 28) : this.file.length;
      const available = Math.max(0, Math.min(originalSize, this.file.length - start));
      if (available !== originalSize) {
        throw new Error(
          `torch: zip entry '${name}' declares ${originalSize} bytes but ${available} could be read: the file is truncated or corrupt`,
        );
      }
      out.set(name, this.file.slice(start, start + originalSize));
    }
    return out;
  }

  /**
   * Where the central directory lies and how many entries it declares: from the end record, found by
   * searching backwards over its 22 bytes and a comment of up to 65535, or from the ZIP64 end record
   * its locator points at (miniz, which torch.save uses, writes one for large or many-entry archives).
   */
  private centralDirectory(): { count: number; start: number; end: number } {
    const { file } = this;
    const lowest = Math.max(0, file.length - 22 - 65535);
    let record = file.length - 22;
    while (record >= lowest && this.u32(record) !== END) record--;
    if (record < lowest) throw invalid("no end of central directory record");
    let count = this.u16(record + 10);
    let size = this.u32(record + 12);
    let start = this.u32(record + 16);
    if (record >= 20 && this.u32(record - 20) === ZIP64_LOCATOR) {
      const zip64 = this.u64(record - 12);
      if (zip64 + 56 > file.length || this.u32(zip64) !== ZIP64_END) {
        throw invalid(`no ZIP64 end of central directory record at byte ${zip64}, where its locator points`);
      }
      count = this.u64(zip64 + 32);
      size = this.u64(zip64 + 40);
      start = this.u64(zip64 + 48);
    }
    if (start + size > file.length) {
      throw invalid(`the central directory (${size} bytes at byte ${start}) ends past the ${file.length}-byte file`);
    }
    return { count, start, end: start + size };
  }

  /** The bounds of the data of the extra field `id` within [at, end), or an empty range. */
  private extraField(at: number, end: number, id: number): { at: number; end: number } {
    while (at + 4 <= end) {
      const dataEnd = at + 4 + this.u16(at + 2);
      if (dataEnd > end) break;
      if (this.u16(at) === id) return { at: at + 4, end: dataEnd };
      at = dataEnd;
    }
    return { at: end, end };
  }

  private u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  /** A 64-bit field as a Number: exact up to 2^53, far beyond any file this reads. */
  private u64(at: number): number {
    return this.u32(at) + this.u32(at + 4) * 2 ** 32;
  }
}

function checkEntrySizes(entry: ZipEntry): ZipEntry {
  const { name, compression, size, originalSize } = entry;
  if (originalSize > MAX_ENTRY_BYTES) {
    throw new Error(
      `torch: zip entry '${name}' declares ${originalSize} bytes, above the ${MAX_ENTRY_BYTES}-byte limit`,
    );
  }
  if (compression !== 0) {
    const method = compression === 8 ? "8 (deflate)" : String(compression);
    throw new RangeError(
      `torch: zip entry '${name}' is compressed (method ${method}); torch.save stores every entry uncompressed ` +
        "(method 0), so a compressed archive is refused rather than inflated (a zip bomb?): load and re-save it with torch.save",
    );
  }
  if (entry.encrypted) throw new Error(`torch: zip entry '${name}' is encrypted; torch.save never encrypts`);
  if (size !== originalSize) {
    throw new Error(
      `torch: stored zip entry '${name}' declares ${size} bytes in the file but ${originalSize} uncompressed`,
    );
  }
  return entry;
}
