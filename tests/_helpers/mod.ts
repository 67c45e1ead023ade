/**
 * The integration tests' helpers in one module, so that a test imports them
 * in one line (`import * as h from "../_helpers/mod.ts"`).
 */
export * from "./attack.ts";
export * from "./bad_links.ts";
export * from "./dht.ts";
export * from "./fake_seeder.ts";
export * from "./peers.ts";
export * from "./tracker.ts";
export * from "./fake_bt_seeder.ts";
export * from "./bep15.ts";
