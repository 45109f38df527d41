import type { RouteHandler } from "@hono/zod-openapi";
import { adminActor } from "../audit/audit";
import type { AppEnv } from "../lib/context";
import { mailDepsOf } from "../portal/services/account-mail";
import { inviteToPortal } from "../portal/services/invitations";
import { presentAccount } from "./admin.presenters";
import type { inviteRoute } from "./invitations.routes";

export const inviteHandler: RouteHandler<typeof inviteRoute, AppEnv> = async (c) => {
  const deps = mailDepsOf(c as never);
  const invitation = await inviteToPortal(
    { ...deps, keyEnvironment: c.get("config").keyEnvironment, actor: adminActor },
    c.req.valid("json"),
  );
  return c.json(
    {
      account: presentAccount(invitation.account),
      created: invitation.created,
      expiresAt: invitation.expiresAt.toISOString(),
    },
    201,
  );
};
