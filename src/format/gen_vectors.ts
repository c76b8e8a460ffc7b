/**
 * Regenerates test/vectors/format.json: known-answer cases for every on-drive structure of
 * format v1 (docs/FORMAT.md). Run `npm run build && node dist/format/gen_vectors.js` and
 * review the diff; the test src/format/vectors.test.ts pins the committed file.
 */
import { createCipheriv, hkdfSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { sign, signingPublicKey } from "../crypto/index.js";
import { chunkAad, indexAad } from "./aad.js";
import { writeBlockHeader } from "./block.js";
import { BLOCK_HEADER_SIZE, KIND_LABEL } from "./constants.js";
import { encodeEnvelope } from "./envelope.js";
import { ENTRY_DIR, ENTRY_FILE, ENTRY_SYMLINK, encodeEnd, encodeEntry, indexHeader } from "./index_codec.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const seq = (n: number, start = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));

export function buildVectors() {
  const setId = seq(16);
  const signSeed = seq(32, 0x40);
  const envelopeBody = { format: 1, set: hex(setId), note: "vector" };
  const envelope = encodeEnvelope(KIND_LABEL, envelopeBody, (m) => sign(signSeed, m));

  const payload = seq(64, 0xa0);
  const header = Buffer.alloc(BLOCK_HEADER_SIZE);
  const blockHash = writeBlockHeader(header, setId, 7, 2, 1, payload);

  const dataKey = seq(32, 0x10);
  const idKey = seq(32, 0x20);
  const chunkKey = Buffer.from(hkdfSync("sha256", dataKey, Buffer.alloc(0), "ferry v1 chunk", 32));
  const indexKey = Buffer.from(hkdfSync("sha256", dataKey, Buffer.alloc(0), "ferry v1 index", 32));
  const plain = Buffer.from("id,value\n1,2\n3,4\n", "utf8");
  const h = Blake3Hasher.newKeyed(idKey);
  h.update(plain);
  const chunkId = h.digestBuffer();
  const aad = chunkAad(setId, chunkId, 0, plain.length);
  const nonce = seq(12, 0x30);
  const c = createCipheriv("aes-256-gcm", chunkKey, nonce);
  c.setAAD(aad);
  const sealed = Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);

  const entries = [
    {
      type: ENTRY_DIR,
      path: Buffer.from("data"),
      mode: 0o755,
      uid: 1000,
      gid: 1000,
      mtimeNs: 1700000000123456789n,
    },
    {
      type: ENTRY_FILE,
      path: Buffer.from("data/a.csv"),
      mode: 0o644,
      uid: 1000,
      gid: 1000,
      mtimeNs: 1700000001000000000n,
      size: plain.length,
      hash: seq(32, 0x50),
      chunks: [
        { id: chunkId, offset: 4096, storedLength: sealed.length, plainLength: plain.length, flags: 0 },
      ],
    },
    {
      type: ENTRY_SYMLINK,
      path: Buffer.from("latest"),
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtimeNs: -1n,
      target: Buffer.from("data/a.csv"),
    },
  ] as const;
  const index = Buffer.concat([
    indexHeader(),
    ...entries.map((e) => encodeEntry(e as never)),
    encodeEnd(entries.length),
  ]);

  return {
    comment:
      "ferry format v1 known answers; see docs/FORMAT.md. Regenerate with node dist/format/gen_vectors.js",
    envelope: {
      signSeed: hex(signSeed),
      signPub: hex(signingPublicKey(signSeed)),
      kind: KIND_LABEL,
      body: envelopeBody,
      bytes: hex(envelope),
    },
    block: {
      setId: hex(setId),
      stripe: 7,
      shard: 2,
      group: 1,
      payload: hex(payload),
      header: hex(header),
      hash: hex(blockHash),
    },
    keys: { dataKey: hex(dataKey), idKey: hex(idKey), chunkKey: hex(chunkKey), indexKey: hex(indexKey) },
    chunk: {
      setId: hex(setId),
      plaintext: hex(plain),
      chunkId: hex(chunkId),
      flags: 0,
      aad: hex(aad),
      nonce: hex(nonce),
      sealed: hex(sealed),
    },
    indexAad: {
      setId: hex(setId),
      piece: 3,
      flags: 1,
      plainLength: 1048576,
      aad: hex(indexAad(setId, 3, 1, 1048576)),
    },
    index: {
      entries: entries.map((e) => ({
        ...e,
        path: e.path.toString(),
        mtimeNs: e.mtimeNs.toString(),
        ...("hash" in e ? { hash: hex(e.hash), chunks: e.chunks.map((c) => ({ ...c, id: hex(c.id) })) } : {}),
        ...("target" in e ? { target: e.target.toString() } : {}),
      })),
      bytes: hex(index),
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = new URL("../../test/vectors/format.json", import.meta.url);
  writeFileSync(out, `${JSON.stringify(buildVectors(), null, 2)}\n`);
  process.stdout.write(`wrote ${out.pathname}\n`);
}
