/**
 * A folder's piece layers from a BitTorrent peer, for a magnet link: once
 * the info dictionary hashes to the id (bt_metadata.ts), every file of more
 * than one piece has its layer fetched by BEP 52 hash requests naming its
 * own `pieces root`, each answer proven against that root, exactly as a
 * single file's layer is (PieceLayerAssembly). The paths are checked first
 * (decodeFileTree): a hostile folder is refused before anything is asked.
 *
 * Pure: the connection (peer/wire/bt_fetch_manifest.ts) feeds it messages.
 *
 * @module
 */
import {
  bkey,
  type BtHashRequest,
  concatBytes,
  decodeBencode,
  decodeFileTree,
  dictGet,
  encodeBencode,
  folderLayout,
  fromHex,
  MAX_CHUNK_BYTES,
  MIN_CHUNK_BYTES,
  ProtocolError,
  toHex,
} from "@shoal/protocol";
import { type LayerStep, PieceLayerAssembly } from "./bt_metadata.ts";

function invalid(what: string): never {
  throw new ProtocolError("bad_manifest", `Cannot read manifest: ${what}`);
}

/**
 * Every piece layer of a folder, file by file.
 *
 * @example
 * ```ts
 * import { FolderLayerAssembly } from "./bt_folder_layers.ts";
 * // const layers = new FolderLayerAssembly(info);
 * // send layers.requests; layers.add(hashes) -> { kind: "done" } once all are in
 * // const bytes = layers.manifestBytes(info);
 * ```
 */
export class FolderLayerAssembly {
  /** The hash requests of every file, in file order. */
  readonly requests: readonly BtHashRequest[];
  /** Each file's layer in progress, by its pieces root (hex). */
  readonly #files = new Map<string, PieceLayerAssembly>();
  readonly #layers = new Map<string, Uint8Array>();

  /**
   * @param info the folder's info dictionary, already checked against the id
   * @throws {ProtocolError} when a path breaks a rule, or the piece length
   *   or sizes do not fit Shoal's limits
   */
  constructor(info: Uint8Array) {
    const dict = decodeBencode(info);
    if (!(dict instanceof Map)) invalid("the info is not a dictionary");
    const length = dictGet(dict, "piece length");
    if (
      typeof length !== "bigint" || length < MIN_CHUNK_BYTES ||
      length > MAX_CHUNK_BYTES || (length & (length - 1n)) !== 0n
    ) {
      invalid(
        `the piece length is not a power of two from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}`,
      );
    }
    const chunkSize = Number(length);
    const files = decodeFileTree(dictGet(dict, "file tree"));
    const layout = folderLayout(files.map((file) => file.length), chunkSize);
    if (typeof layout === "string") invalid(layout);
    const requests: BtHashRequest[] = [];
    for (const file of files) {
      if (file.length <= chunkSize || !file.piecesRoot) continue;
      const key = toHex(file.piecesRoot);
      // Identical files share a root, and one layer.
      if (this.#files.has(key)) continue;
      const assembly = new PieceLayerAssembly({
        size: file.length,
        chunkSize,
        chunkCount: Math.ceil(file.length / chunkSize),
        piecesRoot: file.piecesRoot,
      });
      this.#files.set(key, assembly);
      requests.push(...assembly.requests);
    }
    this.requests = requests;
  }

  /** True when every file's layer is in (at once when no file has more than one piece). */
  get complete(): boolean {
    return this.#layers.size === this.#files.size;
  }

  /**
   * One `hashes` message, for whichever file its pieces root names.
   *
   * @param message its request fields and hashes
   * @returns "done" once every layer is in (its `layer` is empty: see
   *   {@linkcode manifestBytes})
   */
  add(message: BtHashRequest & { hashes: Uint8Array }): LayerStep {
    const key = toHex(message.piecesRoot);
    const file = this.#files.get(key);
    if (!file || this.#layers.has(key)) {
      return { kind: "lied", reason: "sent hashes that were not asked for" };
    }
    const step = file.add(message);
    if (step.kind !== "done") return step;
    this.#layers.set(key, step.layer);
    return this.complete
      ? { kind: "done", layer: new Uint8Array() }
      : { kind: "more" };
  }

  /**
   * The folder's manifest bytes: the info dictionary as it came (its hash is
   * the id) and every layer, keyed by pieces root.
   *
   * @param info the info dictionary
   * @returns `{info, piece layers}` in canonical bencode
   */
  manifestBytes(info: Uint8Array): Uint8Array {
    const layers = new Map(
      [...this.#files.keys()].map((key) => [
        bkey(fromHex(key)!),
        this.#layers.get(key)!,
      ]),
    );
    // "info" sorts before "piece layers": canonical as written.
    return concatBytes([
      UTF8.encode("d4:info"),
      info,
      UTF8.encode("12:piece layers"),
      encodeBencode(layers),
      UTF8.encode("e"),
    ]);
  }
}

const UTF8 = new TextEncoder();
