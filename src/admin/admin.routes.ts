import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../lib/openapi";
import {
  AccountDetailSchema,
  AccountListQuerySchema,
  AccountListSchema,
  AccountSchema,
  ApiKeySchema,
  CreateAccountSchema,
  CreatedApiKeySchema,
  CreateKeySchema,
  EventsQuerySchema,
  EventsSchema,
  IdParam,
  RotatedApiKeySchema,
  RotateKeySchema,
  UpdateAccountSchema,
  UsageQuerySchema,
  UsageSchema,
} from "./admin.schemas";

const security = [{ adminToken: [] }];
const tags = ["Admin"];
const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
/** A JSON request body with an example (what tools and the reference's "Try it" start from). */
const body = <T>(schema: T, example: unknown) => ({
  body: { required: true, content: { "application/json": { schema, example } } },
});
const optionalBody = <T>(schema: T, example: unknown) => ({
  body: { required: false, content: { "application/json": { schema, example } } },
});
const accountId = IdParam("acct_3kTMd9XQ2bLw8RzP1vYa");
const keyId = IdParam("key_9fXq2LmN4pR7sT1vW3yZ");

export const createAccountRoute = createRoute({
  operationId: "createAccount",
  method: "post",
  path: "/accounts",
  tags,
  security,
  summary: "Create an account",
  request: body(CreateAccountSchema, { email: "dev@example.com", tier: "free" }),
  responses: {
    201: { description: "Created", ...json(AccountSchema) },
    ...problemResponses(400, 401, 409, 503),
  },
});

export const listAccountsRoute = createRoute({
  operationId: "listAccounts",
  method: "get",
  path: "/accounts",
  tags,
  security,
  summary: "List accounts, newest first, by email prefix, tier and subscription status",
  request: { query: AccountListQuerySchema },
  responses: {
    200: { description: "A page of accounts", ...json(AccountListSchema) },
    ...problemResponses(400, 401, 503),
  },
});

export const getAccountRoute = createRoute({
  operationId: "getAccount",
  method: "get",
  path: "/accounts/{id}",
  tags,
  security,
  summary: "Read an account with its keys, this month's usage and its subscription",
  request: { params: accountId },
  responses: {
    200: { description: "The account", ...json(AccountDetailSchema) },
    ...problemResponses(401, 404, 503),
  },
});

export const updateAccountRoute = createRoute({
  operationId: "updateAccount",
  method: "patch",
  path: "/accounts/{id}",
  tags,
  security,
  summary: "Change an account's tier (applies at the edge on the next request)",
  request: { params: accountId, ...body(UpdateAccountSchema, { tier: "pro" }) },
  responses: {
    200: { description: "The updated account", ...json(AccountSchema) },
    ...problemResponses(400, 401, 404, 503),
  },
});

export const createKeyRoute = createRoute({
  operationId: "createKey",
  method: "post",
  path: "/accounts/{id}/keys",
  tags,
  security,
  summary: "Issue an API key (the plaintext key is in this response only)",
  request: { params: accountId, ...optionalBody(CreateKeySchema, { name: "production" }) },
  responses: {
    201: { description: "The new key", ...json(CreatedApiKeySchema) },
    ...problemResponses(400, 401, 404, 503),
  },
});

export const listKeysRoute = createRoute({
  operationId: "listKeys",
  method: "get",
  path: "/accounts/{id}/keys",
  tags,
  security,
  summary: "List an account's keys (never their secrets)",
  request: { params: accountId },
  responses: {
    200: { description: "The keys, newest first", ...json(z.object({ keys: z.array(ApiKeySchema) })) },
    ...problemResponses(401, 404, 503),
  },
});

export const revokeKeyRoute = createRoute({
  operationId: "revokeKey",
  method: "delete",
  path: "/keys/{id}",
  tags,
  security,
  summary: "Revoke a key (refused at the edge from the next request on)",
  request: { params: keyId },
  responses: { 204: { description: "Revoked" }, ...problemResponses(401, 404, 503) },
});

export const rotateKeyRoute = createRoute({
  operationId: "rotateKey",
  method: "post",
  path: "/keys/{id}/rotate",
  tags,
  security,
  summary: "Rotate a key: a successor now, the old key working until the overlap ends",
  request: { params: keyId, ...optionalBody(RotateKeySchema, { overlapHours: 24 }) },
  responses: {
    201: {
      description: "The successor (plaintext once) and the old key's new expiry",
      ...json(RotatedApiKeySchema),
    },
    ...problemResponses(400, 401, 404, 409, 503),
  },
});

export const usageRoute = createRoute({
  operationId: "usage",
  method: "get",
  path: "/accounts/{id}/usage",
  tags,
  security,
  summary: "Requests per key and day, by outcome (ok, rate_limited, quota, auth)",
  request: { params: accountId, query: UsageQuerySchema },
  responses: {
    200: { description: "The series", ...json(UsageSchema) },
    ...problemResponses(400, 401, 404, 503),
  },
});

export const eventsRoute = createRoute({
  operationId: "events",
  method: "get",
  path: "/accounts/{id}/events",
  tags,
  security,
  summary: "The account's audit log, newest first",
  request: { params: accountId, query: EventsQuerySchema },
  responses: {
    200: { description: "A page of events", ...json(EventsSchema) },
    ...problemResponses(400, 401, 404, 503),
  },
});
