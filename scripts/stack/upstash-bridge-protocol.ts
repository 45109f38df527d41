/**
 * The Upstash REST wire format, without I/O: turning request bodies into Redis commands and Redis replies
 * into the JSON the Upstash SDKs decode.
 */

/** A command as sent to Redis: name first, every argument already a string. */
export type RedisCommand = string[];

/** A request the bridge refuses before anything reaches Redis; answered with HTTP 400. */
export class BadRequest extends Error {}

/**
 * Commands that change the state of a connection, never return, or block it. The bridge shares one connection
 * between all HTTP requests (as Upstash shares nothing between them), so these would leak into other requests
 * or stall them; Upstash itself does not serve them over REST either.
 */
const REFUSED_COMMANDS = new Set([
  "AUTH",
  "CLIENT",
  "DISCARD",
  "EXEC",
  "HELLO",
  "MONITOR",
  "MULTI",
  "PSUBSCRIBE",
  "PSYNC",
  "PUNSUBSCRIBE",
  "QUIT",
  "READONLY",
  "READWRITE",
  "RESET",
  "SELECT",
  "SSUBSCRIBE",
  "SUBSCRIBE",
  "SUNSUBSCRIBE",
  "SYNC",
  "UNSUBSCRIBE",
  "UNWATCH",
  "WATCH",
  "BLMOVE",
  "BLMPOP",
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BZMPOP",
  "BZPOPMAX",
  "BZPOPMIN",
  "WAIT",
  "WAITAOF",
]);

/**
 * Checks one command from a request body: a non-empty JSON array of strings, numbers or booleans (the SDK
 * serialises numbers and booleans as JSON literals, e.g. `["set","k",5,"ex",10]`).
 *
 * The name is upper-cased: ioredis keys its reply transformers by lower-case name, so a lower-case
 * `hgetall` (as the SDK sends it) would come back as an object instead of Redis's flat array.
 */
export function parseCommand(value: unknown): RedisCommand {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('ERR a command must be a non-empty JSON array, e.g. ["GET","key"]');
  }
  const command = value.map((arg, index) => {
    if (typeof arg === "string") return arg;
    if ((typeof arg === "number" && Number.isFinite(arg)) || typeof arg === "boolean") return String(arg);
    throw new BadRequest(`ERR command argument ${index} must be a string, number or boolean`);
  });
  const name = (command[0] ?? "").toUpperCase();
  if (name === "") throw new BadRequest("ERR empty command name");
  if (REFUSED_COMMANDS.has(name) || (isStreamRead(name) && hasBlockOption(command))) {
    throw new BadRequest(`ERR ${name} is not supported by the Upstash REST bridge`);
  }
  command[0] = name;
  return command;
}

/** Checks the body of /pipeline and /multi-exec: a non-empty JSON array of commands. */
export function parseCommandList(value: unknown): RedisCommand[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest("ERR a pipeline must be a non-empty JSON array of commands");
  }
  return value.map(parseCommand);
}

/** Parses a request body as JSON, as a 400 rather than a SyntaxError when it is not. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new BadRequest("ERR the request body is not valid JSON");
  }
}

/**
 * Path-style commands (`GET /get/key`, `POST /set/key` with the value as body), which Upstash also accepts.
 * Handy with curl; the SDK never sends them.
 */
export function parsePathCommand(pathname: string, body: string): RedisCommand {
  let segments: string[];
  try {
    segments = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new BadRequest("ERR the request path is not valid percent-encoding");
  }
  if (body !== "") segments.push(body);
  return parseCommand(segments);
}

function isStreamRead(name: string): boolean {
  return name === "XREAD" || name === "XREADGROUP";
}

/** Options come before STREAMS; after it every argument is a key or an id, which may well read "block". */
function hasBlockOption(command: RedisCommand): boolean {
  for (const arg of command.slice(1)) {
    const upper = arg.toUpperCase();
    if (upper === "STREAMS") return false;
    if (upper === "BLOCK") return true;
  }
  return false;
}

/**
 * Turns a Redis reply (as ioredis returns it with buffer replies) into Upstash's JSON: with
 * `Upstash-Encoding: base64` every string, nested ones included, is base64 so binary values survive JSON;
 * integers stay numbers and nil stays null. An error nested in an array (a Lua table holding a pcall
 * error) becomes its message.
 */
export function encodeReply(reply: unknown, base64: boolean): unknown {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64));
  const text = reply instanceof Error ? reply.message : String(reply);
  return base64 ? Buffer.from(text, "utf8").toString("base64") : text;
}
