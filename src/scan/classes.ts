/**
 * File type classes by extension, for a scan's "bytes by type": what kind of data a tree
 * holds says how well it compresses and how it should travel.
 *
 * Pure functions, no I/O.
 */

/**
 * The classes a scan reports bytes for.
 * @example
 * const c: FileClass = classifyFile("shard-0001.tar"); // "archive"
 */
export type FileClass =
  | "text"
  | "tabular"
  | "image"
  | "video"
  | "audio"
  | "compressed"
  | "archive"
  | "tensor"
  | "other";

const EXTENSIONS: Record<Exclude<FileClass, "other">, string[]> = {
  text: [
    "txt",
    "md",
    "rst",
    "json",
    "jsonl",
    "ndjson",
    "csv",
    "tsv",
    "xml",
    "html",
    "htm",
    "yaml",
    "yml",
    "toml",
    "log",
    "py",
    "js",
    "ts",
    "c",
    "h",
    "cc",
    "cpp",
    "hpp",
    "java",
    "go",
    "rs",
    "sql",
    "tex",
    "srt",
    "vtt",
    "conll",
    "tok",
  ],
  tabular: [
    "parquet",
    "arrow",
    "feather",
    "orc",
    "avro",
    "npy",
    "npz",
    "pkl",
    "pickle",
    "lance",
    "zarr",
    "mat",
  ],
  image: [
    "jpg",
    "jpeg",
    "png",
    "webp",
    "gif",
    "bmp",
    "tif",
    "tiff",
    "heic",
    "heif",
    "avif",
    "dng",
    "exr",
    "ppm",
    "pgm",
    "dcm",
  ],
  video: ["mp4", "mkv", "mov", "avi", "webm", "m4v", "mpg", "mpeg", "wmv", "flv", "3gp"],
  audio: ["wav", "flac", "mp3", "ogg", "opus", "m4a", "aac", "aiff", "wma"],
  compressed: ["gz", "tgz", "zst", "zstd", "xz", "txz", "bz2", "7z", "zip", "lz4", "br", "rar", "sz"],
  archive: ["tar", "tfrecord", "tfrecords", "mds", "shard", "idx", "recordio", "webdataset", "lmdb", "mdb"],
  tensor: [
    "safetensors",
    "pt",
    "pth",
    "ckpt",
    "bin",
    "onnx",
    "gguf",
    "ggml",
    "h5",
    "hdf5",
    "pb",
    "tflite",
    "msgpack",
    "engine",
  ],
};

const BY_EXT = new Map<string, FileClass>();
for (const [cls, exts] of Object.entries(EXTENSIONS) as [FileClass, string[]][]) {
  for (const e of exts) BY_EXT.set(e, cls);
}

/**
 * Every class, in report order.
 * @example
 * for (const c of FILE_CLASSES) console.log(c, scan.byClass[c].bytes);
 */
export const FILE_CLASSES: readonly FileClass[] = [
  "text",
  "tabular",
  "image",
  "video",
  "audio",
  "compressed",
  "archive",
  "tensor",
  "other",
];

/**
 * The class of a file from its name: the last extension, case-insensitive; a compressed
 * suffix (".jsonl.gz") makes it "compressed".
 *
 * @param name a file name or path
 * @returns its class
 * @example
 * classifyFile("shard-0001.tar");       // "archive"
 * classifyFile("train/part-3.jsonl");   // "text"
 * classifyFile("model.safetensors");    // "tensor"
 * classifyFile("README");               // "other"
 */
export function classifyFile(name: string): FileClass {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return "other";
  return BY_EXT.get(base.slice(dot + 1).toLowerCase()) ?? "other";
}
