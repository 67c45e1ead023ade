import assert from "node:assert/strict";
import { withoutPublicDht } from "../../../bench/_shoal_args.ts";

Deno.test("withoutPublicDht() adds --no-dht to every way of starting a peer", () => {
  const peers: [string[], string?][] = [
    [["run", "-A", "/r/peer/main.ts", "--seed", "a"]],
    [["run", "--allow-net", "/r/peer/launch.ts", "--get", "x"]],
    [["task", "peer", "--seed", "a"]],
    [["task", "--quiet", "peer", "--get", "x"]],
    [["task", "--config", "/r/deno.json", "peer", "--ui"]],
    [["run", "-A", "/r/shoal.ts", "peer", "--seed", "a"]],
    [["--seed", "a"], "/tmp/dist/shoal-peer"],
    [["peer", "--seed", "a"], "/root/.deno/bin/shoal"],
  ];
  for (const [args, binary] of peers) {
    assert.deepEqual(
      withoutPublicDht(args, binary),
      [...args, "--no-dht"],
      args.join(" "),
    );
  }
});

Deno.test("withoutPublicDht() keeps a loopback bootstrap or --no-dht, and leaves other commands alone", () => {
  const kept: [string[], string?][] = [
    [["run", "-A", "peer/main.ts", "--dht-bootstrap", "127.0.0.1:7"]],
    [["run", "-A", "peer/main.ts", "--dht-bootstrap=127.0.0.1:7"]],
    [["run", "-A", "peer/main.ts", "--no-dht"]],
    [["run", "--allow-net", "tracker/main.ts", "--port", "0"]],
    [["task", "tracker"]],
    [["run", "-A", "shoal.ts", "tracker", "--help"]],
    [["tracker", "--help"], "/root/.deno/bin/shoal"],
    [["compile", "--output", "dist/shoal-peer", "peer/main.ts.bak"]],
  ];
  for (const [args, binary] of kept) {
    assert.deepEqual(withoutPublicDht(args, binary), args, args.join(" "));
  }
});
