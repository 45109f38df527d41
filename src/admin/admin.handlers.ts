import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { lazyDatabase } from "../db/lazy";
import {
  createAccount,
  createKey,
  getAccount,
  type KeyServiceDeps,
  listKeys,
  revokeKey,
  setAccountTier,
} from "../keys/key-service";
import type { AppEnv } from "../lib/context";
import { redisFor } from "../store/redis";
import { presentAccount, presentKey } from "./admin.presenters";
import type {
  createAccountRoute,
  createKeyRoute,
  getAccountRoute,
  listKeysRoute,
  revokeKeyRoute,
  updateAccountRoute,
} from "./admin.routes";

/** Postgres and Redis for one admin request; the pool is closed after the response. */
function services(c: Context<AppEnv>): KeyServiceDeps {
  const config = c.get("config");
  const db = lazyDatabase(config);
  c.executionCtx.waitUntil(db.close());
  return { db: db.get(), redis: redisFor(config), keyEnvironment: config.keyEnvironment };
}

export const createAccountHandler: RouteHandler<typeof createAccountRoute, AppEnv> = async (c) => {
  const account = await createAccount(services(c), c.req.valid("json"));
  return c.json(presentAccount(account), 201);
};

export const getAccountHandler: RouteHandler<typeof getAccountRoute, AppEnv> = async (c) => {
  const account = await getAccount(services(c), c.req.valid("param").id);
  return c.json(presentAccount(account), 200);
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
  const keys = await listKeys(services(c), c.req.valid("param").id);
  return c.json({ keys: keys.map((key) => presentKey(key)) }, 200);
};

export const revokeKeyHandler: RouteHandler<typeof revokeKeyRoute, AppEnv> = async (c) => {
  await revokeKey(services(c), c.req.valid("param").id);
  return c.body(null, 204);
};
