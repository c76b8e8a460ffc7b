/**
 * age v1 encryption and decryption of whole byte arrays (https://age-encryption.org/v1, c2sp.org/age),
 * implemented from the spec on node:crypto. ferry uses it to wrap set keys for X25519 recipients
 * or a passphrase; bulk data is sealed separately (see ../aead.ts).
 *
 * Supported: X25519 and scrypt recipient stanzas, binary (not ASCII-armored) files. Unknown stanza
 * types are ignored when decrypting, as the spec requires. Per the spec an scrypt stanza must be
 * the only stanza in a header, so {@link ageEncrypt} refuses to mix a passphrase with recipients
 * (E_USAGE): ferry writes two separate age files when it wants both.
 */
import { randomBytes } from "node:crypto";
import { FerryError } from "../../errors.js";
import { x25519PublicKey } from "../x25519.js";
import { formatHeader, parseHeader, type Stanza, verifyHeaderMac } from "./header.js";
import { parseIdentity, parseRecipient } from "./keys.js";
import {
  checkX25519Stanza,
  DEFAULT_MAX_SCRYPT_LOG_N,
  DEFAULT_SCRYPT_LOG_N,
  FILE_KEY_SIZE,
  unwrapScrypt,
  unwrapX25519,
  wrapScrypt,
  wrapX25519,
  type X25519Key,
} from "./stanzas.js";
import { decryptPayload, encryptPayload, payloadSize } from "./stream.js";

/** Who can open an age file made by {@link ageEncrypt}. */
export interface AgeEncryptTo {
  /** X25519 recipients (`age1…`). */
  recipients?: string[];
  /** A passphrase (scrypt stanza). Cannot be combined with `recipients`. */
  passphrase?: string;
  /** log2 of the scrypt work factor N; default 18 as in age. Lower only for tests. */
  scryptLogN?: number;
}

/** Keys to try on an age file in {@link ageDecrypt}. */
export interface AgeDecryptKeys {
  /** X25519 identities (`AGE-SECRET-KEY-1…`), e.g. from {@link parseIdentities}. */
  identities?: string[];
  /** A passphrase for a file with an scrypt stanza. */
  passphrase?: string;
  /** Highest scrypt work factor (log2 N) to attempt; default 22 as in age (4 GiB of memory). */
  maxScryptLogN?: number;
}

/**
 * Encrypts `plaintext` as a binary age v1 file: a header with one X25519 stanza per recipient (or a
 * single scrypt stanza for a passphrase) and a header MAC, then the STREAM payload in 64 KiB
 * ChaCha20-Poly1305 chunks. Throws E_USAGE for no recipient, or recipients and a passphrase
 * together; E_BAD_KEY_FILE for an unparsable recipient.
 *
 * @example
 * const { identity, recipient } = generateIdentity();
 * const file = ageEncrypt(setKey, { recipients: [recipient] });
 * const again = ageDecrypt(file, { identities: [identity] }); // equals setKey
 * const locked = ageEncrypt(setKey, { passphrase: "correct horse battery staple" });
 */
export function ageEncrypt(plaintext: Uint8Array, to: AgeEncryptTo): Buffer {
  const recipients = to.recipients ?? [];
  const hasPass = to.passphrase !== undefined;
  if (hasPass && recipients.length > 0) {
    throw new FerryError("E_USAGE", "An age file cannot be for both a passphrase and recipients", {
      hint: "age requires a passphrase (scrypt) stanza to be alone; write one file per method",
    });
  }
  if (!hasPass && recipients.length === 0) {
    throw new FerryError("E_USAGE", "No age recipient or passphrase given", {
      hint: "Give at least one recipient (age1…) or a passphrase",
    });
  }
  if (hasPass && to.passphrase === "") {
    throw new FerryError("E_USAGE", "The passphrase is empty", { hint: "Choose a non-empty passphrase" });
  }
  const keys = recipients.map((r) => parseRecipient(r));
  const fileKey = randomBytes(FILE_KEY_SIZE);
  try {
    const stanzas: Stanza[] = hasPass
      ? [wrapScrypt(fileKey, to.passphrase!, to.scryptLogN ?? DEFAULT_SCRYPT_LOG_N)]
      : keys.map((k) => wrapX25519(fileKey, k));
    const header = formatHeader(stanzas, fileKey);
    const out = Buffer.allocUnsafe(header.length + payloadSize(plaintext.length));
    header.copy(out, 0);
    encryptPayload(fileKey, plaintext, out, header.length);
    return out;
  } finally {
    fileKey.fill(0);
  }
}

