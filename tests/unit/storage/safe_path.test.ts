import assert from "node:assert/strict";
import {
  pathInFolder,
  UnsafeNameError,
} from "../../../peer/storage/safe_path.ts";

Deno.test("pathInFolder() keeps a safe name directly inside the folder", () => {
  assert.equal(pathInFolder("/srv/dl", "movie.mkv"), "/srv/dl/movie.mkv");
  assert.equal(pathInFolder("/srv/dl/", "été.txt"), "/srv/dl/été.txt");
});

Deno.test("pathInFolder() refuses every name that could leave the folder or misbehave", () => {
  for (
    const name of [
      "../x",
      "../../etc/passwd",
      "/etc/passwd",
      "a/b",
      "a\\b",
      "..",
      ".",
      "",
      "a\u0000b",
      "a\u001fb",
      "a\u007fb",
      "CON",
      "com1.txt",
      "LPT9",
      ".hidden",
      "trailing.",
      "trailing ",
      "x".repeat(256),
      "é".repeat(128),
      "C:x",
      "e\u0301", // not NFC
      "\ud800", // lone surrogate
    ]
  ) {
    assert.throws(
      () => pathInFolder("/srv/dl", name),
      UnsafeNameError,
      JSON.stringify(name),
    );
  }
});
