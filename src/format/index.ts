/** On-drive layouts of format v1: envelopes, blocks, the index and AEAD associated data. */
export * from "./aad.js";
export * from "./block.js";
export * from "./constants.js";
export * from "./envelope.js";
export * from "./index_codec.js";
export * from "./layout.js";
