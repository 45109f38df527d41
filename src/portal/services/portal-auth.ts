import type { Context } from "hono";
import type { Account } from "../../db/schema/accounts";
import { getAccount } from "../../keys/account-service";
import { clientAddressKeyOf } from "../../lib/client-address";
import { mailConfigured } from "../../mail/mail-client";
import { redisFor } from "../../store/redis";
import { csrfTokenFor } from "../auth/csrf-token";
import { countLoginAttempt, countSignUpAttempt } from "../auth/login-limit";
import { clearSessionCookie, writeSessionCookie } from "../auth/session-cookie";
import { createSession, deleteSession } from "../auth/session-store";
import type { PortalEnv } from "../portal-env";
import { mailDepsOf } from "./account-mail";
import { mailAfterSignUp } from "./account-settings";
import { logIn, type SignInDeps, signUp } from "./sign-in";

/** Sign-up, login and logout as both the pages and the JSON API run them: one implementation, two renderings. */
export type Limited = { outcome: "limited"; retryAfterSeconds: number };
export type LoginResult =
  | { outcome: "signed_in"; account: Account; csrfToken: string }
  | { outcome: "invalid" }
  | Limited;

/** The one message for an unknown email, an account without a password and a wrong password. */
export const INVALID_LOGIN = "The email or password is not correct.";
export const SIGNED_UP =
  "If this email can be registered, its account is ready and we sent a link to confirm the address: log in with the password you chose.";

function signInDeps(c: Context<PortalEnv>): SignInDeps {
  const config = c.get("config");
  return {
    db: c.get("db").get(),
    redis: redisFor(config),
    keyEnvironment: config.keyEnvironment,
    log: c.get("log"),
  };
}

/** The client's counter key: one per IPv4 address or IPv6 /64, whatever the spelling (lib/client-address). */
const addressOf = (c: Context<PortalEnv>) => clientAddressKeyOf(c.req.raw.headers);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A login: counted (login-limit.ts), then, when allowed, held for the verdict's delay before the password is
 * checked. The delay depends only on how often the email was tried (known or not), and comes before the
 * check, so a right and a wrong password, a known and an unknown email wait alike.
 */
export async function attemptLogin(
  c: Context<PortalEnv>,
  input: { email: string; password: string },
): Promise<LoginResult> {
  const config = c.get("config");
  const redis = redisFor(config);
  const verdict = await countLoginAttempt(redis, config, { address: addressOf(c), email: input.email });
  if (!verdict.allowed) {
    c.get("log").warn("portal login limited", { retryAfterSeconds: verdict.retryAfterSeconds });
    return { outcome: "limited", retryAfterSeconds: verdict.retryAfterSeconds };
  }
  if (verdict.delayMs > 0) {
    c.get("log").warn("portal login slowed down", { delayMs: verdict.delayMs });
    await sleep(verdict.delayMs);
  }
  const deps = signInDeps(c);
  const accountId = await logIn(deps, input);
  if (!accountId) return { outcome: "invalid" };
  c.get("log").info("portal login", { accountId });
  return startSession(c, accountId);
}

/** Signs the visitor in as `accountId` (after a login or an accepted invitation): a fresh session and cookie. */
export async function startSession(
  c: Context<PortalEnv>,
  accountId: string,
): Promise<{ outcome: "signed_in"; account: Account; csrfToken: string }> {
  const config = c.get("config");
  const redis = redisFor(config);
  const previous = c.get("session");
  if (previous) await deleteSession(redis, previous.id);
  const ttlSeconds = config.portalSessionHours * 3600;
  const sessionId = await createSession(redis, accountId, ttlSeconds);
  writeSessionCookie(c, sessionId, ttlSeconds);
  return {
    outcome: "signed_in",
    account: await getAccount({ db: c.get("db").get() }, accountId),
    csrfToken: await csrfTokenFor(sessionId),
  };
}

export async function attemptSignUp(
  c: Context<PortalEnv>,
  input: { email: string; password: string },
): Promise<{ outcome: "accepted" } | Limited> {
  const config = c.get("config");
  const verdict = await countSignUpAttempt(redisFor(config), config, { address: addressOf(c) });
  if (!verdict.allowed) return { outcome: "limited", retryAfterSeconds: verdict.retryAfterSeconds };
  // Portal accounts: the address gets a verification link (or a "you already have an account" notice). Where
  // verification is required and mail cannot be sent, sign-up refuses (503) instead of making an account
  // that could never be verified.
  const mail = mailConfigured(config) || config.portalRequireVerifiedEmail ? mailDepsOf(c) : undefined;
  if (!mail) c.get("log").warn("portal sign-up without mail: RESEND_API_KEY is not set");
  await signUp(signInDeps(c), input, async (outcome) => {
    if (mail) await mailAfterSignUp(mail, input.email, outcome);
  });
  return { outcome: "accepted" };
}

export async function endSession(c: Context<PortalEnv>): Promise<void> {
  const session = c.get("session");
  if (session) await deleteSession(redisFor(c.get("config")), session.id);
  clearSessionCookie(c);
}

/** The signed-in developer's account. */
export async function currentAccount(c: Context<PortalEnv>): Promise<Account> {
  const session = c.get("session");
  if (!session) throw new Error("currentAccount() behind requireSession() only");
  return getAccount({ db: c.get("db").get() }, session.accountId);
}
