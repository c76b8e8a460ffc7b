/**
 * age X25519 identities (`AGE-SECRET-KEY-1…`) and recipients (`age1…`): generation, parsing and the
 * identity-file layout that `age-keygen` writes. Strings in, strings out; no file I/O.
 *
 * Error messages never include a secret key.
 */
import { FerryError } from "../../errors.js";
import { bech32Decode, bech32Encode } from "../bech32.js";
import { x25519Generate, x25519PublicKey } from "../x25519.js";

/** Bech32 human-readable part of an age X25519 identity (written uppercase). */
export const AGE_IDENTITY_HRP = "AGE-SECRET-KEY-";
/** Bech32 human-readable part of an age X25519 recipient. */
export const AGE_RECIPIENT_HRP = "age";

/** Longest identity file {@link parseIdentities} accepts. */
export const MAX_IDENTITY_FILE_BYTES = 1 << 20;

/**
 * A fresh X25519 age identity and its recipient.
 *
 * @example
 * const { identity, recipient } = generateIdentity();
 * // identity: "AGE-SECRET-KEY-1…" (keep secret), recipient: "age1…" (share freely)
 */
export function generateIdentity(): { identity: string; recipient: string } {
  const { secret, publicKey } = x25519Generate();
  return {
    identity: bech32Encode(AGE_IDENTITY_HRP, secret).toUpperCase(),
    recipient: bech32Encode(AGE_RECIPIENT_HRP, publicKey),
  };
}

/**
 * Decodes an `AGE-SECRET-KEY-1…` string (either case) into its raw 32-byte X25519 secret.
 * Throws E_BAD_KEY_FILE.
 *
 * @example
 * const secret = parseIdentity("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX");
 */
export function parseIdentity(identity: string): Buffer {
  const s = identity.trim();
  let decoded: { hrp: string; data: Buffer };
  try {
    decoded = bech32Decode(s);
  } catch (e) {
    throw new FerryError("E_BAD_KEY_FILE", `Not an age identity: ${(e as Error).message}`, {
      hint: "Give an identity line as age-keygen writes it (AGE-SECRET-KEY-1…)",
    });
  }
  if (decoded.hrp !== AGE_IDENTITY_HRP.toLowerCase()) {
    const what = decoded.hrp === AGE_RECIPIENT_HRP ? "a recipient (public key)" : `a "${decoded.hrp}" string`;
    throw new FerryError("E_BAD_KEY_FILE", `Expected an age identity but got ${what}`, {
      hint: "Give the secret identity (AGE-SECRET-KEY-1…), not the public recipient",
    });
  }
  if (decoded.data.length !== 32) {
    throw new FerryError("E_BAD_KEY_FILE", `age identity holds ${decoded.data.length} bytes, expected 32`, {
      hint: "The identity is truncated or damaged; use the identity file age-keygen wrote",
    });
  }
  return decoded.data;
}

/**
 * Decodes an `age1…` recipient (either case) into its raw 32-byte X25519 public key.
 * Throws E_BAD_KEY_FILE.
 *
 * @example
 * const pub = parseRecipient("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
 */
export function parseRecipient(recipient: string): Buffer {
  const s = recipient.trim();
  let decoded: { hrp: string; data: Buffer };
  try {
    decoded = bech32Decode(s);
  } catch (e) {
    throw new FerryError("E_BAD_KEY_FILE", `Not an age recipient: ${(e as Error).message}`, {
      hint: "Give a recipient as age-keygen prints it (age1…)",
    });
  }
  if (decoded.hrp !== AGE_RECIPIENT_HRP) {
    const what = decoded.hrp === AGE_IDENTITY_HRP.toLowerCase() ? "a secret identity" : `"${decoded.hrp}"`;
    throw new FerryError("E_BAD_KEY_FILE", `Expected an age X25519 recipient (age1…) but got ${what}`, {
      hint: "Give the public recipient (age1…); plugin and post-quantum recipients are not supported",
    });
  }
  if (decoded.data.length !== 32) {
    throw new FerryError("E_BAD_KEY_FILE", `age recipient holds ${decoded.data.length} bytes, expected 32`, {
      hint: "The recipient is truncated or damaged; copy it again from age-keygen -y",
    });
  }
  return decoded.data;
}

