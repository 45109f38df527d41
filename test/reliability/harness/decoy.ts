import { createServer, type Server } from "node:net";
import { listen } from "../../../scripts/stack/net.ts";

export interface Decoy {
  port: number;
  /** Connections accepted so far: any at all means a request was steered away from the origin. */
  hits(): number;
  close(): Promise<void>;
}

/**
 * A listener on loopback that nothing may ever reach. Fuzzed requests name it as a host (`//127.0.0.1:PORT`,
 * `@127.0.0.1:PORT`, absolute-form targets...) to lure the proxy into connecting somewhere else.
 */
export async function startDecoy(): Promise<Decoy> {
  let hits = 0;
  const server: Server = createServer((socket) => {
    hits += 1;
    socket.destroy();
  });
  const port = await listen(server, 0, "127.0.0.1");
  return {
    port,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
