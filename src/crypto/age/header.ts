/**
 * The textual age v1 header: strict parsing of untrusted input and canonical serialization.
 *
 *     header   = "age-encryption.org/v1" LF 1*stanza "--- " 43base64char LF
 *     stanza   = "-> " argument *(SP argument) LF *(64base64char LF) *63base64char LF
 *     argument = 1*VCHAR
 *
 * Parse errors are FerryError E_CORRUPT. Sizes are bounded so a hostile file cannot make us
 * allocate or loop without limit.
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { FerryError } from "../../errors.js";
import { isBase64Char, rawBase64Decode, rawBase64Encode } from "./base64.js";

/** One recipient stanza: its arguments (the first is the type) and its decoded body. */
export interface Stanza {
  args: string[];
  body: Buffer;
}

/** A parsed header: stanzas, the MAC, and the exact bytes the MAC covers. */
export interface ParsedHeader {
  stanzas: Stanza[];
  /** 32-byte HMAC-SHA-256 from the `---` line. */
  mac: Buffer;
  /** Header bytes from the start up to and including the `---` of the MAC line. */
  macInput: Buffer;
  /** Offset of the first payload byte (just past the MAC line's LF). */
  payloadOffset: number;
}

export const AGE_VERSION_LINE = "age-encryption.org/v1";
const VERSION_PREFIX = "age-encryption.org/";

/** Largest header accepted (bytes up to and including the MAC line). */
export const MAX_HEADER_BYTES = 1 << 20;
/** Most stanzas accepted in one header. */
export const MAX_STANZAS = 4096;
/** Most arguments accepted on one stanza line. */
export const MAX_STANZA_ARGS = 64;
/** Largest decoded stanza body accepted. */
export const MAX_STANZA_BODY = 1 << 16;

const LF = 0x0a;
const ARMOR_BEGIN = Buffer.from("-----BEGIN AGE ENCRYPTED FILE-----", "latin1");

function corrupt(message: string): FerryError {
  return new FerryError("E_CORRUPT", message, {
    hint: "The age file is damaged or not an age v1 file; use another copy",
  });
}

/**
 * The header MAC key: HKDF-SHA-256(ikm = file key, salt = empty, info = "header").
 *
 * @example
 * const macKey = headerMacKey(fileKey); // 32 bytes
 */
export function headerMacKey(fileKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", fileKey, Buffer.alloc(0), "header", 32));
}

/**
 * HMAC-SHA-256 under the header MAC key over `macInput`.
 *
 * @example
 * const mac = headerMac(fileKey, Buffer.from("age-encryption.org/v1\n-> X25519 …\n---"));
 */
export function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  return createHmac("sha256", headerMacKey(fileKey)).update(macInput).digest();
}

/**
 * Constant-time check of a parsed header's MAC against `fileKey`.
 *
 * @example
 * if (!verifyHeaderMac(fileKey, parseHeader(file))) throw new Error("header modified");
 */
export function verifyHeaderMac(fileKey: Uint8Array, header: ParsedHeader): boolean {
  const want = headerMac(fileKey, header.macInput);
  return want.length === header.mac.length && timingSafeEqual(want, header.mac);
}

/**
 * Parses and validates the header at the start of `file`. Throws E_CORRUPT for anything that is
 * not a well-formed age v1 header (stanza contents are checked later, by type).
 *
 * @example
 * const { stanzas, payloadOffset } = parseHeader(file);
 * stanzas[0].args; // ["X25519", "<base64 share>"]
 */