/**
 * The recipient (`age1…`) for an identity (`AGE-SECRET-KEY-1…`). Throws E_BAD_KEY_FILE.
 *
 * @example
 * identityToRecipient("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX");
 * // "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
 */
export function identityToRecipient(identity: string): string {
  return bech32Encode(AGE_RECIPIENT_HRP, x25519PublicKey(parseIdentity(identity)));
}

/**
 * Parses an identity file as age-keygen writes it: `#` comment lines and blank lines are ignored,
 * every other line must be one `AGE-SECRET-KEY-1…` identity. Returns the identities (uppercase).
 * Throws E_BAD_KEY_FILE naming the bad line (never its content), or when no identity is present.
 *
 * @example
 * parseIdentities("# created: 2024-05-01T10:00:00Z\n# public key: age1…\nAGE-SECRET-KEY-1…\n");
 * // ["AGE-SECRET-KEY-1…"]
 */
export function parseIdentities(fileText: string): string[] {
  if (fileText.length > MAX_IDENTITY_FILE_BYTES) {
    throw new FerryError("E_BAD_KEY_FILE", `Identity file is larger than ${MAX_IDENTITY_FILE_BYTES} bytes`, {
      hint: "Point ferry at the identity file age-keygen wrote, not at an encrypted or other file",
    });
  }
  const text = fileText.charCodeAt(0) === 0xfeff ? fileText.slice(1) : fileText;
  const out: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("age-encryption.org/") || line.startsWith("-----BEGIN AGE ENCRYPTED FILE")) {
      throw new FerryError("E_BAD_KEY_FILE", "This is an age-encrypted file, not an identity file", {
        hint: "Give the identity file (AGE-SECRET-KEY-1… lines) that can open it",
      });
    }
    if (!/^AGE-SECRET-KEY-1/i.test(line)) {
      throw new FerryError("E_BAD_KEY_FILE", `Identity file line ${i + 1} is not an age identity`, {
        hint: "An identity file holds AGE-SECRET-KEY-1… lines and # comments only (plugin identities are not supported)",
      });
    }
    try {
      parseIdentity(line);
    } catch (e) {
      const reason = FerryError.is(e) ? e.message : String(e);
      throw new FerryError("E_BAD_KEY_FILE", `Identity file line ${i + 1} is damaged: ${reason}`, {
        hint: "Restore the identity file from your backup copy",
      });
    }
    out.push(line.toUpperCase());
  }
  if (out.length === 0) {
    throw new FerryError("E_BAD_KEY_FILE", "The identity file holds no AGE-SECRET-KEY-1… line", {
      hint: "Give the file age-keygen wrote (not the recipient or a .pub file)",
    });
  }
  return out;
}

/** RFC 3339 with seconds precision, as Go's time.RFC3339 prints a UTC time ("…Z"). */
function rfc3339Utc(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new RangeError("created is an invalid Date");
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * An identity file in exactly age-keygen's layout (UTC timestamp), which `age -i` and
 * `age-keygen -y` accept:
 *
 *     # created: 2024-05-01T10:00:00Z
 *     # public key: age1…
 *     AGE-SECRET-KEY-1…
 *
 * Throws E_BAD_KEY_FILE when `recipient` is not the identity's own recipient.
 *
 * @example
 * const { identity, recipient } = generateIdentity();
 * const text = formatIdentityFile(identity, recipient, new Date());
 */
export function formatIdentityFile(identity: string, recipient: string, created: Date): string {
  const id = identity.trim().toUpperCase();
  const derived = identityToRecipient(id);
  parseRecipient(recipient);
  if (derived !== recipient.trim().toLowerCase()) {
    throw new FerryError("E_BAD_KEY_FILE", "The recipient does not belong to the identity", {
      hint: "Pass the recipient that identityToRecipient(identity) returns",
    });
  }
  return `# created: ${rfc3339Utc(created)}\n# public key: ${derived}\n${id}\n`;
}
