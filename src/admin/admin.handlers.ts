import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { adminActor } from "../audit/audit";
import { listAuditEvents } from "../audit/audit-log";
import { createAccount, getAccount, setAccountTier } from "../keys/account-service";
import { createKey, listKeys, revokeKey, rotateKey } from "../keys/key-service";
import { type KeyServiceDeps, keyServiceDeps } from "../keys/service-deps";
import type { AppEnv } from "../lib/context";
import { quotaUse } from "../portal/services/portal-usage";
import { lastUsedTimes } from "../usage/last-used";
import { usageRange } from "../usage/usage-range";
import { usageSeries } from "../usage/usage-service";
import { listAccounts } from "./account-list";
import { presentAccount, presentAuditEvent, presentKey, presentSubscription } from "./admin.presenters";
import type {
  createAccountRoute,
  createKeyRoute,
  eventsRoute,
  getAccountRoute,
  listAccountsRoute,
  listKeysRoute,
  revokeKeyRoute,
  rotateKeyRoute,
  updateAccountRoute,
  usageRoute,
} from "./admin.routes";

/** The request's services as the key and account services take them, acting as the admin. */
const services = (c: Context<AppEnv>): KeyServiceDeps => keyServiceDeps(c.get("services"), adminActor);

export const createAccountHandler: RouteHandler<typeof createAccountRoute, AppEnv> = async (c) => {
  const account = await createAccount(services(c), c.req.valid("json"));
  return c.json(presentAccount(account), 201);
};

export const listAccountsHandler: RouteHandler<typeof listAccountsRoute, AppEnv> = async (c) => {
  const page = await listAccounts(services(c).db, c.req.valid("query"));
  return c.json({ accounts: page.accounts.map(presentAccount), nextCursor: page.nextCursor }, 200);
};

/** The account, its keys, this month's quota use (live, from Redis) and its Stripe subscription. */
export const getAccountHandler: RouteHandler<typeof getAccountRoute, AppEnv> = async (c) => {
  const deps = services(c);
  const account = await getAccount(deps, c.req.valid("param").id);
  const keys = await listKeys(deps, account.id);
  // Redis down: the account still reads, with usage and last-used times unknown.
  const [lastUsed, usage] = await Promise.all([
    lastUsedTimes(
      deps.redis,
      keys.map((key) => key.id),
    ).catch(() => new Map<string, number>()),
    quotaUse(deps.redis, account.id, account.tier, Date.now()).catch(() => null),
  ]);
  return c.json(
    {
      ...presentAccount(account),
      keys: keys.map((key) => presentKey(key, { lastUsedAt: lastUsed.get(key.id) })),
      usage,
      subscription: presentSubscription(account),
    },
    200,
  );
};

export const updateAccountHandler: RouteHandler<typeof updateAccountRoute, AppEnv> = async (c) => {
  const account = await setAccountTier(services(c), c.req.valid("param").id, c.req.valid("json").tier);
  return c.json(presentAccount(account), 200);
};

export const createKeyHandler: RouteHandler<typeof createKeyRoute, AppEnv> = async (c) => {
  const input = c.req.valid("json") ?? {};
  const issued = await createKey(services(c), c.req.valid("param").id, {
    name: input.name,
    expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
  });
  c.header("Cache-Control", "no-store");
  return c.json({ ...presentKey(issued.record), key: issued.key }, 201);
};

export const listKeysHandler: RouteHandler<typeof listKeysRoute, AppEnv> = async (c) => {
  const deps = services(c);
  const keys = await listKeys(deps, c.req.valid("param").id);
  const lastUsed = await lastUsedTimes(
    deps.redis,
    keys.map((key) => key.id),
  ).catch(() => new Map<string, number>());
  return c.json({ keys: keys.map((key) => presentKey(key, { lastUsedAt: lastUsed.get(key.id) })) }, 200);
};

export const revokeKeyHandler: RouteHandler<typeof revokeKeyRoute, AppEnv> = async (c) => {
  await revokeKey(services(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const rotateKeyHandler: RouteHandler<typeof rotateKeyRoute, AppEnv> = async (c) => {
  const rotated = await rotateKey(services(c), c.req.valid("param").id, {
    overlapHours: c.req.valid("json")?.overlapHours,
  });
  c.header("Cache-Control", "no-store");
  return c.json(
    { ...presentKey(rotated.record), key: rotated.key, previous: presentKey(rotated.previous) },
    201,
  );
};

export const usageHandler: RouteHandler<typeof usageRoute, AppEnv> = async (c) => {
  const deps = services(c);
  const accountId = c.req.valid("param").id;
  const now = Date.now();
  const { from, to } = usageRange(c.req.valid("query"), now);
  await getAccount(deps, accountId);
  return c.json(await usageSeries(deps, accountId, { from, to }, now), 200);
};

export const eventsHandler: RouteHandler<typeof eventsRoute, AppEnv> = async (c) => {
  const deps = services(c);
  const accountId = c.req.valid("param").id;
  await getAccount(deps, accountId);
  const page = await listAuditEvents(deps.db, accountId, c.req.valid("query"));
  return c.json({ events: page.events.map(presentAuditEvent), nextBefore: page.nextBefore }, 200);
};
