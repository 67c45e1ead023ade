import assert from "node:assert/strict";
import {
  UPLOAD_REPORT_MS,
  type UploadCount,
  UploadReporter,
  uploadReportLine,
} from "../../../peer/upload_report.ts";

Deno.test("uploadReportLine() says bytes in human units and peers in the right number", () => {
  assert.equal(
    uploadReportLine({ bytes: 1_200_000_000, peers: 3 }),
    "uploaded 1.2 GB to 3 peers",
  );
  assert.equal(
    uploadReportLine({ bytes: 1_500_000, peers: 1 }),
    "uploaded 1.5 MB to 1 peer",
  );
});

/** A reporter over a count the test changes, with a timer the test fires. */
function fakeReporter(everyMs?: number) {
  const count: UploadCount = { bytes: 0, peers: 0 };
  const said: string[] = [];
  const timer = { fn: null as (() => void) | null, ms: 0, cleared: false };
  const reporter = new UploadReporter({
    read: () => ({ ...count }),
    say: (c) => said.push(uploadReportLine(c)),
    ...(everyMs !== undefined ? { everyMs } : {}),
    timers: {
      setInterval: (fn, ms) => {
        timer.fn = fn;
        timer.ms = ms;
        return 1;
      },
      clearInterval: () => {
        timer.cleared = true;
      },
    },
  });
  return { count, said, timer, reporter, fire: () => timer.fn!() };
}

Deno.test("UploadReporter speaks once a minute, only when the upload grew", () => {
  const { count, said, timer, reporter, fire } = fakeReporter();
  reporter.start();
  assert.equal(timer.ms, UPLOAD_REPORT_MS);
  fire(); // nothing uploaded yet: quiet
  count.bytes = 1_200_000_000;
  count.peers = 3;
  fire();
  fire(); // the same count again: quiet
  count.bytes = 1_300_000_000;
  fire();
  assert.deepEqual(said, [
    "uploaded 1.2 GB to 3 peers",
    "uploaded 1.3 GB to 3 peers",
  ]);
  reporter.stop();
  assert.ok(timer.cleared);
});

Deno.test("UploadReporter looks as often as it is told (--report-every)", () => {
  const { timer, reporter } = fakeReporter(2_000);
  reporter.start();
  assert.equal(timer.ms, 2_000);
  reporter.stop();
});
