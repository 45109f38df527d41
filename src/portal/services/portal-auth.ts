import type { Account } from "../../db/schema/accounts";
import { getAccount } from "../../keys/account-service";
import { mailConfigured } from "../../mail/mail-client";
import type { Services } from "../../services";
import { csrfTokenFor } from "../auth/csrf-token";
import { countLoginAttempt, countSignUpAttempt } from "../auth/login-limit";
import { createSession, deleteSession } from "../auth/session-store";
import { accountMailDeps } from "./account-mail";
import { mailAfterSignUp } from "./account-settings";
import { type PortalCaller, sessionOf } from "./portal-deps";
import { logIn, type SignInDeps, signUp } from "./sign-in";

/** Sign-up, login and logout as both the pages and the JSON API run them: one implementation, two renderings. */
export type Limited = { outcome: "limited"; retryAfterSeconds: number };
/**
 * A new session: the handler writes `session` as the session cookie (session-cookie.ts), since the cookie is
 * HTTP's business and the services know no request.
 */
export type SignedIn = {
  outcome: "signed_in";
  account: Account;
  csrfToken: string;
  session: { id: string; ttlSeconds: number };
};
type LoginResult = SignedIn | { outcome: "invalid" } | Limited;

/** The one message for an unknown email, an account without a password and a wrong password. */
export const INVALID_LOGIN = "The email or password is not correct.";
export const SIGNED_UP =
  "If this email can be registered, its account is ready and we sent a link to confirm the address: log in with the password you chose.";

const signInDeps = (services: Services): SignInDeps => ({
  db: services.db,
  redis: services.redis,
  keyEnvironment: services.config.keyEnvironment,
  log: services.log,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A login: counted (login-limit.ts), then, when allowed, held for the verdict's delay before the password is
 * checked. The delay depends only on how often the email was tried (known or not), and comes before the
 * check, so a right and a wrong password, a known and an unknown email wait alike.
 */
export async function attemptLogin(
  caller: PortalCaller,
  input: { email: string; password: string },
): Promise<LoginResult> {
  const { config, log, redis } = caller.services;
  const verdict = await countLoginAttempt(redis, config, { address: caller.address, email: input.email });
  if (!verdict.allowed) {
    log.warn("portal login limited", { retryAfterSeconds: verdict.retryAfterSeconds });
    return { outcome: "limited", retryAfterSeconds: verdict.retryAfterSeconds };
  }
  if (verdict.delayMs > 0) {
    log.warn("portal login slowed down", { delayMs: verdict.delayMs });
    await sleep(verdict.delayMs);
  }
  const accountId = await logIn(signInDeps(caller.services), input);
  if (!accountId) return { outcome: "invalid" };
  log.info("portal login", { accountId });
  return startSession(caller, accountId);
}

/**
 * Signs the visitor in as `accountId` (after a login or an accepted invitation): the previous session ends,
 * a fresh one starts (PORTAL_SESSION_HOURS); the caller writes its cookie.
 */
export async function startSession(caller: PortalCaller, accountId: string): Promise<SignedIn> {
  const { config, redis, db } = caller.services;
  if (caller.session) await deleteSession(redis, caller.session.id);
  const ttlSeconds = config.portalSessionHours * 3600;
  const sessionId = await createSession(redis, accountId, ttlSeconds);
  return {
    outcome: "signed_in",
    account: await getAccount({ db }, accountId),
    csrfToken: await csrfTokenFor(sessionId),
    session: { id: sessionId, ttlSeconds },
  };
}

export async function attemptSignUp(
  caller: PortalCaller,
  input: { email: string; password: string },
): Promise<{ outcome: "accepted" } | Limited> {
  const { services } = caller;
  const config = services.config;
  const verdict = await countSignUpAttempt(services.redis, config, { address: caller.address });
  if (!verdict.allowed) return { outcome: "limited", retryAfterSeconds: verdict.retryAfterSeconds };
  // Portal accounts: the address gets a verification link (or a "you already have an account" notice). Where
  // verification is required and mail cannot be sent, sign-up refuses (503) instead of making an account
  // that could never be verified.
  const mail =
    mailConfigured(config) || config.portalRequireVerifiedEmail ? accountMailDeps(services) : undefined;
  if (!mail) services.log.warn("portal sign-up without mail: RESEND_API_KEY is not set");
  await signUp(signInDeps(services), input, async (outcome) => {
    if (mail) await mailAfterSignUp(mail, input.email, outcome);
  });
  return { outcome: "accepted" };
}

/** Ends the caller's session, if any; the handler clears the cookie. */
export async function endSession(caller: PortalCaller): Promise<void> {
  if (caller.session) await deleteSession(caller.services.redis, caller.session.id);
}

/** The signed-in developer's account (throws as sessionOf without a session). */
export async function currentAccount(caller: PortalCaller): Promise<Account> {
  return getAccount({ db: caller.services.db }, sessionOf(caller).accountId);
}
