/**
 * Receives a file from the page into the peer's shared folder: the body is
 * streamed to a hidden temporary file (never held whole in memory), its size
 * checked against Content-Length and a limit, then renamed into place.
 *
 * @module
 */
import { join } from "node:path";
import { fileNameProblem } from "@shoal/protocol";

/** An upload that was refused; the message is one line for the user. */
export class UploadError extends Error {
  /** HTTP status to answer with. */
  readonly status: number;
  /**
   * @param status HTTP status
   * @param message one line for the user
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "UploadError";
    this.status = status;
  }
}

/** Options for {@linkcode receiveUpload}. */
export interface ReceiveUploadOptions {
  /** The folder to write into (created when missing). */
  folder: string;
  /** The file name the page gave. */
  name: string;
  /** Largest accepted file. */
  maxBytes: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Streams a request body into `folder/name`.
 *
 * @param request the upload request (raw file bytes as the body)
 * @param options folder, name and size limit
 * @returns the path of the written file
 * @throws {UploadError} when the name, size or target is not acceptable
 * @example
 * ```ts
 * // const path = await receiveUpload(request, { folder: "downloads/shared", name: "a.iso", maxBytes: 2 ** 36 });
 * ```
 */
export async function receiveUpload(
  request: Request,
  options: ReceiveUploadOptions,
): Promise<string> {
  const { folder, name, maxBytes } = options;
  const problem = fileNameProblem(name);
  if (problem) {
    throw new UploadError(
      400,
      `Cannot add "${name}": the file name ${problem}; rename it first`,
    );
  }
  const lengthText = request.headers.get("content-length");
  if (lengthText === null) {
    throw new UploadError(
      411,
      `Cannot add "${name}": the upload has no Content-Length`,
    );
  }
  const length = Number(lengthText);
  if (!/^\d+$/.test(lengthText) || !Number.isSafeInteger(length)) {
    throw new UploadError(
      400,
      `Cannot add "${name}": Content-Length "${lengthText}" is not a size`,
    );
  }
  if (length > maxBytes) {
    throw new UploadError(
      413,
      `Cannot add "${name}": it has ${length} bytes, more than the limit of ${maxBytes}`,
    );
  }
  await Deno.mkdir(folder, { recursive: true });
  const target = join(folder, name);
  if (await exists(target)) {
    throw new UploadError(
      409,
      `Cannot add "${name}": a file with that name is already in ${folder}; rename it first`,
    );
  }
  const temp = join(folder, `.upload-${crypto.randomUUID()}`);
  const file = await Deno.open(temp, { write: true, createNew: true });
  let received = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      received += chunk.byteLength;
      if (received > length) {
        controller.error(
          new UploadError(
            400,
            `Cannot add "${name}": more bytes arrived than Content-Length said`,
          ),
        );
        return;
      }
      controller.enqueue(chunk);
    },
  });
  try {
    if (request.body) {
      // pipeTo closes the file on success and aborts (closes) it on error.
      await request.body.pipeThrough(counter).pipeTo(file.writable);
    } else {
      file.close();
    }
    if (received !== length) {
      throw new UploadError(
        400,
        `Cannot add "${name}": the upload stopped after ${received} of ${length} bytes`,
      );
    }
    if (await exists(target)) {
      throw new UploadError(
        409,
        `Cannot add "${name}": a file with that name is already in ${folder}; rename it first`,
      );
    }
    await Deno.rename(temp, target);
    return target;
  } catch (error) {
    await removeQuietly(temp);
    if (error instanceof UploadError) throw error;
    throw new UploadError(
      400,
      `Cannot add "${name}": the upload failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}
