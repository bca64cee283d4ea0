/**
 * Writes and reads one key through the Redis store over TLS (argv: the rediss:// URL); prints
 * {got} or {error} as JSON. Run by test/store/store.test.ts in a child process whose
 * NODE_EXTRA_CA_CERTS trusts the test's own certificate.
 */
import { nodeDial } from "../../src/entry/node-net.ts";
import { tcpStore } from "../../src/store/redis.ts";

const store = tcpStore({ url: process.argv.at(-1) as string, prefix: "tls:", dial: nodeDial });
try {
  await store.set("k", 1);
  console.log(JSON.stringify({ got: await store.get("k") }));
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).message }));
}
await store.close();
process.exit(0);
