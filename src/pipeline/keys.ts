import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ageDecrypt, ageEncrypt, deriveKey } from "../crypto/index.js";
import { FerryError } from "../errors.js";
import { DRIVE_DIR, KEYS_DIR } from "../format/index.js";

/** The secrets of one set. Only ever written to drives wrapped (age-encrypted). */
export interface KeyBundle {
  format: 1;
  set: string;
  /** Master key (32 bytes) from which the chunk and index AEAD keys are derived. */
  dataKey: Buffer;
  /** Key (32 bytes) of the keyed BLAKE3 chunk ids. */
  idKey: Buffer;
  /** Ed25519 public key that signs labels and manifests (hex). */
  signPub: string;
}

/** Keys derived from a bundle for the hot path. */
export interface SetKeys {
  bundle: KeyBundle;
  chunkKey: Buffer;
  indexKey: Buffer;
  idKey: Buffer;
}

/** How the user unlocks a set. */
export interface Unlock {
  /** age identities (AGE-SECRET-KEY-1…). */
  identities?: string[];
  passphrase?: string;
}

/** How pack wraps the set's keys. */
export interface WrapTo {
  recipients?: string[];
  passphrase?: string;
  /** scrypt work factor for the passphrase file (default 18, as age). */
  scryptLogN?: number;
}

/** A fresh random bundle for a new set. */
export function newBundle(setId: string, signPub: string): KeyBundle {
  return { format: 1, set: setId, dataKey: randomBytes(32), idKey: randomBytes(32), signPub };
}

export function deriveSetKeys(bundle: KeyBundle): SetKeys {
  return {
    bundle,
    chunkKey: deriveKey(bundle.dataKey, "chunk"),
    indexKey: deriveKey(bundle.dataKey, "index"),
    idKey: bundle.idKey,
  };
}

export function bundleToJson(b: KeyBundle): string {
  return JSON.stringify({
    format: 1,
    set: b.set,
    dataKey: b.dataKey.toString("hex"),
    idKey: b.idKey.toString("hex"),
    signPub: b.signPub,
  });
}

export function bundleFromJson(s: string): KeyBundle {
  const o = JSON.parse(s) as Record<string, unknown>;
  const hex32 = (v: unknown) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  if (
    o.format !== 1 ||
    typeof o.set !== "string" ||
    !hex32(o.dataKey) ||
    !hex32(o.idKey) ||
    !hex32(o.signPub)
  ) {
    throw new FerryError("E_CORRUPT", "the key file's content is malformed");
  }
  return {
    format: 1,
    set: o.set,
    dataKey: Buffer.from(o.dataKey as string, "hex"),
    idKey: Buffer.from(o.idKey as string, "hex"),
    signPub: o.signPub as string,
  };
}

/**
 * Wraps the bundle as age files: `recipients.age` for all X25519 recipients and
 * `passphrase.age` for the passphrase (age allows a scrypt stanza only alone).
 * Returns file name → bytes, relative to ferry/keys/.
 */
export function wrapBundle(b: KeyBundle, to: WrapTo): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const plain = Buffer.from(bundleToJson(b), "utf8");
  if (to.recipients?.length) out.set("recipients.age", ageEncrypt(plain, { recipients: to.recipients }));
  if (to.passphrase !== undefined) {
    out.set(
      "passphrase.age",
      ageEncrypt(plain, {
        passphrase: to.passphrase,
        ...(to.scryptLogN ? { scryptLogN: to.scryptLogN } : {}),
      }),
    );
  }
  if (out.size === 0) {
    throw new FerryError("E_USAGE", "pack needs at least one --recipient or a --passphrase-file", {
      hint: "Create a key with `ferry keygen --out key.txt` and pass --recipient age1…",
    });
  }
  return out;
}

/**
 * Opens the set's key files on a drive with the user's identities or passphrase.
 * Throws E_KEY when nothing given opens them.
 */
export async function unwrapFromDrive(
  drivePath: string,
  keyFiles: string[],
  unlock: Unlock,
): Promise<KeyBundle> {
  if (!unlock.identities?.length && unlock.passphrase === undefined) {
    throw new FerryError("E_KEY", "this needs the set's key", {
      hint: "Pass --identity FILE (the age identity from `ferry keygen`) or --passphrase-file FILE",
    });
  }
  let lastErr: unknown = null;
  for (const rel of keyFiles) {
    if (rel.includes("..") || rel.startsWith("/")) continue;
    const isPass = rel.endsWith("passphrase.age");
    if (isPass && unlock.passphrase === undefined) continue;
    if (!isPass && !unlock.identities?.length) continue;
    let bytes: Buffer;
    try {
      bytes = await readFile(join(drivePath, DRIVE_DIR, rel));
    } catch (e) {
      lastErr = e;
      continue;
    }
    try {
      const plain = ageDecrypt(
        bytes,
        isPass ? { passphrase: unlock.passphrase as string } : { identities: unlock.identities as string[] },
      );
      return bundleFromJson(plain.toString("utf8"));
    } catch (e) {
      lastErr = e;
    }
  }
  if (FerryError.is(lastErr) && lastErr.code !== "E_KEY") throw lastErr;
  throw new FerryError("E_KEY", "the given identity or passphrase does not open this set", {
    hint: "Use the identity file whose recipient was passed to `ferry pack`, or the right passphrase file",
    cause: lastErr ?? undefined,
  });
}

export { KEYS_DIR };
