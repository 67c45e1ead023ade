/**
 * The opening side of an MSE handshake, for the tests of Shoal's answering
 * side: bench/_mse_initiator.ts, which the fuzzer (bench/fuzz.ts) uses too.
 *
 * @module
 */
export * from "../../bench/_mse_initiator.ts";
