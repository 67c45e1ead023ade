/**
 * bench/small_files.ts runs end to end on a small folder: every row is
 * timed for the folder and for the one file, each download checked file by
 * file. No timing is asserted. Skipped, with a note, without
 * python3-libtorrent.
 */
import assert from "node:assert/strict";
import { runBench } from "../_helpers/bench_run.ts";
import { hasLibtorrent } from "../_helpers/libtorrent.ts";

const HAS_LIBTORRENT = await hasLibtorrent("the small-files bench");

Deno.test({
  name:
    "bench/small_files.ts times making, seeding and downloading a folder of small files against one file",
  ignore: !HAS_LIBTORRENT,
  async fn() {
    const { stdout, json } = await runBench("bench/small_files.ts", [
      "--files",
      "40",
      "--runs",
      "1",
    ]);
    assert.equal(json.smallFiles.files, 40);
    for (const row of json.smallFiles.rows) {
      assert.deepEqual(row.problems, {}, row.row);
      assert.equal(row.folder.length, 1, row.row);
      assert.equal(row.file.length, 1, row.row);
    }
    assert.match(stdout, /^shoal-from-shoal +\d/m);
  },
});
