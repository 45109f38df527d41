import type { Bindings, Config } from "../config";
import type { Logger } from "./log";

/** Hono's environment for every route: the worker's bindings and what middleware puts on the context. */
export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    config: Config;
    log: Logger;
  };
}
