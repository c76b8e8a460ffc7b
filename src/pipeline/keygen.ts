import { formatIdentityFile, generateIdentity, parseIdentities } from "../crypto/index.js";

/**
 * Makes a new age X25519 identity for a ferry set: the identity file text (exactly as
 * `age-keygen` writes it, so the `age` tool accepts it) and its public recipient.
 *
 * @example
 * const { recipient, fileText } = keygen();
 * fs.writeFileSync("key.txt", fileText, { mode: 0o600 });
 */
export function keygen(now: Date = new Date()): { identity: string; recipient: string; fileText: string } {
  const { identity, recipient } = generateIdentity();
  return { identity, recipient, fileText: formatIdentityFile(identity, recipient, now) };
}

/** Reads the identities out of an identity file's text (comments and blank lines ignored). */
export function identitiesFromFile(text: string): string[] {
  return parseIdentities(text);
}
