import assert from "node:assert/strict";
import { join } from "node:path";
import { toHex } from "@shoal/protocol";
import { PeerNode } from "../../../peer/node.ts";
import { partPathFor } from "../../../peer/storage/part_file.ts";
import { folderPartsPath } from "../../../peer/storage/folder_parts.ts";
import { resumePath } from "../../../peer/storage/resume.ts";

Deno.test("discardPartial() deletes a stopped download's part file or a folder's part files, and its resume state, and nothing else", async () => {
  const dir = await Deno.makeTempDir();
  const node = await PeerNode.start({
    trackers: [],
    outDir: dir,
    serve: false,
  });
  try {
    const file = new Uint8Array(32).fill(1);
    const folder = new Uint8Array(32).fill(2);
    const other = new Uint8Array(32).fill(3);
    const state = node.stateDir;
    await Deno.mkdir(join(state, "resume"), { recursive: true });
    await Deno.mkdir(join(folderPartsPath(state, folder), "disc 1"), {
      recursive: true,
    });
    const kept = [
      partPathFor(state, other),
      resumePath(state, other),
      join(dir, "mine.txt"),
    ];
    for (
      const path of [
        partPathFor(state, file),
        resumePath(state, file),
        join(folderPartsPath(state, folder), "disc 1", "a.flac"),
        resumePath(state, folder),
        ...kept,
      ]
    ) await Deno.writeFile(path, new Uint8Array(10));

    await node.discardPartial(toHex(file));
    await node.discardPartial(toHex(folder));
    for (
      const gone of [
        partPathFor(state, file),
        resumePath(state, file),
        folderPartsPath(state, folder),
        resumePath(state, folder),
      ]
    ) await assert.rejects(Deno.lstat(gone), Deno.errors.NotFound, gone);
    for (const path of kept) assert.equal((await Deno.stat(path)).size, 10);
  } finally {
    await node.close();
    await Deno.remove(dir, { recursive: true });
  }
});