export function parseHeader(file: Uint8Array): ParsedHeader {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  let pos = 0;

  /** Next line without its LF, as latin1 (every valid header byte is ASCII). */
  const nextLine = (what: string): string => {
    const limit = Math.min(buf.length, MAX_HEADER_BYTES);
    const end = buf.indexOf(LF, pos);
    if (end < 0 || end >= limit) {
      if (end < 0 && buf.length < MAX_HEADER_BYTES) throw corrupt(`age header ends before its ${what}`);
      throw corrupt(`age header is larger than ${MAX_HEADER_BYTES} bytes`);
    }
    const line = buf.toString("latin1", pos, end);
    pos = end + 1;
    return line;
  };

  if (buf.subarray(0, ARMOR_BEGIN.length).equals(ARMOR_BEGIN)) {
    throw new FerryError("E_CORRUPT", "ASCII-armored age files are not supported", {
      hint: "Re-encrypt without -a/--armor, or base64-decode the lines between the BEGIN and END markers",
    });
  }
  const version = nextLine("version line");
  if (version !== AGE_VERSION_LINE) {
    if (version === `${AGE_VERSION_LINE}\r`) {
      throw new FerryError("E_CORRUPT", "age header lines end in CRLF; the file was converted as text", {
        hint: "Copy the file in binary mode (no line-ending conversion) and try again",
      });
    }
    if (version.startsWith(VERSION_PREFIX)) {
      throw new FerryError("E_CORRUPT", `Unsupported age format version "${printable(version)}"`, {
        hint: "Only age-encryption.org/v1 files can be read; upgrade ferry if a newer version exists",
      });
    }
    throw corrupt("Not an age file: the first line is not age-encryption.org/v1");
  }

  const stanzas: Stanza[] = [];
  for (;;) {
    const lineStart = pos;
    const line = nextLine("MAC line");
    if (line.startsWith("---")) {
      if (stanzas.length === 0) throw corrupt("age header has no recipient stanza");
      if (line.length !== 47 || line[3] !== " ") throw corrupt("age header MAC line is malformed");
      const mac = rawBase64Decode(line.slice(4));
      if (mac === null || mac.length !== 32) throw corrupt("age header MAC is not canonical base64");
      return {
        stanzas,
        mac,
        macInput: Buffer.from(buf.subarray(0, lineStart + 3)),
        payloadOffset: pos,
      };
    }
    if (!line.startsWith("-> ")) throw corrupt("age header has a line that is neither a stanza nor the MAC");
    if (stanzas.length >= MAX_STANZAS) throw corrupt(`age header has more than ${MAX_STANZAS} stanzas`);
    const args = line.slice(3).split(" ");
    if (args.length > MAX_STANZA_ARGS) throw corrupt("age stanza has too many arguments");
    for (const a of args) {
      if (a.length === 0) throw corrupt("age stanza has an empty argument");
      for (let i = 0; i < a.length; i++) {
        const c = a.charCodeAt(i);
        if (c < 0x21 || c > 0x7e) throw corrupt("age stanza argument has a character outside VCHAR");
      }
    }
    let b64 = "";
    for (;;) {
      const body = nextLine("stanza body");
      if (body.startsWith("-> ") || body.startsWith("---")) {
        throw corrupt("age stanza body does not end with a short line (missing body or final line)");
      }
      if (body.length > 64) throw corrupt("age stanza body line is longer than 64 columns");
      for (let i = 0; i < body.length; i++) {
        if (!isBase64Char(body.charCodeAt(i))) {
          throw corrupt(
            body[i] === "="
              ? "age stanza body has base64 padding, which age forbids"
              : "age stanza body has a non-base64 character",
          );
        }
      }
      b64 += body;
      if (b64.length > ((MAX_STANZA_BODY + 2) / 3) * 4) throw corrupt("age stanza body is too large");
      if (body.length < 64) break;
    }
    const decoded = rawBase64Decode(b64);
    if (decoded === null) throw corrupt("age stanza body is not canonical base64");
    stanzas.push({ args, body: decoded });
  }
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
}

/**
 * Serializes one stanza: the argument line and the body wrapped at 64 columns, ending short.
 *
 * @example
 * formatStanza({ args: ["grease"], body: Buffer.alloc(0) }); // "-> grease\n\n"
 */
export function formatStanza(s: Stanza): string {
  if (s.args.length === 0) throw new Error("stanza needs at least one argument");
  for (const a of s.args) {
    if (!/^[\x21-\x7e]+$/.test(a)) throw new Error("stanza argument must be 1*VCHAR");
  }
  let out = `-> ${s.args.join(" ")}\n`;
  const b64 = rawBase64Encode(s.body);
  let i = 0;
  for (; i + 64 <= b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  out += `${b64.slice(i)}\n`;
  return out;
}

/**
 * Builds the complete header (version line, stanzas, MAC line) for `fileKey`.
 *
 * @example
 * const header = formatHeader([wrapX25519(fileKey, recipientKey)], fileKey);
 */
export function formatHeader(stanzas: Stanza[], fileKey: Uint8Array): Buffer {
  let text = `${AGE_VERSION_LINE}\n`;
  for (const s of stanzas) text += formatStanza(s);
  text += "---";
  const mac = headerMac(fileKey, Buffer.from(text, "latin1"));
  text += ` ${rawBase64Encode(mac)}\n`;
  return Buffer.from(text, "latin1");
}
