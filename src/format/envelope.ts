import { FerryError } from "../errors.js";
import { ENVELOPE_MAGIC, FORMAT_VERSION } from "./constants.js";

/** Largest body an envelope may carry; anything larger is refused as corrupt input. */
export const MAX_ENVELOPE_BODY = 64 << 20;
const HEAD = 16;
const SIG = 64;

/** A decoded envelope: its kind, parsed JSON body, and the bytes the signature covers. */
export interface Envelope<T> {
  kind: number;
  version: number;
  body: T;
  signed: Buffer;
  signature: Buffer;
}

/**
 * Frames a JSON body as `MAGIC(8) || VERSION u16 || KIND u16 || LEN u32 || BODY || SIG(64)`
 * (little-endian). `sign` receives every byte before SIG.
 *
 * @example
 * const bytes = encodeEnvelope(KIND_LABEL, { set: "ab" }, (m) => sign(secret, m));
 */
export function encodeEnvelope(kind: number, body: unknown, sign: (msg: Buffer) => Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(body), "utf8");
  const head = Buffer.alloc(HEAD);
  ENVELOPE_MAGIC.copy(head, 0);
  head.writeUInt16LE(FORMAT_VERSION, 8);
  head.writeUInt16LE(kind, 10);
  head.writeUInt32LE(json.length, 12);
  const signed = Buffer.concat([head, json]);
  const sig = sign(signed);
  if (sig.length !== SIG) throw new FerryError("E_INTERNAL", "signature must be 64 bytes");
  return Buffer.concat([signed, sig]);
}

/**
 * Parses an envelope without checking its signature (the caller does, with the right key).
 * Throws E_FORMAT_VERSION on an unknown version and E_CORRUPT on anything malformed
 * (including a wrong magic).
 *
 * @example
 * const env = decodeEnvelope<LabelBody>(bytes, KIND_LABEL, "drive /mnt/a LABEL");
 */
export function decodeEnvelope<T>(bytes: Buffer, kind: number, what: string): Envelope<T> {
  if (bytes.length < HEAD + SIG || !bytes.subarray(0, 8).equals(ENVELOPE_MAGIC)) {
    throw new FerryError("E_CORRUPT", `${what} is not a ferry envelope (bad magic or too short)`, {
      hint: "The file is damaged or not written by ferry",
    });
  }
  const version = bytes.readUInt16LE(8);
  if (version !== FORMAT_VERSION) {
    throw new FerryError(
      "E_FORMAT_VERSION",
      `${what} uses format version ${version}; this ferry reads ${FORMAT_VERSION}`,
      {
        hint: "Use a ferry release that supports this format version",
      },
    );
  }
  const k = bytes.readUInt16LE(10);
  if (k !== kind) throw new FerryError("E_CORRUPT", `${what} has envelope kind ${k}, expected ${kind}`);
  const len = bytes.readUInt32LE(12);
  if (len > MAX_ENVELOPE_BODY || HEAD + len + SIG !== bytes.length) {
    throw new FerryError("E_CORRUPT", `${what} is truncated or has trailing bytes`, {
      hint: "The file is damaged; other drives of the set carry copies",
    });
  }
  let body: T;
  try {
    body = JSON.parse(bytes.toString("utf8", HEAD, HEAD + len)) as T;
  } catch {
    throw new FerryError("E_CORRUPT", `${what} body is not valid JSON`);
  }
  if (typeof body !== "object" || body === null)
    throw new FerryError("E_CORRUPT", `${what} body is not an object`);
  return {
    kind,
    version,
    body,
    signed: bytes.subarray(0, HEAD + len),
    signature: bytes.subarray(HEAD + len),
  };
}