/**
 * Decrypts a binary age v1 file with the given identities and/or passphrase.
 *
 * Throws E_BAD_KEY_FILE for an unparsable identity; E_KEY when no identity or passphrase opens any
 * stanza; E_CORRUPT when the header is malformed (strict parsing per spec: canonical base64, LF line
 * endings, bounded sizes, scrypt stanza alone), the header MAC does not match, or the payload is
 * truncated, extended or modified.
 *
 * @example
 * const ids = parseIdentities(identityFileText);
 * const setKey = ageDecrypt(keyFileBytes, { identities: ids });
 * const same = ageDecrypt(lockedBytes, { passphrase: "correct horse battery staple" });
 */
export function ageDecrypt(file: Uint8Array, keys: AgeDecryptKeys): Buffer {
  const identities = keys.identities ?? [];
  const passphrase = keys.passphrase;
  const idKeys: X25519Key[] = identities.map((id) => {
    const secret = parseIdentity(id);
    return { secret, publicKey: x25519PublicKey(secret) };
  });

  const header = parseHeader(file);
  const types = header.stanzas.map((s) => s.args[0]!);
  if (types.includes("scrypt") && header.stanzas.length > 1) {
    throw new FerryError("E_CORRUPT", "age header mixes an scrypt stanza with other stanzas", {
      hint: "The spec forbids this; the file was not made by a conforming age implementation",
    });
  }
  for (const s of header.stanzas) if (s.args[0] === "X25519") checkX25519Stanza(s);

  let fileKey: Buffer | null = null;
  try {
    for (const s of header.stanzas) {
      if (s.args[0] === "X25519") {
        for (const k of idKeys) {
          fileKey = unwrapX25519(s, k);
          if (fileKey) break;
        }
      } else if (s.args[0] === "scrypt" && passphrase !== undefined) {
        fileKey = unwrapScrypt(s, passphrase, keys.maxScryptLogN ?? DEFAULT_MAX_SCRYPT_LOG_N);
      }
      if (fileKey) break;
    }
    if (!fileKey) throw noMatch(types, idKeys.length, passphrase !== undefined);
    if (!verifyHeaderMac(fileKey, header)) {
      throw new FerryError("E_CORRUPT", "age header MAC does not match: the header was modified", {
        hint: "The age file is damaged or was tampered with; use another copy",
      });
    }
    return decryptPayload(fileKey, file.subarray(header.payloadOffset));
  } finally {
    fileKey?.fill(0);
    for (const k of idKeys) k.secret.fill(0);
  }
}

function noMatch(types: string[], nIdentities: number, hasPass: boolean): FerryError {
  const isScrypt = types.length === 1 && types[0] === "scrypt";
  const kinds = [...new Set(types)].join(", ");
  if (isScrypt && !hasPass) {
    return new FerryError("E_KEY", "This age file is locked with a passphrase, not an identity", {
      hint: "Give the passphrase instead of an identity file",
    });
  }
  if (isScrypt) {
    return new FerryError("E_KEY", "The passphrase does not open this age file", {
      hint: "Check the passphrase (it is case- and space-sensitive) and try again",
    });
  }
  if (nIdentities > 0) {
    const who =
      nIdentities === 1 ? "The given identity cannot" : `None of the ${nIdentities} given identities can`;
    return new FerryError("E_KEY", `${who} open this age file`, {
      hint: "Give the identity file whose public key was a recipient of this file",
    });
  }
  if (hasPass) {
    return new FerryError("E_KEY", `This age file is not locked with a passphrase (its stanzas: ${kinds})`, {
      hint: "Give the identity file (AGE-SECRET-KEY-1…) of one of its recipients",
    });
  }
  return new FerryError(
    "E_KEY",
    `No identity or passphrase given for this age file (its stanzas: ${kinds})`,
    {
      hint: "Give the identity file of one of its recipients, or its passphrase",
    },
  );
}
